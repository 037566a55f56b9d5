//! C strings cut out of byte slices, in the launching process (the tool never runs its own
//! code after a fork: the library does), without core's `memchr` and error types.
//!
//! The library has the same [`c_str`] for itself (private to it): this one is the tool's
//! only copy.

use core::ffi::CStr;

/// `CStr::from_bytes_with_nul(bytes).ok()` with a plain loop: core's version brings its
/// `memchr` and error type along.
pub fn c_str(bytes: &[u8]) -> Option<&CStr> {
    match bytes.iter().position(|&b| b == 0) {
        Some(i) if i + 1 == bytes.len() => {
            // SAFETY: the one NUL in `bytes` is its last byte.
            let s = unsafe { CStr::from_bytes_with_nul_unchecked(bytes) };
            Some(s)
        }
        _ => None,
    }
}

/// The C string that starts `from` bytes into `s` (empty past its end).
pub fn tail(s: &CStr, from: usize) -> &CStr {
    s.to_bytes_with_nul()
        .get(from..)
        .and_then(c_str)
        .unwrap_or(c"")
}
