//! [`Error`]: which control command failed, its errno, and what it found; the failures of
//! [`status`](super::status), [`signal`](super::signal) and [`stop`](super::stop), apart from
//! a start's [`Step`](crate::Step)s.

use core::fmt;
use rustix::io::Errno;
use rustix::process::Pid;

use crate::message::Message;

/// A control command (not to be confused with `std::process::Command`: this one names which
/// of [`status`](super::status), [`signal`](super::signal) and [`stop`](super::stop) failed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// [`status`](super::status), and the look-up every command starts with: opening the pid
    /// file, finding the process that holds its lock in `/proc`.
    Status,
    /// [`signal`](super::signal), and each signal [`stop`](super::stop) sends.
    Signal,
    /// [`stop`](super::stop).
    Stop,
}

impl Command {
    /// The name used in messages.
    pub const fn name(self) -> &'static str {
        match self {
            Command::Status => "status",
            Command::Signal => "signal",
            Command::Stop => "stop",
        }
    }
}

/// What a failed command found: the control commands' counterpart of a start's
/// [`crate::Detail`].
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detail {
    /// Nothing more than the errno.
    None,
    /// With `EPERM`: the lock is held by this process, which is not the pid written in the
    /// file nor proven to be one the start created: nothing was signalled. With `EBUSY`: this
    /// process still holds the lock once the daemon's processes are gone.
    Pid(Pid),
    /// With `ETIMEDOUT` ([`stop`](super::stop), [`stop_with`](super::stop_with)): this process
    /// still ran after the schedule's last signal (`SIGKILL` for [`stop`](super::stop)) and
    /// its wait.
    Outlived(Pid, rustix::process::Signal),
    /// With `ESRCH`: no process holds the pid file's lock.
    NotRunning,
    /// With `ESRCH`: the lock is held, but not by the pid written in the file, and the holder
    /// cannot be named (another user's process).
    Unidentified,
    /// With `ESRCH` ([`signal`](super::signal)): the daemon is gone, but a process it started
    /// holds the lock; [`stop`](super::stop) ends it, there is no daemon to signal.
    Orphaned,
    /// The pid file is not a regular file.
    NotRegular,
    /// The pid file is another user's, or has other hard links: not trusted.
    NotOurs,
    /// With `ELOOP`: a directory on the path is a symbolic link that neither root nor this
    /// user owns; it is not followed.
    ForeignLink,
}

/// What a path's resolution refused (`path`'s refusals), as a control command reports
/// it: the refusals it shares with a start.
pub(crate) fn refusal(d: crate::error::Detail) -> Detail {
    match d {
        crate::error::Detail::ForeignLink => Detail::ForeignLink,
        crate::error::Detail::NotRegular => Detail::NotRegular,
        crate::error::Detail::NotOurs => Detail::NotOurs,
        _ => Detail::None,
    }
}

/// A failed control command: small, `Copy`, free of allocation. A start fails with
/// [`crate::Error`] instead (a [`Step`](crate::Step), the errno and a [`crate::Detail`]).
/// [`Display`](fmt::Display) prints `command: cause`; [`message`](Self::message) the whole
/// line with the pid file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Error {
    command: Command,
    errno: Errno,
    detail: Detail,
}

impl Error {
    /// `command` failed with `errno`.
    pub(crate) const fn new(command: Command, errno: Errno) -> Self {
        Self::with_detail(command, errno, Detail::None)
    }

    /// `command` failed with `errno`, having found `detail`.
    pub(crate) const fn with_detail(command: Command, errno: Errno, detail: Detail) -> Self {
        Error {
            command,
            errno,
            detail,
        }
    }

    /// The command that failed.
    pub const fn command(&self) -> Command {
        self.command
    }

    /// The errno.
    pub const fn errno(&self) -> Errno {
        self.errno
    }

    /// What the command found.
    pub const fn detail(&self) -> Detail {
        self.detail
    }

    /// The one-line message `NAME: command SUBJECT: cause`; `SUBJECT` is the pid file.
    pub fn message(&self, name: &str, subject: Option<&[u8]>) -> Message {
        let mut m = Message::new();
        m.push_str(name).push_str(": ");
        self.write_to(&mut m, subject);
        m
    }

    fn write_to(&self, m: &mut Message, subject: Option<&[u8]>) {
        m.push_str(self.command.name());
        if let Some(s) = subject {
            m.push_str(" ");
            m.push_path(s, crate::error::CAUSE_ROOM);
        }
        m.push_str(": ");
        self.write_cause(m);
    }

    /// The cause: the command's own explanation, or the errno's text.
    fn write_cause(&self, m: &mut Message) {
        let pid = match self.detail {
            Detail::Pid(pid) | Detail::Outlived(pid, _) => pid.as_raw_nonzero().get() as u32,
            _ => 0,
        };
        let (head, number, tail): (&str, Option<u32>, &str) = match (self.detail, self.errno) {
            (Detail::NotRunning, _) => ("not running (no process holds its lock)", None, ""),
            (Detail::Orphaned, _) => (
                "the daemon is gone, but a process it started still holds its lock (--stop \
                 ends it)",
                None,
                "",
            ),
            (Detail::Unidentified, _) => (
                "locked by a process other than the pid written in it",
                None,
                "",
            ),
            (Detail::NotRegular, _) => ("not a regular file", None, ""),
            (Detail::NotOurs, _) => (
                "another user's file, or one with other hard links: not trusted",
                None,
                "",
            ),
            (Detail::ForeignLink, _) => (
                "a symbolic link owned by another user is on the path: not followed",
                None,
                "",
            ),
            (Detail::Pid(_), Errno::PERM) => (
                "locked by pid ",
                Some(pid),
                ", which it cannot prove the start created: nothing signalled",
            ),
            (Detail::Pid(_), Errno::BUSY) => ("still locked by pid ", Some(pid), ""),
            (_, Errno::BUSY) if self.command == Command::Stop => {
                ("still locked by a process it could not stop", None, "")
            }
            (Detail::Outlived(_, rustix::process::Signal::KILL), _) => {
                ("pid ", Some(pid), " still runs after SIGKILL")
            }
            (Detail::Outlived(_, signal), _) => {
                m.push_str("pid ")
                    .push_u32(pid)
                    .push_str(" still runs after signal ")
                    .push_u32(signal.as_raw() as u32)
                    .push_str(", the last of the schedule");
                return;
            }
            _ => {
                m.push_errno(self.errno);
                return;
            }
        };
        m.push_str(head);
        if let Some(n) = number {
            m.push_u32(n);
        }
        m.push_str(tail);
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = Message::new();
        self.write_to(&mut m, None);
        f.write_str(m.as_str())
    }
}

impl core::error::Error for Error {}

#[cfg(feature = "std")]
impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        std::io::Error::from_raw_os_error(e.errno.raw_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(e: Error) -> std::string::String {
        std::format!("{e}")
    }

    #[test]
    fn messages() {
        let pid = Pid::from_raw(42).map_or(Detail::None, Detail::Pid);
        let cases = [
            (
                Error::with_detail(Command::Status, Errno::LOOP, Detail::ForeignLink),
                "status: a symbolic link owned by another user is on the path: not followed",
            ),
            (
                Error::with_detail(Command::Stop, Errno::SRCH, Detail::NotRunning),
                "stop: not running (no process holds its lock)",
            ),
            (
                Error::with_detail(Command::Signal, Errno::PERM, pid),
                "signal: locked by pid 42, which it cannot prove the start created: nothing \
                 signalled",
            ),
            (
                Error::with_detail(
                    Command::Stop,
                    Errno::TIMEDOUT,
                    Detail::Outlived(Pid::from_raw(42).unwrap(), rustix::process::Signal::KILL),
                ),
                "stop: pid 42 still runs after SIGKILL",
            ),
            (
                Error::with_detail(
                    Command::Stop,
                    Errno::TIMEDOUT,
                    Detail::Outlived(Pid::from_raw(42).unwrap(), rustix::process::Signal::TERM),
                ),
                "stop: pid 42 still runs after signal 15, the last of the schedule",
            ),
            (
                Error::new(Command::Stop, Errno::BUSY),
                "stop: still locked by a process it could not stop",
            ),
            (
                Error::new(Command::Signal, Errno::PERM),
                "signal: Operation not permitted",
            ),
        ];
        for (e, expect) in cases {
            assert_eq!(text(e), expect);
        }
    }
}
