//! [`Error`]: which step failed and why, in eight bytes that cross the readiness channel.

use core::fmt;
use rustix::io::Errno;
use rustix::process::Pid;

use crate::message::Message;

/// A step of the daemonization sequence, in the order the steps run.
///
/// The discriminants are part of the readiness wire format and never reused.
#[repr(u8)]
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// The process has more than one thread ([`Detail::Threads`]). Printed "thread check".
    Threads = 1,
    /// A descriptor of the keep-list is not open or is 0, 1 or 2 ([`Detail::Fd`]).
    KeepFd = 2,
    /// `open("/dev/null")`.
    OpenDevNull = 3,
    /// Opening the stdout log file.
    OpenStdout = 4,
    /// Opening the stderr log file.
    OpenStderr = 5,
    /// Opening the pid file. Printed "pid file".
    PidFileOpen = 6,
    /// Locking the pid file; with `EWOULDBLOCK` another process holds it and the detail is
    /// that process ([`Detail::Pid`]): the pid written in the file if it holds the lock, else
    /// one found holding it in `/proc` ([`Detail::None`] if none could be found). Printed
    /// "pid file".
    PidFileLock = 7,
    /// `socketpair` for the readiness channel.
    Socketpair = 8,
    /// The first `fork`.
    Fork = 9,
    /// `setsid` in the intermediate process.
    Setsid = 10,
    /// The second `fork`, in the intermediate process.
    SecondFork = 11,
    /// Clearing the signal mask.
    Sigprocmask = 12,
    /// `chdir`.
    Chdir = 13,
    /// `dup2` onto a standard descriptor; the detail is the target ([`Detail::Fd`]: 0, 1 or 2).
    Dup2 = 14,
    /// Closing inherited descriptors (`close_range` and its fallbacks all failed).
    CloseRange = 15,
    /// Writing the daemon's pid into the pid file.
    PidFileWrite = 16,
    /// `execve` of the program.
    Exec = 17,
    /// The daemon exited, or closed the readiness channel, without reporting ready or an error.
    /// Printed "daemon" (the message reads "daemon: exited before it was ready").
    NotReady = 18,
    /// The program's own initialization failed ([`Ready::fail`](crate::Ready::fail)).
    Init = 19,
    /// Reading the readiness channel in the original process.
    ReadChannel = 20,
    /// Invalid configuration (for example an `exec` argument vector that is not
    /// null-terminated).
    Config = 21,
    /// Looking up `USER[:GROUP]` in `/etc/passwd` and `/etc/group`; the detail is
    /// [`Detail::NoSuchUser`], [`Detail::NoSuchGroup`] or [`Detail::NeedsGroup`] when a name is
    /// missing (errno `ENOENT`), or [`Detail::None`] when a file could not be read.
    User = 22,
    /// `chroot`.
    Chroot = 23,
    /// `setgroups`: the supplementary groups.
    Setgroups = 24,
    /// `setgid`.
    Setgid = 25,
    /// `setuid`; with the detail [`Detail::RegainedRoot`], the process could become root
    /// again after dropping privileges.
    Setuid = 26,
    // 27 to 29 were status, signal and stop, whose failures are now
    // `control::Error`s: never reused.
    /// The program closed its [`ready_fd`](crate::Daemon::ready_fd) (or exited) before it
    /// wrote a newline to it ([`Detail::Fd`]). Printed "exec" with the program's path, as the
    /// program's own failure.
    ReadyFd = 30,
    /// Setting up the respawn supervisor or a run of the program under it: which part is the
    /// detail ([`Detail::Signalfd`], [`Detail::Subreaper`], [`Detail::Pipes`],
    /// [`Detail::ProcessGroup`], [`Detail::ParentDeath`]).
    Respawn = 31,
    /// Starting the process that sends the program's output to the system log, or to the
    /// log files that rotate themselves.
    Logger = 32,
    // Least privilege and resources for the program (crate::limits): 33 to 36.
    /// Checking or setting the program's capabilities: the detail names the capability
    /// ([`Detail::Capability`]) when one is at stake. Without an errno: the launcher lacks
    /// it (checked before any fork).
    Capabilities = 33,
    /// `prctl` of the no-new-privileges flag ([`Detail::NoNewPrivs`]) or of the secure bits
    /// ([`Detail::Securebits`]).
    Prctl = 34,
    /// `setrlimit` of the resource in the detail ([`Detail::Resource`]). Printed "rlimit".
    Rlimit = 35,
    /// The program's priorities: the nice value, the I/O priority, the scheduling policy
    /// or the OOM score adjustment (the detail says which: [`Detail::Nice`],
    /// [`Detail::Ionice`], [`Detail::Sched`], [`Detail::OomScoreAdj`]).
    Priority = 36,
    // Log rotation (`Daemon::log_rotation`, `Daemon::log_timestamps`):
    /// The log rotation's settings do not fit the start: the detail says why
    /// ([`Detail::NoLogFile`], [`Detail::BelowMinimum`], [`Detail::WithSystemLog`]).
    LogRotation = 37,
    /// Opening the directory of a log file that rotates (before any fork): [`Detail::Fd`]
    /// says which output's, 1 or 2.
    LogDir = 38,
    // notify-await: the program's own sd_notify readiness (`Daemon::notify_await`).
    /// Creating the notification socket of [`notify_await`](crate::Daemon::notify_await)
    /// (`socket`, `SO_PASSCRED`, `bind`). Printed "notify socket".
    NotifySocket = 39,
    /// The program did not send `READY=1` on the notification socket: it exited first
    /// ([`Detail::ExitedBeforeReady`]; the errno is its `ERRNO=`, if it sent one) or the time
    /// ran out ([`Detail::Timeout`]). Printed "notify-await" with the program's path.
    NotifyAwait = 40,
    // 41 is unused.
    // Readiness checks (`ready_when`):
    /// A [`Check`](crate::Check) of [`ready_when`](crate::Daemon::ready_when) did not hold
    /// within its [`timeout`](crate::ReadyWhen::timeout); the errno is its last
    /// try's, the detail the check ([`Detail::Check`]). The program is killed. Printed
    /// "ready-when" with the check.
    ReadyWhen = 42,
    /// The program exited before a [`Check`](crate::Check) held ([`Detail::Check`]). Printed
    /// "ready-when" with the check.
    ExitedBeforeReady = 43,
}

impl Step {
    /// The step with this wire number.
    pub const fn from_u8(n: u8) -> Option<Step> {
        use Step::*;
        const ALL: [Option<Step>; 43] = [
            Some(Threads),
            Some(KeepFd),
            Some(OpenDevNull),
            Some(OpenStdout),
            Some(OpenStderr),
            Some(PidFileOpen),
            Some(PidFileLock),
            Some(Socketpair),
            Some(Fork),
            Some(Setsid),
            Some(SecondFork),
            Some(Sigprocmask),
            Some(Chdir),
            Some(Dup2),
            Some(CloseRange),
            Some(PidFileWrite),
            Some(Exec),
            Some(NotReady),
            Some(Init),
            Some(ReadChannel),
            Some(Config),
            Some(User),
            Some(Chroot),
            Some(Setgroups),
            Some(Setgid),
            Some(Setuid),
            None,
            None,
            None,
            Some(ReadyFd),
            Some(Respawn),
            Some(Logger),
            Some(Capabilities),
            Some(Prctl),
            Some(Rlimit),
            Some(Priority),
            Some(LogRotation),
            Some(LogDir),
            Some(NotifySocket),
            Some(NotifyAwait),
            None,
            Some(ReadyWhen),
            Some(ExitedBeforeReady),
        ];
        let Some(i) = n.checked_sub(1) else {
            return None;
        };
        match ALL.split_at_checked(i as usize) {
            Some((_, [step, ..])) => *step,
            _ => None,
        }
    }

    /// A short lower-case name of the step, as used in messages.
    #[allow(unsafe_code)] // a UTF-8 view of ASCII bytes: see the SAFETY comment
    pub const fn name(self) -> &'static str {
        // One packed string and a table of where each name ends, in discriminant order:
        // a fraction of the size of one (pointer, length) pair per step, in every binary
        // that prints an error.
        let i = self as usize - 1;
        let Some((before, [end, ..])) = NAME_ENDS.split_at_checked(i) else {
            return "";
        };
        let end = *end as usize;
        let start = match before {
            [.., previous] => *previous as usize + 1,
            [] => 0,
        };
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
    "socketpair\0",             // 8 Socketpair
    "fork\0",                   // 9 Fork
    "setsid\0",                 // 10 Setsid
    "second fork\0",            // 11 SecondFork
    "sigprocmask\0",            // 12 Sigprocmask
    "chdir\0",                  // 13 Chdir
    "dup2\0",                   // 14 Dup2
    "close_range\0",            // 15 CloseRange
    "write pid file\0",         // 16 PidFileWrite
    "exec\0",                   // 17 Exec
    "daemon\0",                 // 18 NotReady
    "initialization\0",         // 19 Init
    "read readiness channel\0", // 20 ReadChannel
    "configuration\0",          // 21 Config
    "user\0",                   // 22 User
    "chroot\0",                 // 23 Chroot
    "setgroups\0",              // 24 Setgroups
    "setgid\0",                 // 25 Setgid
    "setuid\0",                 // 26 Setuid
    "\0",                       // 27 (unused)
    "\0",                       // 28 (unused)
    "\0",                       // 29 (unused)
    "exec\0",                   // 30 ReadyFd
    "respawn\0",                // 31 Respawn
    "logger\0",                 // 32 Logger
    "capabilities\0",           // 33 Capabilities
    "prctl\0",                  // 34 Prctl
    "rlimit\0",                 // 35 Rlimit
    "priority\0",               // 36 Priority
    "log rotation\0",           // 37 LogRotation
    "log directory\0",          // 38 LogDir
    "notify socket\0",          // 39 NotifySocket
    "notify-await\0",           // 40 NotifyAwait
    "\0",                       // 41 (unused)
    "ready-when\0",             // 42 ReadyWhen
    "ready-when\0",             // 43 ExitedBeforeReady
);

/// The position of each name's NUL in [`NAMES`], computed at compile time.
#[allow(clippy::indexing_slicing)] // evaluated by the compiler: out of bounds fails the build
const NAME_ENDS: [u16; 43] = {
    let mut ends = [0; 43];
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

/// What an [`Error`] says beyond its step and errno: a number the message names (a
/// descriptor, a pid, a count), or the reason a step refused, where the errno alone would be
/// ambiguous.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detail {
    /// Nothing more.
    None,
    /// [`Step::Threads`]: how many threads the process runs.
    Threads(u32),
    /// [`Step::KeepFd`], [`Step::Dup2`] (the target: 0, 1 or 2), [`Step::ReadyFd`] and
    /// [`Step::Config`] (a readiness descriptor that cannot be used: below 3, also kept, or
    /// without an exec or with respawn): the descriptor.
    Fd(i32),
    /// [`Step::PidFileLock`] with `EWOULDBLOCK`: the process holding the lock.
    Pid(Pid),
    /// [`Step::User`]: the user is in neither `/etc/passwd` nor a number.
    NoSuchUser,
    /// [`Step::User`]: the group is in neither `/etc/group` nor a number.
    NoSuchGroup,
    /// [`Step::User`]: a numeric user not in `/etc/passwd` was given without a group.
    NeedsGroup,
    /// [`Step::Setuid`]: `setuid(0)` succeeded after the drop.
    RegainedRoot,
    /// [`Step::PidFileOpen`]: the path is not a regular file; [`Step::OpenStdout`],
    /// [`Step::OpenStderr`]: nor a FIFO or character device.
    NotRegular,
    /// [`Step::PidFileOpen`]: an existing pid file is another user's, or has other hard links;
    /// it is not reused (it could be a planted link to a file not ours to write).
    NotOurs,
    /// [`Step::PidFileOpen`], [`Step::OpenStdout`], [`Step::OpenStderr`] (with `ELOOP`): a
    /// directory on the path is a symbolic link that neither root nor this user owns; it is
    /// not followed (it could lead root's write anywhere).
    ForeignLink,
    /// [`Step::OpenStdout`], [`Step::OpenStderr`] (with `EPERM`): an existing log file is
    /// owned by a user other than root, this one or the daemon's.
    ForeignOwner,
    /// [`Step::OpenStdout`], [`Step::OpenStderr`] (with `EPERM`): an existing log file has
    /// other hard links (it could be a planted link to a file not ours to write).
    HardLinked,
    /// [`Step::OpenStdout`], [`Step::OpenStderr`] (with `ELOOP`): the log's path is a symbolic
    /// link, which is not followed.
    IsSymlink,
    /// [`Step::PidFileOpen`] (with `EPERM`): the pid file's directory can be written by a user
    /// other than root or this one (and is not sticky), who could replace the file with one
    /// naming any pid.
    OpenDir,
    /// [`Step::Respawn`]: blocking the handled signals or opening the signalfd.
    Signalfd,
    /// [`Step::Respawn`]: becoming a child subreaper.
    Subreaper,
    /// [`Step::Respawn`]: a capture or status pipe.
    Pipes,
    /// [`Step::Respawn`]: the program's own process group (`setpgid`).
    ProcessGroup,
    /// [`Step::Respawn`]: the program's parent-death signal.
    ParentDeath,
    // Least privilege and resources for the program (crate::limits): tags 32 to 39.
    /// [`Step::Capabilities`]: the capability's number (see
    /// [`capability_name`](crate::limits::capability_name)).
    Capability(u32),
    /// [`Step::Rlimit`]: the resource's `RLIMIT_*` number.
    Resource(u32),
    /// [`Step::Prctl`]: `PR_SET_NO_NEW_PRIVS`.
    NoNewPrivs,
    /// [`Step::Prctl`]: `PR_SET_SECUREBITS`.
    Securebits,
    /// [`Step::Priority`]: the nice value.
    Nice,
    /// [`Step::Priority`]: the I/O priority (`ioprio_set`).
    Ionice,
    /// [`Step::Priority`]: the scheduling policy (`sched_setscheduler`).
    Sched,
    /// [`Step::Priority`]: `/proc/self/oom_score_adj`.
    OomScoreAdj,
    // notify-await (wire tags 44 to 51).
    /// [`Step::NotifyAwait`]: no `READY=1` came within this many seconds.
    Timeout(u32),
    /// [`Step::NotifyAwait`]: the program exited before it sent `READY=1`.
    ExitedBeforeReady,
    // Log rotation:
    /// [`Step::LogRotation`] (with `EINVAL`): rotation or time stamps without a log file to
    /// apply them to (stdout and stderr are not [`Output::Append`](crate::Output::Append)).
    NoLogFile,
    /// [`Step::LogRotation`] (with `EINVAL`): a size below 4096 bytes.
    BelowMinimum,
    /// [`Step::OpenStdout`], [`Step::OpenStderr`] (with `EINVAL`): the log is a FIFO or a
    /// device, which has no size to rotate at.
    NotRotatable,
    /// [`Step::LogRotation`] (with `EINVAL`): the output goes to the system log
    /// ([`log_output`](crate::Daemon::log_output)), not to files.
    WithSystemLog,
    /// [`Step::ReadyWhen`], [`Step::ExitedBeforeReady`]: which check of
    /// [`ready_when`](crate::Daemon::ready_when) (its index).
    Check(u32),
}

/// Wire tags of the variants with a value; those without one have 16 and up (never reused).
const THREADS: u8 = 1;
const FD: u8 = 2;
const PID: u8 = 3;
const CAPABILITY: u8 = 32;
const RESOURCE: u8 = 33;
const TIMEOUT: u8 = 44;
/// [`Detail::Check`]'s tag (from the readiness checks' range, 52 to 59).
const CHECK: u8 = 52;

impl Detail {
    /// The wire form: a tag and a value.
    const fn pack(self) -> (u8, u32) {
        match self {
            Detail::None => (0, 0),
            Detail::Threads(n) => (THREADS, n),
            Detail::Fd(fd) => (FD, fd as u32),
            Detail::Pid(pid) => (PID, pid.as_raw_nonzero().get() as u32),
            Detail::NoSuchUser => (16, 0),
            Detail::NoSuchGroup => (17, 0),
            Detail::NeedsGroup => (18, 0),
            Detail::RegainedRoot => (19, 0),
            Detail::NotRegular => (20, 0),
            Detail::NotOurs => (21, 0),
            Detail::ForeignLink => (22, 0),
            Detail::ForeignOwner => (23, 0),
            Detail::HardLinked => (24, 0),
            Detail::IsSymlink => (25, 0),
            Detail::OpenDir => (26, 0),
            Detail::Signalfd => (27, 0),
            Detail::Subreaper => (28, 0),
            Detail::Pipes => (29, 0),
            Detail::ProcessGroup => (30, 0),
            Detail::ParentDeath => (31, 0),
            Detail::Capability(n) => (CAPABILITY, n),
            Detail::Resource(n) => (RESOURCE, n),
            Detail::NoNewPrivs => (34, 0),
            Detail::Securebits => (35, 0),
            Detail::Nice => (36, 0),
            Detail::Ionice => (37, 0),
            Detail::Sched => (38, 0),
            Detail::OomScoreAdj => (39, 0),
            Detail::Timeout(secs) => (TIMEOUT, secs),
            Detail::ExitedBeforeReady => (45, 0),
            Detail::NoLogFile => (40, 0),
            Detail::BelowMinimum => (41, 0),
            Detail::NotRotatable => (42, 0),
            Detail::WithSystemLog => (43, 0),
            Detail::Check(i) => (CHECK, i),
        }
    }

    /// The inverse of [`pack`](Self::pack): `None` for an unknown tag or a value `pack`
    /// never writes with it (each detail has exactly one wire form).
    const fn unpack(tag: u8, value: u32) -> Option<Detail> {
        Some(match tag {
            THREADS => Detail::Threads(value),
            FD => Detail::Fd(value as i32),
            PID => match Self::pid(value) {
                Detail::None => return None,
                pid => pid,
            },
            CAPABILITY => Detail::Capability(value),
            RESOURCE => Detail::Resource(value),
            TIMEOUT => Detail::Timeout(value),
            CHECK => Detail::Check(value),
            _ if value != 0 => return None,
            0 => Detail::None,
            16 => Detail::NoSuchUser,
            17 => Detail::NoSuchGroup,
            18 => Detail::NeedsGroup,
            19 => Detail::RegainedRoot,
            20 => Detail::NotRegular,
            21 => Detail::NotOurs,
            22 => Detail::ForeignLink,
            23 => Detail::ForeignOwner,
            24 => Detail::HardLinked,
            25 => Detail::IsSymlink,
            26 => Detail::OpenDir,
            27 => Detail::Signalfd,
            28 => Detail::Subreaper,
            29 => Detail::Pipes,
            30 => Detail::ProcessGroup,
            31 => Detail::ParentDeath,
            34 => Detail::NoNewPrivs,
            35 => Detail::Securebits,
            36 => Detail::Nice,
            37 => Detail::Ionice,
            38 => Detail::Sched,
            39 => Detail::OomScoreAdj,
            45 => Detail::ExitedBeforeReady,
            40 => Detail::NoLogFile,
            41 => Detail::BelowMinimum,
            42 => Detail::NotRotatable,
            43 => Detail::WithSystemLog,
            _ => return None,
        })
    }

    /// `Pid(pid)`, or `None` for 0 (no process could be named).
    pub(crate) const fn pid(pid: u32) -> Detail {
        if pid > i32::MAX as u32 {
            return Detail::None;
        }
        match Pid::from_raw(pid as i32) {
            Some(pid) => Detail::Pid(pid),
            None => Detail::None,
        }
    }

    /// The pid, if this is one.
    pub const fn as_pid(self) -> Option<Pid> {
        match self {
            Detail::Pid(pid) => Some(pid),
            _ => None,
        }
    }
}

/// A failed step and its errno: small (eight bytes), `Copy`, and free of allocation.
///
/// It is what every entry point returns and what the daemon sends back to the original process
/// through the readiness channel. [`Display`](fmt::Display) prints `step: strerror`; for the full
/// line with the path involved use [`Daemon::message`](crate::Daemon::message).
///
/// ```
/// use rawdaemon::{Daemon, Errno, Error, Runtime, Step};
///
/// let error = Error::new(Step::Chdir, Errno::NOENT);
/// assert_eq!(error.to_string(), "chdir: No such file or directory");
/// let daemon = Daemon::new(Runtime::Libc).chdir(c"/srv/agent");
/// assert_eq!(
///     daemon.message(&error).as_str(),
///     "rawdaemon: chdir /srv/agent: No such file or directory"
/// );
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Error {
    step: Step,
    /// [`Detail`]'s wire tag and value, kept packed so that the error stays eight bytes.
    tag: u8,
    errno: u16,
    value: u32,
}

/// The size of an [`Error`]'s wire form.
pub(crate) const WIRE_LEN: usize = 8;

/// Room kept for the cause after a long path in a message: the longest explanation and
/// `strerror` text, with a pid, fit in it.
pub(crate) const CAUSE_ROOM: usize = 256;

impl Error {
    /// An error of `step` with `errno`.
    // Never inlined: the errno's conversion and the packing of the fields took some 40 bytes
    // at each of the library's many error sites, a call about 10.
    #[inline(never)]
    pub const fn new(step: Step, errno: Errno) -> Self {
        Self::packed(step, errno.raw_os_error() as u16, Detail::None)
    }

    /// An error of `step` with `errno` and what the step tells about it (see [`Detail`]).
    #[inline(never)]
    pub const fn with_detail(step: Step, errno: Errno, detail: Detail) -> Self {
        Self::packed(step, errno.raw_os_error() as u16, detail)
    }

    /// An error that has no errno (0).
    pub(crate) const fn without_errno(step: Step, detail: Detail) -> Self {
        Self::packed(step, 0, detail)
    }

    const fn packed(step: Step, errno: u16, detail: Detail) -> Self {
        let (tag, value) = detail.pack();
        Error {
            step,
            tag,
            errno,
            value,
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

    /// What the step tells beyond its errno: a descriptor, a pid, a count or a reason.
    pub const fn detail(&self) -> Detail {
        match Detail::unpack(self.tag, self.value) {
            Some(detail) => detail,
            None => Detail::None,
        }
    }

    /// The wire form behind the record kind: step, errno, the detail's tag and value
    /// (numbers little endian).
    pub(crate) const fn to_bytes(self) -> [u8; WIRE_LEN] {
        let e = self.errno.to_le_bytes();
        let v = self.value.to_le_bytes();
        [
            self.step as u8,
            e[0],
            e[1],
            self.tag,
            v[0],
            v[1],
            v[2],
            v[3],
        ]
    }

    /// The inverse of [`to_bytes`](Self::to_bytes); `None` for an unknown step or detail.
    /// An errno above 4095 is not one (and [`Errno`] refuses it): `None` too.
    pub(crate) const fn from_bytes(b: [u8; WIRE_LEN]) -> Option<Self> {
        let [step, e0, e1, tag, v0, v1, v2, v3] = b;
        let errno = u16::from_le_bytes([e0, e1]);
        let value = u32::from_le_bytes([v0, v1, v2, v3]);
        match (Step::from_u8(step), Detail::unpack(tag, value)) {
            (Some(step), Some(detail)) if errno <= 4095 => Some(Self::packed(step, errno, detail)),
            _ => None,
        }
    }

    /// The one-line message `NAME: step SUBJECT: cause`, where no [`Daemon`](crate::Daemon)
    /// names the path ([`Daemon::message`](crate::Daemon::message) does where one does):
    /// `SUBJECT` is the file or value involved.
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
        match (self.detail(), subject) {
            (_, Some(s)) => {
                m.push_str(" ");
                m.push_path(s, CAUSE_ROOM);
            }
            (Detail::Fd(fd), None) if matches!(self.step, Step::KeepFd | Step::Dup2) => {
                m.push_str(" ");
                m.push_u32(fd as u32);
            }
            (detail, None) if self.step == Step::Respawn => {
                let part = match detail {
                    Detail::Signalfd => " signalfd",
                    Detail::Subreaper => " subreaper",
                    Detail::Pipes => " pipe",
                    Detail::ProcessGroup => " process group",
                    Detail::ParentDeath => " parent-death signal",
                    _ => "",
                };
                m.push_str(part);
            }
            (detail, None)
                if matches!(
                    self.step,
                    Step::Capabilities | Step::Prctl | Step::Rlimit | Step::Priority
                ) =>
            {
                crate::limits::write_part(m, detail);
            }
            _ => {}
        }
        m.push_str(": ");
        self.write_cause(m);
    }

    /// The cause alone: the step's own explanation, or the errno's text.
    ///
    /// Every explanation is a text, maybe a number and a text after it: the arms only pick
    /// them, and one sequence of pushes writes them.
    fn write_cause(&self, m: &mut Message) {
        let log = matches!(self.step, Step::OpenStdout | Step::OpenStderr);
        let (head, number, tail): (&str, Option<u32>, &str) = match self.detail() {
            Detail::Threads(n) => (
                "the process runs ",
                Some(n),
                " threads; daemonize before starting any",
            ),
            Detail::Pid(pid) if self.step == Step::PidFileLock => (
                "locked by running pid ",
                Some(pid.as_raw_nonzero().get() as u32),
                "",
            ),
            Detail::None
                if self.step == Step::PidFileLock
                    && self.errno == Errno::WOULDBLOCK.raw_os_error() as u16 =>
            {
                ("locked by another process", None, "")
            }
            Detail::NotRegular if log => ("not a regular file, FIFO or character device", None, ""),
            Detail::NotRegular => ("not a regular file", None, ""),
            Detail::ForeignLink => (
                "a symbolic link owned by another user is on the path: not followed",
                None,
                "",
            ),
            Detail::ForeignOwner => ("owned by another user: not written", None, ""),
            Detail::HardLinked => ("has other hard links: not written", None, ""),
            Detail::IsSymlink => ("a symbolic link: not followed", None, ""),
            Detail::NotOurs => (
                "another user's file, or one with other hard links: not reused",
                None,
                "",
            ),
            Detail::OpenDir => (
                "its directory can be written by another user, who could replace it",
                None,
                "",
            ),
            _ if self.step == Step::NotReady => ("exited before it was ready", None, ""),
            Detail::NoSuchUser => ("no such user", None, ""),
            Detail::NoSuchGroup => ("no such group", None, ""),
            Detail::NeedsGroup => ("not in /etc/passwd: give its group as USER:GROUP", None, ""),
            Detail::Fd(fd) if self.step == Step::ReadyFd => (
                "exited or closed descriptor ",
                Some(fd as u32),
                " before it was ready",
            ),
            Detail::RegainedRoot => ("root could be regained after dropping privileges", None, ""),
            Detail::Capability(_) if self.errno == 0 => (
                "the launcher does not have it (in its permitted and bounding sets)",
                None,
                "",
            ),
            Detail::Timeout(secs) => ("no READY=1 within ", Some(secs), " s"),
            Detail::ExitedBeforeReady if self.errno == 0 => ("exited before READY=1", None, ""),
            Detail::NoLogFile => (
                "needs a log file (stdout or stderr appended to one)",
                None,
                "",
            ),
            Detail::BelowMinimum => ("the size must be 4096 bytes or more", None, ""),
            Detail::NotRotatable => ("a FIFO or device cannot be rotated", None, ""),
            Detail::WithSystemLog => ("the output goes to the system log, not to files", None, ""),
            _ if self.step == Step::ExitedBeforeReady => {
                ("the program exited before this check held", None, "")
            }
            detail => {
                if self.step == Step::ReadyWhen {
                    m.push_str("not ready before the timeout (--notify-timeout); last try: ");
                }
                // The program's ERRNO= is said as such.
                let reported = detail == Detail::ExitedBeforeReady;
                if reported {
                    m.push_str("exited before READY=1 (ERRNO=")
                        .push_u32(u32::from(self.errno))
                        .push_str(": ");
                }
                m.push_errno_number(self.errno);
                if reported {
                    m.push_str(")");
                }
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
        assert_eq!(Step::from_u8(36), Some(Step::Priority));
        assert_eq!(Step::from_u8(37), Some(Step::LogRotation));
        assert_eq!(Step::from_u8(38), Some(Step::LogDir));
        assert_eq!(Step::from_u8(39), Some(Step::NotifySocket));
        assert_eq!(Step::from_u8(40), Some(Step::NotifyAwait));
        assert_eq!(Step::from_u8(41), None);
        assert_eq!(Step::from_u8(42), Some(Step::ReadyWhen));
        assert_eq!(Step::from_u8(43), Some(Step::ExitedBeforeReady));
        assert_eq!(Step::from_u8(44), None);
        assert!(core::mem::size_of::<Error>() <= 8);
        assert_eq!(
            Step::from_u8(27),
            None,
            "status, signal and stop are control errors"
        );
    }

    #[test]
    fn every_step_has_its_own_name() {
        let expect = [
            (Step::Threads, "thread check"),
            (Step::OpenDevNull, "open /dev/null"),
            (Step::PidFileLock, "pid file"),
            (Step::SecondFork, "second fork"),
            (Step::CloseRange, "close_range"),
            (Step::ReadChannel, "read readiness channel"),
            (Step::Setuid, "setuid"),
            (Step::ReadyFd, "exec"),
            (Step::Logger, "logger"),
            (Step::NotifySocket, "notify socket"),
            (Step::NotifyAwait, "notify-await"),
            (Step::LogRotation, "log rotation"),
            (Step::LogDir, "log directory"),
            (Step::ReadyWhen, "ready-when"),
            (Step::ExitedBeforeReady, "ready-when"),
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
            text(Error::with_detail(
                Step::PidFileLock,
                Errno::WOULDBLOCK,
                Detail::pid(42)
            )),
            "pid file: locked by running pid 42"
        );
        assert_eq!(
            text(Error::with_detail(
                Step::PidFileLock,
                Errno::WOULDBLOCK,
                Detail::None
            )),
            "pid file: locked by another process"
        );
        assert_eq!(
            text(Error::with_detail(Step::Dup2, Errno::BADF, Detail::Fd(1))),
            "dup2 1: Bad file descriptor"
        );
        assert_eq!(
            text(Error::without_errno(Step::NotReady, Detail::None)),
            "daemon: exited before it was ready"
        );
        assert_eq!(
            text(Error::new(Step::Exec, Errno::from_raw_os_error(4000))),
            "exec: error 4000"
        );
        // A decoded record may carry errno 0 (no sender of ours writes it): no panic.
        let zero = Error::from_bytes([Step::Fork as u8, 0, 0, 0, 0, 0, 0, 0]).unwrap();
        assert_eq!(text(zero), "fork: error 0");
        let refusals = [
            (
                Error::with_detail(Step::OpenStdout, Errno::LOOP, Detail::ForeignLink),
                "open stdout: a symbolic link owned by another user is on the path: not followed",
            ),
            (
                Error::with_detail(Step::OpenStderr, Errno::PERM, Detail::ForeignOwner),
                "open stderr: owned by another user: not written",
            ),
            (
                Error::with_detail(Step::OpenStdout, Errno::PERM, Detail::HardLinked),
                "open stdout: has other hard links: not written",
            ),
            (
                Error::with_detail(Step::OpenStdout, Errno::LOOP, Detail::IsSymlink),
                "open stdout: a symbolic link: not followed",
            ),
            (
                Error::with_detail(Step::OpenStderr, Errno::INVAL, Detail::NotRegular),
                "open stderr: not a regular file, FIFO or character device",
            ),
            (
                Error::with_detail(Step::OpenStdout, Errno::INVAL, Detail::NotRotatable),
                "open stdout: a FIFO or device cannot be rotated",
            ),
            (
                Error::with_detail(Step::LogRotation, Errno::INVAL, Detail::BelowMinimum),
                "log rotation: the size must be 4096 bytes or more",
            ),
            (
                Error::with_detail(Step::LogDir, Errno::MFILE, Detail::Fd(2)),
                "log directory: Too many open files",
            ),
        ];
        let awaited = [
            (
                Error::without_errno(Step::NotifyAwait, Detail::Timeout(60)),
                "notify-await: no READY=1 within 60 s",
            ),
            (
                Error::without_errno(Step::NotifyAwait, Detail::ExitedBeforeReady),
                "notify-await: exited before READY=1",
            ),
            (
                Error::with_detail(
                    Step::NotifyAwait,
                    Errno::ADDRINUSE,
                    Detail::ExitedBeforeReady,
                ),
                "notify-await: exited before READY=1 (ERRNO=98: Address already in use)",
            ),
        ];
        for (e, expect) in awaited {
            assert_eq!(text(e), expect);
            assert_eq!(Error::from_bytes(e.to_bytes()), Some(e));
        }
        for (e, expect) in refusals {
            assert_eq!(text(e), expect);
        }
    }
}
