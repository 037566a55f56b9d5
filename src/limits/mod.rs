//! **Least privilege and resources for the program**: capabilities, the no-new-privileges
//! flag, the secure bits, resource limits, the nice value, the I/O and CPU scheduling and
//! the OOM score adjustment, as [`Daemon`] settings.
//!
//! The types here are plain data, checked and parsed in the launcher (the text forms the
//! `rawdaemon` tool takes are parsed by [`Capabilities::parse`], [`ResourceLimit::parse`],
//! [`IoPriority::parse`] and [`Scheduling::parse`], with no allocation); the daemon only
//! applies them, right around its privilege drop (see [`Daemon::capabilities`]).

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

/// The settings of this module in a [`Daemon`]: all off by default.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Limits<'a> {
    pub capabilities: Option<Capabilities>,
    pub no_new_privs: bool,
    pub securebits: Option<u32>,
    pub rlimits: &'a [ResourceLimit],
    pub nice: Option<i32>,
    pub ioprio: Option<IoPriority>,
    pub sched: Option<Scheduling>,
    pub oom_score_adj: Option<i32>,
}

impl Limits<'_> {
    /// Nothing set.
    pub(crate) const NONE: Limits<'static> = Limits {
        capabilities: None,
        no_new_privs: false,
        securebits: None,
        rlimits: &[],
        nice: None,
        ioprio: None,
        sched: None,
        oom_score_adj: None,
    };
}

impl<'a> Daemon<'a> {
    /// The program's capabilities (see [`Capabilities`]), set by the daemon around its
    /// privilege drop. Before: the inheritable set becomes exactly
    /// `ambient | inheritable`, `drop_bounding` leaves the bounding set, and with a
    /// [`user`](Self::user) and ambient capabilities the capabilities are kept across the
    /// change of user (`PR_SET_KEEPCAPS`). After: with a user, the permitted and effective
    /// sets become exactly `ambient`, and each ambient capability is raised. So a program run
    /// as a user has exactly the ambient capabilities in its permitted, effective and
    /// ambient sets, and nothing more.
    ///
    /// Before any fork the launcher checks that it has every ambient and inheritable one in
    /// its own permitted and bounding sets: [`Step::Capabilities`](crate::Step::Capabilities)
    /// with no errno and [`Detail::Capability`] naming the first missing. A refusal by the
    /// kernel fails the start with the same step and its errno.
    ///
    /// # References
    ///  - [capabilities(7)](https://man7.org/linux/man-pages/man7/capabilities.7.html)
    ///  - [capset(2)](https://man7.org/linux/man-pages/man2/capset.2.html)
    ///  - [prctl(2)](https://man7.org/linux/man-pages/man2/prctl.2.html)
    #[must_use]
    pub const fn capabilities(mut self, caps: Capabilities) -> Self {
        self.limits.capabilities = Some(caps);
        self
    }

    /// Sets the no-new-privileges flag (`PR_SET_NO_NEW_PRIVS`) last, after the privilege
    /// drop: neither the program nor anything it executes can gain privileges through a
    /// set-user-ID program or file capabilities.
    #[must_use]
    pub const fn no_new_privs(mut self, on: bool) -> Self {
        self.limits.no_new_privs = on;
        self
    }

    /// Sets the secure bits (`PR_SET_SECUREBITS`, the `SECBIT_*` flags of
    /// capabilities(7); 3, for example, is `SECBIT_NOROOT` and its lock: root gets no
    /// capabilities at `execve`), before the privilege drop (setting them needs
    /// `CAP_SETPCAP`). With ambient capabilities and a user,
    /// `SECBIT_KEEP_CAPS` is added for the drop (`execve` clears it).
    #[must_use]
    pub const fn securebits(mut self, bits: u32) -> Self {
        self.limits.securebits = Some(bits);
        self
    }

    /// Resource limits (`setrlimit(2)`), set in order before the privilege drop (raising a
    /// hard limit needs `CAP_SYS_RESOURCE`); the program inherits them.
    #[must_use]
    pub const fn rlimits(mut self, limits: &'a [ResourceLimit]) -> Self {
        self.limits.rlimits = limits;
        self
    }

    /// Adds `increment` to the nice value, as `nice(2)` and start-stop-daemon's
    /// `--nicelevel` do (the kernel keeps the result within -20 to 19; lowering it needs
    /// `CAP_SYS_NICE`), before the privilege drop.
    #[must_use]
    pub const fn nice(mut self, increment: i32) -> Self {
        self.limits.nice = Some(increment);
        self
    }

    /// The I/O priority (`ioprio_set(2)`), set before the privilege drop.
    #[must_use]
    pub const fn ioprio(mut self, prio: IoPriority) -> Self {
        self.limits.ioprio = Some(prio);
        self
    }

    /// The CPU scheduling policy and priority (`sched_setscheduler(2)`), set before the
    /// privilege drop.
    #[must_use]
    pub const fn sched(mut self, sched: Scheduling) -> Self {
        self.limits.sched = Some(sched);
        self
    }

    /// The OOM killer's adjustment, -1000 (never) to 1000 (first), written to
    /// `/proc/self/oom_score_adj` before the root directory changes (lowering it needs
    /// `CAP_SYS_RESOURCE`).
    #[must_use]
    pub const fn oom_score_adj(mut self, adj: i32) -> Self {
        self.limits.oom_score_adj = Some(adj);
        self
    }
}

/// Writes what of a limits step failed, with its leading space: ` cap_net_raw`, ` nofile`,
/// ` nice`.
pub(crate) fn write_part(m: &mut Message, detail: Detail) {
    let part = match detail {
        Detail::Capability(n) => {
            match capability_name(n) {
                Some(name) => m.push_str(" cap_").push_str(name),
                None => m.push_str(" ").push_u32(n),
            };
            return;
        }
        Detail::Resource(n) => names::resource_name_of(n),
        Detail::NoNewPrivs => "no_new_privs",
        Detail::Securebits => "securebits",
        Detail::Nice => "nice",
        Detail::Ionice => "ionice",
        Detail::Sched => "sched",
        Detail::OomScoreAdj => "oom_score_adj",
        _ => return,
    };
    m.push_str(" ").push_str(part);
}
