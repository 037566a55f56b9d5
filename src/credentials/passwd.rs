//! A user's entry in `/etc/passwd`: its uid, default gid, name and home directory.
//!
//! The file is read line by line through one stack buffer of [`BUF_LEN`] bytes: a line that
//! does not fit in it is skipped whole, never parsed from its tail. Empty lines, comments
//! (`#`), NIS entries (`+`, `-`) and malformed lines (too few fields, an empty name, an id
//! that is not a decimal number below `u32::MAX`) are skipped like the C library's files
//! backend does.
//!
//! Runs in the launcher, before the fork.
//!
//! # References
//!  - [passwd(5)](https://man7.org/linux/man-pages/man5/passwd.5.html)

use core::ffi::CStr;

use rustix::fd::AsFd;

use super::lookup::{open_account_file, parse_id};
use crate::error::{Error, Step};
use crate::lines::Fields;

/// The size of the line buffer: longer lines of `/etc/passwd` are skipped.
pub(super) const BUF_LEN: usize = 4096;

/// The longest user name and home directory kept (for `USER`, `LOGNAME` and `HOME`).
const NAME_MAX: usize = 64;
const HOME_MAX: usize = 256;

/// A user's name and home directory from `/etc/passwd`; empty if unknown or too long.
#[derive(Clone, Copy)]
pub(super) struct Account {
    name: [u8; NAME_MAX],
    name_len: usize,
    home: [u8; HOME_MAX],
    home_len: usize,
}

impl Account {
    /// No entry: neither a name nor a home directory.
    pub(super) const NONE: Account = Account {
        name: [0; NAME_MAX],
        name_len: 0,
        home: [0; HOME_MAX],
        home_len: 0,
    };

    /// Keeps `name` and `home`, or neither if one does not fit.
    fn set(&mut self, name: &[u8], home: &[u8]) {
        match (
            self.name.get_mut(..name.len()),
            self.home.get_mut(..home.len()),
        ) {
            (Some(n), Some(h)) => {
                n.copy_from_slice(name);
                h.copy_from_slice(home);
                self.name_len = name.len();
                self.home_len = home.len();
            }
            _ => *self = Account::NONE,
        }
    }

    /// The name, if one was kept.
    pub(super) fn name(&self) -> Option<&[u8]> {
        self.name.get(..self.name_len).filter(|n| !n.is_empty())
    }

    /// The home directory, if a name was kept (it may be empty).
    pub(super) fn home(&self) -> Option<&[u8]> {
        self.home.get(..self.home_len).filter(|_| self.name_len > 0)
    }
}

/// A user name copied out of the line buffer (a line that fit in it has a name that fits).
pub(super) struct NameBuf {
    bytes: [u8; BUF_LEN],
    len: usize,
}

impl NameBuf {
    /// Empty.
    pub(super) const fn new() -> Self {
        NameBuf {
            bytes: [0; BUF_LEN],
            len: 0,
        }
    }

    /// Stores `name`; `false` if it does not fit.
    fn set(&mut self, name: &[u8]) -> bool {
        match self.bytes.get_mut(..name.len()) {
            Some(dst) => {
                dst.copy_from_slice(name);
                self.len = name.len();
                true
            }
            None => false,
        }
    }

    /// The name stored, if any.
    pub(super) fn get(&self) -> Option<&[u8]> {
        self.bytes.get(..self.len).filter(|n| !n.is_empty())
    }
}

/// The user an entry is looked for by.
#[derive(Clone, Copy)]
pub(super) enum Wanted<'a> {
    /// The entry's name.
    Name(&'a [u8]),
    /// The entry's uid.
    Uid(u32),
}

/// The fields of an `/etc/passwd` line that the lookup uses.
struct Passwd<'l> {
    name: &'l [u8],
    uid: u32,
    gid: u32,
    /// Empty if the line has no such field.
    home: &'l [u8],
}

impl Passwd<'_> {
    /// Whether this is the entry of `user`.
    fn is(&self, user: Wanted<'_>) -> bool {
        match user {
            Wanted::Name(name) => self.name == name,
            Wanted::Uid(uid) => self.uid == uid,
        }
    }
}

/// The first entry of `user` in the file at `path`: its uid and default gid, with its name
/// put in `name` (the name whose group memberships count) and its name and home directory in
/// `account` (for the environment). `None` if there is none.
///
/// # Errors
///
/// [`Step::User`] with the errno of `open` or `read`, detail 0.
pub(super) fn find(
    path: &CStr,
    user: Wanted<'_>,
    name: &mut NameBuf,
    account: &mut Account,
) -> Result<Option<(u32, u32)>, Error> {
    let mut found = None;
    entries(path, &mut |line| match parse_passwd(line) {
        Some(p) if p.is(user) && name.set(p.name) => {
            account.set(p.name, p.home);
            found = Some((p.uid, p.gid));
            true
        }
        _ => false,
    })?;
    Ok(found)
}

/// `name:password:uid:gid[:gecos:home[:...]]`; `None` if a field up to the gid is missing,
/// the name is empty or an id is not a number.
fn parse_passwd(line: &[u8]) -> Option<Passwd<'_>> {
    let mut fields = Fields::new(line, b':');
    let name = fields.next().filter(|n| !n.is_empty())?;
    let _password = fields.next()?;
    let uid = parse_id(fields.next()?)?;
    let gid = parse_id(fields.next()?)?;
    let _gecos = fields.next();
    let home = fields.next().unwrap_or_default();
    Some(Passwd {
        name,
        uid,
        gid,
        home,
    })
}

/// Calls `each` with every line of the file at `path` that is not empty, a comment or a NIS
/// entry, without its newline, until it returns `true`; whether it did.
///
/// A line longer than the buffer is skipped whole; a last line without a newline counts.
///
/// # Errors
///
/// [`Step::User`] with the errno of `open` or `read`, detail 0.
///
/// # References
///  - [open(2)](https://man7.org/linux/man-pages/man2/open.2.html)
///  - [read(2)](https://man7.org/linux/man-pages/man2/read.2.html)
fn entries(path: &CStr, each: &mut dyn FnMut(&[u8]) -> bool) -> Result<bool, Error> {
    let fd = open_account_file(path)?;
    let mut buf = [0_u8; BUF_LEN];
    crate::lines::find_line(fd.as_fd(), &mut buf, &mut |line| match line.first() {
        None | Some(b'#' | b'+' | b'-') => false,
        Some(_) => each(line),
    })
    .map_err(|e| Error::new(Step::User, e))
}

#[cfg(test)]
mod tests {
    use super::super::test_files::{Files, GROUP, PASSWD, creds, no_such_user};
    use super::*;
    use std::format;
    use std::vec::Vec;

    #[test]
    fn fields() {
        let p = parse_passwd(b"alice:x:1000:100:Alice:/home/alice:/bin/sh").unwrap();
        assert_eq!(
            (p.name, p.uid, p.gid, p.home),
            (&b"alice"[..], 1000, 100, &b"/home/alice"[..])
        );
        let p = parse_passwd(b"bob:x:1:2").unwrap();
        assert_eq!(
            (p.name, p.uid, p.gid, p.home),
            (&b"bob"[..], 1, 2, &b""[..])
        );
        for bad in [
            &b""[..],
            b"alice",
            b"alice:x:1",
            b":x:1:1",
            b"a:x:1:x",
            b"a:x:-1:1",
        ] {
            assert!(parse_passwd(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn name_and_home_for_the_environment() {
        let f = Files::new("account", PASSWD, GROUP);
        let alice = f.lookup("alice").unwrap();
        assert_eq!(alice.name(), Some(&b"alice"[..]));
        assert_eq!(alice.home(), Some(&b"/home/alice"[..]));
        // A number with an entry gets the entry's name; one without gets none.
        let bob = f.lookup("1001:10").unwrap();
        assert_eq!(
            (bob.name(), bob.home()),
            (Some(&b"bob"[..]), Some(&b"/home/bob"[..]))
        );
        let nobody = f.lookup("4242:10").unwrap();
        assert_eq!((nobody.name(), nobody.home()), (None, None));
        // A home too long to keep: neither is kept.
        let long = std::format!("dave:x:1003:1003::/{}:/bin/sh\n", "h".repeat(300));
        let f = Files::new("account-long", long.as_bytes(), GROUP);
        let dave = f.lookup("dave").unwrap();
        assert_eq!((dave.uid(), dave.name(), dave.home()), (1003, None, None));
    }

    #[test]
    fn first_entry_of_a_uid_wins() {
        let f = Files::new(
            "dup-uid",
            b"root:x:0:0:::\ntoor:x:0:5:::\n",
            b"wheel:x:10:toor\nadm:x:4:root\n",
        );
        assert_eq!(f.lookup("0").unwrap(), creds(0, 0, &[0, 4]));
        assert_eq!(f.lookup("toor").unwrap(), creds(0, 5, &[5, 10]));
    }

    #[test]
    fn long_last_line_without_newline_is_skipped() {
        let mut passwd = Vec::from(&b"alice:x:1000:1000:::\n"[..]);
        passwd.extend(std::vec![b'y'; BUF_LEN + 3]);
        passwd.extend(b"bob:x:66:66:::");
        let f = Files::new("long-last", &passwd, b"");
        assert_eq!(f.lookup("alice").unwrap(), creds(1000, 1000, &[1000]));
        assert_eq!(f.lookup("bob"), Err(no_such_user()));
    }

    /// `name:x:uid:gid:GECOS:/:/bin/sh` padded in the GECOS field to `len` bytes.
    fn padded_line(name: &str, id: u32, len: usize) -> Vec<u8> {
        let head = format!("{name}:x:{id}:{id}:");
        let tail = ":/:/bin/sh";
        let mut line = Vec::from(head.as_bytes());
        line.extend(std::vec![b'g'; len - head.len() - tail.len()]);
        line.extend(tail.as_bytes());
        assert_eq!(line.len(), len);
        line
    }

    #[test]
    fn line_that_just_fits() {
        // A line and its newline fill the buffer exactly: it fits.
        let mut passwd = padded_line("alice", 1000, BUF_LEN - 1);
        passwd.push(b'\n');
        // One more byte and it does not.
        passwd.extend(padded_line("bob", 1001, BUF_LEN));
        passwd.push(b'\n');
        // The same at the end of a file without a final newline: the buffer holds it all.
        passwd.extend(padded_line("carol", 1002, BUF_LEN - 1));
        let f = Files::new("fits", &passwd, b"");
        assert_eq!(f.lookup("alice").unwrap(), creds(1000, 1000, &[1000]));
        assert_eq!(f.lookup("bob"), Err(no_such_user()));
        assert_eq!(f.lookup("carol").unwrap(), creds(1002, 1002, &[1002]));

        // Without a newline, a last line as long as the buffer is too long.
        let f = Files::new("fits-last", &padded_line("dave", 7, BUF_LEN), b"");
        assert_eq!(f.lookup("dave"), Err(no_such_user()));
        let f = Files::new("fits-last2", &padded_line("dave", 7, BUF_LEN - 1), b"");
        assert_eq!(f.lookup("dave").unwrap(), creds(7, 7, &[7]));
    }
}
