//! The readiness record: `Record::decode` never panics, a decoded record encodes back to the
//! very bytes it came from (one wire form per record), and what the launcher does with a
//! decoded error (its fields, `exit_code`, its message and `Display`) never panics, and the
//! message stays within its buffer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rawdaemon::fuzzing::{RECORD_LEN, Record};
use rawdaemon::{Message, Step};

fuzz_target!(|data: &[u8]| {
    // The first record, and the rest as the subject of the error's message.
    let (bytes, subject) = data.split_at(data.len().min(RECORD_LEN));
    let mut wire = [0_u8; RECORD_LEN];
    wire[..bytes.len()].copy_from_slice(bytes);

    let Some(record) = Record::decode(wire) else {
        // Only a known kind byte decodes: Ready and Exec with zero padding, an error with a
        // known step and an errno an `Errno` can hold (1 to 4095, or 0).
        let known = match wire[0] {
            1 | 2 => wire[1..5] == [0, 0, 0, 0],
            3 => {
                let value = u32::from_le_bytes([wire[5], wire[6], wire[7], wire[8]]);
                let detail = match wire[4] {
                    1 | 2 => true,
                    3 => value != 0 && value <= i32::MAX as u32,
                    0 | 16..=31 => value == 0,
                    _ => false,
                };
                Step::from_u8(wire[1]).is_some()
                    && u16::from_le_bytes([wire[2], wire[3]]) <= 4095
                    && detail
            }
            _ => false,
        };
        assert!(!known, "{wire:?} did not decode");
        return;
    };
    let encoded = record.encode();
    // Every record has exactly one wire form: decode accepts nothing but encode's output
    // (regressions/record/record-padding-*: Ready and Exec once ignored bytes 1 to 3).
    assert_eq!(
        encoded, wire,
        "decode({wire:?}) = {record:?}, which encodes to {encoded:?}"
    );
    assert_eq!(Record::decode(encoded), Some(record));

    if let Record::Failed(e) = record {
        assert_eq!(Step::from_u8(wire[1]), Some(e.step()));
        assert_eq!(
            e.raw_os_error(),
            i32::from(u16::from_le_bytes([wire[2], wire[3]]))
        );
        // The detail's tag and value: what decodes re-encodes to the same wire bytes.
        assert_eq!(encoded[4], wire[4]);
        // What the launcher does with a failure: `exit_code`, which asks for `errno()`
        // (regressions/record/errno-out-of-range: an errno above 4095 once made it panic).
        {
            assert_eq!(e.errno().is_none(), e.raw_os_error() == 0);
            let code = rawdaemon::exit_code(&e);
            let want = match (e.step(), e.raw_os_error()) {
                (Step::Exec, 2) => 127,
                (Step::Exec, _) => 126,
                _ => 1,
            };
            assert_eq!(code, want, "{e:?}");
        }
        for subject in [None, Some(subject)] {
            let m = e.message("rawdaemon", subject);
            check_message(&m, e.step());
        }
        let shown = e.to_string();
        assert!(shown.starts_with(e.step().name()), "{shown:?}");
        assert!(shown.len() < Message::CAPACITY);
        let _ = format!("{e:?}");
    }
});

/// A message is `rawdaemon: STEP...`, within its capacity (one byte left for the newline),
/// and its text is a prefix of its bytes.
fn check_message(m: &Message, step: Step) {
    let b = m.as_bytes();
    assert!(b.len() < Message::CAPACITY, "{} bytes", b.len());
    let head = format!("rawdaemon: {}", step.name());
    assert!(b.starts_with(head.as_bytes()), "{b:?}");
    assert!(m.as_str().len() <= b.len());
    assert!(b.starts_with(m.as_str().as_bytes()));
}
