//! Proven under faults: every system call on the tool's start path is made to fail, without
//! changing the code, by strace's fault injection (`-e inject=SYSCALL:error=ERRNO:when=N`),
//! and the outcome is checked: the launcher exits non-zero with the one line naming the step,
//! no process of the attempt survives, the pid file is absent or still names its previous
//! owner, and a log file the attempt created is gone. A few faults are absorbed by design (a
//! fallback takes over); their rows expect a clean start instead.
//!
//! `table.rs` holds [`ROWS`], the list of injection points, and [`NOT_INJECTED`], the calls
//! that are not injected, each with its reason; `strace.rs` runs the tool under strace,
//! `trace.rs` reads strace's output back, and `calls.rs` finds in it the call a row fails.
//! This file holds the two tests and the checks of one row's outcome.
//!
//! `fault_table_covers_the_start_path` traces a successful start and fails on any call of the
//! launcher, the intermediate or the daemon (up to its `execve`) that neither lists: a new step
//! without a row shows up there.
//!
//! Which call a row fails is found in a baseline trace of a successful start (the same
//! command, the same launch state): strace counts `when=` per system call and per traced
//! process, from the launcher's first call after its own `execve` and from a child's first
//! call. The trace of each faulted run is then read back to prove that exactly that call was
//! the one injected.

mod calls;
mod strace;
mod table;
mod trace;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use crate::common::*;
use crate::{ensure, ensure_eq};
use calls::{Chosen, Vars, counted, floor, glob, occurrence};
pub use strace::i386_fork_then_exec;
use strace::{Baseline, DEADLINE, Env, start_args};
use table::{
    Any, Daemon, FRESH, Intermediate, Launcher, NOT_INJECTED, Proc, ROWS, Row, STALE, STALE_CONTENT,
};

// ---------------------------------------------------------------------------------------
// The tests

/// Every call of a successful start (fresh and stale pid file) is an injection point of
/// [`ROWS`] or listed in [`NOT_INJECTED`]; every row finds its call.
pub fn fault_table_covers_the_start_path() -> TestResult {
    let env = Env::find()?;
    let startup = env.startup()?;
    let mut problems = Vec::new();
    for stale in [FRESH, STALE] {
        let base = env.baseline(stale)?;
        let scenario = if stale {
            "stale pid file"
        } else {
            "no pid file"
        };
        // Which call each row fails in this baseline.
        let mut chosen: Vec<(Proc, usize)> = Vec::new();
        for r in ROWS {
            match r.resolve(&base.trace, &base.vars) {
                Some(c) => chosen.push((r.process, c.index)),
                None if r.stale == stale => problems.push(format!(
                    "row {}: no call {} #{} of {:?} matching {:?} in the baseline ({scenario})",
                    r.id, r.syscall, r.nth, r.process, r.args
                )),
                None => {}
            }
        }
        for process in [Launcher, Intermediate, Daemon] {
            let calls = base.trace.calls_of(process).unwrap_or(&[]);
            // The launcher's start-up by the C runtime is not the tool's.
            let first = if process == Launcher { startup } else { 0 };
            for (i, call) in calls.iter().enumerate().skip(first) {
                let in_rows = chosen.contains(&(process, i));
                let exempt = NOT_INJECTED.iter().any(|(name, p, args, _)| {
                    *name == call.name
                        && (*p == Any || *p == process)
                        && glob(&base.vars.fill(args), &call.text)
                });
                if !in_rows && !exempt {
                    problems.push(format!(
                        "{scenario}: {process:?} call {}({} is neither in ROWS nor in NOT_INJECTED",
                        call.name, call.text
                    ));
                }
            }
        }
    }
    ensure!(
        problems.is_empty(),
        "{} problem(s):\n    {}",
        problems.len(),
        problems.join("\n    ")
    );
    Ok(())
}

/// Each row of [`ROWS`]: the fault injected exactly where it says, then the outcome checked.
/// Every row runs, and the failures are listed together.
pub fn fault_injection_every_step() -> TestResult {
    let env = Env::find()?;
    let bases = [env.baseline(FRESH)?, env.baseline(STALE)?];
    let mut failed = Vec::new();
    for r in ROWS {
        let base = &bases[usize::from(r.stale)];
        let (how, mut problems) = env.run_row(r, base);
        // Whatever happened, the next row starts with no process of this one.
        let strays = sweep_children();
        if !strays.is_empty() {
            problems.push(format!("killed afterwards: {strays:?}"));
        }
        if problems.is_empty() {
            println!("    fault {} ({how}) ... ok", r.id);
        } else {
            println!("    fault {} ({how}) ... FAILED", r.id);
            failed.push(format!(
                "row {} ({how}):\n        {}",
                r.id,
                problems.join("\n        ")
            ));
        }
    }
    ensure!(
        failed.is_empty(),
        "{} of {} rows failed:\n    {}",
        failed.len(),
        ROWS.len(),
        failed.join("\n    ")
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------
// One row: the fault injected, the outcome checked

impl Env {
    /// One row: the injection made, and the row's problems (none if it holds).
    fn run_row(&self, r: &Row, base: &Baseline) -> (String, Vec<String>) {
        let Some(chosen) = r.resolve(&base.trace, &base.vars) else {
            let problem = format!(
                "no call {} #{} of {:?} matching {:?} in the baseline trace",
                r.syscall, r.nth, r.process, r.args
            );
            return ("not injected".into(), vec![problem]);
        };
        let how = format!(
            "{}:{}:when={} in the {:?}",
            chosen.name, r.fault, chosen.when, r.process
        );
        (how.clone(), self.run_injected(r, base, &chosen, &how))
    }

    /// One row's faulted run and its checks.
    fn run_injected(&self, r: &Row, base: &Baseline, chosen: &Chosen, how: &str) -> Vec<String> {
        let mut problems = Vec::new();
        let dir = TempDir::new("fault");
        let (pid_file, log) = (dir.path("d.pid"), dir.path("d.log"));
        if r.stale {
            if let Err(e) = fs::write(&pid_file, STALE_CONTENT) {
                problems.push(e.to_string());
                return problems;
            }
        }
        let vars = Vars {
            chan: base.vars.chan.clone(),
            status: base.vars.status.clone(),
            ..self.vars(&pid_file, &log)
        };
        let out = match self.traced(&dir, Some((r, chosen)), &start_args(&pid_file, &log)) {
            Ok(out) => out,
            Err(e) => {
                problems.push(format!("{how}: {e}"));
                return problems;
            }
        };
        // The fault hit the call the row names, and nothing else of the start path.
        let hit = out.trace.calls_of(r.process).and_then(|calls| {
            let index = (0..calls.len()).find(|&i| {
                counted(r.process, i)
                    && calls[i].name == chosen.name
                    && occurrence(r.process, calls, i) == chosen.when
            })?;
            Some((&calls[index], index >= floor(chosen.failed_args, calls)))
        });
        match hit {
            None => problems.push(format!(
                "{how}: the call was never made (the {:?} made fewer)",
                r.process
            )),
            Some((call, _)) if !call.text.contains("(INJECTED)") => {
                problems.push(format!("{how}: not injected: {}({}", call.name, call.text));
            }
            Some((call, above)) if !above || !glob(&vars.fill(chosen.failed_args), &call.text) => {
                problems.push(format!(
                    "{how}: the wrong call failed: {}({}",
                    call.name, call.text
                ))
            }
            Some(_) => {}
        }
        if out.timed_out {
            problems.push(format!(
                "strace still ran after {} s: a traced process outlived the launcher",
                DEADLINE.as_secs()
            ));
        }
        if !out.strace_said.is_empty() {
            problems.push(format!("strace said: {:?}", out.strace_said));
        }
        let expected = if r.line.is_empty() {
            String::new()
        } else {
            format!("{}\n", vars.fill(r.line))
        };
        if out.code != Some(r.code) || out.stderr != expected {
            problems.push(format!(
                "{how}: status {:?} and stderr {:?}, expected {} and {:?}",
                out.code, out.stderr, r.code, expected
            ));
        }
        if !out.stdout.is_empty() {
            problems.push(format!("stdout: {:?}", out.stdout));
        }
        let outcome = if r.code == 0 {
            absorbed(&pid_file, &log)
        } else {
            failed(r, &pid_file, &log)
        };
        problems.extend(outcome);
        if !problems.is_empty() {
            let tail: Vec<&str> = out.raw.lines().rev().take(12).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            problems.push(format!(
                "trace ends:\n          {}",
                tail.join("\n          ")
            ));
        }
        problems
    }
}

/// A failed start: nothing of it runs, the pid file is absent or unchanged, the new log
/// file is gone.
fn failed(r: &Row, pid_file: &Path, log: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let strays = describe_children();
    if let Err(e) = no_process_left() {
        problems.push(format!("{e}: {strays}"));
    }
    match (fs::read_to_string(pid_file), r.stale) {
        (Err(_), _) => {}
        (Ok(text), true) if text == STALE_CONTENT => {}
        (Ok(text), true) => problems.push(format!(
            "the stale pid file was replaced by {text:?} and left behind"
        )),
        (Ok(text), false) => {
            problems.push(format!("a pid file was left behind, holding {text:?}"));
        }
    }
    if log.exists() {
        problems.push("the log file this start created was left behind".into());
    }
    problems
}

/// An absorbed fault: the start went on and the daemon is what it must be.
fn absorbed(pid_file: &Path, log: &Path) -> Vec<String> {
    let check = || -> TestResult {
        let daemon = the_daemon()?;
        let pid = daemon.0;
        ensure_eq!(comm(pid), Some("sleep".to_string()), "PROGRAM runs");
        ensure_eq!(read_text(pid_file)?, format!("{pid}\n"), "pid file");
        ensure!(is_locked(pid_file)?, "pid file not locked");
        ensure_eq!(sigset(pid, "SigBlk")?, 0, "signal mask of the daemon");
        ensure_eq!(sigset(pid, "SigIgn")?, 0, "ignored signals of the daemon");
        settled(pid)?;
        let mut want: BTreeMap<i32, String> = BTreeMap::new();
        for fd in [0, 2] {
            want.insert(fd, "/dev/null".into());
        }
        want.insert(1, log.display().to_string());
        let got = fds(pid)?;
        let lock = got
            .iter()
            .find(|(_, t)| **t == pid_file.display().to_string())
            .map(|(fd, _)| *fd)
            .ok_or("the daemon has no descriptor on its pid file")?;
        want.insert(lock, pid_file.display().to_string());
        ensure_eq!(got, want, "descriptors of the daemon");
        Ok(())
    };
    check().err().into_iter().collect()
}

/// The children still alive, with their command names, for messages.
fn describe_children() -> String {
    let kids: Vec<String> = children()
        .into_iter()
        .map(|p| format!("{p} ({})", comm(p).unwrap_or_default()))
        .collect();
    kids.join(", ")
}
