//! Finding PROGRAM as a shell does, into a fixed buffer: a name with a `/` is taken as a path
//! (made absolute, since the daemon changes directory before it executes it), any other name
//! is looked up in each directory of `PATH`.

use core::ffi::CStr;

use rustix::fs::{Access, FileType};
use rustix::io::Errno;

use crate::cstr::c_str;

/// Room for one path (Linux's `PATH_MAX`).
pub const PATH_MAX: usize = 4096;

/// A fixed-size buffer holding one candidate path for PROGRAM, and in the end the one found.
pub struct PathBuffer {
    buf: [u8; PATH_MAX],
    len: usize,
}

impl PathBuffer {
    pub const fn new() -> Self {
        PathBuffer {
            buf: [0; PATH_MAX],
            len: 0,
        }
    }

    fn clear(&mut self) {
        self.len = 0;
    }

    // Never inlined: it is called from ten places.
    #[inline(never)]
    fn push(&mut self, bytes: &[u8]) -> Result<(), Errno> {
        // Keep one byte for the terminating NUL.
        let end = self.len + bytes.len();
        if end >= PATH_MAX {
            return Err(Errno::NAMETOOLONG);
        }
        self.buf[self.len..end].copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }

    fn as_c_str(&mut self) -> &CStr {
        self.tail(0)
    }

    /// The path from byte `from` on (past a chroot directory's prefix).
    fn tail(&mut self, from: usize) -> &CStr {
        self.buf[self.len] = 0;
        c_str(&self.buf[from.min(self.len)..=self.len]).unwrap_or(c"")
    }
}

/// The default search path when `PATH` is not set.
pub const DEFAULT_PATH: &[u8] = b"/usr/local/bin:/usr/bin:/bin";

/// Resolves `name` into `out`, with `path` the value of `PATH` if it is set.
///
/// With `root` (a chroot directory) the program is looked for inside it, and the path
/// returned is the one seen from inside: a name with a `/` must then be absolute, and
/// relative `PATH` entries are skipped.
///
/// # Errors
///
/// `ENOENT` if no directory has it, `EACCES` if one has it but it is not executable (as a
/// shell reports), `ENAMETOOLONG`, or the error of `getcwd`.
pub fn resolve<'o>(
    name: &CStr,
    path: Option<&[u8]>,
    root: Option<&[u8]>,
    out: &'o mut PathBuffer,
) -> Result<&'o CStr, Errno> {
    let bytes = name.to_bytes();
    if bytes.is_empty() {
        return Err(Errno::NOENT);
    }
    if let Some(root) = root {
        return resolve_inside(bytes, path, root, out);
    }
    if has_slash(bytes) {
        out.clear();
        if bytes[0] != b'/' {
            push_cwd(out)?;
            out.push(b"/")?;
        }
        out.push(bytes)?;
        return Ok(out.as_c_str());
    }
    let mut denied = false;
    for dir in path.unwrap_or(DEFAULT_PATH).split(|&b| b == b':') {
        // An entry that cannot be made into a path (too long, or relative with no current
        // directory) is skipped, as a shell skips it.
        if candidate(dir, bytes, out).is_err() {
            continue;
        }
        match executable(out.as_c_str()) {
            Ok(()) => return Ok(out.as_c_str()),
            Err(Errno::ACCESS) => denied = true,
            Err(_) => {}
        }
    }
    Err(if denied { Errno::ACCESS } else { Errno::NOENT })
}

/// [`resolve`] inside the directory `root`.
fn resolve_inside<'o>(
    name: &[u8],
    path: Option<&[u8]>,
    root: &[u8],
    out: &'o mut PathBuffer,
) -> Result<&'o CStr, Errno> {
    let root = match root {
        [rest @ .., b'/'] => rest,
        _ => root,
    };
    let mut denied = false;
    let dirs = if has_slash(name) {
        if name[0] != b'/' {
            return Err(Errno::NOENT);
        }
        b"" as &[u8]
    } else {
        path.unwrap_or(DEFAULT_PATH)
    };
    for dir in dirs.split(|&b| b == b':') {
        if !has_slash(name) && dir.first() != Some(&b'/') {
            continue;
        }
        out.clear();
        let built = out.push(root).and_then(|()| {
            if has_slash(name) {
                out.push(name)
            } else {
                out.push(dir)?;
                out.push(b"/")?;
                out.push(name)
            }
        });
        if built.is_err() {
            continue;
        }
        match executable(out.as_c_str()) {
            Ok(()) => return Ok(out.tail(root.len())),
            Err(Errno::ACCESS) => denied = true,
            Err(_) => {}
        }
    }
    Err(if denied { Errno::ACCESS } else { Errno::NOENT })
}

/// Whether `s` holds a `/`: a plain loop, where `contains` brings `memchr`'s word-at-a-time
/// code to each of its callers.
#[allow(clippy::manual_contains, reason = "see above")]
fn has_slash(s: &[u8]) -> bool {
    s.iter().any(|&b| b == b'/')
}

/// A regular file with execute permission: `Ok`; one that exists but is not: `EACCES`.
fn executable(path: &CStr) -> Result<(), Errno> {
    rustix::fs::access(path, Access::EXEC_OK)?;
    match rustix::fs::stat(path) {
        Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::RegularFile => Ok(()),
        _ => Err(Errno::ACCESS),
    }
}

/// `dir/name` into `out`; an empty `dir` means the current directory.
fn candidate(dir: &[u8], name: &[u8], out: &mut PathBuffer) -> Result<(), Errno> {
    out.clear();
    if dir.first() != Some(&b'/') {
        push_cwd(out)?;
        if !dir.is_empty() {
            out.push(b"/")?;
        }
    }
    out.push(dir)?;
    out.push(b"/")?;
    out.push(name)
}

/// Appends the current directory (the raw `getcwd` system call: the libc function would
/// link `malloc` for the case of a null buffer).
///
/// # References
///  - [getcwd(2)](https://man7.org/linux/man-pages/man2/getcwd.2.html)
fn push_cwd(out: &mut PathBuffer) -> Result<(), Errno> {
    let start = out.len;
    let room = PATH_MAX - start - 1;
    // SAFETY: the buffer past `start` is writable for `room` bytes.
    let ret = unsafe { libc::syscall(libc::SYS_getcwd, out.buf[start..].as_mut_ptr(), room) };
    if ret < 0 {
        // SAFETY: `__errno_location` gives this thread's errno.
        return Err(Errno::from_raw_os_error(unsafe {
            *libc::__errno_location()
        }));
    }
    // The kernel returns the length including the terminating NUL.
    out.len = start + (ret as usize).saturating_sub(1);
    Ok(())
}
