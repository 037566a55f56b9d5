//! Readiness for service managers: the `sd_notify` datagram (`READY=1`, `MAINPID=`) sent to
//! the socket that `NOTIFY_SOCKET` names, with no allocation.
//!
//! The socket is connected in the original process before any fork, so every later send is
//! one `send(2)` on a prepared descriptor (async-signal-safe). Like `sd_notify(3)`, a socket
//! that cannot be reached is not an error: the start goes on without it, and a service
//! manager that waits for it reports its own timeout.

use rustix::fd::OwnedFd;
use rustix::net::{AddressFamily, SendFlags, SocketAddrUnix, SocketFlags, SocketType};

/// A datagram socket connected to `address`: a path, or an abstract name written `@name`.
/// `None` if it cannot be connected.
///
/// # References
///  - [sd_notify(3)](https://www.freedesktop.org/software/systemd/man/latest/sd_notify.html)
///  - [unix(7)](https://man7.org/linux/man-pages/man7/unix.7.html)
pub(crate) fn connect(address: &[u8]) -> Option<OwnedFd> {
    let addr = match address {
        [b'@', name @ ..] => SocketAddrUnix::new_abstract_name(name),
        [b'/', ..] => SocketAddrUnix::new(address),
        _ => return None,
    }
    .ok()?;
    let fd = rustix::net::socket_with(
        AddressFamily::UNIX,
        SocketType::DGRAM,
        SocketFlags::CLOEXEC,
        None,
    )
    .ok()?;
    rustix::net::connect(&fd, &addr).ok()?;
    Some(fd)
}

/// Sends `READY=1` and `MAINPID=pid`; errors are ignored (see the module). Async-signal-safe.
pub(crate) fn ready(socket: &OwnedFd, pid: u32) {
    let mut msg = [0_u8; 32];
    let len = ready_message(pid, &mut msg);
    let _ =
        rustix::io::retry_on_intr(|| rustix::net::send(socket, &msg[..len], SendFlags::NOSIGNAL));
}

/// `READY=1\nMAINPID=<pid>\n` into `out`; its length.
fn ready_message(pid: u32, out: &mut [u8; 32]) -> usize {
    const HEAD: &[u8] = b"READY=1\nMAINPID=";
    out[..HEAD.len()].copy_from_slice(HEAD);
    let mut digits = [0_u8; 10];
    let n = crate::decimal::format_u32(pid, &mut digits);
    out[HEAD.len()..HEAD.len() + n].copy_from_slice(&digits[..n]);
    out[HEAD.len() + n] = b'\n';
    HEAD.len() + n + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message() {
        let mut buf = [0; 32];
        let n = ready_message(4_194_304, &mut buf);
        assert_eq!(&buf[..n], b"READY=1\nMAINPID=4194304\n");
    }

    #[test]
    fn addresses_that_are_not_sockets() {
        assert!(connect(b"relative/path").is_none());
        assert!(connect(b"").is_none());
        assert!(connect(b"/nonexistent/notify.sock").is_none());
    }
}
