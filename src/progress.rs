//! Time left of a run, for the progress line. Cases of one probe take similar
//! times and those of different probes do not (a namespace case takes
//! milliseconds, a CPU quota case seconds), so each case still to run is
//! estimated by the mean of the finished cases of its probe; while its probe has
//! none, by the time the scenario tells it to run if it says, else by the median
//! finished case (a mean would let one long CPU case inflate a hundred short
//! namespace cases). Pure bookkeeping: the CLI feeds it the runner's events and
//! redraws only then (no timer thread in the harness).

use std::collections::BTreeMap;
use std::time::Duration;

/// The estimate's state.
#[derive(Debug, Clone, Default)]
pub struct Eta {
    /// Every case of the plan, in order: its probe and expected time, if known.
    planned: Vec<(String, Option<Duration>)>,
    /// Per probe: total time and number of finished cases.
    done: BTreeMap<String, (Duration, u32)>,
    /// Every finished case's time, sorted.
    times: Vec<Duration>,
}

impl Eta {
    /// An estimate for a plan of cases `(probe, expected time)`, in order.
    pub fn new<S: Into<String>>(cases: impl IntoIterator<Item = (S, Option<Duration>)>) -> Eta {
        Eta {
            planned: cases.into_iter().map(|(p, e)| (p.into(), e)).collect(),
            ..Eta::default()
        }
    }

    /// Records that a case of `probe` took `elapsed`.
    pub fn finished(&mut self, probe: &str, elapsed: Duration) {
        let e = self.done.entry(probe.to_string()).or_default();
        e.0 += elapsed;
        e.1 += 1;
        let at = self.times.partition_point(|&t| t < elapsed);
        self.times.insert(at, elapsed);
    }

    /// The time the cases from index `next` on will take; `None` until a case finished.
    pub fn left(&self, next: usize) -> Option<Duration> {
        let median = *self.times.get(self.times.len() / 2)?;
        Some(
            self.planned
                .iter()
                .skip(next)
                .map(|(p, expected)| match self.done.get(p) {
                    Some(&(t, n)) => t / n.max(1),
                    None => expected.unwrap_or(median),
                })
                .sum(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_probe_means_then_the_expected_time_or_the_median() {
        let s = Duration::from_secs;
        let ms = Duration::from_millis;
        let mut eta = Eta::new([
            ("ns", None),
            ("ns", None),
            ("ns", None),
            ("cpu", Some(s(2))),
            ("cpu", Some(s(2))),
            ("mem", None),
        ]);
        assert_eq!(eta.left(0), None);
        eta.finished("ns", ms(10));
        // 2 more ns at 10 ms, 2 cpu as the scenario says, mem at the median 10 ms.
        assert_eq!(eta.left(1), Some(ms(20 + 4000 + 10)));
        eta.finished("ns", ms(30));
        eta.finished("ns", ms(20));
        eta.finished("cpu", s(3));
        // 1 cpu at its mean 3 s, mem at the median of 10, 20, 30 ms and 3 s.
        assert_eq!(eta.left(4), Some(ms(3000 + 30)));
        assert_eq!(eta.left(6), Some(Duration::ZERO));
    }
}
