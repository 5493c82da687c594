//! Time left of a run, for the progress line. Cases of one probe take similar
//! times and those of different probes do not (a namespace case takes
//! milliseconds, a CPU quota case seconds), so each case still to run is
//! estimated by the mean of the finished cases of its probe, or of all finished
//! cases while its probe has none yet. Pure bookkeeping: the CLI feeds it the
//! runner's events and redraws only then (no timer thread in the harness).

use std::collections::BTreeMap;
use std::time::Duration;

/// The estimate's state.
#[derive(Debug, Clone, Default)]
pub struct Eta {
    /// The probe of every case of the plan, in order.
    planned: Vec<String>,
    /// Per probe: total time and number of finished cases.
    done: BTreeMap<String, (Duration, u32)>,
    total: (Duration, u32),
}

impl Eta {
    /// An estimate for a plan whose cases belong to `probes`, in order.
    pub fn new<S: Into<String>>(probes: impl IntoIterator<Item = S>) -> Eta {
        Eta {
            planned: probes.into_iter().map(Into::into).collect(),
            ..Eta::default()
        }
    }

    /// Records that a case of `probe` took `elapsed`.
    pub fn finished(&mut self, probe: &str, elapsed: Duration) {
        let e = self.done.entry(probe.to_string()).or_default();
        e.0 += elapsed;
        e.1 += 1;
        self.total.0 += elapsed;
        self.total.1 += 1;
    }

    /// The time the cases from index `next` on will take; `None` until a case finished.
    pub fn left(&self, next: usize) -> Option<Duration> {
        let mean = |(t, n): (Duration, u32)| t / n.max(1);
        if self.total.1 == 0 {
            return None;
        }
        let overall = mean(self.total);
        Some(
            self.planned
                .iter()
                .skip(next)
                .map(|p| self.done.get(p).map_or(overall, |&d| mean(d)))
                .sum(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_probe_means_then_the_overall_mean() {
        let mut eta = Eta::new(["ns", "ns", "ns", "cpu", "cpu", "mem"]);
        assert_eq!(eta.left(0), None);
        eta.finished("ns", Duration::from_millis(10));
        // 2 more ns at 10 ms, 3 unseen at the overall 10 ms.
        assert_eq!(eta.left(1), Some(Duration::from_millis(50)));
        eta.finished("ns", Duration::from_millis(30));
        eta.finished("ns", Duration::from_millis(20));
        eta.finished("cpu", Duration::from_secs(2));
        // 1 cpu at 2 s, 1 mem at the overall mean (2.06 s / 4).
        assert_eq!(eta.left(4), Some(Duration::from_millis(2000 + 515)));
        assert_eq!(eta.left(6), Some(Duration::ZERO));
    }
}
