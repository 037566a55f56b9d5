//! System calls a program with no C library needs beside a start, which rustix offers only
//! with an allocator. Run by whichever process calls them.

use rustix::io::Errno;

use crate::sys;

/// SIGPIPE, for [`Runtime::ignore_signal`](crate::Runtime::ignore_signal).
pub const SIGPIPE: i32 = sys::SIGPIPE;

/// The current directory into `buf`, NUL-terminated; returns its length without the NUL.
///
/// # Errors
///
/// `ERANGE` if it does not fit, `ENOENT` if the directory was removed, as `getcwd(2)`;
/// `ENOENT` too for a directory outside the process's root (which the system call returns
/// as a path starting with `(unreachable)`).
///
/// # References
///  - [getcwd(2)](https://man7.org/linux/man-pages/man2/getcwd.2.html)
///
/// # Examples
///
/// ```
/// let mut buf = [0_u8; 4096];
/// let len = rawdaemon::raw::getcwd(&mut buf).unwrap();
/// assert_eq!(buf[len], 0);
/// assert!(buf[..len].starts_with(b"/"));
/// assert_eq!(rawdaemon::raw::getcwd(&mut [0_u8; 1]), Err(rawdaemon::Errno::RANGE));
/// ```
pub fn getcwd(buf: &mut [u8]) -> Result<usize, Errno> {
    sys::getcwd(buf)
}
