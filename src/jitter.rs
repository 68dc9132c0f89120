//! Jitter: the one way pantau spreads waits (poll intervals, a failing feed's backoff, a sink's
//! retries), so that feeds or alerts that were due or failed together drift apart instead of
//! coming back in lock-step.

use std::hash::{Hash, Hasher};
use std::time::Duration;

/// A number in [0, 1) from hashing `key`: the same key gives the same number within one run
/// of the program, different keys (a feed's name and the time, an alert's id and its attempt)
/// scatter.
pub fn fraction(key: impl Hash) -> f64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    (h.finish() % 10_000) as f64 / 10_000.0
}

/// `wait` moved by up to ±`spread` of itself (0.05 for ±5 %); `fraction`, a number in [0, 1)
/// from [`fraction`], picks the place in that range.
pub fn spread(wait: Duration, spread: f64, fraction: f64) -> Duration {
    wait.mul_f64(1.0 - spread + 2.0 * spread * fraction)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fractions_are_in_range_stable_and_scattered() {
        let all: Vec<f64> = (0..200).map(|i| fraction(("feed", i))).collect();
        assert!(all.iter().all(|f| (0.0..1.0).contains(f)));
        assert_eq!(fraction(("feed", 7)), all[7]);
        assert!(all.iter().any(|f| *f < 0.3) && all.iter().any(|f| *f > 0.7), "{all:?}");
    }

    #[test]
    fn a_spread_stays_within_its_bounds() {
        let base = Duration::from_secs(100);
        assert_eq!(spread(base, 0.05, 0.0), Duration::from_secs(95));
        assert_eq!(spread(base, 0.2, 0.5), base);
        assert!(spread(base, 0.05, 0.9999) < Duration::from_secs(105));
    }
}
