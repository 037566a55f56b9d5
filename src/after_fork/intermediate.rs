//! **The intermediate process**: the only code between the two forks.
//!
//! Created by the launcher's `fork` (or its clone that shares memory, see
//! [`launcher::shared`](crate::launcher::shared)); it may call `setsid`, `fork` (or that
//! clone) and the readiness channel's send, nothing else; it ends with `_exit(0)` once its own
//! fork made the daemon (which returns from here and goes on with its steps), or with
//! `_exit(1)` after sending the failure of `setsid` or of that fork to the launcher.

use crate::error::{Error, Step};
use crate::launcher::prepare::Prepared;
use crate::ready::{self, Record};
use crate::{Runtime, sys};

/// `setsid()`, then `fork()` again; the intermediate exits at once and only the daemon (its
/// child, not a session leader, so it can never acquire a controlling terminal) returns.
///
/// With `shared` (the launcher made this process by a clone that shares its memory, and so
/// the daemon will only `execve`), the daemon is made the same way: it runs on, in this
/// process's frames, while the intermediate waits suspended until it has exec'd (or exited),
/// then exits 0 without returning. Refused, it forks instead.
///
/// A failure is sent through the readiness channel and the intermediate exits with status 1.
///
/// # Safety
///
/// The process has one thread, and `runtime` matches the process (see [`Runtime`]). With
/// `shared`: [`sys::clone_shared`]'s contract (no C library, every signal blocked, a daemon
/// that ends in `execve` or `_exit`).
///
/// # References
///  - [setsid(2)](https://man7.org/linux/man-pages/man2/setsid.2.html)
///  - [fork(2)](https://man7.org/linux/man-pages/man2/fork.2.html)
pub(crate) unsafe fn intermediate(runtime: Runtime, prep: &Prepared, shared: bool) {
    let guard = super::ExitOnUnwind::arm(runtime);
    let fail = |e: Error| -> ! {
        if let Some((_, own)) = &prep.channel {
            let _ = ready::send(own, Record::Failed(e));
        }
        sys::exit(runtime, 1)
    };
    if let Err(e) = rustix::process::setsid() {
        fail(Error::new(Step::Setsid, e));
    }
    // SAFETY: the caller's contract; `exit_zero` reads nothing.
    if shared && unsafe { sys::clone_shared(exit_zero, 0) }.is_ok() {
        guard.disarm();
        return;
    }
    // SAFETY: still one thread; the caller guarantees the runtime.
    match unsafe { sys::fork(runtime) } {
        Ok(sys::Forked::Child) => guard.disarm(),
        Ok(sys::Forked::Parent(_)) => sys::exit(runtime, 0),
        Err(e) => fail(Error::new(Step::SecondFork, e)),
    }
}

/// The intermediate once the daemon it made by [`sys::clone_shared`] has exec'd or exited:
/// `_exit(0)`, touching no memory (the daemon used this process's stack).
extern "C" fn exit_zero(_: usize, _: i32) -> ! {
    sys::exit(Runtime::NoLibc, 0)
}
