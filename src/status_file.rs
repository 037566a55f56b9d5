//! The status file of [`notify_await`](crate::Daemon::notify_await): the last `STATUS=` text
//! the program sent, kept beside the pid file as `PIDFILE.status` for `--status` to show.
//!
//! The start creates it (after it took the pid file's lock, in the pid file's safely
//! resolved directory, with `O_CREAT | O_EXCL | O_NOFOLLOW`) and keeps a write descriptor;
//! whoever reads the notification socket (the launcher in daemon mode, the respawn
//! supervisor, the foreground watcher) rewrites that one file through it: the text, cut at
//! [`TEXT_MAX`] bytes, control characters as `?`, and a newline, written before the rest is
//! cut off, so that a reader of the first line never sees an empty or mixed one. No path is
//! opened again for writing, so nothing another user puts at the name later is written.
//!
//! What was at the name before the start (a status file a crash left, or a symbolic link
//! anyone planted) is removed, never followed; any other file there (another user's, or one
//! with a second hard link) is left alone, and then no status is kept. It goes whenever the
//! pid file goes (a failed start, the supervisor's end, `--stop`), and with a failed start
//! always.
//!
//! Async-signal-safe: raw system calls on stack buffers (the supervisor and the watcher run
//! it after the fork).

use core::ffi::CStr;

use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags, Stat};

use crate::path::FileId;

/// The longest status text kept, in bytes (what follows is cut off).
pub const TEXT_MAX: usize = 256;

/// What follows the pid file's name.
const SUFFIX: &[u8] = b".status";

/// Its mode when created (less the umask), as the pid file's.
const MODE: u32 = 0o640;

/// `PIDNAME.status` in `buf`, as a C string; `None` if longer than a name may be (255 bytes).
fn name_of<'b>(pid_name: &CStr, buf: &'b mut [u8; 256]) -> Option<&'b CStr> {
    let name = pid_name.to_bytes();
    let len = name.len() + SUFFIX.len();
    if len >= buf.len() {
        return None;
    }
    for (d, s) in buf.iter_mut().zip(name.iter().chain(SUFFIX).chain(&[0])) {
        *d = *s;
    }
    buf.get(..=len).and_then(crate::sys::c_str)
}

/// The directory of the pid file `pid_path` (relative paths from `start`), resolved safely,
/// and the status file's name in `buf`.
fn locate<'b>(
    start: BorrowedFd<'_>,
    pid_path: &CStr,
    buf: &'b mut [u8; 256],
) -> Option<(OwnedFd, &'b CStr)> {
    let (dir, pid_name) = crate::path::parent(start, pid_path).ok()?;
    Some((dir, name_of(pid_name, buf)?))
}

/// A regular file of this user with no other hard link: one a start of this user created.
fn ours(st: &Stat) -> bool {
    FileType::from_raw_mode(st.st_mode) == FileType::RegularFile
        && st.st_nlink == 1
        && st.st_uid == rustix::process::geteuid().as_raw()
}

/// Creates the status file of the pid file `pid_path` (its lock held), empty: its write
/// descriptor (close-on-exec) and identity. `None` (no status is kept) if the name is too
/// long or holds a file that is not a stale one of this user, or if creating it fails.
///
/// # References
///  - [openat(2)](https://man7.org/linux/man-pages/man2/openat.2.html) (`O_EXCL`, `O_NOFOLLOW`)
///  - [unlinkat(2)](https://man7.org/linux/man-pages/man2/unlinkat.2.html)
pub(crate) fn create(pid_path: &CStr) -> Option<(OwnedFd, FileId)> {
    let mut buf = [0_u8; 256];
    let (dir, name) = locate(CWD, pid_path, &mut buf)?;
    if let Ok(st) = rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
        // A link is removed, not followed; a file of ours is what a crash left.
        if FileType::from_raw_mode(st.st_mode) != FileType::Symlink && !ours(&st) {
            return None;
        }
        rustix::fs::unlinkat(&dir, name, AtFlags::empty()).ok()?;
    }
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL;
    let fd = crate::path::open_in(&dir, name, flags, Mode::from(MODE)).ok()?;
    match FileId::of_fd(&fd) {
        Ok(id) => Some((fd, id)),
        Err(_) => {
            let _ = rustix::fs::unlinkat(&dir, name, AtFlags::empty());
            None
        }
    }
}

/// Rewrites the status file `fd` with `text` (see the module). Failures are ignored: the
/// status is an aid.
///
/// # References
///  - [pwrite(2)](https://man7.org/linux/man-pages/man2/pwrite.2.html)
///  - [ftruncate(2)](https://man7.org/linux/man-pages/man2/ftruncate.2.html)
pub(crate) fn write<Fd: AsFd>(fd: Fd, text: &[u8]) {
    let mut line = [b'\n'; TEXT_MAX + 1];
    let text = text.get(..TEXT_MAX).unwrap_or(text);
    // As the launcher prints it (C0, DEL, C1 and what is not UTF-8 as `?`): `--status`
    // shows the file on a terminal. The shown text is never longer than `text`.
    let mut len = 0;
    crate::sd_notify::printable(text, &mut |piece| {
        if let Some(to) = line.get_mut(len..len + piece.len()) {
            to.copy_from_slice(piece);
            len += piece.len();
        }
    });
    let line = line.get(..=len).unwrap_or_default();
    if rustix::io::retry_on_intr(|| rustix::io::pwrite(&fd, line, 0)) == Ok(line.len()) {
        let _ = rustix::fs::ftruncate(&fd, line.len() as u64);
    }
}

/// Marks the status file `fd` as written now (its modification time): what it says is the
/// daemon's that `MAINPID=` named, which started after it was written.
///
/// # References
///  - [utimensat(2)](https://man7.org/linux/man-pages/man2/utimensat.2.html)
pub(crate) fn touch<Fd: AsFd>(fd: Fd) {
    use rustix::fs::{Timespec, Timestamps, UTIME_NOW};
    let now = Timespec {
        tv_sec: 0,
        tv_nsec: UTIME_NOW,
    };
    let _ = rustix::fs::futimens(
        &fd,
        &Timestamps {
            last_access: now,
            last_modification: now,
        },
    );
}

/// Removes the status file of the pid file `pid_path` (relative paths from `start`) if its
/// name still holds the file `id` (the one this start created).
///
/// # References
///  - [unlinkat(2)](https://man7.org/linux/man-pages/man2/unlinkat.2.html)
pub(crate) fn remove(start: BorrowedFd<'_>, pid_path: &CStr, id: FileId) {
    let mut buf = [0_u8; 256];
    if let Some((dir, name)) = locate(start, pid_path, &mut buf) {
        let same = rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW)
            .is_ok_and(|st| FileId::of(&st) == id);
        if same {
            let _ = rustix::fs::unlinkat(&dir, name, AtFlags::empty());
        }
    }
}

/// Removes the status file of the pid file `pid_path` if it is one a start of this user
/// created (`--stop`, once the pid file's lock is taken).
pub(crate) fn remove_ours(pid_path: &CStr) {
    let mut buf = [0_u8; 256];
    if let Some((dir, name)) = locate(CWD, pid_path, &mut buf) {
        if rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW).is_ok_and(|st| ours(&st)) {
            let _ = rustix::fs::unlinkat(&dir, name, AtFlags::empty());
        }
    }
}

/// The status text kept beside the pid file `path` (see
/// [`notify_await`](crate::Daemon::notify_await)) by the running daemon `daemon` (the pid
/// [`status`](crate::control::status) found), in `buf`: its first line, at most
/// [`TEXT_MAX`] bytes, control characters shown as `?`. `None` if there is none, if it was
/// last written before `daemon` started (a file an earlier start left beside a pid file its
/// daemon left behind), or if the file is not one this user created (a regular file of this
/// user with no other hard link, as the pid file itself must be): another user's file, or a
/// link, is not read.
///
/// # References
///  - [openat(2)](https://man7.org/linux/man-pages/man2/openat.2.html) (`O_NOFOLLOW`)
///  - [pread(2)](https://man7.org/linux/man-pages/man2/pread.2.html)
pub fn read<'b>(
    path: &CStr,
    daemon: rustix::process::Pid,
    buf: &'b mut [u8; TEXT_MAX + 1],
) -> Option<&'b [u8]> {
    let mut name = [0_u8; 256];
    let (dir, name) = locate(CWD, path, &mut name)?;
    let fd = crate::path::open_in(&dir, name, OFlags::RDONLY, Mode::empty()).ok()?;
    let st = rustix::fs::fstat(&fd).ok()?;
    if !ours(&st) || !crate::service::started_before(daemon, &st) {
        return None;
    }
    let n = rustix::io::pread(&fd, &mut buf[..], 0).ok()?;
    let text = buf.get_mut(..n)?;
    let end = text.iter().position(|&b| b == b'\n')?;
    let line = text.get_mut(..end)?;
    for b in line.iter_mut() {
        if *b < 0x20 || *b == 0x7f {
            *b = b'?';
        }
    }
    Some(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_lines() {
        let mut buf = [0_u8; 256];
        assert_eq!(name_of(c"d.pid", &mut buf), Some(c"d.pid.status"));
        let long = std::ffi::CString::new([b'a'; 248].as_slice()).unwrap();
        assert_eq!(
            name_of(&long, &mut buf).map(|n| n.to_bytes().len()),
            Some(255)
        );
        let long = std::ffi::CString::new([b'a'; 249].as_slice()).unwrap();
        assert_eq!(name_of(&long, &mut buf), None);
        let dir =
            std::env::temp_dir().join(std::format!("rawdaemon-status-{}", std::process::id()));
        let _ = std::fs::create_dir(&dir);
        let pid = dir.join("x.pid");
        let cpid = std::ffi::CString::new(pid.to_str().unwrap()).unwrap();
        let (fd, id) = create(&cpid).unwrap();
        let mut text = [0_u8; TEXT_MAX + 1];
        let me = rustix::process::getpid();
        write(&fd, b"loading\x1b[2J 3 zones, a longer line");
        write(&fd, b"loading\x1b[2J 3 zones");
        assert_eq!(
            read(&cpid, me, &mut text),
            Some(&b"loading?[2J 3 zones"[..])
        );
        // C1 controls, raw and as UTF-8, and bytes that are not UTF-8 are kept as `?` too:
        // `--status` shows the file on a terminal.
        write(&fd, b"a\x9b31m\xc2\x9bb\xffc caf\xc3\xa9");
        assert_eq!(
            read(&cpid, me, &mut text),
            Some("a?31m?b?c caf\u{e9}".as_bytes())
        );
        write(&fd, &[b'x'; 1000]);
        assert_eq!(read(&cpid, me, &mut text).map(<[u8]>::len), Some(TEXT_MAX));
        remove(CWD, &cpid, id);
        assert_eq!(read(&cpid, me, &mut text), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
