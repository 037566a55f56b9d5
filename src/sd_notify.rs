//! The notification socket rawdaemon listens on for [`notify_await`](crate::Daemon::notify_await):
//! the program speaks `sd_notify(3)` to it (`READY=1`, `STATUS=`, `MAINPID=`, `ERRNO=`,
//! `EXTEND_TIMEOUT_USEC=`, ...), and only the program and its descendants are heard (the
//! sender's `SCM_CREDENTIALS`).
//!
//! A leaf shared by the launcher (daemon mode) and the respawn supervisor: raw system calls
//! on prepared descriptors and stack buffers only, so async-signal-safe.

use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::fd::{AsFd, OwnedFd};
use rustix::io::Errno;
use rustix::net::{AddressFamily, SocketFlags, SocketType};

use crate::error::Detail;
use crate::sys;

/// The largest notification read whole (systemd's own limit is the same).
pub(crate) const MESSAGE_MAX: usize = 4096;

/// A datagram socket bound to the abstract name `address` (`@name`), non-blocking, that
/// receives each sender's credentials (`SO_PASSCRED`). An abstract name needs no file: it
/// goes with the last descriptor, it is reached from inside a `chroot` and after the
/// privilege drop, and nothing is left behind on the file system. `EINVAL` for an address
/// that is not abstract; `EADDRINUSE` if the name is taken.
///
/// # References
///  - [unix(7)](https://man7.org/linux/man-pages/man7/unix.7.html)
///  - [socket(7)](https://man7.org/linux/man-pages/man7/socket.7.html) (`SO_PASSCRED`)
pub(crate) fn listen(address: &[u8]) -> Result<OwnedFd, Errno> {
    let [b'@', name @ ..] = address else {
        return Err(Errno::INVAL);
    };
    let mut sun_path = [0_u8; 108];
    sun_path
        .get_mut(1..1 + name.len())
        .filter(|_| !name.is_empty())
        .ok_or(Errno::INVAL)?
        .copy_from_slice(name);
    let fd = rustix::net::socket_with(
        AddressFamily::UNIX,
        SocketType::DGRAM,
        SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
        None,
    )?;
    rustix::net::sockopt::set_socket_passcred(&fd, true)?;
    sys::bind_unix(fd.as_fd(), &sun_path, 1 + name.len())?;
    Ok(fd)
}

/// What one notification says (the fields rawdaemon acts on; others are ignored).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Notice<'m> {
    /// `READY=1`.
    pub ready: bool,
    /// `STATUS=`: the text.
    pub status: Option<&'m [u8]>,
    /// `MAINPID=`.
    pub main_pid: Option<u32>,
    /// `ERRNO=`.
    pub errno: Option<u16>,
    /// `EXTEND_TIMEOUT_USEC=`.
    pub extend_usec: Option<u64>,
    /// `WATCHDOG=1`.
    pub watchdog: bool,
}

impl<'m> Notice<'m> {
    /// The fields of `message`: `NAME=VALUE` lines, as `sd_notify(3)` sends them.
    pub(crate) fn parse(message: &'m [u8]) -> Self {
        let mut notice = Notice::default();
        for line in message.split(|&b| b == b'\n') {
            let mut parts = line.splitn(2, |&b| b == b'=');
            let (Some(name), Some(value)) = (parts.next(), parts.next()) else {
                continue;
            };
            let number = || crate::decimal::parse_u64(value, 10, 20);
            match name {
                b"READY" => notice.ready |= value == b"1",
                b"STATUS" => notice.status = Some(value),
                b"MAINPID" => {
                    notice.main_pid = number().and_then(|n| u32::try_from(n).ok());
                }
                b"ERRNO" => {
                    notice.errno = number()
                        .and_then(|n| u16::try_from(n).ok())
                        .filter(|&n| n <= 4095);
                }
                b"EXTEND_TIMEOUT_USEC" => notice.extend_usec = number(),
                b"WATCHDOG" => notice.watchdog |= value == b"1",
                _ => {}
            }
        }
        notice
    }
}

/// Whether process `sender` is one of `roots` or a descendant of one (its chain of parents in
/// `/proc` reaches it). 0, a process gone, or a chain that reaches pid 1 first: no.
pub(crate) fn from_service(sender: u32, roots: [u32; 2]) -> bool {
    let mut pid = sender;
    // A bound, in case /proc changes under the walk.
    for _ in 0..256 {
        if pid <= 1 {
            return false;
        }
        if roots.contains(&pid) {
            return true;
        }
        match crate::service::parent_of(pid) {
            Some(parent) => pid = parent,
            None => return false,
        }
    }
    false
}

/// Why a wait for `READY=1` gave up: the detail and the errno the program reported
/// (`ERRNO=`, 0 if none).
pub(crate) type NotReady = (Detail, u16);

/// The start's error for `why`: [`Step::NotifyAwait`](crate::Step::NotifyAwait) with the
/// detail, and the program's `ERRNO=` as its errno.
pub(crate) fn error((detail, errno): NotReady) -> crate::Error {
    use crate::{Error, Step};
    if errno == 0 {
        Error::without_errno(Step::NotifyAwait, detail)
    } else {
        Error::with_detail(
            Step::NotifyAwait,
            Errno::from_raw_os_error(i32::from(errno)),
            detail,
        )
    }
}

/// A wait for `READY=1` from the program (or a descendant), for a time that each
/// `EXTEND_TIMEOUT_USEC=` pushes to at least that far from its arrival. Its owner polls the
/// socket (and the watched process's pidfd) and calls [`read`](Self::read) when woken.
pub(crate) struct Awaiting {
    /// The program's pid.
    program: u32,
    /// The main process: the program, or the descendant a `MAINPID=` named (with its pidfd).
    main: (u32, Option<OwnedFd>),
    /// Whether a `MAINPID=` is followed.
    follow: bool,
    /// When the wait ends (monotonic, ms).
    deadline: u64,
    /// The timeout as configured, for the message.
    timeout_ms: u64,
    /// The last `ERRNO=`.
    errno: u16,
}

impl Awaiting {
    /// A wait for the program `program` of `timeout_ms`, from now. With `follow`, a
    /// `MAINPID=` naming the program or a descendant of it makes that process the main one:
    /// its end is then the one that fails the wait; without, `MAINPID=` is ignored.
    pub(crate) fn new(program: u32, timeout_ms: u64, follow: bool) -> Self {
        Awaiting {
            program,
            main: (program, None),
            follow,
            deadline: sys::monotonic_ms().saturating_add(timeout_ms),
            timeout_ms,
            errno: 0,
        }
    }

    /// The time left, `None` once it has run out.
    pub(crate) fn left(&self) -> Option<Timespec> {
        let ms = self
            .deadline
            .checked_sub(sys::monotonic_ms())
            .filter(|&ms| ms > 0)?;
        Some(Timespec {
            tv_sec: (ms / 1000) as i64,
            tv_nsec: ((ms % 1000) * 1_000_000) as i64,
        })
    }

    /// The pidfd whose end fails the wait: the followed main process's, else `program`.
    pub(crate) fn watched<'s>(&'s self, program: Option<&'s OwnedFd>) -> Option<&'s OwnedFd> {
        self.main.1.as_ref().or(program)
    }

    /// Reads every notification waiting on `socket`; `status` is called with each `STATUS=`
    /// text heard from the service. Whether `READY=1` came.
    pub(crate) fn read(&mut self, socket: &OwnedFd, status: &mut dyn FnMut(&[u8])) -> bool {
        let mut buf = [0_u8; MESSAGE_MAX];
        while let Ok((len, sender)) = sys::recv_with_sender(socket.as_fd(), &mut buf) {
            let Some(message) = buf.get(..len) else {
                continue; // longer than any notification: not one
            };
            let roots = [self.program, self.main.0];
            if !from_service(sender, roots) {
                continue;
            }
            let notice = Notice::parse(message);
            if let Some(text) = notice.status {
                status(text);
            }
            if let Some(e) = notice.errno {
                self.errno = e;
            }
            if let Some(usec) = notice.extend_usec {
                let until = sys::monotonic_ms().saturating_add(usec / 1000);
                self.deadline = self.deadline.max(until);
            }
            if let Some(pid) = notice.main_pid.filter(|&p| self.follow && p != self.main.0) {
                if let Some(fd) = adopt(pid, roots) {
                    self.main = (pid, (pid != self.program).then_some(fd));
                }
            }
            // What follows is the caller's to read.
            if notice.ready {
                return true;
            }
        }
        false
    }

    /// The wait is over: the main process's pid, and its pidfd if it is not the program.
    pub(crate) fn main(self) -> (u32, Option<OwnedFd>) {
        self.main
    }

    /// Gives up: the program exited (`exited`) or the time ran out. A followed main process
    /// is killed.
    pub(crate) fn give_up(self, exited: bool) -> NotReady {
        if let Some(fd) = &self.main.1 {
            crate::control::kill(fd);
        }
        let why = if exited {
            Detail::ExitedBeforeReady
        } else {
            Detail::Timeout((self.timeout_ms / 1000) as u32)
        };
        (why, self.errno)
    }
}

/// Waits for `READY=1` on `socket` (see [`Awaiting`]), polling it and the watched pidfd.
/// `program` is the program's pid and pidfd (without one, only the time ends the wait).
///
/// # References
///  - [poll(2)](https://man7.org/linux/man-pages/man2/poll.2.html)
pub(crate) fn await_ready(
    socket: &OwnedFd,
    program: (u32, Option<&OwnedFd>),
    timeout_ms: u64,
    follow: bool,
    status: &mut dyn FnMut(&[u8]),
) -> Result<(u32, Option<OwnedFd>), NotReady> {
    let mut wait = Awaiting::new(program.0, timeout_ms, follow);
    loop {
        let Some(left) = wait.left() else {
            return Err(wait.give_up(false));
        };
        let watched = wait.watched(program.1);
        let mut fds = [
            PollFd::new(socket, PollFlags::IN),
            PollFd::new(watched.unwrap_or(socket), PollFlags::IN),
        ];
        let n = if watched.is_some() { 2 } else { 1 };
        let _ = rustix::event::poll(fds.get_mut(..n).unwrap_or_default(), Some(&left));
        let exited = n == 2 && fds.get(1).is_some_and(|fd| !fd.revents().is_empty());
        // Every notification waiting is read before an exit counts: a program that says
        // READY=1 and exits at once was ready, one that named its worker first handed over.
        let before = wait.main.0;
        if wait.read(socket, status) {
            return Ok(wait.main());
        }
        if exited && wait.main.0 == before {
            return Err(wait.give_up(true));
        }
    }
}

/// A pidfd of `pid` if it is one of `roots` or a descendant of one: opened first, then the
/// process checked, then the pidfd checked still to be running, so that both name the same
/// process.
fn adopt(pid: u32, roots: [u32; 2]) -> Option<OwnedFd> {
    let raw = rustix::process::Pid::from_raw(i32::try_from(pid).ok()?)?;
    let fd = rustix::process::pidfd_open(raw, rustix::process::PidfdFlags::empty()).ok()?;
    if !from_service(pid, roots) {
        return None;
    }
    let mut probe = [PollFd::new(&fd, PollFlags::IN)];
    let zero = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    match rustix::event::poll(&mut probe, Some(&zero)) {
        Ok(0) => Some(fd),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices() {
        let n = Notice::parse(b"READY=1\nSTATUS=listening on 80\nMAINPID=42\n");
        assert!(n.ready);
        assert_eq!(n.status, Some(&b"listening on 80"[..]));
        assert_eq!(n.main_pid, Some(42));
        let n = Notice::parse(b"STATUS=a=b\nERRNO=98\nEXTEND_TIMEOUT_USEC=5000000\nWATCHDOG=1");
        assert!(!n.ready && n.watchdog);
        assert_eq!(n.status, Some(&b"a=b"[..]));
        assert_eq!(n.errno, Some(98));
        assert_eq!(n.extend_usec, Some(5_000_000));
        let n = Notice::parse(b"READY=0\nERRNO=99999\nMAINPID=x\nRELOADING=1\nSTOPPING=1");
        assert_eq!(n, Notice::default());
    }

    #[test]
    fn addresses() {
        assert_eq!(listen(b"/run/notify").err(), Some(Errno::INVAL));
        assert_eq!(listen(b"@").err(), Some(Errno::INVAL));
        let name = std::format!("@rawdaemon-sd-notify-test-{}", std::process::id());
        let socket = listen(name.as_bytes()).unwrap();
        assert_eq!(listen(name.as_bytes()).err(), Some(Errno::ADDRINUSE));
        // Heard with the sender's pid.
        let sender = crate::notify::connect(name.as_bytes()).unwrap();
        crate::notify::ready(&sender, 7);
        let mut buf = [0_u8; 64];
        let (n, pid) = sys::recv_with_sender(socket.as_fd(), &mut buf).unwrap();
        assert_eq!(&buf[..n], b"READY=1\nMAINPID=7\n");
        assert_eq!(pid, std::process::id());
        assert_eq!(
            sys::recv_with_sender(socket.as_fd(), &mut buf).err(),
            Some(Errno::AGAIN)
        );
        assert!(from_service(std::process::id(), [std::process::id(), 0]));
        assert!(!from_service(1, [std::process::id(), 0]));
        assert!(!from_service(0, [0, 0]));
    }
}
