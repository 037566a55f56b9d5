//! A group's gid and a user's memberships in `/etc/group`, found in one pass.
//!
//! The file is streamed byte by byte through a small buffer, so a group with thousands of
//! members is read whole whatever the length of its line. Empty lines, comments (`#`), NIS
//! entries (`+`, `-`) and malformed lines (too few fields, an empty name, a gid that is not a
//! decimal number below `u32::MAX`) are skipped like the C library's files backend does.
//!
//! Runs in the launcher, before the fork (the drop itself is
//! `after_fork/daemon/privileges.rs`).
//!
//! # References
//!  - [group(5)](https://man7.org/linux/man-pages/man5/group.5.html)

use core::ffi::CStr;

use super::lookup::open_account_file;
use super::{MAX_GROUPS, push_unique};
use crate::error::{Error, Step};

/// What one pass over the group file found.
pub(super) struct Found {
    /// The gid of the first group of the wanted name, if one was wanted and found.
    pub(super) gid: Option<u32>,
    /// The first [`nmembers`](Self::nmembers) are the distinct gids of the groups that list
    /// the user, in the file's order.
    members: [u32; MAX_GROUPS],
    nmembers: usize,
    /// More than [`MAX_GROUPS`] distinct groups list the user.
    pub(super) too_many: bool,
}

impl Found {
    /// The gids of the groups that list the user (at most [`MAX_GROUPS`]).
    pub(super) fn members(&self) -> &[u32] {
        self.members.get(..self.nmembers).unwrap_or_default()
    }
}

/// One pass over the group file at `path` for the gid of the group named `group` and the
/// groups that list `user` among their members. Without a user it stops at the group; with
/// neither, the file is not read.
///
/// The memberships are gathered whatever the primary gid turns out to be: more than
/// [`MAX_GROUPS`] distinct ones are too many in any case.
///
/// # Errors
///
/// [`Step::User`] with the errno of `open` or `read`, detail 0.
pub(super) fn find(path: &CStr, group: Option<&[u8]>, user: Option<&[u8]>) -> Result<Found, Error> {
    let mut found = Found {
        gid: None,
        members: [0; MAX_GROUPS],
        nmembers: 0,
        too_many: false,
    };
    if group.is_none() && user.is_none() {
        return Ok(found);
    }
    scan_groups(path, group, user, &mut |named, gid, lists_user| {
        if found.gid.is_none() && named {
            found.gid = Some(gid);
        }
        if user.is_some() {
            if lists_user && !push_unique(&mut found.members, &mut found.nmembers, gid) {
                found.too_many = true;
            }
            false
        } else {
            found.gid.is_some()
        }
    })?;
    Ok(found)
}

/// Compares one field of a line, byte by byte as it streams past, with a wanted value.
#[derive(Clone, Copy, Default)]
struct Match {
    /// Bytes of the wanted value matched so far.
    len: usize,
    /// A byte differed, or came past the wanted value's end.
    failed: bool,
}

impl Match {
    fn feed(&mut self, b: u8, wanted: &[u8]) {
        match wanted.get(self.len) {
            Some(&w) if !self.failed && w == b => self.len += 1,
            _ => self.failed = true,
        }
    }

    /// Whether the field, now complete, was the wanted value.
    fn whole(&self, wanted: &[u8]) -> bool {
        !self.failed && self.len == wanted.len()
    }
}

/// One entry of `/etc/group` as [`scan_groups`] reads it.
#[derive(Default)]
struct GroupLine {
    /// The field the next byte belongs to: 0 name, 1 password, 2 gid, 3 members.
    field: u8,
    /// Not an entry: a comment, a NIS entry, or a malformed gid.
    skip: bool,
    /// Bytes seen on this line.
    len: usize,
    name_len: usize,
    name: Match,
    gid: u64,
    gid_digits: usize,
    member: Match,
    lists_user: bool,
}

impl GroupLine {
    fn feed(&mut self, b: u8, group: &[u8], user: &[u8]) {
        self.len += 1;
        if self.skip || (self.len == 1 && matches!(b, b'#' | b'+' | b'-')) {
            self.skip = true;
            return;
        }
        match (self.field, b) {
            (0..=2, b':') => self.field += 1,
            (0, _) => {
                self.name_len += 1;
                self.name.feed(b, group);
            }
            (1, _) => {}
            (2, b'0'..=b'9') => {
                self.gid = self
                    .gid
                    .saturating_mul(10)
                    .saturating_add(u64::from(b - b'0'));
                self.gid_digits += 1;
            }
            (2, _) => self.skip = true,
            (_, b',') => {
                self.lists_user |= self.member.whole(user);
                self.member = Match::default();
            }
            (_, _) => self.member.feed(b, user),
        }
    }

    /// At the line's end: `(is the wanted group, gid, lists the user)` for a valid entry.
    fn finish(&self, group: &[u8], user: &[u8]) -> Option<(bool, u32, bool)> {
        let gid = u32::try_from(self.gid).ok().filter(|&g| g != u32::MAX)?;
        if self.skip || self.field < 2 || self.name_len == 0 || self.gid_digits == 0 {
            return None;
        }
        let lists_user = self.lists_user || (self.field == 3 && self.member.whole(user));
        Some((self.name.whole(group), gid, lists_user))
    }
}

/// Streams the group file at `path`, whatever the length of its lines (a group of thousands
/// of members is still read whole), and calls `each(is GROUP, gid, lists USER)` for every
/// entry until it returns `true`. Comments, NIS entries and malformed lines are skipped.
///
/// # Errors
///
/// [`Step::User`] with the errno of `open` or `read`, detail 0.
///
/// # References
///  - [read(2)](https://man7.org/linux/man-pages/man2/read.2.html)
fn scan_groups(
    path: &CStr,
    group: Option<&[u8]>,
    user: Option<&[u8]>,
    each: &mut dyn FnMut(bool, u32, bool) -> bool,
) -> Result<(), Error> {
    let error = |e| Error::new(Step::User, e);
    let fd = open_account_file(path)?;
    // An empty wanted value can match no (non-empty) group name, and no member is looked
    // for without a user name.
    let (group, user) = (group.unwrap_or(b""), user.unwrap_or(b""));
    let mut line = GroupLine::default();
    let mut buf = [0_u8; 512];
    loop {
        let n = rustix::io::retry_on_intr(|| rustix::io::read(&fd, &mut buf)).map_err(error)?;
        for &b in buf.get(..n).unwrap_or_default() {
            if b != b'\n' {
                line.feed(b, group, user);
                continue;
            }
            let entry = line.finish(group, user);
            line = GroupLine::default();
            if let Some((named, gid, lists)) = entry {
                if each(named && !group.is_empty(), gid, lists && !user.is_empty()) {
                    return Ok(());
                }
            }
        }
        if n == 0 {
            if let Some((named, gid, lists)) = line.finish(group, user).filter(|_| line.len > 0) {
                each(named && !group.is_empty(), gid, lists && !user.is_empty());
            }
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_files::{Files, GROUP, PASSWD, cstr};
    use super::*;
    use std::string::String;
    use std::vec::Vec;

    /// `(named, gid, lists_user)` of one line, as [`scan_groups`] reads it.
    fn entry(line: &[u8], group: &[u8], user: &[u8]) -> Option<(bool, u32, bool)> {
        let mut l = GroupLine::default();
        for &b in line {
            l.feed(b, group, user);
        }
        l.finish(group, user)
    }

    #[test]
    fn entries() {
        assert_eq!(
            entry(b"audio:x:29:bob,alice", b"audio", b"alice"),
            Some((true, 29, true))
        );
        assert_eq!(
            entry(b"audio:x:29:alice,bob", b"video", b"alice"),
            Some((false, 29, true))
        );
        // Members are whole names.
        assert_eq!(
            entry(b"l:x:1:alicex,xalice,alic,", b"", b"alice"),
            Some((false, 1, false))
        );
        // Names too.
        assert_eq!(
            entry(b"audios:x:29:", b"audio", b"alice"),
            Some((false, 29, false))
        );
        assert_eq!(
            entry(b"plain:x:77", b"plain", b"alice"),
            Some((true, 77, false))
        );
        for bad in [
            &b"#audio:x:29:alice"[..],
            b"+audio:x:29:alice",
            b"-audio:x:29:alice",
            b"audio:x:2x:alice",
            b"audio:x::alice",
            b"audio:x:4294967295:alice",
            b":x:29:alice",
            b"audio:x",
        ] {
            assert_eq!(entry(bad, b"audio", b"alice"), None, "{bad:?}");
        }
    }

    #[test]
    fn finds_the_group_and_the_memberships_in_one_pass() {
        let f = Files::new("group-find", PASSWD, GROUP);
        let path = cstr(&f.group);
        let found = find(&path, Some(b"video"), Some(b"alice")).unwrap();
        // The first `video` counts; `again` repeats gid 29.
        assert_eq!(found.gid, Some(44));
        assert_eq!(found.members(), &[10, 29, 1000]);
        assert!(!found.too_many);
        let found = find(&path, Some(b"nope"), None).unwrap();
        assert_eq!((found.gid, found.members()), (None, &[][..]));
        // Nothing wanted: the file is not even opened.
        let found = find(c"/nonexistent/group", None, None).unwrap();
        assert_eq!((found.gid, found.members()), (None, &[][..]));
    }

    #[test]
    fn a_member_list_longer_than_the_buffer_is_read_whole() {
        let mut members = String::new();
        for i in 0..2000 {
            members.push_str(&std::format!("user{i},"));
        }
        let mut group = Vec::from(&b"big:x:7:"[..]);
        group.extend(members.as_bytes());
        group.extend(b"alice\nsmall:x:8:alice\n");
        let f = Files::new("group-big", PASSWD, &group);
        let found = find(&cstr(&f.group), None, Some(b"alice")).unwrap();
        assert_eq!(found.members(), &[7, 8]);
        let found = find(&cstr(&f.group), None, Some(b"user1999")).unwrap();
        assert_eq!(found.members(), &[7]);
    }
}
