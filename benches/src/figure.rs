//! The SVG line chart of requests per second over time, drawn with plotters (its SVG backend
//! and line series only: text goes out as SVG `<text>`, so no font or C build is needed).

use plotters::prelude::*;

/// One line of the chart: a label and a value per whole second.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend text.
    pub label: String,
    /// Value in each second, from 0.
    pub per_second: Vec<u32>,
}

const SIZE: (u32, u32) = (760, 380);
const COLOURS: [RGBColor; 6] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
];

/// A step chart of `series` (requests in each second) with a line at `limit`.
pub fn requests_per_second_svg(title: &str, series: &[Series], limit: f64) -> String {
    let mut svg = String::new();
    draw(&mut svg, title, series, limit).expect("drawing into a string does not fail");
    svg
}

type DrawResult = Result<(), DrawingAreaErrorKind<std::io::Error>>;

fn draw(svg: &mut String, title: &str, series: &[Series], limit: f64) -> DrawResult {
    let secs = series.iter().map(|s| s.per_second.len()).max().unwrap_or(1);
    let top = series
        .iter()
        .flat_map(|s| s.per_second.iter().copied())
        .fold(limit.ceil() as u32, u32::max)
        + 1;
    let root = SVGBackend::with_string(svg, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(44)
        .build_cartesian_2d(0f64..secs.max(1) as f64, 0f64..f64::from(top))?;
    chart
        .configure_mesh()
        .x_desc("seconds since the first write chunk")
        .y_desc("requests in the second")
        .draw()?;
    for (i, s) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        // A step per whole second: the count holds from the second's start to its end.
        let steps = s.per_second.iter().enumerate().flat_map(|(t, n)| {
            let (t, n) = (t as f64, f64::from(*n));
            [(t, n), (t + 1.0, n)]
        });
        chart
            .draw_series(LineSeries::new(steps, colour.stroke_width(2)))?
            .label(s.label.clone())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], colour.stroke_width(2)));
    }
    let limit_line = [(0.0, limit), (secs.max(1) as f64, limit)];
    chart
        .draw_series(LineSeries::new(limit_line, BLACK.stroke_width(1)))?
        .label(format!("limit {limit}/s"))
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_series_and_the_limit_line() {
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
        assert!(svg.trim_start().starts_with("<svg"), "{svg}");
        assert!(svg.trim_end().ends_with("</svg>"), "{svg}");
        // Each series in its colour, once in the plot and once in the legend.
        for colour in ["#1F77B4", "#FF7F0E"] {
            let stroke = format!("stroke=\"{colour}\"");
            assert_eq!(svg.matches(&stroke).count(), 2, "{colour}: {svg}");
        }
        for label in ["a", "b", "limit 3/s", "t &lt;&amp;&gt;"] {
            assert!(
                svg.contains(&format!("\n{label}\n</text>")),
                "{label}: {svg}"
            );
        }
    }
}
