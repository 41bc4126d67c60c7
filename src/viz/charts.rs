//! Charts: training curves from metrics.jsonl, the confusion matrix as a heat map, and the
//! 2-D embeddings as scatter plots.

use super::class_color;
use crate::error::{Error, Result};
use crate::plot::{drawing, Picture};
use crate::train::EpochRecord;
use plotters::prelude::*;

/// Reads metrics.jsonl (one [`EpochRecord`] a line), naming the file and line on errors.
pub fn read_metrics(path: &std::path::Path) -> Result<Vec<EpochRecord>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut out = Vec::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        out.push(
            serde_json::from_str(line).map_err(|e| {
                Error::data(path, format!("line {}: not an epoch record: {e}", i + 1))
            })?,
        );
    }
    if out.is_empty() {
        return Err(Error::data(path, "no epochs recorded"));
    }
    Ok(out)
}

type Series<'a> = (&'a str, RGBColor, bool, Vec<(f64, f64)>);

fn line_chart(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    title: &str,
    y_desc: &str,
    series: &[Series<'_>],
    y_range: std::ops::Range<f64>,
    epochs: usize,
    legend: SeriesLabelPosition,
) -> Result<()> {
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 20))
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.5f64..epochs as f64 + 0.5, y_range)
        .map_err(drawing)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(y_desc)
        .x_labels(epochs.min(12))
        .x_label_formatter(&|x| format!("{}", x.round() as i64))
        .draw()
        .map_err(drawing)?;
    for (name, color, dashed, points) in series {
        let style = color.stroke_width(2);
        if *dashed {
            chart
                .draw_series(DashedLineSeries::new(points.iter().copied(), 6, 4, style))
                .map_err(drawing)?
        } else {
            chart
                .draw_series(LineSeries::new(points.iter().copied(), style))
                .map_err(drawing)?
        }
        .label(*name)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))
            .map_err(drawing)?;
    }
    chart
        .configure_series_labels()
        .position(legend)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(drawing)?;
    Ok(())
}

/// Loss, and top-1 / top-5 accuracy (a segmentation run: pixel accuracy and mean IoU), per
/// epoch: train solid, test dashed. 1200 x 480.
pub fn curves(records: &[EpochRecord], title: &str) -> Result<Picture> {
    let mut pic = Picture::new(1200, 480);
    let n = records.len();
    let pts = |f: &dyn Fn(&EpochRecord) -> f64| -> Vec<(f64, f64)> {
        records.iter().map(|r| (r.epoch as f64, f(r))).collect()
    };
    let (blue, orange, green) = (class_color(0), class_color(1), class_color(2));
    let loss = [
        ("train loss", blue, false, pts(&|r| r.train_loss)),
        ("test loss", orange, true, pts(&|r| r.test_loss)),
    ];
    let max_loss = loss
        .iter()
        .flat_map(|s| s.3.iter().map(|p| p.1))
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    // A segmentation run: pixel accuracy and mean IoU (in %) instead of top-1 and top-5.
    let segmentation = records.iter().any(|r| r.test_mean_iou.is_some());
    let iou = |v: Option<f64>| 100.0 * v.unwrap_or(0.0);
    let acc = match segmentation {
        false => [
            ("train top-1", blue, false, pts(&|r| 100.0 * r.train_top1)),
            ("test top-1", orange, true, pts(&|r| 100.0 * r.test_top1)),
            ("train top-5", green, false, pts(&|r| 100.0 * r.train_top5)),
            (
                "test top-5",
                class_color(3),
                true,
                pts(&|r| 100.0 * r.test_top5),
            ),
        ],
        true => [
            (
                "train pixel acc",
                blue,
                false,
                pts(&|r| 100.0 * r.train_top1),
            ),
            (
                "test pixel acc",
                orange,
                true,
                pts(&|r| 100.0 * r.test_top1),
            ),
            ("train mIoU", green, false, pts(&|r| iou(r.train_mean_iou))),
            (
                "test mIoU",
                class_color(3),
                true,
                pts(&|r| iou(r.test_mean_iou)),
            ),
        ],
    };
    let min_acc = acc
        .iter()
        .flat_map(|s| s.3.iter().map(|p| p.1))
        .fold(100.0f64, f64::min);
    pic.draw(|root| {
        root.fill(&WHITE).map_err(drawing)?;
        let root = root.titled(title, ("sans-serif", 22)).map_err(drawing)?;
        let (left, right) = root.split_horizontally(600);
        line_chart(
            &left,
            "Loss",
            "cross-entropy",
            &loss,
            0.0..max_loss * 1.1 + 1e-3,
            n,
            SeriesLabelPosition::UpperRight,
        )?;
        let lo = (min_acc - 5.0).clamp(0.0, 95.0).floor();
        // Accuracy rises towards the top: the legend goes below (between pixel accuracy and
        // mean IoU for a segmentation run).
        let place = match segmentation {
            true => SeriesLabelPosition::MiddleRight,
            false => SeriesLabelPosition::LowerRight,
        };
        line_chart(&right, "Accuracy", "%", &acc, lo..100.5, n, place)?;
        root.present().map_err(drawing)
    })?;
    Ok(pic)
}

/// The confusion matrix (rows: true class, columns: predicted) as a heat map of each row's
/// share, with the counts written in the cells.
pub fn confusion_heatmap(confusion: &[Vec<u64>], names: &[String], title: &str) -> Result<Picture> {
    let c = confusion.len();
    if c == 0 || confusion.iter().any(|r| r.len() != c) {
        return Err(Error::invalid(
            "confusion matrix",
            "must be square and non-empty",
        ));
    }
    let cell = (560 / c as u32).clamp(14, 56);
    let (left, top) = (170u32, 80u32);
    // Wide enough for a title of about 75 characters even with few classes.
    let width = (left + cell * c as u32 + 110).max(760);
    let mut pic = Picture::new(width, top + cell * c as u32 + 50);
    let label = |i: usize| {
        let n = names.get(i).cloned().unwrap_or_else(|| i.to_string());
        let n: String = n.chars().take(18).collect();
        format!("{i} {n}")
    };
    pic.draw(|root| {
        root.fill(&WHITE).map_err(drawing)?;
        let font = |size: f64, color: RGBColor| ("sans-serif", size).into_font().color(&color);
        root.draw(&Text::new(title.to_string(), (10, 10), font(20.0, BLACK)))
            .map_err(drawing)?;
        root.draw(&Text::new(
            "predicted class →".to_string(),
            (left as i32, top as i32 - 42),
            font(14.0, BLACK),
        ))
        .map_err(drawing)?;
        root.draw(&Text::new(
            "true class ↓".to_string(),
            (10, top as i32 - 22),
            font(14.0, BLACK),
        ))
        .map_err(drawing)?;
        for (i, row) in confusion.iter().enumerate() {
            let total = row.iter().sum::<u64>().max(1) as f64;
            let y = (top + i as u32 * cell) as i32;
            root.draw(&Text::new(
                label(i),
                (8, y + cell as i32 / 2 - 7),
                font(12.0, BLACK),
            ))
            .map_err(drawing)?;
            for (j, &v) in row.iter().enumerate() {
                let share = v as f64 / total;
                let x = (left + j as u32 * cell) as i32;
                let color = ViridisRGB::get_color(share);
                root.draw(&Rectangle::new(
                    [(x, y), (x + cell as i32 - 1, y + cell as i32 - 1)],
                    color.filled(),
                ))
                .map_err(drawing)?;
                if cell >= 28 {
                    let ink = if share > 0.6 { BLACK } else { WHITE };
                    root.draw(&Text::new(
                        v.to_string(),
                        (x + 4, y + cell as i32 / 2 - 7),
                        font(12.0, ink),
                    ))
                    .map_err(drawing)?;
                }
            }
        }
        for j in 0..c {
            let x = (left + j as u32 * cell) as i32 + cell as i32 / 2 - 5;
            root.draw(&Text::new(
                j.to_string(),
                (x, top as i32 - 20),
                font(12.0, BLACK),
            ))
            .map_err(drawing)?;
        }
        // Colour scale.
        let sx = (left + c as u32 * cell + 20) as i32;
        let h = (cell * c as u32) as i32;
        for k in 0..h {
            let share = 1.0 - k as f64 / h as f64;
            root.draw(&Rectangle::new(
                [(sx, top as i32 + k), (sx + 16, top as i32 + k + 1)],
                ViridisRGB::get_color(share).filled(),
            ))
            .map_err(drawing)?;
        }
        root.draw(&Text::new(
            "100%".to_string(),
            (sx + 20, top as i32 - 6),
            font(12.0, BLACK),
        ))
        .map_err(drawing)?;
        root.draw(&Text::new(
            "0%".to_string(),
            (sx + 20, top as i32 + h - 8),
            font(12.0, BLACK),
        ))
        .map_err(drawing)?;
        root.draw(&Text::new(
            "row share".to_string(),
            (sx - 10, top as i32 + h + 10),
            font(12.0, BLACK),
        ))
        .map_err(drawing)?;
        root.present().map_err(drawing)
    })?;
    Ok(pic)
}

/// t-SNE and UMAP side by side, each point coloured by its class, with the legend in a strip
/// of its own to their right (never over a point). 1560 x 700.
pub fn embeddings_picture(
    tsne: &[[f32; 2]],
    umap: &[[f32; 2]],
    labels: &[u32],
    names: &[String],
    title: &str,
) -> Result<Picture> {
    let mut pic = Picture::new(1560, 700);
    pic.draw(|root| {
        root.fill(&WHITE).map_err(drawing)?;
        let root = root.titled(title, ("sans-serif", 22)).map_err(drawing)?;
        let (plots, key) = root.split_horizontally(1400);
        let (left, right) = plots.split_horizontally(700);
        scatter(&left, "t-SNE", tsne, labels)?;
        scatter(&right, "UMAP", umap, labels)?;
        legend_strip(&key, labels, names)?;
        root.present().map_err(drawing)
    })?;
    Ok(pic)
}

/// One row per class that has points: its colour and name.
fn legend_strip(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    labels: &[u32],
    names: &[String],
) -> Result<()> {
    let classes = labels.iter().map(|&l| l as usize + 1).max().unwrap_or(0);
    let mut y = 60;
    for c in (0..classes).filter(|&c| labels.iter().any(|&l| l as usize == c)) {
        let name = names.get(c).cloned().unwrap_or_else(|| c.to_string());
        area.draw(&Circle::new((14, y), 6, class_color(c).filled()))
            .map_err(drawing)?;
        area.draw(&Text::new(name, (26, y - 8), ("sans-serif", 15)))
            .map_err(drawing)?;
        y += 24;
    }
    Ok(())
}

fn bounds(points: &[[f32; 2]]) -> (std::ops::Range<f64>, std::ops::Range<f64>) {
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for p in points {
        x0 = x0.min(p[0] as f64);
        x1 = x1.max(p[0] as f64);
        y0 = y0.min(p[1] as f64);
        y1 = y1.max(p[1] as f64);
    }
    let (px, py) = (((x1 - x0) * 0.05).max(1e-6), ((y1 - y0) * 0.05).max(1e-6));
    (x0 - px..x1 + px, y0 - py..y1 + py)
}

fn scatter(
    area: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    title: &str,
    points: &[[f32; 2]],
    labels: &[u32],
) -> Result<()> {
    let (xr, yr) = bounds(points);
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .build_cartesian_2d(xr, yr)
        .map_err(drawing)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_axes()
        .draw()
        .map_err(drawing)?;
    let classes = labels.iter().map(|&l| l as usize + 1).max().unwrap_or(0);
    for c in 0..classes {
        if !labels.iter().any(|&l| l as usize == c) {
            continue; // no point of this class
        }
        let color = class_color(c);
        chart
            .draw_series(
                points
                    .iter()
                    .zip(labels)
                    .filter(|(_, &l)| l as usize == c)
                    .map(|(p, _)| Circle::new((p[0] as f64, p[1] as f64), 3, color.filled())),
            )
            .map_err(drawing)?;
    }
    Ok(())
}
