//! Status, stop and signal of a running daemon, found by its pid file's **lock**, not by the
//! number written in it: a pid file left behind by a crash names a pid that may since belong
//! to an unrelated process, and that process must never be reported running nor signalled.
//!
//! The holder is proven from `/proc`: the pid written in the file must have the locked file
//! open with the exclusive `flock` on that very descriptor (its `fdinfo` lists the lock). It
//! is signalled through a pidfd opened *before* that proof, so a pid recycled in between can
//! never be hit. A stop ends the daemon's whole service (see `service.rs`): what it started
//! goes with it, and nothing else is signalled.

use core::ffi::CStr;
use core::time::Duration;

use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{CWD, FileType, FlockOperation, Mode, OFlags, Stat};
use rustix::io::Errno;
use rustix::process::PidfdFlags;

use crate::lines::{Fields, find_line};
use crate::service::{self, DAEMON_MARK, Service};

mod error;
/// The `STATUS=` text a [`notify_await`](crate::Daemon::notify_await) start keeps beside its
/// pid file, and its longest length.
pub use crate::status_file::{TEXT_MAX as STATUS_TEXT_MAX, read as kept_status};
pub use error::{Command, Detail, Error};
/// The pid and signal types [`signal`] and [`stop`] take and return.
pub use rustix::process::{Pid, Signal};

/// What a pid file says about its daemon, as the LSB `status` action reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Status {
    /// The process with this pid holds the pid file's lock.
    Running(Pid),
    /// The pid file exists but no process holds its lock: the daemon died without removing
    /// it. The pid written in it, if any; it is not signalled, whatever runs there now.
    Dead(Option<Pid>),
    /// The daemon (the pid written in the file) is gone, but a process it started still
    /// holds the lock a daemon-mode start marked as its own: this one. [`stop`] ends it.
    Orphaned(Pid),
    /// There is no pid file.
    NotRunning,
    /// The lock is held, but not provably by the pid written in the file: by this process
    /// (`None` if none could be found: another user's process whose descriptors this one may
    /// not inspect), a child the daemon left behind that foreground mode did not mark, a start in
    /// progress, or a process that is not a daemon started this way.
    Unknown(Option<Pid>),
}

impl Status {
    /// The exit status of an LSB init script's `status` action: 0 running, 1 dead with its pid
    /// file left behind (also when processes the daemon started still hold its lock), 3 not
    /// running, 4 unknown.
    ///
    /// # References
    ///  - [LSB init script actions](https://refspecs.linuxfoundation.org/LSB_5.0.0/LSB-Core-generic/LSB-Core-generic/iniscrptact.html)
    pub const fn lsb_code(self) -> i32 {
        match self {
            Status::Running(_) => 0,
            Status::Dead(_) | Status::Orphaned(_) => 1,
            Status::NotRunning => 3,
            Status::Unknown(_) => 4,
        }
    }
}

/// How [`stop`] ended: every process of the daemon is gone and the pid file is removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stopped {
    /// The daemon (or, for [`Status::Orphaned`], the process found holding its lock).
    pub pid: Pid,
    /// A process that outlived the timeout; it and every other one left were sent `SIGKILL`.
    pub killed: Option<Pid>,
}

/// How long [`stop`] waits for the processes to go after `SIGKILL`.
const KILL_WAIT: Duration = Duration::from_secs(5);

/// Which process holds the lock of the pid file at `path`.
///
/// # Errors
///
/// [`Command::Status`] when the pid file cannot be opened or read (other than not existing), is
/// not a regular file, or `/proc` cannot be read.
pub fn status(path: &CStr) -> Result<Status, Error> {
    Ok(match find(path)? {
        None => Status::NotRunning,
        Some(found) => match found.holder {
            Holder::Pid(pid, ..) => Status::Running(pid),
            Holder::Orphan(pid, _) => Status::Orphaned(pid),
            Holder::Nobody => {
                Status::Dead(i32::try_from(found.written).ok().and_then(Pid::from_raw))
            }
            Holder::Unknown(pid) => Status::Unknown(pid),
        },
    })
}

/// Sends `signal` to the daemon holding the pid file at `path`, through a pidfd, and returns
/// its pid at once.
///
/// # Errors
///
/// [`Command::Signal`] with [`Detail::NotRunning`] when no process holds the lock,
/// [`Detail::Orphaned`] when only processes the daemon left behind do; when the holder is not
/// the pid written in the file nor proven to be a process the start created, `EPERM` with
/// its pid (or [`Detail::Unidentified`] when none can be named), and nothing is signalled;
/// another errno when the signal cannot be sent; [`Command::Status`] as for [`status`].
///
/// # References
///  - [pidfd_send_signal(2)](https://man7.org/linux/man-pages/man2/pidfd_send_signal.2.html)
pub fn signal(path: &CStr, signal: Signal) -> Result<Pid, Error> {
    let gone = Error::with_detail(Command::Signal, Errno::SRCH, Detail::NotRunning);
    match find(path)?.ok_or(gone)?.holder {
        Holder::Pid(pid, pidfd, _) => send(&pidfd, signal).map(|()| pid),
        Holder::Nobody => Err(gone),
        Holder::Orphan(..) => Err(Error::with_detail(
            Command::Signal,
            Errno::SRCH,
            Detail::Orphaned,
        )),
        Holder::Unknown(pid) => Err(unproven(Command::Signal, pid)),
    }
}

/// Stops the daemon holding the pid file at `path` and every process it started: sends
/// `signal` to it and then to the rest of its service, each through a pidfd opened before
/// the process was found to belong, waits up to `timeout` for all of them to exit, then
/// sends `SIGKILL` to those left (the daemon last) and waits for them too; once all are gone
/// (and the lock with them), removes the pid file.
///
/// The service is every process that holds a descriptor of the open file description
/// carrying the pid file's lock (only the start's processes, or processes they handed it
/// to, can), the daemon's descendants while it runs, and, when the lock's descriptor carries
/// the mark of a start that made its own session (`O_NOATIME`, which a program cannot set on
/// a file it does not own), every process of the daemon's session. A foreground daemon's
/// session (its caller's) is never signalled.
///
/// # Errors
///
/// [`Command::Stop`] with [`Detail::NotRunning`] when no process holds the lock (nothing is
/// signalled or removed); when the holder is not the pid written in the file nor proven to be
/// a process the start created, `EPERM` with its pid (or [`Detail::Unidentified`] when none
/// can be named), and nothing is signalled; `ETIMEDOUT` with the pid of a process that
/// outlives `SIGKILL` ([`Detail::Outlived`]), and `EBUSY` with the pid of a process still
/// holding the lock at the end ([`Detail::None`] if none can be named);
/// [`Command::Signal`] when the signal cannot be sent (`EPERM`: another user's process);
/// [`Command::Status`] as for [`status`].
///
/// # References
///  - [pidfd_open(2)](https://man7.org/linux/man-pages/man2/pidfd_open.2.html)
///  - [pidfd_send_signal(2)](https://man7.org/linux/man-pages/man2/pidfd_send_signal.2.html)
///  - [poll(2)](https://man7.org/linux/man-pages/man2/poll.2.html)
pub fn stop(path: &CStr, signal: Signal, timeout: Duration) -> Result<Stopped, Error> {
    stop_with(path, signal, timeout, &[(Signal::KILL, KILL_WAIT)])
}

/// [`stop`] with a schedule, as start-stop-daemon's `--retry TERM/30/KILL/5`: `signal`, a
/// wait of up to `timeout`, then each step of `then` in turn (its signal to every process
/// left, a wait of up to its time) until all are gone. [`stop`] is `then` =
/// `[(KILL, 5 s)]`. A step's signal other than `SIGKILL` is sent once; `SIGKILL` is sent
/// again to any process found later (one forked meanwhile), the daemon last.
///
/// # Errors
///
/// As for [`stop`]; `ETIMEDOUT` with the pid of a process still left after the last step,
/// and that step's signal ([`Detail::Outlived`]).
pub fn stop_with(
    path: &CStr,
    signal: Signal,
    timeout: Duration,
    then: &[(Signal, Duration)],
) -> Result<Stopped, Error> {
    let gone = Error::with_detail(Command::Stop, Errno::SRCH, Detail::NotRunning);
    let found = find(path)?.ok_or(gone)?;
    let started = crate::sys::monotonic_nanos();
    let mut service = Service::new(&found.stat);
    let (pid, main) = match found.holder {
        Holder::Pid(pid, pidfd, flags) => (pid, Some((pidfd, flags))),
        // Processes of a marked lock: the service without its main pid, which is the session
        // the start recorded, if a holder of the lock still proves it.
        Holder::Orphan(pid, sid) => {
            service.session = Some(sid);
            (pid, None)
        }
        Holder::Nobody => return Err(gone),
        Holder::Unknown(pid) => return Err(unproven(Command::Stop, pid)),
    };
    if let Some((pidfd, flags)) = &main {
        service.main = Some((pid, pidfd));
        if flags & DAEMON_MARK != 0 {
            // Read while the pidfd shows the process alive, the session is its own; it stays
            // reserved while any member lives. It must be the one the start recorded: a
            // program running as the file's owner could set the mark itself.
            let sid = crate::sys::getsid(pid).ok();
            service.session = sid.filter(|&s| {
                s > 1
                    && !service::exited(pidfd)
                    && crate::pidfile::recorded_session(&found.stat) == Some(s)
            });
        }
    }
    // What the daemon's end would hide from a later look (a child in a session of its own
    // that closed its descriptor of the lock is found only as a descendant while it lives).
    let main_pid = main.as_ref().map(|_| pid);
    let snapshot = Snapshot::take(&service, main_pid, signal)?;
    if let Some((pidfd, _)) = &main {
        send(pidfd, signal)?;
        // The daemon first, alone for a moment: a respawn supervisor forwards the signal to
        // what it runs and ends it, which would otherwise get the signal twice (and a second
        // TERM often means "quit now").
        exited_within(pidfd, timeout.min(ALONE))?;
    }
    // The rest of the service, as a service manager signals a whole service; but not the
    // daemon's own descendants while it still runs: they are its to stop (it gets SIGKILL, and
    // they with it, after the timeout).
    snapshot.each_left(&mut |p, fd| {
        if !service.under_main(p) {
            let _ = send(fd, signal);
        }
    });
    service
        .each(&mut |p, pidfd| {
            if Some(p) != main_pid && !snapshot.has(p) && !service.under_main(p) {
                let _ = send(&pidfd, signal);
            }
        })
        .map_err(|e| Error::new(Command::Stop, e))?;
    let main = main.as_ref().map(|(fd, _)| (pid, fd));
    let mut killed = None;
    let spent = Duration::from_nanos(crate::sys::monotonic_nanos().saturating_sub(started));
    let rest = timeout.saturating_sub(spent);
    if let Some(mut left) = wait_gone(&service, &snapshot, main, rest, None)? {
        killed = Some(left);
        for &(signal, timeout) in then {
            match wait_gone(&service, &snapshot, main, timeout, Some(signal))? {
                Some(still) => left = still,
                None => break,
            }
        }
        if !exited_everywhere(&service, &snapshot, main)? {
            let last = then.last().map_or(signal, |&(last, _)| last);
            return Err(Error::with_detail(
                Command::Stop,
                Errno::TIMEDOUT,
                Detail::Outlived(left, last),
            ));
        }
    }
    remove_once_released(path, &found.file, &found.stat)?;
    Ok(Stopped { pid, killed })
}

/// The refusal to act on a lock held by a process not proven to be the daemon's: naming it
/// (`EPERM` with its pid) where one was found, else [`Detail::Unidentified`].
fn unproven(command: Command, holder: Option<Pid>) -> Error {
    match holder {
        None => Error::with_detail(command, Errno::SRCH, Detail::Unidentified),
        Some(pid) => Error::with_detail(command, Errno::PERM, Detail::Pid(pid)),
    }
}

/// Whether every process of the stop is gone (a last look after the schedule's end).
fn exited_everywhere(
    service: &Service<'_>,
    snapshot: &Snapshot,
    main: Option<(Pid, &OwnedFd)>,
) -> Result<bool, Error> {
    wait_gone(service, snapshot, main, Duration::ZERO, None).map(|left| left.is_none())
}

/// Waits until the main process (if any) and every process of `service` have exited, or
/// `timeout` passes: `None` once all are gone, else one that is left (the main process if it
/// is). With a `signal`, the first round sends it to every one left; `SIGKILL` is sent again
/// each round to every one left, a child forked meanwhile included, the main process last,
/// once no other is found (or after [`KILL_ROUNDS`]): while it lives, what it started is
/// found as its descendants.
fn wait_gone(
    service: &Service<'_>,
    snapshot: &Snapshot,
    main: Option<(Pid, &OwnedFd)>,
    timeout: Duration,
    signal: Option<Signal>,
) -> Result<Option<Pid>, Error> {
    let deadline = crate::sys::monotonic_nanos().saturating_add(nanos(timeout));
    let mut pause = PAUSE_MIN;
    for round in 0.. {
        let mut left = None;
        let main = main.filter(|(_, fd)| !service::exited(fd));
        let kill = signal == Some(Signal::KILL);
        let now_sent = signal.filter(|_| round == 0 || kill);
        snapshot.each_left(&mut |p, fd| {
            left = Some(p);
            if let Some(sig) = now_sent {
                let _ = send(fd, sig);
            }
        });
        service
            .each(&mut |p, pidfd| {
                if main.is_none_or(|(pid, _)| pid != p) {
                    left = Some(p);
                    if let Some(sig) = now_sent {
                        let _ = send(&pidfd, sig);
                    }
                }
            })
            .map_err(|e| Error::new(Command::Stop, e))?;
        if let Some((pid, fd)) = main {
            match now_sent {
                Some(Signal::KILL) if left.is_none() || round >= KILL_ROUNDS => {
                    send(fd, Signal::KILL)?;
                }
                Some(sig) if !kill => send(fd, sig)?,
                _ => {}
            }
            left = Some(pid);
        }
        let now = crate::sys::monotonic_nanos();
        match left {
            None => return Ok(None),
            Some(p) if now >= deadline => return Ok(Some(p)),
            Some(_) => {}
        }
        let wait = Duration::from_nanos(pause.min(deadline - now));
        match main {
            // Wakes as soon as the main process exits.
            Some((_, fd)) => {
                exited_within(fd, wait)?;
            }
            None => {
                let _ = rustix::thread::nanosleep(&rustix::thread::Timespec {
                    tv_sec: 0,
                    tv_nsec: wait.subsec_nanos() as i64,
                });
            }
        }
        pause = (pause * 2).min(PAUSE_MAX);
    }
    Ok(None) // not reached: the rounds end by the deadline
}

/// The service's processes (but the daemon) found before the daemon was signalled, each with
/// a pidfd: at most [`SNAPSHOT`] of them.
struct Snapshot {
    members: [Option<(Pid, OwnedFd)>; SNAPSHOT],
}

/// How many processes a [`Snapshot`] keeps; more are found again by later looks while they
/// are still members.
const SNAPSHOT: usize = 64;

impl Snapshot {
    /// The members outside the session (those in it are found again by any later look),
    /// before the daemon is signalled. One past [`SNAPSHOT`] gets `signal` at once instead:
    /// it cannot be followed once the daemon is gone.
    fn take(service: &Service<'_>, main: Option<Pid>, signal: Signal) -> Result<Self, Error> {
        let mut snapshot = Snapshot {
            members: [const { None }; SNAPSHOT],
        };
        let mut slots = snapshot.members.iter_mut();
        service
            .each(&mut |p, pidfd| {
                let in_session = service
                    .session
                    .is_some_and(|sid| crate::sys::getsid(p) == Ok(sid));
                if Some(p) == main || in_session {
                    return;
                }
                match slots.next() {
                    Some(slot) => *slot = Some((p, pidfd)),
                    None => {
                        let _ = send(&pidfd, signal);
                    }
                }
            })
            .map_err(|e| Error::new(Command::Stop, e))?;
        Ok(snapshot)
    }

    /// Calls `f` with each one that has not exited yet.
    fn each_left(&self, f: &mut dyn FnMut(Pid, &OwnedFd)) {
        for (p, fd) in self.members.iter().flatten() {
            if !service::exited(fd) {
                f(*p, fd);
            }
        }
    }

    /// Whether `pid` is one of them, still running (so that pid is still its).
    fn has(&self, pid: Pid) -> bool {
        self.members
            .iter()
            .flatten()
            .any(|(p, fd)| *p == pid && !service::exited(fd))
    }
}

/// How long `--stop` leaves the daemon alone with its signal before the rest of the service
/// gets it too.
const ALONE: Duration = Duration::from_millis(500);

/// After this many rounds of `SIGKILL` to the rest, the main process is killed even if others
/// are still found (it may be forking them).
const KILL_ROUNDS: u32 = 8;

/// Removes the pid file once the lock is released: takes the lock itself, which a process
/// whose descriptors are closed releases only a moment after it stops showing as a holder
/// (when its exit releases the open file); waits up to [`KILL_WAIT`] for that. While this
/// process holds the lock no start can take the file, so the path still naming it means the
/// unlink removes exactly it (a start that opened it meanwhile sees it gone and retries); a
/// path that names another file now (or none: a respawn supervisor removes its own) is left.
///
/// # Errors
///
/// [`Command::Stop`] with `EBUSY` and a process still holding the lock then
/// ([`Detail::None`] if none can be named), or with the errno of `flock`.
///
/// # References
///  - [flock(2)](https://man7.org/linux/man-pages/man2/flock.2.html)
fn remove_once_released(path: &CStr, file: &OwnedFd, stat: &Stat) -> Result<(), Error> {
    let deadline = crate::sys::monotonic_nanos().saturating_add(nanos(KILL_WAIT));
    loop {
        match rustix::fs::flock(file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {
                let _ = crate::path::unlink_if(CWD, path, crate::path::FileId::of(stat));
                crate::status_file::remove_ours(path);
                return Ok(());
            }
            Err(Errno::WOULDBLOCK) if crate::sys::monotonic_nanos() < deadline => {
                let _ = rustix::thread::nanosleep(&rustix::thread::Timespec {
                    tv_sec: 0,
                    tv_nsec: PAUSE_MIN as i64,
                });
            }
            Err(Errno::WOULDBLOCK) => {
                let holder = Service::new(stat).holder();
                let detail = holder.map_or(Detail::None, |(p, _)| Detail::Pid(p));
                return Err(Error::with_detail(Command::Stop, Errno::BUSY, detail));
            }
            Err(e) => return Err(Error::new(Command::Stop, e)),
        }
    }
}

/// The first and the longest pause between two looks at the processes left, in nanoseconds.
const PAUSE_MIN: u64 = 5_000_000;
const PAUSE_MAX: u64 = 100_000_000;

/// A duration in nanoseconds; u64 nanoseconds last 584 years: a longer one saturates, which
/// is forever anyway.
fn nanos(d: Duration) -> u64 {
    d.as_secs()
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::from(d.subsec_nanos()))
}

/// SIGKILL to the process behind `pidfd`, and a wait of up to five seconds for its end: a
/// start that failed after the program ran leaves no process behind.
pub(crate) fn kill(pidfd: &OwnedFd) {
    if send(pidfd, Signal::KILL).is_ok() {
        let _ = exited_within(pidfd, KILL_WAIT);
    }
}

/// Ends what a daemon-mode start that failed after its program ran leaves behind, as
/// [`stop`] ends a service: the program (`pidfd`), what it started while it ran (its
/// descendants, found before it is killed: one that made a session of its own too) and every
/// process of the session the start created (`session`, the intermediate's pid, reserved
/// while the session has members); all get `SIGKILL`, the program last, and are waited for
/// (up to five seconds after the last one found). Once they are gone, so are their
/// descriptors of the pid file's lock: the caller's cleanup then removes the pid file. A
/// process that left the service before (a double fork: neither a descendant nor in the
/// session) is not found; nor is one the program handed its descriptor to: neither is
/// signalled.
///
/// Shared by the failures of `--ready-when` and `--notify-await` in the launcher.
pub(crate) fn end_start(session: Pid, pidfd: Option<&OwnedFd>) {
    let mut service = Service::of_session(session.as_raw_nonzero().get());
    let main = pidfd.and_then(|fd| Some((pidfd_pid(fd)?, fd)));
    service.main = main;
    let main_pid = main.map(|(p, _)| p);
    // Descendants outside the session first, while the program still shows them as its own.
    let snapshot = Snapshot::take(&service, main_pid, Signal::KILL);
    let _ = rustix::process::kill_process_group(session, Signal::KILL);
    if let Ok(snapshot) = &snapshot {
        snapshot.each_left(&mut |_, fd| {
            let _ = send(fd, Signal::KILL);
        });
        if let Ok(None) = wait_gone(&service, snapshot, main, KILL_WAIT, Some(Signal::KILL)) {
            return;
        }
    }
    if let Some(pidfd) = pidfd {
        kill(pidfd);
    }
}

/// The pid of the process behind `pidfd`, from the `Pid:` line of its `fdinfo`.
///
/// # References
///  - [pidfd_open(2)](https://man7.org/linux/man-pages/man2/pidfd_open.2.html)
pub(crate) fn pidfd_pid(pidfd: &OwnedFd) -> Option<Pid> {
    let fd = rustix::fd::AsRawFd::as_raw_fd(pidfd) as u32;
    let mut digits = [0_u8; 10];
    let digits = crate::decimal::format_u32(fd, &mut digits);
    let mut path = [0_u8; 40];
    let path = crate::lines::join(&mut path, &[b"/proc/self/fdinfo/", digits, b"\0"])?;
    let info = crate::sys::open(
        crate::sys::c_str(path)?,
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ok()?;
    let mut buf = [0_u8; 512];
    let mut pid = None;
    let _ = find_line(info.as_fd(), &mut buf, &mut |line| {
        pid = line
            .strip_prefix(b"Pid:")
            .and_then(|p| crate::decimal::parse_pid(p.trim_ascii()));
        pid.is_some()
    });
    pid.and_then(|p| Pid::from_raw(p as i32))
}

/// `pidfd_send_signal`; a process that has exited already (`ESRCH`) counts as signalled.
fn send(pidfd: &OwnedFd, signal: Signal) -> Result<(), Error> {
    match rustix::process::pidfd_send_signal(pidfd, signal) {
        Ok(()) | Err(Errno::SRCH) => Ok(()),
        Err(e) => Err(Error::new(Command::Signal, e)),
    }
}

/// Waits until the process behind `pidfd` exits (the pidfd becomes readable) or `timeout`
/// passes; `true` if it exited.
fn exited_within(pidfd: &OwnedFd, timeout: Duration) -> Result<bool, Error> {
    use rustix::event::{PollFd, PollFlags, Timespec};
    const NANOS: u64 = 1_000_000_000;
    let deadline = crate::sys::monotonic_nanos().saturating_add(nanos(timeout));
    loop {
        let left = deadline.saturating_sub(crate::sys::monotonic_nanos());
        let left = Timespec {
            tv_sec: (left / NANOS) as i64,
            tv_nsec: (left % NANOS) as i64,
        };
        let mut fds = [PollFd::new(pidfd, PollFlags::IN)];
        match rustix::event::poll(&mut fds, Some(&left)) {
            Ok(0) if left.tv_sec == 0 && left.tv_nsec == 0 => return Ok(false),
            Ok(0) | Err(Errno::INTR) => {}
            Ok(_) => return Ok(true),
            Err(e) => return Err(Error::new(Command::Stop, e)),
        }
    }
}

/// An open pid file and who holds its lock.
struct Found {
    file: OwnedFd,
    stat: Stat,
    /// The pid written in the file, 0 if none.
    written: u32,
    holder: Holder,
}

enum Holder {
    /// The pid written in the file holds the lock; a pidfd opened before that was checked,
    /// and the `flags:` of its descriptor that holds the lock.
    Pid(Pid, OwnedFd, u32),
    /// The pid written in the file does not hold the lock, but this process holds it through
    /// a descriptor with [`DAEMON_MARK`] and is in the session the start recorded (the second
    /// field): a process of a daemon-mode start left behind.
    Orphan(Pid, i32),
    Nobody,
    /// Held by this process (`None` if none was found), not the pid written in the file, and
    /// not proven to be one the start created.
    Unknown(Option<Pid>),
}

/// Opens the pid file (`None` if there is none) and finds who holds its lock.
///
/// Opened without following a symbolic link (nor one on the way that another user owns) and
/// with `O_NONBLOCK`: a FIFO planted at the path is refused as not a regular file instead of
/// blocking the open until some writer comes.
fn find(path: &CStr) -> Result<Option<Found>, Error> {
    let (dir, name) = match crate::path::parent(CWD, path) {
        Ok(found) => found,
        Err((Errno::NOENT, _)) => return Ok(None),
        Err((e, detail)) => {
            return Err(Error::with_detail(
                Command::Status,
                e,
                error::refusal(detail),
            ));
        }
    };
    let file = match crate::path::open_in(&dir, name, OFlags::RDONLY, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Ok(None),
        Err(e) => return Err(Error::new(Command::Status, e)),
    };
    let stat = rustix::fs::fstat(&file).map_err(|e| Error::new(Command::Status, e))?;
    if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
        return Err(Error::with_detail(
            Command::Status,
            Errno::INVAL,
            Detail::NotRegular,
        ));
    }
    // As a start refuses to reuse it: another user's file (or a hard link to one) could name,
    // and be locked by, any process that user chose.
    if stat.st_nlink != 1 || stat.st_uid != rustix::process::geteuid().as_raw() {
        return Err(Error::with_detail(
            Command::Status,
            Errno::PERM,
            Detail::NotOurs,
        ));
    }
    let written = crate::pidfile::read_pid(&file);
    let service = Service::new(&stat);
    let holder = match identify(written, &service, &stat)? {
        Some(holder) => holder,
        None if !is_locked(&stat)? => Holder::Nobody,
        // The daemon is gone: a holder of the marked lock in the session the start recorded
        // is what it started; any other holder is unproven (the program can hand its
        // descriptor to any process that accepts one).
        None => match service.holder() {
            Some((pid, _)) => match service.lock_flags(pid) {
                Ok(Some(flags)) if flags & DAEMON_MARK != 0 => {
                    let session = crate::pidfile::recorded_session(&stat);
                    match session.and_then(|sid| Some((service.holder_in(sid)?, sid))) {
                        Some((member, sid)) => Holder::Orphan(member, sid),
                        None => Holder::Unknown(Some(pid)),
                    }
                }
                _ => Holder::Unknown(Some(pid)),
            },
            None => Holder::Unknown(None),
        },
    };
    Ok(Some(Found {
        file,
        stat,
        written,
        holder,
    }))
}

/// The pid written in the file with a pidfd, if that process holds the file's lock.
fn identify(written: u32, service: &Service, stat: &Stat) -> Result<Option<Holder>, Error> {
    let Some(pid) = i32::try_from(written).ok().and_then(Pid::from_raw) else {
        return Ok(None);
    };
    // Opened first: if the check below succeeds, this pidfd is the holder's.
    let pidfd = match rustix::process::pidfd_open(pid, PidfdFlags::empty()) {
        Ok(fd) => fd,
        Err(Errno::SRCH) => return Ok(None),
        Err(e) => return Err(Error::new(Command::Status, e)),
    };
    match service.lock_flags(pid) {
        Ok(Some(flags)) if wrote_it(pid, flags, stat) => Ok(Some(Holder::Pid(pid, pidfd, flags))),
        // The pid was free again, and a process that got it was handed the lock: not the
        // daemon (found among the holders, named, never signalled).
        Ok(Some(_)) => Ok(None),
        Ok(None) | Err(Errno::NOENT | Errno::SRCH) => Ok(None),
        // Another user's process, whose descriptors this one may not inspect: unproven, so
        // never reported as the holder (the caller sees the lock as held by someone unknown).
        Err(Errno::ACCESS | Errno::PERM) => Ok(None),
        Err(e) => Err(Error::new(Command::Status, e)),
    }
}

/// Whether `pid`, which holds the lock with open-file `flags`, is the daemon that wrote the
/// pid file `stat` describes rather than a process that got its pid once it was free: for a
/// daemon-mode lock, it is in the session the start recorded (where there is a record); for
/// another, it started before the file was written.
fn wrote_it(pid: Pid, flags: u32, stat: &Stat) -> bool {
    if flags & DAEMON_MARK != 0 {
        crate::pidfile::recorded_session(stat).is_none_or(|sid| crate::sys::getsid(pid) == Ok(sid))
    } else {
        service::started_before(pid, stat)
    }
}

/// Whether any process holds a `flock` (exclusive, or shared) on the file `stat` describes, from
/// `/proc/locks`, whose lines read `1: FLOCK  ADVISORY  WRITE 1234 fe:00:10010637 0 EOF`
/// (major and minor in hex, then the inode). Only the inode is compared: the device there is
/// the file system's, which differs from the one `stat` gives on a btrfs subvolume; a lock on
/// a file of another file system with the same inode number merely makes a stale pid file
/// read as held by someone unknown.
///
/// # References
///  - [proc_locks(5)](https://man7.org/linux/man-pages/man5/proc_locks.5.html)
fn is_locked(stat: &Stat) -> Result<bool, Error> {
    let locks = crate::sys::open(
        c"/proc/locks",
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::new(Command::Status, e))?;
    let inode = stat.st_ino;
    let mut buf = [0_u8; 512];
    find_line(locks.as_fd(), &mut buf, &mut |line| {
        (has_words(line, b"FLOCK", b"WRITE") || has_words(line, b"FLOCK", b"READ"))
            && Fields::new(line, b' ')
                .any(|word| parse_lock_id(word).is_some_and(|(_, _, ino)| ino == inode))
    })
    .map_err(|e| Error::new(Command::Status, e))
}

/// Whether the space-separated words of `line` include both `a` and `b`.
pub(crate) fn has_words(line: &[u8], a: &[u8], b: &[u8]) -> bool {
    let (mut has_a, mut has_b) = (false, false);
    for w in Fields::either(line, b' ', b'\t') {
        has_a |= w == a;
        has_b |= w == b;
    }
    has_a && has_b
}

/// `MAJOR:MINOR:INODE` with the first two in hex.
pub(crate) fn parse_lock_id(word: &[u8]) -> Option<(u64, u64, u64)> {
    let mut parts = Fields::new(word, b':');
    let major = number(parts.next()?, 16)?;
    let minor = number(parts.next()?, 16)?;
    let inode = number(parts.next()?, 10)?;
    parts.next().is_none().then_some((major, minor, inode))
}

fn number(s: &[u8], radix: u32) -> Option<u64> {
    crate::decimal::parse_u64(s, radix, 20)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_ids_and_words() {
        assert_eq!(parse_lock_id(b"fe:00:10010637"), Some((0xfe, 0, 10010637)));
        assert_eq!(parse_lock_id(b"00:2d:5"), Some((0, 0x2d, 5)));
        assert_eq!(parse_lock_id(b"fe:00"), None);
        assert_eq!(parse_lock_id(b"fe:00:1:2"), None);
        assert_eq!(parse_lock_id(b"EOF"), None);
        let line = b"1: FLOCK  ADVISORY  WRITE 31178 fe:00:10010637 0 EOF";
        assert!(has_words(line, b"FLOCK", b"WRITE"));
        assert!(!has_words(
            b"2: POSIX  ADVISORY  WRITE 1 fe:00:1 0 EOF",
            b"FLOCK",
            b"WRITE"
        ));
        assert!(!has_words(
            b"3: FLOCK  ADVISORY  READ 1 fe:00:1 0 EOF",
            b"FLOCK",
            b"WRITE"
        ));
    }

    /// This process locks a file of its own: `status` must find it running, and dead once the
    /// lock is gone.
    #[test]
    fn status_of_a_lock_held_here() {
        let dir =
            std::env::temp_dir().join(std::format!("rawdaemon-control-{}", std::process::id()));
        let _ = std::fs::create_dir(&dir);
        let path = dir.join("held.pid");
        let cpath = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        assert_eq!(status(&cpath), Ok(Status::NotRunning));
        let me = std::process::id();
        std::fs::write(&path, std::format!("{me}\n")).unwrap();
        assert_eq!(status(&cpath), Ok(Status::Dead(Pid::from_raw(me as i32))));
        let fd =
            rustix::fs::open(&*cpath, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).unwrap();
        rustix::fs::flock(&fd, FlockOperation::NonBlockingLockExclusive).unwrap();
        let running = Pid::from_raw(me as i32).unwrap();
        assert_eq!(status(&cpath), Ok(Status::Running(running)));
        // The file names pid 1 but this process holds the lock.
        std::fs::write(&path, "1\n").unwrap();
        // (the scan never names the process that asks)
        assert_eq!(status(&cpath), Ok(Status::Unknown(None)));
        drop(fd);
        assert_eq!(status(&cpath), Ok(Status::Dead(Pid::from_raw(1))));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
