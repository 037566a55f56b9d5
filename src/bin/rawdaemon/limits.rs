//! `--capabilities`, `--no-new-privs`, `--secbits`, `--rlimit`, `--nicelevel`, `--ionice`,
//! `--procsched`, `--oom-score-adj`: least privilege and resources for PROGRAM, parsed in
//! the launching process (the library applies them in the daemon).

use core::ffi::CStr;

use rawdaemon::Daemon;
use rawdaemon::limits::{Capabilities, IoPriority, Resource, ResourceLimit, Scheduling};

use crate::args::Stop;

/// The option bytes of these long options (no short letter can be one of them).
const CAPABILITIES: u8 = 0xA0;
const NO_NEW_PRIVS: u8 = 0xA1;
const SECBITS: u8 = 0xA2;
const RLIMIT: u8 = 0xA3;
const NICELEVEL: u8 = 0xA4;
const IONICE: u8 = 0xA5;
const PROCSCHED: u8 = 0xA6;
const OOM_SCORE_ADJ: u8 = 0xA7;

/// The option byte of one of these long options.
pub fn long_option(name: &[u8]) -> Option<u8> {
    Some(match name {
        b"capabilities" => CAPABILITIES,
        b"no-new-privs" => NO_NEW_PRIVS,
        b"secbits" => SECBITS,
        b"rlimit" => RLIMIT,
        b"nicelevel" => NICELEVEL,
        b"ionice" => IONICE,
        b"procsched" => PROCSCHED,
        b"oom-score-adj" => OOM_SCORE_ADJ,
        _ => return None,
    })
}

/// Whether `letter` is one of these options.
pub const fn is_option(letter: u8) -> bool {
    CAPABILITIES <= letter && letter <= OOM_SCORE_ADJ
}

/// Whether `letter` is the one of them that takes no value.
pub const fn is_flag(letter: u8) -> bool {
    letter == NO_NEW_PRIVS
}

/// One limit per resource at most.
const MAX_RLIMITS: usize = 16;

/// What these options ask for.
pub struct Options {
    capabilities: Option<Capabilities>,
    no_new_privs: bool,
    secbits: Option<u32>,
    rlimits: [ResourceLimit; MAX_RLIMITS],
    rlimit_count: usize,
    nice: Option<i32>,
    ionice: Option<IoPriority>,
    sched: Option<Scheduling>,
    oom_score_adj: Option<i32>,
}

impl Options {
    /// None given.
    pub const fn new() -> Self {
        Options {
            capabilities: None,
            no_new_privs: false,
            secbits: None,
            rlimits: [ResourceLimit {
                resource: Resource::Nofile,
                soft: None,
                hard: None,
            }; MAX_RLIMITS],
            rlimit_count: 0,
            nice: None,
            ionice: None,
            sched: None,
            oom_score_adj: None,
        }
    }

    /// Takes option `letter` with its value (none for `--no-new-privs`).
    pub fn set<'a>(&mut self, letter: u8, value: Option<&'a CStr>) -> Result<(), Stop<'a>> {
        let v = value.map_or(&b""[..], CStr::to_bytes);
        match letter {
            NO_NEW_PRIVS => self.no_new_privs = true,
            CAPABILITIES => {
                let caps = Capabilities::parse(v).map_err(|entry| {
                    Stop::Usage(
                        "unknown capability (cap_iab syntax: [!^%]cap_NAME,...)",
                        entry,
                    )
                })?;
                self.capabilities = Some(caps);
            }
            SECBITS => {
                self.secbits = Some(
                    parse_unsigned(v)
                        .filter(|&n| n < 0x1000)
                        .ok_or(Stop::Usage("--secbits needs a number below 0x1000", v))?
                        as u32,
                );
            }
            RLIMIT => {
                let limit = ResourceLimit::parse(v).map_err(|why| Stop::Usage(why, v))?;
                let given = self
                    .rlimits
                    .get_mut(..self.rlimit_count)
                    .unwrap_or_default();
                // A resource given again: the last value counts.
                match given.iter_mut().find(|l| l.resource == limit.resource) {
                    Some(slot) => *slot = limit,
                    None => {
                        let slot = self.rlimits.get_mut(self.rlimit_count);
                        *slot.ok_or(Stop::Usage("too many --rlimit options", v))? = limit;
                        self.rlimit_count += 1;
                    }
                }
            }
            NICELEVEL => {
                self.nice = Some(
                    parse_signed(v, 20, 19)
                        .ok_or(Stop::Usage("--nicelevel needs a number from -20 to 19", v))?,
                );
            }
            OOM_SCORE_ADJ => {
                self.oom_score_adj = Some(parse_signed(v, 1000, 1000).ok_or(Stop::Usage(
                    "--oom-score-adj needs a number from -1000 to 1000",
                    v,
                ))?);
            }
            IONICE => self.ionice = Some(IoPriority::parse(v).map_err(|why| Stop::Usage(why, v))?),
            PROCSCHED => {
                self.sched = Some(Scheduling::parse(v).map_err(|why| Stop::Usage(why, v))?)
            }
            _ => return Err(Stop::Usage("unknown option", v)),
        }
        Ok(())
    }

    /// `d` with these settings.
    pub fn apply<'a>(&'a self, mut d: Daemon<'a>) -> Daemon<'a> {
        if let Some(caps) = self.capabilities {
            d = d.capabilities(caps);
        }
        if let Some(bits) = self.secbits {
            d = d.securebits(bits);
        }
        if let Some(limits) = self.rlimits.get(..self.rlimit_count) {
            d = d.rlimits(limits);
        }
        if let Some(n) = self.nice {
            d = d.nice(n);
        }
        if let Some(io) = self.ionice {
            d = d.ioprio(io);
        }
        if let Some(sched) = self.sched {
            d = d.sched(sched);
        }
        if let Some(adj) = self.oom_score_adj {
            d = d.oom_score_adj(adj);
        }
        d.no_new_privs(self.no_new_privs)
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
