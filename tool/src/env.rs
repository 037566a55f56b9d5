//! PROGRAM's environment, built in the launching process (the tool never runs its own code
//! after a fork: the library does): the inherited one, less what `-E` and `-u` replace, then
//! their entries, in a fixed array of pointers; and the account variables `-u` sets.

use core::ffi::CStr;

#[cfg(feature = "tool-privileges")]
use rawdaemon::Credentials;

/// The environment `_start` was given, as a slice (without the final null).
///
/// # Safety
///
/// `envp` is null or a null-terminated array of pointers.
pub unsafe fn inherited<'a>(envp: *const *const u8) -> &'a [*const u8] {
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
    /// Empty buffers.
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
    let text = buf.get_mut(..=name.len() + value.len())?;
    for (byte, &from) in text.iter_mut().zip(name.iter().chain(value).chain(&[0])) {
        *byte = from;
    }
    crate::cstr::c_str(text)
}

/// The inherited environment less the names `set` sets, then the `set` entries (a later one
/// for the same name wins; an entry without `=` only removes its name), then a null, in
/// `out`: the entries and their null, `None` if they do not fit.
///
/// # Safety
///
/// Every entry of `env` is a NUL-terminated string.
pub unsafe fn build<'o>(
    env: &[*const u8],
    set: &[&CStr],
    out: &'o mut [*const u8],
) -> Option<&'o mut [*const u8]> {
    let mut n = 0;
    for &entry in env {
        // SAFETY: the caller guarantees it.
        let text = unsafe { CStr::from_ptr(entry.cast()) }.to_bytes();
        if set.iter().any(|e| same_name(e.to_bytes(), text)) {
            continue;
        }
        *out.get_mut(n)? = entry;
        n += 1;
    }
    let mut rest = set;
    while let Some((e, later)) = rest.split_first() {
        rest = later;
        let text = e.to_bytes();
        // A later -E for the same name wins; an entry without `=` only removes its name.
        if !text.contains(&b'=') || later.iter().any(|l| same_name(l.to_bytes(), text)) {
            continue;
        }
        *out.get_mut(n)? = e.as_ptr().cast();
        n += 1;
    }
    *out.get_mut(n)? = core::ptr::null();
    n += 1;
    out.get_mut(..n)
}

/// Whether two `NAME=VALUE` entries set the same name.
fn same_name(a: &[u8], b: &[u8]) -> bool {
    fn name(entry: &[u8]) -> &[u8] {
        entry.split(|&c| c == b'=').next().unwrap_or(entry)
    }
    name(a) == name(b)
}

/// The value of `name` in the environment `env` (up to its null, if it has one).
///
/// # Safety
///
/// Every entry of `env` before a null is a NUL-terminated string that lives for `'a`.
pub unsafe fn find<'a>(env: &[*const u8], name: &[u8]) -> Option<&'a [u8]> {
    env.iter().take_while(|p| !p.is_null()).find_map(|&entry| {
        // SAFETY: the caller guarantees it.
        let text = unsafe { CStr::from_ptr(entry.cast()) }.to_bytes();
        text.strip_prefix(name)?.strip_prefix(b"=")
    })
}
