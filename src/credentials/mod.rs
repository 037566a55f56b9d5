//! [`Credentials`]: the user, group and supplementary groups a daemon drops to.
//!
//! They are looked up before the fork, by the application (the tool: while it reads its
//! arguments), in `/etc/passwd` and `/etc/group` with fixed buffers: no NSS, no allocation.
//! The drop itself runs after the fork, in the daemon: `after_fork::daemon::privileges`.
//!
//! - this file: the type, its constructors and accessors;
//! - [`lookup`]: `USER[:GROUP]` resolved through the two files;
//! - [`passwd`]: the user's entry in `/etc/passwd`, read line by line;
//! - [`group`]: the group name and the memberships in `/etc/group`, streamed byte by byte.

mod group;
mod lookup;
mod passwd;
#[cfg(test)]
mod test_files;

pub(crate) use lookup::lookup_in;

use rustix::io::Errno;

use crate::error::{Error, Step};
use passwd::Account;

/// The most supplementary groups a [`Credentials`] holds.
pub const MAX_GROUPS: usize = 64;

/// A user to run as: uid, primary gid and supplementary groups (and, from `/etc/passwd`, the
/// name and home directory for the environment). `Copy`, on the stack. Two are equal when
/// their ids and groups are.
#[derive(Clone, Copy)]
pub struct Credentials {
    uid: u32,
    gid: u32,
    /// The first [`ngroups`](Self::ngroups) are the supplementary groups; the rest are 0.
    groups: [u32; MAX_GROUPS],
    ngroups: usize,
    /// The `/etc/passwd` entry's name and home directory, if there was an entry.
    account: Account,
}

impl PartialEq for Credentials {
    fn eq(&self, other: &Self) -> bool {
        (self.uid, self.gid, self.groups()) == (other.uid, other.gid, other.groups())
    }
}

impl Eq for Credentials {}

impl core::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        fn text(b: Option<&[u8]>) -> Option<&str> {
            b.and_then(|b| core::str::from_utf8(b).ok())
        }
        f.debug_struct("Credentials")
            .field("uid", &self.uid)
            .field("gid", &self.gid)
            .field("groups", &self.groups())
            .field("name", &text(self.name()))
            .field("home", &text(self.home()))
            .finish()
    }
}

impl Credentials {
    /// Looks up `USER[:GROUP]` in `/etc/passwd` and `/etc/group`, like `initgroups(3)`.
    ///
    /// `USER` is a name or a decimal uid. A name gives the uid and the default gid of its
    /// `/etc/passwd` entry; a number gives the first entry with that uid, or, if there is none,
    /// is used as is and then needs a `GROUP`. `GROUP`, a name or a decimal gid, replaces the
    /// default gid.
    ///
    /// The supplementary groups are the gid first, then every group of `/etc/group` that
    /// lists the user's name among its members, each once. A numeric user not in
    /// `/etc/passwd` has no name, so only the gid.
    ///
    /// # Errors
    ///
    /// [`Step::User`] with `ENOENT` and the detail [`Detail::NoSuchUser`](crate::Detail::NoSuchUser),
    /// [`Detail::NoSuchGroup`](crate::Detail::NoSuchGroup) or [`Detail::NeedsGroup`](crate::Detail::NeedsGroup) when a name is not found or a numeric
    /// user not in `/etc/passwd` has no group; with `EINVAL` and `NO_SUCH_USER` or
    /// `NO_SUCH_GROUP` when `USER` or `GROUP` is empty; with the errno and detail 0 when a file
    /// cannot be read. [`Step::Setgroups`] with `E2BIG` for more than 64 groups (`MAX_GROUPS`).
    ///
    /// # References
    ///  - [passwd(5)](https://man7.org/linux/man-pages/man5/passwd.5.html)
    ///  - [group(5)](https://man7.org/linux/man-pages/man5/group.5.html)
    ///  - [initgroups(3)](https://man7.org/linux/man-pages/man3/initgroups.3.html)
    ///
    /// # Examples
    ///
    /// ```
    /// use rawdaemon::{Credentials, Daemon, Detail, Runtime};
    ///
    /// let root = Credentials::lookup(b"root").unwrap();
    /// assert_eq!((root.uid(), root.gid()), (0, 0));
    /// assert_eq!(root.name(), Some(&b"root"[..]));
    /// // A number needs no entry, but then a group.
    /// let nobody = Credentials::lookup(b"65534:65534").unwrap();
    /// assert_eq!(nobody.uid(), 65534);
    /// let missing = Credentials::lookup(b"no-such-user-here").unwrap_err();
    /// assert_eq!(missing.detail(), Detail::NoSuchUser);
    ///
    /// // The daemon drops to it as its last step.
    /// let daemon = Daemon::new(Runtime::Libc).user(&nobody);
    /// # let _ = daemon;
    /// ```
    pub fn lookup(spec: &[u8]) -> Result<Credentials, Error> {
        lookup_in(spec, c"/etc/passwd", c"/etc/group")
    }

    /// Credentials from numbers: `groups` are the supplementary groups exactly as given (the
    /// gid is not added to them; an empty list drops every supplementary group).
    ///
    /// # Errors
    ///
    /// [`Step::Setgroups`] with `E2BIG` for more than 64 groups (`MAX_GROUPS`); [`Step::User`]
    /// with `EINVAL` if an id is `u32::MAX` (which is `-1`, "no change", to the kernel).
    pub fn new(uid: u32, gid: u32, groups: &[u32]) -> Result<Credentials, Error> {
        if groups.len() > MAX_GROUPS {
            return Err(Error::new(Step::Setgroups, Errno::TOOBIG));
        }
        if uid == u32::MAX || gid == u32::MAX || groups.contains(&u32::MAX) {
            return Err(Error::new(Step::User, Errno::INVAL));
        }
        let mut c = Credentials::without_groups(uid, gid, Account::NONE);
        for (slot, &g) in c.groups.iter_mut().zip(groups) {
            *slot = g;
        }
        c.ngroups = groups.len();
        Ok(c)
    }

    /// The user id.
    pub fn uid(&self) -> u32 {
        self.uid
    }

    /// The primary group id.
    pub fn gid(&self) -> u32 {
        self.gid
    }

    /// The supplementary groups.
    pub fn groups(&self) -> &[u32] {
        self.groups.get(..self.ngroups).unwrap_or_default()
    }

    /// The user's name, from its `/etc/passwd` entry (none for a number without an entry):
    /// what `USER` and `LOGNAME` should say.
    pub fn name(&self) -> Option<&[u8]> {
        self.account.name()
    }

    /// The user's home directory, from its `/etc/passwd` entry: what `HOME` should say.
    pub fn home(&self) -> Option<&[u8]> {
        self.account.home()
    }

    /// `uid`, `gid` and `account` with no supplementary group yet.
    const fn without_groups(uid: u32, gid: u32, account: Account) -> Credentials {
        Credentials {
            uid,
            gid,
            groups: [0; MAX_GROUPS],
            ngroups: 0,
            account,
        }
    }

    /// Adds `gid` to the supplementary groups unless it is there already; `false` if they are
    /// full.
    fn add_group(&mut self, gid: u32) -> bool {
        push_unique(&mut self.groups, &mut self.ngroups, gid)
    }
}

/// Appends `id` to the first `*len` of `ids` unless it is there already; `false` if full.
fn push_unique(ids: &mut [u32; MAX_GROUPS], len: &mut usize, id: u32) -> bool {
    if ids.get(..*len).unwrap_or(ids).contains(&id) {
        return true;
    }
    match ids.get_mut(*len) {
        Some(slot) => {
            *slot = id;
            *len += 1;
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_numbers() {
        let c = Credentials::new(1000, 100, &[100, 10, 10]).unwrap();
        assert_eq!(
            (c.uid(), c.gid(), c.groups()),
            (1000, 100, &[100, 10, 10][..])
        );
        let none = Credentials::new(1, 2, &[]).unwrap();
        assert_eq!(none.groups(), &[] as &[u32]);
        let full = [7; MAX_GROUPS];
        assert_eq!(Credentials::new(1, 2, &full).unwrap().groups(), &full);
        let over = [7; MAX_GROUPS + 1];
        assert_eq!(
            Credentials::new(1, 2, &over),
            Err(Error::new(Step::Setgroups, Errno::TOOBIG))
        );
        let inval = Err(Error::new(Step::User, Errno::INVAL));
        assert_eq!(Credentials::new(u32::MAX, 2, &[]), inval);
        assert_eq!(Credentials::new(1, u32::MAX, &[]), inval);
        assert_eq!(Credentials::new(1, 2, &[3, u32::MAX]), inval);
        // A corrupted count never panics, and never hands out the unused slots (zeros: root's
        // group) as supplementary groups.
        let bad = Credentials {
            ngroups: MAX_GROUPS + 1,
            ..none
        };
        assert!(bad.groups().is_empty());
    }

    #[test]
    fn groups_are_added_once_up_to_the_most() {
        let mut c = Credentials::new(1, 2, &[]).unwrap();
        assert!(c.add_group(2) && c.add_group(10) && c.add_group(2));
        assert_eq!(c.groups(), &[2, 10]);
        for g in 100..100 + MAX_GROUPS as u32 - 2 {
            assert!(c.add_group(g));
        }
        assert_eq!(c.groups().len(), MAX_GROUPS);
        assert!(c.add_group(10), "already there");
        assert!(!c.add_group(7), "full");
        assert_eq!(c.groups().len(), MAX_GROUPS);
    }
}
