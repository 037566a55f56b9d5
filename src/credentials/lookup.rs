//! `USER[:GROUP]` resolved through `/etc/passwd` ([`passwd`]) and `/etc/group` ([`group`]),
//! like `initgroups(3)`; and what both files share: how they are opened and how an id is read.
//!
//! Runs in the launcher, before the fork.
//!
//! # References
//!  - [initgroups(3)](https://man7.org/linux/man-pages/man3/initgroups.3.html)

use core::ffi::CStr;

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

use super::passwd::{self, Account, NameBuf, Wanted};
use super::{Credentials, group};
use crate::error::{Detail, Error, Step};
use crate::lines::Fields;

/// [`Credentials::lookup`] with the paths of the two files.
pub(crate) fn lookup_in(spec: &[u8], passwd: &CStr, group: &CStr) -> Result<Credentials, Error> {
    let (user, group_spec) = split(spec)?;

    // The user: uid, default gid, and the name whose group memberships count.
    let mut name = NameBuf::new();
    let mut account = Account::NONE;
    let (uid, default_gid) = match parse_id(user) {
        None => match passwd::find(passwd, Wanted::Name(user), &mut name, &mut account)? {
            Some((uid, gid)) => (uid, Some(gid)),
            None => return Err(not_found(Detail::NoSuchUser)),
        },
        Some(uid) => match passwd::find(passwd, Wanted::Uid(uid), &mut name, &mut account) {
            Ok(found) => (uid, found.map(|(_, gid)| gid)),
            // No /etc/passwd at all (a `FROM scratch` image): numbers stand for themselves.
            Err(e) if e.errno() == Some(Errno::NOENT) => (uid, None),
            Err(e) => return Err(e),
        },
    };
    let name = name.get();

    // The group: a number, a name to find, or the user's default.
    let (gid, group_name) = match group_spec {
        None => match default_gid {
            Some(gid) => (gid, None),
            None => return Err(not_found(Detail::NeedsGroup)),
        },
        Some(g) => match parse_id(g) {
            Some(gid) => (gid, None),
            None => (0, Some(g)),
        },
    };

    // One pass over /etc/group finds both the group name and the memberships.
    let found = group::find(group, group_name, name)?;
    let gid = match (group_name, found.gid) {
        (None, _) => gid,
        (Some(_), Some(gid)) => gid,
        (Some(_), None) => return Err(not_found(Detail::NoSuchGroup)),
    };

    // The primary group first, then the memberships, each once.
    let too_big = Error::new(Step::Setgroups, Errno::TOOBIG);
    if found.too_many {
        return Err(too_big);
    }
    let mut c = Credentials::without_groups(uid, gid, account);
    c.add_group(gid);
    for &m in found.members() {
        if !c.add_group(m) {
            return Err(too_big);
        }
    }
    Ok(c)
}

/// `USER[:GROUP]` split at the first colon.
///
/// # Errors
///
/// [`Step::User`] with `EINVAL` and the detail [`Detail::NoSuchUser`] or
/// [`Detail::NoSuchGroup`] when `USER` or `GROUP` is empty.
fn split(spec: &[u8]) -> Result<(&[u8], Option<&[u8]>), Error> {
    let mut parts = Fields::new(spec, b':');
    let user = parts.next().unwrap_or_default();
    let group = parts.rest();
    if user.is_empty() {
        return Err(Error::with_detail(
            Step::User,
            Errno::INVAL,
            Detail::NoSuchUser,
        ));
    }
    if group == Some(b"") {
        return Err(Error::with_detail(
            Step::User,
            Errno::INVAL,
            Detail::NoSuchGroup,
        ));
    }
    Ok((user, group))
}

/// [`Step::User`] with `ENOENT` and `detail`: a name, or a needed group, not found.
fn not_found(detail: Detail) -> Error {
    Error::with_detail(Step::User, Errno::NOENT, detail)
}

/// A user or group id: decimal digits only (no sign, no white space), below `u32::MAX`
/// (which is `-1`, never an id).
pub(super) fn parse_id(s: &[u8]) -> Option<u32> {
    // Any number of digits: leading zeros are allowed, and a value past u64 is past u32 too.
    let n = crate::decimal::parse_u64(s, 10, usize::MAX)?;
    u32::try_from(n).ok().filter(|&n| n != u32::MAX)
}

/// Opens `/etc/passwd` or `/etc/group` (or the test's stand-in) for reading.
///
/// # Errors
///
/// [`Step::User`] with the errno of `open`, detail 0.
///
/// # References
///  - [open(2)](https://man7.org/linux/man-pages/man2/open.2.html)
pub(super) fn open_account_file(path: &CStr) -> Result<rustix::fd::OwnedFd, Error> {
    rustix::io::retry_on_intr(|| {
        crate::sys::open(
            path,
            OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY,
            Mode::empty(),
        )
    })
    .map_err(|e| Error::new(Step::User, e))
}

#[cfg(test)]
mod tests {
    use super::super::MAX_GROUPS;
    use super::super::passwd::BUF_LEN;
    use super::super::test_files::{
        Files, GROUP, PASSWD, creds, cstr, no_such_group, no_such_user,
    };
    use super::*;
    use std::string::String;
    use std::vec::Vec;
    use std::{format, fs, vec};

    #[test]
    fn user_by_name() {
        let f = Files::new("by-name", PASSWD, GROUP);
        let c = f.lookup("alice").unwrap();
        assert_eq!((c.uid(), c.gid()), (1000, 1000));
        // Primary first, listed as a member of its own group only once, gid 29 twice only once.
        assert_eq!(c.groups(), &[1000, 10, 29]);
        assert_eq!(c, creds(1000, 1000, &[1000, 10, 29]));
        assert_eq!(f.lookup("bob").unwrap(), creds(1001, 1001, &[1001, 29]));
        assert_eq!(f.lookup("carol").unwrap(), creds(1002, 100, &[100, 29, 44]));
        assert_eq!(f.lookup("root").unwrap(), creds(0, 0, &[0, 10]));
        assert_eq!(f.lookup("daemon").unwrap(), creds(1, 1, &[1]));
    }

    #[test]
    fn user_by_number() {
        let f = Files::new("by-number", PASSWD, GROUP);
        // The entry's name counts for the memberships.
        assert_eq!(
            f.lookup("1000").unwrap(),
            creds(1000, 1000, &[1000, 10, 29])
        );
        assert_eq!(f.lookup("0").unwrap(), creds(0, 0, &[0, 10]));
        assert_eq!(f.lookup("01002").unwrap(), creds(1002, 100, &[100, 29, 44]));
    }

    #[test]
    fn user_and_group() {
        let f = Files::new("user-group", PASSWD, GROUP);
        // alice is listed in her own group: a membership like any other once the primary
        // group is another.
        assert_eq!(
            f.lookup("alice:audio").unwrap(),
            creds(1000, 29, &[29, 10, 1000])
        );
        assert_eq!(
            f.lookup("alice:video").unwrap(),
            creds(1000, 44, &[44, 10, 29, 1000])
        );
        assert_eq!(
            f.lookup("alice:4242").unwrap(),
            creds(1000, 4242, &[4242, 10, 29, 1000])
        );
        assert_eq!(
            f.lookup("1001:users").unwrap(),
            creds(1001, 100, &[100, 29])
        );
        assert_eq!(f.lookup("1001:0").unwrap(), creds(1001, 0, &[0, 29]));
        // The first line of a name wins.
        assert_eq!(f.lookup("bob:video").unwrap(), creds(1001, 44, &[44, 29]));
    }

    #[test]
    fn numeric_user_without_entry() {
        let f = Files::new("numeric", PASSWD, GROUP);
        assert_eq!(
            f.lookup("5000"),
            Err(Error::with_detail(
                Step::User,
                Errno::NOENT,
                Detail::NeedsGroup
            ))
        );
        assert_eq!(f.lookup("5000:77").unwrap(), creds(5000, 77, &[77]));
        assert_eq!(f.lookup("5000:audio").unwrap(), creds(5000, 29, &[29]));
        assert_eq!(f.lookup("5000:nope"), Err(no_such_group()));
        assert_eq!(
            f.lookup("4294967294:4294967294").unwrap(),
            creds(u32::MAX - 1, u32::MAX - 1, &[u32::MAX - 1])
        );
        // -1 is not an id, so it is a (missing) name.
        assert_eq!(f.lookup("4294967295:0"), Err(no_such_user()));
        assert_eq!(f.lookup("0:4294967295"), Err(no_such_group()));
    }

    #[test]
    fn unknown_and_empty_names() {
        let f = Files::new("unknown", PASSWD, GROUP);
        assert_eq!(f.lookup("mallory"), Err(no_such_user()));
        assert_eq!(f.lookup("alic"), Err(no_such_user()));
        assert_eq!(f.lookup("alice "), Err(no_such_user()));
        assert_eq!(f.lookup("+1000"), Err(no_such_user()));
        assert_eq!(f.lookup("mallory:audio"), Err(no_such_user()));
        assert_eq!(f.lookup("alice:nogroup"), Err(no_such_group()));
        assert_eq!(f.lookup("alice:audio:x"), Err(no_such_group()));
        let empty_user = Err(Error::with_detail(
            Step::User,
            Errno::INVAL,
            Detail::NoSuchUser,
        ));
        assert_eq!(f.lookup(""), empty_user);
        assert_eq!(f.lookup(":audio"), empty_user);
        assert_eq!(f.lookup(":"), empty_user);
        assert_eq!(
            f.lookup("alice:"),
            Err(Error::with_detail(
                Step::User,
                Errno::INVAL,
                Detail::NoSuchGroup
            ))
        );
    }

    #[test]
    fn skips_comments_nis_and_malformed_lines() {
        let passwd = b"# alice:x:1:1:::
+alice:x:2:2:::
-alice:x:3:3:::
+::::::

alice
alice:x
alice:x:4
alice:x:5a:5:::
alice:x:6:
alice:x:+7:7:::
alice:x:-8:8:::
alice:x:4294967295:9:::
alice:x:10:4294967296:::
alice:x: 11:11:::
:x:12:12:::
alice:x:1000:1000
";
        let group = b"#wheel:x:10:alice
+audio:x:29:alice
-video:x:44:alice
bad:x:x1:alice
bad:x::alice
bad:x:4294967295:alice
bad
bad:x
:x:55:alice
good:x:66:bob,alice
plain:x:77
";
        let f = Files::new("skip", passwd, group);
        assert_eq!(f.lookup("alice").unwrap(), creds(1000, 1000, &[1000, 66]));
        assert_eq!(f.lookup("alice:plain").unwrap(), creds(1000, 77, &[77, 66]));
        assert_eq!(f.lookup("alice:bad"), Err(no_such_group()));
        for uid in ["2", "4", "7", "11", "12"] {
            assert_eq!(
                f.lookup(uid),
                Err(Error::with_detail(
                    Step::User,
                    Errno::NOENT,
                    Detail::NeedsGroup
                )),
                "{uid}"
            );
        }
    }

    #[test]
    fn long_lines_are_skipped_in_passwd_and_read_whole_in_group() {
        // A line of padding too long for the buffer that ends in a valid entry: read from the
        // tail it would give uid 66 and group "evil".
        for pad in (BUF_LEN - 40..BUF_LEN + 40).chain([2 * BUF_LEN, 3 * BUF_LEN + 7]) {
            for before in [&b""[..], b"root:x:0:0:root:/root:/bin/sh\n"] {
                let mut passwd = Vec::from(before);
                passwd.extend(vec![b'y'; pad]);
                passwd.extend(b"alice:x:66:66::/:/bin/sh\nalice:x:1000:1000::/:/bin/sh\n");
                let mut group = Vec::from(before);
                group.extend(vec![b'y'; pad]);
                group.extend(b"evil:x:66:alice\naudio:x:29:alice\n");
                let f = Files::new(&format!("long-{pad}-{}", before.len()), &passwd, &group);
                // The group file is read whole whatever the length of a line: it is a group
                // "yyy...evil" with alice as a member (never a group "evil" read from its
                // tail).
                let expected = creds(1000, 1000, &[1000, 66, 29]);
                assert_eq!(f.lookup("alice").unwrap(), expected, "{pad}");
                assert_eq!(f.lookup("alice:evil"), Err(no_such_group()), "{pad}");
            }
        }
    }

    #[test]
    fn last_line_without_newline() {
        let f = Files::new(
            "no-newline",
            b"root:x:0:0:::\nalice:x:1000:1000::/home/alice:/bin/sh",
            b"wheel:x:10:root\naudio:x:29:bob,alice",
        );
        assert_eq!(f.lookup("alice").unwrap(), creds(1000, 1000, &[1000, 29]));
        assert_eq!(f.lookup("1000:audio").unwrap(), creds(1000, 29, &[29]));
        let f = Files::new("no-newline2", b"alice:x:1000:1000", b"audio:x:29");
        assert_eq!(f.lookup("alice:audio").unwrap(), creds(1000, 29, &[29]));
    }

    #[test]
    fn unreadable_files() {
        let f = Files::new("missing", PASSWD, GROUP);
        let missing = std::env::temp_dir().join(format!(
            "rawdaemon-cred-{}-does-not-exist",
            std::process::id()
        ));
        let missing = cstr(&missing);
        let enoent = Err(Error::new(Step::User, Errno::NOENT));
        let (passwd, group) = (cstr(&f.passwd), cstr(&f.group));
        assert_eq!(lookup_in(b"alice", &missing, &group), enoent);
        // Numbers with no /etc/passwd at all (a scratch image) stand for themselves.
        assert_eq!(
            lookup_in(b"1000:10", &missing, &missing).unwrap(),
            creds(1000, 10, &[10])
        );
        assert_eq!(
            lookup_in(b"1000", &missing, &group),
            Err(Error::with_detail(
                Step::User,
                Errno::NOENT,
                Detail::NeedsGroup
            ))
        );
        assert_eq!(lookup_in(b"alice", &passwd, &missing), enoent);
        assert_eq!(lookup_in(b"alice:10", &passwd, &missing), enoent);
        assert_eq!(lookup_in(b"5000:wheel", &passwd, &missing), enoent);
        // Neither a name nor memberships to look for: /etc/group is not read.
        assert_eq!(
            lookup_in(b"5000:10", &passwd, &missing).unwrap(),
            creds(5000, 10, &[10])
        );
        let e = lookup_in(b"alice", &missing, &group).unwrap_err();
        assert_eq!((e.errno(), e.detail()), (Some(Errno::NOENT), Detail::None));
        // A directory opens but cannot be read.
        let dir = cstr(&std::env::temp_dir());
        assert_eq!(
            lookup_in(b"alice", &dir, &group),
            Err(Error::new(Step::User, Errno::ISDIR))
        );
    }

    /// A group file with `n` groups that list `alice`, gids 5000.., after `extra`.
    fn many_groups(n: u32, extra: &str) -> String {
        let mut s = String::from(extra);
        for i in 0..n {
            s.push_str(&format!("g{i}:x:{}:bob,alice\n", 5000 + i));
        }
        s
    }

    #[test]
    fn too_many_groups() {
        let max = MAX_GROUPS as u32;
        let too_big = Err(Error::new(Step::Setgroups, Errno::TOOBIG));

        // The primary group and MAX_GROUPS - 1 others: just fits.
        let f = Files::new("many-fit", PASSWD, many_groups(max - 1, "").as_bytes());
        let c = f.lookup("alice").unwrap();
        assert_eq!(c.groups().len(), MAX_GROUPS);
        assert_eq!(c.groups()[0], 1000);
        assert_eq!(c.groups()[MAX_GROUPS - 1], 5000 + max - 2);

        // One more.
        let f = Files::new("many-over", PASSWD, many_groups(max, "").as_bytes());
        assert_eq!(f.lookup("alice"), too_big);
        // Unless the primary group is one of them (a duplicate counts once)...
        assert_eq!(f.lookup("alice:5000").unwrap().groups().len(), MAX_GROUPS);
        assert_eq!(f.lookup("alice:g7").unwrap().groups()[0], 5007);
        // ...and the same gid twice counts once.
        let groups = many_groups(max - 1, "dup:x:5003:alice\n");
        let f = Files::new("many-dup", PASSWD, groups.as_bytes());
        assert_eq!(f.lookup("alice").unwrap().groups().len(), MAX_GROUPS);

        // Far more, with the primary among them.
        let f = Files::new("many-far", PASSWD, many_groups(3 * max, "").as_bytes());
        assert_eq!(f.lookup("alice:5001"), too_big);
        assert_eq!(f.lookup("alice:g1"), too_big);
        // Whoever is not a member is not concerned.
        assert_eq!(f.lookup("carol").unwrap(), creds(1002, 100, &[100]));
    }

    #[test]
    fn parses_ids_strictly() {
        assert_eq!(parse_id(b"0"), Some(0));
        assert_eq!(parse_id(b"007"), Some(7));
        assert_eq!(parse_id(b"4294967294"), Some(u32::MAX - 1));
        for bad in [
            &b""[..],
            b"+1",
            b"-1",
            b" 1",
            b"1 ",
            b"1a",
            b"0x10",
            b"4294967295",
            b"4294967296",
            b"99999999999999999999",
        ] {
            assert_eq!(parse_id(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn system_files() {
        // Only where the system has the usual root entry.
        let Ok(passwd) = fs::read("/etc/passwd") else {
            return;
        };
        if !passwd.starts_with(b"root:x:0:0:") || fs::metadata("/etc/group").is_err() {
            return;
        }
        let c = Credentials::lookup(b"root").unwrap();
        assert_eq!((c.uid(), c.gid(), c.groups().first()), (0, 0, Some(&0)));
        assert_eq!(Credentials::lookup(b"0:0").unwrap(), c);
    }
}
