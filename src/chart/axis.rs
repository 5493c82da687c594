//! Chart axes: linear, logarithmic and categorical, fitted to the data, with
//! ticks at round values (powers of two for bytes) and labels in the axis's unit.

use super::figure::{trim, Unit};

/// How data values map onto an axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    Linear,
    /// log10; values ≤ 0 sit on the bottom of the axis.
    Log,
}

/// One axis. The range is in data units and, unless set, fitted to the layers.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// What is measured, without unit (the unit is added from `unit`).
    pub label: String,
    pub unit: Unit,
    pub scale: Scale,
    /// Fitted or set range, data units.
    pub range: Option<(f64, f64)>,
    /// A linear axis that starts at zero when fitted.
    pub from_zero: bool,
    /// A category axis: the names of the categories at 0, 1, ...
    pub categories: Vec<String>,
    /// Tick positions chosen by the builder (data units), instead of nice numbers.
    pub ticks: Option<Vec<f64>>,
}

impl Axis {
    pub fn linear(label: &str, unit: Unit) -> Axis {
        Axis {
            label: label.into(),
            unit,
            scale: Scale::Linear,
            range: None,
            from_zero: false,
            categories: Vec::new(),
            ticks: None,
        }
    }
    pub fn log(label: &str, unit: Unit) -> Axis {
        Axis {
            scale: Scale::Log,
            ..Axis::linear(label, unit)
        }
    }
    pub fn categories(label: &str, names: Vec<String>) -> Axis {
        Axis {
            categories: names,
            ..Axis::linear(label, Unit::Count)
        }
    }
    pub fn zero_based(self) -> Axis {
        Axis {
            from_zero: true,
            ..self
        }
    }
    pub fn range(self, lo: f64, hi: f64) -> Axis {
        Axis {
            range: Some((lo, hi)),
            ..self
        }
    }
    pub fn ticks(self, ticks: Vec<f64>) -> Axis {
        Axis {
            ticks: Some(ticks),
            ..self
        }
    }

    pub fn is_categorical(&self) -> bool {
        !self.categories.is_empty()
    }

    /// The data range, fitted if not yet set.
    pub fn data_range(&self) -> (f64, f64) {
        if self.is_categorical() {
            return (-0.5, self.categories.len() as f64 - 0.5);
        }
        self.range.unwrap_or(match self.scale {
            Scale::Linear => (0.0, 1.0),
            Scale::Log => (1.0, 10.0),
        })
    }

    /// Sets the range from the data values this axis shows (non-finite ignored;
    /// on a log axis, non-positive ignored).
    pub fn fit(&mut self, values: impl IntoIterator<Item = f64>) {
        if self.range.is_some() || self.is_categorical() {
            return;
        }
        let vals: Vec<f64> = values
            .into_iter()
            .filter(|v| v.is_finite() && (self.scale == Scale::Linear || *v > 0.0))
            .collect();
        let (Some(min), Some(max)) = (
            vals.iter().copied().reduce(f64::min),
            vals.iter().copied().reduce(f64::max),
        ) else {
            return;
        };
        self.range = Some(match self.scale {
            Scale::Linear => {
                let (mut lo, mut hi) = (min, max);
                if self.from_zero {
                    lo = lo.min(0.0);
                    hi = hi.max(0.0);
                }
                if hi - lo <= f64::EPSILON * hi.abs().max(1.0) {
                    let pad = if hi == 0.0 { 1.0 } else { hi.abs() * 0.1 };
                    (lo - pad, hi + pad)
                } else {
                    let pad = (hi - lo) * 0.05;
                    let lo = if self.from_zero && lo >= 0.0 {
                        lo
                    } else {
                        lo - pad
                    };
                    (lo, hi + pad)
                }
            }
            // Labelled at the builder's ticks: no need for round ends.
            Scale::Log if self.ticks.is_some() => (min / 1.25, max * 1.25),
            Scale::Log if self.unit.is_binary() => (
                2f64.powf((min / 1.05).log2().floor()),
                2f64.powf((max * 1.05).log2().ceil()),
            ),
            Scale::Log => (nice_below(min / 1.05), nice_above(max * 1.05)),
        });
    }

    /// A data value on the drawing scale (log10 for a log axis).
    pub fn to_plot(&self, v: f64) -> f64 {
        match self.scale {
            Scale::Linear => v,
            Scale::Log => {
                let lo = self.data_range().0;
                if v > lo {
                    v.log10()
                } else {
                    lo.log10()
                }
            }
        }
    }

    fn data_value(&self, p: f64) -> f64 {
        match self.scale {
            Scale::Linear => p,
            Scale::Log => 10f64.powf(p),
        }
    }

    /// The range on the drawing scale.
    pub fn plot_range(&self) -> (f64, f64) {
        let (lo, hi) = self.data_range();
        match self.scale {
            Scale::Linear => (lo, hi),
            Scale::Log => (lo.log10(), hi.log10()),
        }
    }

    /// Labelled ticks and unlabelled grid lines, on the drawing scale.
    pub fn tick_positions(&self) -> (Vec<f64>, Vec<f64>) {
        if self.is_categorical() {
            return (
                (0..self.categories.len()).map(|i| i as f64).collect(),
                vec![],
            );
        }
        let (lo, hi) = self.data_range();
        if let Some(t) = &self.ticks {
            let major = t
                .iter()
                .filter(|v| **v >= lo && **v <= hi)
                .map(|v| self.to_plot(*v))
                .collect();
            return (major, vec![]);
        }
        match self.scale {
            Scale::Linear => {
                let step = self.linear_step();
                let major = steps(lo, hi, step);
                let minor = steps(lo, hi, step / 2.0)
                    .into_iter()
                    .filter(|m| !major.iter().any(|x| (x - m).abs() < step * 1e-6))
                    .collect();
                (major, minor)
            }
            Scale::Log if self.unit.is_binary() => binary_log_ticks(lo, hi),
            Scale::Log => log_ticks(lo, hi),
        }
    }

    /// The label of a tick at drawing-scale position `p`.
    pub fn tick_label(&self, p: f64) -> String {
        if self.is_categorical() {
            let i = p.round();
            return if i >= 0.0 && (i as usize) < self.categories.len() {
                self.categories[i as usize].clone()
            } else {
                String::new()
            };
        }
        let v = self.data_value(p);
        // 10^log10(x) can land a hair below x (1023.99 MiB for 1 GiB).
        let v = if (v - v.round()).abs() < 1e-6 * v.abs() {
            v.round()
        } else {
            v
        };
        match self.scale {
            Scale::Log => self.unit.tick(v),
            Scale::Linear => {
                let d = self.divisor();
                let step = self.linear_step() / d;
                let decimals = if step >= 1.0 {
                    0
                } else {
                    (-step.log10()).ceil().clamp(0.0, 9.0) as usize
                };
                trim(format!("{:.decimals$}", v / d))
            }
        }
    }

    /// The divisor of the humanised unit of a linear axis (2^20 for MiB).
    fn divisor(&self) -> f64 {
        let (lo, hi) = self.data_range();
        self.unit.scale(lo.abs().max(hi.abs())).0
    }

    /// The tick step of a linear axis, in data units: a nice number in the
    /// displayed unit (16 MiB, not 16.78 million bytes).
    fn linear_step(&self) -> f64 {
        let (lo, hi) = self.data_range();
        let d = self.divisor();
        nice_step((hi - lo) / d / 7.0) * d
    }

    /// The axis title: the label with its unit (`latency (µs)`), or with the
    /// scale for a log axis whose ticks carry their own units.
    pub fn title(&self) -> String {
        if self.is_categorical() {
            return self.label.clone();
        }
        match self.scale {
            Scale::Log => format!("{} (log scale)", self.label),
            Scale::Linear => {
                let (lo, hi) = self.data_range();
                match self.unit.scale(lo.abs().max(hi.abs())).1 {
                    "" => self.label.clone(),
                    s => format!("{} ({s})", self.label),
                }
            }
        }
    }
}

/// 1, 2 or 5 × 10^k, the nearest at or above `x`.
fn nice_step(x: f64) -> f64 {
    if x <= 0.0 || !x.is_finite() {
        return 1.0;
    }
    let p = 10f64.powf(x.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|s| *s >= x * (1.0 - 1e-9))
        .unwrap_or(10.0 * p)
}

/// Ticks every `step` from `lo` to `hi`; none for a range that is not finite or
/// would need more than a few thousand (a value of inf or 1e300 in a record
/// must not make a chart allocate without end).
fn steps(lo: f64, hi: f64, step: f64) -> Vec<f64> {
    const MOST: f64 = 10_000.0;
    if !(lo.is_finite() && hi.is_finite() && step.is_finite() && step > 0.0)
        || (hi - lo) / step > MOST
    {
        return Vec::new();
    }
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

/// The largest 1, 2 or 5 × 10^k at or below `x` (> 0).
fn nice_below(x: f64) -> f64 {
    let p = 10f64.powf(x.log10().floor());
    [5.0, 2.0, 1.0]
        .into_iter()
        .map(|m| m * p)
        .find(|v| *v <= x * (1.0 + 1e-9))
        .unwrap_or(p)
}

/// The smallest 1, 2 or 5 × 10^k at or above `x` (> 0).
fn nice_above(x: f64) -> f64 {
    let p = 10f64.powf(x.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .find(|v| *v >= x * (1.0 - 1e-9))
        .unwrap_or(10.0 * p)
}

/// Log ticks for byte units: powers of two (every 2nd, 3rd ... when there are
/// more than nine), which read as whole KiB, MiB, GiB.
fn binary_log_ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    let (a, b) = (lo.log2().ceil() as i32, hi.log2().floor() as i32);
    let every = ((b - a) / 9 + 1).max(1);
    let (mut major, mut minor) = (Vec::new(), Vec::new());
    for e in a..=b {
        let p = 2f64.powi(e).log10();
        if (e - a) % every == 0 {
            major.push(p);
        } else {
            minor.push(p);
        }
    }
    (major, minor)
}

/// Log ticks between `lo` and `hi` (data units, > 0), on the log10 scale:
/// denser multipliers when the range spans few decades.
fn log_ticks(lo: f64, hi: f64) -> (Vec<f64>, Vec<f64>) {
    let span = (hi / lo).log10();
    let mults: &[f64] = if span <= 1.2 {
        &[1.0, 2.0, 3.0, 5.0, 7.0]
    } else if span <= 3.2 {
        &[1.0, 2.0, 5.0]
    } else if span <= 6.5 {
        &[1.0]
    } else {
        &[]
    };
    let first = lo.log10().floor() as i32;
    let last = hi.log10().ceil() as i32;
    let inside = |v: f64| v >= lo * (1.0 - 1e-9) && v <= hi * (1.0 + 1e-9);
    let mut major = Vec::new();
    let mut minor = Vec::new();
    for k in first..=last {
        let p = 10f64.powi(k);
        if mults.is_empty() {
            // Every other decade on very wide ranges.
            if k % 2 == 0 && inside(p) {
                major.push(p.log10());
            } else if inside(p) {
                minor.push(p.log10());
            }
            continue;
        }
        for m in 1..10 {
            let v = m as f64 * p;
            if !inside(v) {
                continue;
            }
            if mults.contains(&(m as f64)) {
                major.push(v.log10());
            } else if span <= 6.5 {
                minor.push(v.log10());
            }
        }
    }
    (major, minor)
}
