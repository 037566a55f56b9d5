//! [`Error`]: which step failed and why, in eight bytes that cross the readiness channel.

use core::fmt;
use rustix::io::Errno;

use crate::message::Message;

/// A step of the daemonization sequence, in the order the steps run.
///
/// The discriminants are part of the readiness wire format and never reused.
#[repr(u8)]
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// The process has more than one thread; [`Error::detail`] is the thread count.
    Threads = 1,
    /// A descriptor of the keep-list is not open or is 0, 1 or 2; the detail is its number.
    KeepFd = 2,
    /// `open("/dev/null")`.
    OpenDevNull = 3,
    /// Opening the stdout log file.
    OpenStdout = 4,
    /// Opening the stderr log file.
    OpenStderr = 5,
    /// Opening the pid file.
    PidFileOpen = 6,
    /// Locking the pid file; with `EWOULDBLOCK` another process holds it and the detail is
    /// that process: the pid written in the file if it holds the lock, else one found holding
    /// it in `/proc` (0 if none could be found).
    PidFileLock = 7,
    /// `socketpair` for the readiness channel.
    Pipe = 8,
    /// The first `fork`.
    Fork = 9,
    /// `setsid` in the intermediate process.
    Setsid = 10,
    /// The second `fork`, in the intermediate process.
    Fork2 = 11,
    /// Clearing the signal mask.
    SignalMask = 12,
    /// `chdir`.
    Chdir = 13,
    /// `dup2` onto a standard descriptor; the detail is the target (0, 1 or 2).
    Dup2 = 14,
    /// Closing inherited descriptors (close_range and its fallbacks all failed).
    CloseFds = 15,
    /// Writing the daemon's pid into the pid file.
    PidFileWrite = 16,
    /// `execve` of the program.
    Exec = 17,
    /// The daemon exited, or closed the readiness channel, without reporting ready or an error.
    NotReady = 18,
    /// The program's own initialization failed ([`Ready::fail`](crate::Ready::fail)).
    Init = 19,
    /// Reading the readiness channel in the original process.
    ReadPipe = 20,
    /// Invalid configuration (for example an `exec` argument vector that is not
    /// null-terminated).
    Config = 21,
    /// Looking up `USER[:GROUP]` in `/etc/passwd` and `/etc/group`; the detail is
    /// [`NO_SUCH_USER`](Error::NO_SUCH_USER) or [`NO_SUCH_GROUP`](Error::NO_SUCH_GROUP) when a
    /// name is missing (errno `ENOENT`), or 0 when a file could not be read.
    User = 22,
    /// `chroot`.
    Chroot = 23,
    /// `setgroups`: the supplementary groups.
    Setgroups = 24,
    /// `setgid`.
    Setgid = 25,
    /// `setuid`; with the detail [`REGAINED_ROOT`](Error::REGAINED_ROOT), the process could
    /// become root again after dropping privileges.
    Setuid = 26,
    /// Finding the process that holds a pid file's lock (`/proc`, the pid file itself).
    Status = 27,
    /// `pidfd_open` or `pidfd_send_signal` for the process holding a pid file; for
    /// [`signal`](crate::signal) also the detail [`NOT_RUNNING`](Error::NOT_RUNNING) or
    /// [`UNIDENTIFIED`](Error::UNIDENTIFIED).
    Signal = 28,
    /// Stopping the process that holds a pid file: the detail is
    /// [`NOT_RUNNING`](Error::NOT_RUNNING) or [`UNIDENTIFIED`](Error::UNIDENTIFIED), with
    /// `ETIMEDOUT` the pid that outlived `SIGKILL`, or with `EBUSY` the pid still holding the
    /// lock once the daemon's processes are gone (0 if none could be named).
    Stop = 29,
    /// The program closed its [`ready_fd`](crate::Daemon::ready_fd) (or exited) before it
    /// wrote a newline to it; the detail is the descriptor's number.
    ReadyFd = 30,
    /// Setting up the respawn supervisor (signalfd, child subreaper, capture pipes).
    Supervise = 31,
    /// Starting the process that sends the program's output to the system log.
    Logger = 32,
}

impl Step {
    /// The step with this wire number.
    pub const fn from_u8(n: u8) -> Option<Step> {
        use Step::*;
        const ALL: [Step; 32] = [
            Threads,
            KeepFd,
            OpenDevNull,
            OpenStdout,
            OpenStderr,
            PidFileOpen,
            PidFileLock,
            Pipe,
            Fork,
            Setsid,
            Fork2,
            SignalMask,
            Chdir,
            Dup2,
            CloseFds,
            PidFileWrite,
            Exec,
            NotReady,
            Init,
            ReadPipe,
            Config,
            User,
            Chroot,
            Setgroups,
            Setgid,
            Setuid,
            Status,
            Signal,
            Stop,
            ReadyFd,
            Supervise,
            Logger,
        ];
        if n >= 1 && (n as usize) <= ALL.len() {
            Some(ALL[n as usize - 1])
        } else {
            None
        }
    }

    /// A short lower-case name of the step, as used in messages.
    #[allow(unsafe_code)] // a UTF-8 view of ASCII bytes: see the SAFETY comment
    pub const fn name(self) -> &'static str {
        // One packed string and a table of where each name ends, in discriminant order:
        // a fraction of the size of one (pointer, length) pair per step, in every binary
        // that prints an error.
        let i = self as usize - 1;
        if i >= NAME_ENDS.len() {
            return "";
        }
        let start = match i {
            0 => 0,
            _ => NAME_ENDS[i - 1] as usize + 1,
        };
        let end = NAME_ENDS[i] as usize;
        let Some((_, rest)) = NAMES.as_bytes().split_at_checked(start) else {
            return "";
        };
        let Some((name, _)) = rest.split_at_checked(end - start) else {
            return "";
        };
        // SAFETY: NAMES is ASCII (checked where NAME_ENDS is computed), so any piece of it is
        // UTF-8. (`str::from_utf8` would validate it at run time, with 0.7 KB of code.)
        unsafe { core::str::from_utf8_unchecked(name) }
    }
}

/// [`Step::name`]'s names, in discriminant order, each ended by a NUL.
const NAMES: &str = concat!(
    "thread check\0",           // 1 Threads
    "keep fd\0",                // 2 KeepFd
    "open /dev/null\0",         // 3 OpenDevNull
    "open stdout\0",            // 4 OpenStdout
    "open stderr\0",            // 5 OpenStderr
    "pid file\0",               // 6 PidFileOpen
    "pid file\0",               // 7 PidFileLock
    "socketpair\0",             // 8 Pipe
    "fork\0",                   // 9 Fork
    "setsid\0",                 // 10 Setsid
    "second fork\0",            // 11 Fork2
    "sigprocmask\0",            // 12 SignalMask
    "chdir\0",                  // 13 Chdir
    "dup2\0",                   // 14 Dup2
    "close_range\0",            // 15 CloseFds
    "write pid file\0",         // 16 PidFileWrite
    "exec\0",                   // 17 Exec
    "daemon\0",                 // 18 NotReady
    "initialization\0",         // 19 Init
    "read readiness channel\0", // 20 ReadPipe
    "configuration\0",          // 21 Config
    "user\0",                   // 22 User
    "chroot\0",                 // 23 Chroot
    "setgroups\0",              // 24 Setgroups
    "setgid\0",                 // 25 Setgid
    "setuid\0",                 // 26 Setuid
    "status\0",                 // 27 Status
    "signal\0",                 // 28 Signal
    "stop\0",                   // 29 Stop
    "exec\0",                   // 30 ReadyFd
    "respawn\0",                // 31 Supervise
    "logger\0",                 // 32 Logger
);

/// The position of each name's NUL in [`NAMES`], computed at compile time.
const NAME_ENDS: [u16; 32] = {
    let mut ends = [0; 32];
    let (mut at, mut n) = (0, 0);
    while at < NAMES.len() {
        assert!(NAMES.as_bytes()[at].is_ascii(), "step names are ASCII");
        if NAMES.as_bytes()[at] == 0 {
            ends[n] = at as u16;
            n += 1;
        }
        at += 1;
    }
    assert!(n == ends.len(), "one name per step");
    ends
};

/// A failed step and its errno: small, `Copy`, and free of allocation.
///
/// It is what every entry point returns and what the daemon sends back to the original process
/// through the readiness channel. [`Display`](fmt::Display) prints `step: strerror`; for the full
/// line with the path involved use [`Daemon::message`](crate::Daemon::message).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Error {
    step: Step,
    errno: u16,
    detail: u32,
}

/// Room kept for the cause after a long path in a message: the longest explanation and
/// `strerror` text, with a pid, fit in it.
const CAUSE_ROOM: usize = 256;

impl Error {
    /// [`Step::User`] detail: the user is in neither `/etc/passwd` nor a number.
    pub const NO_SUCH_USER: u32 = 1;
    /// [`Step::User`] detail: the group is in neither `/etc/group` nor a number.
    pub const NO_SUCH_GROUP: u32 = 2;
    /// [`Step::User`] detail: a numeric user not in `/etc/passwd` was given without a group.
    pub const NEEDS_GROUP: u32 = 3;
    /// [`Step::Setuid`] detail: `setuid(0)` succeeded after the drop.
    pub const REGAINED_ROOT: u32 = 1;
    /// [`Step::Stop`] detail: no process holds the pid file's lock.
    pub const NOT_RUNNING: u32 = 1;
    /// [`Step::Stop`] detail: the lock is held, but not by the pid written in the file.
    pub const UNIDENTIFIED: u32 = 2;
    /// [`Step::Signal`] detail: the daemon is gone, but a process it started holds the lock
    /// ([`stop`](crate::stop) ends it; there is no daemon to signal).
    pub const ORPHANED: u32 = 3;
    /// [`Step::PidFileOpen`] and [`Step::Status`] detail: the path is not a regular file.
    pub const NOT_REGULAR: u32 = 1;
    /// [`Step::Supervise`] detail: blocking the handled signals or opening the signalfd.
    pub const SUPERVISE_SIGNALS: u32 = 1;
    /// [`Step::Supervise`] detail: becoming a child subreaper.
    pub const SUPERVISE_SUBREAPER: u32 = 2;
    /// [`Step::Supervise`] detail: a capture or status pipe.
    pub const SUPERVISE_PIPES: u32 = 3;
    /// [`Step::Supervise`] detail: the program's own process group (`setpgid`).
    pub const SUPERVISE_GROUP: u32 = 4;
    /// [`Step::Supervise`] detail: the program's parent-death signal.
    pub const SUPERVISE_PARENT_DEATH: u32 = 5;
    /// [`Step::PidFileOpen`] detail: an existing pid file is another user's, or has other
    /// hard links; it is not reused (it could be a planted link to a file not ours to write).
    pub const NOT_OURS: u32 = 2;
    /// [`Step::PidFileOpen`], [`Step::OpenStdout`], [`Step::OpenStderr`] and [`Step::Status`]
    /// detail (with `ELOOP`): a directory on the path is a symbolic link that neither root nor
    /// this user owns; it is not followed (it could lead root's write anywhere).
    pub const FOREIGN_LINK: u32 = 3;
    /// [`Step::OpenStdout`] and [`Step::OpenStderr`] detail (with `EPERM`): an existing log
    /// file is owned by a user other than root, this one or the daemon's.
    pub const FOREIGN_OWNER: u32 = 4;
    /// [`Step::OpenStdout`] and [`Step::OpenStderr`] detail (with `EPERM`): an existing log
    /// file has other hard links (it could be a planted link to a file not ours to write).
    pub const HARD_LINKED: u32 = 5;
    /// [`Step::OpenStdout`] and [`Step::OpenStderr`] detail (with `ELOOP`): the log's path is
    /// a symbolic link, which is not followed.
    pub const IS_SYMLINK: u32 = 6;
    /// [`Step::PidFileOpen`] detail (with `EPERM`): the pid file's directory can be written by
    /// a user other than root or this one (and is not sticky), who could replace the file with
    /// one naming any pid.
    pub const OPEN_DIR: u32 = 7;

    /// An error of `step` with `errno`.
    // Never inlined: the errno's conversion and the packing of the fields took some 40 bytes
    // at each of the library's many error sites, a call about 10.
    #[inline(never)]
    pub const fn new(step: Step, errno: Errno) -> Self {
        Error {
            step,
            errno: errno.raw_os_error() as u16,
            detail: 0,
        }
    }

    /// An error of `step` with `errno` and a step-specific number (see [`Step`]).
    #[inline(never)]
    pub const fn with_detail(step: Step, errno: Errno, detail: u32) -> Self {
        Error {
            step,
            errno: errno.raw_os_error() as u16,
            detail,
        }
    }

    /// An error that has no errno (0).
    pub(crate) const fn without_errno(step: Step, detail: u32) -> Self {
        Error {
            step,
            errno: 0,
            detail,
        }
    }

    /// The step that failed.
    pub const fn step(&self) -> Step {
        self.step
    }

    /// The errno, if the step failed in a system call.
    pub const fn errno(&self) -> Option<Errno> {
        if self.errno == 0 {
            None
        } else {
            Some(Errno::from_raw_os_error(self.errno as i32))
        }
    }

    /// The raw errno number, 0 if there is none.
    pub const fn raw_os_error(&self) -> i32 {
        self.errno as i32
    }

    /// A step-specific number: a thread count, a descriptor, or the pid holding the pid file.
    pub const fn detail(&self) -> u32 {
        self.detail
    }

    /// The wire form behind the record kind: step, errno and detail (both little endian).
    pub(crate) const fn to_bytes(self) -> [u8; 7] {
        let e = self.errno.to_le_bytes();
        let d = self.detail.to_le_bytes();
        [self.step as u8, e[0], e[1], d[0], d[1], d[2], d[3]]
    }

    /// The inverse of [`to_bytes`](Self::to_bytes); `None` for an unknown step.
    /// An errno above 4095 is not one (and [`Errno`] refuses it): `None` too.
    pub(crate) const fn from_bytes(b: [u8; 7]) -> Option<Self> {
        let errno = u16::from_le_bytes([b[1], b[2]]);
        match Step::from_u8(b[0]) {
            Some(step) if errno <= 4095 => Some(Error {
                step,
                errno,
                detail: u32::from_le_bytes([b[3], b[4], b[5], b[6]]),
            }),
            _ => None,
        }
    }

    /// The one-line message `NAME: step SUBJECT: cause`, for errors that have no
    /// [`Daemon`](crate::Daemon) to name their path (stop and status): `SUBJECT` is the file or
    /// value involved.
    pub fn message(&self, name: &str, subject: Option<&[u8]>) -> Message {
        let mut m = Message::new();
        m.push_str(name).push_str(": ");
        self.write_to(&mut m, subject);
        m
    }

    /// Writes `step[ detail]: cause` without any path; see [`Daemon::message`].
    ///
    /// [`Daemon::message`]: crate::Daemon::message
    pub(crate) fn write_to(&self, m: &mut Message, subject: Option<&[u8]>) {
        m.push_str(self.step.name());
        match (self.step, subject) {
            (_, Some(s)) => {
                m.push_str(" ");
                m.push_path(s, CAUSE_ROOM);
            }
            (Step::KeepFd | Step::Dup2, None) => {
                m.push_str(" ");
                m.push_u32(self.detail);
            }
            (Step::Supervise, None) => {
                let part = match self.detail {
                    Self::SUPERVISE_SIGNALS => " signalfd",
                    Self::SUPERVISE_SUBREAPER => " subreaper",
                    Self::SUPERVISE_PIPES => " pipe",
                    Self::SUPERVISE_GROUP => " process group",
                    Self::SUPERVISE_PARENT_DEATH => " parent-death signal",
                    _ => "",
                };
                m.push_str(part);
            }
            _ => {}
        }
        m.push_str(": ");
        self.write_cause(m);
    }

    /// The cause alone: the errno's text, or the step's own explanation.
    ///
    /// Every explanation is a text, maybe a number and a text after it: the arms only pick
    /// them, and one sequence of pushes writes them.
    fn write_cause(&self, m: &mut Message) {
        let detail = self.detail;
        let errno = self.errno;
        let (head, number, tail): (&str, Option<u32>, &str) = match self.step {
            Step::Threads => (
                "the process runs ",
                Some(detail),
                " threads; daemonize before starting any",
            ),
            Step::PidFileLock if errno == Errno::WOULDBLOCK.raw_os_error() as u16 => {
                if detail == 0 {
                    ("locked by another process", None, "")
                } else {
                    ("locked by running pid ", Some(detail), "")
                }
            }
            Step::PidFileOpen | Step::Status if detail == Self::NOT_REGULAR => {
                ("not a regular file", None, "")
            }
            Step::OpenStdout | Step::OpenStderr if detail == Self::NOT_REGULAR => {
                ("not a regular file, FIFO or character device", None, "")
            }
            Step::PidFileOpen | Step::OpenStdout | Step::OpenStderr | Step::Status
                if detail == Self::FOREIGN_LINK =>
            {
                (
                    "a symbolic link owned by another user is on the path: not followed",
                    None,
                    "",
                )
            }
            Step::OpenStdout | Step::OpenStderr if detail == Self::FOREIGN_OWNER => {
                ("owned by another user: not written", None, "")
            }
            Step::OpenStdout | Step::OpenStderr if detail == Self::HARD_LINKED => {
                ("has other hard links: not written", None, "")
            }
            Step::OpenStdout | Step::OpenStderr if detail == Self::IS_SYMLINK => {
                ("a symbolic link: not followed", None, "")
            }
            Step::PidFileOpen if detail == Self::NOT_OURS => (
                "another user's file, or one with other hard links: not reused",
                None,
                "",
            ),
            Step::Status if detail == Self::NOT_OURS => (
                "another user's file, or one with other hard links: not trusted",
                None,
                "",
            ),
            Step::PidFileOpen if detail == Self::OPEN_DIR => (
                "its directory can be written by another user, who could replace it",
                None,
                "",
            ),
            Step::NotReady => ("exited before it was ready", None, ""),
            Step::User if detail == Self::NO_SUCH_USER => ("no such user", None, ""),
            Step::User if detail == Self::NO_SUCH_GROUP => ("no such group", None, ""),
            Step::User if detail == Self::NEEDS_GROUP => {
                ("not in /etc/passwd: give its group as USER:GROUP", None, "")
            }
            Step::ReadyFd => (
                "exited or closed descriptor ",
                Some(detail),
                " before it was ready",
            ),
            Step::Stop | Step::Signal if detail == Self::NOT_RUNNING => {
                ("not running (no process holds its lock)", None, "")
            }
            Step::Signal if detail == Self::ORPHANED => (
                "the daemon is gone, but a process it started still holds its lock (--stop \
                 ends it)",
                None,
                "",
            ),
            Step::Stop | Step::Signal if detail == Self::UNIDENTIFIED => (
                "locked by a process other than the pid written in it",
                None,
                "",
            ),
            Step::Stop | Step::Signal
                if errno == Errno::PERM.raw_os_error() as u16 && detail != 0 =>
            {
                (
                    "locked by pid ",
                    Some(detail),
                    ", which it cannot prove the start created: nothing signalled",
                )
            }
            Step::Stop if errno == Errno::BUSY.raw_os_error() as u16 => match detail {
                0 => ("still locked by a process it could not stop", None, ""),
                pid => ("still locked by pid ", Some(pid), ""),
            },
            Step::Stop if errno == Errno::TIMEDOUT.raw_os_error() as u16 => {
                ("pid ", Some(detail), " still runs after SIGKILL")
            }
            Step::Setuid if detail == Self::REGAINED_ROOT => {
                ("root could be regained after dropping privileges", None, "")
            }
            _ => match crate::strerror::strerror(errno) {
                Some(text) => {
                    m.push(text);
                    return;
                }
                None => ("error ", Some(u32::from(errno)), ""),
            },
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
        match e.errno() {
            Some(errno) => std::io::Error::from_raw_os_error(errno.raw_os_error()),
            None => std::io::Error::other(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_round_trip_and_keep_their_numbers() {
        for n in 0..=255_u8 {
            if let Some(step) = Step::from_u8(n) {
                assert_eq!(step as u8, n);
            }
        }
        assert_eq!(Step::from_u8(1), Some(Step::Threads));
        assert_eq!(Step::from_u8(13), Some(Step::Chdir));
        assert_eq!(Step::from_u8(21), Some(Step::Config));
        assert_eq!(Step::from_u8(26), Some(Step::Setuid));
        assert_eq!(Step::from_u8(32), Some(Step::Logger));
        assert_eq!(Step::from_u8(33), None);
        assert!(core::mem::size_of::<Error>() <= 8);
    }

    #[test]
    fn every_step_has_its_own_name() {
        let expect = [
            (Step::Threads, "thread check"),
            (Step::OpenDevNull, "open /dev/null"),
            (Step::PidFileLock, "pid file"),
            (Step::Fork2, "second fork"),
            (Step::CloseFds, "close_range"),
            (Step::ReadPipe, "read readiness channel"),
            (Step::Setuid, "setuid"),
            (Step::ReadyFd, "exec"),
            (Step::Logger, "logger"),
        ];
        for (step, name) in expect {
            assert_eq!(step.name(), name, "{step:?}");
        }
        // Every step `from_u8` knows (a new one belongs in its list too): each has its name.
        for n in 0..=255 {
            if let Some(step) = Step::from_u8(n) {
                let name = step.name();
                assert!(
                    !name.is_empty() && !name.contains('\0'),
                    "step {n}: {name:?}"
                );
            }
        }
        // And it is a `const fn`.
        const LOGGER: &str = Step::Logger.name();
        assert_eq!(LOGGER, "logger");
    }

    fn text(e: Error) -> std::string::String {
        std::format!("{e}")
    }

    #[test]
    fn messages() {
        assert_eq!(
            text(Error::new(Step::Chdir, Errno::NOENT)),
            "chdir: No such file or directory"
        );
        assert_eq!(
            text(Error::with_detail(Step::PidFileLock, Errno::WOULDBLOCK, 42)),
            "pid file: locked by running pid 42"
        );
        assert_eq!(
            text(Error::with_detail(Step::PidFileLock, Errno::WOULDBLOCK, 0)),
            "pid file: locked by another process"
        );
        assert_eq!(
            text(Error::with_detail(Step::Dup2, Errno::BADF, 1)),
            "dup2 1: Bad file descriptor"
        );
        assert_eq!(
            text(Error::without_errno(Step::NotReady, 0)),
            "daemon: exited before it was ready"
        );
        assert_eq!(
            text(Error::new(Step::Exec, Errno::from_raw_os_error(4000))),
            "exec: error 4000"
        );
        let refusals = [
            (
                Error::with_detail(Step::OpenStdout, Errno::LOOP, Error::FOREIGN_LINK),
                "open stdout: a symbolic link owned by another user is on the path: not followed",
            ),
            (
                Error::with_detail(Step::Status, Errno::LOOP, Error::FOREIGN_LINK),
                "status: a symbolic link owned by another user is on the path: not followed",
            ),
            (
                Error::with_detail(Step::OpenStderr, Errno::PERM, Error::FOREIGN_OWNER),
                "open stderr: owned by another user: not written",
            ),
            (
                Error::with_detail(Step::OpenStdout, Errno::PERM, Error::HARD_LINKED),
                "open stdout: has other hard links: not written",
            ),
            (
                Error::with_detail(Step::OpenStdout, Errno::LOOP, Error::IS_SYMLINK),
                "open stdout: a symbolic link: not followed",
            ),
            (
                Error::with_detail(Step::OpenStderr, Errno::INVAL, Error::NOT_REGULAR),
                "open stderr: not a regular file, FIFO or character device",
            ),
        ];
        for (e, expect) in refusals {
            assert_eq!(text(e), expect);
        }
    }
}
