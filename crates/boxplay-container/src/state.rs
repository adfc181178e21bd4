//! Run directories and the sweep that cleans up after a killed server.
//!
//! Each run owns `<state_root>/<owner_pid>-<id>/`, holding `state.json` (owner pid + start
//! time, cgroup dirs) and the overlay's `upper/` and `work/`. Nothing a run leaves on the host
//! is outside that directory and its cgroups: mounts live in the run's own mount namespace
//! and vanish with it. A sweep removes every run whose owner process is gone.

use crate::cgroup;
use crate::sys::{self, Context, Result};
use serde::{Deserialize, Serialize};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunState {
    pub owner_pid: u32,
    pub owner_start: Option<u64>,
    pub cgroups: Vec<PathBuf>,
}

pub struct RunDir {
    pub path: PathBuf,
}

impl RunDir {
    pub fn create(state_root: &str, owner_pid: u32, id: &str) -> Result<RunDir> {
        if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return sys::err(format!("run id {id:?} must be 1-64 characters of [A-Za-z0-9_-]"));
        }
        fs::create_dir_all(state_root).context(|| format!("create the state directory {state_root}"))?;
        // Others (the container's mapped root) need to pass through, not to list.
        let _ = fs::set_permissions(state_root, fs::Permissions::from_mode(0o711));
        let path = Path::new(state_root).join(format!("{owner_pid}-{id}"));
        fs::create_dir(&path).context(|| format!("create the run directory {}", path.display()))?;
        let dir = RunDir { path };
        dir.save(&RunState { owner_pid, owner_start: sys::process_start_time(owner_pid), cgroups: vec![] })?;
        Ok(dir)
    }

    pub fn save(&self, state: &RunState) -> Result<()> {
        let tmp = self.path.join("state.json.tmp");
        let json = serde_json::to_vec(state).map_err(|e| sys::Error { what: format!("encode run state: {e}"), errno: 0 })?;
        fs::write(&tmp, json).context(|| format!("write {}", tmp.display()))?;
        fs::rename(&tmp, self.path.join("state.json")).context(|| "save the run state".into())
    }

    pub fn sub(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
}

/// After a `keep_changes` run: leaves only what a reader needs in the run dir (`upper/`,
/// `opaque`, and `state.json` without cgroups, so a sweep still removes it once its owner
/// is gone). `opaque` lists the upper dirs overlayfs marked opaque, because an xattr is
/// something Node cannot read.
/// `opaque_from` is the upper dir whose xattrs say which dirs are opaque (the scratch
/// tmpfs's when the monitor copied it out, else the run dir's own `upper/`).
pub fn keep_changes(dir: &RunDir, opaque_from: &Path) -> Result<()> {
    remove_tree(&dir.sub("work")).context(|| "remove the overlay's work dir".into())?;
    let _ = fs::remove_dir(dir.sub("rootfs"));
    let mut opaque = Vec::new();
    list_opaque(opaque_from, "", &mut opaque);
    fs::write(dir.sub("opaque"), opaque.iter().map(|p| format!("{p}\n")).collect::<String>()).context(|| "write the opaque dir list".into())?;
    let text = fs::read(dir.sub("state.json")).context(|| "read the run state".into())?;
    let mut state: RunState = serde_json::from_slice(&text).map_err(|e| sys::Error { what: format!("decode run state: {e}"), errno: 0 })?;
    state.cgroups.clear();
    dir.save(&state)
}

fn list_opaque(path: &Path, rel: &str, out: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(path) else { return };
    for e in entries.flatten() {
        if !e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            continue;
        }
        let child_rel = format!("{rel}/{}", e.file_name().to_string_lossy());
        let child = e.path();
        let Ok(c_path) = sys::cstr(&child.to_string_lossy()) else { continue };
        let marked = ["user.overlay.opaque", "trusted.overlay.opaque"].iter().any(|n| sys::lgetxattr(&c_path, n).as_deref() == Some(b"y".as_slice()));
        if marked {
            out.push(child_rel.clone());
        }
        list_opaque(&child, &child_rel, out);
    }
}

/// Removes a run: kills and removes its cgroups, then deletes its directory.
pub fn remove_run(dir: &Path) -> Option<String> {
    let mut problems = Vec::new();
    if let Ok(text) = fs::read(dir.join("state.json")) {
        if let Ok(state) = serde_json::from_slice::<RunState>(&text) {
            if let Some(p) = cgroup::remove_dirs(&state.cgroups) {
                problems.push(p);
            }
        }
    }
    if let Err(e) = remove_tree(dir) {
        problems.push(format!("run directory {} left behind: {e}", dir.display()));
    }
    (!problems.is_empty()).then(|| problems.join("; "))
}

/// rm -rf that also gets through directories the container made unreadable (mode 000).
pub fn remove_tree(path: &Path) -> std::io::Result<()> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(_) => {
            open_up(path);
            fs::remove_dir_all(path)
        }
    }
}

fn open_up(path: &Path) {
    if let Ok(meta) = fs::symlink_metadata(path) {
        if meta.is_dir() {
            let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o700));
            if let Ok(entries) = fs::read_dir(path) {
                for e in entries.flatten() {
                    open_up(&e.path());
                }
            }
        }
    }
}

fn owner_alive(owner_pid: u32, owner_start: Option<u64>) -> bool {
    match sys::process_start_time(owner_pid) {
        None => false,
        Some(start) => owner_start.is_none_or(|s| s == start),
    }
}

/// Removes every run under `state_root` whose owner is gone; returns what was removed and
/// what could not be.
pub fn sweep(state_root: &str) -> (Vec<String>, Vec<String>) {
    let mut removed = Vec::new();
    let mut failed = Vec::new();
    let Ok(entries) = fs::read_dir(state_root) else { return (removed, failed) };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().to_string();
        let Some(owner) = name.split('-').next().and_then(|p| p.parse::<u32>().ok()) else { continue };
        let state = fs::read(path.join("state.json")).ok().and_then(|t| serde_json::from_slice::<RunState>(&t).ok());
        let alive = match &state {
            Some(s) => owner_alive(s.owner_pid, s.owner_start),
            None => owner_alive(owner, None),
        };
        if alive {
            continue;
        }
        match remove_run(&path) {
            None => removed.push(name),
            Some(problem) => failed.push(problem),
        }
    }
    (removed, failed)
}
