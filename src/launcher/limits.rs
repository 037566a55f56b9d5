//! The launcher's check of [`Limits::capabilities`](crate::limits::Limits::capabilities), before
//! any fork: it must have every capability it is asked to hand on.

use rustix::thread::CapabilitySet;

use crate::config::Daemon;
use crate::error::{Detail, Error, Step};

/// Checks that every ambient and inheritable capability asked for is in this process's
/// permitted and bounding sets (the daemon could not raise it otherwise).
///
/// # Errors
///
/// [`Step::Capabilities`] without an errno and with [`Detail::Capability`] naming the first
/// one missing; with the errno if `capget` fails.
///
/// # References
///  - [capget(2)](https://man7.org/linux/man-pages/man2/capget.2.html)
///  - [prctl(2)](https://man7.org/linux/man-pages/man2/prctl.2.html): `PR_CAPBSET_READ`
#[inline(always)]
pub(super) fn check(cfg: &Daemon<'_>) -> Result<(), Error> {
    // Read where it is tested, inlined: a configuration without capabilities folds this away.
    match cfg.limits.and_then(|l| l.capabilities) {
        Some(caps) if caps.ambient | caps.inheritable != 0 => held(caps.ambient | caps.inheritable),
        _ => Ok(()),
    }
}

/// Checks each capability of `wanted` (bit `n` for capability `n`).
fn held(wanted: u64) -> Result<(), Error> {
    let permitted = rustix::thread::capabilities(None)
        .map_err(|e| Error::new(Step::Capabilities, e))?
        .permitted
        .bits();
    for n in (0..64_u32).filter(|n| wanted & (1 << n) != 0) {
        let one = CapabilitySet::from_bits_retain(1 << n);
        // A number past the kernel's last capability is EINVAL: not had either.
        let bounded = rustix::thread::capability_is_in_bounding_set(one).unwrap_or(false);
        if permitted & (1 << n) == 0 || !bounded {
            return Err(Error::without_errno(
                Step::Capabilities,
                Detail::Capability(n),
            ));
        }
    }
    Ok(())
}
