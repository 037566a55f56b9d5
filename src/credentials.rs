//! [`Credentials`]: the user, group and supplementary groups a daemon drops to, looked up in
//! `/etc/passwd` and `/etc/group` with fixed buffers (no NSS, no allocation).
//!
//! `/etc/passwd` is read line by line through one stack buffer of [`BUF_LEN`] bytes: a line
//! that does not fit in it is skipped whole, never parsed from its tail. `/etc/group` is
//! streamed field by field, so a group with thousands of members is read whole whatever the
//! length of its line. Empty lines, comments
//! (`#`), NIS entries (`+`, `-`) and malformed lines (too few fields, an id that is not a
//! decimal number below `u32::MAX`) are skipped like the C library's files backend does.

use core::ffi::CStr;

use rustix::fd::AsFd;
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::thread::{Gid, Uid};

use crate::error::{Detail, Error, Step};
use crate::lines::Fields;

/// The most supplementary groups a [`Credentials`] holds.
pub const MAX_GROUPS: usize = 64;

/// The size of the line buffer: longer lines of `/etc/passwd` and `/etc/group` are skipped.
const BUF_LEN: usize = 4096;

/// A user to run as: uid, primary gid and supplementary groups (and, from `/etc/passwd`, the
/// name and home directory for the environment). `Copy`, on the stack. Two are equal when
/// their ids and groups are.
#[derive(Clone, Copy)]
pub struct Credentials {
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    /// The first [`ngroups`](Self::ngroups) are the supplementary groups; the rest are 0.
    pub(crate) groups: [u32; MAX_GROUPS],
    pub(crate) ngroups: usize,
    /// The `/etc/passwd` entry's name and home directory, if there was an entry.
    account: Account,
}

/// The longest user name and home directory kept (for `USER`, `LOGNAME` and `HOME`).
const NAME_MAX: usize = 64;
const HOME_MAX: usize = 256;

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

/// A user's name and home directory from `/etc/passwd`; empty if unknown or too long.
#[derive(Clone, Copy)]
struct Account {
    name: [u8; NAME_MAX],
    name_len: usize,
    home: [u8; HOME_MAX],
    home_len: usize,
}

impl Account {
    const NONE: Account = Account {
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
    /// [`Step::User`] with `ENOENT` and the detail [`Detail::NoSuchUser`],
    /// [`Detail::NoSuchGroup`] or [`Detail::NeedsGroup`] when a name is not found or a numeric
    /// user not in `/etc/passwd` has no group; with `EINVAL` and `NO_SUCH_USER` or
    /// `NO_SUCH_GROUP` when `USER` or `GROUP` is empty; with the errno and detail 0 when a file
    /// cannot be read. [`Step::Setgroups`] with `E2BIG` for more than 64 groups (`MAX_GROUPS`).
    ///
    /// # References
    ///  - [passwd(5)](https://man7.org/linux/man-pages/man5/passwd.5.html)
    ///  - [group(5)](https://man7.org/linux/man-pages/man5/group.5.html)
    ///  - [initgroups(3)](https://man7.org/linux/man-pages/man3/initgroups.3.html)
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
        let mut c = Credentials::without_groups(uid, gid);
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
        self.groups.get(..self.ngroups).unwrap_or(&self.groups)
    }

    /// The user's name, from its `/etc/passwd` entry (none for a number without an entry):
    /// what `USER` and `LOGNAME` should say.
    pub fn name(&self) -> Option<&[u8]> {
        self.account
            .name
            .get(..self.account.name_len)
            .filter(|n| !n.is_empty())
    }

    /// The user's home directory, from its `/etc/passwd` entry: what `HOME` should say.
    pub fn home(&self) -> Option<&[u8]> {
        self.account
            .home
            .get(..self.account.home_len)
            .filter(|_| self.account.name_len > 0)
    }

    /// `uid` and `gid` with no supplementary group yet.
    const fn without_groups(uid: u32, gid: u32) -> Credentials {
        Credentials {
            uid,
            gid,
            groups: [0; MAX_GROUPS],
            ngroups: 0,
            account: Account::NONE,
        }
    }

    /// Drops the privileges of the calling process to these credentials: the supplementary
    /// groups, then the real, effective and saved gid, then the real, effective and saved uid.
    /// Then checks that the ids are the target ones and, for a uid other than 0, that neither
    /// uid 0 nor (for a gid other than 0) gid 0 can be regained.
    ///
    /// The calls are the kernel's, which change the calling thread only: the process must
    /// have exactly one thread (it runs after the fork). Raw system calls on stack data only:
    /// async-signal-safe.
    ///
    /// # Errors
    ///
    /// [`Step::Setgroups`], [`Step::Setgid`] or [`Step::Setuid`] with the call's errno, or
    /// with `EPERM` when an id read back is not the target one. [`Step::Setuid`] with `EPERM`
    /// and the detail [`Detail::RegainedRoot`] if `setuid(0)` succeeds after the drop (the
    /// process is then root again and must not go on); [`Step::Setgid`] with `EPERM` if
    /// `setgid(0)` does.
    ///
    /// # References
    ///  - [setgroups(2)](https://man7.org/linux/man-pages/man2/setgroups.2.html)
    ///  - [setresgid(2)](https://man7.org/linux/man-pages/man2/setresgid.2.html)
    ///  - [setresuid(2)](https://man7.org/linux/man-pages/man2/setresuid.2.html)
    ///  - [setuid(2)](https://man7.org/linux/man-pages/man2/setuid.2.html)
    ///  - [getuid(2)](https://man7.org/linux/man-pages/man2/getuid.2.html)
    #[allow(
        dead_code,
        reason = "called by the daemon's start once the user option is wired"
    )]
    pub(crate) fn apply(&self) -> Result<(), Error> {
        use rustix::process::{getegid, geteuid, getgid, getuid};
        use rustix::thread::{
            set_thread_gid, set_thread_groups, set_thread_res_gid, set_thread_res_uid,
            set_thread_uid,
        };

        let mut gids = [Gid::ROOT; MAX_GROUPS];
        for (slot, &g) in gids.iter_mut().zip(self.groups()) {
            *slot = Gid::from_raw_unchecked(g);
        }
        let gids = gids.get(..self.groups().len()).unwrap_or(&gids);
        set_thread_groups(gids).map_err(|e| Error::new(Step::Setgroups, e))?;

        let gid = Gid::from_raw_unchecked(self.gid);
        set_thread_res_gid(gid, gid, gid).map_err(|e| Error::new(Step::Setgid, e))?;
        let uid = Uid::from_raw_unchecked(self.uid);
        set_thread_res_uid(uid, uid, uid).map_err(|e| Error::new(Step::Setuid, e))?;

        if getgid() != gid || getegid() != gid {
            return Err(Error::new(Step::Setgid, Errno::PERM));
        }
        if getuid() != uid || geteuid() != uid {
            return Err(Error::new(Step::Setuid, Errno::PERM));
        }
        if !uid.is_root() {
            if set_thread_uid(Uid::ROOT).is_ok() {
                return Err(Error::with_detail(
                    Step::Setuid,
                    Errno::PERM,
                    Detail::RegainedRoot,
                ));
            }
            if !gid.is_root() && set_thread_gid(Gid::ROOT).is_ok() {
                return Err(Error::new(Step::Setgid, Errno::PERM));
            }
        }
        Ok(())
    }
}

/// [`Credentials::lookup`] with the paths of the two files.
pub(crate) fn lookup_in(spec: &[u8], passwd: &CStr, group: &CStr) -> Result<Credentials, Error> {
    let mut parts = Fields::new(spec, b':');
    let user = parts.next().unwrap_or_default();
    let group_spec = parts.rest();
    if user.is_empty() {
        return Err(Error::with_detail(
            Step::User,
            Errno::INVAL,
            Detail::NoSuchUser,
        ));
    }
    if group_spec == Some(b"") {
        return Err(Error::with_detail(
            Step::User,
            Errno::INVAL,
            Detail::NoSuchGroup,
        ));
    }

    // The user: uid, default gid, and the name whose group memberships count.
    let mut stored = NameBuf::new();
    let mut account = Account::NONE;
    let (uid, default_gid, name) = match parse_id(user) {
        None => {
            let mut found = None;
            entries(passwd, &mut |line| match parse_passwd(line) {
                Some(p) if p.name == user => {
                    account.set(p.name, p.home);
                    found = Some((p.uid, p.gid));
                    true
                }
                _ => false,
            })?;
            let Some((uid, gid)) = found else {
                return Err(Error::with_detail(
                    Step::User,
                    Errno::NOENT,
                    Detail::NoSuchUser,
                ));
            };
            (uid, Some(gid), Some(user))
        }
        Some(uid) => {
            let mut found = None;
            let read = entries(passwd, &mut |line| match parse_passwd(line) {
                Some(p) if p.uid == uid && stored.set(p.name) => {
                    account.set(p.name, p.home);
                    found = Some(p.gid);
                    true
                }
                _ => false,
            });
            // No /etc/passwd at all (a `FROM scratch` image): numbers stand for themselves.
            match read {
                Err(e) if e.errno() == Some(Errno::NOENT) => found = None,
                read => {
                    read?;
                }
            }
            match found {
                Some(gid) => (uid, Some(gid), Some(stored.as_bytes())),
                None => (uid, None, None),
            }
        }
    };

    // The group: a number, a name to find, or the user's default.
    let (mut gid, group_name) = match group_spec {
        None => match default_gid {
            Some(gid) => (gid, None),
            None => {
                return Err(Error::with_detail(
                    Step::User,
                    Errno::NOENT,
                    Detail::NeedsGroup,
                ));
            }
        },
        Some(g) => match parse_id(g) {
            Some(gid) => (gid, None),
            None => (0, Some(g)),
        },
    };

    // One pass over /etc/group finds both the group name and the memberships. The primary
    // gid may only be known at the end, so the memberships are gathered first: more than
    // MAX_GROUPS distinct ones are too many whatever the primary gid is.
    let mut members = [0_u32; MAX_GROUPS];
    let mut nmembers = 0;
    let mut too_many = false;
    let mut group_found = group_name.is_none();
    if group_name.is_some() || name.is_some() {
        scan_groups(group, group_name, name, &mut |named, g_gid, lists_user| {
            if !group_found && named {
                gid = g_gid;
                group_found = true;
            }
            if name.is_some() {
                if lists_user && !push_unique(&mut members, &mut nmembers, g_gid) {
                    too_many = true;
                }
                false
            } else {
                group_found
            }
        })?;
    }
    if !group_found {
        return Err(Error::with_detail(
            Step::User,
            Errno::NOENT,
            Detail::NoSuchGroup,
        ));
    }

    let too_big = Error::new(Step::Setgroups, Errno::TOOBIG);
    if too_many {
        return Err(too_big);
    }
    let mut c = Credentials::without_groups(uid, gid);
    c.account = account;
    push_unique(&mut c.groups, &mut c.ngroups, gid);
    for &m in members.get(..nmembers).unwrap_or_default() {
        if !push_unique(&mut c.groups, &mut c.ngroups, m) {
            return Err(too_big);
        }
    }
    Ok(c)
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

/// A user name copied out of the line buffer (a line that fit in it has a name that fits).
struct NameBuf {
    bytes: [u8; BUF_LEN],
    len: usize,
}

impl NameBuf {
    const fn new() -> Self {
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

    fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

/// The fields of an `/etc/passwd` line that the lookup uses.
struct Passwd<'l> {
    name: &'l [u8],
    uid: u32,
    gid: u32,
    /// Empty if the line has no such field.
    home: &'l [u8],
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

/// Opens `/etc/passwd` or `/etc/group` (or the test's stand-in) for reading.
///
/// # Errors
///
/// [`Step::User`] with the errno of `open`, detail 0.
fn open_account_file(path: &CStr) -> Result<rustix::fd::OwnedFd, Error> {
    rustix::io::retry_on_intr(|| {
        crate::sys::open(
            path,
            OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY,
            Mode::empty(),
        )
    })
    .map_err(|e| Error::new(Step::User, e))
}

/// Streams the group file at `path`, whatever the length of its lines (a group of thousands
/// of members is still read whole), and calls `each(is GROUP, gid, lists USER)` for every
/// entry until it returns `true`. Comments, NIS entries and malformed lines are skipped as
/// [`entries`] skips them.
///
/// # Errors
///
/// [`Step::User`] with the errno of `open` or `read`, detail 0.
///
/// # References
///  - [group(5)](https://man7.org/linux/man-pages/man5/group.5.html)
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

/// A user or group id: decimal digits only (no sign, no white space), below `u32::MAX`
/// (which is `-1`, never an id).
fn parse_id(s: &[u8]) -> Option<u32> {
    // Any number of digits: leading zeros are allowed, and a value past u64 is past u32 too.
    let n = crate::decimal::parse_u64(s, 10, usize::MAX)?;
    u32::try_from(n).ok().filter(|&n| n != u32::MAX)
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
    let error = |e| Error::new(Step::User, e);
    let fd = open_account_file(path)?;

    let mut buf = [0_u8; BUF_LEN];
    crate::lines::find_line(fd.as_fd(), &mut buf, &mut |line| match line.first() {
        None | Some(b'#' | b'+' | b'-') => false,
        Some(_) => each(line),
    })
    .map_err(error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    use std::path::PathBuf;
    use std::string::String;
    use std::vec::Vec;
    use std::{format, fs, vec};

    /// A passwd and a group file under the temporary directory, removed on drop.
    struct Files {
        passwd: PathBuf,
        group: PathBuf,
    }

    impl Files {
        fn new(tag: &str, passwd: &[u8], group: &[u8]) -> Files {
            let dir = std::env::temp_dir();
            let id = std::process::id();
            let files = Files {
                passwd: dir.join(format!("rawdaemon-cred-{id}-{tag}.passwd")),
                group: dir.join(format!("rawdaemon-cred-{id}-{tag}.group")),
            };
            fs::write(&files.passwd, passwd).unwrap();
            fs::write(&files.group, group).unwrap();
            files
        }

        fn lookup(&self, spec: &str) -> Result<Credentials, Error> {
            lookup_in(spec.as_bytes(), &cstr(&self.passwd), &cstr(&self.group))
        }
    }

    impl Drop for Files {
        fn drop(&mut self) {
            let _ = fs::remove_file(&self.passwd);
            let _ = fs::remove_file(&self.group);
        }
    }

    fn cstr(p: &std::path::Path) -> CString {
        CString::new(p.as_os_str().as_bytes()).unwrap()
    }

    fn creds(uid: u32, gid: u32, groups: &[u32]) -> Credentials {
        Credentials::new(uid, gid, groups).unwrap()
    }

    fn no_such_user() -> Error {
        Error::with_detail(Step::User, Errno::NOENT, Detail::NoSuchUser)
    }

    fn no_such_group() -> Error {
        Error::with_detail(Step::User, Errno::NOENT, Detail::NoSuchGroup)
    }

    const PASSWD: &[u8] = b"root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
alice:x:1000:1000:Alice:/home/alice:/bin/sh
bob:x:1001:1001:Bob:/home/bob:/bin/sh
carol:x:1002:100::/home/carol:/bin/sh
";

    const GROUP: &[u8] = b"root:x:0:
wheel:x:10:root,alice
audio:x:29:bob,alice,carol
users:x:100:
alice:x:1000:alice
bob:x:1001:
lookalike:x:2000:alicex,xalice,alic
video:x:44:carol
again:x:29:alice
video:x:45:
";

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
    fn long_last_line_without_newline_is_skipped() {
        let mut passwd = Vec::from(&b"alice:x:1000:1000:::\n"[..]);
        passwd.extend(vec![b'y'; BUF_LEN + 3]);
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
        line.extend(vec![b'g'; len - head.len() - tail.len()]);
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
        // A corrupted count never panics.
        let bad = Credentials {
            ngroups: MAX_GROUPS + 1,
            ..none
        };
        assert_eq!(bad.groups().len(), MAX_GROUPS);
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
