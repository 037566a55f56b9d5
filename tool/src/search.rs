//! Finding PROGRAM as a shell does, in the launching process (the tool never runs its own
//! code after a fork: the library does), into a fixed buffer: a name with a `/` is taken as a
//! path (made absolute, since the daemon changes directory before it executes it), any other
//! name is looked up in each directory of `PATH`.

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
    /// An empty buffer.
    pub const fn new() -> Self {
        PathBuffer {
            buf: [0; PATH_MAX],
            len: 0,
        }
    }

    fn clear(&mut self) {
        self.len = 0;
    }

    /// Appends `bytes`, keeping one byte free for the terminating NUL.
    // Never inlined: it is called from eight places.
    #[inline(never)]
    fn push(&mut self, bytes: &[u8]) -> Result<(), Errno> {
        let end = self.len + bytes.len();
        // With the byte for the NUL: the slice exists only if that fits.
        let room = self.buf.get_mut(self.len..=end).ok_or(Errno::NAMETOOLONG)?;
        for (byte, &from) in room.iter_mut().zip(bytes) {
            *byte = from;
        }
        self.len = end;
        Ok(())
    }

    fn as_c_str(&mut self) -> &CStr {
        self.tail(0)
    }

    /// The path from byte `from` on (past a chroot directory's prefix).
    fn tail(&mut self, from: usize) -> &CStr {
        let Some((nul, _)) = self
            .buf
            .get_mut(self.len..)
            .and_then(<[u8]>::split_first_mut)
        else {
            return c"";
        };
        *nul = 0;
        self.buf.get(from..=self.len).and_then(c_str).unwrap_or(c"")
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
    let name = name.to_bytes();
    let slash = has_slash(name);
    let absolute = name.first() == Some(&b'/');
    match root {
        _ if name.is_empty() => Err(Errno::NOENT),
        None if slash => {
            out.clear();
            if !absolute {
                push_cwd(out)?;
                out.push(b"/")?;
            }
            out.push(name)?;
            Ok(out.as_c_str())
        }
        None => first_executable(path.unwrap_or(DEFAULT_PATH), name, None, out),
        Some(_) if slash && !absolute => Err(Errno::NOENT),
        // A path is tried alone (one empty directory).
        Some(root) => {
            let root = root.strip_suffix(b"/").unwrap_or(root);
            let dirs = if slash {
                b""
            } else {
                path.unwrap_or(DEFAULT_PATH)
            };
            first_executable(dirs, name, Some(root), out)
        }
    }
}

/// The first candidate for `name` in `dirs` (a `PATH` value) that is executable, in `out`,
/// as seen from inside `root` if there is one.
fn first_executable<'o>(
    dirs: &[u8],
    name: &[u8],
    root: Option<&[u8]>,
    out: &'o mut PathBuffer,
) -> Result<&'o CStr, Errno> {
    let mut denied = false;
    for dir in dirs.split(|&b| b == b':') {
        // An entry that cannot be made into a path (too long, or relative with no current
        // directory or inside `root`) is skipped, as a shell skips it.
        if candidate(dir, name, root, out).is_err() {
            continue;
        }
        match executable(out.as_c_str()) {
            Ok(()) => return Ok(out.tail(root.map_or(0, <[u8]>::len))),
            Err(Errno::ACCESS) => denied = true,
            Err(_) => {}
        }
    }
    Err(if denied { Errno::ACCESS } else { Errno::NOENT })
}

/// Whether `s` holds a `/`: a plain loop, where `contains` brings `memchr`'s word-at-a-time
/// code to each of its callers.
#[allow(clippy::manual_contains, reason = "see above")]
pub fn has_slash(s: &[u8]) -> bool {
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

/// `dir/name` into `out`; an empty `dir` means the current directory. Inside `root`:
/// `root/dir/name`, where `dir` must be absolute, or `root/name` for a `name` with a `/`.
fn candidate(
    dir: &[u8],
    name: &[u8],
    root: Option<&[u8]>,
    out: &mut PathBuffer,
) -> Result<(), Errno> {
    out.clear();
    let absolute = dir.first() == Some(&b'/');
    match root {
        Some(root) => {
            out.push(root)?;
            if has_slash(name) {
                return out.push(name);
            }
            if !absolute {
                return Err(Errno::NOENT);
            }
        }
        None if !absolute => {
            push_cwd(out)?;
            if !dir.is_empty() {
                out.push(b"/")?;
            }
        }
        None => {}
    }
    out.push(dir)?;
    out.push(b"/")?;
    out.push(name)
}

/// Appends the current directory (the raw `getcwd` system call).
///
/// # References
///  - [getcwd(2)](https://man7.org/linux/man-pages/man2/getcwd.2.html)
fn push_cwd(out: &mut PathBuffer) -> Result<(), Errno> {
    let start = out.len;
    let room = out.buf.get_mut(start..).ok_or(Errno::NAMETOOLONG)?;
    out.len = start + rawdaemon::raw::getcwd(room)?;
    Ok(())
}
