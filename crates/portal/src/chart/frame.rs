//! Chart geometry and SVG/table rendering shared by the bar and line charts.

use std::fmt::Write as _;

use super::text::{escape, sanitize_id, tick_label, truncate, with_unit};
use super::{Chart, PALETTE};

/// Writes to a `String`, which cannot fail.
macro_rules! w {
    ($out:expr, $($arg:tt)*) => {{
        let _ = write!($out, $($arg)*);
    }};
}

/// Which chart to draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Line,
    StackedBar,
}

const WIDTH: f64 = 720.0;
const PLOT_LEFT: f64 = 64.0;
const PLOT_RIGHT: f64 = WIDTH - 16.0;
const PLOT_TOP: f64 = 32.0;
const PLOT_BOTTOM: f64 = 252.0;
const PLOT_WIDTH: f64 = PLOT_RIGHT - PLOT_LEFT;
const PLOT_HEIGHT: f64 = PLOT_BOTTOM - PLOT_TOP;
/// Baseline of the x labels.
const X_LABEL_Y: f64 = PLOT_BOTTOM + 18.0;
/// Top of the legend.
const LEGEND_TOP: f64 = PLOT_BOTTOM + 40.0;
const LEGEND_COLUMNS: usize = 4;
const LEGEND_ROW: f64 = 22.0;
const LEGEND_NAME_CHARS: usize = 22;
const X_LABEL_CHARS: usize = 12;
/// Rough width of one character of 12px label text.
const CHAR_WIDTH: f64 = 7.0;
/// Height of the "no data" placeholder.
const EMPTY_HEIGHT: f64 = 160.0;
/// About this many intervals on the y axis.
const TARGET_INTERVALS: f64 = 5.0;

/// Bar fill opacity and line dash pattern of each pass through the palette.
const BAR_OPACITY: [&str; 3] = ["1", "0.6", "0.35"];
const LINE_DASH: [Option<&str>; 3] = [None, Some("6 4"), Some("2 3")];

/// The cleaned-up input: names and labels resolved, unusable values removed.
struct Data {
    title: String,
    unit: String,
    labels: Vec<String>,
    series: Vec<(String, Vec<Option<f64>>)>,
}

/// Where values land on the plot.
struct Scale {
    columns: usize,
    ticks: Vec<f64>,
    top: f64,
}

pub(super) fn render(chart: &Chart, id: &str, kind: Kind) -> String {
    let id = sanitize_id(id);
    let data = Data::new(chart);
    let max = match kind {
        Kind::StackedBar => data
            .column_totals()
            .into_iter()
            .flatten()
            .fold(0.0, f64::max),
        Kind::Line => data.values().fold(0.0, f64::max),
    };
    if data.values().next().is_none() {
        return empty(&data, &id);
    }
    let scale = Scale::new(data.labels.len(), max);
    let legend_rows = data.series.len().div_ceil(LEGEND_COLUMNS);
    let height = LEGEND_TOP + legend_rows as f64 * LEGEND_ROW;
    let mut out = String::new();
    open(&mut out, &id, &data.title, &describe(&data, kind), height);
    axes(&mut out, &data, &scale);
    match kind {
        Kind::StackedBar => bars(&mut out, &data, &scale),
        Kind::Line => lines(&mut out, &data, &scale),
    }
    legend(&mut out, &data, kind);
    out.push_str("</svg>");
    out
}

pub(super) fn table(chart: &Chart, id: &str, totals: bool) -> String {
    let id = sanitize_id(id);
    let data = Data::new(chart);
    let mut out = String::new();
    w!(
        out,
        r#"<table class="chart-table" id="{id}-table"><caption>{}"#,
        escape(&data.title)
    );
    if !data.unit.is_empty() {
        w!(out, " ({})", escape(&data.unit));
    }
    out.push_str("</caption>");
    if data.values().next().is_none() {
        out.push_str(r#"<tbody><tr><td class="chart-missing">No data in this period</td></tr></tbody></table>"#);
        return out;
    }
    out.push_str(r#"<thead><tr><th scope="col">Period</th>"#);
    for (name, _) in &data.series {
        w!(out, r#"<th scope="col">{}</th>"#, escape(name));
    }
    if totals {
        out.push_str(r#"<th scope="col">Total</th>"#);
    }
    out.push_str("</tr></thead><tbody>");
    let column_totals = data.column_totals();
    for (column, label) in data.labels.iter().enumerate() {
        w!(out, r#"<tr><th scope="row">{}</th>"#, escape(label));
        for (_, values) in &data.series {
            cell(&mut out, values.get(column).copied().flatten());
        }
        if totals {
            cell(&mut out, column_totals.get(column).copied().flatten());
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    out
}

pub(super) fn nice_ticks(max: f64) -> Vec<f64> {
    if !(max.is_finite() && max > 0.0) {
        return vec![0.0, 1.0];
    }
    let raw = max / TARGET_INTERVALS;
    let magnitude = 10f64.powf(raw.log10().floor());
    let residual = raw / magnitude;
    let nice = [1.0, 2.0, 5.0]
        .into_iter()
        .find(|nice| residual <= nice * (1.0 + 1e-9))
        .unwrap_or(10.0);
    let step = nice * magnitude;
    let intervals = (max / step - 1e-9).ceil().clamp(1.0, 10.0);
    if !(step.is_finite() && step > 0.0 && (intervals * step).is_finite()) {
        return vec![0.0, max];
    }
    (0..=intervals as usize).map(|i| i as f64 * step).collect()
}

fn cell(out: &mut String, value: Option<f64>) {
    match value {
        Some(value) => w!(out, "<td>{}</td>", super::format_number(value)),
        None => out.push_str(r#"<td class="chart-missing">no data</td>"#),
    }
}

fn open(out: &mut String, id: &str, title: &str, desc: &str, height: f64) {
    w!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{id}" role="img" aria-labelledby="{id}-title {id}-desc" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" font-size="12" preserveAspectRatio="xMinYMin meet"><title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
        escape(title),
        escape(desc),
    );
}

fn empty(data: &Data, id: &str) -> String {
    let mut out = String::new();
    open(
        &mut out,
        id,
        &data.title,
        "No data in this period.",
        EMPTY_HEIGHT,
    );
    w!(
        out,
        r##"<rect class="chart-empty" x="0.5" y="0.5" width="{}" height="{}" rx="6" fill="none" stroke="#d0d7de"/><text class="chart-empty-text" x="{}" y="{}" text-anchor="middle" fill="#57606a" font-size="16">No data in this period</text></svg>"##,
        WIDTH - 1.0,
        EMPTY_HEIGHT - 1.0,
        WIDTH / 2.0,
        EMPTY_HEIGHT / 2.0 + 5.0,
    );
    out
}

fn describe(data: &Data, kind: Kind) -> String {
    let first = data.labels.first().map_or("", String::as_str);
    let last = data.labels.last().map_or("", String::as_str);
    let names: Vec<&str> = data.series.iter().map(|(name, _)| name.as_str()).collect();
    let mut desc = format!(
        "{} of {} series over {} periods, {first} to {last}. Series: {}.",
        match kind {
            Kind::Line => "Line chart",
            Kind::StackedBar => "Stacked bar chart",
        },
        data.series.len(),
        data.labels.len(),
        names.join(", "),
    );
    if kind == Kind::StackedBar {
        let peak = data
            .column_totals()
            .into_iter()
            .enumerate()
            .filter_map(|(column, total)| Some((column, total?)))
            .fold(
                None,
                |best: Option<(usize, f64)>, (column, total)| match best {
                    Some((_, best_total)) if best_total >= total => best,
                    _ => Some((column, total)),
                },
            );
        if let Some((column, total)) = peak {
            let label = data.labels.get(column).map_or("", String::as_str);
            w!(
                desc,
                " Highest total: {} on {label}.",
                with_unit(total, &data.unit)
            );
        }
    } else {
        for (name, values) in &data.series {
            let present = values.iter().flatten();
            let Some(latest) = values.iter().rev().flatten().next() else {
                w!(desc, " {name}: no data.");
                continue;
            };
            let highest = present.fold(0.0, |a: f64, b| a.max(*b));
            w!(
                desc,
                " {name}: latest {}, highest {}.",
                with_unit(*latest, &data.unit),
                with_unit(highest, &data.unit),
            );
        }
    }
    desc
}

fn axes(out: &mut String, data: &Data, scale: &Scale) {
    out.push_str(r#"<g class="chart-axes">"#);
    let step = scale.ticks.get(1).copied().unwrap_or(1.0);
    for &tick in &scale.ticks {
        let y = scale.y(tick);
        w!(
            out,
            r##"<line class="chart-grid" x1="{PLOT_LEFT}" x2="{PLOT_RIGHT}" y1="{y:.1}" y2="{y:.1}" stroke="#e3e7ec"/><text class="chart-tick" x="{}" y="{y:.1}" dy="0.32em" text-anchor="end" fill="#57606a">{}</text>"##,
            PLOT_LEFT - 8.0,
            tick_label(tick, step, scale.top),
        );
    }
    w!(
        out,
        r##"<line class="chart-axis" x1="{PLOT_LEFT}" x2="{PLOT_RIGHT}" y1="{PLOT_BOTTOM}" y2="{PLOT_BOTTOM}" stroke="#8c959f"/>"##
    );
    if !data.unit.is_empty() {
        w!(
            out,
            r##"<text class="chart-unit" x="8" y="{}" fill="#1b1f24">{}</text>"##,
            PLOT_TOP - 16.0,
            escape(&truncate(&data.unit, 24)),
        );
    }
    let widest = data
        .labels
        .iter()
        .map(|label| label.chars().count().min(X_LABEL_CHARS))
        .max()
        .unwrap_or(1);
    let fit = (PLOT_WIDTH / (widest as f64 * CHAR_WIDTH + 10.0))
        .floor()
        .max(1.0) as usize;
    let every = scale.columns.div_ceil(fit).max(1);
    for (column, label) in data.labels.iter().enumerate().step_by(every) {
        w!(
            out,
            r##"<text class="chart-x-label" x="{:.1}" y="{X_LABEL_Y}" text-anchor="middle" fill="#57606a">{}</text>"##,
            scale.x(column),
            escape(&truncate(label, X_LABEL_CHARS)),
        );
    }
    out.push_str("</g>");
}

fn bars(out: &mut String, data: &Data, scale: &Scale) {
    let width = (scale.slot() * 0.72).min(40.0);
    out.push_str(r#"<g class="chart-bars">"#);
    for (column, label) in data.labels.iter().enumerate() {
        let x = scale.x(column) - width / 2.0;
        let mut stacked = 0.0;
        for (index, (name, values)) in data.series.iter().enumerate() {
            let Some(value) = values.get(column).copied().flatten() else {
                continue;
            };
            if value <= 0.0 {
                continue;
            }
            let y_top = scale.y(stacked + value);
            let height = scale.y(stacked) - y_top;
            stacked += value;
            w!(
                out,
                r##"<rect class="chart-bar" x="{x:.1}" y="{y_top:.2}" width="{width:.1}" height="{height:.2}" fill="{}" fill-opacity="{}" stroke="#ffffff" stroke-width="0.5"><title>{}</title></rect>"##,
                colour(index),
                cycle(&BAR_OPACITY, index).unwrap_or("1"),
                tooltip(name, label, value, &data.unit),
            );
        }
    }
    out.push_str("</g>");
}

fn lines(out: &mut String, data: &Data, scale: &Scale) {
    out.push_str(r#"<g class="chart-lines">"#);
    for (index, (name, values)) in data.series.iter().enumerate() {
        let colour = colour(index);
        let mut path = String::new();
        let mut pen_down = false;
        for (column, value) in values.iter().enumerate() {
            match value {
                Some(value) => {
                    let command = if pen_down { 'L' } else { 'M' };
                    w!(
                        path,
                        "{command}{:.1} {:.2} ",
                        scale.x(column),
                        scale.y(*value)
                    );
                    pen_down = true;
                }
                None => pen_down = false,
            }
        }
        let dash = cycle(&LINE_DASH, index).flatten();
        w!(
            out,
            r#"<g class="chart-series"><path class="chart-line" d="{}" fill="none" stroke="{colour}" stroke-width="2" stroke-linejoin="round" stroke-linecap="round""#,
            path.trim_end(),
        );
        if let Some(dash) = dash {
            w!(out, r#" stroke-dasharray="{dash}""#);
        }
        out.push_str("/>");
        for (column, value) in values.iter().enumerate() {
            let (Some(value), Some(label)) = (value, data.labels.get(column)) else {
                continue;
            };
            w!(
                out,
                r##"<circle class="chart-point" cx="{:.1}" cy="{:.2}" r="3.5" fill="{colour}" stroke="#ffffff" stroke-width="1"><title>{}</title></circle>"##,
                scale.x(column),
                scale.y(*value),
                tooltip(name, label, *value, &data.unit),
            );
        }
        out.push_str("</g>");
    }
    out.push_str("</g>");
}

fn legend(out: &mut String, data: &Data, kind: Kind) {
    let column_width = (WIDTH - 16.0) / LEGEND_COLUMNS as f64;
    out.push_str(r#"<g class="chart-legend">"#);
    for (index, (name, _)) in data.series.iter().enumerate() {
        let x = 8.0 + (index % LEGEND_COLUMNS) as f64 * column_width;
        let y = LEGEND_TOP + (index / LEGEND_COLUMNS) as f64 * LEGEND_ROW;
        let colour = colour(index);
        out.push_str("<g>");
        if name.chars().count() > LEGEND_NAME_CHARS {
            w!(out, "<title>{}</title>", escape(name));
        }
        match kind {
            Kind::StackedBar => w!(
                out,
                r#"<rect x="{x:.1}" y="{:.1}" width="12" height="12" fill="{colour}" fill-opacity="{}"/>"#,
                y - 10.0,
                cycle(&BAR_OPACITY, index).unwrap_or("1"),
            ),
            Kind::Line => {
                w!(
                    out,
                    r#"<line x1="{x:.1}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="{colour}" stroke-width="2""#,
                    x + 16.0,
                    y - 4.0,
                    y - 4.0,
                );
                if let Some(dash) = cycle(&LINE_DASH, index).flatten() {
                    w!(out, r#" stroke-dasharray="{dash}""#);
                }
                out.push_str("/>");
            }
        }
        w!(
            out,
            r##"<text x="{:.1}" y="{y:.1}" fill="#1b1f24">{}</text></g>"##,
            x + 22.0,
            escape(&truncate(name, LEGEND_NAME_CHARS)),
        );
    }
    out.push_str("</g>");
}

fn tooltip(name: &str, label: &str, value: f64, unit: &str) -> String {
    escape(&format!("{name}, {label}: {}", with_unit(value, unit)))
}

fn colour(index: usize) -> &'static str {
    PALETTE
        .get(index % PALETTE.len())
        .copied()
        .unwrap_or("#000000")
}

/// The style of the `index`th series' pass through the palette.
fn cycle<T: Copy>(styles: &[T], index: usize) -> Option<T> {
    styles
        .get((index / PALETTE.len()) % styles.len().max(1))
        .copied()
}

/// A value that can be drawn: finite and not negative (`-0` becomes `0`).
fn usable(value: f64) -> Option<f64> {
    (value.is_finite() && value >= 0.0).then_some(value + 0.0)
}

// === impl Data ===

impl Data {
    fn new(chart: &Chart) -> Self {
        let longest = chart
            .series
            .iter()
            .map(|s| s.points.len())
            .max()
            .unwrap_or(0);
        let columns = if chart.series.is_empty() {
            chart.x_labels.len()
        } else {
            chart.x_labels.len().max(longest)
        };
        let labels = (0..columns)
            .map(|column| {
                chart
                    .x_labels
                    .get(column)
                    .cloned()
                    .unwrap_or_else(|| (column + 1).to_string())
            })
            .collect();
        let series = chart
            .series
            .iter()
            .enumerate()
            .map(|(index, series)| {
                let name = if series.name.trim().is_empty() {
                    format!("Series {}", index + 1)
                } else {
                    series.name.clone()
                };
                let values = (0..columns)
                    .map(|column| series.points.get(column).copied().and_then(usable))
                    .collect();
                (name, values)
            })
            .collect();
        Self {
            title: chart.title.clone(),
            unit: chart.unit.clone(),
            labels,
            series,
        }
    }

    /// Every usable value.
    fn values(&self) -> impl Iterator<Item = f64> + '_ {
        self.series
            .iter()
            .flat_map(|(_, values)| values.iter().flatten().copied())
    }

    /// The sum of each column's usable values, `None` where a column has none.
    fn column_totals(&self) -> Vec<Option<f64>> {
        (0..self.labels.len())
            .map(|column| {
                self.series
                    .iter()
                    .filter_map(|(_, values)| values.get(column).copied().flatten())
                    .fold(None, |total: Option<f64>, value| {
                        Some(total.unwrap_or(0.0) + value)
                    })
            })
            .collect()
    }
}

// === impl Scale ===

impl Scale {
    fn new(columns: usize, max: f64) -> Self {
        let ticks = nice_ticks(max);
        let top = ticks
            .last()
            .copied()
            .filter(|top| *top > 0.0)
            .unwrap_or(1.0);
        Self {
            columns: columns.max(1),
            ticks,
            top,
        }
    }

    fn slot(&self) -> f64 {
        PLOT_WIDTH / self.columns as f64
    }

    /// Centre of a column.
    fn x(&self, column: usize) -> f64 {
        PLOT_LEFT + (column as f64 + 0.5) * self.slot()
    }

    fn y(&self, value: f64) -> f64 {
        let ratio = (value / self.top).clamp(0.0, 1.0);
        PLOT_BOTTOM - ratio * PLOT_HEIGHT
    }
}
