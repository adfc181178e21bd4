/*
 * The boxplay guest <-> host control protocol, spoken over the second UART (ttyS1).
 *
 * Every message is a frame: one type byte, a 32-bit little-endian payload length, the payload.
 * Keep this file and web/runtimes/v86/protocol.ts in step.
 *
 * Guest -> host
 *   'R' ready:    "<kernel release>\0<ms since kernel start>\0"; init waits for a spec now.
 *                 A saved machine state is taken right after this frame.
 *   'C' started:  "<pid>\0<ms init spent since the spec arrived>\0"; the command is about
 *                 to exec (mounts are done).
 *   'O' stdout, 'E' stderr: raw bytes (pipe mode only; in tty mode output goes to ttyS0).
 *   'F' failure:  a message from init itself (bad spec, mount failed, unknown user).
 *   'A' stdin ack: "<n>\0": n bytes of 'D' payload were passed on (or dropped); the host keeps
 *                 at most a window of unacknowledged stdin in flight, because the guest tty
 *                 drops what it cannot buffer (the serial line has no flow control).
 *   'P' ports:    "<ADDRESS:PORT ADDRESS:PORT …>\0": the TCP sockets listening, the answer to 'L'.
 *   'X' exit:     "<wait status>\0" of the command, after its output has been flushed.
 *
 * Host -> guest
 *   'S' spec:     entries of one key byte followed by a NUL-terminated value:
 *                 'a' argv item (repeated)    'e' env item "K=V" (repeated)
 *                 'c' cwd                     'u' user ("name", "uid", "uid:gid", "name:group")
 *                 'h' hostname                't' tty size "cols rows" (absent: pipe mode)
 *                 'i' "1" when stdin stays open   'T' wall clock, ms since the epoch
 *                 'r' random seed (hex)
 *                 'U' "uid gid g1,g2,…" and 'H' home: the user already resolved by the host from
 *                     the image's /etc/passwd and /etc/group (init resolves 'u' itself without)
 *                 'p' the command's path, found by the host in the image along PATH (absent:
 *                     init lets execvp search)
 *                 'n' network: "ADDRESS PREFIX GATEWAY|- MAC", e.g. "10.86.0.2 24 10.86.0.1
 *                     02:b0:0a:56:00:02": eth0 gets them (absent: only lo comes up)
 *                 'o' the whole /etc/hosts text, bind-mounted over the image's /etc/hosts
 *   'W' resize:   "cols rows"
 *   'K' signal:   "<signal number>" for the command's process group
 *   'D' stdin bytes (pipe mode)   'Z' stdin EOF (pipe mode)
 *   'L' list:     asks for a 'P' frame (the host polls while someone looks at the ports).
 *   'N' hosts:    a new /etc/hosts text (members of the guest's network came or went)
 */
#ifndef BOXPLAY_PROTOCOL_H
#define BOXPLAY_PROTOCOL_H

#define FRAME_HEADER 5
#define FRAME_MAX_PAYLOAD (1u << 20)

#endif
