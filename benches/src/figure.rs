//! A small SVG line chart of requests per second over time, written by hand: the figure is a
//! few polylines, axes and labels, so it needs no plotting crate (and no font or C build).

use std::fmt::Write;

/// One line of the chart: a label and a value per whole second.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend text.
    pub label: String,
    /// Value in each second, from 0.
    pub per_second: Vec<u32>,
}

const W: f64 = 760.0;
const H: f64 = 380.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 180.0;
const TOP: f64 = 36.0;
const BOTTOM: f64 = 48.0;
const COLOURS: [&str; 6] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2",
];

/// A step chart of `series` (requests in each second) with a dashed line at `limit`.
pub fn requests_per_second_svg(title: &str, series: &[Series], limit: f64) -> String {
    let secs = series
        .iter()
        .map(|s| s.per_second.len())
        .max()
        .unwrap_or(1)
        .max(1);
    let top = series
        .iter()
        .flat_map(|s| s.per_second.iter().copied())
        .max()
        .unwrap_or(0)
        .max(limit.ceil() as u32)
        + 1;
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let x = |t: f64| LEFT + pw * t / secs as f64;
    let y = |v: f64| TOP + ph * (1.0 - v / top as f64);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="20" text-anchor="middle" font-size="14">{}</text>"#,
        LEFT + pw / 2.0,
        escape(title)
    );
    for v in 0..=top {
        let yy = y(v as f64);
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{yy:.1}" x2="{:.1}" y2="{yy:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{v}</text>"##,
            LEFT + pw,
            LEFT - 6.0,
            yy + 4.0
        );
    }
    let step = [1usize, 2, 5, 10, 20, 30, 60, 120, 300]
        .into_iter()
        .find(|st| secs / st <= 12)
        .unwrap_or(600);
    for t in (0..=secs).step_by(step) {
        let xx = x(t as f64);
        let _ = writeln!(
            s,
            r#"<line x1="{xx:.1}" y1="{:.1}" x2="{xx:.1}" y2="{:.1}" stroke="black"/><text x="{xx:.1}" y="{:.1}" text-anchor="middle">{t}</text>"#,
            TOP + ph,
            TOP + ph + 5.0,
            TOP + ph + 18.0
        );
    }
    let _ = writeln!(
        s,
        r#"<path d="M{LEFT},{TOP} V{:.1} H{:.1}" fill="none" stroke="black"/>"#,
        TOP + ph,
        LEFT + pw
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">seconds since the first write</text><text transform="translate(16,{:.1}) rotate(-90)" text-anchor="middle">requests in the second</text>"#,
        LEFT + pw / 2.0,
        H - 10.0,
        TOP + ph / 2.0
    );
    let ly = y(limit);
    let _ = writeln!(
        s,
        r#"<line x1="{LEFT}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="red" stroke-dasharray="6,4" stroke-width="1.5"/>"#,
        LEFT + pw
    );
    legend(
        &mut s,
        LEFT + pw + 14.0,
        TOP,
        "red",
        &format!("limit {limit}/s"),
        true,
    );
    for (i, se) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let mut d = format!("M{:.1},{:.1}", x(0.0), y(0.0));
        for (t, v) in se.per_second.iter().enumerate() {
            let _ = write!(d, " V{:.1} H{:.1}", y(*v as f64), x((t + 1) as f64));
        }
        let _ = writeln!(
            s,
            r#"<path d="{d}" fill="none" stroke="{colour}" stroke-width="1.5" stroke-opacity="0.85"/>"#
        );
        legend(
            &mut s,
            LEFT + pw + 14.0,
            TOP + 20.0 * (i + 1) as f64,
            colour,
            &se.label,
            false,
        );
    }
    s.push_str("</svg>\n");
    s
}

fn legend(s: &mut String, x: f64, y: f64, colour: &str, label: &str, dashed: bool) {
    let dash = if dashed {
        r#" stroke-dasharray="6,4""#
    } else {
        ""
    };
    let _ = writeln!(
        s,
        r#"<line x1="{x:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="{colour}" stroke-width="2"{dash}/><text x="{:.1}" y="{:.1}">{}</text>"#,
        x + 24.0,
        x + 30.0,
        y + 4.0,
        escape(label)
    );
}

fn escape(t: &str) -> String {
    t.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_path_per_series_and_the_limit_line() {
        let svg = requests_per_second_svg(
            "t <&>",
            &[
                Series {
                    label: "a".into(),
                    per_second: vec![3, 3, 2],
                },
                Series {
                    label: "b".into(),
                    per_second: vec![1],
                },
            ],
            3.0,
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert_eq!(svg.matches("stroke-opacity").count(), 2);
        assert!(svg.contains("limit 3/s") && svg.contains("t &lt;&amp;&gt;"));
    }
}
