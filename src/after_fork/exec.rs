//! The daemon's (or the supervisor's child's) last act: `execve` of the program, searching
//! `PATH` here, after the root directory and the user have changed, when asked to.
//!
//! Runs after the fork: a stack buffer, raw system calls, no allocation, no panics.

use rustix::fs::Access;
use rustix::io::Errno;

use crate::config::Exec;
use crate::sys;

/// Room for one candidate path and its NUL (Linux's `PATH_MAX`).
const PATH_MAX: usize = 4096;

/// Executes the program; returns only the error that stopped it.
///
/// With [`Exec::search_path`] and a name without a `/`, each absolute directory of that
/// `PATH` is tried in turn, as `execvp(3)` does but as the process's own (final) user: a
/// directory it may not search, or that does not have the program, is skipped; a program
/// found but not executable by it is remembered and gives `EACCES` if nothing else is found,
/// else `ENOENT`. Relative entries (`.`, an empty one) are skipped: the working directory
/// is the daemon's by now, not the launcher's. Any other error ends the search.
///
/// # Safety
///
/// The strings `exec`'s `argv` and `envp` point to are valid, and both arrays end with a
/// null (checked before the fork).
///
/// # References
///  - [execve(2)](https://man7.org/linux/man-pages/man2/execve.2.html)
///  - [execvp(3)](https://man7.org/linux/man-pages/man3/execvp.3.html)
///  - [access(2)](https://man7.org/linux/man-pages/man2/access.2.html)
pub(super) unsafe fn run(exec: &Exec<'_>) -> Errno {
    if let Some(slot) = exec.listen_pid {
        // Socket activation: the pid is this process's, the program's to be.
        let pid = rustix::process::getpid().as_raw_nonzero().get() as u32;
        // SAFETY: this process is about to execve and holds no reference into the slot.
        unsafe { slot.fill(pid) };
    }
    let name = exec.path.to_bytes();
    let (argv, envp) = (exec.argv.as_ptr(), exec.envp.as_ptr());
    let search = !name.is_empty() && !crate::lines::has_byte(name, b'/');
    let Some(path) = exec.search.filter(|_| search) else {
        // SAFETY: the caller's contract.
        return unsafe { sys::execve(exec.path, argv, envp) };
    };
    let mut denied = false;
    let mut buf = [0_u8; PATH_MAX];
    for dir in crate::lines::Fields::new(path, b':') {
        if dir.first() != Some(&b'/') {
            continue;
        }
        let Some(candidate) =
            crate::lines::join(&mut buf, &[dir, b"/", name, b"\0"]).and_then(sys::c_str)
        else {
            continue; // too long for PATH_MAX: skipped, as a shell skips it
        };
        // SAFETY: the caller's contract; `candidate` is a valid C string.
        match unsafe { sys::execve(candidate, argv, envp) } {
            Errno::NOENT | Errno::NOTDIR | Errno::LOOP | Errno::NAMETOOLONG => {}
            // A directory this user may not search has nothing for it; a file it can see
            // but not execute is remembered.
            Errno::ACCESS => denied |= rustix::fs::access(candidate, Access::EXISTS).is_ok(),
            e => return e,
        }
    }
    if denied { Errno::ACCESS } else { Errno::NOENT }
}
