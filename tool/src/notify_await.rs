//! `--notify-await` (and `--watchdog`) in the launching process (the tool never runs its own
//! code after a fork: the library does): the abstract name of the start's notification
//! socket, PROGRAM's `NOTIFY_SOCKET=` and `WATCHDOG_USEC=` entries, and the service manager's
//! own `NOTIFY_SOCKET` that the start reports to.

use core::ffi::CStr;

use crate::cstr::c_str;

/// `NOTIFY_SOCKET=` and a name of at most 60 bytes, and the NUL.
const ENTRY: usize = 14 + 60 + 1;

/// The entries `--notify-await` and `--watchdog` give PROGRAM, in fixed buffers.
pub struct AwaitEnv {
    socket: [u8; ENTRY],
    watchdog: [u8; 40],
}

/// What [`AwaitEnv::fill`] made: PROGRAM's entries, and the socket's address.
pub struct Awaited<'s> {
    pub socket: &'s CStr,
    pub watchdog: Option<&'s CStr>,
    pub address: &'s [u8],
}

impl AwaitEnv {
    /// Empty buffers.
    pub const fn new() -> Self {
        AwaitEnv {
            socket: [0; ENTRY],
            watchdog: [0; 40],
        }
    }

    /// A fresh abstract name, `@rawdaemon/notify/PID/RANDOM` (16 hex digits of the random
    /// bytes the kernel gives every program at `execve`, `AT_RANDOM`: nobody can take the
    /// name first), as PROGRAM's `NOTIFY_SOCKET=` entry; and `WATCHDOG_USEC=` for
    /// `watchdog_secs`.
    ///
    /// # References
    ///  - [getauxval(3)](https://man7.org/linux/man-pages/man3/getauxval.3.html) (`AT_RANDOM`)
    ///  - [sd_watchdog_enabled(3)](https://www.freedesktop.org/software/systemd/man/latest/sd_watchdog_enabled.html)
    pub fn fill(&mut self, watchdog_secs: Option<u32>) -> Option<Awaited<'_>> {
        let random = crate::start::random_bytes().unwrap_or_default();
        let mut hex = [0_u8; 16];
        for (pair, byte) in hex.chunks_exact_mut(2).zip(random) {
            for (digit, nibble) in pair.iter_mut().zip([byte >> 4, byte & 15]) {
                *digit = b"0123456789abcdef".get(usize::from(nibble)).copied()?;
            }
        }
        let mut pid = [0_u8; 10];
        let pid = decimal(
            rustix::process::getpid().as_raw_nonzero().get() as u32,
            &mut pid,
        );
        let mut at = 0;
        for part in [
            &b"NOTIFY_SOCKET=@rawdaemon/notify/"[..],
            pid,
            b"/",
            &hex,
            b"\0",
        ] {
            self.socket
                .get_mut(at..at + part.len())?
                .copy_from_slice(part);
            at += part.len();
        }
        let socket = c_str(self.socket.get(..at)?)?;
        let address = socket.to_bytes().get(14..)?;
        let watchdog = match watchdog_secs {
            Some(secs) => {
                let mut digits = [0_u8; 10];
                let digits = decimal(secs, &mut digits);
                let mut at = 0;
                for part in [&b"WATCHDOG_USEC="[..], digits, b"000000\0"] {
                    self.watchdog
                        .get_mut(at..at + part.len())?
                        .copy_from_slice(part);
                    at += part.len();
                }
                Some(c_str(self.watchdog.get(..at)?)?)
            }
            None => None,
        };
        Some(Awaited {
            socket,
            watchdog,
            address,
        })
    }
}

/// `n` in decimal, in `out`.
fn decimal(mut n: u32, out: &mut [u8; 10]) -> &[u8] {
    let mut at = out.len();
    loop {
        at -= 1;
        if let Some(d) = out.get_mut(at) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || at == 0 {
            break;
        }
    }
    out.get(at..).unwrap_or_default()
}

/// The service manager's `NOTIFY_SOCKET`, as PROGRAM would have had it without
/// `--notify-await`: the last `-E NOTIFY_SOCKET=` (an `-E NOTIFY_SOCKET` alone removes it),
/// else the inherited one.
///
/// # Safety
///
/// Every entry of `inherited` is a NUL-terminated string that lives as long as the process.
pub unsafe fn upstream(inherited: &[*const u8], set: &[&'static CStr]) -> Option<&'static [u8]> {
    for e in set.iter().rev() {
        let text = e.to_bytes();
        if text == b"NOTIFY_SOCKET" {
            return None;
        }
        if let Some(value) = text.strip_prefix(b"NOTIFY_SOCKET=") {
            return Some(value);
        }
    }
    // SAFETY: the caller's contract.
    unsafe { crate::env::find(inherited, b"NOTIFY_SOCKET") }
}
