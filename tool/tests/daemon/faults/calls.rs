//! Which call a row fails: its placeholders filled in, its pattern matched against a trace's
//! calls, and strace's `when=` counted as strace counts it.

use super::table::{Launcher, Proc, Row};
use super::trace::{Call, Trace};

/// The values of the placeholders of [`Row::args`] and [`Row::line`].
#[derive(Clone, Debug, Default)]
pub(super) struct Vars {
    pub(super) pid: String,
    pub(super) log: String,
    pub(super) sleep: String,
    pub(super) chan: String,
    pub(super) status: String,
}

impl Vars {
    pub(super) fn fill(&self, pattern: &str) -> String {
        pattern
            .replace("{pid}", &self.pid)
            .replace("{log}", &self.log)
            .replace("{sleep}", &self.sleep)
            .replace("{chan}", &self.chan)
            .replace("{status}", &self.status)
    }
}

/// The call a row fails: its system call, the pattern it matches when it fails (the row's,
/// or its alternative's), its index in the process's calls, strace's `when`.
#[derive(Debug)]
pub(super) struct Chosen {
    pub(super) name: &'static str,
    pub(super) failed_args: &'static str,
    pub(super) index: usize,
    pub(super) when: usize,
}

impl Row {
    /// The call this row fails in `trace`.
    pub(super) fn resolve(&self, trace: &Trace, vars: &Vars) -> Option<Chosen> {
        let calls = trace.calls_of(self.process)?;
        let names = self
            .syscall
            .split('|')
            .map(|name| (name, self.args, self.args));
        for (name, args, failed_args) in names.chain(self.alternative) {
            let pattern = vars.fill(args);
            let floor = floor(args, calls);
            let index = calls
                .iter()
                .enumerate()
                .filter(|(i, c)| counted(self.process, *i) && c.name == name)
                .filter(|(i, c)| *i >= floor && glob(&pattern, &c.text))
                .map(|(i, _)| i)
                .nth(self.nth - 1);
            if let Some(index) = index {
                let when = occurrence(self.process, calls, index);
                return Some(Chosen {
                    name,
                    failed_args,
                    index,
                    when,
                });
            }
        }
        None
    }
}

/// The first call a pattern with a descriptor placeholder can match: the one after the call
/// that made the descriptor (the loader's reads use the same number before); for a check of a
/// path's directory, the one after the resolution's open of `/`.
pub(super) fn floor(pattern: &str, calls: &[Call]) -> usize {
    let maker = |made: &dyn Fn(&Call) -> bool| calls.iter().position(made).map_or(0, |i| i + 1);
    if pattern.contains("{status}") {
        maker(&|c| c.text.contains("\"/proc/self/status\""))
    } else if pattern.contains("{chan}") {
        maker(&|c| c.name == "socketpair")
    } else if pattern.contains("AT_EMPTY_PATH") {
        // A path's resolution from `/` (glibc's own fstat is such a call too, earlier).
        maker(&|c| c.name == "openat" && c.text.starts_with("AT_FDCWD, \"/\", "))
    } else {
        0
    }
}

/// Whether strace counts call `i` of `process` for `when=`: not the launcher's own `execve`
/// (strace injects nothing until that has returned).
pub(super) fn counted(process: Proc, i: usize) -> bool {
    process != Launcher || i > 0
}

/// Which invocation of its system call `calls[index]` is, as strace counts for `when=`.
pub(super) fn occurrence(process: Proc, calls: &[Call], index: usize) -> usize {
    let name = &calls[index].name;
    (0..=index)
        .filter(|&i| counted(process, i) && calls[i].name == *name)
        .count()
}

/// `pattern` matches the start of `text`, each `*` standing for any run of characters.
pub(super) fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    for part in parts {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}
