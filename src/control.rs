//! Status and stop of a running daemon, found by its pid file's **lock**, not by the number
//! written in it: a pid file left behind by a crash names a pid that may since belong to an
//! unrelated process, and that process must never be reported running nor signalled.
//!
//! The holder is proven from `/proc`: the pid written in the file must have the locked file
//! open with the exclusive `flock` on that very descriptor (its `fdinfo` lists the lock). It
//! is signalled through a pidfd opened *before* that proof, so a pid recycled in between can
//! never be hit.

use core::ffi::CStr;
use core::time::Duration;

use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{AtFlags, CWD, FileType, FlockOperation, Mode, OFlags, Stat};
use rustix::io::Errno;
use rustix::process::{Pid, PidfdFlags, Signal};

use crate::error::{Error, Step};
use crate::lines::{Fields, find_line};

/// What a pid file says about its daemon, as the LSB `status` action reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// The process with this pid holds the pid file's lock.
    Running(Pid),
    /// The pid file exists but no process holds its lock: the daemon died without removing
    /// it. The pid written in it (0 if none); it is not signalled, whatever runs there now.
    Dead(u32),
    /// There is no pid file.
    NotRunning,
    /// The lock is held, but not provably by the pid written in the file: a start in
    /// progress, a process that is not a daemon started this way, or another user's process
    /// whose descriptors this one may not inspect.
    Unknown,
}

impl Status {
    /// The exit status of an LSB init script's `status` action: 0 running, 1 dead with its pid
    /// file left behind, 3 not running, 4 unknown.
    ///
    /// # References
    ///  - [LSB init script actions](https://refspecs.linuxfoundation.org/LSB_5.0.0/LSB-Core-generic/LSB-Core-generic/iniscrptact.html)
    pub const fn lsb_code(self) -> i32 {
        match self {
            Status::Running(_) => 0,
            Status::Dead(_) => 1,
            Status::NotRunning => 3,
            Status::Unknown => 4,
        }
    }
}

/// How [`stop`] ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stopped {
    /// The process that was stopped.
    pub pid: Pid,
    /// It outlived the timeout and was sent `SIGKILL`.
    pub killed: bool,
    /// The pid file was removed (it is left if another process holds its lock by then).
    pub removed: bool,
}

/// How long [`stop`] waits for the process to go after `SIGKILL`.
const KILL_WAIT: Duration = Duration::from_secs(5);

/// Which process holds the lock of the pid file at `path`.
///
/// # Errors
///
/// [`Step::Status`] when the pid file cannot be opened or read (other than not existing), is
/// not a regular file, or `/proc` cannot be read.
pub fn status(path: &CStr) -> Result<Status, Error> {
    Ok(match find(path)? {
        None => Status::NotRunning,
        Some(found) => match found.holder {
            Holder::Pid(pid, _) => Status::Running(pid),
            Holder::Nobody => Status::Dead(found.written),
            Holder::Unidentified => Status::Unknown,
        },
    })
}

/// Stops the daemon holding the pid file at `path`: sends `signal` through a pidfd, waits up
/// to `timeout` for the process to exit, then sends `SIGKILL` and waits again; once it is gone,
/// removes the pid file unless another process holds its lock by then.
///
/// # Errors
///
/// [`Step::Stop`] with [`Error::NOT_RUNNING`] when no process holds the lock (nothing is
/// signalled or removed), [`Error::UNIDENTIFIED`] when the holder is not the pid written in
/// the file, and `ETIMEDOUT` when the process outlives `SIGKILL`; [`Step::Signal`] when the
/// signal cannot be sent (`EPERM`: another user's process); [`Step::Status`] as for
/// [`status`].
///
/// # References
///  - [pidfd_open(2)](https://man7.org/linux/man-pages/man2/pidfd_open.2.html)
///  - [pidfd_send_signal(2)](https://man7.org/linux/man-pages/man2/pidfd_send_signal.2.html)
///  - [poll(2)](https://man7.org/linux/man-pages/man2/poll.2.html)
pub fn stop(path: &CStr, signal: Signal, timeout: Duration) -> Result<Stopped, Error> {
    let found = find(path)?.ok_or(Error::with_detail(
        Step::Stop,
        Errno::SRCH,
        Error::NOT_RUNNING,
    ))?;
    let (pid, pidfd) = match found.holder {
        Holder::Pid(pid, pidfd) => (pid, pidfd),
        Holder::Nobody => {
            return Err(Error::with_detail(
                Step::Stop,
                Errno::SRCH,
                Error::NOT_RUNNING,
            ));
        }
        Holder::Unidentified => {
            return Err(Error::with_detail(
                Step::Stop,
                Errno::SRCH,
                Error::UNIDENTIFIED,
            ));
        }
    };
    // The daemon's session: everything it started and did not move elsewhere.
    let session = crate::sys::getsid(pid).ok();
    send(&pidfd, signal)?;
    let mut killed = false;
    if !exited_within(&pidfd, timeout)? {
        send(&pidfd, Signal::KILL)?;
        killed = true;
        // What it started goes too (a respawn supervisor's program group, workers that
        // ignore SIGTERM): as a service manager kills a service's whole group.
        if let Some(session) = session {
            kill_session(session);
        }
        if !exited_within(&pidfd, KILL_WAIT)? {
            return Err(Error::with_detail(
                Step::Stop,
                Errno::TIMEDOUT,
                pid.as_raw_nonzero().get() as u32,
            ));
        }
    }
    let removed = remove_if_unlocked(path, &found.file, &found.stat);
    Ok(Stopped {
        pid,
        killed,
        removed,
    })
}

/// SIGKILL to the process behind `pidfd`, and a wait of up to five seconds for its end: a
/// start that failed after the program ran leaves no process behind.
pub(crate) fn kill(pidfd: &OwnedFd) {
    if send(pidfd, Signal::KILL).is_ok() {
        let _ = exited_within(pidfd, KILL_WAIT);
    }
}

/// SIGKILL to every process of session `sid` (but this one), each through a pidfd opened
/// before its session is checked, so a pid recycled meanwhile is never hit.
///
/// Only a session whose leader is gone: a daemon's own (its leader was the intermediate
/// process of the start, or the daemon itself), never the session of a shell or a terminal
/// that a foreground daemon shared.
///
/// # References
///  - [getsid(2)](https://man7.org/linux/man-pages/man2/getsid.2.html)
fn kill_session(sid: i32) {
    // A session id stays reserved while the session has members: a process with that pid is
    // the leader itself.
    if Pid::from_raw(sid).is_some_and(|leader| crate::sys::getsid(leader).is_ok()) {
        return;
    }
    let Ok(proc) = crate::sys::open(
        c"/proc",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        return;
    };
    let me = rustix::process::getpid();
    let mut entries = [core::mem::MaybeUninit::<u8>::uninit(); 2048];
    let mut dir = rustix::fs::RawDir::new(&proc, &mut entries);
    while let Some(Ok(entry)) = dir.next() {
        let Some(pid) = crate::decimal::parse_pid(entry.file_name().to_bytes())
            .and_then(|p| Pid::from_raw(p as i32))
        else {
            continue;
        };
        if pid == me || crate::sys::getsid(pid) != Ok(sid) {
            continue;
        }
        if let Ok(pidfd) = rustix::process::pidfd_open(pid, PidfdFlags::empty()) {
            if crate::sys::getsid(pid) == Ok(sid) {
                let _ = rustix::process::pidfd_send_signal(&pidfd, Signal::KILL);
            }
        }
    }
}

/// `pidfd_send_signal`; a process that has exited already (`ESRCH`) counts as signalled.
fn send(pidfd: &OwnedFd, signal: Signal) -> Result<(), Error> {
    match rustix::process::pidfd_send_signal(pidfd, signal) {
        Ok(()) | Err(Errno::SRCH) => Ok(()),
        Err(e) => Err(Error::new(Step::Signal, e)),
    }
}

/// Waits until the process behind `pidfd` exits (the pidfd becomes readable) or `timeout`
/// passes; `true` if it exited.
fn exited_within(pidfd: &OwnedFd, timeout: Duration) -> Result<bool, Error> {
    use rustix::event::{PollFd, PollFlags, Timespec};
    const NANOS: u64 = 1_000_000_000;
    // u64 nanoseconds last 584 years: a longer timeout saturates, which is forever anyway.
    let timeout = timeout
        .as_secs()
        .saturating_mul(NANOS)
        .saturating_add(u64::from(timeout.subsec_nanos()));
    let deadline = crate::sys::monotonic_nanos().saturating_add(timeout);
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
            Err(e) => return Err(Error::new(Step::Stop, e)),
        }
    }
}

/// Removes the pid file of a daemon that has exited, if it is still the file at `path` and no
/// other process (a new instance, a forked child of the old one) holds its lock. The entry is
/// checked and removed in its safely resolved directory ([`unlink_if`]).
///
/// [`unlink_if`]: crate::path::unlink_if
fn remove_if_unlocked(path: &CStr, file: &OwnedFd, stat: &Stat) -> bool {
    if rustix::fs::flock(file, FlockOperation::NonBlockingLockExclusive).is_err() {
        return false;
    }
    // While we hold the lock no start can take this file: it still being at `path` means the
    // unlink removes exactly it (a start that opened it meanwhile sees it gone and retries).
    crate::path::unlink_if(CWD, path, crate::path::FileId::of(stat))
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
    /// The pid written in the file holds the lock; a pidfd opened before that was checked.
    Pid(Pid, OwnedFd),
    Nobody,
    Unidentified,
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
        Err((e, detail)) => return Err(Error::with_detail(Step::Status, e, detail)),
    };
    let file = match crate::path::open_in(&dir, name, OFlags::RDONLY, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Ok(None),
        Err(e) => return Err(Error::new(Step::Status, e)),
    };
    let stat = rustix::fs::fstat(&file).map_err(|e| Error::new(Step::Status, e))?;
    if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
        return Err(Error::with_detail(
            Step::Status,
            Errno::INVAL,
            Error::NOT_REGULAR,
        ));
    }
    let written = crate::pidfile::read_pid(&file);
    let holder = match identify(written, &stat)? {
        Some(holder) => holder,
        None if is_locked(&stat)? => Holder::Unidentified,
        None => Holder::Nobody,
    };
    Ok(Some(Found {
        file,
        stat,
        written,
        holder,
    }))
}

/// The pid written in the file with a pidfd, if that process holds the file's lock.
fn identify(written: u32, stat: &Stat) -> Result<Option<Holder>, Error> {
    let Some(pid) = Pid::from_raw(written as i32).filter(|_| written <= i32::MAX as u32) else {
        return Ok(None);
    };
    // Opened first: if the check below succeeds, this pidfd is the holder's.
    let pidfd = match rustix::process::pidfd_open(pid, PidfdFlags::empty()) {
        Ok(fd) => fd,
        Err(Errno::SRCH) => return Ok(None),
        Err(e) => return Err(Error::new(Step::Signal, e)),
    };
    match holds_lock(written, stat) {
        Ok(true) => Ok(Some(Holder::Pid(pid, pidfd))),
        Ok(false) | Err(Errno::NOENT | Errno::SRCH) => Ok(None),
        // Another user's process, whose descriptors this one may not inspect: unproven, so
        // never reported as the holder (the caller sees the lock as held by someone unknown).
        Err(Errno::ACCESS | Errno::PERM) => Ok(None),
        Err(e) => Err(Error::new(Step::Status, e)),
    }
}

/// Whether process `pid` has a descriptor of the file `stat` describes that carries an
/// exclusive `flock`: `/proc/PID/fdinfo/N` lists the locks held through descriptor N's open
/// file description.
///
/// # References
///  - [proc_pid_fdinfo(5)](https://man7.org/linux/man-pages/man5/proc_pid_fdinfo.5.html)
fn holds_lock(pid: u32, stat: &Stat) -> Result<bool, Errno> {
    let mut path = [0_u8; 32];
    let fd_dir = open_dir(proc_path(&mut path, pid, b"/fd")?)?;
    let mut path = [0_u8; 32];
    let fdinfo_dir = open_dir(proc_path(&mut path, pid, b"/fdinfo")?)?;
    let mut entries = [core::mem::MaybeUninit::<u8>::uninit(); 1024];
    let mut dir = rustix::fs::RawDir::new(&fd_dir, &mut entries);
    while let Some(entry) = dir.next() {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_bytes().first().is_none_or(|b| !b.is_ascii_digit()) {
            continue;
        }
        let Ok(target) = rustix::fs::statat(&fd_dir, name, AtFlags::empty()) else {
            continue; // closed meanwhile, or a descriptor stat cannot follow
        };
        if target.st_dev != stat.st_dev || target.st_ino != stat.st_ino {
            continue;
        }
        let Ok(info) = rustix::fs::openat(
            &fdinfo_dir,
            name,
            OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        ) else {
            continue;
        };
        if has_flock(info.as_fd())? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether an `fdinfo` file lists an exclusive `flock`.
fn has_flock(info: BorrowedFd<'_>) -> Result<bool, Errno> {
    let mut buf = [0_u8; 512];
    find_line(info, &mut buf, &mut |line| {
        line.strip_prefix(b"lock:")
            .is_some_and(|lock| has_words(lock, b"FLOCK", b"WRITE"))
    })
}

/// Whether any process holds an exclusive `flock` on the file `stat` describes, from
/// `/proc/locks`, whose lines read `1: FLOCK  ADVISORY  WRITE 1234 fe:00:10010637 0 EOF`
/// (major and minor in hex, then the inode).
///
/// # References
///  - [proc_locks(5)](https://man7.org/linux/man-pages/man5/proc_locks.5.html)
fn is_locked(stat: &Stat) -> Result<bool, Error> {
    let locks = crate::sys::open(
        c"/proc/locks",
        OFlags::RDONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::new(Step::Status, e))?;
    let major = u64::from(rustix::fs::major(stat.st_dev));
    let minor = u64::from(rustix::fs::minor(stat.st_dev));
    let inode = stat.st_ino;
    let mut buf = [0_u8; 512];
    find_line(locks.as_fd(), &mut buf, &mut |line| {
        has_words(line, b"FLOCK", b"WRITE")
            && Fields::new(line, b' ')
                .any(|word| parse_lock_id(word) == Some((major, minor, inode)))
    })
    .map_err(|e| Error::new(Step::Status, e))
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

/// `/proc/PID` followed by `tail`, NUL-terminated, in `buf`.
fn proc_path<'b>(buf: &'b mut [u8; 32], pid: u32, tail: &[u8]) -> Result<&'b CStr, Errno> {
    let mut digits = [0_u8; 10];
    let digits = crate::decimal::format_u32(pid, &mut digits);
    let path = crate::lines::join(buf, &[b"/proc/", digits, tail, b"\0"]);
    crate::sys::c_str(path.ok_or(Errno::NAMETOOLONG)?).ok_or(Errno::INVAL)
}

fn open_dir(path: &CStr) -> Result<OwnedFd, Errno> {
    crate::sys::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
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

    #[test]
    fn proc_paths() {
        let mut buf = [0; 32];
        assert_eq!(
            proc_path(&mut buf, 4_194_304, b"/fdinfo").unwrap(),
            c"/proc/4194304/fdinfo"
        );
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
        assert_eq!(status(&cpath), Ok(Status::Dead(me)));
        let fd =
            rustix::fs::open(&*cpath, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).unwrap();
        rustix::fs::flock(&fd, FlockOperation::NonBlockingLockExclusive).unwrap();
        let running = Pid::from_raw(me as i32).unwrap();
        assert_eq!(status(&cpath), Ok(Status::Running(running)));
        // The file names pid 1 but this process holds the lock.
        std::fs::write(&path, "1\n").unwrap();
        assert_eq!(status(&cpath), Ok(Status::Unknown));
        drop(fd);
        assert_eq!(status(&cpath), Ok(Status::Dead(1)));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
