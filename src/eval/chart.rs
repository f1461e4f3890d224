//! A horizontal bar chart as SVG (pure), beside the abstention curve of [`super::svg`], for
//! the review page's statistics: one bar per label, the value printed at its end.

use std::fmt::Write as _;

use super::svg::escape;

const W: f64 = 640.0;
const BAR: f64 = 22.0;
const GAP: f64 = 8.0;
const LEFT: f64 = 210.0;
const RIGHT: f64 = 80.0;
const TOP: f64 = 34.0;

/// Draws `bars` as `(label, value, shown text)`; `max` fixes the scale (e.g. 1.0 for
/// shares), else the largest value does. Labels longer than 30 characters are cut.
pub fn bar_chart(title: &str, bars: &[(String, f64, String)], max: Option<f64>) -> String {
    let h = TOP + bars.len().max(1) as f64 * (BAR + GAP) + 20.0;
    let top = max
        .unwrap_or_else(|| bars.iter().map(|b| b.1).fold(0.0, f64::max))
        .max(f64::MIN_POSITIVE);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h}" viewBox="0 0 {W} {h}" font-family="sans-serif" font-size="12" role="img" aria-label="{}">"#,
        escape(title)
    );
    let _ = writeln!(
        s,
        r#"<text x="{}" y="20" font-size="14" font-weight="bold">{}</text>"#,
        10,
        escape(title)
    );
    if bars.is_empty() {
        let _ = writeln!(s, r#"<text x="10" y="{}">no data yet</text>"#, TOP + 14.0);
    }
    for (i, (label, value, text)) in bars.iter().enumerate() {
        let y = TOP + i as f64 * (BAR + GAP);
        let width = (value / top).clamp(0.0, 1.0) * (W - LEFT - RIGHT);
        let label: String = if label.chars().count() > 30 {
            label.chars().take(29).chain(std::iter::once('…')).collect()
        } else {
            label.clone()
        };
        let _ = writeln!(
            s,
            r##"<text x="{}" y="{}" text-anchor="end">{}</text><rect x="{LEFT}" y="{y}" width="{width:.1}" height="{BAR}" fill="#1f77b4"/><text x="{:.1}" y="{}">{}</text>"##,
            LEFT - 8.0,
            y + BAR * 0.7,
            escape(&label),
            LEFT + width + 6.0,
            y + BAR * 0.7,
            escape(text)
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_maximum_and_escape_labels() {
        let svg = bar_chart(
            "t",
            &[
                ("<a>".into(), 1.0, "1".into()),
                ("b".into(), 0.5, "0.5".into()),
            ],
            None,
        );
        assert!(svg.contains("&lt;a&gt;"));
        assert!(svg.contains(r#"width="350.0""#), "{svg}");
        assert!(svg.contains(r#"width="175.0""#), "{svg}");
    }
}
