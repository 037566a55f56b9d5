//! `USER[:GROUP]` looked up in passwd and group files (`credentials::lookup_in`).
//!
//! The input is `SPEC NUL PASSWD NUL GROUP`: the passwd file exists only if there is a first
//! NUL, the group file only if there is a second (so missing files are fuzzed too). Both are
//! in-memory files opened by path (`/proc/self/fd/N`).
//!
//! Checked: no panic; a successful lookup has the gid first among its groups, no duplicate
//! group, at most `MAX_GROUPS` of them, no id `u32::MAX`; and the result (ids, groups, name,
//! home, or the error's step, errno and detail) is the one of a reference model written from
//! the documentation with std below.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rawdaemon::{Credentials, Detail, Error, Step, fuzzing};

const MAX_GROUPS: usize = 64;
/// The library's line buffer: longer lines are skipped whole.
const BUF_LEN: usize = 4096;
const ENOENT: i32 = 2;
const E2BIG: i32 = 7;
const EINVAL: i32 = 22;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |&b| b == 0);
    let spec = parts.next().unwrap_or_default();
    let passwd = parts.next();
    let group = parts.next();

    let passwd_fd = passwd.map(|p| rawdaemon_fuzz::memfile(0, p));
    let group_fd = group.map(|g| rawdaemon_fuzz::memfile(1, g));
    let missing = c"/nonexistent/rawdaemon-fuzz";
    let passwd_path = passwd_fd.map(rawdaemon_fuzz::proc_path);
    let group_path = group_fd.map(rawdaemon_fuzz::proc_path);
    let got = fuzzing::lookup_in(
        spec,
        passwd_path.as_deref().unwrap_or(missing),
        group_path.as_deref().unwrap_or(missing),
    );

    if let Ok(c) = &got {
        let groups = c.groups();
        assert_eq!(
            groups.first(),
            Some(&c.gid()),
            "{c:?}: the gid is not first"
        );
        assert!(groups.len() <= MAX_GROUPS);
        for (i, g) in groups.iter().enumerate() {
            assert!(!groups[..i].contains(g), "{c:?}: {g} twice");
        }
        assert!(c.uid() != u32::MAX && !groups.contains(&u32::MAX), "{c:?}");
        assert!(c.home().is_none() || c.name().is_some());
        // Credentials that `new` makes from the same numbers are equal.
        assert_eq!(Credentials::new(c.uid(), c.gid(), groups).as_ref(), Ok(c));
    }
    let want = reference(spec, passwd, group);
    assert_eq!(
        summary(&got),
        want,
        "spec {:?}\npasswd {:?}\ngroup {:?}",
        String::from_utf8_lossy(spec),
        passwd.map(String::from_utf8_lossy),
        group.map(String::from_utf8_lossy),
    );
});

/// What a lookup found, comparable with the reference.
#[derive(Debug, PartialEq, Eq)]
enum Found {
    Creds {
        uid: u32,
        gid: u32,
        groups: Vec<u32>,
        name: Option<Vec<u8>>,
        home: Option<Vec<u8>>,
    },
    Err {
        step: Step,
        errno: i32,
        detail: Detail,
    },
}

fn summary(r: &Result<Credentials, Error>) -> Found {
    match r {
        Ok(c) => Found::Creds {
            uid: c.uid(),
            gid: c.gid(),
            groups: c.groups().to_vec(),
            name: c.name().map(<[u8]>::to_vec),
            home: c.home().map(<[u8]>::to_vec),
        },
        Err(e) => err(e.step(), e.raw_os_error(), e.detail()),
    }
}

fn err(step: Step, errno: i32, detail: Detail) -> Found {
    Found::Err {
        step,
        errno,
        detail,
    }
}

/// The entries of a file: its lines (a last one without a newline counts), less those of
/// `BUF_LEN` bytes or more, empty ones, comments and NIS entries. `None` if it is missing.
fn entries(file: Option<&[u8]>) -> Option<Vec<&[u8]>> {
    let file = file?;
    let mut lines: Vec<&[u8]> = file.split(|&b| b == b'\n').collect();
    if lines.last() == Some(&&b""[..]) {
        lines.pop();
    }
    lines.retain(|l| l.len() < BUF_LEN && !matches!(l.first(), None | Some(b'#' | b'+' | b'-')));
    Some(lines)
}

/// Decimal digits only, any number of them, below `u32::MAX`.
fn id(s: &[u8]) -> Option<u32> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let digits = std::str::from_utf8(s).ok()?.trim_start_matches('0');
    if digits.len() > 10 {
        return None;
    }
    let n: u64 = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    u32::try_from(n).ok().filter(|&n| n != u32::MAX)
}

/// `name:password:uid:gid[:gecos:home[:...]]`: (name, uid, gid, home).
fn passwd_entry(line: &[u8]) -> Option<(&[u8], u32, u32, &[u8])> {
    let f: Vec<&[u8]> = line.split(|&b| b == b':').collect();
    if f.len() < 4 || f[0].is_empty() {
        return None;
    }
    Some((
        f[0],
        id(f[2])?,
        id(f[3])?,
        f.get(5).copied().unwrap_or_default(),
    ))
}

/// `name:password:gid[:members]`: (name, gid, members).
fn group_entry(line: &[u8]) -> Option<(&[u8], u32, &[u8])> {
    let f: Vec<&[u8]> = line.splitn(4, |&b| b == b':').collect();
    if f.len() < 3 || f[0].is_empty() {
        return None;
    }
    Some((f[0], id(f[2])?, f.get(3).copied().unwrap_or_default()))
}

/// The lookup as `Credentials::lookup` documents it.
fn reference(spec: &[u8], passwd: Option<&[u8]>, group: Option<&[u8]>) -> Found {
    let (user, group_spec) = match spec.iter().position(|&b| b == b':') {
        Some(i) => (&spec[..i], Some(&spec[i + 1..])),
        None => (spec, None),
    };
    if user.is_empty() {
        return err(Step::User, EINVAL, Detail::NoSuchUser);
    }
    if group_spec == Some(b"") {
        return err(Step::User, EINVAL, Detail::NoSuchGroup);
    }
    let passwd = entries(passwd);
    let users = || passwd.iter().flatten().filter_map(|l| passwd_entry(l));

    // uid, default gid, the name whose memberships count, and the (name, home) kept.
    let (uid, default_gid, name, account) = match id(user) {
        None => {
            if passwd.is_none() {
                return err(Step::User, ENOENT, Detail::None);
            }
            match users().find(|p| p.0 == user) {
                Some((name, uid, gid, home)) => (uid, Some(gid), Some(name), Some((name, home))),
                None => return err(Step::User, ENOENT, Detail::NoSuchUser),
            }
        }
        // A missing passwd file: the number stands for itself.
        Some(uid) => match users().find(|p| p.1 == uid) {
            Some((name, _, gid, home)) => (uid, Some(gid), Some(name), Some((name, home))),
            None => (uid, None, None, None),
        },
    };
    let (mut gid, group_name) = match group_spec {
        None => match default_gid {
            Some(gid) => (gid, None),
            None => return err(Step::User, ENOENT, Detail::NeedsGroup),
        },
        Some(g) => match id(g) {
            Some(gid) => (gid, None),
            None => (0, Some(g)),
        },
    };
    let mut members: Vec<u32> = Vec::new();
    if group_name.is_some() || name.is_some() {
        let Some(groups) = entries(group) else {
            return err(Step::User, ENOENT, Detail::None);
        };
        let groups: Vec<_> = groups.iter().filter_map(|l| group_entry(l)).collect();
        if let Some(g) = group_name {
            match groups.iter().find(|e| e.0 == g) {
                Some(e) => gid = e.1,
                None => return err(Step::User, ENOENT, Detail::NoSuchGroup),
            }
        }
        if let Some(name) = name {
            for e in &groups {
                if e.2.split(|&b| b == b',').any(|m| m == name) && !members.contains(&e.1) {
                    members.push(e.1);
                }
            }
        }
    }
    if members.len() > MAX_GROUPS {
        return err(Step::Setgroups, E2BIG, Detail::None);
    }
    let mut all = vec![gid];
    for m in members {
        if !all.contains(&m) {
            all.push(m);
        }
    }
    if all.len() > MAX_GROUPS {
        return err(Step::Setgroups, E2BIG, Detail::None);
    }
    // The name and home are kept only if both fit (64 and 256 bytes).
    let account = account.filter(|(n, h)| n.len() <= 64 && h.len() <= 256);
    Found::Creds {
        uid,
        gid,
        groups: all,
        name: account.map(|a| a.0.to_vec()),
        home: account.map(|a| a.1.to_vec()),
    }
}
