//! The tool's command line: `args::parse` of `tool/src/args.rs`, the real file
//! (the binary's modules are included here, since they are not in the library).
//!
//! Input: the arguments after `argv[0]`, separated by NUL bytes.
//!
//! Checked: no panic; every value and every usage error's argument is borrowed from `argv`
//! (or is a constant); a successful parse keeps its documented limits (`program` < argc and
//! names an argument that ends the options, at most 64 `-k` of 3 or more and 64 `-E` with a
//! name, umask up to 0o777, timeout up to 86400, no `--ready-fd` that is a `-k` or comes with
//! `-R`, no log output with `-o`/`-e`, `--stop`/`--status` with `-p` and no program); and
//! the parse survives a round trip: the options rendered back as arguments, once with
//! separate values (`-p X`, `--timeout X`) and once attached (`-pX`, `--timeout=X`), parse to
//! the same result.
#![no_main]

use std::ffi::{CStr, CString};

use libfuzzer_sys::fuzz_target;
use rawdaemon::log::Facility;
use rawdaemon::{LogOutput, LogTarget};

#[path = "../../tool/src/args.rs"]
#[allow(dead_code)]
mod args;
// `args` and `search` use `cstr`.
#[path = "../../tool/src/cstr.rs"]
#[allow(dead_code)]
mod cstr;
#[path = "../../tool/src/search.rs"]
#[allow(dead_code)]
mod search;

use args::{Action, Args, Stop};

fuzz_target!(|data: &[u8]| {
    let mut owned = vec![CString::from(c"rawdaemon")];
    if !data.is_empty() {
        owned.extend(data.split(|&b| b == 0).map(|a| CString::new(a).unwrap()));
    }
    let argv: Vec<&CStr> = owned.iter().map(CString::as_c_str).collect();
    match args::parse(&argv) {
        Err(Stop::Help | Stop::Version) => {}
        Err(Stop::Usage(message, arg)) => {
            assert!(!message.is_empty());
            assert!(
                arg.is_empty() || within(&argv, arg),
                "usage arg {arg:?} not from argv"
            );
        }
        Ok(a) => {
            check(&a, &argv);
            for attached in [false, true] {
                let again: Vec<CString> = render(&a, &argv, attached);
                let again_argv: Vec<&CStr> = again.iter().map(CString::as_c_str).collect();
                match args::parse(&again_argv) {
                    Ok(b) => same(&a, &argv, &b, &again_argv),
                    Err(Stop::Usage(m, arg)) => panic!(
                        "{again:?} (attached: {attached}) of {argv:?}: usage error {m}: {arg:?}"
                    ),
                    Err(_) => panic!("{again:?} of {argv:?}: help or version"),
                }
            }
        }
    }
});

/// Whether `s` lies within the bytes (NUL included) of one of `argv`.
fn within(argv: &[&CStr], s: &[u8]) -> bool {
    let (start, end) = (s.as_ptr() as usize, s.as_ptr() as usize + s.len());
    argv.iter().any(|a| {
        let a = a.to_bytes_with_nul();
        let (lo, hi) = (a.as_ptr() as usize, a.as_ptr() as usize + a.len());
        lo <= start && end <= hi
    })
}

/// Whether `v` is a tail of one of `argv` (an attached value, or a whole argument).
fn tail_of(argv: &[&CStr], v: &CStr) -> bool {
    let v = v.to_bytes_with_nul();
    argv.iter().any(|a| {
        let a = a.to_bytes_with_nul();
        let (lo, hi) = (a.as_ptr() as usize, a.as_ptr() as usize + a.len());
        let start = v.as_ptr() as usize;
        lo <= start && start + v.len() == hi
    })
}

fn check(a: &Args<'_>, argv: &[&CStr]) {
    let path_values = [
        a.pid_file,
        Some(a.chdir),
        a.stdout,
        a.stderr,
        a.user,
        a.chroot,
    ];
    for v in path_values.into_iter().flatten() {
        assert!(!v.is_empty(), "an empty value");
        assert!(v == c"/" || tail_of(argv, v), "{v:?} not from argv");
    }
    assert!(
        a.keep.as_slice().len() <= args::MAX_REPEATS && a.env.as_slice().len() <= args::MAX_REPEATS
    );
    let keep = a.keep.as_slice();
    assert!(keep.iter().all(|&fd| fd >= 3), "{keep:?}");
    for e in a.env.as_slice() {
        let b = e.to_bytes();
        assert!(
            b.iter().position(|&c| c == b'=').is_some_and(|i| i > 0),
            "{e:?}"
        );
        assert!(tail_of(argv, e));
    }
    assert!(a.umask.is_none_or(|m| m <= 0o777));
    assert!(a.timeout <= 86_400);
    if let Some(fd) = a.ready_fd {
        assert!(fd >= 3 && !keep.contains(&fd) && a.respawn.is_none());
    }
    if let Some(log) = a.log {
        assert!(a.stdout.is_none() && a.stderr.is_none());
        assert!(!log.tag.is_empty() && within(argv, log.tag.as_bytes()));
        if let LogTarget::Syslog(path) = log.target {
            assert!(path == b"/dev/log" || (!path.is_empty() && within(argv, path)));
        }
    }
    match a.action {
        Action::Start => {
            assert!(
                a.program >= 1 && a.program < argv.len(),
                "program {}",
                a.program
            );
            let program = argv[a.program].to_bytes();
            let option_like = program.len() >= 2 && program[0] == b'-';
            assert!(
                !option_like || argv[a.program - 1] == c"--",
                "program {program:?} looks like an option"
            );
        }
        Action::Stop | Action::Status | Action::Signal => {
            assert_eq!(a.program, 0);
            assert!(a.pid_file.is_some());
        }
    }
}

const FACILITIES: [&str; 20] = [
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "authpriv",
    "ftp", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
];

fn facility_name(f: Facility) -> &'static str {
    FACILITIES
        .into_iter()
        .find(|n| Facility::from_name(n.as_bytes()) == Some(f))
        .expect("every facility has a name")
}

/// The arguments that say what `a` holds, canonically: every option given once (the
/// repeatable ones in order), values separate or attached, then `--` and the program.
fn render(a: &Args<'_>, argv: &[&CStr], attached: bool) -> Vec<CString> {
    let mut out: Vec<Vec<u8>> = vec![b"rawdaemon".to_vec()];
    let mut opt = |short: Option<u8>, long: &str, value: &[u8]| {
        match (attached, short) {
            (false, Some(s)) => out.push(vec![b'-', s]),
            (false, None) => out.push(format!("--{long}").into_bytes()),
            (true, Some(s)) => {
                let mut arg = vec![b'-', s];
                arg.extend_from_slice(value);
                out.push(arg);
                return;
            }
            (true, None) => {
                let mut arg = format!("--{long}=").into_bytes();
                arg.extend_from_slice(value);
                out.push(arg);
                return;
            }
        }
        out.push(value.to_vec());
    };
    opt(
        Some(b's'),
        "signal",
        a.signal.as_raw().to_string().as_bytes(),
    );
    opt(None, "timeout", a.timeout.to_string().as_bytes());
    opt(Some(b'c'), "chdir", a.chdir.to_bytes());
    if let Some(v) = a.pid_file {
        opt(None, "pidfile", v.to_bytes());
    }
    if let Some(m) = a.umask {
        opt(Some(b'm'), "umask", format!("{m:o}").as_bytes());
    }
    if let Some(v) = a.stdout {
        opt(None, "stdout", v.to_bytes());
    }
    if let Some(v) = a.stderr {
        opt(Some(b'e'), "stderr", v.to_bytes());
    }
    for fd in a.keep.as_slice() {
        opt(Some(b'k'), "keep-fd", fd.to_string().as_bytes());
    }
    for e in a.env.as_slice() {
        opt(None, "env", e.to_bytes());
    }
    if let Some(v) = a.user {
        opt(Some(b'u'), "user", v.to_bytes());
    }
    if let Some(v) = a.chroot {
        opt(None, "chroot", v.to_bytes());
    }
    if let Some(fd) = a.ready_fd {
        opt(None, "ready-fd", fd.to_string().as_bytes());
    }
    if let Some((max, period)) = a.respawn {
        opt(None, "max-restarts", max.to_string().as_bytes());
        opt(None, "restart-period", period.to_string().as_bytes());
    }
    if let Some(LogOutput {
        tag,
        facility,
        target,
    }) = a.log
    {
        let spec = format!("{tag}.{}", facility_name(facility));
        match target {
            LogTarget::Syslog(path) => {
                opt(None, "log-socket", path);
                opt(None, "syslog", spec.as_bytes());
            }
            LogTarget::Kmsg => opt(None, "kmsg", spec.as_bytes()),
        }
    }
    // Flags last: `-R` after `--max-restarts` keeps its numbers.
    if a.foreground {
        out.push(b"-f".to_vec());
    }
    if a.respawn.is_some() {
        out.push(b"--respawn".to_vec());
    }
    match a.action {
        Action::Start => {
            out.push(b"--".to_vec());
            out.extend(argv[a.program..].iter().map(|s| s.to_bytes().to_vec()));
        }
        Action::Stop => out.push(b"--stop".to_vec()),
        Action::Status => out.push(b"--status".to_vec()),
        // (the signal itself is not compared by `same`)
        Action::Signal => out.extend([b"--signal".to_vec(), b"TERM".to_vec()]),
    }
    out.into_iter().map(|v| CString::new(v).unwrap()).collect()
}

/// Whether two parses say the same (the program compared by its arguments).
fn same(a: &Args<'_>, argv: &[&CStr], b: &Args<'_>, bargv: &[&CStr]) {
    let show = || format!("{argv:?} rendered as {bargv:?}");
    assert!(a.action == b.action, "action: {}", show());
    assert_eq!(a.signal.as_raw(), b.signal.as_raw(), "{}", show());
    assert_eq!(a.timeout, b.timeout, "{}", show());
    assert_eq!(a.pid_file, b.pid_file, "{}", show());
    assert_eq!(a.chdir, b.chdir, "{}", show());
    assert_eq!(a.umask, b.umask, "{}", show());
    assert_eq!(a.stdout, b.stdout, "{}", show());
    assert_eq!(a.stderr, b.stderr, "{}", show());
    assert_eq!(a.keep.as_slice(), b.keep.as_slice(), "{}", show());
    assert_eq!(a.env.as_slice(), b.env.as_slice(), "{}", show());
    assert_eq!(a.foreground, b.foreground, "{}", show());
    assert_eq!(a.user, b.user, "{}", show());
    assert_eq!(a.chroot, b.chroot, "{}", show());
    assert_eq!(a.ready_fd, b.ready_fd, "{}", show());
    assert_eq!(a.respawn, b.respawn, "{}", show());
    assert_eq!(a.log, b.log, "{}", show());
    match a.action {
        Action::Start => assert_eq!(argv[a.program..], bargv[b.program..], "{}", show()),
        _ => assert_eq!(b.program, 0),
    }
}
