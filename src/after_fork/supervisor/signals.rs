//! The signals the supervisor handles, and reading them from its `signalfd` (they are blocked:
//! no handler ever runs). Runs in the supervisor.

use rustix::fd::OwnedFd;

/// Signal numbers, the same on every Linux architecture this crate supports.
pub(super) mod nr {
    pub const HUP: i32 = 1;
    pub const INT: i32 = 2;
    pub const QUIT: i32 = 3;
    pub const USR1: i32 = 10;
    pub const USR2: i32 = 12;
    pub const TERM: i32 = 15;
    pub const CHLD: i32 = 17;
}

/// Signal `sig` in a set: bit `sig - 1`.
pub(super) const fn bit(sig: i32) -> u64 {
    1 << (sig - 1)
}

/// The signals the supervisor handles (through the signalfd): the program's end, and those it
/// forwards.
pub(super) const HANDLED: u64 = bit(nr::CHLD)
    | bit(nr::TERM)
    | bit(nr::INT)
    | bit(nr::QUIT)
    | bit(nr::HUP)
    | bit(nr::USR1)
    | bit(nr::USR2);

/// The order in which pending signals are handled: CHLD first (an exit and a TERM together
/// must see the child gone).
pub(super) const ORDER: [i32; 7] = [
    nr::CHLD,
    nr::TERM,
    nr::INT,
    nr::QUIT,
    nr::HUP,
    nr::USR1,
    nr::USR2,
];

/// The signals that stop the supervisor.
pub(super) const STOPS: u64 = bit(nr::TERM) | bit(nr::INT) | bit(nr::QUIT);

/// The size of a `struct signalfd_siginfo`, whose first field is the signal number (`u32`).
const RECORD: usize = 128;

/// The signals waiting in the signalfd `signals` (non-blocking), as a set.
///
/// # References
///  - [signalfd(2)](https://man7.org/linux/man-pages/man2/signalfd.2.html)
pub(super) fn pending(signals: &OwnedFd) -> u64 {
    let mut seen = 0_u64;
    let mut buf = [0_u8; RECORD * 8];
    while let Ok(n) = rustix::io::read(signals, &mut buf) {
        if n == 0 {
            break;
        }
        for record in buf.get(..n).unwrap_or_default().chunks_exact(RECORD) {
            let Some(&signo) = record.first_chunk::<4>() else {
                continue;
            };
            let signo = u32::from_ne_bytes(signo);
            if (1..=64).contains(&signo) {
                seen |= bit(signo as i32);
            }
        }
    }
    seen
}
