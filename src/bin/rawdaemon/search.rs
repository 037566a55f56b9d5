//! Finding PROGRAM as a shell does, into a fixed buffer: a name with a `/` is taken as a path
//! (made absolute, since the daemon changes directory before it executes it), any other name
//! is looked up in each directory of `PATH`.

use core::ffi::CStr;

use rustix::fs::{Access, FileType};
use rustix::io::Errno;

/// Room for one path (Linux's `PATH_MAX`).
pub const PATH_MAX: usize = 4096;

/// Where the resolved path is built.
pub struct PathBuf {
    buf: [u8; PATH_MAX],
    len: usize,
}

impl PathBuf {
    pub const fn new() -> Self {
        PathBuf {
            buf: [0; PATH_MAX],
            len: 0,
        }
    }

    fn clear(&mut self) {
        self.len = 0;
    }

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
        self.buf[self.len] = 0;
        CStr::from_bytes_with_nul(&self.buf[..=self.len]).unwrap_or(c"")
    }
}

/// The default search path when `PATH` is not set.
const DEFAULT_PATH: &[u8] = b"/usr/local/bin:/usr/bin:/bin";

/// Resolves `name` into `out`, with `path` the value of `PATH` if it is set.
///
/// # Errors
///
/// `ENOENT` if no directory has it, `EACCES` if one has it but it is not executable (as a
/// shell reports), `ENAMETOOLONG`, or the error of `getcwd`.
pub fn resolve<'o>(
    name: &CStr,
    path: Option<&[u8]>,
    out: &'o mut PathBuf,
) -> Result<&'o CStr, Errno> {
    let bytes = name.to_bytes();
    if bytes.is_empty() {
        return Err(Errno::NOENT);
    }
    if bytes.contains(&b'/') {
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
        match rustix::fs::access(out.as_c_str(), Access::EXEC_OK) {
            Ok(()) => {
                if rustix::fs::stat(out.as_c_str())
                    .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::RegularFile)
                {
                    return Ok(out.as_c_str());
                }
                denied = true;
            }
            Err(Errno::ACCESS) => denied = true,
            Err(_) => {}
        }
    }
    Err(if denied { Errno::ACCESS } else { Errno::NOENT })
}

/// `dir/name` into `out`; an empty `dir` means the current directory.
fn candidate(dir: &[u8], name: &[u8], out: &mut PathBuf) -> Result<(), Errno> {
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
fn push_cwd(out: &mut PathBuf) -> Result<(), Errno> {
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
