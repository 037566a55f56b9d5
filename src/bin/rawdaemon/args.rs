//! The command line, parsed in place: every value is a `&CStr` borrowed from `argv`, and the
//! repeatable options fill fixed arrays.

use core::ffi::CStr;

/// The most `-k` and the most `-E` options.
pub const MAX_REPEATS: usize = 64;

/// What the command line asks for.
pub struct Args<'a> {
    pub pid_file: Option<&'a CStr>,
    pub chdir: &'a CStr,
    pub umask: Option<u32>,
    pub stdout: Option<&'a CStr>,
    pub stderr: Option<&'a CStr>,
    pub keep: [i32; MAX_REPEATS],
    pub keep_len: usize,
    pub env: [&'a CStr; MAX_REPEATS],
    pub env_len: usize,
    pub foreground: bool,
    /// Index in `argv` of PROGRAM.
    pub program: usize,
}

/// Why parsing stopped without a program to start.
pub enum Stop<'a> {
    Help,
    Version,
    /// A usage error: the message and the argument it is about.
    Usage(&'static str, &'a [u8]),
}

/// Parses `argv` (without `argv[0]`). Options stop at `--` or at the first argument that is
/// not an option, which is PROGRAM.
pub fn parse<'a>(argv: &[&'a CStr]) -> Result<Args<'a>, Stop<'a>> {
    let mut a = Args {
        pid_file: None,
        chdir: c"/",
        umask: None,
        stdout: None,
        stderr: None,
        keep: [0; MAX_REPEATS],
        keep_len: 0,
        env: [c""; MAX_REPEATS],
        env_len: 0,
        foreground: false,
        program: 0,
    };
    let mut i = 1;
    while i < argv.len() {
        let arg = argv[i].to_bytes_with_nul();
        let text = &arg[..arg.len() - 1];
        if text == b"--" {
            i += 1;
            break;
        }
        if text.len() < 2 || text[0] != b'-' {
            break;
        }
        // The option's letter, and its value if it was attached (`-pX`, `--pidfile=X`).
        let (letter, attached): (u8, Option<&'a CStr>) = if text[1] == b'-' {
            let name_end = text.iter().position(|&b| b == b'=').unwrap_or(text.len());
            let letter =
                long_to_short(&text[2..name_end]).ok_or(Stop::Usage("unknown option", text))?;
            (
                letter,
                (name_end < text.len()).then(|| tail(argv[i], name_end + 1)),
            )
        } else {
            (text[1], (text.len() > 2).then(|| tail(argv[i], 2)))
        };
        let takes_value = matches!(letter, b'p' | b'c' | b'm' | b'o' | b'e' | b'k' | b'E');
        let value = if !takes_value {
            if attached.is_some() {
                return Err(Stop::Usage("option takes no value", text));
            }
            None
        } else if let Some(v) = attached {
            Some(v)
        } else {
            i += 1;
            Some(
                *argv
                    .get(i)
                    .ok_or(Stop::Usage("option needs a value", text))?,
            )
        };
        match (letter, value) {
            (b'h', _) => return Err(Stop::Help),
            (b'V', _) => return Err(Stop::Version),
            (b'f', _) => a.foreground = true,
            (b'p', Some(v)) => a.pid_file = Some(non_empty(v, text)?),
            (b'c', Some(v)) => a.chdir = non_empty(v, text)?,
            (b'o', Some(v)) => a.stdout = Some(non_empty(v, text)?),
            (b'e', Some(v)) => a.stderr = Some(non_empty(v, text)?),
            (b'm', Some(v)) => {
                a.umask = Some(
                    parse_octal(v.to_bytes())
                        .ok_or(Stop::Usage("umask must be octal, 0 to 777", v.to_bytes()))?,
                );
            }
            (b'k', Some(v)) => {
                let fd = parse_fd(v.to_bytes()).ok_or(Stop::Usage(
                    "--keep-fd needs a descriptor number of 3 or more",
                    v.to_bytes(),
                ))?;
                if a.keep_len == MAX_REPEATS {
                    return Err(Stop::Usage(
                        "too many --keep-fd options (at most 64)",
                        v.to_bytes(),
                    ));
                }
                a.keep[a.keep_len] = fd;
                a.keep_len += 1;
            }
            (b'E', Some(v)) => {
                let b = v.to_bytes();
                if b.iter().position(|&c| c == b'=').unwrap_or(0) == 0 {
                    return Err(Stop::Usage("--env needs NAME=VALUE", b));
                }
                if a.env_len == MAX_REPEATS {
                    return Err(Stop::Usage("too many --env options (at most 64)", b));
                }
                a.env[a.env_len] = v;
                a.env_len += 1;
            }
            _ => return Err(Stop::Usage("unknown option", text)),
        }
        i += 1;
    }
    if i >= argv.len() {
        return Err(Stop::Usage("no program given", b""));
    }
    a.program = i;
    Ok(a)
}

/// The long options and their short letters.
fn long_to_short(name: &[u8]) -> Option<u8> {
    Some(match name {
        b"pidfile" => b'p',
        b"chdir" => b'c',
        b"umask" => b'm',
        b"stdout" => b'o',
        b"stderr" => b'e',
        b"keep-fd" => b'k',
        b"env" => b'E',
        b"foreground" => b'f',
        b"help" => b'h',
        b"version" => b'V',
        _ => return None,
    })
}

/// The C string that starts `from` bytes into `s`.
fn tail(s: &CStr, from: usize) -> &CStr {
    let bytes = s.to_bytes_with_nul();
    CStr::from_bytes_with_nul(&bytes[from.min(bytes.len() - 1)..]).unwrap_or(c"")
}

fn non_empty<'a>(v: &'a CStr, option: &'a [u8]) -> Result<&'a CStr, Stop<'a>> {
    if v.is_empty() {
        Err(Stop::Usage("option needs a non-empty value", option))
    } else {
        Ok(v)
    }
}

/// An octal umask from 0 to 777.
pub fn parse_octal(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 4 {
        return None;
    }
    let mut n = 0;
    for &b in s {
        if !(b'0'..=b'7').contains(&b) {
            return None;
        }
        n = n * 8 + u32::from(b - b'0');
    }
    (n <= 0o777).then_some(n)
}

/// A descriptor number of 3 or more.
fn parse_fd(s: &[u8]) -> Option<i32> {
    if s.is_empty() || s.len() > 9 {
        return None;
    }
    let mut n: i32 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + i32::from(b - b'0');
    }
    (n >= 3).then_some(n)
}
