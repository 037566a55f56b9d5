//! **The intermediate process**: the only code between the two forks.
//!
//! Created by the launcher's `fork`; it may call `setsid`, `fork` and the readiness
//! channel's send, nothing else; it ends with `_exit(0)` once its own fork made the daemon
//! (which returns from here and goes on with its steps), or with `_exit(1)` after sending the
//! failure of `setsid` or of that fork to the launcher.

use crate::error::{Error, Step};
use crate::launcher::prepare::Prepared;
use crate::ready::{self, Record};
use crate::{Runtime, sys};

/// `setsid()`, then `fork()` again; the intermediate exits at once and only the daemon (its
/// child, not a session leader, so it can never acquire a controlling terminal) returns.
///
/// A failure is sent through the readiness channel and the intermediate exits with status 1.
///
/// # Safety
///
/// The process has one thread, and `runtime` matches the process (see [`Runtime`]).
///
/// # References
///  - [setsid(2)](https://man7.org/linux/man-pages/man2/setsid.2.html)
///  - [fork(2)](https://man7.org/linux/man-pages/man2/fork.2.html)
pub(crate) unsafe fn intermediate(runtime: Runtime, prep: &Prepared) {
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
    // SAFETY: still one thread; the caller guarantees the runtime.
    match unsafe { sys::fork(runtime) } {
        Ok(sys::Forked::Child) => guard.disarm(),
        Ok(sys::Forked::Parent(_)) => sys::exit(runtime, 0),
        Err(e) => fail(Error::new(Step::SecondFork, e)),
    }
}
