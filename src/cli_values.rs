//! Value parsers of the command line's numeric options: each says what it expects, so a bad
//! value is a usage error (exit 2) before anything is loaded.

/// `--batch-size`, `--epochs`, ...: a whole number of at least 1.
pub fn at_least_one(s: &str) -> std::result::Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("{e}; expected a whole number of at least 1")),
    }
}

/// A finite number within `lo..=hi` (`open_lo`: strictly above `lo`).
pub fn finite(s: &str, lo: f32, hi: f32, open_lo: bool) -> std::result::Result<f32, String> {
    let v: f32 = s.trim().parse().map_err(|e| format!("{e}"))?;
    if !v.is_finite() {
        return Err("must be a finite number".into());
    }
    if v < lo || (open_lo && v == lo) || v > hi {
        let low = if open_lo { "above" } else { "at least" };
        return Err(if hi == f32::MAX {
            format!("must be {low} {lo}")
        } else {
            format!("must be {low} {lo} and at most {hi}")
        });
    }
    Ok(v)
}

pub fn non_negative(s: &str) -> std::result::Result<f32, String> {
    finite(s, 0.0, f32::MAX, false)
}

pub fn momentum(s: &str) -> std::result::Result<f32, String> {
    finite(s, 0.0, 1.0, false)
}

pub fn gamma(s: &str) -> std::result::Result<f32, String> {
    finite(s, 0.0, f32::MAX, true)
}

pub fn groups(s: &str) -> std::result::Result<usize, String> {
    match s.parse::<usize>() {
        Ok(g @ 1..=2) => Ok(g),
        _ => Err("must be 1 or 2".into()),
    }
}
