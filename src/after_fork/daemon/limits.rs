//! **The program's limits and privileges**, applied by the daemon (under `-R`, by each
//! PROGRAM process the supervisor forks) around its privilege drop: resource limits, nice
//! value, I/O and CPU scheduling and the capabilities that need privilege before it; the
//! capabilities that must survive it, and the no-new-privileges flag, after. The OOM score
//! adjustment is written earlier, while `/proc` is still in reach (before `chroot`).
//!
//! Raw system calls on the prepared values only (see [`after_fork`](crate::after_fork)).

use rustix::fs::{Mode, OFlags};
use rustix::process::Rlimit;

use super::capabilities;
use super::privileges;
use crate::credentials::Credentials;
use crate::error::{Detail, Error, Step};
use crate::limits::{Limits, UNLIMITED};

/// Writes the OOM score adjustment to `/proc/self/oom_score_adj`, if one is set. Called
/// before the root directory changes.
///
/// # Errors
///
/// [`Step::Priority`] with [`Detail::OomScoreAdj`] and the errno of the open or the write.
///
/// # References
///  - [proc_pid_oom_score_adj(5)](https://man7.org/linux/man-pages/man5/proc_pid_oom_score_adj.5.html)
#[inline]
pub(in crate::after_fork) fn oom_score_adj(limits: Limits<'_>) -> Result<(), Error> {
    let Some(adj) = limits.oom_score_adj else {
        return Ok(());
    };
    let failed = |e| Error::with_detail(Step::Priority, e, Detail::OomScoreAdj);
    let fd = crate::sys::open(
        c"/proc/self/oom_score_adj",
        OFlags::WRONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(failed)?;
    let mut text = [0_u8; 11];
    let mut digits = [0_u8; 10];
    let digits = crate::decimal::format_u32(adj.unsigned_abs(), &mut digits);
    let sign = usize::from(adj < 0);
    if let Some(minus) = text.first_mut().filter(|_| adj < 0) {
        *minus = b'-';
    }
    for (slot, &d) in text.iter_mut().skip(sign).zip(digits) {
        *slot = d;
    }
    let text = text.get(..sign + digits.len()).unwrap_or_default();
    match rustix::io::write(&fd, text) {
        Ok(n) if n == text.len() => Ok(()),
        Ok(_) => Err(failed(rustix::io::Errno::IO)),
        Err(e) => Err(failed(e)),
    }
}

/// Applies every other limit around the drop to `user` (if any): before it the resource
/// limits, the nice value, the I/O priority, the scheduling policy and the capability steps
/// that need privilege; after it the capabilities to keep and the no-new-privileges flag.
///
/// # Errors
///
/// The failed step: [`Step::Rlimit`], [`Step::Priority`], [`Step::Capabilities`],
/// [`Step::Prctl`], or one of the drop's (see [`privileges::drop_to`]).
///
/// # References
///  - [setrlimit(2)](https://man7.org/linux/man-pages/man2/setrlimit.2.html)
///  - [nice(2)](https://man7.org/linux/man-pages/man2/nice.2.html)
///  - [ioprio_set(2)](https://man7.org/linux/man-pages/man2/ioprio_set.2.html)
///  - [sched_setscheduler(2)](https://man7.org/linux/man-pages/man2/sched_setscheduler.2.html)
///  - [prctl(2)](https://man7.org/linux/man-pages/man2/prctl.2.html)
#[inline]
pub(in crate::after_fork) fn around_drop(
    limits: Limits<'_>,
    user: Option<&Credentials>,
) -> Result<(), Error> {
    for limit in limits.rlimits {
        let failed =
            |e| Error::with_detail(Step::Rlimit, e, Detail::Resource(limit.resource as u32));
        let old = rustix::process::getrlimit(limit.resource);
        // rustix says "unlimited" with None.
        let value = |v: Option<u64>, old: Option<u64>| match v {
            Some(UNLIMITED) => None,
            Some(v) => Some(v),
            None => old,
        };
        let new = Rlimit {
            current: value(limit.soft, old.current),
            maximum: value(limit.hard, old.maximum),
        };
        rustix::process::setrlimit(limit.resource, new).map_err(failed)?;
    }
    let priority = |detail| move |e| Error::with_detail(Step::Priority, e, detail);
    if let Some(increment) = limits.nice {
        rustix::process::nice(increment).map_err(priority(Detail::Nice))?;
    }
    if let Some(io) = limits.ioprio {
        crate::sys::ioprio_set(io.class as u8, io.level).map_err(priority(Detail::Ionice))?;
    }
    if let Some(sched) = limits.sched {
        crate::sys::sched_setscheduler(sched.policy as u8, sched.priority)
            .map_err(priority(Detail::Sched))?;
    }
    let kept = capabilities::before_drop(limits, user.is_some())?;
    if let Some(user) = user {
        privileges::drop_to(user)?;
    }
    capabilities::after_drop(limits, user.is_some(), kept)?;
    if limits.no_new_privs {
        rustix::thread::set_no_new_privs(true)
            .map_err(|e| Error::with_detail(Step::Prctl, e, Detail::NoNewPrivs))?;
    }
    Ok(())
}
