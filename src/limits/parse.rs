//! The text forms of the limits the `rawdaemon` tool takes (prlimit(1)'s `NAME=SOFT:HARD`,
//! supervise-daemon's `--ionice`, start-stop-daemon's `--procsched`): parsed in the
//! launcher, without allocation.

use super::{IoClass, IoPriority, Policy, ResourceLimit, Scheduling, UNLIMITED, resource};

/// `s` split at the first `sep`: what is before, and what is after if `sep` is there.
fn split_once(s: &[u8], sep: u8) -> (&[u8], Option<&[u8]>) {
    match s.iter().position(|&b| b == sep) {
        Some(at) => (
            s.get(..at).unwrap_or_default(),
            Some(s.get(at + 1..).unwrap_or_default()),
        ),
        None => (s, None),
    }
}

/// A limit's value: a decimal number, or `unlimited` (`infinity`).
fn limit_value(s: &[u8]) -> Option<u64> {
    if s.eq_ignore_ascii_case(b"unlimited") || s.eq_ignore_ascii_case(b"infinity") {
        return Some(UNLIMITED);
    }
    crate::decimal::parse_u64(s, 10, 20)
}

impl ResourceLimit {
    /// Parses `NAME=LIMITS` as prlimit(1) takes a limit: `NAME` one of its resource names
    /// (see [`resource`]), `LIMITS` either one value for both limits,
    /// `SOFT:HARD`, `SOFT:` (the hard limit left as it is) or `:HARD`; each value a decimal
    /// number or `unlimited`. A soft limit above the hard one is refused.
    ///
    /// # Errors
    ///
    /// What is wrong, as a message.
    pub fn parse(text: &[u8]) -> Result<ResourceLimit, &'static str> {
        let (name, Some(limits)) = split_once(text, b'=') else {
            return Err("--rlimit needs NAME=SOFT[:HARD]");
        };
        let resource = resource(name)
            .ok_or("--rlimit needs a resource prlimit(1) names (nofile, nproc, core, ...)")?;
        let bad = "--rlimit needs each limit a number or unlimited";
        let (soft, hard) = match split_once(limits, b':') {
            (both, None) => {
                let v = limit_value(both).ok_or(bad)?;
                (Some(v), Some(v))
            }
            (soft, Some(hard)) => {
                let value = |s: &[u8]| match s {
                    [] => Ok(None),
                    s => limit_value(s).map(Some).ok_or(bad),
                };
                (value(soft)?, value(hard)?)
            }
        };
        match (soft, hard) {
            (None, None) => Err(bad),
            (Some(s), Some(h)) if s > h => {
                Err("--rlimit needs the soft limit at or below the hard one")
            }
            _ => Ok(ResourceLimit {
                resource,
                soft,
                hard,
            }),
        }
    }
}

impl IoPriority {
    /// Parses `CLASS[:LEVEL]` as supervise-daemon's `--ionice` (a class number, 0 to 3) and
    /// start-stop-daemon's `--iosched` (a name) take it: `none` (0), `real-time` (1),
    /// `best-effort` (2) or `idle` (3), and a level from 0 (the highest) to 7, by default 4
    /// (0 for `none`, which takes no other).
    ///
    /// # Errors
    ///
    /// What is wrong, as a message.
    pub fn parse(text: &[u8]) -> Result<IoPriority, &'static str> {
        let (class, level) = split_once(text, b':');
        let class = match class {
            b"0" | b"none" => IoClass::None,
            b"1" | b"real-time" | b"realtime" => IoClass::RealTime,
            b"2" | b"best-effort" | b"besteffort" => IoClass::BestEffort,
            b"3" | b"idle" => IoClass::Idle,
            _ => return Err("--ionice needs a class: idle, best-effort, real-time, or 0 to 3"),
        };
        let default = if class == IoClass::None { 0 } else { 4 };
        let level = match level {
            None => default,
            Some(l) => crate::decimal::parse_u64(l, 10, 1)
                .filter(|&l| l <= 7 && (class != IoClass::None || l == 0))
                .ok_or("--ionice needs a level from 0 to 7 (0 for class none)")?
                as u8,
        };
        Ok(IoPriority { class, level })
    }
}

impl Scheduling {
    /// Parses `POLICY[:PRIORITY]` as start-stop-daemon's `--procsched` takes it: `other`,
    /// `fifo`, `rr`, `batch` or `idle`, and the static priority: 1 to 99 for `fifo` and `rr`
    /// (by default 1), 0 for the others.
    ///
    /// # Errors
    ///
    /// What is wrong, as a message.
    pub fn parse(text: &[u8]) -> Result<Scheduling, &'static str> {
        let (policy, priority) = split_once(text, b':');
        let policy = match policy {
            b"other" => Policy::Other,
            b"fifo" => Policy::Fifo,
            b"rr" => Policy::RoundRobin,
            b"batch" => Policy::Batch,
            b"idle" => Policy::Idle,
            _ => return Err("--procsched needs a policy: other, fifo, rr, batch or idle"),
        };
        let real_time = matches!(policy, Policy::Fifo | Policy::RoundRobin);
        let priority = match priority {
            None => u32::from(real_time),
            Some(p) => crate::decimal::parse_u64(p, 10, 2)
                .filter(|&p| {
                    if real_time {
                        (1..=99).contains(&p)
                    } else {
                        p == 0
                    }
                })
                .ok_or(
                    "--procsched needs a priority from 1 to 99 for fifo and rr, 0 for the others",
                )? as u32,
        };
        Ok(Scheduling { policy, priority })
    }
}

#[cfg(test)]
mod tests {
    use super::super::Resource;
    use super::*;

    #[test]
    fn rlimits() {
        let l = |s: &str| ResourceLimit::parse(s.as_bytes());
        let limit = |resource, soft, hard| {
            Ok(ResourceLimit {
                resource,
                soft,
                hard,
            })
        };
        assert_eq!(
            l("nofile=100"),
            limit(Resource::Nofile, Some(100), Some(100))
        );
        assert_eq!(
            l("nofile=100:200"),
            limit(Resource::Nofile, Some(100), Some(200))
        );
        assert_eq!(
            l("core=unlimited"),
            limit(Resource::Core, Some(UNLIMITED), Some(UNLIMITED))
        );
        assert_eq!(l("as=1000:"), limit(Resource::As, Some(1000), None));
        assert_eq!(l("nproc=:50"), limit(Resource::Nproc, None, Some(50)));
        assert_eq!(
            l("stack=8:unlimited"),
            limit(Resource::Stack, Some(8), Some(UNLIMITED))
        );
        for bad in [
            "nofile",
            "nofile=",
            "nofile=:",
            "files=1",
            "nofile=-1",
            "nofile=2:1",
            "nofile=1x",
            "=1",
        ] {
            assert!(l(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ionice() {
        let p = |s: &str| IoPriority::parse(s.as_bytes());
        assert_eq!(
            p("idle"),
            Ok(IoPriority {
                class: IoClass::Idle,
                level: 4
            })
        );
        assert_eq!(
            p("best-effort:7"),
            Ok(IoPriority {
                class: IoClass::BestEffort,
                level: 7
            })
        );
        assert_eq!(
            p("1:0"),
            Ok(IoPriority {
                class: IoClass::RealTime,
                level: 0
            })
        );
        assert_eq!(
            p("0"),
            Ok(IoPriority {
                class: IoClass::None,
                level: 0
            })
        );
        for bad in ["", "4", "best-effort:8", "none:1", "idle:", "rt"] {
            assert!(p(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn procsched() {
        let p = |s: &str| Scheduling::parse(s.as_bytes());
        assert_eq!(
            p("fifo"),
            Ok(Scheduling {
                policy: Policy::Fifo,
                priority: 1
            })
        );
        assert_eq!(
            p("rr:99"),
            Ok(Scheduling {
                policy: Policy::RoundRobin,
                priority: 99
            })
        );
        assert_eq!(
            p("batch"),
            Ok(Scheduling {
                policy: Policy::Batch,
                priority: 0
            })
        );
        assert_eq!(
            p("idle:0"),
            Ok(Scheduling {
                policy: Policy::Idle,
                priority: 0
            })
        );
        for bad in ["", "fifo:0", "rr:100", "other:1", "deadline", "fifo:"] {
            assert!(p(bad).is_err(), "{bad}");
        }
    }
}
