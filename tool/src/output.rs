//! The launching process's output (the tool never runs its own code after a fork: the
//! library does): its descriptors 1 and 2, whole writes, and the usage error line.

use rawdaemon::{Error, Message};
use rustix::fd::BorrowedFd;
use rustix::io::Errno;

/// A usage error on stderr: `rawdaemon: WHAT[: ARG] (try --help)`; returns 2, its exit
/// status.
pub fn usage_error(what: &str, arg: &[u8]) -> i32 {
    let mut m = Message::new();
    m.push_str("rawdaemon: ").push_str(what);
    if !arg.is_empty() {
        m.push_str(": ").push(arg);
    }
    m.push_str(" (try --help)");
    m.write_line(stderr());
    2
}

/// A failure on stderr: `rawdaemon: step SUBJECT: cause`.
pub fn report(error: &Error, subject: &[u8]) {
    error
        .message("rawdaemon", Some(subject))
        .write_line(stderr());
}

/// Writes all of `bytes` to `fd`, retrying after a signal: whether it could.
///
/// # References
///  - [write(2)](https://man7.org/linux/man-pages/man2/write.2.html)
pub fn print(fd: BorrowedFd<'_>, bytes: &[u8]) -> bool {
    let mut rest = bytes;
    while !rest.is_empty() {
        match rustix::io::write(fd, rest) {
            Ok(n) if n > 0 => rest = rest.get(n..).unwrap_or_default(),
            Err(Errno::INTR) => {}
            _ => return false,
        }
    }
    true
}

/// Descriptor 1.
pub fn stdout() -> BorrowedFd<'static> {
    // SAFETY: descriptor 1 is only written to; a closed one fails with EBADF.
    unsafe { BorrowedFd::borrow_raw(1) }
}

/// Descriptor 2.
pub fn stderr() -> BorrowedFd<'static> {
    // SAFETY: as for stdout.
    unsafe { BorrowedFd::borrow_raw(2) }
}
