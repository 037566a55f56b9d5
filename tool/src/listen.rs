//! Socket activation passed through (`LISTEN_FDS`, `LISTEN_PID`, `LISTEN_FDNAMES`), in the
//! launching process (the tool never runs its own code after a fork: the library does): the
//! descriptors the activator passed (3 to 3+n-1) are kept for PROGRAM without `-k`, and
//! `LISTEN_PID` becomes PROGRAM's pid, filled in by the process that executes it.

use rawdaemon::ListenPid;

use crate::args::MAX_REPEATS;
use crate::env;

/// The most descriptors passed through.
pub const MAX_LISTEN: usize = 256;

/// PROGRAM's `LISTEN_PID=` entry, filled in after the fork.
pub static LISTEN_PID: ListenPid = ListenPid::new();

/// How many descriptors were passed to this very process: `LISTEN_FDS` when `LISTEN_PID`
/// names this process (as `sd_listen_fds(3)` checks: variables inherited from an ancestor
/// name another pid and are left alone), else 0. `Err` with the value if it is more than
/// [`MAX_LISTEN`] or not a number.
///
/// # Safety
///
/// Every entry of `environ` before a null is a NUL-terminated string.
pub unsafe fn passed(environ: &[*const u8]) -> Result<usize, &[u8]> {
    // SAFETY: the caller's contract.
    let (pid, fds) = unsafe {
        (
            env::find(environ, b"LISTEN_PID"),
            env::find(environ, b"LISTEN_FDS"),
        )
    };
    // getpid only when both are there: a start without them makes no extra system call.
    let mine = |p| number(p) == Some(rustix::process::getpid().as_raw_nonzero().get() as usize);
    match (pid, fds) {
        (Some(p), Some(n)) if mine(p) => number(n).filter(|&n| n <= MAX_LISTEN).ok_or(n),
        _ => Ok(0),
    }
}

/// A decimal number of at most nine digits.
fn number(s: &[u8]) -> Option<usize> {
    if s.is_empty() || s.len() > 9 {
        return None;
    }
    s.iter().try_fold(0_usize, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + usize::from(b - b'0'))
    })
}

/// `-k`'s descriptors and the `n` passed ones (3 to 3+n-1), in `out`.
pub fn keep<'o>(kept: &[i32], n: usize, out: &'o mut [i32; MAX_REPEATS + MAX_LISTEN]) -> &'o [i32] {
    let mut len = 0;
    let passed = (3..).take(n);
    for (slot, fd) in out.iter_mut().zip(kept.iter().copied().chain(passed)) {
        *slot = fd;
        len += 1;
    }
    out.get(..len).unwrap_or_default()
}

/// Points PROGRAM's `LISTEN_PID` entry at [`LISTEN_PID`].
///
/// # Safety
///
/// Every entry of `envp` before a null is a NUL-terminated string.
pub unsafe fn rewrite(envp: &mut [*const u8]) {
    for entry in envp.iter_mut().take_while(|p| !p.is_null()) {
        // SAFETY: the caller's contract.
        let text = unsafe { core::ffi::CStr::from_ptr(entry.cast()) }.to_bytes();
        if text.starts_with(b"LISTEN_PID=") {
            *entry = LISTEN_PID.as_ptr();
        }
    }
}
