//! Usage charts for the application and owner pages: requests per day (stacked per
//! application or per API), error rate and p99 latency, each with the same numbers as a table.

use gatehouse_proto::portal::DailyUsage;

use crate::chart::{self, Chart, Markup, Series};

/// Days a usage chart covers unless the page asks for another period.
pub(crate) const DEFAULT_DAYS: u32 = 14;

/// The periods a page offers, in days.
pub(crate) const PERIODS: [u32; 4] = [7, 14, 30, 90];

/// The period a page was asked for, or the default.
pub(crate) fn period(days: Option<u32>) -> u32 {
    days.filter(|d| PERIODS.contains(d)).unwrap_or(DEFAULT_DAYS)
}

/// The three charts of a usage section, rendered.
pub(crate) struct UsageCharts {
    pub(crate) requests: Markup,
    pub(crate) requests_table: Markup,
    pub(crate) errors: Markup,
    pub(crate) errors_table: Markup,
    pub(crate) p99: Markup,
    pub(crate) p99_table: Markup,
    /// Requests in the whole period.
    pub(crate) total: u64,
}

/// Renders `usage`; `split` names what the stacks are (`application` or `API`).
pub(crate) fn charts(usage: &DailyUsage, split: &str) -> UsageCharts {
    let requests = Chart {
        title: format!("Requests per day, by {split}"),
        x_labels: usage.days.clone(),
        series: usage
            .series
            .iter()
            .map(|s| Series {
                name: s.name.clone(),
                points: s.counts.iter().map(|c| *c as f64).collect(),
            })
            .collect(),
        unit: "requests".into(),
    };
    let any = usage.series.iter().any(|s| s.counts.iter().any(|c| *c > 0));
    let errors = Chart {
        title: "Error rate (4xx and 5xx)".into(),
        x_labels: usage.days.clone(),
        series: vec![Series {
            name: "error rate".into(),
            points: usage
                .error_rate
                .iter()
                .zip(day_totals(usage))
                .map(|(r, t)| if t == 0 { f64::NAN } else { *r })
                .collect(),
        }],
        unit: "%".into(),
    };
    let p99 = Chart {
        title: "p99 latency".into(),
        x_labels: usage.days.clone(),
        series: vec![Series {
            name: "p99".into(),
            points: usage
                .p99_ms
                .iter()
                .map(|p| p.map_or(f64::NAN, |v| v as f64))
                .collect(),
        }],
        unit: "ms".into(),
    };
    let (errors, p99) = if any {
        (errors, p99)
    } else {
        (
            Chart {
                series: Vec::new(),
                ..errors
            },
            Chart {
                series: Vec::new(),
                ..p99
            },
        )
    };
    UsageCharts {
        requests: chart::bar_chart(&requests, "requests"),
        requests_table: chart::data_table(&requests, "requests", true),
        errors: chart::line_chart(&errors, "errors"),
        errors_table: chart::data_table(&errors, "errors", false),
        p99: chart::line_chart(&p99, "p99"),
        p99_table: chart::data_table(&p99, "p99", false),
        total: usage.series.iter().flat_map(|s| &s.counts).sum(),
    }
}

/// Requests per day over every series.
fn day_totals(usage: &DailyUsage) -> Vec<u64> {
    (0..usage.days.len())
        .map(|d| usage.series.iter().filter_map(|s| s.counts.get(d)).sum())
        .collect()
}

#[cfg(test)]
mod tests {
    use gatehouse_proto::portal::DailySeries;

    use super::*;

    fn usage() -> DailyUsage {
        DailyUsage {
            days: vec!["2026-12-01".into(), "2026-12-02".into()],
            series: vec![DailySeries {
                key: "app_1".into(),
                name: "<billing>".into(),
                counts: vec![0, 12],
            }],
            error_rate: vec![0.0, 25.0],
            p99_ms: vec![None, Some(8)],
        }
    }

    #[test]
    fn charts_plot_the_numbers_and_escape_names() {
        let c = charts(&usage(), "application");
        assert_eq!(c.total, 12);
        let svg = c.requests.as_str();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("&lt;billing&gt;"));
        assert!(!svg.contains("<billing>"));
        assert!(c.requests_table.as_str().contains("12"));
        assert!(c.errors_table.as_str().contains("25"));
        assert!(c.p99_table.as_str().contains('8'));
    }

    #[test]
    fn no_traffic_draws_placeholders() {
        let mut u = usage();
        u.series[0].counts = vec![0, 0];
        let c = charts(&u, "API");
        assert_eq!(c.total, 0);
        assert!(c.errors.as_str().contains("No data"));
        assert!(c.p99.as_str().contains("No data"));
    }

    #[test]
    fn only_offered_periods_are_used() {
        assert_eq!(period(Some(30)), 30);
        assert_eq!(period(Some(31)), DEFAULT_DAYS);
        assert_eq!(period(None), DEFAULT_DAYS);
    }
}
