//! The log files that rotate themselves and stamp their lines ([`Daemon::log_rotation`],
//! [`Daemon::log_timestamps`]): [`LogFile`] writes the program's output into a file that is
//! one of its process's standard descriptors (1 or 2), whole lines at a time.
//!
//! Runs in the logging process ([`logger`](super::logger)) and in the `-R` supervisor
//! ([`supervisor`](super::supervisor)), on the file and its directory opened before the
//! fork. Never waits for the disk: a line that cannot be written (a full file system, the
//! file size limit) is dropped and counted, and the count is written as a line of its own
//! once a line gets through again.
//!
//! Safety of the rotation, which often runs as root in a directory others may write: every
//! rename is `renameat` relative to the directory's descriptor (a symbolic link planted on
//! the way later is never followed, and neither is one at a name: a rename moves the link
//! itself); `FILE` is renamed only while it is still the file being written; the new file is
//! opened by the rules of [`open_log`](crate::path::open_log) (created exclusively, or an
//! existing one only if it is a plain file of root, this user or the daemon's user, with no
//! other link). Something other than a plain file or a symbolic link at a rotated name (a
//! directory or a FIFO another user put there) is never moved or removed: the file then
//! cannot rotate, says so once, and grows no further than its size, its lines dropped and
//! counted as on a full disk.
//!
//! [`Daemon::log_rotation`]: crate::Daemon::log_rotation
//! [`Daemon::log_timestamps`]: crate::Daemon::log_timestamps

use core::ffi::CStr;

use rustix::fd::{BorrowedFd, OwnedFd};
use rustix::fs::{AtFlags, FileType, Mode};
use rustix::io::Errno;

use crate::config::{Daemon, output_path};
use crate::credentials::Credentials;
use crate::error::{Detail, Error, Step};
use crate::log::{STAMP_LEN, stamp_now};
use crate::message::{Message, write_all};
use crate::path::{FileId, Log, open_log_at};

/// The smallest size a file may rotate at: a line of the logging process's buffer and its
/// time stamp fit in it many times over.
pub const MIN_SIZE: u64 = 4096;

/// The longest piece of a line buffered: a longer line is written in pieces of this size.
/// (Small, as [`BATCH`]: the `-R` supervisor holds a [`LogFile`] per pipe, and a start must
/// fit in a small stack limit.)
const PIECE: usize = 480;

/// A time stamp and the space after it.
const STAMPED: usize = STAMP_LEN + 1;

/// What ends a line cut at the size.
const CUT_MARK: &[u8] = b"...\n";

/// The room for `FILE.N`: a file name (at most 255 bytes), a dot, three digits, the NUL.
const NAME_ROOM: usize = 261;

/// The rotation of a log file: its directory and name, and the sizes.
pub(crate) struct Rotation<'a> {
    /// The file's directory (`O_PATH`), opened safely before the program started
    /// ([`open_dirs`]).
    pub dir: OwnedFd,
    /// The file's name in it.
    pub name: &'a CStr,
    /// The size a file rotates at.
    pub max: u64,
    /// How many rotated files are kept.
    pub keep: u32,
}

/// How much is gathered before a write: the lines of one read from the pipe go out in a few
/// writes, not one each.
const BATCH: usize = 512;

/// The descriptor a log file is written through: whole lines gathered in a batch, the
/// count of those the file refused, and what the writes tell of the file.
struct Out<'a> {
    /// 1 or 2.
    target: i32,
    batch: [u8; BATCH],
    len: usize,
    /// A write stopped in the middle of a line: the next line starts on a new one.
    broken: bool,
    /// The line being gathered lost a part: the rest of it is dropped too.
    losing: bool,
    /// Lines dropped since the last that was written.
    dropped: u32,
    /// The file's size, as the last `fstat` and the bytes gathered since tell.
    size: u64,
    /// The count of dropped lines is stamped, and starts with this name.
    stamps: bool,
    name: &'a str,
}

/// One log file, written line by line from the output of a pipe.
pub(crate) struct LogFile<'a> {
    /// The descriptor on the file (1 or 2); `both`: 1 and 2 (one file for both).
    out: Out<'a>,
    both: bool,
    rotation: Option<Rotation<'a>>,
    stamps: bool,
    /// The owner of new files (the daemon's user).
    user: Option<&'a Credentials>,
    /// The line so far (its time stamp first), not yet gathered.
    buf: [u8; STAMPED + PIECE],
    len: usize,
    /// Bytes of the current line already gathered (in pieces).
    written: u64,
    /// The rest of the current line is dropped (it was cut at the size, or the file could
    /// not rotate).
    cut: bool,
    /// The rotation failed during this read from the pipe: the lines past the size are
    /// dropped without trying again until the next read.
    stuck: bool,
    /// Why the rotation failed was written; nothing more is said until it succeeds again.
    said: bool,
}

impl<'a> LogFile<'a> {
    /// The file on descriptor `target` (with `both`, on 1 and 2), rotated as `rotation` says.
    pub(crate) fn new(
        cfg: &Daemon<'a>,
        target: i32,
        both: bool,
        rotation: Option<Rotation<'a>>,
    ) -> Self {
        LogFile {
            out: Out {
                target,
                batch: [0; BATCH],
                len: 0,
                broken: false,
                losing: false,
                dropped: 0,
                size: 0,
                stamps: cfg.log_timestamps,
                name: cfg.name,
            },
            both,
            rotation,
            stamps: cfg.log_timestamps,
            user: cfg.user,
            buf: [0; STAMPED + PIECE],
            len: 0,
            written: 0,
            cut: false,
            stuck: false,
            said: false,
        }
    }

    /// Takes `data` from the pipe: every line it completes is written, a line longer than
    /// the buffer in pieces; the rest waits for its newline.
    pub(crate) fn feed(&mut self, mut data: &[u8]) {
        self.sync();
        self.stuck = false;
        while !data.is_empty() {
            if self.len == 0 && self.written == 0 && !self.cut && self.stamps {
                self.push(&stamp_now());
                self.push(b" ");
            }
            let room = self.buf.len() - self.len;
            let (take, complete) = match data.iter().position(|&b| b == b'\n') {
                Some(i) if i < room => (i + 1, true),
                _ => (data.len().min(room), false),
            };
            let (now, rest) = data.split_at_checked(take).unwrap_or((data, &[]));
            self.push(now);
            data = rest;
            if complete || self.len == self.buf.len() {
                self.emit(complete);
            }
        }
        self.out.flush();
    }

    /// At the end of the output: its last line (without a newline, as the program left it)
    /// and the count of what was dropped.
    pub(crate) fn finish(&mut self) {
        self.sync();
        self.stuck = false;
        if self.len > 0 {
            self.emit(false);
        }
        self.out.flush();
        if self.out.dropped > 0 {
            // The report goes on a line of its own.
            self.out.broken |= self.written > 0;
            self.out.report();
        }
    }

    /// Appends to the line buffer (the caller keeps within its room).
    fn push(&mut self, bytes: &[u8]) {
        if let Some(dst) = self.buf.get_mut(self.len..self.len + bytes.len()) {
            dst.copy_from_slice(bytes);
            self.len += bytes.len();
        }
    }

    /// With rotation: the size from the file itself, and a file that was renamed or removed
    /// under it (logrotate's `create`) opened again by its name. (Nothing is gathered.)
    ///
    /// # References
    ///  - [fstatat(2)](https://man7.org/linux/man-pages/man2/fstatat.2.html)
    fn sync(&mut self) {
        let Some(r) = &self.rotation else { return };
        let Ok(st) = rustix::fs::fstat(self.out.fd()) else {
            return;
        };
        self.out.size = st.st_size as u64;
        let at_name = rustix::fs::statat(&r.dir, r.name, AtFlags::SYMLINK_NOFOLLOW);
        if !at_name.is_ok_and(|n| FileId::of(&n) == FileId::of(&st)) {
            self.reopen_or_say();
        }
    }

    /// Gathers the line (or piece) in the buffer: in a new file if it would grow this one
    /// past the size; a line past the size is cut. If the file cannot rotate, the line is
    /// dropped and counted, as on a full disk: the file never grows past the size by more
    /// than a line and the reports.
    fn emit(&mut self, complete: bool) {
        let len = core::mem::take(&mut self.len);
        if self.cut {
            self.cut = !complete;
            return;
        }
        let max = self.rotation.as_ref().map_or(u64::MAX, |r| r.max);
        if self.written == 0 && self.out.size > 0 && self.out.size.saturating_add(len as u64) > max
        {
            self.out.flush();
            if !self.stuck {
                self.rotate();
            }
            if self.out.size > 0 && self.out.size.saturating_add(len as u64) > max {
                self.stuck = true;
                self.out.dropped = self.out.dropped.saturating_add(1);
                self.cut = !complete;
                return;
            }
        }
        let piece = self.buf.get(..len).unwrap_or_default();
        if self.written.saturating_add(len as u64) > max {
            let keep = max.saturating_sub(self.written + CUT_MARK.len() as u64) as usize;
            self.out.put(piece.get(..keep).unwrap_or(piece), false);
            self.out.put(CUT_MARK, true);
            self.cut = !complete;
            self.written = 0;
        } else {
            self.out.put(piece, complete);
            self.written = if complete {
                0
            } else {
                self.written.saturating_add(len as u64)
            };
        }
    }

    /// Renames `FILE.1` ... to `FILE.2` ..., `FILE` to `FILE.1` (only while it is the file
    /// being written), and starts a new `FILE`. Nothing is renamed while one of `FILE.1` ...
    /// `FILE.keep` is something other than a plain file or a symbolic link (a directory or a
    /// FIFO another user put there is never moved or removed); that, or a rename that fails,
    /// leaves the file being written in place and is said once in it (see [`emit`](Self::emit)
    /// for the lines meanwhile); the rotation is tried again at the next read.
    ///
    /// # References
    ///  - [renameat(2)](https://man7.org/linux/man-pages/man2/renameat.2.html)
    ///  - [unlinkat(2)](https://man7.org/linux/man-pages/man2/unlinkat.2.html)
    ///  - [fstatat(2)](https://man7.org/linux/man-pages/man2/fstatat.2.html)
    fn rotate(&mut self) {
        let Some(r) = &self.rotation else { return };
        let ours = rustix::fs::fstat(self.out.fd()).map(|st| FileId::of(&st));
        let at_name = rustix::fs::statat(&r.dir, r.name, AtFlags::SYMLINK_NOFOLLOW);
        if at_name.map(|st| FileId::of(&st)) != ours {
            self.reopen_or_say();
            return;
        }
        let (mut from, mut to) = ([0_u8; NAME_ROOM], [0_u8; NAME_ROOM]);
        let mut why = Message::new();
        // `what` (renamed to `to`, or removed) and how it failed.
        let mut failed = |what: &CStr, to: Option<&CStr>, how: &str| {
            why.push_str(": cannot rotate ")
                .push_path(r.name.to_bytes(), 80)
                .push_str(": ")
                .push_path(what.to_bytes(), 60);
            if let Some(to) = to {
                why.push_str(" to ").push_path(to.to_bytes(), 40);
            }
            why.push_str(how);
            false
        };
        let mut errno = None;
        let moved = if r.keep == 0 {
            match rustix::fs::unlinkat(&r.dir, r.name, AtFlags::empty()) {
                Ok(()) => true,
                Err(e) => {
                    errno = Some(e);
                    failed(r.name, None, " (removing): ")
                }
            }
        } else if let Some(n) = (1..=r.keep)
            .find(|&n| numbered(r.name, n, &mut to).is_some_and(|name| obstacle(&r.dir, name)))
        {
            let name = numbered(r.name, n, &mut to).unwrap_or(r.name);
            failed(name, None, " is not a plain file; ")
        } else {
            let mut shifted = true;
            for n in (1..r.keep).rev() {
                if let (Some(a), Some(b)) = (
                    numbered(r.name, n, &mut from),
                    numbered(r.name, n + 1, &mut to),
                ) {
                    match rustix::fs::renameat(&r.dir, a, &r.dir, b) {
                        Ok(()) | Err(Errno::NOENT) => {}
                        Err(e) => {
                            errno = Some(e);
                            shifted = failed(a, Some(b), ": ");
                            break;
                        }
                    }
                }
            }
            shifted
                && match numbered(r.name, 1, &mut to) {
                    Some(first) => match rustix::fs::renameat(&r.dir, r.name, &r.dir, first) {
                        // Gone under it (another tool's rotation): a new one is opened.
                        Ok(()) | Err(Errno::NOENT) => true,
                        Err(e) => {
                            errno = Some(e);
                            failed(r.name, Some(first), ": ")
                        }
                    },
                    None => false,
                }
        };
        if moved {
            self.reopen_or_say();
        } else if !core::mem::replace(&mut self.said, true) && !why.as_bytes().is_empty() {
            if let Some(e) = errno {
                why.push_errno(e).push_str("; ");
            }
            why.push_str("lines past the size are dropped\n");
            self.out.say(why.as_bytes());
        }
    }

    /// [`reopen`](Self::reopen) in the rotation; if `FILE` cannot be opened (another user put
    /// a directory or a FIFO there after it was renamed), says so once: the file open until
    /// then stays, and grows no further than the size.
    fn reopen_or_say(&mut self) {
        let Err(e) = self.reopen() else {
            self.said = false;
            return;
        };
        if core::mem::replace(&mut self.said, true) {
            return;
        }
        let Some(r) = &self.rotation else { return };
        let mut why = Message::new();
        why.push_str(": cannot open ")
            .push_path(r.name.to_bytes(), 80)
            .push_str(" again: ");
        match e {
            Some(e) => why.push_errno(e),
            None => why.push_str("not a plain file"),
        };
        why.push_str("; lines past the size are dropped\n");
        self.out.say(why.as_bytes());
    }

    /// Opens `FILE` (a new one, or the one another tool put there) onto the target
    /// descriptors, by the rules of [`open_log`](crate::path::open_log); a new file is given
    /// to the daemon's user. If it cannot be opened (`None`: it is not a plain file), the
    /// file open until then stays. (Nothing is gathered.)
    ///
    /// # References
    ///  - [dup2(2)](https://man7.org/linux/man-pages/man2/dup2.2.html)
    ///  - [fchown(2)](https://man7.org/linux/man-pages/man2/fchown.2.html)
    fn reopen(&mut self) -> Result<(), Option<Errno>> {
        let Some(r) = &self.rotation else {
            return Ok(());
        };
        let uid = self.user.map(Credentials::uid);
        let Log { fd, created, .. } = open_log_at(&r.dir, r.name, Mode::from(0o640), uid)
            .map_err(|(e, detail)| Some(e).filter(|_| detail != Detail::IsSymlink))?;
        let st = rustix::fs::fstat(&fd).map_err(Some)?;
        if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
            return Err(None);
        }
        if let (Some(user), true) = (self.user, created) {
            use rustix::fs::{Gid, Uid};
            let _ = rustix::fs::fchown(
                &fd,
                Some(Uid::from_raw(user.uid())),
                Some(Gid::from_raw(user.gid())),
            );
        }
        if self.out.target == 1 || self.both {
            let _ = rustix::stdio::dup2_stdout(&fd);
        }
        if self.out.target == 2 || self.both {
            let _ = rustix::stdio::dup2_stderr(&fd);
        }
        self.out.size = st.st_size as u64;
        self.out.broken = false;
        Ok(())
    }
}

impl Out<'_> {
    /// The descriptor on the file.
    fn fd(&self) -> BorrowedFd<'static> {
        // SAFETY: 1 and 2 stay open for the process's whole life (dup2 replaces them in
        // place).
        unsafe { BorrowedFd::borrow_raw(self.target) }
    }

    /// Gathers `bytes` (`ends_line`: they end a line), written when the batch is full.
    fn put(&mut self, bytes: &[u8], ends_line: bool) {
        if self.losing {
            if ends_line {
                self.losing = false;
                self.dropped = self.dropped.saturating_add(1);
            }
            return;
        }
        if self.len + bytes.len() > BATCH {
            self.flush();
            if self.losing {
                return self.put(bytes, ends_line);
            }
        }
        if let Some(dst) = self.batch.get_mut(self.len..self.len + bytes.len()) {
            dst.copy_from_slice(bytes);
            self.len += bytes.len();
            self.size = self.size.saturating_add(bytes.len() as u64);
        }
    }

    /// Writes what is gathered, never waiting: first, if lines were dropped, how many (and
    /// if that cannot be written, the batch is dropped too). What a failed write leaves is
    /// dropped and counted, line by line; a line left unfinished is ended before the next.
    ///
    /// # References
    ///  - [write(2)](https://man7.org/linux/man-pages/man2/write.2.html)
    fn flush(&mut self) {
        let len = core::mem::take(&mut self.len);
        if len == 0 {
            return;
        }
        let batch = self.batch;
        let bytes = batch.get(..len).unwrap_or_default();
        let left = if self.dropped > 0 && !self.report() {
            len
        } else {
            self.write(bytes)
        };
        if left > 0 {
            let lost = bytes.get(len - left..).unwrap_or_default();
            let lines = lost.iter().filter(|&&b| b == b'\n').count() as u32;
            self.dropped = self.dropped.saturating_add(lines);
            self.losing = lost.last() != Some(&b'\n');
            self.size = self.size.saturating_sub(left as u64);
        }
    }

    /// Writes `NAME` and `text` as a line of its own (stamped as the lines are): why the file
    /// could not rotate.
    fn say(&mut self, text: &[u8]) {
        self.flush();
        let mut m = Message::new();
        if self.stamps {
            m.push(&stamp_now()).push_str(" ");
        }
        m.push_str(self.name).push(text);
        if self.write(m.as_bytes()) == 0 {
            self.size = self.size.saturating_add(m.as_bytes().len() as u64);
        }
    }

    /// Writes `NAME: dropped N lines of output` (stamped as the lines are); whether it got
    /// through.
    fn report(&mut self) -> bool {
        let mut m = Message::new();
        if self.stamps {
            m.push(&stamp_now()).push_str(" ");
        }
        m.push_str(self.name)
            .push_str(": dropped ")
            .push_u32(self.dropped)
            .push_str(if self.dropped == 1 {
                " line of output\n"
            } else {
                " lines of output\n"
            });
        let ok = self.write(m.as_bytes()) == 0;
        if ok {
            self.size = self.size.saturating_add(m.as_bytes().len() as u64);
            self.dropped = 0;
        }
        ok
    }

    /// Writes `bytes` (after a newline if a line was left unfinished): how many were left
    /// unwritten.
    fn write(&mut self, bytes: &[u8]) -> usize {
        if self.broken {
            if write_all(self.fd(), b"\n").is_err() {
                return bytes.len();
            }
            self.size = self.size.saturating_add(1);
            self.broken = false;
        }
        match write_all(self.fd(), bytes) {
            Ok(()) => 0,
            Err((left, _)) => {
                let done = bytes.get(..bytes.len() - left).unwrap_or_default();
                self.broken = done.last().is_some_and(|&b| b != b'\n');
                left
            }
        }
    }
}

/// With rotation: the directories of the log files (`O_PATH`), stdout's and stderr's (`None`
/// for stderr's when both append to one file), resolved from `start` (relative paths) by the
/// same safe walk as the files were (no symbolic link another user owns is followed). Run by
/// the daemon before the logger's fork and before any chroot or chdir, or by the `-R`
/// supervisor from the launcher's working directory: the rotation renames relative to them,
/// never through a link planted later.
///
/// # Errors
///
/// [`Step::LogDir`] with [`Detail::Fd`] 1 or 2.
///
/// # References
///  - [openat(2)](https://man7.org/linux/man-pages/man2/openat.2.html)
pub(crate) fn open_dirs(
    cfg: &Daemon<'_>,
    start: BorrowedFd<'_>,
) -> Result<[Option<OwnedFd>; 2], Error> {
    let mut dirs = [None, None];
    if cfg.log_rotation.is_none() {
        return Ok(dirs);
    }
    let paths = [
        output_path(cfg.stdout),
        output_path(cfg.stderr).filter(|_| !cfg.same_output_file()),
    ];
    for ((dir, path), n) in dirs.iter_mut().zip(paths).zip([1, 2]) {
        if let Some(path) = path {
            let (opened, _) = crate::path::parent(start, path)
                .map_err(|(e, _)| Error::with_detail(Step::LogDir, e, Detail::Fd(n)))?;
            *dir = Some(opened);
        }
    }
    Ok(dirs)
}

/// Whether `name` in `dir` is in the way of a rotation: it is there, and neither a plain file
/// nor a symbolic link (which a rename moves or replaces as it is; a directory or a FIFO is
/// another user's and stays as it is).
fn obstacle(dir: &OwnedFd, name: &CStr) -> bool {
    rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW).is_ok_and(|st| {
        !matches!(
            FileType::from_raw_mode(st.st_mode),
            FileType::RegularFile | FileType::Symlink
        )
    })
}

/// `NAME.N` in `buf`; `None` if it does not fit.
fn numbered<'b>(name: &CStr, n: u32, buf: &'b mut [u8; NAME_ROOM]) -> Option<&'b CStr> {
    let name = name.to_bytes();
    let mut digits = [0_u8; 10];
    let digits = crate::decimal::format_u32(n, &mut digits);
    let end = name.len() + 1 + digits.len();
    buf.get_mut(..name.len())?.copy_from_slice(name);
    *buf.get_mut(name.len())? = b'.';
    buf.get_mut(name.len() + 1..end)?.copy_from_slice(digits);
    *buf.get_mut(end)? = 0;
    CStr::from_bytes_with_nul(buf.get(..=end)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_names() {
        let mut buf = [0; NAME_ROOM];
        assert_eq!(numbered(c"out.log", 1, &mut buf), Some(c"out.log.1"));
        assert_eq!(numbered(c"out.log", 999, &mut buf), Some(c"out.log.999"));
        let long = std::ffi::CString::new([b'x'; 255]).unwrap();
        assert!(numbered(&long, 999, &mut buf).is_some());
        let longer = std::ffi::CString::new([b'x'; 258]).unwrap();
        assert_eq!(numbered(&longer, 999, &mut buf), None);
    }
}
