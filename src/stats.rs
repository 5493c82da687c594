//! Small statistics for verdicts: the mean of repeated measurements with its
//! 95 % confidence interval (Student's t), so a verdict can tell "the kernel
//! missed the target" from "the measurement could not decide".

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
}
