//! Dates for `aish history --since/--until`: `YYYY-MM-DD`, RFC 3339 date-times, or Unix seconds.

/// A date as Unix seconds: (start, end) of what it names. A day names its whole span (UTC); an
/// instant names itself.
pub fn parse_date(text: &str) -> Result<(f64, f64), String> {
    let text = text.trim();
    let bad = || format!("`{text}` is not a date: write 2026-11-23, 2026-11-23T14:30:00Z or Unix seconds");
    if let Ok(seconds) = text.parse::<f64>()
        && !text.contains('-')
    {
        return Ok((seconds, seconds));
    }
    let (date, time) = match text.split_once(['T', ' ']) {
        Some((d, t)) => (d, Some(t)),
        None => (text, None),
    };
    let mut parts = date.split('-');
    let (Some(y), Some(m), Some(d), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    let (year, month, day): (i64, u32, u32) =
        (y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?, d.parse().map_err(|_| bad())?);
    if !(1..=12).contains(&month) || !(1..=days_in(year, month)).contains(&day) {
        return Err(bad());
    }
    let midnight = days_from_civil(year, month, day) as f64 * 86_400.0;
    let Some(time) = time else { return Ok((midnight, midnight + 86_400.0)) };
    let (clock, offset) = split_offset(time).ok_or_else(bad)?;
    let mut hms = clock.split(':');
    let h: f64 = hms.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
    let min: f64 = hms.next().and_then(|v| v.parse().ok()).ok_or_else(bad)?;
    let s: f64 = match hms.next() {
        Some(v) => v.parse().map_err(|_| bad())?,
        None => 0.0,
    };
    if h >= 24.0 || min >= 60.0 || s >= 61.0 {
        return Err(bad());
    }
    let instant = midnight + h * 3600.0 + min * 60.0 + s - offset;
    Ok((instant, instant))
}

/// Splits `14:30:00+02:00` into the clock and the offset in seconds (`Z` or none: UTC).
fn split_offset(time: &str) -> Option<(&str, f64)> {
    if let Some(clock) = time.strip_suffix(['Z', 'z']) {
        return Some((clock, 0.0));
    }
    match time.rfind(['+', '-']) {
        Some(at) => {
            let (clock, offset) = time.split_at(at);
            let sign = if offset.starts_with('-') { -1.0 } else { 1.0 };
            let (h, m) = offset[1..].split_once(':').unwrap_or((&offset[1..], "0"));
            Some((clock, sign * (h.parse::<f64>().ok()? * 3600.0 + m.parse::<f64>().ok()? * 60.0)))
        }
        None => Some((time, 0.0)),
    }
}

fn days_in(year: i64, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_times_and_seconds() {
        assert_eq!(parse_date("1970-01-01").unwrap(), (0.0, 86_400.0));
        assert_eq!(parse_date("2026-11-23").unwrap().0, 1_795_392_000.0);
        assert_eq!(parse_date("2026-11-23T01:00:00Z").unwrap().0, 1_795_395_600.0);
        assert_eq!(parse_date("2026-11-23T03:00:00+02:00").unwrap().0, 1_795_395_600.0);
        assert_eq!(parse_date("1795465687.2").unwrap().0, 1_795_465_687.2);
        assert_eq!(parse_date("2024-02-29").unwrap().1 - parse_date("2024-02-29").unwrap().0, 86_400.0);
        for bad in ["2026-13-01", "2025-02-29", "yesterday", "2026-11", "2026-11-23T25:00"] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
    }
}
