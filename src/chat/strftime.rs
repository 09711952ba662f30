//! The clock chat templates read through `strftime_now(format)` (Llama 3.x writes "Today Date:
//! 26 Jul 2024"): a UTC date-time and the C `strftime` directives templates use.

/// A UTC calendar date and time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CivilTime {
    /// Year (e.g. 2025).
    pub year: i32,
    /// Month, 1..=12.
    pub month: u32,
    /// Day of the month, 1..=31.
    pub day: u32,
    /// Hour, 0..=23.
    pub hour: u32,
    /// Minute, 0..=59.
    pub minute: u32,
    /// Second, 0..=59.
    pub second: u32,
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const WEEKDAYS: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

impl CivilTime {
    /// 1970-01-01 00:00:00.
    pub const UNIX_EPOCH: CivilTime = CivilTime { year: 1970, month: 1, day: 1, hour: 0, minute: 0, second: 0 };

    /// Now, in UTC.
    pub fn now() -> CivilTime {
        let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
        CivilTime::from_unix(secs)
    }

    /// The UTC date-time `secs` seconds after 1970-01-01.
    pub fn from_unix(secs: i64) -> CivilTime {
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400) as u32;
        let (year, month, day) = civil_from_days(days);
        CivilTime { year, month, day, hour: rem / 3600, minute: rem / 60 % 60, second: rem % 60 }
    }

    fn days(&self) -> i64 {
        days_from_civil(self.year, self.month, self.day)
    }
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian. The era arithmetic is
/// Howard Hinnant's `civil_from_days` (chrono-compatible date algorithms).
fn civil_from_days(z: i64) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y as i32, m, d)
}

/// (year, month, day) → days since 1970-01-01; the inverse of [`civil_from_days`].
fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `t` formatted by the C/Python `strftime` directives `%a %A %b %B %d %e %H %I %j %m %M %p %S %y
/// %Y %%` and glibc's unpadded `%-d %-m %-H %-I %-M %-S %-j`; any other directive is an error.
pub fn strftime(format: &str, t: CivilTime) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = format.chars();
    let month = MONTHS[(t.month.clamp(1, 12) - 1) as usize];
    let weekday = WEEKDAYS[(t.days() + 4).rem_euclid(7) as usize];
    let yday = (t.days() - days_from_civil(t.year, 1, 1) + 1) as u32;
    let hour12 = if t.hour.is_multiple_of(12) { 12 } else { t.hour % 12 };
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let (unpadded, d) = match chars.next() {
            Some('-') => (true, chars.next()),
            d => (false, d),
        };
        let num = |v: u32, width: usize| {
            if unpadded { v.to_string() } else { format!("{v:0width$}") }
        };
        let piece = match d {
            Some('a') => weekday[..3].to_owned(),
            Some('A') => weekday.to_owned(),
            Some('b') => month[..3].to_owned(),
            Some('B') => month.to_owned(),
            Some('d') => num(t.day, 2),
            Some('e') => format!("{:>2}", t.day),
            Some('H') => num(t.hour, 2),
            Some('I') => num(hour12, 2),
            Some('j') => num(yday, 3),
            Some('m') => num(t.month, 2),
            Some('M') => num(t.minute, 2),
            Some('p') => (if t.hour < 12 { "AM" } else { "PM" }).to_owned(),
            Some('S') => num(t.second, 2),
            Some('y') => num(t.year.rem_euclid(100) as u32, 2),
            Some('Y') => t.year.to_string(),
            Some('%') => "%".to_owned(),
            other => {
                return Err(format!(
                    "strftime_now: unsupported directive `%{}{}` in `{format}`",
                    if unpadded { "-" } else { "" },
                    other.map(String::from).unwrap_or_default()
                ));
            }
        };
        out.push_str(&piece);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_directives() {
        // 2024-07-26 was a Friday (the date Llama 3.1's template falls back to).
        let t = CivilTime::from_unix(1_721_952_000 + 13 * 3600 + 5 * 60 + 9);
        assert_eq!(t, CivilTime { year: 2024, month: 7, day: 26, hour: 13, minute: 5, second: 9 });
        assert_eq!(strftime("%d %b %Y", t).unwrap(), "26 Jul 2024");
        assert_eq!(
            strftime("%A %-d %B %y, %I:%M:%S %p, day %j %%", t).unwrap(),
            "Friday 26 July 24, 01:05:09 PM, day 208 %"
        );
        assert_eq!(CivilTime::from_unix(0), CivilTime::UNIX_EPOCH);
        assert_eq!(CivilTime::from_unix(951_782_400).day, 29, "2000-02-29 exists");
        assert!(strftime("%Q", t).unwrap_err().contains("%Q"));
    }
}
