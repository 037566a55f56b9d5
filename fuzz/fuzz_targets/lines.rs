//! The two line splitters: `lines::find_line` (a file read through a fixed buffer: `/proc`
//! files and the account files) and the logger's `Lines` (a stream fed in chunks), plus the
//! library's `Fields` splitter.
//!
//! Input: a byte for find_line's buffer size (1 to 256), a byte for the line at which its
//! callback says "found" (255: never), a byte for the logger's chunk sizes; the rest is the
//! text.
//!
//! Checked against `split(b'\n')` (less a trailing empty piece, which is no line):
//! - `find_line` hands out exactly the lines shorter than its buffer, in order, whole, and
//!   stops at the first one its callback accepts (returning whether one did);
//! - `Lines` hands out every line whole if it has at most `LINE_MAX` bytes and else its first
//!   `LINE_MAX` bytes, whatever the chunks the text comes in;
//! - `Fields` splits like `split`, and `rest` is `splitn(2)`'s tail.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rawdaemon::fuzzing::{self, Fields};
use rawdaemon_fuzz::logger::{LINE_MAX, Lines};
use rustix::fd::AsFd;

fuzz_target!(|data: &[u8]| {
    let [buf_len, stop_at, chunking, text @ ..] = data else {
        return;
    };
    let buf_len = usize::from(*buf_len) + 1;
    let stop_at = (*stop_at != 255).then_some(usize::from(*stop_at));

    let mut pieces: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
    if pieces.last() == Some(&&b""[..]) {
        pieces.pop();
    }

    // find_line, on an in-memory file.
    let fd = rawdaemon_fuzz::memfile(0, text);
    let mut buf = vec![0_u8; buf_len];
    let mut seen: Vec<Vec<u8>> = Vec::new();
    let found = fuzzing::find_line(fd.as_fd(), &mut buf, &mut |line| {
        assert!(line.len() < buf_len, "a line of {} bytes", line.len());
        seen.push(line.to_vec());
        stop_at == Some(seen.len() - 1)
    })
    .unwrap();
    let mut want: Vec<&[u8]> = pieces
        .iter()
        .copied()
        .filter(|l| l.len() < buf_len)
        .collect();
    let want_found = stop_at.is_some_and(|i| i < want.len());
    if let Some(i) = stop_at {
        want.truncate(i + 1);
    }
    assert_eq!(found, want_found);
    assert_eq!(seen, want, "find_line with a buffer of {buf_len}");

    // Lines, fed in chunks of 1 to 64 bytes (or all at once).
    let mut lines = Lines::new();
    let mut seen: Vec<Vec<u8>> = Vec::new();
    let mut rest = text;
    let mut size = usize::from(*chunking);
    while !rest.is_empty() {
        let n = if *chunking == 0 {
            rest.len()
        } else {
            size = (size * 7 + 3) % 64 + 1;
            size.min(rest.len())
        };
        let (chunk, tail) = rest.split_at(n);
        lines.feed(chunk, &mut |l| seen.push(l.to_vec()));
        rest = tail;
    }
    lines.finish(&mut |l| seen.push(l.to_vec()));
    let want: Vec<&[u8]> = pieces.iter().map(|l| &l[..l.len().min(LINE_MAX)]).collect();
    assert_eq!(seen, want, "Lines with chunking {chunking}");
    // A finished splitter starts afresh.
    let mut again = Vec::new();
    lines.feed(b"x\n", &mut |l| again.push(l.to_vec()));
    assert_eq!(again, [b"x"]);

    // Fields, with the first byte of the text as the separator (and the second as another).
    if let [a, b, ..] = text {
        let mine: Vec<&[u8]> = Fields::new(text, *a).collect();
        let core: Vec<&[u8]> = text.split(|c| c == a).collect();
        assert_eq!(mine, core);
        let mine: Vec<&[u8]> = Fields::either(text, *a, *b).collect();
        let core: Vec<&[u8]> = text.split(|c| c == a || c == b).collect();
        assert_eq!(mine, core);
        let mut f = Fields::new(&text[1..], *b);
        let first = f.next();
        let mut core = text[1..].splitn(2, |c| c == b);
        assert_eq!(first, core.next());
        assert_eq!(f.rest(), core.next());
        assert_eq!(fuzzing::has_byte(text, *b), text.contains(b));
    }
});
