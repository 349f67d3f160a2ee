//! Accessible inline SVG charts (and the same data as an HTML table) for the usage dashboard.
//!
//! Pure functions: a [`Chart`] in, [`Markup`] out, no I/O. Everything taken from the input
//! (titles, series names, labels, units) is XML-escaped, so hostile application names cannot
//! inject markup. The output obeys the portal's CSP: no `style` attributes and no scripts,
//! only SVG presentation attributes (`fill`, `stroke`, …) and classes from `portal.css`.
//!
//! - [`bar_chart`]: stacked bars, one stack per x label (e.g. requests per day, one colour per
//!   application).
//! - [`line_chart`]: one line per series (e.g. error rate %, p99 latency ms).
//! - [`data_table`]: the same numbers as a `<table>` for screen readers and text browsers.
//!   Pages should show it next to the chart (for example in a `<details>`), since the SVG is a
//!   single image to assistive technology.
//!
//! Values that are NaN, infinite or negative are treated as missing: no bar or point is drawn
//! and the table says "no data". A chart without a single usable value (or without series)
//! renders a "No data in this period" placeholder.
//!
//! Several charts can share a page: each call takes an `id` that prefixes the element ids it
//! emits (`{id}-title`, `{id}-desc`), so give each chart on a page its own.

use std::fmt;

use serde::{Deserialize, Serialize};

mod frame;
mod text;

pub use text::format_number;

/// Series colours: the Okabe–Ito palette, which stays distinguishable under the common forms
/// of colour-blindness, without its yellow (too faint on white). Series past the seventh reuse
/// the colours, with lighter fills for bars and dashed lines for line charts.
pub const PALETTE: [&str; 7] = [
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000",
];

/// What a chart shows: one value per x label for each series.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Chart {
    /// Title, used as the SVG's accessible name and the table caption.
    pub title: String,
    /// One label per column (e.g. dates `2026-12-01`). Columns beyond these are numbered.
    pub x_labels: Vec<String>,
    /// The series, drawn in order (bottom of the stack first).
    pub series: Vec<Series>,
    /// Unit of the values, e.g. `requests`, `ms` or `%`.
    pub unit: String,
}

/// One named series of values, aligned with [`Chart::x_labels`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// Name shown in the legend and tooltips (e.g. an application name).
    pub name: String,
    /// One value per x label; a shorter list leaves the remaining columns missing.
    pub points: Vec<f64>,
}

/// HTML produced by this module: escaped by construction, so templates print it as is
/// (askama's [`HtmlSafe`](askama::filters::HtmlSafe)): write `{{ chart }}`, never `|safe`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Markup(String);

/// Renders a stacked bar chart: one stack per x label, one coloured segment per series, each
/// with a tooltip such as `orders-app, 2026-12-01: 1,234 requests`.
pub fn bar_chart(chart: &Chart, id: &str) -> Markup {
    Markup(frame::render(chart, id, frame::Kind::StackedBar))
}

/// Renders a line chart: one line (with a marker and tooltip per value) per series. Missing
/// values break the line.
pub fn line_chart(chart: &Chart, id: &str) -> Markup {
    Markup(frame::render(chart, id, frame::Kind::Line))
}

/// Renders the chart's numbers as a `<table class="chart-table">`: one row per x label, one
/// column per series, plus a "Total" column when `totals` is set (sensible for counts, not for
/// ratios or latencies). Its `id` is `{id}-table`.
pub fn data_table(chart: &Chart, id: &str, totals: bool) -> Markup {
    Markup(frame::table(chart, id, totals))
}

/// "Nice" y-axis ticks from 0 to at least `max`: steps of 1, 2 or 5 × 10ⁿ, about five
/// intervals. A `max` that is not a positive finite number gives `[0, 1]`.
///
/// ```
/// assert_eq!(gatehouse_portal::chart::nice_ticks(87.0), [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
/// ```
pub fn nice_ticks(max: f64) -> Vec<f64> {
    frame::nice_ticks(max)
}

// === impl Markup ===

impl Markup {
    /// The markup as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The markup as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Markup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl askama::filters::HtmlSafe for Markup {}

#[cfg(test)]
mod tests;
