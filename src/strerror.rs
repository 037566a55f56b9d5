//! `strerror` without a C library: the messages glibc and musl print for the errnos a
//! daemon start can meet.
//!
//! The texts are packed at compile time into one byte string, each behind its errno and
//! ended by a NUL, and found by a scan: a `match` would add a jump table and code for each
//! of them.
//!
//! Runs in any process, after a fork too: no allocation, no panics.

/// The errnos and their texts (only read at compile time).
const TEXTS: [(u8, &str); 50] = [
    (1, "Operation not permitted"),                            // EPERM
    (2, "No such file or directory"),                          // ENOENT
    (3, "No such process"),                                    // ESRCH
    (4, "Interrupted system call"),                            // EINTR
    (5, "Input/output error"),                                 // EIO
    (6, "No such device or address"),                          // ENXIO
    (7, "Argument list too long"),                             // E2BIG
    (8, "Exec format error"),                                  // ENOEXEC
    (9, "Bad file descriptor"),                                // EBADF
    (10, "No child processes"),                                // ECHILD
    (11, "Resource temporarily unavailable"),                  // EAGAIN
    (12, "Cannot allocate memory"),                            // ENOMEM
    (13, "Permission denied"),                                 // EACCES
    (14, "Bad address"),                                       // EFAULT
    (16, "Device or resource busy"),                           // EBUSY
    (17, "File exists"),                                       // EEXIST
    (18, "Invalid cross-device link"),                         // EXDEV
    (19, "No such device"),                                    // ENODEV
    (20, "Not a directory"),                                   // ENOTDIR
    (21, "Is a directory"),                                    // EISDIR
    (22, "Invalid argument"),                                  // EINVAL
    (23, "Too many open files in system"),                     // ENFILE
    (24, "Too many open files"),                               // EMFILE
    (25, "Inappropriate ioctl for device"),                    // ENOTTY
    (26, "Text file busy"),                                    // ETXTBSY
    (27, "File too large"),                                    // EFBIG
    (28, "No space left on device"),                           // ENOSPC
    (29, "Illegal seek"),                                      // ESPIPE
    (30, "Read-only file system"),                             // EROFS
    (31, "Too many links"),                                    // EMLINK
    (32, "Broken pipe"),                                       // EPIPE
    (34, "Numerical result out of range"),                     // ERANGE
    (35, "Resource deadlock avoided"),                         // EDEADLK
    (36, "File name too long"),                                // ENAMETOOLONG
    (37, "No locks available"),                                // ENOLCK
    (38, "Function not implemented"),                          // ENOSYS
    (40, "Too many levels of symbolic links"),                 // ELOOP
    (88, "Socket operation on non-socket"),                    // ENOTSOCK
    (98, "Address already in use"),                            // EADDRINUSE
    (111, "Connection refused"),                               // ECONNREFUSED
    (110, "Connection timed out"),                             // ETIMEDOUT
    (122, "Disk quota exceeded"),                              // EDQUOT
    (95, "Operation not supported"),                           // EOPNOTSUPP
    (39, "Directory not empty"),                               // ENOTEMPTY
    (116, "Stale file handle"),                                // ESTALE
    (80, "Accessing a corrupted shared library"),              // ELIBBAD
    (75, "Value too large for defined data type"),             // EOVERFLOW
    (84, "Invalid or incomplete multibyte or wide character"), // EILSEQ
    (104, "Connection reset by peer"),                         // ECONNRESET
    (105, "No buffer space available"),                        // ENOBUFS
];

/// The size of [`PACKED`]: an errno byte, the text and a NUL for each.
#[allow(clippy::indexing_slicing)] // evaluated by the compiler: out of bounds fails the build
const PACKED_LEN: usize = {
    let mut len = 0;
    let mut i = 0;
    while i < TEXTS.len() {
        len += TEXTS[i].1.len() + 2;
        i += 1;
    }
    len
};

/// `errno, text..., 0` for every entry of [`TEXTS`].
#[allow(clippy::indexing_slicing)] // evaluated by the compiler: out of bounds fails the build
static PACKED: [u8; PACKED_LEN] = {
    let mut out = [0_u8; PACKED_LEN];
    let mut at = 0;
    let mut i = 0;
    while i < TEXTS.len() {
        let (errno, text) = TEXTS[i];
        out[at] = errno;
        at += 1;
        let text = text.as_bytes();
        let mut j = 0;
        while j < text.len() {
            out[at] = text[j];
            at += 1;
            j += 1;
        }
        at += 1; // the NUL
        i += 1;
    }
    out
};

/// The text for `errno`, if it is one of those listed.
pub(crate) fn strerror(errno: u16) -> Option<&'static [u8]> {
    let mut rest: &'static [u8] = &PACKED;
    while let [number, tail @ ..] = rest {
        let end = tail.iter().position(|&b| b == 0).unwrap_or(tail.len());
        let (text, next) = tail.split_at(end);
        if u16::from(*number) == errno {
            return Some(text);
        }
        rest = next.get(1..).unwrap_or_default();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_is_found() {
        for (errno, text) in TEXTS {
            assert_eq!(strerror(u16::from(errno)), Some(text.as_bytes()));
        }
        assert_eq!(strerror(0), None);
        assert_eq!(strerror(33), None);
        assert_eq!(strerror(4000), None);
    }
}
