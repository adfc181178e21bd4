//! User-namespace id mappings, so container root is never host root.
//!
//! - As root: container ids 0..65535 map to host ids 100000..165535 (HOST_BASE), like a
//!   subordinate range in /etc/subuid. The image's layers, unpacked by the store as host
//!   root, would appear as `nobody` inside, so before first use each layer directory is
//!   shifted once (`shift_layer`): every entry's owner gets +HOST_BASE, and the layer root
//!   gets the xattr `trusted.boxplay.idshift` so it is never shifted twice. (Idmapped mounts
//!   would avoid touching the store, but overlayfs on top of idmapped lowerdirs inside a user
//!   namespace is more moving parts for the same result; the layer cache is ours.)
//! - As an ordinary user (rootless): the single id of the user maps to container root, with
//!   setgroups denied (the kernel requires it for an unprivileged gid_map).

use crate::sys::{self, Context, Result};
use std::ffi::CString;
use std::fs;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

pub const HOST_BASE: u32 = 100_000;
pub const SIZE: u32 = 65_536;
const SHIFT_XATTR: &str = "trusted.boxplay.idshift";

#[derive(Debug, Clone, Copy)]
pub struct IdMap {
    pub host_uid: u32,
    pub host_gid: u32,
    pub size: u32,
    pub rootless: bool,
}

impl IdMap {
    pub fn for_caller() -> IdMap {
        let (uid, gid) = (sys::geteuid(), sys::getegid());
        if uid == 0 {
            IdMap { host_uid: HOST_BASE, host_gid: HOST_BASE, size: SIZE, rootless: false }
        } else {
            IdMap { host_uid: uid, host_gid: gid, size: 1, rootless: true }
        }
    }

    /// Writes the maps of the (not yet running) child `pid`, from the parent side.
    pub fn write_for(&self, pid: i32) -> Result<()> {
        if self.rootless {
            fs::write(format!("/proc/{pid}/setgroups"), "deny").context(|| "deny setgroups in the user namespace".into())?;
        }
        fs::write(format!("/proc/{pid}/uid_map"), format!("0 {} {}\n", self.host_uid, self.size)).context(|| "write the container's uid_map".into())?;
        fs::write(format!("/proc/{pid}/gid_map"), format!("0 {} {}\n", self.host_gid, self.size)).context(|| "write the container's gid_map".into())?;
        Ok(())
    }

    /// The host uid of container uid `id`.
    pub fn host_uid_of(&self, id: u32) -> u32 {
        self.host_uid + id
    }
}

/// Shifts a layer directory's owners into the mapped range, once (see the module comment).
/// Concurrent runs of the same layer serialise on a lock of the layer's root directory.
pub fn shift_layer(dir: &str, map: &IdMap) -> Result<()> {
    if map.rootless {
        return Ok(());
    }
    let c_dir = sys::cstr(dir)?;
    let stamp = format!("{}:{}", map.host_uid, map.size);
    if sys::lgetxattr(&c_dir, SHIFT_XATTR).as_deref() == Some(stamp.as_bytes()) {
        return Ok(());
    }
    let lock = sys::open(dir, libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
    sys::flock(lock.as_raw_fd(), libc::LOCK_EX).context(|| format!("lock layer {dir}"))?;
    if sys::lgetxattr(&c_dir, SHIFT_XATTR).as_deref() == Some(stamp.as_bytes()) {
        return Ok(());
    }
    shift_tree(Path::new(dir), map).context(|| format!("shift the owners of layer {dir} into the container's id range"))?;
    sys::lsetxattr(&c_dir, SHIFT_XATTR, stamp.as_bytes())
}

fn shift_tree(path: &Path, map: &IdMap) -> Result<()> {
    let meta = fs::symlink_metadata(path).context(|| format!("stat {}", path.display()))?;
    let c = CString::new(path.as_os_str().as_bytes()).map_err(|_| sys::Error { what: "NUL in path".into(), errno: libc::EINVAL })?;
    // Ids already in (or above) the mapped range were shifted before, or came that way.
    if meta.uid() < map.size || meta.gid() < map.size {
        let uid = if meta.uid() < map.size { meta.uid() + map.host_uid } else { meta.uid() };
        let gid = if meta.gid() < map.size { meta.gid() + map.host_gid } else { meta.gid() };
        sys::lchown(&c, uid, gid)?;
        // chown clears set-user-ID and set-group-ID bits: put them back.
        if meta.file_type().is_file() && meta.mode() & 0o6000 != 0 {
            sys::chmod(&c, meta.mode() & 0o7777)?;
        }
    }
    if meta.file_type().is_dir() {
        // An opaque directory from an unpacker that wrote the privileged xattr: overlayfs in a
        // user namespace (mounted with `userxattr`) reads the user.* one.
        if let Some(v) = sys::lgetxattr(&c, "trusted.overlay.opaque") {
            sys::lsetxattr(&c, "user.overlay.opaque", &v)?;
        }
        for entry in fs::read_dir(path).context(|| format!("list {}", path.display()))? {
            let entry = entry.context(|| format!("list {}", path.display()))?;
            shift_tree(&entry.path(), map)?;
        }
    }
    Ok(())
}
