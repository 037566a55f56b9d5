//! The launcher's check of [`Limits::capabilities`](crate::limits::Limits::capabilities), before
//! any fork: it must have every capability it is asked to hand on, and none may be both kept
//! and dropped, nor raised in the ambient set against the secure bits.

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
        Some(caps) if caps.ambient | caps.inheritable != 0 => {
            let bits = cfg.limits.and_then(|l| l.securebits).unwrap_or(0);
            coherent(caps.ambient, caps.inheritable, caps.drop_bounding, bits)?;
            held(caps.ambient | caps.inheritable)
        }
        _ => Ok(()),
    }
}

/// `SECBIT_NO_CAP_AMBIENT_RAISE`: no capability may be raised in the ambient set.
const NO_CAP_AMBIENT_RAISE: u32 = 0x40;

/// Refuses what cannot be had as asked: a capability both kept (ambient or inheritable) and
/// dropped from the bounding set (an ambient one would stay in the permitted, effective and
/// ambient sets, and pass `execve`, though the bounding set lacks it), and ambient ones with
/// secure bits that forbid raising them.
///
/// # Errors
///
/// [`Step::Capabilities`] with `EINVAL` and [`Detail::Capability`] naming the first one.
fn coherent(ambient: u64, inheritable: u64, drop: u64, securebits: u32) -> Result<(), Error> {
    let forbidden = if securebits & NO_CAP_AMBIENT_RAISE != 0 {
        ambient
    } else {
        0
    };
    match ((ambient | inheritable) & drop) | forbidden {
        0 => Ok(()),
        bad => Err(Error::with_detail(
            Step::Capabilities,
            rustix::io::Errno::INVAL,
            Detail::Capability(bad.trailing_zeros()),
        )),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_and_dropped_refused() {
        assert!(coherent(1 << 10, 0, 1 << 16, 0).is_ok());
        assert!(coherent(0, 1 << 5, 0, 0x3).is_ok());
        let refused = |e: Result<(), Error>| e.err().map(|e| (e.step(), e.errno(), e.detail()));
        let cap = |n| {
            Some((
                Step::Capabilities,
                Some(rustix::io::Errno::INVAL),
                Detail::Capability(n),
            ))
        };
        assert_eq!(refused(coherent(1 << 13, 0, 1 << 13, 0)), cap(13));
        assert_eq!(refused(coherent(0, 1 << 5, 1 << 5 | 1, 0)), cap(5));
        assert_eq!(refused(coherent(1 << 10, 0, 0, 0x40)), cap(10));
    }
}
