//! `--capabilities`, `--no-new-privs`, `--secbits`, `--rlimit`, `--nicelevel`, `--ionice`,
//! `--procsched`, `--oom-score-adj`: least privilege and resources for PROGRAM, parsed in
//! the launching process (the library applies them in the daemon).

use core::ffi::CStr;

use rawdaemon::Daemon;
use rawdaemon::limits::{Capabilities, IoPriority, Limits, ResourceLimit, Scheduling};

use crate::args::{
    CAPABILITIES, IONICE, NICELEVEL, NO_NEW_PRIVS, OOM_SCORE_ADJ, PROCSCHED, RLIMIT, SECBITS, Stop,
};

/// What these options ask for: the settings, and what the checks across options need.
pub struct Options(Limits, Capabilities, u32);

/// `SECBIT_NOROOT`: root gets no capabilities at `execve`.
const NOROOT: u32 = 0x1;
/// `SECBIT_NO_CAP_AMBIENT_RAISE`: no capability may be raised in the ambient set.
const NO_CAP_AMBIENT_RAISE: u32 = 0x40;

impl Options {
    /// None given.
    pub const fn new() -> Self {
        Options(
            Limits::new(),
            Capabilities {
                ambient: 0,
                inheritable: 0,
                drop_bounding: 0,
            },
            0,
        )
    }

    /// The usage error of options that contradict each other: ambient capabilities
    /// (`^cap_x`) with `--secbits` forbidding their raise.
    pub fn check(&self) -> Result<(), Stop<'static>> {
        if self.1.ambient != 0 && self.2 & NO_CAP_AMBIENT_RAISE != 0 {
            return Err(Stop::Usage(
                "--secbits with SECBIT_NO_CAP_AMBIENT_RAISE (0x40) forbids --capabilities ^cap_NAME",
                b"",
            ));
        }
        Ok(())
    }

    /// The warning for capabilities kept without `-u` (and without `SECBIT_NOROOT`): PROGRAM
    /// runs as root with all of root's capabilities, so keeping some restricts nothing.
    pub fn warning(&self, user: bool) -> Option<&'static str> {
        let kept = self.1.ambient | self.1.inheritable != 0;
        (kept && !user && self.2 & NOROOT == 0).then_some(
            "rawdaemon: warning: --capabilities without -u: PROGRAM runs as root and keeps \
             every capability (only !cap_NAME takes one away)",
        )
    }

    /// Takes option `letter` with its value (none for `--no-new-privs`).
    pub fn set<'a>(&mut self, letter: u8, value: Option<&'a CStr>) -> Result<(), Stop<'a>> {
        let v = value.map_or(&b""[..], CStr::to_bytes);
        let l = self.0;
        self.0 = match letter {
            NO_NEW_PRIVS => l.no_new_privs(true),
            CAPABILITIES => {
                let caps = Capabilities::parse(v).map_err(|entry| match entry {
                    b"" => Stop::Usage(
                        "--capabilities has an empty entry (cap_iab syntax: [!^%]cap_NAME,...)",
                        v,
                    ),
                    _ => Stop::Usage(
                        "--capabilities needs known capabilities (cap_iab syntax: \
                         [!^%]cap_NAME,...)",
                        entry,
                    ),
                })?;
                if (caps.ambient | caps.inheritable) & caps.drop_bounding != 0 {
                    return Err(Stop::Usage(
                        "--capabilities cannot both keep (^ or %) and drop (!) a capability",
                        v,
                    ));
                }
                self.1 = caps;
                l.capabilities(caps)
            }
            SECBITS => {
                let bits = parse_unsigned(v)
                    .filter(|&n| n < 0x1000)
                    .ok_or(Stop::Usage("--secbits needs a number below 0x1000", v))?
                    as u32;
                self.2 = bits;
                l.securebits(bits)
            }
            // A resource given again: the last value counts.
            RLIMIT => l.rlimit(ResourceLimit::parse(v).map_err(|why| Stop::Usage(why, v))?),
            NICELEVEL => l.nice(
                parse_signed(v, 20, 19)
                    .ok_or(Stop::Usage("--nicelevel needs a number from -20 to 19", v))?,
            ),
            OOM_SCORE_ADJ => l.oom_score_adj(parse_signed(v, 1000, 1000).ok_or(Stop::Usage(
                "--oom-score-adj needs a number from -1000 to 1000",
                v,
            ))?),
            IONICE => l.ioprio(IoPriority::parse(v).map_err(|why| Stop::Usage(why, v))?),
            PROCSCHED => l.sched(Scheduling::parse(v).map_err(|why| Stop::Usage(why, v))?),
            _ => return Err(Stop::Usage("unknown option", v)),
        };
        Ok(())
    }

    /// `d` with these settings, if any was given.
    pub fn apply<'a>(&'a self, d: Daemon<'a>) -> Daemon<'a> {
        if self.0 == Limits::new() {
            d
        } else {
            d.limits(&self.0)
        }
    }
}

/// A number as `strtoul(s, NULL, 0)` reads it: decimal, `0x` hexadecimal or `0` octal.
fn parse_unsigned(s: &[u8]) -> Option<u64> {
    let (digits, radix) = match s {
        [b'0', b'x' | b'X', hex @ ..] => (hex, 16),
        [b'0', octal @ ..] if !octal.is_empty() => (octal, 8),
        _ => (s, 10),
    };
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0_u64, |n, &b| {
        let d = u64::from((b as char).to_digit(radix)?);
        n.checked_mul(u64::from(radix))?.checked_add(d)
    })
}

/// A decimal number from `-below` to `above`, with an optional sign.
fn parse_signed(s: &[u8], below: i32, above: i32) -> Option<i32> {
    let (negative, digits) = match s {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, s),
    };
    if digits.is_empty() || digits.len() > 5 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = digits
        .iter()
        .fold(0_i32, |n, &b| n * 10 + i32::from(b - b'0'));
    if negative {
        (n <= below).then_some(-n)
    } else {
        (n <= above).then_some(n)
    }
}
