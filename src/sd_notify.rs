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

/// How many datagrams one turn of a reader takes at most before it looks at its deadline,
/// the program's pidfd, its signals and PROGRAM's output again: anyone may send to the
/// socket, and a flood that never lets the queue run empty must not hold the reader.
pub(crate) const BATCH: usize = 16;

/// How many generations [`from_service`] walks up from a sender (as `--stop` does): each is
/// one read of `/proc/PID/stat`, and a stranger sends from as deep a chain as it likes.
const GENERATIONS: usize = 64;

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
/// `/proc` reaches it within [`GENERATIONS`]). 0, a process gone, a chain that reaches pid 1
/// first, or one deeper than that: no.
pub(crate) fn from_service(sender: u32, roots: [u32; 2]) -> bool {
    let mut pid = sender;
    for _ in 0..=GENERATIONS {
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
/// socket (and the watched process's pidfd) and calls [`turn`](Self::turn) when woken.
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
    /// The watched process has exited (its last words may still be queued).
    gone: bool,
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
            gone: false,
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

    /// One turn, once a poll of `socket` and the watched pidfd returned: reads the
    /// notifications waiting, at most [`BATCH`] of them (the caller polls again for the
    /// rest, looking at its deadline and its other descriptors in between); `status` is
    /// called with each `STATUS=` text heard from the service. `exited`: the watched
    /// pidfd showed its process's end.
    ///
    /// `Some(true)`: `READY=1` came (what follows it is the caller's to read). `Some(false)`:
    /// the watched process is gone and what it said before is read: the wait has failed
    /// ([`give_up`](Self::give_up)). `None`: wait on. Every notification waiting is read
    /// before an end counts: a program that says `READY=1` and exits at once was ready, one
    /// that named its worker first handed over (the worker is watched from then on).
    pub(crate) fn turn(
        &mut self,
        socket: &OwnedFd,
        exited: bool,
        status: &mut dyn FnMut(&[u8]),
    ) -> Option<bool> {
        let main = self.main.0;
        let mut buf = [0_u8; MESSAGE_MAX];
        let mut emptied = false;
        for _ in 0..BATCH {
            let Ok((len, sender)) = sys::recv_with_sender(socket.as_fd(), &mut buf) else {
                emptied = true;
                break;
            };
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
            if notice.ready {
                return Some(true);
            }
        }
        if self.main.0 != main {
            // Handed over: the new main process's end is the one that counts.
            self.gone = false;
            return None;
        }
        self.gone |= exited;
        (self.gone && emptied).then_some(false)
    }

    /// The wait is over: the main process's pid, and its pidfd if it is not the program.
    pub(crate) fn main(self) -> (u32, Option<OwnedFd>) {
        self.main
    }

    /// Gives up: the watched process exited, or the time ran out. A followed main process
    /// is killed.
    pub(crate) fn give_up(self) -> NotReady {
        if let Some(fd) = &self.main.1 {
            crate::control::kill(fd);
        }
        let why = if self.gone {
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
            return Err(wait.give_up());
        };
        let watched = wait.watched(program.1);
        let mut fds = [
            PollFd::new(socket, PollFlags::IN),
            PollFd::new(watched.unwrap_or(socket), PollFlags::IN),
        ];
        let n = if watched.is_some() { 2 } else { 1 };
        let _ = rustix::event::poll(fds.get_mut(..n).unwrap_or_default(), Some(&left));
        let exited = n == 2 && fds.get(1).is_some_and(|fd| !fd.revents().is_empty());
        match wait.turn(socket, exited, status) {
            Some(true) => return Ok(wait.main()),
            Some(false) => return Err(wait.give_up()),
            None => {}
        }
    }
}

/// After `READY=1`, where nobody reads the socket any more: closes it for reading
/// (`shutdown(SHUT_RD)`), so that every later send to its name fails (`EPIPE`, which
/// `sd_notify(3)` ignores) instead of being queued, then reads and drops what was queued
/// before (closing the descriptors sent along: a `BARRIER=1` is answered). Nothing can come
/// after the shutdown, so the drain ends (bounded all the same). The name stays bound for as
/// long as a descriptor of the socket is open: whoever keeps one keeps the name from anyone
/// else, who would otherwise bind it and hear what the program says later.
///
/// # References
///  - [shutdown(2)](https://man7.org/linux/man-pages/man2/shutdown.2.html)
///  - [unix(7)](https://man7.org/linux/man-pages/man7/unix.7.html)
pub(crate) fn seal(socket: &OwnedFd) {
    let _ = rustix::net::shutdown(socket, rustix::net::Shutdown::Read);
    let mut buf = [0_u8; 64];
    for _ in 0..4096 {
        if sys::recv_with_sender(socket.as_fd(), &mut buf).is_err() {
            break;
        }
    }
}

/// Appends the program's `STATUS=` `text` to `m` for a terminal, with every control
/// character shown as `?`: C0 and DEL, the C1 controls U+0080 to U+009F (as UTF-8, `C2 80`
/// to `C2 9F`), and every byte that is not part of valid UTF-8 (a lone 0x9B is CSI to a
/// terminal in an 8-bit mode; Latin-1 text is shown as `?` too). Other UTF-8 is kept. A
/// program's status never drives the terminal.
pub(crate) fn push_printable(m: &mut crate::message::Message, text: &[u8]) {
    printable(text, &mut |piece| {
        m.push(piece);
    });
}

/// [`push_printable`]'s rule, each piece of the shown text handed to `out`: never longer
/// than `text`.
pub(crate) fn printable(text: &[u8], out: &mut dyn FnMut(&[u8])) {
    for chunk in text.utf8_chunks() {
        for c in chunk.valid().chars() {
            let mut utf8 = [0_u8; 4];
            out(match c.is_control() {
                true => b"?",
                false => c.encode_utf8(&mut utf8).as_bytes(),
            });
        }
        for _ in chunk.invalid() {
            out(b"?");
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

    #[test]
    fn statuses_never_drive_the_terminal() {
        let shown = |text: &[u8]| {
            let mut m = crate::message::Message::new();
            push_printable(&mut m, text);
            std::string::String::from_utf8(m.as_bytes().to_vec()).unwrap()
        };
        assert_eq!(shown(b"listening on :80"), "listening on :80");
        // C0, DEL, and C1 both raw (0x9B is CSI in an 8-bit mode) and as UTF-8 (U+009B).
        assert_eq!(shown(b"a\x1b[2Jb\x07\x7f\r\n"), "a?[2Jb????");
        assert_eq!(shown(b"\x9b31m\x85\xc2\x9b31m\xc2\x80"), "?31m??31m?");
        // UTF-8 stays (including U+00A0 and up, and four-byte characters); what is not UTF-8
        // goes byte by byte, a sequence cut short too.
        assert_eq!(
            shown("caf\u{e9} \u{a0}\u{1f600} \u{2028}".as_bytes()),
            "caf\u{e9} \u{a0}\u{1f600} \u{2028}"
        );
        assert_eq!(shown(b"caf\xe9 \xff\xe2\x82"), "caf? ???");
    }
}
