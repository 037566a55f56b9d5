//! What the original process learns about itself from `/proc/self/status` before the fork:
//! its thread count and which signals are not at their default disposition.
//!
//! One read of one file replaces 64 `sigaction` queries; without `/proc` (early boot) the
//! caller falls back to resetting every signal and skips the thread check.
//!
//! Runs in the launcher (its own status, before the fork) and in the `-R` supervisor
//! (`read_status_of`, after the fork: a stack buffer, no allocation, no panics).

use rustix::fs::{Mode, OFlags};

/// The fields of `/proc/self/status` the start needs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Status {
    /// `Threads:`
    pub threads: u32,
    /// `SigBlk:` (signal `n` is bit `n - 1`)
    pub blocked: u64,
    /// `SigIgn:`
    pub ignored: u64,
    /// `SigCgt:`
    pub caught: u64,
    /// `Umask:` (Linux 4.7 and later), which spares the daemon a `umask` call that would
    /// change nothing.
    pub umask: Option<u32>,
}

/// Reads `/proc/self/status` into a stack buffer; `None` if it cannot be read or parsed.
///
/// # References
///  - [proc_pid_status(5)](https://man7.org/linux/man-pages/man5/proc_pid_status.5.html)
pub(crate) fn read_status() -> Option<Status> {
    read_status_at(c"/proc/self/status")
}

/// Reads `/proc/PID/status` of another process (the respawn supervisor's child, whose pid
/// cannot be reused while it is not reaped); `None` if it cannot be read or parsed. Runs
/// after the fork (the supervisor): no panics, no unchecked indexing here or below.
///
/// # References
///  - [proc_pid_status(5)](https://man7.org/linux/man-pages/man5/proc_pid_status.5.html)
pub(crate) fn read_status_of(pid: u32) -> Option<Status> {
    let mut digits = [0_u8; 10];
    let digits = crate::decimal::format_u32(pid, &mut digits);
    let mut path = [0_u8; 24];
    let path = crate::lines::join(&mut path, &[b"/proc/", digits, b"/status\0"])?;
    read_status_at(crate::sys::c_str(path)?)
}

/// [`read_status`] of the file at `path`.
fn read_status_at(path: &core::ffi::CStr) -> Option<Status> {
    let fd = crate::sys::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()).ok()?;
    let mut buf = [0_u8; 4096];
    let mut len = 0;
    // The kernel hands the whole file to one read of this size; loop only if it did not.
    loop {
        let room = buf.get_mut(len..)?;
        let n = rustix::io::retry_on_intr(|| rustix::io::read(&fd, &mut *room)).ok()?;
        len += n;
        if let Some(status) = parse_status(buf.get(..len)?) {
            return Some(status);
        }
        if n == 0 || len == buf.len() {
            return None;
        }
    }
}

/// Parses the text of `/proc/PID/status`; `None` unless all four fields are there.
pub(crate) fn parse_status(text: &[u8]) -> Option<Status> {
    Some(Status {
        threads: u32::try_from(number(field(text, b"\nThreads:")?, 10)?).ok()?,
        blocked: number(field(text, b"\nSigBlk:")?, 16)?,
        ignored: number(field(text, b"\nSigIgn:")?, 16)?,
        caught: number(field(text, b"\nSigCgt:")?, 16)?,
        umask: field(text, b"\nUmask:")
            .and_then(|s| number(s, 8))
            .and_then(|n| u32::try_from(n).ok()),
    })
}

/// The value after `key` (which starts with a newline), up to the end of its line.
fn field<'t>(text: &'t [u8], key: &[u8]) -> Option<&'t [u8]> {
    let start = text.windows(key.len()).position(|w| w == key)? + key.len();
    let rest = text.get(start..)?;
    let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
    Some(rest.get(..end)?.trim_ascii())
}

/// A number of at most 16 digits in `radix` (8, 10 or 16).
fn number(s: &[u8], radix: u32) -> Option<u64> {
    crate::decimal::parse_u64(s, radix, 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_real_layout() {
        let text = b"Name:\tsleep\nUmask:\t0027\nState:\tS (sleeping)\nThreads:\t3\nSigQ:\t0/94\nSigPnd:\t0000000000000000\n\
ShdPnd:\t0000000000000000\nSigBlk:\t0000000000010000\nSigIgn:\t0000000180000001\nSigCgt:\t0000000000004002\n\
CapInh:\t0000000000000000\n";
        let s = parse_status(text).unwrap();
        assert_eq!(
            s,
            Status {
                threads: 3,
                blocked: 0x10000,
                ignored: 0x1_8000_0001,
                caught: 0x4002,
                umask: Some(0o027),
            }
        );
    }

    #[test]
    fn umask_is_optional() {
        // Before Linux 4.7 there is no Umask line.
        let s = parse_status(b"\nThreads:\t1\nSigBlk:\t0\nSigIgn:\t0\nSigCgt:\t0\n").unwrap();
        assert_eq!(s.umask, None);
        let s = parse_status(b"\nUmask:\t9\nThreads:\t1\nSigBlk:\t0\nSigIgn:\t0\nSigCgt:\t0\n");
        assert_eq!(s.unwrap().umask, None);
    }

    #[test]
    fn refuses_incomplete_or_garbage() {
        // A thread count that does not fit is not read as its low bits.
        assert_eq!(
            parse_status(b"\nThreads:\t4294967297\nSigBlk:\t0\nSigIgn:\t0\nSigCgt:\t0\n"),
            None
        );
        assert_eq!(parse_status(b"Threads:\t1\nSigBlk:\t0\nSigIgn:\t0\n"), None);
        assert_eq!(
            parse_status(b"Threads:\tx\nSigBlk:\t0\nSigIgn:\t0\nSigCgt:\t0\n"),
            None
        );
        assert_eq!(
            parse_status(b"Threads:\t1\nSigBlk:\tzz\nSigIgn:\t0\nSigCgt:\t0\n"),
            None
        );
    }

    #[test]
    fn reads_own_status() {
        let s = read_status().expect("/proc/self/status");
        assert!(s.threads >= 1);
        let pid = std::process::id();
        let of = read_status_of(pid).expect("/proc/PID/status");
        assert!(of.threads >= 1);
        assert_eq!(read_status_of(0), None);
    }
}
