//! Readiness for service managers: the `sd_notify` datagram (`READY=1`, `MAINPID=`) sent to
//! the socket that `NOTIFY_SOCKET` names, with no allocation.
//!
//! The socket is connected in the original process before any fork, so every later send is
//! one `send(2)` on a prepared descriptor (async-signal-safe). Like `sd_notify(3)`, a socket
//! that cannot be reached is not an error: the start goes on without it, and a service
//! manager that waits for it reports its own timeout.
//!
//! Sent by the launcher (daemon mode), the watcher (foreground mode with `ready_fd`) and the
//! `-R` supervisor: one `send` on the prepared socket.

use rustix::fd::{AsFd, OwnedFd};
use rustix::net::{AddressFamily, SendFlags, SocketFlags, SocketType};

/// A datagram socket connected to `address`: a path, or an abstract name written `@name`.
/// `None` if it cannot be connected.
///
/// # References
///  - [sd_notify(3)](https://www.freedesktop.org/software/systemd/man/latest/sd_notify.html)
///  - [unix(7)](https://man7.org/linux/man-pages/man7/unix.7.html)
pub(crate) fn connect(address: &[u8]) -> Option<OwnedFd> {
    // `sun_path` and the length used of it, as rustix's `SocketAddrUnix` builds them: a path
    // with its NUL (without it if only that fits), an abstract name after a NUL.
    let mut sun_path = [0_u8; 108];
    let len = match address {
        [b'@', name @ ..] => {
            sun_path.get_mut(1..1 + name.len())?.copy_from_slice(name);
            1 + name.len()
        }
        [b'/', ..] if !crate::lines::has_byte(address, 0) => {
            sun_path.get_mut(..address.len())?.copy_from_slice(address);
            (address.len() + 1).min(sun_path.len())
        }
        _ => return None,
    };
    let fd = rustix::net::socket_with(
        AddressFamily::UNIX,
        SocketType::DGRAM,
        SocketFlags::CLOEXEC,
        None,
    )
    .ok()?;
    crate::sys::connect_unix(fd.as_fd(), &sun_path, len).ok()?;
    Some(fd)
}

/// Sends `READY=1` and `MAINPID=pid`; errors are ignored (see the module). Async-signal-safe.
pub(crate) fn ready(socket: &OwnedFd, pid: u32) {
    let mut msg = [0_u8; 32];
    let msg = ready_message(pid, &mut msg);
    let _ = rustix::io::retry_on_intr(|| rustix::net::send(socket, msg, SendFlags::NOSIGNAL));
}

/// `READY=1\nMAINPID=<pid>\n` in `out`.
fn ready_message(pid: u32, out: &mut [u8; 32]) -> &[u8] {
    let mut digits = [0_u8; 10];
    let digits = crate::decimal::format_u32(pid, &mut digits);
    // 16 + 10 + 1 bytes at most: they always fit.
    crate::lines::join(out, &[b"READY=1\nMAINPID=", digits, b"\n"]).unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message() {
        let mut buf = [0; 32];
        assert_eq!(
            ready_message(4_194_304, &mut buf),
            b"READY=1\nMAINPID=4194304\n"
        );
        assert_eq!(
            ready_message(u32::MAX, &mut buf),
            b"READY=1\nMAINPID=4294967295\n"
        );
    }

    #[test]
    fn path_and_abstract_addresses() {
        use std::os::linux::net::SocketAddrExt;
        use std::os::unix::net::{SocketAddr, UnixDatagram};
        let path =
            std::env::temp_dir().join(std::format!("rawdaemon-notify-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let by_path = UnixDatagram::bind(&path).unwrap();
        let name = std::format!("rawdaemon-notify-{}", std::process::id());
        let by_name =
            UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes()).unwrap())
                .unwrap();
        let mut buf = [0_u8; 64];
        let socket = connect(path.to_str().unwrap().as_bytes()).unwrap();
        ready(&socket, 42);
        let n = by_path.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1\nMAINPID=42\n");
        let socket = connect(std::format!("@{name}").as_bytes()).unwrap();
        ready(&socket, 7);
        let n = by_name.recv(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1\nMAINPID=7\n");
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn addresses_that_are_not_sockets() {
        assert!(connect(b"relative/path").is_none());
        assert!(connect(b"").is_none());
        assert!(connect(b"/nonexistent/notify.sock").is_none());
        let long = [b'/'; 109];
        assert!(connect(&long).is_none());
        assert!(connect(b"/with\0nul").is_none());
    }
}
