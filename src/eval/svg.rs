//! The abstention curve as a hand-written SVG line chart (pure): accuracy on
//! decided cases (y) against coverage (x), one line per scope, each point
//! labelled with its confidence threshold.

use std::fmt::Write as _;

use super::metrics::CurvePoint;

const W: f64 = 640.0;
const H: f64 = 420.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 190.0;
const TOP: f64 = 30.0;
const BOTTOM: f64 = 50.0;
const COLOURS: [&str; 6] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
];

fn x(coverage: f64) -> f64 {
    LEFT + coverage.clamp(0.0, 1.0) * (W - LEFT - RIGHT)
}

fn y(accuracy: f64) -> f64 {
    H - BOTTOM - accuracy.clamp(0.0, 1.0) * (H - TOP - BOTTOM)
}

pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Draws one line per `(name, curve)`; points without an accuracy are left out.
pub fn abstention_svg(title: &str, series: &[(String, Vec<CurvePoint>)]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="18" text-anchor="middle" font-size="14">{}</text>"#,
        (LEFT + W - RIGHT) / 2.0,
        escape(title)
    );
    // Grid and ticks every 0.25 on both axes.
    for i in 0..=4 {
        let v = f64::from(i) * 0.25;
        let _ = writeln!(
            s,
            r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#ddd"/>"##,
            x(v),
            y(0.0),
            x(v),
            y(1.0)
        );
        let _ = writeln!(
            s,
            r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#ddd"/>"##,
            x(0.0),
            y(v),
            x(1.0),
            y(v)
        );
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{v:.2}</text>"#,
            x(v),
            y(0.0) + 16.0
        );
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{v:.2}</text>"#,
            x(0.0) - 6.0,
            y(v) + 4.0
        );
    }
    let _ = writeln!(
        s,
        r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="none" stroke="black"/>"#,
        x(0.0),
        y(1.0),
        x(1.0) - x(0.0),
        y(0.0) - y(1.0)
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">coverage (fraction of cases decided)</text>"#,
        (x(0.0) + x(1.0)) / 2.0,
        H - 12.0
    );
    let _ = writeln!(
        s,
        r#"<text x="16" y="{:.1}" text-anchor="middle" transform="rotate(-90 16 {:.1})">accuracy on decided cases</text>"#,
        (y(0.0) + y(1.0)) / 2.0,
        (y(0.0) + y(1.0)) / 2.0
    );
    for (i, (name, curve)) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let mut pts: Vec<(f64, f64, f64)> = curve
            .iter()
            .filter_map(|p| Some((p.coverage?, p.accuracy?, p.threshold)))
            .collect();
        // Left to right, so the line reads as a curve even when thresholds tie.
        pts.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.2.total_cmp(&b.2)));
        // Thresholds that land on the same point share one marker and one label.
        let mut merged: Vec<(f64, f64, Vec<f64>)> = Vec::new();
        for (c, a, t) in &pts {
            match merged.last_mut() {
                Some(last) if last.0 == *c && last.1 == *a => last.2.push(*t),
                _ => merged.push((*c, *a, vec![*t])),
            }
        }
        if merged.len() > 1 {
            let path: Vec<String> = merged
                .iter()
                .map(|(c, a, _)| format!("{:.1},{:.1}", x(*c), y(*a)))
                .collect();
            let _ = writeln!(
                s,
                r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#,
                path.join(" ")
            );
        }
        for (c, a, ts) in &merged {
            let ts: Vec<String> = ts.iter().map(|t| format!("{t:.1}")).collect();
            let _ = writeln!(
                s,
                r#"<circle cx="{:.1}" cy="{:.1}" r="4" fill="{colour}"><title>{}: threshold {}, coverage {c:.3}, accuracy {a:.3}</title></circle>"#,
                x(*c),
                y(*a),
                escape(name),
                ts.join("/")
            );
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{:.1}" fill="{colour}" font-size="10">≥{}</text>"#,
                x(*c) + 6.0,
                y(*a) - 6.0 - 12.0 * i as f64,
                ts.join("/")
            );
        }
        let ly = TOP + 20.0 + 20.0 * i as f64;
        let lx = W - RIGHT + 15.0;
        let _ = writeln!(
            s,
            r#"<line x1="{lx:.1}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="{colour}" stroke-width="2"/>"#,
            lx + 20.0
        );
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}">{}</text>"#,
            lx + 26.0,
            ly + 4.0,
            escape(name)
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_lines_points_and_skips_undefined() {
        let curve = vec![
            CurvePoint {
                threshold: 0.3,
                decided: 8,
                correct: 6,
                coverage: Some(0.8),
                accuracy: Some(0.75),
            },
            CurvePoint {
                threshold: 0.9,
                decided: 0,
                correct: 0,
                coverage: Some(0.0),
                accuracy: None,
            },
            CurvePoint {
                threshold: 0.6,
                decided: 4,
                correct: 4,
                coverage: Some(0.4),
                accuracy: Some(1.0),
            },
        ];
        let svg = abstention_svg("a <b>", &[("all".into(), curve)]);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("a &lt;b&gt;"));
        assert_eq!(svg.matches("<circle").count(), 2);
        // Coverage 0.4 → x = 60 + 0.4 * 390 = 216; accuracy 1 → y = 30.
        assert!(svg.contains(r#"points="216.0,30.0 372.0,115.0""#), "{svg}");
        assert!(!svg.contains("NaN"));
    }

    #[test]
    fn tied_thresholds_share_a_point() {
        let p = |threshold| CurvePoint {
            threshold,
            decided: 5,
            correct: 5,
            coverage: Some(0.5),
            accuracy: Some(1.0),
        };
        let svg = abstention_svg("t", &[("all".into(), vec![p(0.3), p(0.6), p(0.9)])]);
        assert_eq!(svg.matches("<circle").count(), 1);
        assert!(svg.contains(">≥0.3/0.6/0.9</text>"), "{svg}");
        assert!(!svg.contains("<polyline"));
    }
}
