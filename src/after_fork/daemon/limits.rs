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
use crate::config::Daemon;
use crate::credentials::Credentials;
use crate::error::{Detail, Error, Step};
use crate::limits::{Limits, ResourceLimit, UNLIMITED};

/// Writes the OOM score adjustment to `/proc/self/oom_score_adj`, if one is set. Called
/// before the root directory changes.
///
/// # Errors
///
/// [`Step::Priority`] with [`Detail::OomScoreAdj`] and the errno of the open or the write.
///
/// # References
///  - [proc_pid_oom_score_adj(5)](https://man7.org/linux/man-pages/man5/proc_pid_oom_score_adj.5.html)
// The limits are read from `cfg` where they are tested, inlined: a configuration without
// any (the smallest tool's) then folds their code away.
#[inline(always)]
pub(in crate::after_fork) fn oom_score_adj(cfg: &Daemon<'_>) -> Result<(), Error> {
    match cfg.limits.and_then(|l| l.oom_score_adj) {
        Some(adj) => write_oom_score_adj(adj),
        None => Ok(()),
    }
}

/// Writes `adj` to `/proc/self/oom_score_adj`.
fn write_oom_score_adj(adj: i32) -> Result<(), Error> {
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
#[inline(always)]
pub(in crate::after_fork) fn around_drop(
    cfg: &Daemon<'_>,
    user: Option<&Credentials>,
) -> Result<(), Error> {
    match (cfg.limits, user) {
        (Some(limits), user) => with_limits(limits, user),
        (None, Some(user)) => privileges::drop_to(user),
        (None, None) => Ok(()),
    }
}

/// [`around_drop`] with limits to apply.
fn with_limits(limits: &Limits, user: Option<&Credentials>) -> Result<(), Error> {
    for limit in limits.rlimits.iter().flatten() {
        set_rlimit(limit)?;
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
    let caps = limits.capabilities;
    let kept = match (caps, limits.securebits) {
        (None, None) => false,
        (caps, bits) => capabilities::before_drop(caps, bits, user.is_some())?,
    };
    if let Some(user) = user {
        privileges::drop_to(user)?;
    }
    if let Some(caps) = caps {
        capabilities::after_drop(caps, user.is_some(), kept)?;
    }
    if limits.no_new_privs {
        rustix::thread::set_no_new_privs(true)
            .map_err(|e| Error::with_detail(Step::Prctl, e, Detail::NoNewPrivs))?;
    }
    Ok(())
}

/// `setrlimit` of one limit; a half that is `None` stays as `getrlimit` reads it.
fn set_rlimit(limit: &ResourceLimit) -> Result<(), Error> {
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
    rustix::process::setrlimit(limit.resource, new)
        .map_err(|e| Error::with_detail(Step::Rlimit, e, Detail::Resource(limit.resource as u32)))
}
