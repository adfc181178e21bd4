//! Bounded kept changes (root only). A `keep_changes` run must not be able to fill the
//! host's disk, so its writes still go to a tmpfs of `scratch_bytes`: the monitor first
//! moves itself into a private mount namespace and mounts that tmpfs at `<run dir>/scratch`;
//! the container's mount namespace is cloned from the monitor's, so its overlay's upper and
//! work dirs live there. After PID 1 exits (and with it every process that could write
//! there), the monitor copies the upper dir to `<run dir>/upper` on the host, with a cap on
//! the file bytes copied, then exits: the tmpfs goes with its namespace, so even a crashed
//! monitor leaves nothing mounted on the host.

use crate::state::RunDir;
use crate::sys::{self, Context, Result};
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// File bytes copied to the host per run; past this a file keeps its entry and size (a
/// sparse file, which costs no disk) but not its bytes. The reader sends far less anyway
/// (server/native/kept-changes.ts: ≤ 1 MiB per file, ≤ 16 MiB per run).
pub const MAX_COPIED_BYTES: u64 = 64 << 20;
/// Entries a kept run may make: empty files and dirs cost host inodes, not tmpfs bytes.
const MAX_INODES: u64 = 1 << 16;

/// Enters a private mount namespace and mounts the run's scratch tmpfs, owned by the
/// container's root (host `uid`/`gid`), at `<run dir>/scratch`.
pub fn mount(dir: &RunDir, bytes: u64, uid: u32, gid: u32) -> Result<()> {
    sys::unshare(libc::CLONE_NEWNS).context(|| "give the monitor its own mount namespace".into())?;
    // Nothing mounted from here on may propagate back to the host.
    sys::mount(None, "/", None, libc::MS_REC | libc::MS_PRIVATE, None)?;
    let target = dir.sub("scratch");
    fs::create_dir(&target).context(|| format!("create {}", target.display()))?;
    let options = format!("mode=0755,uid={uid},gid={gid},size={bytes},nr_inodes={MAX_INODES}");
    sys::mount(Some("boxplay"), &target.to_string_lossy(), Some("tmpfs"), libc::MS_NOSUID | libc::MS_NODEV, Some(&options))
        .context(|| "mount the run's scratch tmpfs".into())
}

/// Unmounts the scratch tmpfs and removes its mount point.
pub fn unmount(dir: &RunDir) -> Result<()> {
    let target = dir.sub("scratch");
    sys::umount2(&target.to_string_lossy(), libc::MNT_DETACH).context(|| format!("unmount {}", target.display()))?;
    fs::remove_dir(&target).context(|| format!("remove {}", target.display()))
}

/// Copies `<run dir>/scratch/upper` to `<run dir>/upper`, the format state::keep_changes and
/// the reader expect: whiteouts as 0/0 character devices, owners, modes and mtimes kept.
pub fn copy_out(dir: &RunDir) -> Result<()> {
    let mut budget = MAX_COPIED_BYTES;
    copy_entry(&dir.sub("scratch").join("upper"), &dir.sub("upper"), &mut budget)
}

fn copy_entry(from: &Path, to: &Path, budget: &mut u64) -> Result<()> {
    let meta = fs::symlink_metadata(from).context(|| format!("stat {}", from.display()))?;
    let kind = meta.file_type();
    let to_c = sys::cstr(&to.to_string_lossy())?;
    if kind.is_dir() {
        fs::create_dir(to).context(|| format!("create {}", to.display()))?;
        let mut names: Vec<_> = fs::read_dir(from).context(|| format!("list {}", from.display()))?.flatten().map(|e| e.file_name()).collect();
        names.sort();
        for name in names {
            copy_entry(&from.join(&name), &to.join(&name), budget)?;
        }
    } else if kind.is_file() {
        // create_new: never write through anything that was already there.
        let mut out = fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(to).context(|| format!("create {}", to.display()))?;
        let size = meta.len();
        if size <= *budget {
            let mut input = fs::File::open(from).context(|| format!("open {}", from.display()))?;
            std::io::copy(&mut input, &mut out).context(|| format!("copy {}", from.display()))?;
            *budget -= size;
        } else {
            // Past the cap: the entry and its size stay, its bytes do not (sparse, no disk).
            out.set_len(size).context(|| format!("size {}", to.display()))?;
        }
    } else if kind.is_symlink() {
        let target = fs::read_link(from).context(|| format!("read link {}", from.display()))?;
        std::os::unix::fs::symlink(&target, to).context(|| format!("create link {}", to.display()))?;
    } else if kind.is_char_device() && meta.rdev() == 0 {
        sys::mknod_whiteout(&to_c)?;
    } else {
        // Fifos, sockets and device nodes have no place in the reader's tree.
        return Ok(());
    }
    sys::lchown(&to_c, meta.uid(), meta.gid())?;
    if !kind.is_symlink() {
        // After chown, which clears setuid/setgid bits.
        fs::set_permissions(to, fs::Permissions::from_mode(meta.mode() & 0o7777)).context(|| format!("chmod {}", to.display()))?;
    }
    sys::set_times(&to_c, (meta.atime(), meta.atime_nsec()), (meta.mtime(), meta.mtime_nsec()))
}
