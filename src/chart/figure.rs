//! A chart as plain data — axes, layers, legend — built by the probe modules and
//! drawn by [`super::draw`]. Keeping plotters out of it lets one renderer serve
//! SVG and PNG, and lets tests look at what a chart holds without pixels.

use crate::units;

/// A colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rgb(pub u8, pub u8, pub u8);

/// Text, axes, limits.
pub const INK: Rgb = Rgb(0x22, 0x22, 0x22);
/// References (ideal lines, unthrottled rates).
pub const GRAY: Rgb = Rgb(0x88, 0x88, 0x88);
/// Shading of allowed areas.
pub const GREEN_TINT: Rgb = Rgb(0x2c, 0xa0, 0x2c);

/// Tableau 10, a palette whose colours stay apart for readers with common colour
/// vision deficiencies.
const PALETTE: [Rgb; 10] = [
    Rgb(31, 119, 180),
    Rgb(255, 127, 14),
    Rgb(44, 160, 44),
    Rgb(214, 39, 40),
    Rgb(148, 103, 189),
    Rgb(140, 86, 75),
    Rgb(227, 119, 194),
    Rgb(127, 127, 127),
    Rgb(188, 189, 34),
    Rgb(23, 190, 207),
];

/// The `i`-th palette colour (cycling).
pub fn palette(i: usize) -> Rgb {
    PALETTE[i % PALETTE.len()]
}

/// How a line is stroked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dash {
    Solid,
    Dashed,
    Dotted,
    /// Markers only.
    None,
}

/// A point marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    Dot,
    Ring,
    Triangle,
    Cross,
}

/// How a line or a set of points looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub color: Rgb,
    pub dash: Dash,
    pub marker: Option<Marker>,
    /// Stroke width in pixels.
    pub width: u32,
}

impl Style {
    pub fn line(color: Rgb) -> Style {
        Style {
            color,
            dash: Dash::Solid,
            marker: None,
            width: 2,
        }
    }
    pub fn dashed(self) -> Style {
        Style {
            dash: Dash::Dashed,
            ..self
        }
    }
    pub fn dotted(self) -> Style {
        Style {
            dash: Dash::Dotted,
            ..self
        }
    }
    pub fn dash(self, dash: Dash) -> Style {
        Style { dash, ..self }
    }
    pub fn marker(self, m: Marker) -> Style {
        Style {
            marker: Some(m),
            ..self
        }
    }
    pub fn points(color: Rgb, m: Marker) -> Style {
        Style {
            color,
            dash: Dash::None,
            marker: Some(m),
            width: 2,
        }
    }
    pub fn thin(self) -> Style {
        Style { width: 1, ..self }
    }
}

/// One thing drawn in the plotting area. Coordinates are in data units (the
/// axis maps them); on a category axis a category's centre is its index.
#[derive(Debug, Clone, PartialEq)]
pub enum Layer {
    /// Points joined in order (or only marked, with [`Dash::None`]).
    Line {
        points: Vec<(f64, f64)>,
        style: Style,
    },
    /// A horizontal line across the whole x range.
    HLine { y: f64, style: Style },
    /// A bar from the bottom of the y axis to `value`, with an optional whisker
    /// up (or down) to `whisker`.
    Bar {
        x: f64,
        width: f64,
        value: f64,
        whisker: Option<f64>,
        color: Rgb,
    },
    /// A tinted rectangle; `x: None` spans the whole x range.
    Band {
        x: Option<(f64, f64)>,
        y: (f64, f64),
        color: Rgb,
    },
    /// Text just above a point: centred on it, or beside it (right of it, left
    /// of it near the right edge).
    Label {
        at: (f64, f64),
        text: String,
        centred: bool,
    },
}

/// Grouped bars: `groups[g][b]` is bar `b` of group `g`, its value and
/// optional whisker; `None` leaves its slot empty.
pub type BarGroups = Vec<Vec<Option<(f64, Option<f64>)>>>;

/// What the legend shows beside a label.
#[derive(Debug, Clone, PartialEq)]
pub enum Swatch {
    Line(Style),
    Bar(Rgb),
    Band(Rgb),
    /// Text only (an explanation such as "dashed: p99").
    Note,
}

/// One legend row.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub label: String,
    pub swatch: Swatch,
}

/// The unit of an axis, which picks the humanised scale of its labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Ns,
    Bytes,
    BytesPerS,
    OpsPerS,
    /// Percent (a value of 25.0 is 25 %).
    Pct,
    /// A plain number (counts, indices, fractions).
    Plain,
}

impl Unit {
    /// The unit of a series unit string, and the factor that turns its raw
    /// values into this unit (`pct_x100` → percent, ×0.01).
    pub fn of_series(unit: &units::Unit) -> (Unit, f64) {
        match unit {
            units::Unit::Ns => (Unit::Ns, 1.0),
            units::Unit::Bytes => (Unit::Bytes, 1.0),
            units::Unit::BytesPerS => (Unit::BytesPerS, 1.0),
            units::Unit::OpsPerS => (Unit::OpsPerS, 1.0),
            units::Unit::Pct => (Unit::Pct, 1.0),
            units::Unit::PctX100 => (Unit::Pct, 0.01),
            _ => (Unit::Plain, 1.0),
        }
    }

    /// Bytes and byte rates, whose scales are powers of 1024.
    pub fn is_binary(self) -> bool {
        matches!(self, Unit::Bytes | Unit::BytesPerS)
    }

    /// The scales of this unit, largest first: (divisor, suffix).
    fn scales(self) -> &'static [(f64, &'static str)] {
        const KI: f64 = 1024.0;
        match self {
            Unit::Ns => &[(1e9, "s"), (1e6, "ms"), (1e3, "µs"), (1.0, "ns")],
            Unit::Bytes => &[
                (KI * KI * KI, "GiB"),
                (KI * KI, "MiB"),
                (KI, "KiB"),
                (1.0, "B"),
            ],
            Unit::BytesPerS => &[
                (KI * KI * KI, "GiB/s"),
                (KI * KI, "MiB/s"),
                (KI, "KiB/s"),
                (1.0, "B/s"),
            ],
            Unit::OpsPerS => &[(1e6, "M ops/s"), (1e3, "k ops/s"), (1.0, "ops/s")],
            Unit::Pct => &[(1.0, "%")],
            Unit::Plain => &[(1.0, "")],
        }
    }

    /// The scale whose numbers read best for magnitudes up to `max`.
    pub fn scale(self, max: f64) -> (f64, &'static str) {
        let scales = self.scales();
        let max = max.abs();
        scales
            .iter()
            .copied()
            .find(|(d, _)| max >= *d)
            .unwrap_or(scales[scales.len() - 1])
    }

    /// A round tick value on a log axis, compact (`2 µs`, `1 ms`): the ticks
    /// are round numbers, so trailing zeros would only be noise.
    fn tick(self, v: f64) -> String {
        let (d, suffix) = self.scale(v);
        let n = number(v / d);
        match suffix {
            "" => n,
            "%" => format!("{n}%"),
            s => format!("{n} {s}"),
        }
    }

    /// One value with its unit, as every report and reason writes it
    /// ([`units::human`]): `1.50 ms`, `64 MiB`, `25%`; a plain number bare.
    pub fn human(self, v: f64) -> String {
        let unit = match self {
            Unit::Ns => units::Unit::Ns,
            Unit::Bytes => units::Unit::Bytes,
            Unit::BytesPerS => units::Unit::BytesPerS,
            Unit::OpsPerS => units::Unit::OpsPerS,
            Unit::Pct => units::Unit::Pct,
            Unit::Plain => return number(v),
        };
        units::human(v, &unit)
    }
}

/// A number with at most three significant digits and no trailing zeros.
pub fn number(x: f64) -> String {
    let a = x.abs();
    let decimals = if a >= 100.0 || a == 0.0 {
        0
    } else if a >= 10.0 {
        1
    } else if a >= 1.0 {
        2
    } else {
        // Three significant digits below 1.
        (2 - a.log10().floor() as i32).clamp(0, 9) as usize
    };
    trim(format!("{x:.decimals$}"))
}

fn trim(s: String) -> String {
    if s.contains('.') {
        let t = s.trim_end_matches('0').trim_end_matches('.');
        if t == "-0" {
            "0".into()
        } else {
            t.to_string()
        }
    } else {
        s
    }
}

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
            ..Axis::linear(label, Unit::Plain)
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

/// A whole chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// File stem under `charts/`.
    pub id: String,
    pub title: String,
    pub probe: String,
    pub x: Axis,
    pub y: Axis,
    pub layers: Vec<Layer>,
    pub legend: Vec<Entry>,
}

impl Figure {
    pub fn new(
        id: impl Into<String>,
        title: impl Into<String>,
        probe: &str,
        x: Axis,
        y: Axis,
    ) -> Figure {
        Figure {
            id: id.into(),
            title: title.into(),
            probe: probe.into(),
            x,
            y,
            layers: Vec::new(),
            legend: Vec::new(),
        }
    }

    pub fn layer(&mut self, l: Layer) {
        self.layers.push(l);
    }

    pub fn line(&mut self, points: Vec<(f64, f64)>, style: Style) {
        self.layers.push(Layer::Line { points, style });
    }

    pub fn entry(&mut self, label: impl Into<String>, swatch: Swatch) {
        self.legend.push(Entry {
            label: label.into(),
            swatch,
        });
    }

    /// Grouped bars on a category x axis: `groups[g][b]` is bar `b` of group `g`
    /// (value, optional whisker), coloured `colors[b]`; `None` leaves its slot empty.
    pub fn bars(&mut self, groups: &BarGroups, colors: &[Rgb]) {
        let w = 0.8 / colors.len().max(1) as f64;
        for (g, group) in groups.iter().enumerate() {
            for (b, v) in group.iter().enumerate() {
                if let Some((value, whisker)) = v {
                    self.layers.push(Layer::Bar {
                        x: g as f64 - 0.4 + w * (b as f64 + 0.5),
                        width: w * 0.9,
                        value: *value,
                        whisker: *whisker,
                        color: colors[b % colors.len().max(1)],
                    });
                }
            }
        }
    }

    /// Whether anything is drawn in the plotting area.
    pub fn has_data(&self) -> bool {
        self.layers.iter().any(|l| match l {
            Layer::Line { points, .. } => !points.is_empty(),
            Layer::Bar { .. } => true,
            _ => false,
        })
    }

    /// Fits both axes to the layers (axes with a set range keep it).
    pub fn fit(&mut self) {
        let mut xs = Vec::new();
        let mut ys = Vec::new();
        for l in &self.layers {
            match l {
                Layer::Line { points, .. } => {
                    xs.extend(points.iter().map(|p| p.0));
                    ys.extend(points.iter().map(|p| p.1));
                }
                Layer::HLine { y, .. } => ys.push(*y),
                Layer::Bar { value, whisker, .. } => {
                    ys.push(*value);
                    ys.extend(*whisker);
                }
                Layer::Band { x, y, .. } => {
                    if let Some((a, b)) = x {
                        xs.extend([*a, *b]);
                    }
                    ys.extend([y.0, y.1]);
                }
                Layer::Label { at, .. } => {
                    xs.push(at.0);
                    ys.push(at.1);
                }
            }
        }
        // Bars on a log axis start at its bottom: leave room below the smallest.
        if self.y.scale == Scale::Log {
            let smallest = self
                .layers
                .iter()
                .filter_map(|l| match l {
                    Layer::Bar { value, .. } if *value > 0.0 => Some(*value),
                    _ => None,
                })
                .reduce(f64::min);
            ys.extend(smallest.map(|v| v / 2.5));
        }
        if let Some(t) = &self.x.ticks {
            xs.extend(t.iter().copied());
        }
        if let Some(t) = &self.y.ticks {
            ys.extend(t.iter().copied());
        }
        self.x.fit(xs);
        self.y.fit(ys);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_humanised_as_reports_write_them() {
        // The same text as a table or a verdict reason (units::human).
        assert_eq!(Unit::Ns.human(20.0), "20 ns");
        assert_eq!(Unit::Ns.human(6_483.0), "6.48 µs");
        assert_eq!(Unit::Ns.human(150_000.0), "150 µs");
        assert_eq!(Unit::Ns.human(1_500_000.0), "1.50 ms");
        assert_eq!(Unit::Ns.human(2e9), "2.00 s");
        assert_eq!(Unit::Bytes.human(64.0 * 1024.0 * 1024.0), "64 MiB");
        assert_eq!(Unit::BytesPerS.human(10.0 * 1024.0 * 1024.0), "10 MiB/s");
        assert_eq!(Unit::OpsPerS.human(2_500.0), "2.50 k/s");
        assert_eq!(Unit::Pct.human(25.0), "25%");
        assert_eq!(Unit::Plain.human(0.5), "0.5");
        assert_eq!(Unit::of_series(&units::Unit::PctX100), (Unit::Pct, 0.01));
    }

    #[test]
    fn a_linear_axis_names_its_unit_and_scales_its_ticks() {
        let mut a = Axis::linear("touched", Unit::Bytes).zero_based();
        a.fit([0.0, 60.0 * 1024.0 * 1024.0]);
        assert_eq!(a.title(), "touched (MiB)");
        let (major, _) = a.tick_positions();
        let labels: Vec<String> = major.iter().map(|p| a.tick_label(*p)).collect();
        assert_eq!(labels, ["0", "10", "20", "30", "40", "50", "60"]);
    }

    #[test]
    fn a_log_axis_has_nice_ends_and_unit_per_tick() {
        let mut a = Axis::log("latency", Unit::Ns);
        a.fit([4_000.0, 900_000.0]);
        assert_eq!(a.data_range(), (2_000.0, 1_000_000.0));
        let (major, minor) = a.tick_positions();
        let labels: Vec<String> = major.iter().map(|p| a.tick_label(*p)).collect();
        assert_eq!(
            labels,
            [
                "2 µs", "5 µs", "10 µs", "20 µs", "50 µs", "100 µs", "200 µs", "500 µs", "1 ms"
            ]
        );
        assert!(!minor.is_empty());
        // Values at or below the bottom sit on it.
        assert_eq!(a.to_plot(0.0), 2_000f64.log10());
    }

    #[test]
    fn a_log_byte_axis_ticks_at_powers_of_two() {
        let mut a = Axis::log("rate", Unit::BytesPerS);
        a.fit([9.0 * 1024.0 * 1024.0, 2.0 * 1024.0 * 1024.0 * 1024.0]);
        assert_eq!(
            a.data_range(),
            (8.0 * 1024.0 * 1024.0, 4.0 * 1024.0 * 1024.0 * 1024.0)
        );
        let (major, _) = a.tick_positions();
        let labels: Vec<String> = major.iter().map(|p| a.tick_label(*p)).collect();
        assert_eq!(
            labels,
            ["8 MiB/s", "32 MiB/s", "128 MiB/s", "512 MiB/s", "2 GiB/s"]
        );
    }

    #[test]
    fn a_category_axis_labels_its_indices() {
        let a = Axis::categories("kind", vec!["none".into(), "net".into()]);
        assert_eq!(a.data_range(), (-0.5, 1.5));
        assert_eq!(a.tick_label(1.0), "net");
        assert_eq!(a.tick_label(5.0), "");
    }
}
