//! The `-R` supervisor's restart policy ([`Daemon::respawn`](crate::Daemon::respawn)), as
//! plain arithmetic on times the caller reads from the monotonic clock (milliseconds): no
//! system call, so each rule below has a unit test.
//!
//! - **Delay.** A restart waits [`FIRST_DELAY_MS`] after the first failure, twice as long
//!   after each failure in a row, at most [`MAX_DELAY_MS`]. A run that lasted
//!   [`STABLE_MS`] or more before it failed starts the series again at the first delay.
//! - **Limit.** At most `max` restarts per `period` seconds: the failure that would be
//!   restart `max + 1` within one period ends supervision (the supervisor gives up).
//! - **Period.** A period opens when the supervisor starts; the first failure at least
//!   `period` seconds after a period opened opens the next one at that failure, with its
//!   count back at zero. (Periods follow one another; they do not slide over the last
//!   failures.)
//!
//! A start that fails before `execve` counts as a failure, like an abnormal end.

/// The first delay before a restart; it doubles with each failure in a row.
pub(super) const FIRST_DELAY_MS: u64 = 100;
/// The longest delay before a restart.
pub(super) const MAX_DELAY_MS: u64 = 60_000;
/// A program that ran this long before it failed gets the first delay again.
pub(super) const STABLE_MS: u64 = 10_000;

/// What follows a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Next {
    /// Start the program again at `at`, `delay` milliseconds from the failure.
    Restart { at: u64, delay: u64 },
    /// The limit is reached: this was the `count`th failure within the period.
    GiveUp { count: u32 },
}

/// The restart budget: the delay series and the count of restarts in the current period.
#[derive(Debug)]
pub(super) struct Restarts {
    max: u32,
    /// The period, in milliseconds.
    period_ms: u64,
    /// When the program last started (or its start was tried).
    started: u64,
    /// When the current period opened.
    opened: u64,
    /// Failures within the current period.
    count: u32,
    /// The delay before the next restart, unless a long run resets it.
    delay: u64,
}

impl Restarts {
    /// At most `max` restarts per `period` seconds, for a program started at `now`.
    pub(super) const fn new(max: u32, period: u32, now: u64) -> Self {
        Restarts {
            max,
            period_ms: period as u64 * 1000,
            started: now,
            opened: now,
            count: 0,
            delay: FIRST_DELAY_MS,
        }
    }

    /// The program is (re)started at `now`.
    pub(super) fn started(&mut self, now: u64) {
        self.started = now;
    }

    /// The program ended abnormally (or failed to start) at `now`: when to start it again,
    /// or to give up.
    pub(super) fn failed(&mut self, now: u64) -> Next {
        if now.saturating_sub(self.started) >= STABLE_MS {
            self.delay = FIRST_DELAY_MS;
        }
        if now.saturating_sub(self.opened) >= self.period_ms {
            self.opened = now;
            self.count = 0;
        }
        self.count = self.count.saturating_add(1);
        if self.count > self.max {
            return Next::GiveUp { count: self.count };
        }
        let delay = self.delay;
        self.delay = (delay * 2).min(MAX_DELAY_MS);
        Next::Restart {
            at: now.saturating_add(delay),
            delay,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::vec::Vec;

    /// The delays of `n` failures in a row, each `ran` ms after its start, the first start at
    /// 0 (no limit).
    fn delays(n: usize, ran: u64) -> Vec<u64> {
        let mut r = Restarts::new(u32::MAX, 0, 0);
        let mut now = 0;
        (0..n)
            .map(|_| {
                now += ran;
                match r.failed(now) {
                    Next::Restart { at, delay } => {
                        assert_eq!(at, now + delay);
                        now = at;
                        r.started(now);
                        delay
                    }
                    Next::GiveUp { .. } => panic!("gave up"),
                }
            })
            .collect()
    }

    #[test]
    fn first_restart_waits_the_first_delay() {
        let mut r = Restarts::new(5, 60, 1_000);
        assert_eq!(
            r.failed(1_500),
            Next::Restart {
                at: 1_600,
                delay: 100
            }
        );
    }

    #[test]
    fn delay_doubles_up_to_the_cap() {
        assert_eq!(
            delays(13, 1),
            [
                100, 200, 400, 800, 1_600, 3_200, 6_400, 12_800, 25_600, 51_200, 60_000, 60_000,
                60_000
            ]
        );
    }

    #[test]
    fn a_long_run_resets_the_delay() {
        let mut r = Restarts::new(100, 1_000, 0);
        for _ in 0..4 {
            let _ = r.failed(0);
        }
        assert_eq!(
            r.failed(0),
            Next::Restart {
                at: 1_600,
                delay: 1_600
            }
        );
        // Ran just under STABLE_MS: the series goes on.
        r.started(1_600);
        assert_eq!(
            r.failed(1_600 + STABLE_MS - 1),
            Next::Restart {
                at: 1_600 + STABLE_MS - 1 + 3_200,
                delay: 3_200
            }
        );
        // Ran STABLE_MS: back to the first delay, then doubling again.
        r.started(20_000);
        assert_eq!(
            r.failed(20_000 + STABLE_MS),
            Next::Restart {
                at: 30_100,
                delay: 100
            }
        );
        r.started(30_100);
        assert_eq!(
            r.failed(30_100),
            Next::Restart {
                at: 30_300,
                delay: 200
            }
        );
        assert_eq!(delays(3, STABLE_MS), [100, 100, 100]);
    }

    #[test]
    fn limit_within_the_period_gives_up() {
        let mut r = Restarts::new(3, 60, 0);
        for (i, now) in [1_000, 2_000, 3_000].into_iter().enumerate() {
            assert!(matches!(r.failed(now), Next::Restart { .. }), "failure {i}");
        }
        assert_eq!(r.failed(59_999), Next::GiveUp { count: 4 });
    }

    #[test]
    fn no_restart_allowed_gives_up_at_the_first_failure() {
        assert_eq!(Restarts::new(0, 60, 0).failed(5), Next::GiveUp { count: 1 });
        assert_eq!(Restarts::new(0, 0, 0).failed(5), Next::GiveUp { count: 1 });
    }

    #[test]
    fn an_elapsed_period_resets_the_count() {
        // The first period opens at the start (0): a failure at 1 000 is in the next one.
        let mut r = Restarts::new(1, 1, 0);
        assert!(matches!(r.failed(999), Next::Restart { .. }));
        assert!(matches!(r.failed(1_000), Next::Restart { .. }));
        // That period opened at 1 000: 1 999 is in it, the second failure there.
        assert_eq!(r.failed(1_999), Next::GiveUp { count: 2 });
    }

    #[test]
    fn periods_follow_one_another_without_sliding() {
        // Two failures late in one period and one early in the next: three within less than
        // a period, yet each period holds at most two.
        let mut r = Restarts::new(2, 10, 0);
        assert!(matches!(r.failed(8_000), Next::Restart { .. }));
        assert!(matches!(r.failed(9_000), Next::Restart { .. }));
        assert!(matches!(r.failed(10_000), Next::Restart { .. }));
        assert!(matches!(r.failed(11_000), Next::Restart { .. }));
        assert_eq!(r.failed(19_999), Next::GiveUp { count: 3 });
    }

    #[test]
    fn a_zero_period_opens_a_new_one_at_each_failure() {
        let mut r = Restarts::new(1, 0, 0);
        for now in [0, 0, 5, 5] {
            assert!(matches!(r.failed(now), Next::Restart { .. }));
        }
    }

    #[test]
    fn the_largest_limit_never_gives_up() {
        let mut r = Restarts::new(u32::MAX, 60, 0);
        r.count = u32::MAX - 1;
        assert!(matches!(r.failed(1), Next::Restart { .. }));
        assert!(matches!(r.failed(2), Next::Restart { .. }));
    }
}
