//! The abstention curve as a hand-written SVG line chart (pure): accuracy on
//! decided cases (y) against coverage (x), one line per scope, each point
//! labelled with its confidence threshold.
//!
//! The axes are fitted to the data (a padded range rounded to a tick step of
//! 0.01, 0.02, 0.05, 0.1 or 0.25), so points that differ by a few hundredths are
//! apart; threshold labels are placed where they overlap no other label or
//! marker, and the legend sits outside the plot.

use std::fmt::Write as _;

use super::metrics::CurvePoint;

const W: f64 = 680.0;
const H: f64 = 440.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 200.0;
const TOP: f64 = 34.0;
const BOTTOM: f64 = 50.0;
const COLOURS: [&str; 6] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
];
/// Label font size and the width of one character at that size (an estimate).
const LABEL_PX: f64 = 10.0;
const CHAR_W: f64 = 6.0;

/// A data range mapped onto a pixel range.
#[derive(Debug, Clone, Copy)]
struct Axis {
    lo: f64,
    hi: f64,
    step: f64,
}

impl Axis {
    /// A range covering `values` with some padding, snapped to a tick step that
    /// gives four to ten ticks, clamped to [0, 1].
    fn fit(values: impl Iterator<Item = f64>) -> Axis {
        let (mut min, mut max) = (f64::INFINITY, f64::NEG_INFINITY);
        for v in values {
            min = min.min(v);
            max = max.max(v);
        }
        if !min.is_finite() {
            return Axis {
                lo: 0.0,
                hi: 1.0,
                step: 0.25,
            };
        }
        let span = (max - min).max(0.04);
        let (min, max) = ((min - span * 0.15).max(0.0), (max + span * 0.15).min(1.0));
        let step = [0.01, 0.02, 0.05, 0.1, 0.25]
            .into_iter()
            .find(|s| (max - min) / s <= 8.0)
            .unwrap_or(0.25);
        let lo = ((min / step).floor() * step).max(0.0);
        let hi = ((max / step).ceil() * step).min(1.0);
        Axis {
            lo,
            hi: if hi - lo < step { lo + step } else { hi },
            step,
        }
    }

    fn ticks(&self) -> Vec<f64> {
        let n = ((self.hi - self.lo) / self.step).round() as i64;
        (0..=n)
            .map(|i| self.lo + i as f64 * self.step)
            .map(|v| (v * 1000.0).round() / 1000.0)
            .collect()
    }

    fn frac(&self, v: f64) -> f64 {
        ((v - self.lo) / (self.hi - self.lo)).clamp(0.0, 1.0)
    }
}

pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An axis-aligned box: x, y (top-left), width, height.
type Rect = (f64, f64, f64, f64);

fn overlaps(a: Rect, b: Rect) -> bool {
    a.0 < b.0 + b.2 && b.0 < a.0 + a.2 && a.1 < b.1 + b.3 && b.1 < a.1 + a.3
}

/// One marker to draw: pixel position, series, its label and tooltip.
struct Marker {
    px: f64,
    py: f64,
    series: usize,
    label: String,
    tooltip: String,
}

/// Draws one line per `(name, curve)`; points without an accuracy are left out.
pub fn abstention_svg(title: &str, series: &[(String, Vec<CurvePoint>)]) -> String {
    // Merged points per series: thresholds landing on the same point share a marker.
    let merged: Vec<Vec<(f64, f64, Vec<f64>)>> = series
        .iter()
        .map(|(_, curve)| {
            let mut pts: Vec<(f64, f64, f64)> = curve
                .iter()
                .filter_map(|p| Some((p.coverage?, p.accuracy?, p.threshold)))
                .collect();
            // Left to right, so the line reads as a curve even when thresholds tie.
            pts.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.2.total_cmp(&b.2)));
            let mut out: Vec<(f64, f64, Vec<f64>)> = Vec::new();
            for (c, a, t) in pts {
                match out.last_mut() {
                    Some(last) if last.0 == c && last.1 == a => last.2.push(t),
                    _ => out.push((c, a, vec![t])),
                }
            }
            out
        })
        .collect();
    let xa = Axis::fit(merged.iter().flatten().map(|p| p.0));
    let ya = Axis::fit(merged.iter().flatten().map(|p| p.1));
    let x = |v: f64| LEFT + xa.frac(v) * (W - LEFT - RIGHT);
    let y = |v: f64| H - BOTTOM - ya.frac(v) * (H - TOP - BOTTOM);

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="20" text-anchor="middle" font-size="14">{}</text>"#,
        (LEFT + W - RIGHT) / 2.0,
        escape(title)
    );
    for v in xa.ticks() {
        let _ = writeln!(
            s,
            r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#ddd"/>"##,
            x(v),
            y(ya.lo),
            x(v),
            y(ya.hi)
        );
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{v:.2}</text>"#,
            x(v),
            y(ya.lo) + 16.0
        );
    }
    for v in ya.ticks() {
        let _ = writeln!(
            s,
            r##"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="#ddd"/>"##,
            x(xa.lo),
            y(v),
            x(xa.hi),
            y(v)
        );
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{v:.2}</text>"#,
            x(xa.lo) - 6.0,
            y(v) + 4.0
        );
    }
    let _ = writeln!(
        s,
        r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="none" stroke="black"/>"#,
        x(xa.lo),
        y(ya.hi),
        x(xa.hi) - x(xa.lo),
        y(ya.lo) - y(ya.hi)
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">coverage (fraction of cases decided)</text>"#,
        (x(xa.lo) + x(xa.hi)) / 2.0,
        H - 12.0
    );
    let mid = (y(ya.lo) + y(ya.hi)) / 2.0;
    let _ = writeln!(
        s,
        r#"<text x="16" y="{mid:.1}" text-anchor="middle" transform="rotate(-90 16 {mid:.1})">accuracy on decided cases</text>"#
    );

    let mut markers = Vec::new();
    for (i, ((name, _), pts)) in series.iter().zip(&merged).enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        if pts.len() > 1 {
            let path: Vec<String> = pts
                .iter()
                .map(|(c, a, _)| format!("{:.1},{:.1}", x(*c), y(*a)))
                .collect();
            let _ = writeln!(
                s,
                r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#,
                path.join(" ")
            );
        }
        for (c, a, ts) in pts {
            let ts: Vec<String> = ts.iter().map(|t| format!("{t:.1}")).collect();
            markers.push(Marker {
                px: x(*c),
                py: y(*a),
                series: i,
                label: format!("≥{}", ts.join("/")),
                tooltip: format!(
                    "{}: threshold {}, coverage {c:.3}, accuracy {a:.3}",
                    escape(name),
                    ts.join("/")
                ),
            });
        }
    }
    // Markers first, so labels avoid all of them.
    let mut taken: Vec<Rect> = markers
        .iter()
        .map(|m| (m.px - 5.0, m.py - 5.0, 10.0, 10.0))
        .collect();
    let plot = (x(xa.lo), y(ya.hi), x(xa.hi) - x(xa.lo), y(ya.lo) - y(ya.hi));
    for m in &markers {
        let colour = COLOURS[m.series % COLOURS.len()];
        let _ = writeln!(
            s,
            r#"<circle cx="{:.1}" cy="{:.1}" r="4" fill="{colour}"><title>{}</title></circle>"#,
            m.px, m.py, m.tooltip
        );
    }
    for m in &markers {
        let colour = COLOURS[m.series % COLOURS.len()];
        let w = m.label.chars().count() as f64 * CHAR_W;
        let h = LABEL_PX + 2.0;
        // Candidate spots around the marker, nearest first, then further out.
        let mut spots = Vec::new();
        for d in [1.0, 2.0, 3.0, 4.0] {
            let o = 6.0 * d;
            spots.extend([
                (m.px + o, m.py - o - h),
                (m.px + o, m.py + o),
                (m.px - o - w, m.py - o - h),
                (m.px - o - w, m.py + o),
                (m.px - w / 2.0, m.py - o - h),
                (m.px - w / 2.0, m.py + o),
            ]);
        }
        let inside = |r: Rect| {
            r.0 >= plot.0
                && r.1 >= plot.1
                && r.0 + r.2 <= plot.0 + plot.2
                && r.1 + r.3 <= plot.1 + plot.3
        };
        let free = |r: Rect, taken: &[Rect]| !taken.iter().any(|t| overlaps(r, *t));
        let rect = spots
            .iter()
            .map(|(lx, ly)| (*lx, *ly, w, h))
            .find(|r| inside(*r) && free(*r, &taken))
            .or_else(|| {
                spots
                    .iter()
                    .map(|(lx, ly)| (*lx, *ly, w, h))
                    .find(|r| free(*r, &taken))
            })
            .unwrap_or((m.px + 6.0, m.py - 6.0 - h, w, h));
        taken.push(rect);
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" fill="{colour}" font-size="{LABEL_PX}">{}</text>"#,
            rect.0,
            rect.1 + LABEL_PX,
            m.label
        );
    }
    for (i, (name, _)) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
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
    let _ = writeln!(
        s,
        r##"<text x="{:.1}" y="{:.1}" font-size="10" fill="#555">labels: confidence threshold</text>"##,
        W - RIGHT + 15.0,
        TOP + 30.0 + 20.0 * series.len() as f64
    );
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(threshold: f64, coverage: f64, accuracy: Option<f64>) -> CurvePoint {
        CurvePoint {
            threshold,
            decided: 1,
            correct: 1,
            coverage: Some(coverage),
            accuracy,
        }
    }

    fn labels(svg: &str) -> Vec<Rect> {
        svg.lines()
            .filter(|l| l.starts_with("<text") && l.contains("≥"))
            .map(|l| {
                let num = |k: &str| -> f64 {
                    let at = l.find(k).unwrap() + k.len();
                    l[at..].split('"').next().unwrap().parse().unwrap()
                };
                let text = l.split('>').nth(1).unwrap().split('<').next().unwrap();
                let w = text.chars().count() as f64 * CHAR_W;
                (num(" x=\""), num(" y=\"") - LABEL_PX, w, LABEL_PX + 2.0)
            })
            .collect()
    }

    #[test]
    fn draws_lines_points_and_skips_undefined() {
        let curve = vec![
            point(0.3, 0.8, Some(0.75)),
            point(0.9, 0.0, None),
            point(0.6, 0.4, Some(1.0)),
        ];
        let svg = abstention_svg("a <b>", &[("all".into(), curve)]);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("a &lt;b&gt;"));
        assert_eq!(svg.matches("<circle").count(), 2);
        assert!(svg.contains("<polyline"));
        assert!(!svg.contains("NaN"));
    }

    #[test]
    fn axes_fit_the_data() {
        // Points between 0.78 and 0.85 coverage, 0.98 and 1.0 accuracy: ticks are
        // hundredths, not quarters, and the points spread over the plot.
        let curve = vec![
            point(0.3, 0.851, Some(0.984)),
            point(0.6, 0.824, Some(0.984)),
            point(0.9, 0.784, Some(0.983)),
        ];
        let svg = abstention_svg("t", &[("all".into(), curve)]);
        assert!(!svg.contains(">0.25</text>"), "{svg}");
        assert!(svg.contains(">0.80</text>"), "{svg}");
        let xs: Vec<f64> = svg
            .lines()
            .filter(|l| l.starts_with("<circle"))
            .map(|l| {
                l.split("cx=\"")
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap()
            })
            .collect();
        let spread = xs.iter().cloned().fold(f64::MIN, f64::max)
            - xs.iter().cloned().fold(f64::MAX, f64::min);
        assert!(spread > 200.0, "points {xs:?} crowd together");
    }

    #[test]
    fn labels_do_not_overlap() {
        // Three scopes whose points nearly coincide.
        let s = |d: f64| {
            vec![
                point(0.3, 0.85 + d, Some(0.98)),
                point(0.6, 0.83 + d, Some(0.98)),
                point(0.9, 0.80 + d, Some(0.975)),
            ]
        };
        let svg = abstention_svg(
            "t",
            &[
                ("all".into(), s(0.0)),
                ("a".into(), s(0.002)),
                ("b".into(), s(-0.002)),
            ],
        );
        let l = labels(&svg);
        assert_eq!(l.len(), 9);
        for (i, a) in l.iter().enumerate() {
            for b in &l[i + 1..] {
                assert!(!overlaps(*a, *b), "labels overlap: {a:?} {b:?}");
            }
        }
    }

    #[test]
    fn tied_thresholds_share_a_point() {
        let p = |t| point(t, 0.5, Some(1.0));
        let svg = abstention_svg("t", &[("all".into(), vec![p(0.3), p(0.6), p(0.9)])]);
        assert_eq!(svg.matches("<circle").count(), 1);
        assert!(svg.contains(">≥0.3/0.6/0.9</text>"), "{svg}");
        assert!(!svg.contains("<polyline"));
    }
}
