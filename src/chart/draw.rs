//! Draws a [`Figure`] with plotters: the same code for the SVG backend and for
//! an RGB buffer that is then encoded as PNG. Text is laid out with DejaVu Sans
//! compiled into the binary (plotters' `ab_glyph` font backend), so the output
//! does not depend on the fonts installed, and the same figure gives the same
//! bytes everywhere. The font's licence is in `assets/fonts/LICENSE-DejaVu.txt`.

use std::sync::OnceLock;

use anyhow::anyhow;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::figure::{Dash, Entry, Figure, Layer, Marker, Rgb, Style, Swatch, INK};

/// Width of every chart in pixels (PNG) and user units (SVG).
pub const WIDTH: u32 = 960;
/// Height of every chart.
pub const HEIGHT: u32 = 540;

/// The font family every text is drawn in; registered with the embedded font.
const FONT: &str = "sans-serif";
const TITLE_SIZE: u32 = 19;
const LABEL_SIZE: u32 = 13;
const DESC_SIZE: u32 = 15;

/// Registers the embedded font once per process.
fn fonts() -> anyhow::Result<()> {
    static OK: OnceLock<bool> = OnceLock::new();
    let ok = *OK.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular()).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(anyhow!("the embedded DejaVu Sans font could not be parsed"))
    }
}

/// The figure as an SVG document.
pub fn svg(fig: &Figure) -> anyhow::Result<String> {
    fonts()?;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, HEIGHT)).into_drawing_area();
        draw(&root, fig).map_err(|e| anyhow!("draw chart {} as svg: {e}", fig.id))?;
        root.present()
            .map_err(|e| anyhow!("draw chart {} as svg: {e}", fig.id))?;
    }
    Ok(out)
}

/// The figure as a PNG image (8-bit RGB, [`WIDTH`] × [`HEIGHT`]).
pub fn png(fig: &Figure) -> anyhow::Result<Vec<u8>> {
    fonts()?;
    let mut rgb = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)).into_drawing_area();
        draw(&root, fig).map_err(|e| anyhow!("draw chart {} as png: {e}", fig.id))?;
        root.present()
            .map_err(|e| anyhow!("draw chart {} as png: {e}", fig.id))?;
    }
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, WIDTH, HEIGHT);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut w = enc.write_header()?;
    w.write_image_data(&rgb)?;
    w.finish()?;
    Ok(out)
}

fn color(c: Rgb) -> RGBColor {
    RGBColor(c.0, c.1, c.2)
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, fig: &Figure) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    // A title too long for the width is set smaller rather than cut.
    let mut size = TITLE_SIZE;
    while size > 11 {
        let style: TextStyle = (FONT, size).into_font().into();
        if root.estimate_text_size(&fig.title, &style)?.0 + 24 <= WIDTH {
            break;
        }
        size -= 1;
    }
    let title = (FONT, size).into_font().color(&color(INK));
    let area = root.titled(&fig.title, title)?;
    let legend_w = legend_width(root, &fig.legend)?;
    let (plot, legend) = area.split_horizontally(WIDTH as i32 - legend_w);

    let (x0, x1) = fig.x.plot_range();
    let (y0, y1) = fig.y.plot_range();
    let (xmaj, xmin) = fig.x.tick_positions();
    let (ymaj, ymin) = fig.y.tick_positions();
    let mut chart = ChartBuilder::on(&plot)
        .margin(12)
        .margin_right(16)
        .x_label_area_size(50)
        .y_label_area_size(78)
        .build_cartesian_2d(
            Ticked {
                lo: x0,
                hi: x1,
                major: xmaj,
                minor: xmin,
            },
            Ticked {
                lo: y0,
                hi: y1,
                major: ymaj,
                minor: ymin,
            },
        )?;
    let xf = |v: &f64| fig.x.tick_label(*v);
    let yf = |v: &f64| fig.y.tick_label(*v);
    let ink = color(INK);
    chart
        .configure_mesh()
        .x_desc(fig.x.title())
        .y_desc(fig.y.title())
        .x_label_formatter(&xf)
        .y_label_formatter(&yf)
        .label_style((FONT, LABEL_SIZE).into_font().color(&ink))
        .axis_desc_style((FONT, DESC_SIZE).into_font().color(&ink))
        .axis_style(ink.mix(0.8))
        .bold_line_style(ink.mix(0.14))
        .light_line_style(ink.mix(0.05))
        .draw()?;

    let (xlo, xhi) = (x0, x1);
    let ybase = y0;
    let px = |x: f64| fig.x.to_plot(x);
    let py = |y: f64| fig.y.to_plot(y);
    // Bands under everything else.
    for l in &fig.layers {
        if let Layer::Band { x, y, color: c } = l {
            let (a, b) = x.map_or((xlo, xhi), |(a, b)| (px(a), px(b)));
            chart.draw_series(std::iter::once(Rectangle::new(
                [(a, py(y.0)), (b, py(y.1))],
                color(*c).mix(0.13).filled(),
            )))?;
        }
    }
    for l in &fig.layers {
        match l {
            Layer::Band { .. } => {}
            Layer::Line { points, style } => {
                let pts: Vec<(f64, f64)> = points.iter().map(|&(x, y)| (px(x), py(y))).collect();
                line(&mut chart, pts, style)?;
            }
            Layer::HLine { y, style } => {
                line(&mut chart, vec![(xlo, py(*y)), (xhi, py(*y))], style)?;
            }
            Layer::Bar {
                x,
                width,
                value,
                whisker,
                color: c,
            } => {
                let (a, b) = (px(x - width / 2.0), px(x + width / 2.0));
                chart.draw_series(std::iter::once(Rectangle::new(
                    [(a, ybase), (b, py(*value))],
                    color(*c).filled(),
                )))?;
                if let Some(w) = whisker {
                    let s = ink.stroke_width(1);
                    let q = (b - a) / 4.0;
                    chart.draw_series([
                        PathElement::new(vec![(px(*x), py(*value)), (px(*x), py(*w))], s),
                        PathElement::new(vec![(px(*x) - q, py(*w)), (px(*x) + q, py(*w))], s),
                    ])?;
                }
            }
            Layer::Label { at, text, centred } => {
                let font = (FONT, LABEL_SIZE).into_font().color(&ink);
                let w = root.estimate_text_size(text, &font)?.0 as i32;
                // Beside the point: left of it in the right third, so the text
                // stays inside the plot.
                let dx = if *centred {
                    -w / 2
                } else if px(at.0) > xlo + (xhi - xlo) * 0.67 {
                    -w - 6
                } else {
                    6
                };
                chart.draw_series(std::iter::once(
                    EmptyElement::at((px(at.0), py(at.1)))
                        + Text::new(text.clone(), (dx, -18), font),
                ))?;
            }
        }
    }
    draw_legend(&legend, &fig.legend)?;
    Ok(())
}

/// A linear coordinate on the drawing scale whose grid lines are the axis's
/// own ticks (labelled) and minor ticks (light lines); labels are formatted by
/// the figure, so the default formatting is never shown.
#[derive(Clone)]
struct Ticked {
    lo: f64,
    hi: f64,
    major: Vec<f64>,
    minor: Vec<f64>,
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, v: &f64, limit: (i32, i32)) -> i32 {
        let r = (v - self.lo) / (self.hi - self.lo);
        if self.hi == self.lo || !r.is_finite() {
            return (limit.0 + limit.1) / 2;
        }
        // Far off-scale values are clamped: plotters clips them, and the sum
        // must not overflow.
        let px = (r * f64::from(limit.1 - limit.0)).round().clamp(-1e6, 1e6) as i32;
        limit.0.saturating_add(px)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            self.minor.clone()
        } else {
            self.major.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}

type Chart2d<'a, DB> = ChartContext<'a, DB, Cartesian2d<Ticked, Ticked>>;

/// A polyline in drawing coordinates, stroked and marked per `style`.
fn line<DB: DrawingBackend>(
    chart: &mut Chart2d<'_, DB>,
    pts: Vec<(f64, f64)>,
    style: &Style,
) -> DrawResult<DB> {
    let s = color(style.color).stroke_width(style.width);
    match style.dash {
        Dash::Solid => {
            chart.draw_series(std::iter::once(PathElement::new(pts.clone(), s)))?;
        }
        Dash::Dashed => {
            chart.draw_series(DashedLineSeries::new(pts.clone(), 8, 5, s))?;
        }
        Dash::Dotted => {
            chart.draw_series(DashedLineSeries::new(pts.clone(), 2, 4, s))?;
        }
        Dash::None => {}
    }
    if let Some(m) = style.marker {
        let c = color(style.color);
        match m {
            Marker::Dot => {
                chart.draw_series(pts.iter().map(|p| Circle::new(*p, 4, c.filled())))?;
            }
            Marker::Ring => {
                chart.draw_series(pts.iter().map(|p| Circle::new(*p, 6, c.stroke_width(2))))?;
            }
            Marker::Triangle => {
                chart.draw_series(pts.iter().map(|p| TriangleMarker::new(*p, 6, c.filled())))?;
            }
            Marker::Cross => {
                chart.draw_series(pts.iter().map(|p| Cross::new(*p, 7, c.stroke_width(3))))?;
            }
        }
    }
    Ok(())
}

/// The legend column's width: the longest label plus the swatch, or a margin
/// when there is no legend.
fn legend_width<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    entries: &[Entry],
) -> Result<i32, DrawingAreaErrorKind<DB::ErrorType>> {
    if entries.is_empty() {
        return Ok(16);
    }
    let font: TextStyle = (FONT, LABEL_SIZE).into_font().into();
    let mut w = 0;
    for e in entries {
        w = w.max(root.estimate_text_size(&e.label, &font)?.0 as i32);
    }
    Ok((w + 62).clamp(120, 340))
}

const LEGEND_ROW: i32 = 21;

fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[Entry],
) -> DrawResult<DB> {
    let ink = color(INK);
    let font = (FONT, LABEL_SIZE).into_font().color(&ink);
    for (i, e) in entries.iter().enumerate() {
        let y = 24 + i as i32 * LEGEND_ROW;
        let (a, b) = (6, 40);
        match &e.swatch {
            Swatch::Line(style) => {
                let c = color(style.color);
                let s = c.stroke_width(style.width);
                let (len, gap) = match style.dash {
                    Dash::Solid => (b - a, 0),
                    Dash::Dashed => (8, 5),
                    Dash::Dotted => (2, 4),
                    Dash::None => (0, 0),
                };
                if len > 0 {
                    let mut x = a;
                    while x < b {
                        area.draw(&PathElement::new(vec![(x, y), ((x + len).min(b), y)], s))?;
                        x += len + gap;
                    }
                }
                let m = ((a + b) / 2, y);
                match style.marker {
                    Some(Marker::Dot) => area.draw(&Circle::new(m, 4, c.filled()))?,
                    Some(Marker::Ring) => area.draw(&Circle::new(m, 6, c.stroke_width(2)))?,
                    Some(Marker::Triangle) => area.draw(&TriangleMarker::new(m, 6, c.filled()))?,
                    Some(Marker::Cross) => area.draw(&Cross::new(m, 7, c.stroke_width(3)))?,
                    None => {}
                }
            }
            Swatch::Bar(c) => area.draw(&Rectangle::new(
                [(a + 8, y - 7), (b - 8, y + 7)],
                color(*c).filled(),
            ))?,
            Swatch::Band(c) => area.draw(&Rectangle::new(
                [(a, y - 7), (b, y + 7)],
                color(*c).mix(0.13).filled(),
            ))?,
            Swatch::Note => {}
        }
        let x = if matches!(e.swatch, Swatch::Note) {
            a
        } else {
            b + 8
        };
        area.draw(&Text::new(e.label.clone(), (x, y - 7), font.clone()))?;
    }
    Ok(())
}
