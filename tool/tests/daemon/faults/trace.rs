//! Reading `strace -f -o` output: each traced process's calls in order (a call strace showed
//! in two parts joined), how each process ended, and which process of the start is which.

use std::collections::BTreeMap;

use super::table::{Any, Daemon, Intermediate, Launcher, Proc};

/// One system call as traced: its name and the text after `name(` (arguments and result,
/// with a call strace showed in two parts joined).
#[derive(Debug)]
pub(super) struct Call {
    pub(super) name: String,
    pub(super) text: String,
    pub(super) pending: bool,
}

/// The calls of every traced process in order, and how each ended.
#[derive(Debug, Default)]
pub(super) struct Trace {
    /// The first process traced: the launcher (also when a wrapper executed it).
    pub(super) launcher: i32,
    pub(super) calls: BTreeMap<i32, Vec<Call>>,
    pub(super) exits: BTreeMap<i32, String>,
}

impl Trace {
    pub(super) fn parse(raw: &str) -> Trace {
        let mut t = Trace::default();
        for line in raw.lines() {
            let Some((pid, rest)) = line.split_once(' ') else {
                continue;
            };
            let Ok(pid) = pid.parse::<i32>() else {
                continue;
            };
            if t.launcher == 0 {
                t.launcher = pid;
            }
            let rest = rest.trim_start();
            let calls = t.calls.entry(pid).or_default();
            if let Some(resumed) = rest.strip_prefix("<... ") {
                let Some((name, tail)) = resumed.split_once(" resumed>") else {
                    continue;
                };
                if let Some(call) = calls.iter_mut().rev().find(|c| c.pending && c.name == name) {
                    call.text.push_str(tail);
                    call.pending = false;
                }
            } else if let Some(end) = rest.strip_prefix("+++ ") {
                t.exits
                    .insert(pid, end.trim_end_matches(" +++").to_string());
            } else if let Some((name, text)) = rest.split_once('(') {
                if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                {
                    continue;
                }
                let (text, pending) = match text.strip_suffix(" <unfinished ...>") {
                    Some(text) => (text, true),
                    None => (text, false),
                };
                calls.push(Call {
                    name: name.to_string(),
                    text: text.to_string(),
                    pending,
                });
            }
        }
        t
    }

    /// The pid of a process of the start.
    pub(super) fn pid_of(&self, process: Proc) -> Option<i32> {
        match process {
            Launcher => (self.launcher != 0).then_some(self.launcher),
            Intermediate => self.child_of(self.pid_of(Launcher)?),
            Daemon => self.child_of(self.pid_of(Intermediate)?),
            Any => None,
        }
    }

    /// The child of `pid`'s first successful fork.
    pub(super) fn child_of(&self, pid: i32) -> Option<i32> {
        self.calls.get(&pid)?.iter().find_map(|c| {
            if !matches!(c.name.as_str(), "clone" | "clone3" | "fork" | "vfork") {
                return None;
            }
            let child: i32 = c.text.rsplit_once("= ")?.1.trim().parse().ok()?;
            (child > 0).then_some(child)
        })
    }

    /// The calls of a process of the start; the daemon's up to its first `execve`.
    pub(super) fn calls_of(&self, process: Proc) -> Option<&[Call]> {
        let calls = self.calls.get(&self.pid_of(process)?)?.as_slice();
        if process != Daemon {
            return Some(calls);
        }
        let end = calls
            .iter()
            .position(|c| c.name == "execve")
            .map_or(calls.len(), |i| i + 1);
        Some(&calls[..end])
    }

    /// The launcher's exit status from `+++ exited with N +++`.
    pub(super) fn exit_code(&self) -> Option<i32> {
        self.exits
            .get(&self.launcher)?
            .strip_prefix("exited with ")?
            .parse()
            .ok()
    }
}
