//! The readiness channel: its nine-byte records, and [`Ready`], the daemon's end of it.
//!
//! The channel is a Unix stream socket pair, so that the daemon can send with `MSG_NOSIGNAL`.
//! A record is `[kind, payload…]`, sent with one `send(2)` of nine bytes, which a Unix socket
//! delivers whole. The original process reads one record, then (except with manual
//! readiness) reads on to end-of-file, so it returns only once the daemon has closed its end
//! or exec'd.

use rustix::fd::OwnedFd;
use rustix::io::Errno;
use rustix::process::Pid;

use crate::error::{Error, Step};
use crate::{Runtime, sys};

/// The size of every record.
pub(crate) const RECORD_LEN: usize = 1 + crate::error::WIRE_LEN;

/// What the original process can read from the channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Record {
    /// The daemon is ready; its pid.
    Ready(u32),
    /// The daemon is about to `execve`: end-of-file next means the exec succeeded, an
    /// [`Record::Failed`] means it did not.
    Exec(u32),
    /// A step failed.
    Failed(Error),
}

const READY: u8 = 1;
const EXEC: u8 = 2;
const FAILED: u8 = 3;

impl Record {
    /// The wire form.
    pub(crate) const fn encode(self) -> [u8; RECORD_LEN] {
        match self {
            Record::Ready(pid) | Record::Exec(pid) => {
                let kind = if matches!(self, Record::Ready(_)) {
                    READY
                } else {
                    EXEC
                };
                let p = pid.to_le_bytes();
                [kind, 0, 0, 0, 0, p[0], p[1], p[2], p[3]]
            }
            Record::Failed(e) => {
                let b = e.to_bytes();
                [FAILED, b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]
            }
        }
    }

    /// The inverse of [`encode`](Self::encode); `None` for anything else.
    pub(crate) fn decode(b: [u8; RECORD_LEN]) -> Option<Self> {
        let pid = u32::from_le_bytes([b[5], b[6], b[7], b[8]]);
        let padded = b[1] == 0 && b[2] == 0 && b[3] == 0 && b[4] == 0;
        match b[0] {
            READY if padded => Some(Record::Ready(pid)),
            EXEC if padded => Some(Record::Exec(pid)),
            FAILED => Error::from_bytes([b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8]])
                .map(Record::Failed),
            _ => None,
        }
    }
}

/// Sends one record with `MSG_NOSIGNAL`: if the launcher is gone the send fails with `EPIPE`
/// and is ignored (there is nobody else to tell), and no SIGPIPE kills the daemon.
/// Async-signal-safe.
///
/// A transient failure (`ENOBUFS`, `ENOMEM`, `EAGAIN`) is tried again a few times; the error
/// that remains is returned. `EPIPE` and `ECONNRESET` mean the launcher is gone.
pub(crate) fn send(channel: &OwnedFd, record: Record) -> Result<(), Errno> {
    let bytes = record.encode();
    let mut last = Errno::AGAIN;
    for _ in 0..SEND_ATTEMPTS {
        match rustix::net::send(channel, &bytes, rustix::net::SendFlags::NOSIGNAL) {
            Ok(_) => return Ok(()),
            Err(e @ (Errno::PIPE | Errno::CONNRESET)) => return Err(e),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// How many times [`send`] tries.
const SEND_ATTEMPTS: usize = 4;

/// Whether a [`send`] error means that the launcher is gone (nobody to tell).
pub(crate) fn launcher_gone(e: Errno) -> bool {
    matches!(e, Errno::PIPE | Errno::CONNRESET)
}

/// Waits for the launcher's one-byte go-ahead (or for it to be gone). Async-signal-safe.
pub(crate) fn wait_ack(channel: &OwnedFd) {
    let mut byte = [0_u8; 1];
    let _ = rustix::io::retry_on_intr(|| {
        rustix::net::recv(channel, &mut byte, rustix::net::RecvFlags::empty())
    });
}

/// Sends the go-ahead [`wait_ack`] waits for.
pub(crate) fn ack(channel: &OwnedFd) {
    let _ = rustix::io::retry_on_intr(|| {
        rustix::net::send(channel, &[1], rustix::net::SendFlags::NOSIGNAL)
    });
}

/// Reads the program's readiness channel (a sequenced-packet socket: one record per write of
/// the program) until a newline in the first 512 bytes of a record (`true`) or end-of-file
/// (`false`). With `program` (a pidfd of the program), also `false` once the program has
/// exited with no line waiting: a process it started may still hold the descriptor, but the
/// program itself never became ready. Async-signal-safe.
///
/// # References
///  - [poll(2)](https://man7.org/linux/man-pages/man2/poll.2.html)
pub(crate) fn wait_line(socket: &OwnedFd, program: Option<&OwnedFd>) -> bool {
    use rustix::event::{PollFd, PollFlags};
    let mut buf = [0_u8; 512];
    loop {
        if let Some(pidfd) = program {
            let mut fds = [
                PollFd::new(socket, PollFlags::IN),
                PollFd::new(pidfd, PollFlags::IN),
            ];
            match rustix::event::poll(&mut fds, None) {
                Ok(_) | Err(Errno::INTR) => {}
                Err(_) => return false,
            }
            let [line, exited] = fds.map(|fd| !fd.revents().is_empty());
            if exited {
                // Only what was sent before the program's end counts, not what a process it
                // started keeps sending: no more is taken (its sends now fail with EPIPE),
                // and what is waiting is read without waiting.
                let _ = rustix::net::shutdown(socket, rustix::net::Shutdown::Read);
                return (0..DRAINED).any(|_| {
                    match rustix::net::recv(socket, &mut buf, rustix::net::RecvFlags::DONTWAIT) {
                        Ok((n, _)) if n > 0 => buf
                            .get(..n)
                            .is_some_and(|b| crate::lines::has_byte(b, b'\n')),
                        _ => false,
                    }
                }) && line;
            }
            if !line {
                continue;
            }
        }
        match rustix::io::retry_on_intr(|| rustix::io::read(socket, &mut buf)) {
            Ok(0) | Err(_) => return false,
            Ok(n)
                if buf
                    .get(..n)
                    .is_some_and(|b| crate::lines::has_byte(b, b'\n')) =>
            {
                return true;
            }
            Ok(_) => {}
        }
    }
}

/// How many waiting records [`wait_line`] looks at once the program has exited.
const DRAINED: usize = 64;

/// The daemon's handle on readiness, returned in the daemon by [`Daemon::start`] and
/// [`Daemon::detach`].
///
/// With the default automatic readiness it has already been reported and this handle only
/// carries the pid. With [`Daemon::notify_manually`] call [`notify`](Ready::notify) once the
/// program has initialized, or [`fail`](Ready::fail) if it could not; dropping the handle
/// without either makes the launcher report that the daemon exited before it was ready.
///
/// [`Daemon::start`]: crate::Daemon::start
/// [`Daemon::detach`]: crate::Daemon::detach
/// [`Daemon::notify_manually`]: crate::Daemon::notify_manually
#[derive(Debug)]
#[must_use = "with notify_manually, dropping Ready reports that the daemon exited before it was ready"]
pub struct Ready {
    pub(crate) channel: Option<OwnedFd>,
    /// Foreground mode: the service manager's notification socket.
    pub(crate) notify: Option<OwnedFd>,
    pub(crate) pid: Pid,
    pub(crate) runtime: Runtime,
}

impl Ready {
    /// The daemon's pid (the one in the pid file).
    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// Reports readiness: the launcher exits 0 (and, with a
    /// [`notify_socket`](crate::Daemon::notify_socket), the service manager hears `READY=1`).
    /// Does nothing if it was reported already.
    pub fn notify(mut self) {
        let pid = self.pid.as_raw_nonzero().get() as u32;
        if let Some(channel) = self.channel.take() {
            let _ = send(&channel, Record::Ready(pid));
        }
        if let Some(socket) = self.notify.take() {
            crate::notify::ready(&socket, pid);
        }
    }

    /// Reports that the program's own initialization failed with `errno`: the launcher prints
    /// `initialization: <strerror>` and exits 1. The caller should then exit.
    pub fn fail(mut self, errno: Errno) {
        if let Some(channel) = self.channel.take() {
            let _ = send(&channel, Record::Failed(Error::new(Step::Init, errno)));
        }
    }

    /// Reports `error` through the channel (if any) and ends the process with status 1.
    pub(crate) fn abort(mut self, error: Error) -> ! {
        if let Some(channel) = self.channel.take() {
            let _ = send(&channel, Record::Failed(error));
        }
        sys::exit(self.runtime, 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        for r in [
            Record::Ready(1),
            Record::Exec(4_194_304),
            Record::Failed(Error::with_detail(
                Step::PidFileLock,
                Errno::WOULDBLOCK,
                crate::error::Detail::pid(4321),
            )),
            Record::Failed(Error::with_detail(
                Step::Dup2,
                Errno::BADF,
                crate::error::Detail::Fd(2),
            )),
            Record::Failed(Error::new(Step::Chdir, Errno::NOENT)),
        ] {
            assert_eq!(Record::decode(r.encode()), Some(r));
        }
        assert_eq!(Record::decode([0; RECORD_LEN]), None);
        assert_eq!(Record::decode([FAILED, 0, 0, 0, 0, 0, 0, 0, 0]), None);
        assert_eq!(Record::decode([FAILED, 200, 0, 0, 0, 0, 0, 0, 0]), None);
        // An errno no Errno can hold, an unknown detail, padding that is not zero: refused,
        // never a panic.
        assert_eq!(Record::decode([FAILED, 17, 0, 16, 0, 0, 0, 0, 0]), None);
        assert_eq!(Record::decode([FAILED, 17, 0, 0, 200, 0, 0, 0, 0]), None);
        assert_eq!(Record::decode([READY, 1, 0, 0, 0, 57, 48, 0, 0]), None);
    }
}
