//! A chart as plain data — axes, layers, legend — built by the probe modules and
//! drawn by [`super::draw`]. Keeping plotters out of it lets one renderer serve
//! SVG and PNG, and lets tests look at what a chart holds without pixels.

pub use super::axis::{Axis, Scale};
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

/// The unit of an axis is the values' [`Unit`]: it picks the humanised scale of
/// its labels (counts, CPUs, indices and ratios are plain numbers).
pub use crate::units::Unit;

impl Unit {
    /// The unit of a series unit string, and the factor that turns its raw
    /// values into this unit (`pct_x100` → percent, ×0.01).
    pub fn of_series(unit: &Unit) -> (Unit, f64) {
        match unit {
            Unit::PctX100 => (Unit::Pct, 0.01),
            Unit::Ns | Unit::Bytes | Unit::BytesPerS | Unit::OpsPerS | Unit::Pct => {
                (unit.clone(), 1.0)
            }
            _ => (Unit::Count, 1.0),
        }
    }

    /// Bytes and byte rates, whose scales are powers of 1024.
    pub fn is_binary(&self) -> bool {
        matches!(self, Unit::Bytes | Unit::BytesPerS)
    }

    /// The scales of this unit, largest first: (divisor, suffix).
    fn scales(&self) -> &'static [(f64, &'static str)] {
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
            _ => &[(1.0, "")],
        }
    }

    /// The scale whose numbers read best for magnitudes up to `max`.
    pub fn scale(&self, max: f64) -> (f64, &'static str) {
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
    pub fn tick(&self, v: f64) -> String {
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
    pub fn human(&self, v: f64) -> String {
        match self {
            Unit::Ns | Unit::Bytes | Unit::BytesPerS | Unit::OpsPerS | Unit::Pct => {
                units::human(v, self)
            }
            _ => number(v),
        }
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

pub fn trim(s: String) -> String {
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
        assert_eq!(Unit::Count.human(0.5), "0.5");
        assert_eq!(Unit::of_series(&Unit::PctX100), (Unit::Pct, 0.01));
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
