//! **Least privilege and resources for the program**: capabilities, the no-new-privileges
//! flag, the secure bits, resource limits, the nice value, the I/O and CPU scheduling and
//! the OOM score adjustment, as [`Limits`] for [`Daemon::limits`].
//!
//! The types here are plain data, checked and parsed in the launcher (the text forms the
//! `rawdaemon` tool takes are parsed by [`Capabilities::parse`], [`ResourceLimit::parse`],
//! [`IoPriority::parse`] and [`Scheduling::parse`], with no allocation); the daemon only
//! applies them, right around its privilege drop (see [`Limits`] and [`Daemon::limits`]).

mod capabilities;
mod names;
mod parse;

use crate::config::Daemon;
use crate::error::Detail;
use crate::message::Message;

pub use capabilities::{LAST_CAPABILITY, capability, capability_name};
pub use names::{resource, resource_name};
/// A resource of `setrlimit(2)`, as rustix names it.
pub use rustix::process::Resource;

/// Capabilities for the program in `cap_iab(3)` terms: bit `n` of each set is capability `n`
/// (`CAP_NET_BIND_SERVICE` is 10).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// Raised in the ambient set (and put in the inheritable and permitted sets, which the
    /// ambient set needs): the program keeps them across `execve` as a user other than root
    /// (`^cap_x`).
    pub ambient: u64,
    /// Put in the inheritable set only (`%cap_x`, or a bare name).
    pub inheritable: u64,
    /// Removed from the bounding set (`!cap_x`): never to be had again, even through a
    /// set-user-ID or file-capability program.
    pub drop_bounding: u64,
}

/// `RLIM_INFINITY`: no limit.
pub const UNLIMITED: u64 = u64::MAX;

/// One resource limit for the program: `None` leaves that half as it is,
/// [`UNLIMITED`] lifts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResourceLimit {
    /// Which resource.
    pub resource: Resource,
    /// The soft limit, which the kernel enforces.
    pub soft: Option<u64>,
    /// The hard limit, the ceiling of the soft one (raising it needs `CAP_SYS_RESOURCE`).
    pub hard: Option<u64>,
}

/// An I/O scheduling class, as `ioprio_set(2)` numbers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum IoClass {
    /// No class set: the I/O priority follows the nice value.
    None = 0,
    /// Real time: served first (needs `CAP_SYS_ADMIN` or `CAP_SYS_NICE`).
    RealTime = 1,
    /// Best effort, the default class.
    BestEffort = 2,
    /// Idle: served only when no other process wants the disk.
    Idle = 3,
}

/// The program's I/O priority: a class and a level in it (0, the highest, to 7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IoPriority {
    /// The class.
    pub class: IoClass,
    /// The level in [`RealTime`](IoClass::RealTime) and [`BestEffort`](IoClass::BestEffort):
    /// 0 to 7 (ignored by the other classes).
    pub level: u8,
}

/// A CPU scheduling policy, as `sched_setscheduler(2)` numbers it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Policy {
    /// `SCHED_OTHER`, the default time sharing.
    Other = 0,
    /// `SCHED_FIFO`, real time (needs `CAP_SYS_NICE`).
    Fifo = 1,
    /// `SCHED_RR`, real time with time slices (needs `CAP_SYS_NICE`).
    RoundRobin = 2,
    /// `SCHED_BATCH`, for CPU-bound work.
    Batch = 3,
    /// `SCHED_IDLE`, only when nothing else runs.
    Idle = 5,
}

/// The program's CPU scheduling: a policy and its static priority (1 to 99 for
/// [`Fifo`](Policy::Fifo) and [`RoundRobin`](Policy::RoundRobin), 0 for the others).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scheduling {
    /// The policy.
    pub policy: Policy,
    /// Its static priority.
    pub priority: u32,
}

/// Least privilege and resources for the program, handed to [`Daemon::limits`]: built
/// with `const fn` setters, everything off by default (the launcher's values stay).
///
/// The daemon applies them around its privilege drop (under [`respawn`](Daemon::respawn),
/// each run of the program does): the OOM score adjustment first, while `/proc` is in reach
/// (before [`chroot`](Daemon::chroot)); then the resource limits, the nice value, the I/O
/// priority, the scheduling policy, the capabilities' inheritable and bounding sets and the
/// secure bits, which need the launcher's privileges; then the drop to the
/// [`user`](Daemon::user); then the capabilities to keep, and the no-new-privileges flag.
/// The program inherits all of it across `execve`. A refusal by the kernel fails the start
/// with [`Step::Capabilities`](crate::Step::Capabilities), [`Step::Prctl`](crate::Step::Prctl),
/// [`Step::Rlimit`](crate::Step::Rlimit) or [`Step::Priority`](crate::Step::Priority) and
/// the errno, the [`Detail`] naming what was refused.
///
/// ```
/// use rawdaemon::limits::{Capabilities, Limits, ResourceLimit, Resource};
/// const LIMITS: Limits = Limits::new()
///     .capabilities(Capabilities { ambient: 1 << 10, inheritable: 0, drop_bounding: 0 })
///     .no_new_privs(true)
///     .rlimit(ResourceLimit { resource: Resource::Nofile, soft: Some(4096), hard: Some(8192) })
///     .nice(5);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub(crate) capabilities: Option<Capabilities>,
    pub(crate) no_new_privs: bool,
    pub(crate) securebits: Option<u32>,
    /// At most one per resource, in `RLIMIT_*` number order.
    pub(crate) rlimits: [Option<ResourceLimit>; RESOURCES],
    pub(crate) nice: Option<i32>,
    pub(crate) ioprio: Option<IoPriority>,
    pub(crate) sched: Option<Scheduling>,
    pub(crate) oom_score_adj: Option<i32>,
}

/// How many resources `setrlimit(2)` knows.
const RESOURCES: usize = 16;

impl Default for Limits {
    fn default() -> Self {
        Self::new()
    }
}

impl Limits {
    /// Nothing set.
    pub const fn new() -> Self {
        Limits {
            capabilities: None,
            no_new_privs: false,
            securebits: None,
            rlimits: [None; RESOURCES],
            nice: None,
            ioprio: None,
            sched: None,
            oom_score_adj: None,
        }
    }

    /// The program's capabilities (see [`Capabilities`]). Before the drop: the inheritable
    /// set becomes exactly `ambient | inheritable`, `drop_bounding` leaves the bounding set,
    /// and with a [`user`](Daemon::user) and ambient capabilities the capabilities are kept
    /// across the change of user (`PR_SET_KEEPCAPS`). After it: with a user, the permitted
    /// and effective sets become exactly `ambient`, and each ambient capability is raised.
    /// So a program run as a user has exactly the ambient capabilities in its permitted,
    /// effective and ambient sets, and nothing more.
    ///
    /// Before any fork the launcher checks that it has every ambient and inheritable one in
    /// its own permitted and bounding sets: [`Step::Capabilities`](crate::Step::Capabilities)
    /// without an errno, and [`Detail::Capability`] naming the first one missing. One both
    /// kept (ambient or inheritable) and dropped from the bounding set, or ambient ones with
    /// [`securebits`](Self::securebits) that include `SECBIT_NO_CAP_AMBIENT_RAISE` (0x40),
    /// are refused there too, with `EINVAL` and the first such one.
    ///
    /// Without a [`user`](Daemon::user) the program runs as root and has every capability
    /// root has, whatever is kept here (unless the secure bits include `SECBIT_NOROOT`):
    /// these sets then add nothing, and only the bounding set's drops take any away.
    ///
    /// # References
    ///  - [capabilities(7)](https://man7.org/linux/man-pages/man7/capabilities.7.html)
    ///  - [capset(2)](https://man7.org/linux/man-pages/man2/capset.2.html)
    ///  - [prctl(2)](https://man7.org/linux/man-pages/man2/prctl.2.html)
    #[must_use]
    pub const fn capabilities(mut self, caps: Capabilities) -> Self {
        self.capabilities = Some(caps);
        self
    }

    /// Sets the no-new-privileges flag (`PR_SET_NO_NEW_PRIVS`) last, after the drop: neither
    /// the program nor anything it executes gains privileges through a set-user-ID program
    /// or file capabilities.
    #[must_use]
    pub const fn no_new_privs(mut self, on: bool) -> Self {
        self.no_new_privs = on;
        self
    }

    /// Sets the secure bits (`PR_SET_SECUREBITS`, the `SECBIT_*` flags of capabilities(7):
    /// 3, for example, is `SECBIT_NOROOT` and its lock, so that root gets no capabilities at
    /// `execve`) before the drop: setting them needs `CAP_SETPCAP`. With ambient
    /// capabilities and a user, `SECBIT_KEEP_CAPS` is added for the drop (`execve` clears
    /// it).
    #[must_use]
    pub const fn securebits(mut self, bits: u32) -> Self {
        self.securebits = Some(bits);
        self
    }

    /// A resource limit (`setrlimit(2)`), set before the drop (raising a hard limit needs
    /// `CAP_SYS_RESOURCE`); a second one for the same resource replaces the first.
    #[must_use]
    pub const fn rlimit(mut self, limit: ResourceLimit) -> Self {
        if let Some((_, [slot, ..])) = self.rlimits.split_at_mut_checked(limit.resource as usize) {
            *slot = Some(limit);
        }
        self
    }

    /// Adds `increment` to the nice value, as `nice(2)` and start-stop-daemon's
    /// `--nicelevel` do (the kernel keeps the result within -20 to 19; lowering it needs
    /// `CAP_SYS_NICE`).
    #[must_use]
    pub const fn nice(mut self, increment: i32) -> Self {
        self.nice = Some(increment);
        self
    }

    /// The I/O priority (`ioprio_set(2)`).
    #[must_use]
    pub const fn ioprio(mut self, prio: IoPriority) -> Self {
        self.ioprio = Some(prio);
        self
    }

    /// The CPU scheduling policy and priority (`sched_setscheduler(2)`).
    #[must_use]
    pub const fn sched(mut self, sched: Scheduling) -> Self {
        self.sched = Some(sched);
        self
    }

    /// The OOM killer's adjustment, -1000 (never) to 1000 (first), written to
    /// `/proc/self/oom_score_adj` (lowering it needs `CAP_SYS_RESOURCE`).
    #[must_use]
    pub const fn oom_score_adj(mut self, adj: i32) -> Self {
        self.oom_score_adj = Some(adj);
        self
    }
}

impl<'a> Daemon<'a> {
    /// Least privilege and resources for the program: capabilities, secure bits, the
    /// no-new-privileges flag, resource limits, priorities (see [`Limits`]).
    #[must_use]
    pub const fn limits(mut self, limits: &'a Limits) -> Self {
        self.limits = Some(limits);
        self
    }
}

/// The `n`th name of `table` (names each ended by a NUL); empty past the last. One small
/// loop for both tables, which every message of a failed start links.
#[inline(never)]
fn nth_name(table: &'static [u8], n: u32) -> &'static [u8] {
    let mut rest = table;
    let mut n = n;
    while let Some(end) = rest.iter().position(|&b| b == 0) {
        let (name, tail) = rest.split_at(end);
        if n == 0 {
            return name;
        }
        n -= 1;
        rest = tail.get(1..).unwrap_or_default();
    }
    &[]
}

/// Writes what of a limits step failed, with its leading space: ` cap_net_raw`, ` nofile`,
/// ` nice`.
pub(crate) fn write_part(m: &mut Message, detail: Detail) {
    let part: &[u8] = match detail {
        Detail::Capability(n) => {
            match capabilities::name_of(n) {
                [] => m.push_str(" ").push_u32(n),
                name => m.push_str(" cap_").push(name),
            };
            return;
        }
        Detail::Resource(n) => names::name_of(n),
        Detail::NoNewPrivs => b"no_new_privs",
        Detail::Securebits => b"securebits",
        Detail::Nice => b"nice",
        Detail::Ionice => b"ionice",
        Detail::Sched => b"sched",
        Detail::OomScoreAdj => b"oom_score_adj",
        _ => return,
    };
    m.push_str(" ").push(part);
}

#[cfg(test)]
mod tests {
    use crate::error::{Detail, Error, Step};
    use rustix::io::Errno;

    fn text(e: Error) -> std::string::String {
        std::format!("{e}")
    }

    #[test]
    fn messages_name_the_step_and_what_was_refused() {
        let cases = [
            (
                Error::without_errno(Step::Capabilities, Detail::Capability(13)),
                "capabilities cap_net_raw: the launcher does not have it (in its permitted and \
                 bounding sets)",
            ),
            (
                Error::with_detail(Step::Capabilities, Errno::PERM, Detail::Capability(16)),
                "capabilities cap_sys_module: Operation not permitted",
            ),
            (
                Error::with_detail(Step::Capabilities, Errno::INVAL, Detail::Capability(63)),
                "capabilities 63: Invalid argument",
            ),
            (
                Error::new(Step::Capabilities, Errno::PERM),
                "capabilities: Operation not permitted",
            ),
            (
                Error::with_detail(Step::Prctl, Errno::PERM, Detail::Securebits),
                "prctl securebits: Operation not permitted",
            ),
            (
                Error::with_detail(Step::Prctl, Errno::INVAL, Detail::NoNewPrivs),
                "prctl no_new_privs: Invalid argument",
            ),
            (
                Error::with_detail(Step::Rlimit, Errno::PERM, Detail::Resource(7)),
                "rlimit nofile: Operation not permitted",
            ),
            (
                Error::with_detail(Step::Priority, Errno::ACCESS, Detail::Nice),
                "priority nice: Permission denied",
            ),
            (
                Error::with_detail(Step::Priority, Errno::PERM, Detail::Ionice),
                "priority ionice: Operation not permitted",
            ),
            (
                Error::with_detail(Step::Priority, Errno::PERM, Detail::Sched),
                "priority sched: Operation not permitted",
            ),
            (
                Error::with_detail(Step::Priority, Errno::ACCESS, Detail::OomScoreAdj),
                "priority oom_score_adj: Permission denied",
            ),
        ];
        for (e, expect) in cases {
            assert_eq!(text(e), expect);
            // Each crosses the readiness channel unchanged.
            assert_eq!(Error::from_bytes(e.to_bytes()), Some(e));
            assert_eq!(
                Error::from_bytes(e.to_bytes()).unwrap().detail(),
                e.detail()
            );
        }
    }
}
