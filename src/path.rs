//! Safe path resolution for the files rawdaemon opens, writes and removes, often as root, in
//! directories other users may own (`/tmp`, a service's own directory).
//!
//! The kernel would follow every symbolic link in a path: a user who owns a directory on the
//! way could plant `out.log -> /root/secret` and have root append to it. Here a path's
//! directories are opened one component at a time with `O_PATH | O_NOFOLLOW`, and a symbolic
//! link among them is followed only if root or this process's effective user owns it (such as
//! `/var/run -> /run`); its target is resolved the same way, at most [`MAX_LINKS`] links in
//! all, as the kernel allows. The last component is never followed: it is opened, checked or
//! removed relative to its resolved directory.
//!
//! Allocation-free (fixed stack buffers, no recursion) and panic-free: the respawn supervisor
//! calls it after the fork.

use core::ffi::CStr;

use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::fs::{AtFlags, FileType, Mode, OFlags, Stat};
use rustix::io::Errno;

use crate::error::Detail;

/// The longest path the kernel takes, and so the room for a path with its links expanded.
const PATH_MAX: usize = 4096;
/// How many symbolic links one resolution follows, as the kernel's own limit.
pub(crate) const MAX_LINKS: u32 = 40;

/// Why a path was refused: the errno, and what the resolution found.
pub(crate) type Refusal = (Errno, Detail);

/// A file's identity: device and inode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    /// The identity of the file `st` describes.
    #[allow(clippy::unnecessary_cast)] // the field types vary by architecture
    pub(crate) fn of(st: &Stat) -> Self {
        FileId {
            dev: st.st_dev as u64,
            ino: st.st_ino as u64,
        }
    }

    /// The identity of the open file `fd`.
    ///
    /// # References
    ///  - [fstat(2)](https://man7.org/linux/man-pages/man2/fstat.2.html)
    pub(crate) fn of_fd<Fd: AsFd>(fd: Fd) -> Result<Self, Errno> {
        rustix::fs::fstat(fd).map(|st| Self::of(&st))
    }
}

/// The directory holding the last component of `path` (relative paths start at `start`),
/// resolved safely, and that last component.
///
/// # Errors
///
/// `ELOOP` with [`Detail::ForeignLink`] for a symbolic link on the way that another user owns,
/// `ELOOP` after [`MAX_LINKS`] links, `ENAMETOOLONG`, `EISDIR` for a path ending in `/`, and
/// those of openat(2) for each directory.
///
/// # References
///  - [openat(2)](https://man7.org/linux/man-pages/man2/openat.2.html)
///  - [readlinkat(2)](https://man7.org/linux/man-pages/man2/readlinkat.2.html)
///  - [path_resolution(7)](https://man7.org/linux/man-pages/man7/path_resolution.7.html)
pub(crate) fn parent<'p>(
    start: BorrowedFd<'_>,
    path: &'p CStr,
) -> Result<(OwnedFd, &'p CStr), Refusal> {
    let bytes = path.to_bytes_with_nul();
    let len = bytes.len().saturating_sub(1);
    let (dir, name_at) = match bytes.iter().take(len).rposition(|&b| b == b'/') {
        // Up to and with the slash, so that `/name` keeps its directory `/`.
        Some(i) => (bytes.get(..=i).unwrap_or_default(), i + 1),
        None => (&[][..], 0),
    };
    let name = bytes
        .get(name_at..)
        .and_then(crate::sys::c_str)
        .ok_or((Errno::INVAL, Detail::None))?;
    if name.is_empty() {
        return Err((
            if len == 0 { Errno::NOENT } else { Errno::ISDIR },
            Detail::None,
        ));
    }
    Ok((resolve_dir(start, dir)?, name))
}

/// The last component of `path`, what follows its last slash; `None` if there is none (the
/// path ends in a slash).
pub(crate) fn last_component(path: &CStr) -> Option<&CStr> {
    let bytes = path.to_bytes_with_nul();
    let len = bytes.len().saturating_sub(1);
    let at = bytes
        .iter()
        .take(len)
        .rposition(|&b| b == b'/')
        .map_or(0, |i| i + 1);
    bytes
        .get(at..)
        .and_then(crate::sys::c_str)
        .filter(|name| !name.is_empty())
}

/// Opens the directory `path` (relative to `start`) one component at a time, following only
/// the symbolic links root or this user owns.
fn resolve_dir(start: BorrowedFd<'_>, path: &[u8]) -> Result<OwnedFd, Refusal> {
    const LAST: usize = PATH_MAX - 1;
    // What is left to resolve sits at the end of `buf` up to its final NUL, from `at`: a
    // link's target goes right before the rest, and each name is cut out in place by a NUL
    // over the slash after it.
    let mut buf = [0_u8; PATH_MAX];
    let mut at = LAST
        .checked_sub(path.len())
        .ok_or((Errno::NAMETOOLONG, Detail::None))?;
    copy(buf.get_mut(at..LAST).unwrap_or_default(), path)?;
    let mut dir = if path.first() == Some(&b'/') {
        open_dir(rustix::fs::CWD, c"/")?
    } else {
        open_dir(start, c".")?
    };
    let euid = rustix::process::geteuid().as_raw();
    let mut links = 0;
    loop {
        while buf.get(at) == Some(&b'/') {
            at += 1;
        }
        let rest = buf.get_mut(at..).unwrap_or_default();
        let len = match rest.iter().position(|&b| b == b'/' || b == 0) {
            Some(0) | None => return Ok(dir),
            Some(len) => len,
        };
        if let Some(end) = rest.get_mut(len) {
            *end = 0;
        }
        let name = rest
            .get(..=len)
            .and_then(crate::sys::c_str)
            .ok_or((Errno::INVAL, Detail::None))?;
        let next = rustix::fs::openat(
            &dir,
            name,
            OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| (e, Detail::None))?;
        // Past the name and its slash, or at the final NUL.
        at = (at + len + 1).min(LAST);
        // fstatat(fd, "", AT_EMPTY_PATH): what `fstat` says, told apart from the checks of
        // the files themselves in a trace.
        let st =
            rustix::fs::statat(&next, c"", AtFlags::EMPTY_PATH).map_err(|e| (e, Detail::None))?;
        match FileType::from_raw_mode(st.st_mode) {
            FileType::Directory => dir = next,
            FileType::Symlink => {
                if st.st_uid != 0 && st.st_uid != euid {
                    return Err((Errno::LOOP, Detail::ForeignLink));
                }
                links += 1;
                if links > MAX_LINKS {
                    return Err((Errno::LOOP, Detail::None));
                }
                // The link itself, through its O_PATH descriptor: not another one swapped in
                // at the same name meanwhile. Read into the free start of `buf` (no second
                // buffer: this runs in processes with a small stack limit), then moved to
                // just before the rest, with a slash over the NUL that cut the name.
                let free = at
                    .checked_sub(1)
                    .ok_or((Errno::NAMETOOLONG, Detail::None))?;
                let room = buf.get_mut(..free).unwrap_or_default();
                let n = rustix::fs::readlinkat_raw(&next, c"", &mut *room)
                    .map_err(|e| (e, Detail::None))?;
                if n >= free {
                    // Filled: the target may have been cut.
                    return Err((Errno::NAMETOOLONG, Detail::None));
                }
                at = free - n;
                buf.copy_within(..n, at);
                if let Some(slash) = buf.get_mut(free) {
                    *slash = b'/';
                }
                if buf.get(at) == Some(&b'/') {
                    dir = open_dir(rustix::fs::CWD, c"/")?;
                }
                // A relative target goes on from the link's own directory, `dir`.
            }
            _ => return Err((Errno::NOTDIR, Detail::None)),
        }
    }
}

/// Whether only root or this process's effective user can replace an entry of the
/// directory `dir`: it is theirs, and nobody else may write it, or it is sticky (`/tmp`:
/// others may add entries but not remove or rename ours).
///
/// # References
///  - [inode(7)](https://man7.org/linux/man-pages/man7/inode.7.html)
pub(crate) fn private_dir(dir: &OwnedFd) -> Result<bool, Errno> {
    let st = rustix::fs::statat(dir, c"", AtFlags::EMPTY_PATH)?;
    let euid = rustix::process::geteuid().as_raw();
    let mode = st.st_mode as u32;
    let owned = st.st_uid == 0 || st.st_uid == euid;
    let others_write = mode & 0o022 != 0;
    let sticky = mode & 0o1000 != 0;
    Ok(owned && (!others_write || sticky))
}

/// `src` into the start of `dst`, which must be as long at least (`ENAMETOOLONG` otherwise).
fn copy(dst: &mut [u8], src: &[u8]) -> Result<(), Refusal> {
    if src.len() > dst.len() {
        return Err((Errno::NAMETOOLONG, Detail::None));
    }
    for (d, s) in dst.iter_mut().zip(src) {
        *d = *s;
    }
    Ok(())
}

/// A directory, `O_PATH` ([`sys::open_dir_at`](crate::sys::open_dir_at)).
fn open_dir(at: BorrowedFd<'_>, path: &CStr) -> Result<OwnedFd, Refusal> {
    crate::sys::open_dir_at(at, path).map_err(|e| (e, Detail::None))
}

/// Opens the last component `name` in `dir` without following a symbolic link there, and
/// without blocking on a FIFO (no reader: `ENXIO` for a writer). `O_NONBLOCK` stays set:
/// the caller clears it where it matters.
///
/// # References
///  - [openat(2)](https://man7.org/linux/man-pages/man2/openat.2.html)
///  - [fifo(7)](https://man7.org/linux/man-pages/man7/fifo.7.html)
pub(crate) fn open_in(
    dir: &OwnedFd,
    name: &CStr,
    flags: OFlags,
    mode: Mode,
) -> Result<OwnedFd, Errno> {
    let flags = flags | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    rustix::io::retry_on_intr(|| rustix::fs::openat(dir, name, flags, mode))
}

/// A log file opened for appending: created (mode `mode`) if missing, else checked.
pub(crate) struct Log {
    pub fd: OwnedFd,
    pub created: bool,
    pub id: FileId,
}

/// Opens the log file `path` (relative paths from `start`) for appending, safely: no symbolic
/// link another user planted is followed, and an existing file must be a regular file with
/// no other hard link (or a FIFO or a character device), owned by root, this user or `user`
/// (the daemon's user). Blocking mode is restored once open (for a FIFO or a device: a
/// regular file ignores it).
///
/// # Errors
///
/// Those of [`parent`]; `EPERM` with [`Detail::ForeignOwner`] or [`Detail::HardLinked`],
/// `EINVAL` with [`Detail::NotRegular`] for another kind of file, `ELOOP` with
/// [`Detail::IsSymlink`] for a symbolic link at the path itself, and those of open(2)
/// (`ENXIO` for a FIFO nobody reads).
///
/// # References
///  - [fcntl(2)](https://man7.org/linux/man-pages/man2/fcntl.2.html)
pub(crate) fn open_log(
    start: BorrowedFd<'_>,
    path: &CStr,
    mode: Mode,
    user: Option<u32>,
) -> Result<Log, Refusal> {
    let (dir, name) = parent(start, path)?;
    open_log_at(&dir, name, mode, user)
}

/// [`open_log`] of the last component `name` in the directory `dir` (the log rotation's new
/// file, in the directory opened before the fork).
pub(crate) fn open_log_at(
    dir: &OwnedFd,
    name: &CStr,
    mode: Mode,
    user: Option<u32>,
) -> Result<Log, Refusal> {
    let flags = OFlags::WRONLY | OFlags::APPEND;
    // `ELOOP` with `O_NOFOLLOW`: the name is a symbolic link.
    let refused = |e| match e {
        Errno::LOOP => (e, Detail::IsSymlink),
        _ => (e, Detail::None),
    };
    let (fd, created) = match open_in(dir, name, flags | OFlags::CREATE | OFlags::EXCL, mode) {
        Ok(fd) => (fd, true),
        Err(Errno::EXIST) => (open_in(dir, name, flags, mode).map_err(refused)?, false),
        Err(e) => return Err(refused(e)),
    };
    let checked = rustix::fs::fstat(&fd)
        .map_err(|e| (e, Detail::None))
        .and_then(|st| {
            if !created {
                check_log(&st, user)?;
            }
            if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
                rustix::fs::fcntl_setfl(&fd, OFlags::APPEND).map_err(|e| (e, Detail::None))?;
            }
            Ok(FileId::of(&st))
        });
    match checked {
        Ok(id) => Ok(Log { fd, created, id }),
        Err(e) => {
            if created {
                let _ = rustix::fs::unlinkat(dir, name, AtFlags::empty());
            }
            Err(e)
        }
    }
}

/// An existing log file: its kind, its links, its owner.
fn check_log(st: &Stat, user: Option<u32>) -> Result<(), Refusal> {
    let kind = FileType::from_raw_mode(st.st_mode);
    match kind {
        FileType::RegularFile | FileType::Fifo | FileType::CharacterDevice => {}
        _ => return Err((Errno::INVAL, Detail::NotRegular)),
    }
    let uid = st.st_uid;
    let ours = uid == 0 || uid == rustix::process::geteuid().as_raw();
    // The daemon's user may own a log file, not a FIFO or a device: one it holds open
    // without reading would block the writer (a respawn supervisor) for good.
    if !ours && (kind != FileType::RegularFile || Some(uid) != user) {
        return Err((Errno::PERM, Detail::ForeignOwner));
    }
    if kind == FileType::RegularFile && st.st_nlink != 1 {
        return Err((Errno::PERM, Detail::HardLinked));
    }
    Ok(())
}

/// Removes `path` (relative paths from `start`) if it still names the file `id`: the entry
/// is checked without following a link, in its safely resolved directory, and removed there.
/// Whether it was removed.
///
/// # References
///  - [unlinkat(2)](https://man7.org/linux/man-pages/man2/unlinkat.2.html)
///  - [fstatat(2)](https://man7.org/linux/man-pages/man2/fstatat.2.html)
pub(crate) fn unlink_if(start: BorrowedFd<'_>, path: &CStr, id: FileId) -> bool {
    let Ok((dir, name)) = parent(start, path) else {
        return false;
    };
    let same = rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW)
        .is_ok_and(|st| FileId::of(&st) == id);
    same && rustix::fs::unlinkat(&dir, name, AtFlags::empty()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// The directory a resolution ends in, as the kernel names it.
    fn resolved(path: &CStr) -> Result<(std::path::PathBuf, std::string::String), Refusal> {
        let (dir, name) = parent(rustix::fs::CWD, path)?;
        let fd = std::format!("/proc/self/fd/{}", rustix::fd::AsRawFd::as_raw_fd(&dir));
        let dir = std::fs::read_link(fd).unwrap();
        Ok((dir, name.to_str().unwrap().into()))
    }

    fn c(path: &std::path::Path) -> std::ffi::CString {
        std::ffi::CString::new(path.to_str().unwrap()).unwrap()
    }

    #[test]
    fn links_of_this_user_are_followed() {
        let base = std::env::temp_dir().join(std::format!("rawdaemon-path-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(base.join("real/sub")).unwrap();
        symlink("real", base.join("rel")).unwrap();
        symlink(base.join("real/sub"), base.join("abs")).unwrap();
        symlink("rel/sub/../sub", base.join("chain")).unwrap();
        symlink("loop", base.join("loop")).unwrap();
        let real = base.join("real");
        let sub = real.join("sub");
        assert_eq!(
            resolved(&c(&base.join("rel/f"))),
            Ok((real.clone(), "f".into()))
        );
        assert_eq!(
            resolved(&c(&base.join("abs/f"))),
            Ok((sub.clone(), "f".into()))
        );
        assert_eq!(
            resolved(&c(&base.join("chain//f"))),
            Ok((sub.clone(), "f".into()))
        );
        assert_eq!(
            resolved(&c(&base.join("rel/sub/"))).map(|_| ()),
            Err((Errno::ISDIR, Detail::None))
        );
        assert_eq!(
            resolved(&c(&base.join("loop/f"))).map(|_| ()),
            Err((Errno::LOOP, Detail::None))
        );
        assert_eq!(
            resolved(&c(&base.join("nothere/f"))).map(|_| ()),
            Err((Errno::NOENT, Detail::None))
        );
        // The last component is not resolved: a link there is the caller's to refuse.
        assert_eq!(
            resolved(&c(&base.join("rel"))),
            Ok((base.clone(), "rel".into()))
        );
        assert_eq!(resolved(c"/f"), Ok(("/".into(), "f".into())));
        if rustix::process::geteuid().is_root() {
            let theirs = base.join("theirs");
            symlink("real", &theirs).unwrap();
            std::os::unix::fs::lchown(&theirs, Some(65534), Some(65534)).unwrap();
            assert_eq!(
                resolved(&c(&theirs.join("f"))).map(|_| ()),
                Err((Errno::LOOP, Detail::ForeignLink))
            );
        }
        std::fs::remove_dir_all(&base).unwrap();
    }
}
