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

use crate::error::Error;

/// The longest path the kernel takes, and so the room for a path with its links expanded.
const PATH_MAX: usize = 4096;
/// The longest file name.
const NAME_MAX: usize = 255;
/// How many symbolic links one resolution follows, as the kernel's own limit.
pub(crate) const MAX_LINKS: u32 = 40;

/// Why a path was refused: the errno, and an [`Error`] detail (0 for none).
pub(crate) type Refusal = (Errno, u32);

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
/// `ELOOP` with [`Error::FOREIGN_LINK`] for a symbolic link on the way that another user owns,
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
        .ok_or((Errno::INVAL, 0))?;
    if name.is_empty() {
        return Err((if len == 0 { Errno::NOENT } else { Errno::ISDIR }, 0));
    }
    Ok((resolve_dir(start, dir)?, name))
}

/// Opens the directory `path` (relative to `start`) one component at a time, following only
/// the symbolic links root or this user owns.
fn resolve_dir(start: BorrowedFd<'_>, path: &[u8]) -> Result<OwnedFd, Refusal> {
    // What is left to resolve sits at the end of `buf`, from `at`: a link's target goes
    // right before the rest.
    let mut buf = [0_u8; PATH_MAX];
    let mut at = PATH_MAX
        .checked_sub(path.len())
        .ok_or((Errno::NAMETOOLONG, 0))?;
    copy(buf.get_mut(at..).unwrap_or_default(), path)?;
    let mut dir = if path.first() == Some(&b'/') {
        open_dir(rustix::fs::CWD, c"/")?
    } else {
        open_dir(start, c".")?
    };
    let euid = rustix::process::geteuid().as_raw();
    let mut links = 0;
    loop {
        let rest = buf.get(at..).unwrap_or_default();
        let skip = rest.iter().take_while(|&&b| b == b'/').count();
        let rest = rest.get(skip..).unwrap_or_default();
        if rest.is_empty() {
            return Ok(dir);
        }
        let len = rest.iter().position(|&b| b == b'/').unwrap_or(rest.len());
        let mut name = [0_u8; NAME_MAX + 1];
        let component = rest.get(..len).unwrap_or_default();
        // At most NAME_MAX bytes: the NUL after them stays.
        copy(name.get_mut(..NAME_MAX).unwrap_or_default(), component)?;
        let name = name
            .get(..=len)
            .and_then(crate::sys::c_str)
            .ok_or((Errno::NAMETOOLONG, 0))?;
        at += skip + len;
        let next = rustix::fs::openat(
            &dir,
            name,
            OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| (e, 0))?;
        // fstatat(fd, "", AT_EMPTY_PATH): what `fstat` says, told apart from the checks of
        // the files themselves in a trace.
        let st = rustix::fs::statat(&next, c"", AtFlags::EMPTY_PATH).map_err(|e| (e, 0))?;
        match FileType::from_raw_mode(st.st_mode) {
            FileType::Directory => dir = next,
            FileType::Symlink => {
                if st.st_uid != 0 && st.st_uid != euid {
                    return Err((Errno::LOOP, Error::FOREIGN_LINK));
                }
                links += 1;
                if links > MAX_LINKS {
                    return Err((Errno::LOOP, 0));
                }
                // The link itself, through its O_PATH descriptor: not another one swapped in
                // at the same name meanwhile.
                let mut target = [0_u8; PATH_MAX];
                let n =
                    rustix::fs::readlinkat_raw(&next, c"", &mut target[..]).map_err(|e| (e, 0))?;
                let target = target.get(..n).unwrap_or_default();
                if n >= PATH_MAX || target.is_empty() {
                    return Err((Errno::NAMETOOLONG, 0));
                }
                at = at.checked_sub(n).ok_or((Errno::NAMETOOLONG, 0))?;
                copy(buf.get_mut(at..).unwrap_or_default(), target)?;
                if target.first() == Some(&b'/') {
                    dir = open_dir(rustix::fs::CWD, c"/")?;
                }
                // A relative target goes on from the link's own directory, `dir`.
            }
            _ => return Err((Errno::NOTDIR, 0)),
        }
    }
}

/// `src` into the start of `dst`, which must be as long at least (`ENAMETOOLONG` otherwise).
fn copy(dst: &mut [u8], src: &[u8]) -> Result<(), Refusal> {
    if src.len() > dst.len() {
        return Err((Errno::NAMETOOLONG, 0));
    }
    for (d, s) in dst.iter_mut().zip(src) {
        *d = *s;
    }
    Ok(())
}

/// A directory, `O_PATH`.
fn open_dir(at: BorrowedFd<'_>, path: &CStr) -> Result<OwnedFd, Refusal> {
    let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
    rustix::fs::openat(at, path, flags, Mode::empty()).map_err(|e| (e, 0))
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
/// Those of [`parent`]; `EPERM` with [`Error::FOREIGN_OWNER`] or [`Error::HARD_LINKED`],
/// `EINVAL` with [`Error::NOT_REGULAR`] for another kind of file, `ELOOP` with
/// [`Error::IS_SYMLINK`] for a symbolic link at the path itself, and those of open(2)
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
    let flags = OFlags::WRONLY | OFlags::APPEND;
    // `ELOOP` with `O_NOFOLLOW`: the name is a symbolic link.
    let refused = |e| match e {
        Errno::LOOP => (e, Error::IS_SYMLINK),
        _ => (e, 0),
    };
    let (fd, created) = match open_in(&dir, name, flags | OFlags::CREATE | OFlags::EXCL, mode) {
        Ok(fd) => (fd, true),
        Err(Errno::EXIST) => (open_in(&dir, name, flags, mode).map_err(refused)?, false),
        Err(e) => return Err(refused(e)),
    };
    let checked = rustix::fs::fstat(&fd).map_err(|e| (e, 0)).and_then(|st| {
        if !created {
            check_log(&st, user)?;
        }
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            rustix::fs::fcntl_setfl(&fd, OFlags::APPEND).map_err(|e| (e, 0))?;
        }
        Ok(FileId::of(&st))
    });
    match checked {
        Ok(id) => Ok(Log { fd, created, id }),
        Err(e) => {
            if created {
                let _ = rustix::fs::unlinkat(&dir, name, AtFlags::empty());
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
        _ => return Err((Errno::INVAL, Error::NOT_REGULAR)),
    }
    let uid = st.st_uid;
    if uid != 0 && uid != rustix::process::geteuid().as_raw() && Some(uid) != user {
        return Err((Errno::PERM, Error::FOREIGN_OWNER));
    }
    if kind == FileType::RegularFile && st.st_nlink != 1 {
        return Err((Errno::PERM, Error::HARD_LINKED));
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
