//! The `/proc` parsers: `procfs::parse_status` (`/proc/self/status`), and `has_words` and
//! `parse_lock_id` of `control.rs` (lines of `/proc/locks` and `fdinfo`), each against a
//! reference written with std.
//!
//! Input: `TEXT [NUL WORD_A [NUL WORD_B]]`. TEXT is parsed as a status file; each of its
//! lines is searched for `FLOCK` and `WRITE` and for WORD_A and WORD_B, and each of its
//! space-separated words is parsed as a lock id.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rawdaemon::fuzzing;
use rawdaemon_fuzz::control::{has_words, parse_lock_id};

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |&b| b == 0);
    let text = parts.next().unwrap_or_default();
    let a = parts.next().unwrap_or(b"FLOCK");
    let b = parts.next().unwrap_or(b"WRITE");

    let got = fuzzing::parse_status(text);
    let want = reference_status(text, false);
    // (regressions/proc/status-threads-wrap: a Threads value past u32::MAX once wrapped.)
    assert_eq!(
        got,
        want,
        "parse_status({:?})",
        String::from_utf8_lossy(text)
    );

    for line in text.split(|&c| c == b'\n') {
        for (x, y) in [(&b"FLOCK"[..], &b"WRITE"[..]), (a, b)] {
            assert_eq!(
                has_words(line, x, y),
                reference_has_words(line, x, y),
                "has_words({line:?}, {x:?}, {y:?})"
            );
        }
        for word in line.split(|&c| c == b' ') {
            assert_eq!(
                parse_lock_id(word),
                reference_lock_id(word),
                "parse_lock_id({:?})",
                String::from_utf8_lossy(word)
            );
        }
    }
});

/// 1 to `max` digits of `radix` (either case for hex), no sign or space, that fit a `u64`.
fn number(s: &[u8], radix: u32, max: usize) -> Option<u64> {
    if s.is_empty() || s.len() > max || !s.iter().all(|&c| (c as char).is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(std::str::from_utf8(s).ok()?, radix).ok()
}

/// `(threads, SigBlk, SigIgn, SigCgt)` from the first line of each that follows a newline:
/// the value trimmed of ASCII white space, at most 16 digits; a thread count must fit a
/// `u32` (or, with `wrap`, is cut to one as `as` does).
fn reference_status(text: &[u8], wrap: bool) -> Option<(u32, u64, u64, u64)> {
    let field = |key: &str| -> Option<&[u8]> {
        let key = format!("\n{key}:");
        let key = key.as_bytes();
        let at = text.windows(key.len()).position(|w| w == key)? + key.len();
        let value = text[at..].split(|&c| c == b'\n').next().unwrap_or_default();
        Some(value.trim_ascii())
    };
    let threads = number(field("Threads")?, 10, 16)?;
    let threads = if wrap {
        threads as u32
    } else {
        u32::try_from(threads).ok()?
    };
    Some((
        threads,
        number(field("SigBlk")?, 16, 16)?,
        number(field("SigIgn")?, 16, 16)?,
        number(field("SigCgt")?, 16, 16)?,
    ))
}

/// Whether the words of `line` (between spaces and tabs) include both `a` and `b`.
fn reference_has_words(line: &[u8], a: &[u8], b: &[u8]) -> bool {
    let words: Vec<&[u8]> = line.split(|&c| c == b' ' || c == b'\t').collect();
    words.contains(&a) && words.contains(&b)
}

/// `MAJOR:MINOR:INODE`, the first two in hex, each at most 20 digits.
fn reference_lock_id(word: &[u8]) -> Option<(u64, u64, u64)> {
    let parts: Vec<&[u8]> = word.split(|&c| c == b':').collect();
    let [major, minor, inode] = parts[..] else {
        return None;
    };
    Some((
        number(major, 16, 20)?,
        number(minor, 16, 20)?,
        number(inode, 10, 20)?,
    ))
}
