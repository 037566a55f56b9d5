//! `--capabilities`, `--no-new-privs` and `--secbits`: the capability sets, the flag and the
//! secure bits of the real PROGRAM, read from /proc (and capsh), a PROGRAM as `nobody` that
//! binds port 80 with `^cap_net_bind_service` and cannot without it; the refusals, before
//! any fork (a capability the launcher lacks) and by the kernel.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use crate::common::*;
use crate::{ensure, ensure_eq};

/// `CAP_NET_BIND_SERVICE`, `CAP_NET_RAW`, `CAP_SETPCAP`, `CAP_SYS_MODULE`.
const NET_BIND_SERVICE: u32 = 10;
const NET_RAW: u32 = 13;
const SETPCAP: u32 = 8;
const SYS_MODULE: u32 = 16;

/// A capability set of `/proc/PID/status` (`CapBnd`, ...).
pub fn caps(pid: i32, key: &str) -> Result<u64, String> {
    sigset(pid, key)
}

/// Skips the calling test unless `name` is a program on PATH.
pub fn needs_program(name: &str) -> TestResult {
    let found = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(name).is_file()));
    if found {
        Ok(())
    } else {
        Err(format!("{SKIP}needs {name}"))
    }
}

/// The launcher starts without these capabilities in its bounding set: as root it then has
/// them in none of its sets after `execve`.
pub fn without_caps<'a>(cmd: &'a mut Command, drop: &'static [u32]) -> &'a mut Command {
    // SAFETY: prctl is async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            for &cap in drop {
                if libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        })
    }
}

/// A perl PROGRAM that binds 127.0.0.1:80 and says so on stderr, or dies saying why.
const BIND_80: &str = "socket(S, PF_INET, SOCK_STREAM, 0) or die \"socket: $!\\n\"; \
     bind(S, pack_sockaddr_in(80, inet_aton(\"127.0.0.1\"))) or die \"bind: $!\\n\"; \
     listen(S, 1) or die \"listen: $!\\n\"; print STDERR \"bound\\n\"; sleep 30";

/// Starts the bind PROGRAM as nobody with `extra` options; its log once it said something.
fn bind_as_nobody(dir: &TempDir, extra: &[&str]) -> Result<(Guard, String), String> {
    let pid_file = dir.path("bind.pid");
    let log = dir.path("bind.log");
    let _ = std::fs::remove_file(&log);
    let out = run(tool()
        .arg("-p")
        .arg(&pid_file)
        .arg("-e")
        .arg(&log)
        .args(["-u", "nobody"])
        .args(extra)
        .args(["perl", "-MSocket", "-e", BIND_80]));
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    ensure!(
        wait_until(|| read_text(&log).is_ok_and(|t| t.ends_with('\n'))),
        "the program said nothing"
    );
    Ok((daemon, read_text(&log)?))
}

/// `-u nobody --capabilities ^cap_net_bind_service,!cap_sys_module`: PROGRAM runs as nobody
/// with exactly CAP_NET_BIND_SERVICE in its permitted, effective, inheritable and ambient
/// sets, the bounding set is the launcher's less CAP_SYS_MODULE, no-new-privs and seccomp
/// untouched, and it binds 127.0.0.1:80. Without the option the same PROGRAM cannot.
pub fn tool_capabilities_keep_only_the_ambient_set() -> TestResult {
    needs_tool(&["tool-privileges", "tool-limits"])?;
    needs_root()?;
    needs_program("perl")?;
    let dir = TempDir::new("caps");
    let own = std::process::id() as i32;
    let bounding = caps(own, "CapBnd")?;
    ensure!(
        bounding & (1 << SYS_MODULE) != 0,
        "the test lacks CAP_SYS_MODULE"
    );
    let (daemon, said) = bind_as_nobody(
        &dir,
        &["--capabilities", "^cap_net_bind_service,!cap_sys_module"],
    )?;
    ensure_eq!(said, "bound\n");
    ensure_eq!(status_field(daemon.0, "Uid")?, "65534\t65534\t65534\t65534");
    for set in ["CapInh", "CapPrm", "CapEff", "CapAmb"] {
        ensure_eq!(caps(daemon.0, set)?, 1 << NET_BIND_SERVICE, "{set}");
    }
    ensure_eq!(caps(daemon.0, "CapBnd")?, bounding & !(1 << SYS_MODULE));
    ensure_eq!(status_field(daemon.0, "NoNewPrivs")?, "0");
    ensure_eq!(status_field(daemon.0, "Seccomp")?, "0");
    drop(daemon);
    // The same PROGRAM without the capability.
    let out = run(tool()
        .arg("-e")
        .arg(dir.path("plain.log"))
        .args(["-u", "nobody", "perl", "-MSocket", "-e", BIND_80]));
    ensure!(out.status.success(), "{}", describe(&out));
    let log = dir.path("plain.log");
    ensure!(
        wait_until(|| read_text(&log).is_ok_and(|t| t.ends_with('\n'))),
        "the program said nothing"
    );
    ensure_eq!(read_text(&log)?, "bind: Permission denied\n");
    no_process_left()
}

/// `--capabilities ^cap_x` without `-u`: PROGRAM runs as root with every capability, which
/// the start says on stderr (and starts); with `-u` or `SECBIT_NOROOT` it says nothing.
pub fn tool_capabilities_without_user_warn() -> TestResult {
    needs_tool(&["tool-privileges", "tool-limits"])?;
    needs_root()?;
    let out = run(tool().args(["--capabilities", "^cap_net_bind_service", "sleep", "30"]));
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    ensure_eq!(
        stderr_of(&out),
        "rawdaemon: warning: --capabilities without -u: PROGRAM runs as root and keeps every \
         capability (only !cap_NAME takes one away)\n"
    );
    ensure_eq!(
        caps(daemon.0, "CapEff")?,
        caps(std::process::id() as i32, "CapEff")?
    );
    drop(daemon);
    for quiet in [
        &["-u", "nobody", "--capabilities", "^cap_net_bind_service"][..],
        &["--capabilities", "!cap_sys_module"],
    ] {
        let out = run(tool().args(quiet).args(["sleep", "30"]));
        ensure!(out.status.success(), "{quiet:?}: {}", describe(&out));
        let daemon = the_daemon()?;
        ensure_eq!(stderr_of(&out), "", "{quiet:?}");
        drop(daemon);
    }
    no_process_left()
}

/// `--no-new-privs --secbits 3` (SECBIT_NOROOT and its lock) as root: PROGRAM's child capsh
/// reports those secure bits and no-new-privs (both inherited); /proc shows PROGRAM with the
/// flag, seccomp untouched, and as root without any capability (no root privilege at
/// `execve`), the bounding set the launcher's.
pub fn tool_no_new_privs_and_secure_bits() -> TestResult {
    needs_tool(&["tool-limits"])?;
    needs_root()?;
    needs_program("capsh")?;
    let dir = TempDir::new("secbits");
    let log = dir.path("capsh.log");
    let out = run(tool()
        .arg("-o")
        .arg(&log)
        .args(["--no-new-privs", "--secbits", "3"])
        .args(["sh", "-c", "capsh --print; exec sleep 30"]));
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    ensure!(
        wait_until(|| read_text(&log).is_ok_and(|t| t.contains("Securebits"))),
        "capsh said nothing"
    );
    let text = read_text(&log)?;
    ensure!(
        text.contains("Securebits: 03/0x3/2'b11 (no-new-privs=1)"),
        "capsh --print: {text}"
    );
    ensure!(
        text.contains("secure-noroot: yes (locked)"),
        "capsh --print: {text}"
    );
    ensure_eq!(status_field(daemon.0, "NoNewPrivs")?, "1");
    ensure_eq!(status_field(daemon.0, "Seccomp")?, "0");
    ensure_eq!(status_field(daemon.0, "Uid")?, "0\t0\t0\t0");
    for set in ["CapPrm", "CapEff", "CapAmb", "CapInh"] {
        ensure_eq!(caps(daemon.0, set)?, 0, "{set}");
    }
    let own = std::process::id() as i32;
    ensure_eq!(caps(daemon.0, "CapBnd")?, caps(own, "CapBnd")?);
    Ok(())
}

/// Every failure of the capability options: usage errors (status 2) before anything starts,
/// each naming its option (an unknown capability, an empty entry, a capability both kept and
/// dropped, ambient ones the secure bits forbid to raise); a capability the launcher does not
/// have, named before any fork; the kernel's refusals (no CAP_SETPCAP to drop from the
/// bounding set or set the secure bits), each naming its step. Nothing is left: no process,
/// no pid file.
pub fn fail_capabilities() -> TestResult {
    needs_tool(&["tool-privileges", "tool-limits"])?;
    needs_root()?;
    let dir = TempDir::new("capsfail");
    let pid_file = dir.path("d.pid");
    let unknown = "--capabilities needs known capabilities (cap_iab syntax: [!^%]cap_NAME,...)";
    let empty = "--capabilities has an empty entry (cap_iab syntax: [!^%]cap_NAME,...)";
    let both = "--capabilities cannot both keep (^ or %) and drop (!) a capability";
    for (list, what, bad) in [
        ("^cap_bogus", unknown, "^cap_bogus"),
        ("^cap_net_raw,", empty, "^cap_net_raw,"),
        (",", empty, ","),
        ("cap_chown,%41", unknown, "%41"),
        ("net_raw", unknown, "net_raw"),
        // A capability dropped from the bounding set cannot also be kept: an ambient one
        // would stay in PROGRAM's permitted, effective and ambient sets.
        ("!^cap_net_raw", both, "!^cap_net_raw"),
        (
            "^cap_net_raw,!cap_net_raw",
            both,
            "^cap_net_raw,!cap_net_raw",
        ),
        ("!%cap_kill", both, "!%cap_kill"),
    ] {
        expect_failure(
            tool().arg("-p").arg(&pid_file).args([
                "-u",
                "nobody",
                "--capabilities",
                list,
                "sleep",
                "30",
            ]),
            2,
            &format!("rawdaemon: {what}: {bad} (try --help)"),
            Some(&pid_file),
        )?;
    }
    expect_failure(
        tool().args(["--secbits", "0x1000", "sleep", "30"]),
        2,
        "rawdaemon: --secbits needs a number below 0x1000: 0x1000 (try --help)",
        None,
    )?;
    // Ambient capabilities that the secure bits forbid to raise: refused before anything.
    expect_failure(
        tool().arg("-p").arg(&pid_file).args([
            "-u",
            "nobody",
            "--secbits",
            "0xc0",
            "--capabilities",
            "^cap_net_bind_service",
            "sleep",
            "30",
        ]),
        2,
        "rawdaemon: --secbits with SECBIT_NO_CAP_AMBIENT_RAISE (0x40) forbids --capabilities \
         ^cap_NAME (try --help)",
        Some(&pid_file),
    )?;
    let starts: [(&[u32], &[&str], &str); 3] = [
        (
            &[NET_RAW],
            &["-u", "nobody", "--capabilities", "^cap_net_raw"],
            "rawdaemon: capabilities cap_net_raw: the launcher does not have it (in its \
             permitted and bounding sets)",
        ),
        (
            &[SETPCAP],
            &["--capabilities", "!cap_sys_module"],
            "rawdaemon: capabilities cap_sys_module: Operation not permitted",
        ),
        (
            &[SETPCAP],
            &["--secbits", "3"],
            "rawdaemon: prctl securebits: Operation not permitted",
        ),
    ];
    for (drop, args, message) in starts {
        for respawn in [false, true] {
            let mut cmd = tool();
            cmd.arg("-p").arg(&pid_file);
            if respawn {
                if !respawn_runs() {
                    continue;
                }
                cmd.arg("-R");
            }
            cmd.args(args).args(["sleep", "30"]);
            expect_failure(without_caps(&mut cmd, drop), 1, message, Some(&pid_file))?;
        }
    }
    ensure!(!Path::new(&pid_file).exists(), "pid file left");
    Ok(())
}
