//! Small statistics for verdicts: the mean of repeated measurements with its
//! 95 % confidence interval (Student's t), so a verdict can tell "the kernel
//! missed the target" from "the measurement could not decide".

use std::time::Duration;

/// Two-sided 95 % quantiles of Student's t for 1 … 30 degrees of freedom.
const T95: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

/// The two-sided 95 % quantile of t with `df` degrees of freedom.
pub fn t95(df: usize) -> f64 {
    match df {
        0 => f64::INFINITY,
        1..=30 => T95[df - 1],
        // Between 30 and ∞ the quantile falls from 2.042 to 1.960.
        31..=120 => 2.0,
        _ => 1.96,
    }
}

/// A mean and the half width of its 95 % confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanCi {
    pub mean: f64,
    /// Infinite with fewer than two values.
    pub half_width: f64,
    pub n: usize,
}

impl MeanCi {
    /// Of independent measurements.
    pub fn of(values: &[f64]) -> Option<MeanCi> {
        let n = values.len();
        if n == 0 {
            return None;
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let half_width = if n < 2 {
            f64::INFINITY
        } else {
            let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            t95(n - 1) * (var / n as f64).sqrt()
        };
        Some(MeanCi {
            mean,
            half_width,
            n,
        })
    }

    pub fn lo(&self) -> f64 {
        self.mean - self.half_width
    }

    pub fn hi(&self) -> f64 {
        self.mean + self.half_width
    }

    /// How many measurements the interval needs to shrink to `half_width`
    /// (the same spread assumed), at least the ones it has.
    pub fn n_for(&self, half_width: f64) -> usize {
        if !self.half_width.is_finite() || half_width <= 0.0 {
            return self.n.max(2) * 4;
        }
        let ratio = self.half_width / half_width;
        ((self.n as f64 * ratio * ratio).ceil() as usize).max(self.n)
    }
}

/// Where an interval lies against a band `[lo, hi]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Against {
    /// Wholly inside the band.
    Inside,
    /// Wholly above it.
    Above,
    /// Wholly below it.
    Below,
    /// Across one of its edges: the measurement cannot decide.
    Straddles,
}

/// Where `ci` lies against the band `[lo, hi]`.
pub fn against(ci: &MeanCi, lo: f64, hi: f64) -> Against {
    if ci.lo() > hi {
        Against::Above
    } else if ci.hi() < lo {
        Against::Below
    } else if ci.lo() >= lo && ci.hi() <= hi {
        Against::Inside
    } else {
        Against::Straddles
    }
}

/// A tolerance band `[lo, hi]` around an expected value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Band {
    pub lo: f64,
    pub hi: f64,
}

impl Band {
    /// `expected` × (1 ± `tolerance_pct` / 100).
    pub fn around(expected: f64, tolerance_pct: f64) -> Band {
        let spread = expected.abs() * tolerance_pct / 100.0;
        Band {
            lo: expected - spread,
            hi: expected + spread,
        }
    }

    /// What `ci` decides against the band.
    pub fn decide(&self, ci: &MeanCi) -> Decision {
        match against(ci, self.lo, self.hi) {
            Against::Inside => Decision::Inside,
            Against::Above => Decision::Above,
            Against::Below => Decision::Below,
            Against::Straddles => Decision::Undecided {
                n_needed: ci.n_for(self.margin(ci.mean)),
            },
        }
    }

    /// The distance of `mean` from the nearer edge: the half width an interval
    /// around it must shrink to before it decides (never 0, which no run reaches).
    fn margin(&self, mean: f64) -> f64 {
        (mean - self.lo).abs().min((self.hi - mean).abs()).max(1e-9)
    }
}

/// What an interval decides against a band: pass, fail, or how many
/// measurements would decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Wholly inside the band.
    Inside,
    /// Wholly above it.
    Above,
    /// Wholly below it.
    Below,
    /// Across an edge: with `n_needed` measurements (the same spread assumed)
    /// the interval would be narrower than the mean's distance from that edge.
    Undecided { n_needed: usize },
}

/// "run longer: N s": the whole seconds (rounded up) a run needs for `n`
/// measurements of `each`, after `unmeasured` (what a run spends before its
/// first counted measurement) — the figure a scenario's duration is set to.
pub fn run_longer(n: usize, each: Duration, unmeasured: Duration) -> String {
    // In whole nanoseconds: 30 × 0.1 s in floating point is 3.0000000000000004, 4 s rounded up.
    let ns = n as u128 * each.as_nanos() + unmeasured.as_nanos();
    let secs = ns.div_ceil(1_000_000_000);
    // A mean right at the band's edge asks for absurd runs (27092 s was
    // printed): past an hour, say what it means instead.
    if secs > 3600 {
        return "run longer: over an hour, as the mean lies at the edge of the band (it may not decide at any length)".into();
    }
    format!("run longer: {secs} s")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_interval() {
        let ci = MeanCi::of(&[0.90, 0.95, 0.96, 1.01]).unwrap();
        assert!((ci.mean - 0.955).abs() < 1e-9);
        // s = 0.0451, t(3) = 3.182: half width 0.0718.
        assert!((ci.half_width - 0.0718).abs() < 1e-3, "{ci:?}");
        assert!(MeanCi::of(&[1.0]).unwrap().half_width.is_infinite());
        assert!(MeanCi::of(&[]).is_none());
    }

    #[test]
    fn intervals_against_a_band() {
        let ci = |mean, half_width| MeanCi {
            mean,
            half_width,
            n: 10,
        };
        assert_eq!(against(&ci(1.0, 0.01), 0.95, 1.05), Against::Inside);
        assert_eq!(against(&ci(1.2, 0.01), 0.95, 1.05), Against::Above);
        assert_eq!(against(&ci(0.8, 0.01), 0.95, 1.05), Against::Below);
        assert_eq!(against(&ci(1.04, 0.05), 0.95, 1.05), Against::Straddles);
        assert_eq!(ci(1.0, 0.1).n_for(0.05), 40);
    }

    #[test]
    fn intervals_decide_against_a_band_or_say_how_many_more() {
        // 25 ± 10 %: 22.5 … 27.5.
        let band = Band::around(25.0, 10.0);
        assert!((band.lo - 22.5).abs() < 1e-12 && (band.hi - 27.5).abs() < 1e-12);
        let ci = |mean, half_width| MeanCi {
            mean,
            half_width,
            n: 20,
        };
        assert_eq!(band.decide(&ci(25.2, 0.4)), Decision::Inside);
        assert_eq!(band.decide(&ci(30.0, 0.4)), Decision::Above);
        assert_eq!(band.decide(&ci(20.0, 0.4)), Decision::Below);
        // 27.0 ± 1.0 crosses 27.5; it decides at ±0.5: 4 × the measurements.
        assert_eq!(
            band.decide(&ci(27.0, 1.0)),
            Decision::Undecided { n_needed: 80 }
        );
        // Below the band, across its lower edge: the nearer edge counts.
        assert_eq!(
            band.decide(&ci(22.0, 1.0)),
            Decision::Undecided { n_needed: 80 }
        );
        // One measurement has no interval: never decided, a few more asked for.
        let one = MeanCi::of(&[25.0]).unwrap();
        assert_eq!(band.decide(&one), Decision::Undecided { n_needed: 8 });
    }

    #[test]
    fn run_longer_counts_whole_seconds_up() {
        let ms = Duration::from_millis;
        assert_eq!(run_longer(80, ms(100), ms(0)), "run longer: 8 s");
        assert_eq!(run_longer(19, ms(250), ms(250)), "run longer: 5 s");
        assert_eq!(run_longer(21, ms(250), ms(250)), "run longer: 6 s");
        assert_eq!(run_longer(30, ms(100), ms(0)), "run longer: 3 s");
        assert!(run_longer(270_920, ms(100), ms(0)).contains("over an hour"));
    }
}
