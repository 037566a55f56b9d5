//! Socket activation passed through: [`ListenPid`], the program's `LISTEN_PID=` entry,
//! filled with the program's own pid just before `execve`, in its own process.
//!
//! `sd_listen_fds(3)` accepts the descriptors `LISTEN_FDS` announces only if `LISTEN_PID` is
//! the caller's pid; the activator (systemd, `systemd-socket-activate`, s6-fdholder) set it
//! to the launcher's, and the program's pid is known only after the forks. The entry is a
//! fixed slot prepared before them, so filling it needs no allocation.
//!
//! Filled in the process that executes the program (the daemon, each run's process under
//! `-R`, or the process itself in foreground mode), after the fork: async-signal-safe.

use core::cell::UnsafeCell;

/// `LISTEN_PID=`.
const NAME: &[u8; 11] = b"LISTEN_PID=";

/// The room of a [`ListenPid`]: the name, ten digits, a NUL.
const LEN: usize = NAME.len() + 10 + 1;

/// The `LISTEN_PID=PID` entry of a program's environment, filled by the process that
/// executes the program (see [`Exec::listen_pid`](crate::Exec::listen_pid)).
///
/// Put [`as_ptr`](Self::as_ptr) in the `envp` given to [`Exec`](crate::Exec) in place of the
/// inherited `LISTEN_PID` entry. Until the fill it reads `LISTEN_PID=` (empty).
pub struct ListenPid(UnsafeCell<[u8; LEN]>);

// SAFETY: the bytes are written only by the process about to `execve` (after a fork, its own
// copy; after the clone that shares memory, the launcher's too, which is suspended meanwhile
// and only exits afterwards), through `fill`, whose contract excludes any concurrent reader.
#[allow(unsafe_code)]
unsafe impl Sync for ListenPid {}

impl core::fmt::Debug for ListenPid {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("ListenPid")
    }
}

impl Default for ListenPid {
    fn default() -> Self {
        Self::new()
    }
}

impl ListenPid {
    /// An entry reading `LISTEN_PID=`.
    pub const fn new() -> Self {
        ListenPid(UnsafeCell::new(*b"LISTEN_PID=\0\0\0\0\0\0\0\0\0\0\0"))
    }

    /// The entry as an `envp` pointer (a NUL-terminated string).
    pub const fn as_ptr(&self) -> *const u8 {
        self.0.get().cast_const().cast()
    }

    /// Writes `LISTEN_PID=pid` (no leading zeros or blanks: some parsers take a leading 0
    /// for octal, others refuse blanks). Async-signal-safe.
    ///
    /// # Safety
    ///
    /// Nothing reads or writes the entry meanwhile: called in the process about to `execve`,
    /// which holds no reference into it.
    #[allow(unsafe_code)]
    pub(crate) unsafe fn fill(&self, pid: u32) {
        let mut digits = [0_u8; 10];
        let digits = crate::decimal::format_u32(pid, &mut digits);
        // SAFETY: the caller guarantees no other access; the pointer is the cell's own.
        let bytes = unsafe { &mut *self.0.get() };
        let (_, value) = bytes.split_at_mut(NAME.len());
        let mut rest = value.iter_mut();
        // The digits first: `zip` asks its first iterator first, and must not take a slot
        // past the last digit.
        for (&d, slot) in digits.iter().zip(rest.by_ref()) {
            *slot = d;
        }
        if let Some(end) = rest.next() {
            *end = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_the_pid() {
        let slot = ListenPid::new();
        // SAFETY: the pointer is a NUL-terminated string, read while nothing writes.
        let text = |s: &ListenPid| unsafe { core::ffi::CStr::from_ptr(s.as_ptr().cast()) };
        assert_eq!(text(&slot), c"LISTEN_PID=");
        // SAFETY: no reference into it is held.
        unsafe { slot.fill(4_294_967_295) };
        assert_eq!(text(&slot), c"LISTEN_PID=4294967295");
        // SAFETY: as above.
        unsafe { slot.fill(7) };
        assert_eq!(text(&slot), c"LISTEN_PID=7");
    }
}
