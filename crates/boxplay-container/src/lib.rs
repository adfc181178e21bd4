//! boxplay's containers: what `boxplay-init` does for one run (see monitor.rs for the
//! order of events), plus the sweep the server runs at start.

pub mod caps;
pub mod cgroup;
pub mod child;
pub mod exec;
pub mod idmap;
pub mod kept_scratch;
pub mod monitor;
pub mod net;
pub mod ports;
pub mod rootfs;
pub mod seccomp;
pub mod spec;
pub mod state;
pub mod sys;
pub mod user;
