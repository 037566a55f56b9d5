//! **The program's capabilities**, set around the privilege drop: the inheritable and
//! bounding sets, the secure bits and keep-caps before it (they need `CAP_SETPCAP`), the
//! permitted, effective and ambient sets after it (see
//! [`Limits::capabilities`](crate::limits::Limits::capabilities)).
//!
//! Raw system calls on the prepared values only (see [`after_fork`](crate::after_fork)).

use rustix::thread::{CapabilitiesSecureBits, CapabilitySet, CapabilitySets};

use crate::error::{Detail, Error, Step};
use crate::limits::Capabilities;

/// The capabilities of `bits`, one at a time: their numbers and one-bit sets.
fn each(bits: u64) -> impl Iterator<Item = (u32, CapabilitySet)> {
    (0..64_u32)
        .filter(move |n| bits & (1 << n) != 0)
        .map(|n| (n, CapabilitySet::from_bits_retain(1 << n)))
}

/// `capset` of this process's sets.
fn set(sets: CapabilitySets) -> Result<(), Error> {
    rustix::thread::set_capabilities(None, sets).map_err(|e| Error::new(Step::Capabilities, e))
}

/// Before the drop to a user (`user`) or the `execve` as root, with capabilities or secure
/// bits to set: the inheritable set becomes
/// exactly the ambient and inheritable capabilities, the bounding set loses those to drop,
/// then the secure bits are set, with `SECBIT_KEEP_CAPS` (or `PR_SET_KEEPCAPS`) when ambient
/// capabilities must survive the change of user. Returns whether keep-caps was set by
/// `PR_SET_KEEPCAPS` (to be cleared after the drop).
///
/// # Errors
///
/// [`Step::Capabilities`] (with the capability in [`Detail::Capability`] for the bounding
/// set) or [`Step::Prctl`] with [`Detail::Securebits`].
///
/// # References
///  - [capset(2)](https://man7.org/linux/man-pages/man2/capset.2.html)
///  - [prctl(2)](https://man7.org/linux/man-pages/man2/prctl.2.html): `PR_CAPBSET_DROP`,
///    `PR_SET_SECUREBITS`, `PR_SET_KEEPCAPS`
pub(super) fn before_drop(
    caps: Option<Capabilities>,
    securebits: Option<u32>,
    user: bool,
) -> Result<bool, Error> {
    let mut keep = false;
    if let Some(caps) = caps {
        let mut sets =
            rustix::thread::capabilities(None).map_err(|e| Error::new(Step::Capabilities, e))?;
        sets.inheritable = CapabilitySet::from_bits_retain(caps.ambient | caps.inheritable);
        set(sets)?;
        for (n, cap) in each(caps.drop_bounding) {
            rustix::thread::remove_capability_from_bounding_set(cap)
                .map_err(|e| Error::with_detail(Step::Capabilities, e, Detail::Capability(n)))?;
        }
        keep = user && caps.ambient != 0;
    }
    match securebits {
        Some(bits) => {
            let mut bits = CapabilitiesSecureBits::from_bits_retain(bits);
            if keep {
                bits |= CapabilitiesSecureBits::KEEP_CAPS;
            }
            rustix::thread::set_capabilities_secure_bits(bits)
                .map_err(|e| Error::with_detail(Step::Prctl, e, Detail::Securebits))?;
            Ok(false)
        }
        None if keep => {
            rustix::thread::set_keep_capabilities(true)
                .map_err(|e| Error::new(Step::Capabilities, e))?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// After the drop: with a user, the permitted and effective sets become exactly the ambient
/// capabilities (the inheritable set stays); each ambient capability is raised; keep-caps
/// set by `PR_SET_KEEPCAPS` is cleared again.
///
/// # Errors
///
/// [`Step::Capabilities`], with the capability in [`Detail::Capability`] for a raise.
///
/// # References
///  - [capset(2)](https://man7.org/linux/man-pages/man2/capset.2.html)
///  - [prctl(2)](https://man7.org/linux/man-pages/man2/prctl.2.html): `PR_CAP_AMBIENT_RAISE`
pub(super) fn after_drop(caps: Capabilities, user: bool, kept: bool) -> Result<(), Error> {
    if user {
        let ambient = CapabilitySet::from_bits_retain(caps.ambient);
        set(CapabilitySets {
            effective: ambient,
            permitted: ambient,
            inheritable: CapabilitySet::from_bits_retain(caps.ambient | caps.inheritable),
        })?;
    }
    for (n, cap) in each(caps.ambient) {
        rustix::thread::configure_capability_in_ambient_set(cap, true)
            .map_err(|e| Error::with_detail(Step::Capabilities, e, Detail::Capability(n)))?;
    }
    if kept {
        rustix::thread::set_keep_capabilities(false)
            .map_err(|e| Error::new(Step::Capabilities, e))?;
    }
    Ok(())
}
