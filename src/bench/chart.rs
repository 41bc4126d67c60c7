//! The `bench compare` chart: training throughput of every report (log scale), and each
//! model's kernel passes as speed relative to the first report.

use super::report::{speedup, Group, Report};
use crate::error::Result;
use crate::plot::{color, drawing, Picture};
use plotters::prelude::*;

/// Grouped bars: `labels` along x, one bar per series; `None` values leave a gap.
fn grouped_bars(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    title: &str,
    y_desc: &str,
    labels: &[String],
    series: &[(String, Vec<Option<f64>>)],
    reference_line: Option<f64>,
) -> Result<()> {
    let values = series.iter().flat_map(|s| s.1.iter().flatten().copied());
    let (lo, hi) = values.fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
    let (lo, hi) = if lo > hi {
        (0.1, 10.0)
    } else {
        let lo = lo.min(reference_line.unwrap_or(lo));
        let hi = hi.max(reference_line.unwrap_or(hi));
        (lo / 2.0, hi * 2.0)
    };
    let n = labels.len().max(1);
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(90)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..n as f64, (lo..hi).log_scale())
        .map_err(drawing)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n * 2 + 1)
        .x_label_formatter(&|x| {
            let i = x.floor() as usize;
            if (x - i as f64 - 0.5).abs() < 0.26 && i < labels.len() {
                labels[i].clone()
            } else {
                String::new()
            }
        })
        .x_label_style(("sans-serif", 13))
        .y_desc(y_desc)
        .draw()
        .map_err(drawing)?;
    let width = 0.8 / series.len().max(1) as f64;
    for (j, (name, vals)) in series.iter().enumerate() {
        let c = color(j);
        chart
            .draw_series(vals.iter().enumerate().filter_map(|(i, v)| {
                let x0 = i as f64 + 0.1 + j as f64 * width;
                v.map(|v| Rectangle::new([(x0, lo), (x0 + width * 0.9, v)], c.filled()))
            }))
            .map_err(drawing)?
            .label(name.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], c.filled()));
    }
    if let Some(r) = reference_line {
        chart
            .draw_series(LineSeries::new(
                [(0.0, r), (n as f64, r)],
                BLACK.stroke_width(1),
            ))
            .map_err(drawing)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(drawing)?;
    Ok(())
}

/// The comparison chart of `reports` (the first is the reference), 1400 x 1000 pixels.
pub fn compare_chart(reports: &[Report]) -> Result<Picture> {
    let mut pic = Picture::new(1400, 1000);
    let rows = super::report::rows(reports);
    let names: Vec<String> = reports
        .iter()
        .enumerate()
        .map(|(i, r)| format!("{}: {}", (b'A' + i as u8) as char, r.label()))
        .collect();

    // Training throughput, absolute.
    let train: Vec<_> = rows
        .iter()
        .filter(|r| r.entries.iter().flatten().any(|e| e.group == Group::Train))
        .collect();
    let train_labels: Vec<String> = train
        .iter()
        .map(|r| r.id.trim_start_matches("train/").to_string())
        .collect();
    let train_series: Vec<(String, Vec<Option<f64>>)> = names
        .iter()
        .enumerate()
        .map(|(j, n)| {
            let vals = train
                .iter()
                .map(|r| r.entries[j].and_then(|e| e.value))
                .collect();
            (n.clone(), vals)
        })
        .collect();

    // Kernel passes: geometric mean speed vs A per model and layer kind.
    let mut kernel_labels: Vec<String> = Vec::new();
    for r in &rows {
        if let Some(group) = kernel_group(r.id) {
            if !kernel_labels.contains(&group) {
                kernel_labels.push(group);
            }
        }
    }
    let kernel_series: Vec<(String, Vec<Option<f64>>)> = names
        .iter()
        .enumerate()
        .map(|(j, n)| {
            let vals = kernel_labels
                .iter()
                .map(|label| {
                    let ratios: Vec<f64> = rows
                        .iter()
                        .filter(|r| kernel_group(r.id).as_deref() == Some(label.as_str()))
                        .filter_map(|r| match (r.entries[0], r.entries[j]) {
                            (Some(a), Some(b)) => speedup(a, b),
                            _ => None,
                        })
                        .collect();
                    (!ratios.is_empty()).then(|| {
                        (ratios.iter().map(|r| r.ln()).sum::<f64>() / ratios.len() as f64).exp()
                    })
                })
                .collect();
            (n.clone(), vals)
        })
        .collect();

    pic.draw(|root| {
        root.fill(&WHITE).map_err(drawing)?;
        let (top, bottom) = root.split_vertically(500);
        grouped_bars(
            &top,
            "Training throughput",
            "images/s (log scale)",
            &train_labels,
            &train_series,
            None,
        )?;
        grouped_bars(
            &bottom,
            "Kernel passes by layer kind: speed relative to A (geometric mean over passes and precisions; > 1 is faster)",
            "x speed of A (log scale)",
            &kernel_labels,
            &kernel_series,
            Some(1.0),
        )?;
        root.present().map_err(drawing)
    })?;
    Ok(pic)
}

/// `kernel/conv2d_forward/alexnet_conv2_g2/b16/f32` → `alexnet conv` (model and op kind;
/// both precisions and all passes pooled into one geometric mean).
fn kernel_group(id: &str) -> Option<String> {
    let case = id.strip_prefix("kernel/")?.split('/').nth(1)?;
    let mut parts = case.split('_');
    let model = parts.next()?;
    let kind: String = parts
        .next()?
        .chars()
        .filter(|c| c.is_alphabetic())
        .collect();
    Some(format!("{model} {kind}"))
}
