//! PROGRAM's environment, built in the launching process (the tool never runs its own code
//! after a fork: the library does): the inherited one, less what `-E` and `-u` replace, then
//! their entries, in a fixed array of pointers.

use core::ffi::CStr;

#[cfg(feature = "tool-privileges")]
use rawdaemon::Credentials;

/// The C runtime's environment as a slice (without the final null).
///
/// # Safety
///
/// `envp` is null or a null-terminated array of pointers.
pub unsafe fn inherited_env<'a>(envp: *const *const u8) -> &'a [*const u8] {
    if envp.is_null() {
        return &[];
    }
    let mut n = 0;
    // SAFETY: the array is null-terminated.
    while !unsafe { *envp.add(n) }.is_null() {
        n += 1;
    }
    // SAFETY: n entries were just read.
    unsafe { core::slice::from_raw_parts(envp, n) }
}

/// `USER=`, `LOGNAME=` and `HOME=` for the account of `-u`, in fixed buffers.
#[cfg(feature = "tool-privileges")]
pub struct AccountEnv {
    user: [u8; 72],
    logname: [u8; 72],
    home: [u8; 264],
}

#[cfg(feature = "tool-privileges")]
impl AccountEnv {
    pub const fn new() -> Self {
        AccountEnv {
            user: [0; 72],
            logname: [0; 72],
            home: [0; 264],
        }
    }

    /// The entries for `user`'s `/etc/passwd` entry. A variable that entry cannot give (a
    /// number without an entry, a name or home too long for the buffers) is named alone,
    /// which removes it: PROGRAM must never see the launcher's (root's) `HOME`.
    pub fn entries<'s>(&'s mut self, user: Option<&Credentials>) -> impl Iterator<Item = &'s CStr> {
        let name = user.and_then(Credentials::name);
        let home = user.and_then(Credentials::home);
        let user_entry = name.and_then(|n| entry(&mut self.user, b"USER=", n));
        let logname = name.and_then(|n| entry(&mut self.logname, b"LOGNAME=", n));
        let home = home.and_then(|h| entry(&mut self.home, b"HOME=", h));
        [
            user_entry.unwrap_or(c"USER"),
            logname.unwrap_or(c"LOGNAME"),
            home.unwrap_or(c"HOME"),
        ]
        .into_iter()
        .filter(move |_| user.is_some())
    }
}

/// `NAME=value` and a NUL in `buf`, if it fits.
#[cfg(feature = "tool-privileges")]
fn entry<'b>(buf: &'b mut [u8], name: &[u8], value: &[u8]) -> Option<&'b CStr> {
    let len = name.len() + value.len();
    if len >= buf.len() {
        return None;
    }
    buf[..name.len()].copy_from_slice(name);
    buf[name.len()..len].copy_from_slice(value);
    buf[len] = 0;
    crate::cstr::c_str(&buf[..=len])
}

/// The inherited environment less the names `set` sets, then the `set` entries (a later one
/// for the same name wins; an entry without `=` only removes its name), then a null. Returns
/// the number of entries, `None` if they do not fit.
pub fn build_env(env: &[*const u8], set: &[&CStr], out: &mut [*const u8]) -> Option<usize> {
    let mut n = 0;
    for &entry in env {
        // SAFETY: environment entries are NUL-terminated strings.
        let text = unsafe { CStr::from_ptr(entry.cast()) }.to_bytes();
        if set.iter().any(|e| same_name(e.to_bytes(), text)) {
            continue;
        }
        *out.get_mut(n)? = entry;
        n += 1;
    }
    for (i, e) in set.iter().enumerate() {
        // A later -E for the same name wins.
        let removal = !e.to_bytes().contains(&b'=');
        if removal
            || set[i + 1..]
                .iter()
                .any(|later| same_name(later.to_bytes(), e.to_bytes()))
        {
            continue;
        }
        *out.get_mut(n)? = e.as_ptr().cast();
        n += 1;
    }
    *out.get_mut(n)? = core::ptr::null();
    Some(n)
}

/// Whether two `NAME=VALUE` entries set the same name.
fn same_name(a: &[u8], b: &[u8]) -> bool {
    let name = |s: &[u8]| -> usize { s.iter().position(|&c| c == b'=').unwrap_or(s.len()) };
    a[..name(a)] == b[..name(b)]
}

/// The value of `name` in the environment.
pub fn find_env<'a>(env: &[*const u8], name: &[u8]) -> Option<&'a [u8]> {
    env.iter().find_map(|&entry| {
        // SAFETY: environment entries are NUL-terminated strings that live as long as main.
        let text = unsafe { CStr::from_ptr(entry.cast()) }.to_bytes();
        text.strip_prefix(name)?.strip_prefix(b"=")
    })
}
