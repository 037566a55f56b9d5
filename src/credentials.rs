//! [`Credentials`]: the user, group and supplementary groups a daemon drops to, looked up in
//! `/etc/passwd` and `/etc/group` with fixed buffers (no NSS, no allocation).

/// The most supplementary groups a [`Credentials`] holds.
pub const MAX_GROUPS: usize = 64;

/// A user to run as: uid, primary gid and supplementary groups. `Copy`, on the stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Credentials {
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) groups: [u32; MAX_GROUPS],
    pub(crate) ngroups: usize,
}
