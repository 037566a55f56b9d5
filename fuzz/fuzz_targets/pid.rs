//! Pid file parsing: `decimal::parse_pid` against a strict reference parser, and
//! `pidfile::read_pid` on a real (in-memory) file holding the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rawdaemon::fuzzing;

/// What a pid file may hold: optional ASCII white space (space, tab, newline, form feed,
/// carriage return), 1 to 10 decimal digits, optional white space; a value from 1 to
/// `i32::MAX`. Written with std only, independently of the library.
fn reference_pid(bytes: &[u8]) -> Option<u32> {
    let space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\x0c' | b'\r');
    let start = bytes.iter().position(|b| !space(b))?;
    let end = bytes.iter().rposition(|b| !space(b))? + 1;
    let digits = &bytes[start..end];
    if digits.is_empty() || digits.len() > 10 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n: i64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    (1..=i64::from(i32::MAX)).contains(&n).then_some(n as u32)
}

/// What `read_pid` should find in a file holding `file`: the first line of its first 16
/// bytes (a read of 16 bytes with no newline is not a pid), parsed as above; 0 for nothing.
fn reference_read(file: &[u8]) -> u32 {
    let head = &file[..file.len().min(16)];
    let line = match head.iter().position(|&b| b == b'\n') {
        Some(i) => &head[..i],
        None if head.len() == 16 => return 0,
        None => head,
    };
    reference_pid(line).unwrap_or(0)
}

fuzz_target!(|data: &[u8]| {
    let got = fuzzing::parse_pid(data);
    assert_eq!(got, reference_pid(data), "parse_pid({data:?})");
    if let Some(pid) = got {
        // What the library writes (`format_u32`) parses back to the same pid.
        let mut digits = [0_u8; 10];
        let len = fuzzing::format_u32(pid, &mut digits);
        assert_eq!(fuzzing::parse_pid(&digits[..len]), Some(pid));
        assert_eq!(&digits[..len], pid.to_string().as_bytes());
    }

    let fd = rawdaemon_fuzz::memfile(0, data);
    assert_eq!(
        fuzzing::read_pid(fd),
        reference_read(data),
        "read_pid of a file holding {data:?}"
    );
});
