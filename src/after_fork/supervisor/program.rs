//! **The PROGRAM process**, the supervisor's child forked for each run (by
//! [`Supervisor::spawn`]): its own steps before `execve` — signals unblocked, stdio onto the
//! capture pipes, its own process group, OOM score, root, limits and user, death signal —
//! and the report of the
//! step that failed, through the status pipe the supervisor reads.
//!
//! The rules of [`after_fork`](crate::after_fork) hold; the process ends in `execve` or
//! `_exit` (127 if `execve` failed, 1 for an earlier step).

use rustix::fd::OwnedFd;
use rustix::process::Signal;

use super::Supervisor;
use super::signals::bit;
use crate::after_fork::ExitOnUnwind;
use crate::error::{Detail, Error, Step};
use crate::sys;

/// The PROGRAM process's entry: its steps, then `execve`. If a step fails, its [`Error`] is
/// written to `status` (close-on-exec: a successful `execve` shows as end-of-file) and the
/// process exits.
///
/// # References
///  - [write(2)](https://man7.org/linux/man-pages/man2/write.2.html)
///  - [_exit(2)](https://man7.org/linux/man-pages/man2/_exit.2.html)
pub(super) fn run(sup: &Supervisor<'_, '_>, status: OwnedFd) -> ! {
    let _guard = ExitOnUnwind::arm(sup.cfg.runtime);
    let e = steps(sup);
    let _ = rustix::io::write(&status, &e.to_bytes());
    sys::exit(
        sup.cfg.runtime,
        if e.step() == Step::Exec { 127 } else { 1 },
    )
}

/// Unblock signals, stdio onto the capture pipes, own group, root, directory, user, then
/// `execve`. Returns the error that stopped it.
///
/// # References
///  - [dup2(2)](https://man7.org/linux/man-pages/man2/dup2.2.html)
///  - [setpgid(2)](https://man7.org/linux/man-pages/man2/setpgid.2.html)
///  - [prctl(2)](https://man7.org/linux/man-pages/man2/prctl.2.html) (`PR_SET_PDEATHSIG`)
///  - [getppid(2)](https://man7.org/linux/man-pages/man2/getppid.2.html)
#[inline(always)] // one caller; the tool is smaller so
fn steps(sup: &Supervisor<'_, '_>) -> Error {
    if let Err(e) = sys::raw_unblock_all() {
        return Error::new(Step::Sigprocmask, e);
    }
    let [out, err] = sup.output.program_ends();
    if let Some(fd) = out {
        if let Err(e) = rustix::stdio::dup2_stdout(fd) {
            return Error::with_detail(Step::Dup2, e, Detail::Fd(1));
        }
    }
    if let Some(fd) = err {
        if let Err(e) = rustix::stdio::dup2_stderr(fd) {
            return Error::with_detail(Step::Dup2, e, Detail::Fd(2));
        }
    }
    // Its own process group, which the supervisor stops as a whole: what the program
    // starts ends with it.
    if let Err(e) = rustix::process::setpgid(None, None) {
        return Error::with_detail(Step::Respawn, e, Detail::ProcessGroup);
    }
    // While /proc is in reach (before the root directory changes).
    if let Err(e) = crate::after_fork::daemon::limits::oom_score_adj(sup.cfg) {
        return e;
    }
    if let Some(root) = sup.root {
        if let Err(e) = crate::after_fork::daemon::enter_root(root, sup.cfg.chdir) {
            return e;
        }
    }
    // The limits and capabilities around the drop to the user (if any).
    if let Err(e) = crate::after_fork::daemon::limits::around_drop(sup.cfg, sup.cfg.user) {
        return e;
    }
    // After the drop, which clears it: if the supervisor dies (even by SIGKILL), so does
    // the program, and `--stop` never leaves it behind. A supervisor that died before
    // this call is seen as a new parent.
    if let Err(e) = rustix::process::set_parent_process_death_signal(Some(Signal::KILL)) {
        return Error::with_detail(Step::Respawn, e, Detail::ParentDeath);
    }
    if rustix::process::getppid() != Some(sup.me) {
        sys::exit(sup.cfg.runtime, 1);
    }
    for sig in 32..=34 {
        if sup.reserved & bit(sig) != 0 {
            sys::raw_sigaction_default(sig);
        }
    }
    // Ignored by the supervisor (see its setup); an ignored signal would stay ignored
    // across `execve`.
    sys::raw_sigaction_default(sys::SIGPIPE);
    sys::raw_sigaction_default(sys::SIGXFSZ);
    // SAFETY: `prepare` checked that both vectors are null-terminated; the caller of
    // `start`/`detach` guaranteed that their strings are valid.
    let errno = unsafe { crate::after_fork::exec::run(&sup.exec) };
    Error::new(Step::Exec, errno)
}
