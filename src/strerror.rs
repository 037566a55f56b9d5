//! `strerror` without a C library: the messages glibc and musl print for the errnos a
//! daemon start can meet.

/// The text for `errno`, if it is one of those listed.
pub(crate) fn strerror(errno: u16) -> Option<&'static str> {
    Some(match errno {
        1 => "Operation not permitted",                            // EPERM
        2 => "No such file or directory",                          // ENOENT
        3 => "No such process",                                    // ESRCH
        4 => "Interrupted system call",                            // EINTR
        5 => "Input/output error",                                 // EIO
        6 => "No such device or address",                          // ENXIO
        7 => "Argument list too long",                             // E2BIG
        8 => "Exec format error",                                  // ENOEXEC
        9 => "Bad file descriptor",                                // EBADF
        10 => "No child processes",                                // ECHILD
        11 => "Resource temporarily unavailable",                  // EAGAIN
        12 => "Cannot allocate memory",                            // ENOMEM
        13 => "Permission denied",                                 // EACCES
        14 => "Bad address",                                       // EFAULT
        16 => "Device or resource busy",                           // EBUSY
        17 => "File exists",                                       // EEXIST
        18 => "Invalid cross-device link",                         // EXDEV
        19 => "No such device",                                    // ENODEV
        20 => "Not a directory",                                   // ENOTDIR
        21 => "Is a directory",                                    // EISDIR
        22 => "Invalid argument",                                  // EINVAL
        23 => "Too many open files in system",                     // ENFILE
        24 => "Too many open files",                               // EMFILE
        25 => "Inappropriate ioctl for device",                    // ENOTTY
        26 => "Text file busy",                                    // ETXTBSY
        27 => "File too large",                                    // EFBIG
        28 => "No space left on device",                           // ENOSPC
        29 => "Illegal seek",                                      // ESPIPE
        30 => "Read-only file system",                             // EROFS
        31 => "Too many links",                                    // EMLINK
        32 => "Broken pipe",                                       // EPIPE
        34 => "Numerical result out of range",                     // ERANGE
        35 => "Resource deadlock avoided",                         // EDEADLK
        36 => "File name too long",                                // ENAMETOOLONG
        37 => "No locks available",                                // ENOLCK
        38 => "Function not implemented",                          // ENOSYS
        40 => "Too many levels of symbolic links",                 // ELOOP
        88 => "Socket operation on non-socket",                    // ENOTSOCK
        98 => "Address already in use",                            // EADDRINUSE
        111 => "Connection refused",                               // ECONNREFUSED
        110 => "Connection timed out",                             // ETIMEDOUT
        122 => "Disk quota exceeded",                              // EDQUOT
        95 => "Operation not supported",                           // EOPNOTSUPP
        39 => "Directory not empty",                               // ENOTEMPTY
        116 => "Stale file handle",                                // ESTALE
        80 => "Accessing a corrupted shared library",              // ELIBBAD
        75 => "Value too large for defined data type",             // EOVERFLOW
        84 => "Invalid or incomplete multibyte or wide character", // EILSEQ
        _ => return None,
    })
}
