//! The unit tests' passwd and group files, and the results they expect.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::{format, fs};

use rustix::io::Errno;

use super::{Credentials, lookup_in};
use crate::error::{Detail, Error, Step};

/// A passwd and a group file under the temporary directory, removed on drop.
pub(super) struct Files {
    pub(super) passwd: PathBuf,
    pub(super) group: PathBuf,
}

impl Files {
    pub(super) fn new(tag: &str, passwd: &[u8], group: &[u8]) -> Files {
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

    pub(super) fn lookup(&self, spec: &str) -> Result<Credentials, Error> {
        lookup_in(spec.as_bytes(), &cstr(&self.passwd), &cstr(&self.group))
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.passwd);
        let _ = fs::remove_file(&self.group);
    }
}

pub(super) fn cstr(p: &std::path::Path) -> CString {
    CString::new(p.as_os_str().as_bytes()).unwrap()
}

pub(super) fn creds(uid: u32, gid: u32, groups: &[u32]) -> Credentials {
    Credentials::new(uid, gid, groups).unwrap()
}

pub(super) fn no_such_user() -> Error {
    Error::with_detail(Step::User, Errno::NOENT, Detail::NoSuchUser)
}

pub(super) fn no_such_group() -> Error {
    Error::with_detail(Step::User, Errno::NOENT, Detail::NoSuchGroup)
}

pub(super) const PASSWD: &[u8] = b"root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
alice:x:1000:1000:Alice:/home/alice:/bin/sh
bob:x:1001:1001:Bob:/home/bob:/bin/sh
carol:x:1002:100::/home/carol:/bin/sh
";

pub(super) const GROUP: &[u8] = b"root:x:0:
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
