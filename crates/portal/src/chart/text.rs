//! Text helpers for the charts: escaping, truncation, number formatting, ids.

/// Formats `value` for people: thousands separated by commas, integers without decimals, other
/// values to about three significant digits (`1,234`, `0.52`, `0.00123`, `1,234.6`). Missing
/// values (NaN, ±∞) format as `no data`.
///
/// ```
/// use gatehouse_portal::chart::format_number;
/// assert_eq!(format_number(1234.0), "1,234");
/// assert_eq!(format_number(0.5234), "0.523");
/// ```
pub fn format_number(value: f64) -> String {
    if !value.is_finite() {
        return "no data".to_owned();
    }
    let abs = value.abs();
    let decimals = if value.fract() == 0.0 || abs >= 1e15 {
        0
    } else if abs >= 100.0 {
        1
    } else if abs >= 1.0 {
        2
    } else {
        // Three significant digits below one: 0.523, 0.0123, 0.000456.
        let leading_zeros = -abs.log10().floor();
        (leading_zeros + 2.0).clamp(2.0, 12.0) as usize
    };
    let fixed = format!("{value:.decimals$}");
    let fixed = if fixed.contains('.') {
        fixed.trim_end_matches('0').trim_end_matches('.')
    } else {
        fixed.as_str()
    };
    let fixed = if fixed == "-0" { "0" } else { fixed };
    group_thousands(fixed)
}

/// A value with its unit: `1,234 requests`, `0.52%`, `87 ms`, or just the number.
pub(super) fn with_unit(value: f64, unit: &str) -> String {
    let number = format_number(value);
    match unit {
        "" => number,
        "%" => format!("{number}%"),
        unit => format!("{number} {unit}"),
    }
}

/// Axis tick label: as many decimals as the tick `step` needs, thousands grouped, and
/// `k`/`M`/`G` suffixes once the axis `top` reaches 10,000 so labels stay narrow. Zero is `0`.
pub(super) fn tick_label(value: f64, step: f64, top: f64) -> String {
    let (divisor, suffix) = if top >= 1e10 {
        (1e9, "G")
    } else if top >= 1e7 {
        (1e6, "M")
    } else if top >= 1e4 {
        (1e3, "k")
    } else {
        (1.0, "")
    };
    let step = step / divisor;
    let decimals = if step >= 1.0 || step <= 0.0 {
        0
    } else {
        (-step.log10().floor()).clamp(0.0, 12.0) as usize
    };
    if value == 0.0 {
        return "0".to_owned();
    }
    let fixed = format!("{:.decimals$}", value / divisor);
    format!("{}{suffix}", group_thousands(&fixed))
}

fn group_thousands(fixed: &str) -> String {
    let (sign, unsigned) = match fixed.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", fixed),
    };
    let (int, frac) = match unsigned.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (unsigned, None),
    };
    let mut out = String::with_capacity(fixed.len() + int.len() / 3);
    out.push_str(sign);
    for (i, digit) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    if let Some(frac) = frac {
        out.push('.');
        out.push_str(frac);
    }
    out
}

/// Escapes text for XML and HTML content and attribute values. Characters XML 1.0 does not
/// allow (most C0 controls, U+FFFE, U+FFFF) become U+FFFD.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(' '),
            c if c < ' ' || c == '\u{7f}' || c == '\u{fffe}' || c == '\u{ffff}' => {
                out.push('\u{fffd}');
            }
            c => out.push(c),
        }
    }
    out
}

/// `text` cut to at most `max` characters, ending in `…` when cut.
pub(super) fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// `id` reduced to `[A-Za-z0-9_-]` (others become `-`), so it is safe in attributes and as an
/// IRI fragment; `chart` if nothing is left.
pub(super) fn sanitize_id(id: &str) -> String {
    let clean: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if clean.is_empty() {
        "chart".to_owned()
    } else {
        clean
    }
}
