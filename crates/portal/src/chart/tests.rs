use super::text::{escape, sanitize_id, tick_label, truncate, with_unit};
use super::*;

fn days(n: usize) -> Vec<String> {
    (1..=n).map(|day| format!("2026-12-{day:02}")).collect()
}

fn series(name: &str, points: &[f64]) -> Series {
    Series {
        name: name.into(),
        points: points.to_vec(),
    }
}

fn requests(series: Vec<Series>, labels: usize) -> Chart {
    Chart {
        title: "Requests per day".into(),
        x_labels: days(labels),
        series,
        unit: "requests".into(),
    }
}

/// Parses the SVG as XML (panics if it is not well-formed) and returns it.
fn well_formed(markup: &Markup) -> roxmltree::Document<'_> {
    roxmltree::Document::parse(markup.as_str())
        .unwrap_or_else(|e| panic!("not well-formed XML: {e}\n{}", markup.as_str()))
}

fn count(doc: &roxmltree::Document<'_>, tag: &str) -> usize {
    doc.descendants().filter(|n| n.has_tag_name(tag)).count()
}

fn big_chart() -> Chart {
    let series = (0..12)
        .map(|app| Series {
            name: format!("app-{app:02}"),
            points: (0..30)
                .map(|day| ((app + 1) * 100 + day * 7) as f64)
                .collect(),
        })
        .collect();
    requests(series, 30)
}

// --- ticks and numbers -------------------------------------------------------------------

#[test]
fn nice_ticks_use_one_two_five_steps() {
    assert_eq!(nice_ticks(87.0), [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
    assert_eq!(nice_ticks(100.0), [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
    assert_eq!(nice_ticks(1234.0), [0.0, 500.0, 1000.0, 1500.0]);
    assert_eq!(nice_ticks(5.0), [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    assert_eq!(nice_ticks(7.0), [0.0, 2.0, 4.0, 6.0, 8.0]);
    let small = nice_ticks(0.3);
    assert_eq!(small.len(), 4);
    assert!((small[3] - 0.3).abs() < 1e-12, "{small:?}");
}

#[test]
fn nice_ticks_cover_max_for_many_magnitudes() {
    let mut max = 1e-12;
    while max < 1e15 {
        for factor in [1.0, 1.01, 1.99, 2.0, 2.5, 3.3, 4.99, 5.0, 7.7, 9.99] {
            let value = max * factor;
            let ticks = nice_ticks(value);
            assert!((2..=11).contains(&ticks.len()), "{value}: {ticks:?}");
            assert_eq!(ticks[0], 0.0);
            let top = *ticks.last().unwrap();
            assert!(top >= value * (1.0 - 1e-9), "{value}: {ticks:?}");
            assert!(top <= value * 2.5 + f64::EPSILON, "{value}: {ticks:?}");
            let step = ticks[1];
            let mantissa = step / 10f64.powf(step.log10().floor());
            assert!(
                [1.0, 2.0, 5.0, 10.0]
                    .iter()
                    .any(|m| (mantissa - m).abs() < 1e-6),
                "{value}: step {step}"
            );
        }
        max *= 10.0;
    }
}

#[test]
fn nice_ticks_survive_degenerate_input() {
    for max in [0.0, -5.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        assert_eq!(nice_ticks(max), [0.0, 1.0], "{max}");
    }
    for max in [f64::MAX, f64::MIN_POSITIVE, 5e-324, 1e300] {
        let ticks = nice_ticks(max);
        assert!(ticks.iter().all(|t| t.is_finite()), "{max}: {ticks:?}");
        assert!(ticks.len() >= 2 && ticks.len() <= 11, "{max}: {ticks:?}");
    }
}

#[test]
fn numbers_are_grouped_and_rounded() {
    assert_eq!(format_number(0.0), "0");
    assert_eq!(format_number(-0.0), "0");
    assert_eq!(format_number(7.0), "7");
    assert_eq!(format_number(1234.0), "1,234");
    assert_eq!(format_number(1_234_567.0), "1,234,567");
    assert_eq!(format_number(-1_234_567.0), "-1,234,567");
    assert_eq!(format_number(1234.56), "1,234.6");
    assert_eq!(format_number(12.345), "12.35");
    assert_eq!(format_number(0.52), "0.52");
    assert_eq!(format_number(0.5234), "0.523");
    assert_eq!(format_number(0.0123), "0.0123");
    assert_eq!(format_number(0.000456), "0.000456");
    assert_eq!(format_number(f64::NAN), "no data");
    assert_eq!(format_number(f64::INFINITY), "no data");
}

#[test]
fn units_follow_the_number() {
    assert_eq!(with_unit(1234.0, "requests"), "1,234 requests");
    assert_eq!(with_unit(0.52, "%"), "0.52%");
    assert_eq!(with_unit(87.0, "ms"), "87 ms");
    assert_eq!(with_unit(3.0, ""), "3");
}

#[test]
fn tick_labels_switch_to_suffixes_on_large_axes() {
    assert_eq!(tick_label(1500.0, 500.0, 1500.0), "1,500");
    assert_eq!(tick_label(20_000.0, 5_000.0, 25_000.0), "20k");
    assert_eq!(tick_label(4_000_000.0, 2_000_000.0, 10_000_000.0), "4M");
    assert_eq!(tick_label(0.2, 0.2, 1.0), "0.2");
    assert_eq!(tick_label(0.04, 0.02, 0.1), "0.04");
    assert_eq!(tick_label(0.0, 0.02, 0.1), "0");
    assert_eq!(tick_label(0.0, 5_000.0, 25_000.0), "0", "not 0k");
}

#[test]
fn escape_handles_markup_quotes_and_controls() {
    assert_eq!(
        escape(r#"<a href="x">'&'</a>"#),
        "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
    );
    assert_eq!(
        escape("a\u{0}b\u{1b}c\u{fffe}"),
        "a\u{fffd}b\u{fffd}c\u{fffd}"
    );
    assert_eq!(escape("tab\there\nnl"), "tab here nl");
    assert_eq!(escape("ünïcødé ✓"), "ünïcødé ✓");
}

#[test]
fn truncate_counts_characters_not_bytes() {
    assert_eq!(truncate("short", 10), "short");
    assert_eq!(truncate("ééééééé", 4), "ééé…");
    assert_eq!(truncate("abc", 0), "…");
}

#[test]
fn ids_are_reduced_to_safe_characters() {
    assert_eq!(sanitize_id("usage-requests_1"), "usage-requests_1");
    assert_eq!(sanitize_id(r#"x" onload="alert(1)"#), "x--onload--alert-1-");
    assert_eq!(sanitize_id(""), "chart");
}

// --- SVG ---------------------------------------------------------------------------------

#[test]
fn bar_chart_is_an_accessible_image() {
    let chart = requests(vec![series("orders-app", &[1234.0, 10.0])], 2);
    let svg = bar_chart(&chart, "usage");
    let doc = well_formed(&svg);
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(root.attribute("role"), Some("img"));
    assert_eq!(
        root.attribute("aria-labelledby"),
        Some("usage-title usage-desc")
    );
    let title = root.first_element_child().unwrap();
    assert_eq!(title.tag_name().name(), "title");
    assert_eq!(title.attribute("id"), Some("usage-title"));
    assert_eq!(title.text(), Some("Requests per day"));
    let desc = title.next_sibling_element().unwrap();
    assert_eq!(desc.tag_name().name(), "desc");
    assert_eq!(desc.attribute("id"), Some("usage-desc"));
    let desc = desc.text().unwrap();
    assert!(
        desc.starts_with("Stacked bar chart of 1 series over 2 periods, 2026-12-01 to 2026-12-02."),
        "{desc}"
    );
    assert!(
        desc.contains("Highest total: 1,234 requests on 2026-12-01."),
        "{desc}"
    );
}

#[test]
fn every_bar_segment_has_a_tooltip() {
    let chart = requests(vec![series("orders-app", &[1234.0, 0.0, 5.0])], 3);
    let svg = bar_chart(&chart, "usage");
    let doc = well_formed(&svg);
    let tooltips: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("rect") && n.attribute("class") == Some("chart-bar"))
        .map(|rect| {
            rect.first_element_child()
                .unwrap()
                .text()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        tooltips,
        [
            "orders-app, 2026-12-01: 1,234 requests",
            "orders-app, 2026-12-03: 5 requests"
        ]
    );
}

#[test]
fn stacks_put_the_first_series_at_the_bottom() {
    let chart = requests(vec![series("a", &[10.0]), series("b", &[30.0])], 1);
    let svg = bar_chart(&chart, "usage");
    let doc = well_formed(&svg);
    let bars: Vec<_> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("chart-bar"))
        .map(|n| {
            let y: f64 = n.attribute("y").unwrap().parse().unwrap();
            let h: f64 = n.attribute("height").unwrap().parse().unwrap();
            (n.attribute("fill").unwrap().to_owned(), y, h)
        })
        .collect();
    assert_eq!(bars.len(), 2);
    let (ref fill_a, y_a, h_a) = bars[0];
    let (ref fill_b, y_b, h_b) = bars[1];
    assert_eq!(fill_a, PALETTE[0]);
    assert_eq!(fill_b, PALETTE[1]);
    assert!(y_b < y_a, "b is stacked on top of a");
    assert!((y_b + h_b - y_a).abs() < 0.02, "segments touch");
    assert!((h_b / h_a - 3.0).abs() < 0.01, "heights are proportional");
}

#[test]
fn hostile_names_are_escaped_everywhere() {
    let hostile = r#"<script>alert("x")</script>&'"#;
    let chart = Chart {
        title: format!("{hostile} title"),
        x_labels: vec![format!("<img src=x onerror=alert(1)>"), "</svg><b>".into()],
        series: vec![
            series(hostile, &[1.0, 2.0]),
            series("</title><desc>", &[3.0, 4.0]),
        ],
        unit: "</text><script>".into(),
    };
    for svg in [bar_chart(&chart, "h"), line_chart(&chart, "h")] {
        let doc = well_formed(&svg);
        let html = svg.as_str();
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<img"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
        assert_eq!(html.matches("</svg>").count(), 1);
        assert_eq!(count(&doc, "script"), 0);
        assert_eq!(count(&doc, "desc"), 1);
        assert!(
            html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"),
            "{html}"
        );
        let title = doc.root_element().first_element_child().unwrap();
        assert_eq!(title.text().unwrap(), format!("{hostile} title"));
    }
    let table = data_table(&chart, "h", true);
    let html = table.as_str();
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("<img"), "{html}");
    assert!(!html.contains("<b>"), "{html}");
    assert!(html.contains("&lt;/title&gt;&lt;desc&gt;"), "{html}");
}

#[test]
fn hostile_ids_cannot_break_out_of_attributes() {
    let chart = requests(vec![series("a", &[1.0])], 1);
    let svg = bar_chart(&chart, r#"x" onload="alert(1)"#);
    let doc = well_formed(&svg);
    assert_eq!(doc.root_element().attribute("onload"), None);
    assert_eq!(
        doc.root_element().attribute("id"),
        Some("x--onload--alert-1-")
    );
}

#[test]
fn charts_use_no_inline_styles_or_scripts() {
    let chart = big_chart();
    for markup in [
        bar_chart(&chart, "a"),
        line_chart(&chart, "b"),
        data_table(&chart, "c", true),
    ] {
        let html = markup.as_str();
        assert!(!html.contains("style="), "CSP forbids style attributes");
        assert!(!html.contains("<style"), "CSP forbids inline styles");
        assert!(!html.contains("<script"));
        assert!(!html.contains("href"), "no links out");
        let doc = roxmltree::Document::parse(html).unwrap();
        for node in doc.descendants() {
            for attribute in node.attributes() {
                assert!(
                    !attribute.name().starts_with("on"),
                    "no event handlers: {}",
                    attribute.name()
                );
                assert_ne!(attribute.name(), "style");
            }
        }
    }
}

#[test]
fn empty_charts_say_no_data() {
    let no_series = requests(Vec::new(), 30);
    let nothing = Chart::default();
    let all_missing = requests(vec![series("a", &[f64::NAN, -1.0, f64::INFINITY])], 3);
    let no_points = requests(vec![series("a", &[])], 0);
    for chart in [no_series, nothing, all_missing, no_points] {
        for svg in [bar_chart(&chart, "e"), line_chart(&chart, "e")] {
            let doc = well_formed(&svg);
            assert_eq!(doc.root_element().attribute("role"), Some("img"));
            assert!(
                svg.as_str().contains(">No data in this period</text>"),
                "{}",
                svg.as_str()
            );
            assert!(
                svg.as_str()
                    .contains(r#"<desc id="e-desc">No data in this period.</desc>"#)
            );
            assert_eq!(count(&doc, "rect"), 1, "only the placeholder frame");
            assert_eq!(count(&doc, "circle"), 0);
        }
        let table = data_table(&chart, "e", true);
        assert!(table.as_str().contains("No data in this period"));
        assert!(!table.as_str().contains("<thead>"));
    }
}

#[test]
fn all_zero_data_draws_axes_without_bars() {
    let chart = requests(vec![series("a", &[0.0, 0.0])], 2);
    let svg = bar_chart(&chart, "z");
    let doc = well_formed(&svg);
    assert!(!svg.as_str().contains("No data"));
    assert_eq!(count(&doc, "rect"), 1, "only the legend swatch");
    assert!(
        svg.as_str().contains(">1</text>"),
        "axis from 0 to 1: {}",
        svg.as_str()
    );
}

#[test]
fn single_point_charts_render() {
    let chart = Chart {
        title: "p99 latency".into(),
        x_labels: vec!["2026-12-01".into()],
        series: vec![series("orders-app", &[42.5])],
        unit: "ms".into(),
    };
    let bar = bar_chart(&chart, "one");
    let doc = well_formed(&bar);
    assert_eq!(
        doc.descendants()
            .filter(|n| n.attribute("class") == Some("chart-bar"))
            .count(),
        1
    );
    let line = line_chart(&chart, "one");
    let doc = well_formed(&line);
    let circles: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("circle"))
        .collect();
    assert_eq!(
        circles.len(),
        1,
        "a lone value is still visible as a marker"
    );
    assert_eq!(
        circles[0].first_element_child().unwrap().text(),
        Some("orders-app, 2026-12-01: 42.5 ms")
    );
    let path = doc.descendants().find(|n| n.has_tag_name("path")).unwrap();
    assert!(path.attribute("d").unwrap().starts_with('M'));
}

#[test]
fn thirty_days_by_twelve_series() {
    let chart = big_chart();
    let bar = bar_chart(&chart, "big");
    let doc = well_formed(&bar);
    let bars = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("chart-bar"))
        .count();
    assert_eq!(bars, 30 * 12);
    let legend = doc
        .descendants()
        .find(|n| n.attribute("class") == Some("chart-legend"))
        .unwrap();
    assert_eq!(legend.children().filter(|n| n.is_element()).count(), 12);
    let x_labels = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("chart-x-label"))
        .count();
    assert!(
        (2..30).contains(&x_labels),
        "labels are thinned: {x_labels}"
    );
    // The palette repeats past seven series with lighter fills.
    let fills: std::collections::HashSet<_> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("chart-bar"))
        .map(|n| {
            (
                n.attribute("fill").unwrap(),
                n.attribute("fill-opacity").unwrap(),
            )
        })
        .collect();
    assert_eq!(fills.len(), 12, "every series looks different");

    let line = line_chart(&chart, "big");
    let doc = well_formed(&line);
    assert_eq!(count(&doc, "path"), 12);
    assert_eq!(count(&doc, "circle"), 30 * 12);
    let dashed = doc
        .descendants()
        .filter(|n| n.has_tag_name("path") && n.attribute("stroke-dasharray").is_some())
        .count();
    assert_eq!(
        dashed,
        12 - PALETTE.len(),
        "second pass through the palette is dashed"
    );
    let height: f64 = doc
        .root_element()
        .attribute("height")
        .unwrap()
        .parse()
        .unwrap();
    assert!(height > 300.0, "room for three legend rows");
}

#[test]
fn few_labels_are_all_shown() {
    let chart = requests(vec![series("a", &[1.0; 7])], 7);
    let svg = bar_chart(&chart, "week");
    let doc = well_formed(&svg);
    let labels = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("chart-x-label"))
        .count();
    assert_eq!(labels, 7);
}

#[test]
fn unusable_values_are_skipped_and_break_lines() {
    let chart = Chart {
        title: "Error rate".into(),
        x_labels: days(5),
        series: vec![series(
            "orders-app",
            &[1.0, f64::NAN, f64::INFINITY, -3.0, 2.0],
        )],
        unit: "%".into(),
    };
    let bar = bar_chart(&chart, "e");
    let doc = well_formed(&bar);
    assert_eq!(
        doc.descendants()
            .filter(|n| n.attribute("class") == Some("chart-bar"))
            .count(),
        2
    );
    assert!(!bar.as_str().contains("NaN") && !bar.as_str().contains("inf"));

    let line = line_chart(&chart, "e");
    let doc = well_formed(&line);
    let d = doc
        .descendants()
        .find(|n| n.has_tag_name("path"))
        .unwrap()
        .attribute("d")
        .unwrap()
        .to_owned();
    assert_eq!(d.matches('M').count(), 2, "the gap breaks the line: {d}");
    assert_eq!(d.matches('L').count(), 0, "{d}");
    assert_eq!(count(&doc, "circle"), 2);
    let tooltips: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("circle"))
        .map(|n| n.first_element_child().unwrap().text().unwrap().to_owned())
        .collect();
    assert_eq!(
        tooltips,
        ["orders-app, 2026-12-01: 1%", "orders-app, 2026-12-05: 2%"]
    );
    assert!(!line.as_str().contains("NaN"));

    let table = data_table(&chart, "e", false);
    assert_eq!(table.as_str().matches(">no data</td>").count(), 3);
}

#[test]
fn line_chart_describes_each_series() {
    let chart = Chart {
        title: "p99 latency".into(),
        x_labels: days(3),
        series: vec![
            series("orders-app", &[120.0, 340.0, 95.0]),
            series("billing", &[f64::NAN; 3]),
        ],
        unit: "ms".into(),
    };
    let svg = line_chart(&chart, "lat");
    let doc = well_formed(&svg);
    let desc = doc
        .descendants()
        .find(|n| n.has_tag_name("desc"))
        .unwrap()
        .text()
        .unwrap()
        .to_owned();
    assert!(
        desc.starts_with("Line chart of 2 series over 3 periods, 2026-12-01 to 2026-12-03."),
        "{desc}"
    );
    assert!(
        desc.contains("orders-app: latest 95 ms, highest 340 ms."),
        "{desc}"
    );
    assert!(desc.contains("billing: no data."), "{desc}");
    assert!(
        svg.as_str().contains(">ms</text>"),
        "unit labels the y axis"
    );
}

#[test]
fn ragged_series_and_missing_labels_are_tolerated() {
    let chart = Chart {
        title: "t".into(),
        x_labels: vec!["first".into()],
        series: vec![series("", &[1.0, 2.0, 3.0]), series("short", &[4.0])],
        unit: String::new(),
    };
    let svg = bar_chart(&chart, "r");
    let doc = well_formed(&svg);
    assert!(
        svg.as_str().contains(">Series 1</text>"),
        "unnamed series get a name"
    );
    let labels: Vec<_> = doc
        .descendants()
        .filter(|n| n.attribute("class") == Some("chart-x-label"))
        .map(|n| n.text().unwrap().to_owned())
        .collect();
    assert_eq!(labels, ["first", "2", "3"]);
    let table = data_table(&chart, "r", true);
    assert!(table.as_str().contains(r#"<tr><th scope="row">3</th><td>3</td><td class="chart-missing">no data</td><td>3</td></tr>"#), "{}", table.as_str());
}

#[test]
fn long_legend_names_are_truncated_with_the_full_name_as_tooltip() {
    let name = "a-very-long-application-name-indeed";
    let chart = requests(vec![series(name, &[1.0])], 1);
    let svg = bar_chart(&chart, "l");
    assert!(svg.as_str().contains(&format!("<title>{name}</title>")));
    assert!(
        svg.as_str().contains(">a-very-long-applicati…</text>"),
        "{}",
        svg.as_str()
    );
}

// --- table -------------------------------------------------------------------------------

#[test]
fn table_has_caption_headers_and_totals() {
    let chart = requests(
        vec![
            series("orders-app", &[1234.0, 5.0]),
            series("billing", &[1.0, 2.0]),
        ],
        2,
    );
    let html = data_table(&chart, "usage", true).into_string();
    assert!(html.starts_with(r#"<table class="chart-table" id="usage-table"><caption>Requests per day (requests)</caption>"#), "{html}");
    assert!(html.contains(r#"<thead><tr><th scope="col">Period</th><th scope="col">orders-app</th><th scope="col">billing</th><th scope="col">Total</th></tr></thead>"#), "{html}");
    assert!(
        html.contains(
            r#"<tr><th scope="row">2026-12-01</th><td>1,234</td><td>1</td><td>1,235</td></tr>"#
        ),
        "{html}"
    );
    let without = data_table(&chart, "usage", false).into_string();
    assert!(!without.contains("Total"));
    roxmltree::Document::parse(&html).unwrap();
}

#[test]
fn markup_is_printed_unescaped_by_askama() {
    use askama::Template;

    #[derive(Template)]
    #[template(source = "<div>{{ chart }}</div><p>{{ name }}</p>", ext = "html")]
    struct Page {
        chart: Markup,
        name: String,
    }

    let chart = requests(vec![series("<b>", &[1.0])], 1);
    let page = Page {
        chart: bar_chart(&chart, "c"),
        name: "<b>".into(),
    };
    let html = page.render().unwrap();
    assert!(html.starts_with("<div><svg "), "{html}");
    assert!(html.ends_with("</svg></div><p>&#60;b&#62;</p>"), "{html}");
}
