//! Options reach the daemon (directory, umask, logs, kept descriptors, environment, the PATH
//! search of PROGRAM); usage errors, `--help` and `--version`; and the options a build without
//! some `tool-*` feature refuses.

use std::fs;
use std::io::Error as IoError;
use std::os::unix::process::CommandExt;

use crate::common::*;
use crate::{ensure, ensure_eq};

pub fn tool_options_reach_the_daemon() -> TestResult {
    let dir = TempDir::new("opts");
    let (out_log, err_log) = (dir.path("out.log"), dir.path("err.log"));
    fs::write(&out_log, "old\n").map_err(|e| e.to_string())?;
    let work = dir.path("work");
    fs::create_dir(&work).map_err(|e| e.to_string())?;
    // Descriptor 9 is given to the launcher; -k 9 must keep it, and nothing else.
    let mut cmd = tool();
    cmd.args(["-c"])
        .arg(&work)
        .args(["--umask=027", "-o"])
        .arg(&out_log)
        .arg(format!("--stderr={}", err_log.display()));
    cmd.args([
        "-k",
        "9",
        "-E",
        "RAWDAEMON_TEST=a=b",
        "-E",
        "HOME=/nowhere",
        "--",
    ]);
    cmd.args(["sh", "-c", "echo to-out; echo to-err >&2; exec sleep 30"]);
    // SAFETY: dup2 in the child only.
    unsafe {
        cmd.pre_exec(|| {
            if libc::dup2(0, 9) != 9 {
                return Err(IoError::last_os_error());
            }
            Ok(())
        });
    }
    let out = run(dirty(&mut cmd, 3));
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    let pid = daemon.0;
    // sh writes its two lines, then execs sleep.
    settled(pid)?;
    check_detached(pid)?;
    ensure_eq!(status_field(pid, "Umask")?, "0027");
    ensure_eq!(cwd(pid)?, work);
    let got = fds(pid)?;
    ensure_eq!(got.get(&1).cloned(), Some(out_log.display().to_string()));
    ensure_eq!(got.get(&2).cloned(), Some(err_log.display().to_string()));
    ensure_eq!(
        got.get(&9).cloned(),
        Some("/dev/null".to_string()),
        "kept fd 9"
    );
    ensure_eq!(got.len(), 4, "descriptors {got:?}");
    let environ = fs::read(format!("/proc/{pid}/environ")).map_err(|e| e.to_string())?;
    let vars: Vec<&[u8]> = environ.split(|&b| b == 0).collect();
    ensure!(
        vars.contains(&&b"RAWDAEMON_TEST=a=b"[..]),
        "environ lacks RAWDAEMON_TEST: {:?}",
        String::from_utf8_lossy(&environ)
    );
    ensure!(vars.contains(&&b"HOME=/nowhere"[..]), "HOME not replaced");
    ensure_eq!(
        vars.iter().filter(|v| v.starts_with(b"HOME=")).count(),
        1,
        "one HOME"
    );
    ensure!(
        vars.iter().any(|v| v.starts_with(b"PATH=")),
        "inherited PATH kept"
    );
    // Appended, not truncated.
    wait_until(|| !fs::read_to_string(&err_log).unwrap_or_default().is_empty());
    ensure_eq!(read_text(&out_log)?, "old\nto-out\n");
    ensure_eq!(read_text(&err_log)?, "to-err\n");
    Ok(())
}

/// PROGRAM is looked up in PATH as `-E` sets it, skipping entries that cannot be used.
pub fn tool_path_search() -> TestResult {
    let dir = TempDir::new("path");
    let bin = dir.path("bin");
    fs::create_dir(&bin).map_err(|e| e.to_string())?;
    fs::copy("/bin/sleep", bin.join("only-here")).map_err(|e| e.to_string())?;
    let long = "x".repeat(5000);
    let path = format!("PATH={long}:/nonexistent:{}", bin.display());
    let out = run(tool().args(["-E", &path, "only-here", "30"]));
    ensure!(out.status.success(), "{}", describe(&out));
    let daemon = the_daemon()?;
    ensure_eq!(comm(daemon.0), Some("only-here".to_string()));
    ensure_eq!(
        fs::read_link(format!("/proc/{}/exe", daemon.0)).map_err(|e| e.to_string())?,
        bin.join("only-here")
    );
    Ok(())
}

pub fn fail_keep_fd_not_open() -> TestResult {
    expect_failure(
        tool().args(["-k", "77", "sleep", "30"]),
        1,
        "rawdaemon: keep fd 77: Bad file descriptor",
        None,
    )
}

pub fn fail_usage() -> TestResult {
    expect_failure(
        tool().args(["--bogus", "sleep"]),
        2,
        "rawdaemon: unknown option: --bogus (try --help)",
        None,
    )?;
    expect_failure(
        tool().args(["-p"]),
        2,
        "rawdaemon: option needs a value: -p (try --help)",
        None,
    )?;
    expect_failure(
        tool().args(["-m", "999", "sleep"]),
        2,
        "rawdaemon: umask must be octal, 0 to 777: 999 (try --help)",
        None,
    )?;
    expect_failure(
        tool().args(["-f"]),
        2,
        "rawdaemon: no program given (try --help)",
        None,
    )?;
    let help = run(tool().arg("--help"));
    let text = String::from_utf8_lossy(&help.stdout);
    ensure!(
        help.status.success() && text.starts_with("Usage: rawdaemon [OPTIONS] [--] PROGRAM"),
        "{}",
        describe(&help)
    );
    // The options every build has, each line indented as the table is.
    for line in [
        "\n  -p, --pidfile PATH   write",
        "\n  -f, --foreground     do not",
        "\n  -r, --chroot DIR     change",
        "\n  -h, --help           print",
        "\n  -V, --version        print",
    ] {
        ensure!(text.contains(line), "--help has no line {line:?}:\n{text}");
    }
    let version = run(tool().arg("-V"));
    let lacks = tool_lacks();
    let without = if lacks.is_empty() {
        String::new()
    } else {
        format!(" (without {})", lacks.join(", "))
    };
    ensure_eq!(
        String::from_utf8_lossy(&version.stdout),
        format!("rawdaemon {}{without}\n", env!("CARGO_PKG_VERSION"))
    );
    Ok(())
}

/// Each `tool-*` feature: an option of it, the start of its line in `--help`, and a command
/// line using that option.
const FEATURE_OPTIONS: [(&str, &str, &str, &[&str]); 10] = [
    (
        "tool-control",
        "--status",
        "\n      --status         print",
        &["--status", "-p", "/nonexistent/x.pid"],
    ),
    (
        "tool-notify",
        "--ready-fd",
        "\n      --ready-fd N     PROGRAM",
        &["--ready-fd", "3", "/bin/true"],
    ),
    (
        "tool-privileges",
        "--user",
        "\n  -u, --user USER[:GROUP]\n",
        &["-u", "nobody", "/bin/true"],
    ),
    (
        "tool-ready",
        "--ready-when",
        "\n      --ready-when CHECK  exit",
        &["--ready-when", "path:/", "/bin/true"],
    ),
    (
        "tool-respawn",
        "--respawn",
        "\n  -R, --respawn        stay",
        &["-R", "/bin/true"],
    ),
    (
        "tool-syslog",
        "--syslog",
        "\n      --syslog TAG[.FACILITY]  send",
        &["--syslog", "tag", "/bin/true"],
    ),
    (
        "tool-limits",
        "--capabilities",
        "\n      --capabilities LIST  PROGRAM's",
        &["--capabilities", "^cap_net_raw", "/bin/true"],
    ),
    // Log rotation:
    (
        "tool-rotate",
        "--log-max-size",
        "\n      --log-max-size SIZE  rotate",
        &["--log-max-size", "64K", "-o", "/tmp/x", "/bin/true"],
    ),
    (
        "tool-rotate",
        "--log-keep",
        "\n      --log-keep N     keep",
        &["--log-keep", "3", "/bin/true"],
    ),
    (
        "tool-rotate",
        "--log-timestamps",
        "\n      --log-timestamps start",
        &["--log-timestamps", "/bin/true"],
    ),
];

/// A build without some `tool-*` features (the smallest tool) refuses their options with a
/// usage error, before anything starts, leaves them out of `--help`, and warns that an
/// inherited NOTIFY_SOCKET goes unanswered; a build with them documents them all.
pub fn fail_option_not_in_this_build() -> TestResult {
    let lacks = tool_lacks();
    // Features are listed in order, each at most once.
    let order: Vec<&str> = TOOL_FEATURES
        .iter()
        .copied()
        .filter(|f| lacks.iter().any(|l| l == f))
        .collect();
    ensure_eq!(lacks.iter().map(String::as_str).collect::<Vec<_>>(), order);
    let help = String::from_utf8_lossy(&run(tool().arg("--help")).stdout).into_owned();
    for (feature, option, line, args) in FEATURE_OPTIONS {
        let lacking = lacks.iter().any(|l| l == feature);
        ensure_eq!(help.contains(option), !lacking, "{option} in --help");
        ensure!(
            lacking || help.contains(line),
            "--help has no line {line:?}:\n{help}"
        );
        if lacking {
            let shown = if args[0] == "-u" || args[0] == "-R" {
                args[0]
            } else {
                option
            };
            expect_failure(
                tool().args(args),
                2,
                &format!(
                    "rawdaemon: option not in this build of rawdaemon (see --version): {shown} \
                     (try --help)"
                ),
                None,
            )?;
        }
    }
    if lacks.iter().any(|l| l == "tool-notify") {
        // An inherited NOTIFY_SOCKET cannot be refused: the start goes on, with a warning.
        let dir = TempDir::new("nonotify");
        let pid_file = dir.path("d.pid");
        let out = run(sleeper(&pid_file).env("NOTIFY_SOCKET", dir.path("notify")));
        ensure!(out.status.success(), "{}", describe(&out));
        ensure_eq!(
            stderr_of(&out),
            "rawdaemon: warning: NOTIFY_SOCKET is set, but this build has no tool-notify: no \
             READY=1 is sent\n"
        );
        let daemon = the_daemon()?;
        ensure_eq!(comm(daemon.0), Some("sleep".to_string()));
    }
    Ok(())
}
