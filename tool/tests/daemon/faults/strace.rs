//! Running the tool under `strace -f`: the programs it needs, a traced start (with one call
//! made to fail, through a perl wrapper where the launcher's own call must be spared), and the
//! baseline of a successful start that each row's call is found in.

use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::calls::{Chosen, Vars};
use super::table::{Daemon, FRESH, Launcher, Row, STALE_CONTENT};
use super::trace::Trace;
use crate::common::*;
use crate::{ensure, ensure_eq};

/// How long one traced start may take before strace is killed (it waits for every traced
/// process, so a process the attempt left behind keeps it running).
pub(super) const DEADLINE: Duration = Duration::from_secs(10);

/// The programs involved.
pub(super) struct Env {
    pub(super) strace: PathBuf,
    pub(super) perl: Option<PathBuf>,
    pub(super) tool: OsString,
    /// The tool is a 32-bit x86 program (an i686 build on an x86_64 kernel).
    pub(super) i386: bool,
    /// PROGRAM as the tool finds it with `PATH` set to its directory alone.
    pub(super) sleep: PathBuf,
}

/// One traced run.
pub(super) struct Traced {
    /// The launcher's exit status.
    pub(super) code: Option<i32>,
    pub(super) stdout: String,
    /// The launcher's stderr, strace's own lines taken out.
    pub(super) stderr: String,
    /// strace's own lines, if it had any to say.
    pub(super) strace_said: Vec<String>,
    pub(super) trace: Trace,
    /// The raw trace, for messages.
    pub(super) raw: String,
    /// strace had to be killed at the deadline: some traced process outlived the launcher.
    pub(super) timed_out: bool,
}

/// A successful traced start: its trace and the values its patterns use.
pub(super) struct Baseline {
    pub(super) trace: Trace,
    pub(super) vars: Vars,
}

impl Env {
    /// strace and the rest, or a skip when strace is missing.
    pub(super) fn find() -> Result<Env, String> {
        let Some(strace) = which("strace") else {
            return Err(format!(
                "{SKIP}strace is not installed (apt-get install strace; .ci/run installs it)"
            ));
        };
        let Some(sleep) = which("sleep") else {
            return Err("no sleep on PATH".into());
        };
        Ok(Env {
            strace,
            perl: which("perl"),
            tool: tool().get_program().to_owned(),
            i386: is_i386(tool().get_program().as_ref()),
            sleep,
        })
    }

    /// How many of the launcher's first calls are the C runtime's start-up: the calls
    /// `rawdaemon -V` and a start have in common before either does anything of its own.
    pub(super) fn startup(&self) -> Result<usize, String> {
        let dir = TempDir::new("fault-startup");
        let version = self.traced(&dir, None, &["-V".into()])?;
        ensure_eq!(version.code, Some(0), "rawdaemon -V: {}", version.stderr);
        let base = self.baseline(FRESH)?;
        let a = version.trace.calls_of(Launcher).unwrap_or(&[]);
        let b = base.trace.calls_of(Launcher).unwrap_or(&[]);
        Ok(a.iter()
            .zip(b)
            .take_while(|(x, y)| x.name == y.name)
            .count())
    }

    /// A successful traced start, its daemon killed again.
    pub(super) fn baseline(&self, stale: bool) -> Result<Baseline, String> {
        let dir = TempDir::new("fault-base");
        let (pid_file, log) = (dir.path("d.pid"), dir.path("d.log"));
        if stale {
            fs::write(&pid_file, STALE_CONTENT).map_err(|e| e.to_string())?;
        }
        let out = self.traced(&dir, None, &start_args(&pid_file, &log))?;
        if out.code != Some(0) && out.strace_said.iter().any(|l| l.contains("ptrace")) {
            return Err(format!(
                "{SKIP}strace cannot trace here: {}",
                out.strace_said.join("; ")
            ));
        }
        ensure!(
            out.code == Some(0) && out.stderr.is_empty() && !out.timed_out,
            "baseline start failed: status {:?}, stderr {:?}, strace {:?}",
            out.code,
            out.stderr,
            out.strace_said
        );
        let daemon = the_daemon()?;
        ensure_eq!(read_text(&pid_file)?, format!("{}\n", daemon.0), "baseline");
        let trace = out.trace;
        ensure_eq!(trace.pid_of(Daemon), Some(daemon.0), "baseline daemon");
        let launcher = trace.calls_of(Launcher).unwrap_or(&[]);
        let result_of = |name: &str, prefix: &str| {
            launcher
                .iter()
                .find(|c| c.name == name && c.text.contains(prefix))
                .map(|c| c.text.clone())
        };
        // socketpair(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0, [6, 7]) = 0: the launcher's end is
        // 7 (the daemon keeps the lower one).
        let chan = result_of("socketpair", "")
            .and_then(|t| {
                Some(
                    t.split_once('[')?
                        .1
                        .split_once(']')?
                        .0
                        .split_once(", ")?
                        .1
                        .to_string(),
                )
            })
            .ok_or("no socketpair in the baseline")?;
        let status = result_of("open", "\"/proc/self/status\"")
            .or_else(|| result_of("openat", "\"/proc/self/status\""))
            .and_then(|t| Some(t.rsplit_once("= ")?.1.trim().to_string()))
            .ok_or("no open of /proc/self/status in the baseline")?;
        let vars = Vars {
            chan,
            status,
            ..self.vars(&pid_file, &log)
        };
        drop(daemon);
        Ok(Baseline { trace, vars })
    }

    pub(super) fn vars(&self, pid_file: &Path, log: &Path) -> Vars {
        Vars {
            pid: pid_file.display().to_string(),
            log: log.display().to_string(),
            sleep: self.sleep.display().to_string(),
            ..Vars::default()
        }
    }

    /// Runs `rawdaemon ARGS` under `strace -f`, launched with SIGUSR1 blocked and SIGHUP
    /// ignored and with sleep's directory as the whole `PATH`; with `inject`, one call fails.
    pub(super) fn traced(
        &self,
        dir: &TempDir,
        inject: Option<(&Row, &Chosen)>,
        args: &[OsString],
    ) -> Result<Traced, String> {
        let trace_path = dir.path("strace.out");
        let (out_path, err_path) = (dir.path("stdout"), dir.path("stderr"));
        let mut cmd = Command::new(&self.strace);
        cmd.args(["-f", "-q", "-e", "signal=none", "-o"])
            .arg(&trace_path);
        let wrapper = inject.filter(|(r, _)| r.wrapper);
        if wrapper.is_none() {
            // Detach from the daemon at its execve: PROGRAM is not traced, and strace
            // returns with the launcher. (Not with the wrapper: its execve of the tool is the
            // launcher's.)
            cmd.args(["-b", "execve"]);
        }
        // The clone that copies nothing is the launcher's and the intermediate's first try
        // only where it is written: an i686 tool forks at once (no such clone for i686).
        let again = |r: &Row| if self.i386 { 0 } else { r.again };
        if let Some((r, c)) = inject {
            cmd.arg("-e").arg(format!(
                "inject={}:{}:when={}{}{}",
                c.name,
                r.fault,
                c.when,
                if again(r) > 0 {
                    format!("..{}", c.when + again(r))
                } else {
                    String::new()
                },
                if r.persistent { "+" } else { "" }
            ));
        }
        cmd.arg("--");
        if let Some((_, c)) = wrapper.filter(|_| self.i386) {
            // strace counts `when=` per personality: perl's x86_64 call would not count for
            // the 32-bit tool's. This binary makes it through `int 0x80` instead.
            let (nr, flags) =
                fork_syscall_i386(c.name).ok_or(format!("no wrapper call for {}", c.name))?;
            cmd.arg(std::env::current_exe().map_err(|e| e.to_string())?)
                .args([
                    "--role",
                    "i386-fork-then-exec",
                    &nr.to_string(),
                    &flags.to_string(),
                ]);
        } else if let Some((r, c)) = wrapper {
            let perl = self
                .perl
                .as_ref()
                .ok_or(format!("row {} needs perl, which is not installed", r.id))?;
            let (nr, flags) =
                fork_syscall(c.name).ok_or(format!("no wrapper call for {}", c.name))?;
            cmd.arg(perl).args([
                "-e",
                WRAPPER,
                &nr.to_string(),
                &flags.to_string(),
                &(1 + again(r)).to_string(),
            ]);
        }
        cmd.arg(&self.tool).args(args);
        let path_dir = self.sleep.parent().unwrap_or(Path::new("/"));
        cmd.env("PATH", path_dir).env_remove("NOTIFY_SOCKET");
        // SAFETY: only async-signal-safe libc calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                libc::sigaddset(&mut set, libc::SIGUSR1);
                libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
                libc::signal(libc::SIGHUP, libc::SIG_IGN);
                Ok(())
            });
        }
        let file = |p: &Path| fs::File::create(p).map_err(|e| e.to_string());
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(file(&out_path)?)
            .stderr(file(&err_path)?)
            .spawn()
            .map_err(|e| format!("{}: {e}", self.strace.display()))?;
        let deadline = Instant::now() + DEADLINE;
        let mut timed_out = false;
        let status = loop {
            if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
                break Some(status);
            }
            if Instant::now() > deadline {
                timed_out = true;
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        let raw = fs::read_to_string(&trace_path).unwrap_or_default();
        let trace = Trace::parse(&raw);
        let stderr = fs::read_to_string(&err_path).unwrap_or_default();
        let (said, own): (Vec<&str>, Vec<&str>) =
            stderr.lines().partition(|l| l.starts_with("strace: "));
        let mut own = own.join("\n");
        if !own.is_empty() {
            own.push('\n');
        }
        Ok(Traced {
            code: status.and_then(|s| s.code()).or(trace.exit_code()),
            stdout: fs::read_to_string(&out_path).unwrap_or_default(),
            stderr: own,
            strace_said: said.into_iter().map(String::from).collect(),
            trace,
            raw,
            timed_out,
        })
    }
}

/// `-p PIDFILE -o LOG sleep 30`.
pub(super) fn start_args(pid_file: &Path, log: &Path) -> Vec<OsString> {
    vec![
        "-p".into(),
        pid_file.into(),
        "-o".into(),
        log.into(),
        "sleep".into(),
        "30".into(),
    ]
}

/// The wrapper: makes the raw call `$ARGV[0]` (a fork-like `clone(flags)` or `fork`) as many
/// times as `$ARGV[2]` says (one, and one more for each of the row's `again`), which strace
/// fails, then executes the tool. Should a call succeed after all, the copy exits at once and
/// is waited for.
const WRAPPER: &str = r#"use POSIX ();
my $nr = shift; my $flags = shift; my $n = shift;
for (1 .. $n) {
    my $r = syscall($nr + 0, $flags + 0, 0, 0, 0, 0);
    POSIX::_exit(0) if $r == 0;
    waitpid($r, 0) if $r > 0;
}
exec { $ARGV[0] } @ARGV or die "exec $ARGV[0]: $!\n";"#;

/// The number and first argument of a fork-like system call for the wrapper.
fn fork_syscall(name: &str) -> Option<(i64, i64)> {
    match name {
        "clone" => Some((libc::SYS_clone, i64::from(libc::SIGCHLD))),
        #[cfg(target_arch = "x86_64")]
        "fork" => Some((libc::SYS_fork, 0)),
        #[cfg(target_arch = "x86_64")]
        "vfork" => Some((libc::SYS_fork, 0)),
        _ => None,
    }
}

/// The i386 number and first argument of a fork-like system call, for the wrapper of a
/// 32-bit tool.
fn fork_syscall_i386(name: &str) -> Option<(u32, u32)> {
    /// i386's `clone`, `fork` and `vfork` (arch/x86/entry/syscalls/syscall_32.tbl).
    const CLONE: u32 = 120;
    const FORK: u32 = 2;
    const VFORK: u32 = 190;
    match name {
        "clone" => Some((CLONE, libc::SIGCHLD as u32)),
        "fork" => Some((FORK, 0)),
        "vfork" => Some((VFORK, 0)),
        _ => None,
    }
}

/// `--role i386-fork-then-exec NR FLAGS TOOL ARGS...`: [`WRAPPER`] for a 32-bit x86 tool:
/// the fork-like call `NR(FLAGS, 0, 0, 0, 0)` made once through `int 0x80`, which an x86_64
/// kernel (and strace) take as an i386 system call, then `execv` of the tool, with the
/// signal state the wrapper was started with (but SIGPIPE, which Rust's runtime ignored).
pub fn i386_fork_then_exec(args: &[String]) -> ! {
    use std::ffi::CString;
    let number = |i: usize| args.get(i).and_then(|a| a.parse::<u32>().ok());
    let (Some(nr), Some(flags)) = (number(0), number(1)) else {
        eprintln!("usage: --role i386-fork-then-exec NR FLAGS TOOL ARGS...");
        std::process::exit(2);
    };
    #[cfg(not(target_arch = "x86_64"))]
    let ret: i32 = {
        let _ = (nr, flags);
        eprintln!("--role i386-fork-then-exec: only on an x86_64 kernel");
        std::process::exit(2)
    };
    #[cfg(target_arch = "x86_64")]
    let ret: i32;
    #[cfg(target_arch = "x86_64")]
    // SAFETY: an i386 system call from a 64-bit process: number in eax, arguments in ebx,
    // ecx, edx, esi, edi (rbx is LLVM's, so swapped in and back); the kernel may change r8
    // to r11. A fork-like call copies the process: the copy exits at once below.
    unsafe {
        std::arch::asm!("xchg rbx, {flags}", "int 0x80", "xchg rbx, {flags}",
            flags = inout(reg) u64::from(flags) => _, inlateout("eax") nr => ret,
            in("ecx") 0, in("edx") 0, in("esi") 0, in("edi") 0,
            lateout("r8") _, lateout("r9") _, lateout("r10") _, lateout("r11") _);
    }
    if ret == 0 {
        // SAFETY: the copy ends at once.
        unsafe { libc::_exit(0) };
    }
    if ret > 0 {
        // SAFETY: waits for the copy; no pointers but null.
        unsafe { libc::waitpid(ret, std::ptr::null_mut(), 0) };
    }
    let argv: Vec<CString> = args[2..]
        .iter()
        .map(|a| CString::new(a.as_bytes()).expect("no NUL in arguments"))
        .collect();
    let mut ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    ptrs.push(std::ptr::null());
    // SAFETY: argv is a null-terminated array of C strings that outlive the call.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        libc::execv(ptrs[0], ptrs.as_ptr());
    }
    eprintln!("exec {}: {}", args[2], std::io::Error::last_os_error());
    std::process::exit(127)
}

/// `name` on the test's `PATH`, if it is an executable file.
fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}
