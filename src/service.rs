//! The processes of a service started with a pid file, found in `/proc`.
//!
//! They are the main pid's descendants while it runs (what it forked, and, as a child
//! subreaper, what its descendants left behind), and, when the lock carries the daemon-mode
//! mark ([`DAEMON_MARK`]) and the pid file records the session
//! ([`record_session`](crate::pidfile::record_session)), every process of that session: a
//! session the start created, which no other process can join.
//!
//! Holding the lock proves nothing on its own: the program can hand its descriptor to any
//! process that accepts one (a message bus queues the descriptors of the messages it
//! forwards, a setuid program can take it along). A holder that is neither a descendant nor
//! in the session is named, never signalled.
//!
//! Each process is reached through a pidfd opened *before* its membership is checked, so a
//! pid recycled meanwhile is never signalled.
//!
//! Runs in the control commands (`--stop`, `--status`, `--signal`), in the launcher (naming
//! the holder of a lock that refuses a start) and in the `-R` supervisor (`parent_of`, after
//! the fork): stack buffers, no allocation, no panics.

use core::ffi::CStr;

use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{Mode, OFlags, Stat};
use rustix::io::Errno;
use rustix::process::{Pid, PidfdFlags};

use crate::lines::find_line;

/// [`LOCK_DAEMON_MODE_FLAG`](crate::pidfile::LOCK_DAEMON_MODE_FLAG) as the `flags:` line of
/// `/proc/PID/fdinfo/N` shows it.
pub(crate) const DAEMON_MARK: u32 = crate::pidfile::LOCK_DAEMON_MODE_FLAG.bits();

/// The processes of one service: the main pid's descendants while it runs and, for a marked
/// lock, the recorded session; or, to name one, the holders of the lock.
pub(crate) struct Service<'m> {
    /// The pid file's inode (the device is not compared: see [`lock_flags`]).
    ino: u64,
    /// The main pid's session, when its lock carries [`DAEMON_MARK`].
    pub session: Option<i32>,
    /// The main pid, whose descendants belong to the service (what it forked, and, if it is
    /// a child subreaper, what its descendants left behind), with a pidfd that must show it
    /// still running once the ancestry is read: its pid could be another process's by then.
    pub main: Option<(Pid, &'m OwnedFd)>,
    /// Every holder of the lock belongs (to find one to name, never to signal).
    any_holder: bool,
}

impl Service<'_> {
    /// The holders of the lock on the file `stat` describes (no session yet).
    pub(crate) fn new(stat: &Stat) -> Self {
        Service {
            ino: stat.st_ino,
            session: None,
            main: None,
            any_holder: false,
        }
    }

    /// The processes of `session` (and, once set, the main pid's descendants), with no pid
    /// file.
    pub(crate) fn of_session(session: i32) -> Self {
        Service {
            ino: 0,
            session: Some(session),
            main: None,
            any_holder: false,
        }
    }

    /// A process of `session` that holds the lock: proof that this session is the service's
    /// still (its id cannot have been taken by another session while that process lives).
    pub(crate) fn holder_in(&self, session: i32) -> Option<Pid> {
        self.first_holder(&|pid| crate::sys::getsid(pid) == Ok(session))
            .map(|(pid, _)| pid)
    }

    /// Whether `pid` is a descendant of the main pid, which still runs: one the daemon
    /// itself is to stop while it lives (a respawn supervisor forwards signals to them).
    pub(crate) fn under_main(&self, pid: Pid) -> bool {
        self.main
            .is_some_and(|(main, fd)| pid != main && descends(pid, main) && !exited(fd))
    }

    /// Whether the live process behind `pidfd` (which had pid `pid` when it was opened)
    /// belongs to the service.
    fn has(&self, pid: Pid, pidfd: &OwnedFd) -> bool {
        let holder = || self.any_holder && matches!(self.lock_flags(pid), Ok(Some(_)));
        let member = self
            .session
            .is_some_and(|sid| crate::sys::getsid(pid) == Ok(sid))
            || self
                .main
                .is_some_and(|(main, fd)| descends(pid, main) && !exited(fd))
            || holder();
        member && !exited(pidfd)
    }

    /// The `flags:` of `pid`'s descriptor that holds the lock, if it has one (`EACCES` for
    /// another user's process this one may not inspect).
    pub(crate) fn lock_flags(&self, pid: Pid) -> Result<Option<u32>, Errno> {
        lock_flags(pid.as_raw_nonzero().get() as u32, self.ino)
    }

    /// Calls `f` with each live process of the service but this one, and a pidfd opened
    /// before its membership was checked; the number of them.
    ///
    /// # References
    ///  - [pidfd_open(2)](https://man7.org/linux/man-pages/man2/pidfd_open.2.html)
    ///  - [proc_pid_fd(5)](https://man7.org/linux/man-pages/man5/proc_pid_fd.5.html)
    pub(crate) fn each(&self, f: &mut dyn FnMut(Pid, OwnedFd)) -> Result<usize, Errno> {
        let proc = crate::sys::open_listing(c"/proc")?;
        let me = rustix::process::getpid();
        let mut count = 0;
        let mut entries = [core::mem::MaybeUninit::<u8>::uninit(); 2048];
        let mut dir = rustix::fs::RawDir::new(&proc, &mut entries);
        while let Some(entry) = dir.next() {
            let Some(pid) = crate::decimal::parse_pid(entry?.file_name().to_bytes())
                .and_then(|p| Pid::from_raw(p as i32))
            else {
                continue;
            };
            if pid == me {
                continue;
            }
            // Opened first: if the checks below succeed, this pidfd is the member's.
            let Ok(pidfd) = rustix::process::pidfd_open(pid, PidfdFlags::empty()) else {
                continue;
            };
            if self.has(pid, &pidfd) {
                count += 1;
                f(pid, pidfd);
            }
        }
        Ok(count)
    }

    /// A live process that holds the lock (not necessarily through the start's own
    /// description: any exclusive `flock` of the file), with a pidfd.
    pub(crate) fn holder(&self) -> Option<(Pid, OwnedFd)> {
        self.first_holder(&|_| true)
    }

    /// The first live process that holds the lock and for which `wanted` is true, with a
    /// pidfd opened before either was checked.
    fn first_holder(&self, wanted: &dyn Fn(Pid) -> bool) -> Option<(Pid, OwnedFd)> {
        let holders = Service {
            session: None,
            main: None,
            any_holder: true,
            ..*self
        };
        let mut found = None;
        let _ = holders.each(&mut |pid, pidfd| {
            if found.is_none() && wanted(pid) {
                found = Some((pid, pidfd));
            }
        });
        found
    }
}

/// Whether `ancestor` is a parent, grandparent (and so on, up to 64 generations) of `pid`.
pub(crate) fn descends(pid: Pid, ancestor: Pid) -> bool {
    let ancestor = ancestor.as_raw_nonzero().get() as u32;
    let mut pid = pid.as_raw_nonzero().get() as u32;
    for _ in 0..64 {
        match parent_of(pid) {
            Some(parent) if parent == ancestor => return true,
            Some(parent) if parent > 1 => pid = parent,
            _ => return false,
        }
    }
    false
}

/// The pid to name when a start finds the pid file at `stat` locked: the pid `written` in it
/// if that process holds the lock, else a holder found in `/proc`, else 0 (none this process
/// may inspect).
#[cfg_attr(not(feature = "lock-holder"), allow(dead_code))]
pub(crate) fn lock_holder(written: u32, stat: &Stat) -> u32 {
    let service = Service::new(stat);
    let holds = i32::try_from(written)
        .ok()
        .and_then(Pid::from_raw)
        .is_some_and(|pid| matches!(service.lock_flags(pid), Ok(Some(_))));
    if holds {
        return written;
    }
    service
        .holder()
        .map_or(0, |(pid, _)| pid.as_raw_nonzero().get() as u32)
}

/// Whether the process behind `pidfd` has exited (its pidfd is readable): a zombie has
/// closed its descriptors already, and released its locks.
///
/// # References
///  - [pidfd_open(2)](https://man7.org/linux/man-pages/man2/pidfd_open.2.html)
pub(crate) fn exited(pidfd: &OwnedFd) -> bool {
    use rustix::event::{PollFd, PollFlags, Timespec};
    let mut fds = [PollFd::new(pidfd, PollFlags::IN)];
    let now = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    matches!(rustix::event::poll(&mut fds, Some(&now)), Ok(n) if n > 0)
}

/// The `flags:` (octal, as `open` got them) of a descriptor of process `pid` that holds a
/// `flock` on the file with inode `ino`, if it has one: `/proc/PID/fdinfo/N` lists the locks
/// held through descriptor N's open file description, each with the locked file's device
/// and inode.
///
/// Only `fdinfo` is read: following `/proc/PID/fd/N` to the file (a `stat`) would wait on a
/// file system that does not answer (a FUSE server the process runs, a hung NFS mount),
/// without end and beyond the reach of any signal. The device is not compared: `fdinfo`
/// gives the file system's, which differs from what `stat` gives on a btrfs subvolume.
///
/// # References
///  - [proc_pid_fdinfo(5)](https://man7.org/linux/man-pages/man5/proc_pid_fdinfo.5.html)
pub(crate) fn lock_flags(pid: u32, ino: u64) -> Result<Option<u32>, Errno> {
    let mut path = [0_u8; 32];
    let fdinfo_dir = crate::sys::open_listing(proc_path(&mut path, pid, b"/fdinfo")?)?;
    let mut entries = [core::mem::MaybeUninit::<u8>::uninit(); 1024];
    let mut dir = rustix::fs::RawDir::new(&fdinfo_dir, &mut entries);
    while let Some(entry) = dir.next() {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_bytes().first().is_none_or(|b| !b.is_ascii_digit()) {
            continue;
        }
        let Ok(info) = rustix::fs::openat(
            &fdinfo_dir,
            name,
            OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        ) else {
            continue; // closed meanwhile
        };
        if let Some(flags) = flock_flags(info.as_fd(), ino)? {
            return Ok(Some(flags));
        }
    }
    Ok(None)
}

/// The `flags:` of an `fdinfo` file that lists a `flock` of the file with inode `ino`
/// (`lock:\t1: FLOCK  ADVISORY  WRITE 1234 fe:00:10010637 0 EOF`); shared too: the program
/// may have turned its exclusive lock into a shared one.
fn flock_flags(info: BorrowedFd<'_>, ino: u64) -> Result<Option<u32>, Errno> {
    let mut buf = [0_u8; 512];
    let mut flags = 0;
    let locked = find_line(info, &mut buf, &mut |line| {
        if let Some(f) = line.strip_prefix(b"flags:") {
            flags = crate::decimal::parse_u64(f.trim_ascii(), 8, 11).unwrap_or(0) as u32;
        }
        line.strip_prefix(b"lock:").is_some_and(|lock| {
            (crate::control::has_words(lock, b"FLOCK", b"WRITE")
                || crate::control::has_words(lock, b"FLOCK", b"READ"))
                && crate::lines::Fields::new(lock, b' ').any(|word| {
                    crate::control::parse_lock_id(word).is_some_and(|(_, _, i)| i == ino)
                })
        })
    })?;
    Ok(locked.then_some(flags))
}

/// The parent of process `pid`: the field after the state, which follows the command name's
/// last `)`.
pub(crate) fn parent_of(pid: u32) -> Option<u32> {
    stat_field(pid, 1, &mut |field| {
        crate::decimal::parse_pid(field).map(u64::from)
    })
    .and_then(|p| u32::try_from(p).ok())
}

/// Whether process `pid` started before the pid file `file` was last written (its
/// modification time), as the daemon that wrote it did: a process that got its pid later,
/// once it was free again, did not write it. `/proc/PID/stat` gives the start in clock ticks
/// since boot (`USER_HZ`, 100 on every architecture Linux runs rawdaemon on); the file's
/// time is on the wall clock, set back to boot time as the clocks relate now (a clock set
/// back since the write makes the check fail, never pass).
///
/// # References
///  - [proc_pid_stat(5)](https://man7.org/linux/man-pages/man5/proc_pid_stat.5.html)
pub(crate) fn started_before(pid: Pid, file: &Stat) -> bool {
    const TICK_NANOS: i128 = 10_000_000;
    // File times come from the coarse clock (up to a kernel tick behind), start times are
    // rounded down to a clock tick: a daemon that writes its pid file within a few
    // milliseconds of its start must not look started after it. A pid freed and taken again
    // takes far longer than this.
    const SLACK_NANOS: i128 = 50_000_000;
    let raw = pid.as_raw_nonzero().get() as u32;
    let Some(ticks) = stat_field(raw, 19, &mut |field| {
        crate::decimal::parse_u64(field, 10, 20)
    }) else {
        return false;
    };
    #[allow(clippy::unnecessary_cast)] // the fields' types vary by architecture
    let written = i128::from(file.st_mtime as i64) * 1_000_000_000
        + i128::from(file.st_mtime_nsec as i64)
        - crate::sys::boot_offset_nanos();
    i128::from(ticks) * TICK_NANOS <= written + SLACK_NANOS
}

/// Field `index` of `/proc/PID/stat`, counted from the state (0), which follows the command
/// name's last `)`, through `parse`.
fn stat_field(pid: u32, index: usize, parse: &mut dyn FnMut(&[u8]) -> Option<u64>) -> Option<u64> {
    let mut path = [0_u8; 32];
    let path = proc_path(&mut path, pid, b"/stat").ok()?;
    let fd = crate::sys::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).ok()?;
    let mut buf = [0_u8; 512];
    let n = rustix::io::read(&fd, &mut buf).ok()?;
    let text = buf.get(..n)?;
    let close = text.iter().rposition(|&b| b == b')')?;
    let mut fields = crate::lines::Fields::new(text.get(close + 2..)?, b' ');
    parse(fields.nth(index)?)
}

/// `/proc/PID` followed by `tail`, NUL-terminated, in `buf`.
pub(crate) fn proc_path<'b>(
    buf: &'b mut [u8; 32],
    pid: u32,
    tail: &[u8],
) -> Result<&'b CStr, Errno> {
    let mut digits = [0_u8; 10];
    let digits = crate::decimal::format_u32(pid, &mut digits);
    let path = crate::lines::join(buf, &[b"/proc/", digits, tail, b"\0"]);
    crate::sys::c_str(path.ok_or(Errno::NAMETOOLONG)?).ok_or(Errno::INVAL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_paths() {
        let mut buf = [0; 32];
        assert_eq!(
            proc_path(&mut buf, 4_194_304, b"/fdinfo").unwrap(),
            c"/proc/4194304/fdinfo"
        );
    }
}
