//! The pid file: opened and locked in the original process before any fork, written by the
//! daemon as its last step, removed by the original process if the start fails.
//!
//! The lock is an exclusive `flock(2)`: it belongs to the open file description, so it is
//! inherited across both forks and lives until the last descriptor of it closes: the daemon's
//! (or, with [`Exec`](crate::Exec), the program's). A POSIX `fcntl` lock would be dropped when
//! the original process exits.
//!
//! The file is open twice: read-write and close-on-exec for the daemon to write its pid, and
//! read-only for the lock. The program inherits only the read-only one: it keeps the lock but
//! cannot rewrite the pid that `--stop`, `start-stop-daemon` or `kill $(cat FILE)` act on
//! (after dropping privileges it could not open the file for writing either).
//!
//! Runs in the launcher (open, lock, remove), in the daemon (write, record the session) and
//! in the control commands (`read_pid`, `recorded_session`).

use core::ffi::CStr;

use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{AtFlags, CWD, FileType, FlockOperation, Mode, OFlags};
use rustix::io::Errno;

use crate::error::{Detail, Error, Step};
use crate::path::FileId;

/// The pid file's mode when created (less the umask of the launching process): readable by
/// the launching user and its group only. Any user who can open a file can `flock` it: one
/// that others may read could be locked by them once the daemon is gone, and every later
/// start would be refused.
const MODE: u32 = 0o640;

/// How often to retry when the path changes between open and lock (another instance removed
/// a file it had created and failed with).
const ATTEMPTS: usize = 8;

/// The open-file flag of the lock's descriptor when the start created its own session
/// (daemon mode, not foreground): `O_NOATIME`, shown in `/proc/PID/fdinfo/N` as `flags:`
/// `01000000`. Only the file's owner (or a holder of `CAP_FOWNER`) may set it, so a program
/// that holds a lock without it did not get it from a daemon-mode start of this pid file
/// (the program cannot set it on a file it does not own). Without effect on the file itself.
///
/// # References
///  - [open(2)](https://man7.org/linux/man-pages/man2/open.2.html) (`O_NOATIME`)
pub(crate) const LOCK_DAEMON_MODE_FLAG: OFlags = OFlags::NOATIME;

/// A locked pid file: two open file descriptions of the same file.
#[derive(Debug)]
pub(crate) struct PidFile {
    /// Read-write, close-on-exec: the daemon writes its pid through it; `execve` closes it.
    pub fd: OwnedFd,
    /// Read-only, holds the exclusive `flock`: the descriptor the program inherits, through
    /// which it keeps the lock but cannot change the file.
    pub lock: OwnedFd,
    /// This start created the file, so a failed start removes it again.
    pub created: bool,
    /// The file's identity: it is removed only while the path still names it.
    pub id: FileId,
}

/// Opens `path` without following a symbolic link (a directory on the way only if root or
/// this user owns the link) and without truncating it, takes the lock without waiting through
/// a second, read-only descriptor of the same file (with [`LOCK_DAEMON_MODE_FLAG`] if
/// `daemon_mode`), and checks that the path still names the locked file.
///
/// # Errors
///
/// [`Step::PidFileOpen`] for the open (or a path that is not a regular file); for
/// [`Step::PidFileLock`] with `EWOULDBLOCK`, the detail is a process holding the lock: the
/// pid written in the file if it does, else one found in `/proc`, else 0 (always 0 without
/// the `lock-holder` feature).
///
/// # References
///  - [open(2)](https://man7.org/linux/man-pages/man2/open.2.html)
///  - [flock(2)](https://man7.org/linux/man-pages/man2/flock.2.html)
pub(crate) fn lock(path: &CStr, daemon_mode: bool) -> Result<PidFile, Error> {
    let (dir, name) = crate::path::parent(CWD, path)
        .map_err(|(e, d)| Error::with_detail(Step::PidFileOpen, e, d))?;
    // Another user who may rename entries there could put a file of theirs in its place,
    // naming any pid, for `kill $(cat PIDFILE)` and logrotate to signal.
    match crate::path::private_dir(&dir) {
        Ok(true) => {}
        Ok(false) => {
            return Err(Error::with_detail(
                Step::PidFileOpen,
                Errno::PERM,
                Detail::OpenDir,
            ));
        }
        Err(e) => return Err(Error::new(Step::PidFileOpen, e)),
    }
    let flags = OFlags::RDWR;
    for _ in 0..ATTEMPTS {
        let (fd, created) = match crate::path::open_in(
            &dir,
            name,
            flags | OFlags::CREATE | OFlags::EXCL,
            Mode::from(MODE),
        ) {
            Ok(fd) => (fd, true),
            Err(Errno::EXIST) => match crate::path::open_in(&dir, name, flags, Mode::empty()) {
                Ok(fd) => (fd, false),
                Err(Errno::NOENT) => continue, // removed in between: create it again
                Err(e) => return Err(Error::new(Step::PidFileOpen, e)),
            },
            Err(e) => return Err(Error::new(Step::PidFileOpen, e)),
        };
        match check_and_lock(&dir, name, &fd, created, daemon_mode) {
            Ok(Some((lock, id))) => {
                return Ok(PidFile {
                    fd,
                    lock,
                    created,
                    id,
                });
            }
            Ok(None) => continue,
            Err(e) => {
                // A file this start created goes again, unless another start locked it
                // meanwhile (it opened the new file and holds it now).
                if created && e.errno() != Some(Errno::WOULDBLOCK) {
                    if let Ok(id) = FileId::of_fd(&fd) {
                        crate::path::unlink_if(CWD, path, id);
                    }
                }
                return Err(e);
            }
        }
    }
    Err(Error::new(Step::PidFileLock, Errno::AGAIN))
}

/// Checks that the open pid file is a regular file (and, if it existed, this user's with no
/// other hard link), opens the lock's read-only descriptor of it, locks it, and checks that
/// `name` in `dir` still names it: `Ok(None)` if it does not (the caller opens it again).
///
/// In a directory others can write (`/tmp`), an existing file may be planted: a hard link
/// to a file of ours elsewhere, which writing the pid would clobber, or a file its owner can
/// rewrite under us. Neither is reused.
fn check_and_lock(
    dir: &OwnedFd,
    name: &CStr,
    fd: &OwnedFd,
    created: bool,
    daemon_mode: bool,
) -> Result<Option<(OwnedFd, FileId)>, Error> {
    let st = rustix::fs::fstat(fd).map_err(|e| Error::new(Step::PidFileOpen, e))?;
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
        return Err(Error::with_detail(
            Step::PidFileOpen,
            Errno::INVAL,
            Detail::NotRegular,
        ));
    }
    if !created && (st.st_nlink != 1 || st.st_uid != rustix::process::geteuid().as_raw()) {
        return Err(Error::with_detail(
            Step::PidFileOpen,
            Errno::PERM,
            Detail::NotOurs,
        ));
    }
    if !created && st.st_mode & 0o007 != 0 {
        // A file from before pid files were private (0644): no other user opens it again,
        // so none can lock it once the daemon is gone.
        let private = Mode::from_raw_mode(st.st_mode & 0o770);
        rustix::fs::fchmod(fd, private).map_err(|e| Error::new(Step::PidFileOpen, e))?;
    }
    let id = FileId::of(&st);
    let mode = if daemon_mode {
        LOCK_DAEMON_MODE_FLAG
    } else {
        OFlags::empty()
    };
    let lock = match crate::path::open_in(dir, name, OFlags::RDONLY | mode, Mode::empty()) {
        Ok(lock) => lock,
        Err(Errno::NOENT) => return Ok(None),
        Err(e) => return Err(Error::new(Step::PidFileOpen, e)),
    };
    // The same file as the write descriptor's, or the name changed in between.
    match FileId::of_fd(&lock) {
        Ok(same) if same == id => {}
        Ok(_) => return Ok(None),
        Err(e) => return Err(Error::new(Step::PidFileOpen, e)),
    }
    match rustix::fs::flock(&lock, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => {}
        Err(Errno::WOULDBLOCK) => {
            // Named only if it really holds the lock: the pid written may be stale. The /proc
            // scan that proves it comes with the tool's stop and status: the smallest build
            // (within 32 KiB) names no pid rather than one it cannot prove.
            #[cfg(feature = "lock-holder")]
            let holder = crate::service::lock_holder(read_pid(fd), &st);
            #[cfg(not(feature = "lock-holder"))]
            let holder = 0;
            return Err(Error::with_detail(
                Step::PidFileLock,
                Errno::WOULDBLOCK,
                Detail::pid(holder),
            ));
        }
        Err(e) => return Err(Error::new(Step::PidFileLock, e)),
    }
    // The file we locked must still be the one at `path`: a failing instance may have
    // unlinked it between our open and our lock.
    match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        Ok(now) if FileId::of(&now) == id => Ok(Some((lock, id))),
        Ok(_) | Err(Errno::NOENT) => Ok(None),
        Err(e) => Err(Error::new(Step::PidFileOpen, e)),
    }
}

/// The pid written in a pid file, 0 if there is none (not yet written, or garbage).
pub(crate) fn read_pid(fd: &OwnedFd) -> u32 {
    let mut buf = [0_u8; 16];
    match rustix::io::pread(fd, &mut buf, 0) {
        Ok(n) => {
            let text = buf.get(..n).unwrap_or_default();
            let line = crate::lines::Fields::new(text, b'\n')
                .next()
                .unwrap_or(text);
            // A full buffer with no newline is not a pid.
            if n == buf.len() && line.len() == n {
                return 0;
            }
            crate::decimal::parse_pid(line).unwrap_or(0)
        }
        Err(_) => 0,
    }
}

/// Writes `pid` and a newline at the start of the locked file and cuts anything after it.
/// Writing before truncating means a reader never sees an empty file.
///
/// Runs in the daemon: async-signal-safe.
///
/// # References
///  - [pwrite(2)](https://man7.org/linux/man-pages/man2/pwrite.2.html)
///  - [ftruncate(2)](https://man7.org/linux/man-pages/man2/ftruncate.2.html)
pub(crate) fn write_pid<Fd: AsFd>(fd: Fd, pid: u32, created: bool) -> Result<(), Errno> {
    let mut digits = [0_u8; 10];
    let digits = crate::decimal::format_u32(pid, &mut digits);
    let mut line = [0_u8; 11];
    let line = crate::lines::join(&mut line, &[digits, b"\n"]).ok_or(Errno::RANGE)?;
    let n = rustix::io::retry_on_intr(|| rustix::io::pwrite(&fd, line, 0))?;
    if n != line.len() {
        // Part of the number (a full disk, a file size limit): a file that names no process
        // rather than a wrong one.
        let _ = rustix::fs::ftruncate(&fd, 0);
        return Err(Errno::NOSPC);
    }
    if !created {
        rustix::fs::ftruncate(&fd, line.len() as u64)?;
    }
    Ok(())
}

/// Records the daemon's session id in the nanoseconds of the pid file's modification time
/// (the seconds stay the time of the write), through the write descriptor: what `--stop`
/// trusts as the session a daemon-mode start created. Only the file's owner can set a time
/// (`futimens` with explicit times), and the program holds the file read-only, so it cannot
/// forge it; where the file system keeps no nanoseconds the record is simply absent
/// (`--stop` then ends the lock's holders and the daemon's descendants only).
///
/// Runs in the daemon: async-signal-safe. Failures are ignored (the record is an aid).
///
/// # References
///  - [utimensat(2)](https://man7.org/linux/man-pages/man2/utimensat.2.html)
pub(crate) fn record_session<Fd: AsFd>(fd: Fd, sid: u32) {
    use rustix::fs::{Timespec, Timestamps, UTIME_OMIT};
    let Ok(st) = rustix::fs::fstat(&fd) else {
        return;
    };
    let times = Timestamps {
        last_access: Timespec {
            tv_sec: 0,
            tv_nsec: UTIME_OMIT,
        },
        last_modification: Timespec {
            tv_sec: st.st_mtime as _,
            tv_nsec: sid as _,
        },
    };
    let _ = rustix::fs::futimens(&fd, &times);
}

/// The session [`record_session`] recorded in the file `st` describes, if any.
#[allow(clippy::unnecessary_cast)] // the field's type varies by architecture
pub(crate) fn recorded_session(st: &rustix::fs::Stat) -> Option<i32> {
    i32::try_from(st.st_mtime_nsec as u64)
        .ok()
        .filter(|&sid| sid > 1)
}
