//! The time stamps of syslog lines, in UTC: the calendar arithmetic from Unix time to a civil
//! date, and the two shapes a line writes it in.
//!
//! UTC because local time needs the time zone database, which a `no_std` daemon does not
//! read. Async-signal-safe: integer arithmetic on the stack.
//!
//! # References
//!  - [RFC 3164, section 4.1.2](https://www.rfc-editor.org/rfc/rfc3164#section-4.1.2)
//!  - [RFC 5424, section 6.2.3](https://www.rfc-editor.org/rfc/rfc5424#section-6.2.3)

use super::Line;

/// `Mmm dd hh:mm:ss` (RFC 3164: the day padded with a space) of `secs` after the epoch.
pub(super) fn push_rfc3164(line: &mut Line, secs: i64) {
    let t = Civil::from_unix(secs);
    line.push(month_name(t.month));
    line.push_byte(b' ');
    line.push_number(t.day, 2, b' ');
    line.push_byte(b' ');
    push_time(line, &t);
}

/// `YYYY-MM-DDThh:mm:ss.uuuuuuZ` (RFC 5424, in microseconds) of `secs` and `nanos` after the
/// epoch.
pub(super) fn push_rfc5424(line: &mut Line, secs: i64, nanos: u32) {
    let t = Civil::from_unix(secs);
    line.push_number(t.year, 4, b'0');
    line.push_byte(b'-');
    line.push_number(t.month, 2, b'0');
    line.push_byte(b'-');
    line.push_number(t.day, 2, b'0');
    line.push_byte(b'T');
    push_time(line, &t);
    line.push_byte(b'.');
    line.push_number((nanos / 1000).min(999_999), 6, b'0');
    line.push_byte(b'Z');
}

/// The length of [`stamp_now`]'s time stamp: `YYYY-MM-DDThh:mm:ss.uuuuuuZ`.
pub(crate) const STAMP_LEN: usize = 27;

/// The UTC time now as RFC 5424 writes it ([`push_rfc5424`]), for the lines of log files
/// ([`Daemon::log_timestamps`](crate::Daemon::log_timestamps)).
pub(crate) fn stamp_now() -> [u8; STAMP_LEN] {
    let (secs, nanos) = crate::sys::realtime();
    let mut line = Line::new(STAMP_LEN);
    push_rfc5424(&mut line, secs, nanos);
    let mut out = [b' '; STAMP_LEN];
    for (o, b) in out.iter_mut().zip(line.as_bytes()) {
        *o = *b;
    }
    out
}

/// `hh:mm:ss`.
fn push_time(line: &mut Line, t: &Civil) {
    line.push_number(t.hour, 2, b'0');
    line.push_byte(b':');
    line.push_number(t.minute, 2, b'0');
    line.push_byte(b':');
    line.push_number(t.second, 2, b'0');
}

/// The English abbreviation of month 1 to 12.
fn month_name(month: u32) -> &'static [u8] {
    const NAMES: [&[u8]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    NAMES
        .get((month as usize).wrapping_sub(1))
        .copied()
        .unwrap_or(b"???")
}

/// A UTC date and time of the proleptic Gregorian calendar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Civil {
    /// 0 to 9999 (times outside are clamped to the nearest end).
    year: u32,
    /// 1 to 12.
    month: u32,
    /// 1 to 31.
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
}

impl Civil {
    /// The date and time `secs` seconds after 1970-01-01 00:00:00 UTC (leap seconds, as in
    /// Unix time, do not count).
    fn from_unix(secs: i64) -> Civil {
        // 0000-03-01 and 9999-12-31 23:59:59: keeps the year within four digits.
        const MIN: i64 = -62_162_035_200;
        const MAX: i64 = 253_402_300_799;
        let secs = secs.clamp(MIN, MAX);
        let (year, month, day) = date_from_days(secs.div_euclid(86_400));
        let of_day = secs.rem_euclid(86_400) as u32;
        Civil {
            year: year.clamp(0, 9999) as u32,
            month,
            day,
            hour: of_day / 3600,
            minute: of_day / 60 % 60,
            second: of_day % 60,
        }
    }
}

/// Year, month (1 to 12) and day (1 to 31) of the day `days` after 1970-01-01.
///
/// The year is counted from March 1st, so that February, with its leap day, ends it; the days
/// are then split into 400-year cycles of 146,097 days (whose calendar repeats), the cycle into
/// years of 365 days plus the leap days before them, and the year into months by a linear
/// formula that fits the March-to-February month lengths (31, 30, 31, 30, 31, 31, 30, 31, 30,
/// 31, 31, 28/29), as in Howard Hinnant's `civil_from_days`.
fn date_from_days(days: i64) -> (i64, u32, u32) {
    // From 1970-01-01 to 0000-03-01, the start of a cycle, is 719,468 days.
    let days = days.saturating_add(719_468);
    let cycle = days.div_euclid(146_097);
    let day_of_cycle = days.rem_euclid(146_097); // 0 to 146,096
    // Leap days of the cycle before this day: one every 4 years, less one every 100 years,
    // plus the one of the cycle's last day (which would otherwise start a 401st year).
    let year_of_cycle = (day_of_cycle - day_of_cycle / 1_460 + day_of_cycle / 36_524
        - day_of_cycle / 146_096)
        / 365; // 0 to 399
    let day_of_year =
        day_of_cycle - (365 * year_of_cycle + year_of_cycle / 4 - year_of_cycle / 100); // 0 to 365
    // Month from March (0) to February (11): 153 days per five months.
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u32;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    } as u32;
    let year = cycle * 400 + year_of_cycle + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::super::LINE_CAPACITY;
    use super::*;

    /// 2026-11-25T23:59:02Z.
    const T: i64 = 1_795_651_142;

    #[test]
    fn dates() {
        assert_eq!(date_from_days(0), (1970, 1, 1));
        assert_eq!(date_from_days(-1), (1969, 12, 31));
        assert_eq!(date_from_days(11_016), (2000, 2, 29));
        assert_eq!(date_from_days(11_017), (2000, 3, 1));
        assert_eq!(date_from_days(20_782), (2026, 11, 25));
        assert_eq!(date_from_days(24_855), (2038, 1, 19));
        assert_eq!(date_from_days(-719_468), (0, 3, 1));
        assert_eq!(date_from_days(2_932_896), (9999, 12, 31));
        // Every day of 1900 to 2100 follows the one before.
        let mut prev = date_from_days(-25_567);
        assert_eq!(prev, (1900, 1, 1));
        for days in -25_566..47_482 {
            let (y, m, d) = date_from_days(days);
            let next_day = (prev.0, prev.1, prev.2 + 1);
            let next_month = (prev.0, prev.1 + 1, 1);
            let next_year = (prev.0 + 1, 1, 1);
            assert!(
                [next_day, next_month, next_year].contains(&(y, m, d)),
                "{prev:?} then {:?}",
                (y, m, d)
            );
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            let len = [
                31,
                if leap { 29 } else { 28 },
                31,
                30,
                31,
                30,
                31,
                31,
                30,
                31,
                30,
                31,
            ];
            assert!(d >= 1 && d <= len[m as usize - 1]);
            prev = (y, m, d);
        }
        assert_eq!(prev, (2099, 12, 31));

        let t = Civil::from_unix(2_147_483_647);
        assert_eq!(
            (t.year, t.month, t.day, t.hour, t.minute, t.second),
            (2038, 1, 19, 3, 14, 7)
        );
        let t = Civil::from_unix(T);
        assert_eq!(
            (t.year, t.month, t.day, t.hour, t.minute, t.second),
            (2026, 11, 25, 23, 59, 2)
        );
        assert_eq!(Civil::from_unix(-1).hour, 23);
        assert_eq!(Civil::from_unix(i64::MAX).year, 9999);
        assert_eq!(Civil::from_unix(i64::MIN).year, 0);
    }

    #[test]
    fn stamps() {
        let stamp = |push: &dyn Fn(&mut Line)| {
            let mut line = Line::new(LINE_CAPACITY - 1);
            push(&mut line);
            std::vec::Vec::from(line.as_bytes())
        };
        assert_eq!(stamp(&|l| push_rfc3164(l, T)), b"Nov 25 23:59:02");
        assert_eq!(stamp(&|l| push_rfc3164(l, 0)), b"Jan  1 00:00:00");
        assert_eq!(
            stamp(&|l| push_rfc5424(l, T, 123_456_789)),
            b"2026-11-25T23:59:02.123456Z"
        );
        assert_eq!(
            stamp(&|l| push_rfc5424(l, i64::MIN, u32::MAX)),
            b"0000-03-01T00:00:00.999999Z"
        );
        assert_eq!(
            stamp(&|l| push_rfc5424(l, i64::MAX, 0)),
            b"9999-12-31T23:59:59.000000Z"
        );
        assert_eq!(month_name(0), b"???");
        assert_eq!(month_name(13), b"???");
    }
}
