//! Capabilities: Docker's default set (or the spec's list) for a root process, nothing for
//! any other user. Applied to the bounding, effective, permitted sets; inheritable and
//! ambient stay empty (as Docker does since CVE-2022-24769).

use crate::sys::{self, Result};

const NAMES: &[&str] = &[
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP", "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT",
    "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE",
    "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP", "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ",
    "PERFMON", "BPF", "CHECKPOINT_RESTORE",
];

pub const DOCKER_DEFAULT: &[&str] = &[
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID",
    "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
];

/// The 64-bit mask of capability names like "CAP_CHOWN" (the prefix is optional).
pub fn mask_of(names: &[impl AsRef<str>]) -> Result<u64> {
    let mut mask = 0u64;
    for n in names {
        let n = n.as_ref();
        let bare = n.strip_prefix("CAP_").unwrap_or(n).to_ascii_uppercase();
        match NAMES.iter().position(|c| *c == bare) {
            Some(bit) => mask |= 1 << bit,
            None => return sys::err(format!("unknown capability {n:?}")),
        }
    }
    Ok(mask)
}

fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap").ok().and_then(|s| s.trim().parse().ok()).unwrap_or(40)
}

/// Drops every capability outside `keep` from the bounding set. Needs CAP_SETPCAP (held
/// by the freshly created user namespace's root).
pub fn limit_bounding(keep: u64) -> Result<()> {
    for cap in 0..=last_cap() {
        if keep & (1 << cap) == 0 {
            sys::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0)?;
        }
    }
    Ok(())
}

/// Sets the final sets of the process about to exec: `keep` for root, nothing otherwise.
pub fn apply_final(keep: u64, is_root: bool) -> Result<()> {
    sys::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong, 0)?;
    let set = if is_root { keep } else { 0 };
    sys::capset(set, set, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_default_set_is_the_well_known_mask() {
        assert_eq!(mask_of(DOCKER_DEFAULT).unwrap(), 0xa80425fb);
    }

    #[test]
    fn unknown_names_are_errors() {
        assert!(mask_of(&["CAP_NOPE"]).is_err());
    }
}
