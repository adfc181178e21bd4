//! One container run: see boxplay_container::monitor. Started by the Node addon with the
//! container's stdio on fds 0-2 and the control socket on fd 3; not meant for people.

fn main() {
    let code = std::panic::catch_unwind(boxplay_container::monitor::main).unwrap_or(125);
    std::process::exit(code);
}
