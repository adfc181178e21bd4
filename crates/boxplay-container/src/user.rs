//! Docker's `User` field resolved against the container's own /etc/passwd and /etc/group
//! (read after pivot_root, so the host's files are out of reach).

use crate::sys::{self, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
    pub home: Option<String>,
}

struct PasswdEntry {
    name: String,
    uid: u32,
    gid: u32,
    home: String,
}

fn parse_passwd(text: &str) -> Vec<PasswdEntry> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 7).then(|| Some(PasswdEntry { name: f[0].into(), uid: f[2].parse().ok()?, gid: f[3].parse().ok()?, home: f[5].into() }))?
        })
        .collect()
}

/// (name, gid, members) per group line.
fn parse_group(text: &str) -> Vec<(String, u32, Vec<String>)> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 4).then(|| Some((f[0].to_string(), f[2].parse().ok()?, f[3].split(',').filter(|m| !m.is_empty()).map(String::from).collect())))?
        })
        .collect()
}

/// Resolves `spec` ("", "name", "uid", "name:group", "uid:gid") with the given file contents.
pub fn resolve(spec: &str, passwd: &str, group: &str) -> Result<User> {
    let (user_part, group_part) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let users = parse_passwd(passwd);
    let groups = parse_group(group);
    let user_part = if user_part.is_empty() { "0" } else { user_part };
    let entry = match user_part.parse::<u32>() {
        Ok(uid) => users.iter().find(|u| u.uid == uid),
        Err(_) => Some(
            users
                .iter()
                .find(|u| u.name == user_part)
                .ok_or_else(|| sys::Error { what: format!("unable to find user {user_part}: no matching entries in the image's /etc/passwd"), errno: 0 })?,
        ),
    };
    let uid = entry.map_or_else(|| user_part.parse().unwrap_or(0), |e| e.uid);
    let mut gid = entry.map_or(0, |e| e.gid);
    if let Some(g) = group_part {
        gid = match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => groups
                .iter()
                .find(|(name, _, _)| name == g)
                .map(|(_, id, _)| *id)
                .ok_or_else(|| sys::Error { what: format!("unable to find group {g}: no matching entries in the image's /etc/group"), errno: 0 })?,
        };
    }
    // Supplementary groups: those listing the user by name (only when no group was forced).
    let mut extra: Vec<u32> = match (entry, group_part) {
        (Some(e), None) => groups.iter().filter(|(_, _, m)| m.contains(&e.name)).map(|(_, id, _)| *id).collect(),
        _ => vec![],
    };
    extra.retain(|g| *g != gid);
    extra.insert(0, gid);
    extra.dedup();
    Ok(User { uid, gid, groups: extra, home: entry.map(|e| e.home.clone()) })
}

#[cfg(test)]
mod tests {
    use super::*;
    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\napp:x:1000:1000::/home/app:/bin/sh\n";
    const GROUP: &str = "root:x:0:\nwheel:x:10:app\napp:x:1000:\nstaff:x:50:\n";

    #[test]
    fn resolves_names_numbers_and_groups() {
        assert_eq!(resolve("", PASSWD, GROUP).unwrap().uid, 0);
        let app = resolve("app", PASSWD, GROUP).unwrap();
        assert_eq!((app.uid, app.gid, app.groups.clone()), (1000, 1000, vec![1000, 10]));
        assert_eq!(app.home.as_deref(), Some("/home/app"));
        let n = resolve("1234:50", PASSWD, GROUP).unwrap();
        assert_eq!((n.uid, n.gid), (1234, 50));
        assert_eq!(resolve("app:staff", PASSWD, GROUP).unwrap().gid, 50);
        assert!(resolve("ghost", PASSWD, GROUP).is_err());
        assert!(resolve("app:ghosts", PASSWD, GROUP).is_err());
    }
}
