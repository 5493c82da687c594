//! Units: the [`Unit`] of every recorded value (its serde name is the unit id
//! in run.json, summary.csv and the samples headers: `ns`, `bytes`, `pct_x100`,
//! …), and the one formatter for people ([`human`]): a raw number as text a
//! kernel developer would write (`106 µs`, `64 MiB`, `25.01%`). Records keep
//! exact integers; reports, verdict reasons, charts and the terminal use this.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The unit of a recorded value. Renaming one is a schema change.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Nanoseconds.
    Ns,
    Bytes,
    BytesPerS,
    OpsPerS,
    /// Percent (25 is 25 %).
    Pct,
    /// Hundredths of a percent (2501 is 25.01 %): integers with two decimals.
    PctX100,
    /// Hundredths of a ratio (123 is 1.23×).
    X100,
    Count,
    /// A CPU number.
    Cpu,
    /// A position (a thread's index).
    Index,
    /// A unit this build does not know (a result folder from a newer isobench),
    /// kept as written.
    #[serde(untagged)]
    Other(String),
}

impl Unit {
    /// The unit id as records write it.
    pub fn id(&self) -> &str {
        match self {
            Unit::Ns => "ns",
            Unit::Bytes => "bytes",
            Unit::BytesPerS => "bytes_per_s",
            Unit::OpsPerS => "ops_per_s",
            Unit::Pct => "pct",
            Unit::PctX100 => "pct_x100",
            Unit::X100 => "x100",
            Unit::Count => "count",
            Unit::Cpu => "cpu",
            Unit::Index => "index",
            Unit::Other(s) => s,
        }
    }

    /// The unit with this id (an unknown id is kept as [`Unit::Other`]).
    pub fn from_id(id: &str) -> Unit {
        serde_json::from_value(serde_json::Value::String(id.to_string()))
            .unwrap_or_else(|_| Unit::Other(id.to_string()))
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// `value` in `unit` (a record's unit id) as short text: three significant
/// digits, binary prefixes for bytes, the unit switched at 1000 for time. An
/// unknown unit is printed after the number.
pub fn human(value: f64, unit: &Unit) -> String {
    if !value.is_finite() {
        return "—".into();
    }
    match unit {
        Unit::Ns => time_ns(value),
        Unit::Bytes => bytes(value),
        Unit::BytesPerS => format!("{}/s", bytes(value)),
        Unit::OpsPerS => per_second(value),
        Unit::Pct => format!("{}%", trim(&format!("{value:.1}"))),
        Unit::PctX100 => format!("{:.2}%", value / 100.0),
        Unit::X100 => format!("{:.2}×", value / 100.0),
        Unit::Count => count(value),
        Unit::Cpu | Unit::Index => trim(&format!("{value:.1}")),
        Unit::Other(u) => format!("{} {u}", trim(&format!("{value:.1}"))),
    }
}

/// A percentage as recorded in [`Unit::PctX100`] (hundredths, rounded; never below 0).
pub fn pct_x100(p: f64) -> u64 {
    (p.max(0.0) * 100.0).round() as u64
}

/// `part` as a percentage of `whole` (0 for an empty whole).
pub fn pct(part: Duration, whole: Duration) -> f64 {
    if whole.is_zero() {
        0.0
    } else {
        part.as_secs_f64() / whole.as_secs_f64() * 100.0
    }
}

/// [`human`] with its sign always written: `+41.2 µs`, `-3.10 µs` (a difference).
pub fn signed(value: f64, unit: &Unit) -> String {
    let sign = if value < 0.0 { '-' } else { '+' };
    format!("{sign}{}", human(value.abs(), unit))
}

/// [`human`] of an integer value.
pub fn human_u64(value: u64, unit: &Unit) -> String {
    human(value as f64, unit)
}

/// A duration as `850 ns`, `12.3 µs`, `4.56 ms`, `1.23 s`.
pub fn duration(d: Duration) -> String {
    time_ns(d.as_nanos() as f64)
}

/// A time left or elapsed on a clock: `42 s`, `3:05`, `1:02:03`.
pub fn clock(d: Duration) -> String {
    let s = d.as_secs_f64().round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{}:{:02}", s / 60, s % 60),
        _ => format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60),
    }
}

/// Three significant digits, never dropping integer digits; trailing zeros kept
/// (`6.10`), so a column of numbers reads at one precision.
fn sig3(v: f64) -> String {
    let a = v.abs();
    if a >= 100.0 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// `64.0` → `64`, `1.50` → `1.5`: for sizes, where a round value is the common case.
fn trim(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}

fn time_ns(ns: f64) -> String {
    let a = ns.abs();
    // Rounding to three digits can carry into the next unit (999.6 µs → 1000 µs).
    let (v, u) = if a < 999.5 {
        return format!("{ns:.0} ns");
    } else if a < 999_500.0 {
        (ns / 1e3, "µs")
    } else if a < 999_500_000.0 {
        (ns / 1e6, "ms")
    } else {
        (ns / 1e9, "s")
    };
    format!("{} {u}", sig3(v))
}

fn bytes(b: f64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b;
    let mut i = 0;
    // 1023.5 and up would round to "1024" in this unit: carry into the next.
    while v.abs() >= 1023.5 && i + 1 < UNITS.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        return format!("{b:.0} B");
    }
    format!("{} {}", trim(&sig3(v)), UNITS[i])
}

fn per_second(v: f64) -> String {
    let a = v.abs();
    // The bounds sit where rounding would print "1000" in the smaller unit.
    if a < 999.95 {
        format!("{}/s", trim(&format!("{v:.1}")))
    } else if a < 999_500.0 {
        format!("{} k/s", sig3(v / 1e3))
    } else {
        format!("{} M/s", sig3(v / 1e6))
    }
}

fn count(v: f64) -> String {
    if v.fract() != 0.0 {
        return format!("{v:.1}");
    }
    let a = v.abs();
    if a < 1e6 {
        format!("{v:.0}")
    } else if a < 999_500_000.0 {
        format!("{} M", sig3(v / 1e6))
    } else {
        format!("{} G", sig3(v / 1e9))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_carries_into_the_next_unit() {
        assert_eq!(human(1_048_575.0, &Unit::from_id("bytes")), "1 MiB");
        assert_eq!(human(1023.7, &Unit::from_id("bytes")), "1 KiB");
        assert_eq!(human(999_999.0, &Unit::from_id("ops_per_s")), "1.00 M/s");
        assert_eq!(human(999.97, &Unit::from_id("ops_per_s")), "1.00 k/s");
        assert_eq!(human(999_999_999.0, &Unit::from_id("count")), "1.00 G");
    }

    #[test]
    fn times_switch_unit_at_a_thousand() {
        assert_eq!(human(20.0, &Unit::from_id("ns")), "20 ns");
        assert_eq!(human(6099.0, &Unit::from_id("ns")), "6.10 µs");
        assert_eq!(human(105_791.0, &Unit::from_id("ns")), "106 µs");
        assert_eq!(human(999_600.0, &Unit::from_id("ns")), "1.00 ms");
        assert_eq!(human(10_028_208.0, &Unit::from_id("ns")), "10.0 ms");
        assert_eq!(human(1_900_002_331.0, &Unit::from_id("ns")), "1.90 s");
        assert_eq!(duration(Duration::from_micros(45)), "45.0 µs");
    }

    #[test]
    fn sizes_use_binary_prefixes() {
        assert_eq!(human(512.0, &Unit::from_id("bytes")), "512 B");
        assert_eq!(human(67_108_864.0, &Unit::from_id("bytes")), "64 MiB");
        assert_eq!(human(1_310_720.0, &Unit::from_id("bytes")), "1.25 MiB");
        assert_eq!(human(34_004_992.0, &Unit::from_id("bytes")), "32.4 MiB");
        assert_eq!(human(25_276_059_648.0, &Unit::from_id("bytes")), "23.5 GiB");
        assert_eq!(
            human(10_485_760.0, &Unit::from_id("bytes_per_s")),
            "10 MiB/s"
        );
    }

    #[test]
    fn percentages_rates_and_counts() {
        assert_eq!(human(2501.0, &Unit::from_id("pct_x100")), "25.01%");
        assert_eq!(human(100.0, &Unit::from_id("pct")), "100%");
        assert_eq!(human(123.0, &Unit::from_id("x100")), "1.23×");
        assert_eq!(human(17_251.0, &Unit::from_id("ops_per_s")), "17.3 k/s");
        assert_eq!(human(200.0, &Unit::from_id("ops_per_s")), "200/s");
        assert_eq!(human(15.0, &Unit::from_id("count")), "15");
        assert_eq!(human(168_778_496.0, &Unit::from_id("count")), "169 M");
        assert_eq!(human(3.0, &Unit::from_id("widgets")), "3 widgets");
    }

    #[test]
    fn unit_ids_round_trip() {
        for id in [
            "ns",
            "bytes",
            "bytes_per_s",
            "ops_per_s",
            "pct",
            "pct_x100",
            "x100",
            "count",
            "cpu",
            "index",
            "widgets",
        ] {
            let u = Unit::from_id(id);
            assert_eq!(u.id(), id);
            assert_eq!(serde_json::to_value(&u).unwrap(), id);
            assert_eq!(serde_json::from_value::<Unit>(id.into()).unwrap(), u);
        }
        assert_eq!(Unit::from_id("pct_x100"), Unit::PctX100);
        assert_eq!(Unit::from_id("widgets"), Unit::Other("widgets".into()));
    }

    #[test]
    fn clock_times() {
        assert_eq!(clock(Duration::from_secs(42)), "42 s");
        assert_eq!(clock(Duration::from_secs(185)), "3:05");
        assert_eq!(clock(Duration::from_secs(3723)), "1:02:03");
    }
}
