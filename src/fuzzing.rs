//! Entry points for the fuzz targets of `fuzz/` (see `fuzz/README.md`): thin wrappers that
//! make crate-private parsers callable from another crate.
//!
//! **Not part of the API.** This module is hidden from the documentation, is exempt from
//! semantic versioning, and may change or disappear in any release: nothing outside this
//! repository's fuzz targets should use it. Like the rest of the library it allocates nothing;
//! each function only forwards to the code it names.
#![doc(hidden)]

use core::ffi::CStr;

use rustix::fd::{BorrowedFd, OwnedFd};
use rustix::io::Errno;

use crate::{Credentials, Error};

/// `decimal::parse_pid`: a pid with surrounding white space.
pub fn parse_pid(bytes: &[u8]) -> Option<u32> {
    crate::decimal::parse_pid(bytes)
}

/// `decimal::parse_u64`: the one number parser of the library.
pub fn parse_u64(s: &[u8], radix: u32, max_len: usize) -> Option<u64> {
    crate::decimal::parse_u64(s, radix, max_len)
}

/// `decimal::format_u32`.
pub fn format_u32(n: u32, out: &mut [u8; 10]) -> usize {
    crate::decimal::format_u32(n, out).len()
}

/// `pidfile::read_pid`: the pid written at the start of an open
/// pid file, 0 if none.
pub fn read_pid(fd: &OwnedFd) -> u32 {
    crate::pidfile::read_pid(fd)
}

/// `credentials::lookup_in`: [`Credentials::lookup`] with the
/// paths of the passwd and group files.
pub fn lookup_in(spec: &[u8], passwd: &CStr, group: &CStr) -> Result<Credentials, Error> {
    crate::credentials::lookup_in(spec, passwd, group)
}

/// `lines::find_line`: each line of `fd` through `buf`.
pub fn find_line(
    fd: BorrowedFd<'_>,
    buf: &mut [u8],
    f: &mut dyn FnMut(&[u8]) -> bool,
) -> Result<bool, Errno> {
    crate::lines::find_line(fd, buf, f)
}

/// `lines::has_byte`.
pub fn has_byte(s: &[u8], b: u8) -> bool {
    crate::lines::has_byte(s, b)
}

/// `lines::Fields`, the library's one splitter.
#[derive(Clone, Copy)]
pub struct Fields<'a>(crate::lines::Fields<'a>);

impl<'a> Fields<'a> {
    /// The pieces of `s` between `sep` bytes.
    pub fn new(s: &'a [u8], sep: u8) -> Self {
        Fields(crate::lines::Fields::new(s, sep))
    }

    /// The pieces of `s` between bytes that are `a` or `b`.
    pub fn either(s: &'a [u8], a: u8, b: u8) -> Self {
        Fields(crate::lines::Fields::either(s, a, b))
    }

    /// What is left, separators included; `None` after the last piece.
    pub fn rest(self) -> Option<&'a [u8]> {
        self.0.rest()
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        self.0.next()
    }
}

/// `procfs::parse_status` of `/proc/PID/status` text:
/// `(threads, blocked, ignored, caught)`.
pub fn parse_status(text: &[u8]) -> Option<(u32, u64, u64, u64)> {
    crate::procfs::parse_status(text).map(|s| (s.threads, s.blocked, s.ignored, s.caught))
}

/// A record of the readiness channel (`ready::Record`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Record {
    /// The daemon is ready; its pid.
    Ready(u32),
    /// The daemon is about to `execve`; its pid.
    Exec(u32),
    /// A step failed.
    Failed(Error),
}

/// The size of every record.
pub const RECORD_LEN: usize = crate::ready::RECORD_LEN;

impl Record {
    /// `ready::Record::decode`.
    pub fn decode(b: [u8; RECORD_LEN]) -> Option<Record> {
        use crate::ready::Record as R;
        crate::ready::Record::decode(b).map(|r| match r {
            R::Ready(pid) => Record::Ready(pid),
            R::Exec(pid) => Record::Exec(pid),
            R::Failed(e) => Record::Failed(e),
        })
    }

    /// `ready::Record::encode`.
    pub fn encode(self) -> [u8; RECORD_LEN] {
        use crate::ready::Record as R;
        match self {
            Record::Ready(pid) => R::Ready(pid),
            Record::Exec(pid) => R::Exec(pid),
            Record::Failed(e) => R::Failed(e),
        }
        .encode()
    }
}

/// `control::has_words`: whether a `/proc/locks` or `fdinfo` line has both words.
pub fn has_words(line: &[u8], a: &[u8], b: &[u8]) -> bool {
    crate::control::has_words(line, a, b)
}

/// `control::parse_lock_id`: `MAJOR:MINOR:INODE` of a `/proc/locks` line.
pub fn parse_lock_id(word: &[u8]) -> Option<(u64, u64, u64)> {
    crate::control::parse_lock_id(word)
}

/// The respawn supervisor's and the logger's line splitter (`after_fork::logger::Lines`).
pub struct Lines(crate::after_fork::logger::Lines);

/// The longest line [`Lines`] hands on whole.
pub const LINE_MAX: usize = crate::after_fork::logger::LINE_MAX;

impl Lines {
    /// An empty splitter.
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        Lines(crate::after_fork::logger::Lines::new())
    }

    /// Feeds bytes; `line` gets every complete line, and a line that fills the buffer, cut.
    pub fn feed(&mut self, data: &[u8], line: &mut dyn FnMut(&[u8])) {
        self.0.feed(data, line)
    }

    /// At end-of-file: a last line without a newline.
    pub fn finish(&mut self, line: &mut dyn FnMut(&[u8])) {
        self.0.finish(line)
    }
}
