//! What `cnngpu train` shows as it goes (progress bars, the epoch line) and the checks of a
//! dataset's splits before any work. (A module of the binary.)

use cnngpu::data;
use cnngpu::nn::MetricsValue;
use cnngpu::train::{EpochRecord, Observer};
use std::io::IsTerminal;
use std::path::Path;

/// Progress bars on a terminal, and always one plain line per epoch on stdout.
pub struct Progress {
    pub bar: Option<indicatif::ProgressBar>,
    pub epochs: usize,
    pub epoch: usize,
}

impl Observer for Progress {
    fn epoch_started(&mut self, epoch: usize, steps: usize) {
        self.epoch = epoch;
        if std::io::stderr().is_terminal() {
            let bar = indicatif::ProgressBar::new(steps as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "epoch {prefix} [{bar:30}] {pos}/{len} steps {msg} ({eta})",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar.set_prefix(format!("{}/{}", epoch + 1, self.epochs));
            self.bar = Some(bar);
        }
    }
    fn step(&mut self, done: usize, running: &MetricsValue) {
        if let Some(bar) = &self.bar {
            bar.set_position(done as u64);
            let what = match running.classes.is_empty() {
                true => "top-1",
                false => "pixel acc",
            };
            bar.set_message(format!(
                "loss {:.4} {what} {:.2}%",
                running.loss(),
                100.0 * running.top1()
            ));
        }
    }
    fn epoch_finished(&mut self, r: &EpochRecord) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        let scale = if r.loss_scale != 1.0 {
            format!(
                ", loss scale {} ({} skipped)",
                r.loss_scale, r.skipped_steps
            )
        } else {
            String::new()
        };
        if let (Some(train_iou), Some(iou), Some(dice)) =
            (r.train_mean_iou, r.test_mean_iou, r.test_mean_dice)
        {
            println!(
                "epoch {}/{}: lr {:.5}  train loss {:.4} pixel acc {:.2}% mIoU {:.4}  test loss {:.4} pixel acc {:.2}% mIoU {:.4} Dice {:.4}  {:.1}s, {:.1} images/s{scale}",
                r.epoch,
                self.epochs,
                r.lr,
                r.train_loss,
                100.0 * r.train_top1,
                train_iou,
                r.test_loss,
                100.0 * r.test_top1,
                iou,
                dice,
                r.epoch_s,
                r.train_images_per_s
            );
            return;
        }
        println!(
            "epoch {}/{}: lr {:.5}  train loss {:.4} top-1 {:.2}% top-5 {:.2}%  test loss {:.4} top-1 {:.2}% top-5 {:.2}%  {:.1}s, {:.1} images/s{scale}",
            r.epoch,
            self.epochs,
            r.lr,
            r.train_loss,
            100.0 * r.train_top1,
            100.0 * r.train_top5,
            r.test_loss,
            100.0 * r.test_top1,
            100.0 * r.test_top5,
            r.epoch_s,
            r.train_images_per_s
        );
    }
}

/// The dataset's splits, checked together before any work: both non-empty, at least two
/// classes, the same classes and the same image shape.
pub fn check_splits(splits: &data::Splits, dir: &Path) -> cnngpu::Result<()> {
    let (tr, te) = (&splits.train, &splits.test);
    let bad = |why: String| Err(cnngpu::Error::data(dir, why));
    if tr.is_empty() || te.is_empty() {
        return bad(format!(
            "the training set has {} images and the test set {}; both need at least one",
            tr.len(),
            te.len()
        ));
    }
    if tr.classes() < 2 {
        return bad(format!(
            "{} class ({}); a classifier needs at least two",
            tr.classes(),
            tr.class_names.join(", ")
        ));
    }
    if tr.class_names != te.class_names {
        return bad(format!(
            "the training classes ({}) and the test classes ({}) differ",
            tr.class_names.join(", "),
            te.class_names.join(", ")
        ));
    }
    let shape = |d: &data::Dataset| format!("{}x{}x{}", d.channels, d.height, d.width);
    if shape(tr) != shape(te) {
        return bad(format!(
            "training images are {} (CxHxW) and test images {}; they must match",
            shape(tr),
            shape(te)
        ));
    }
    Ok(())
}

/// `cnngpu eval`'s report of a segmentation model: pixel accuracy, mean IoU and Dice, and
/// every class's IoU (a line each, or one JSON object).
pub fn segmentation_report(head: &str, m: &MetricsValue, class_names: &[String], json: bool) {
    let s = m.segmentation().unwrap_or_default();
    if json {
        let obj = serde_json::json!({
            "pixels": m.samples,
            "loss": m.loss(),
            "pixel_accuracy": s.pixel_accuracy,
            "mean_iou": s.mean_iou,
            "mean_dice": s.mean_dice,
            "iou": s.iou,
            "class_names": class_names,
        });
        println!("{obj}");
        return;
    }
    println!(
        "{head}: {} labelled pixels, loss {:.4}, pixel accuracy {:.2}%, mean IoU {:.4}, mean \
         Dice {:.4}",
        m.samples,
        m.loss(),
        100.0 * s.pixel_accuracy,
        s.mean_iou,
        s.mean_dice
    );
    println!("IoU per class (-: neither labelled nor predicted):");
    for (c, iou) in s.iou.iter().enumerate() {
        let name = class_names.get(c).map_or("", String::as_str);
        match iou {
            Some(v) => println!("{c:>3} {name:<14} {v:.4}"),
            None => println!("{c:>3} {name:<14} -"),
        }
    }
}

/// The line after the last epoch: the final test figures and the best score.
pub fn final_line(r: &EpochRecord, best: f64) {
    match r.test_mean_iou {
        Some(iou) => println!(
            "final test: pixel accuracy {:.2}%, mean IoU {iou:.4}, mean Dice {:.4} (best mean \
             IoU {best:.4})",
            100.0 * r.test_top1,
            r.test_mean_dice.unwrap_or(0.0)
        ),
        None => println!(
            "final test accuracy: top-1 {:.2}%, top-5 {:.2}% (best top-1 {:.2}%)",
            100.0 * r.test_top1,
            100.0 * r.test_top5,
            100.0 * best
        ),
    }
}
