//! GitLab timestamps: formatting with milliseconds and tolerant parsing.
//!
//! GitLab writes `2026-01-04T15:31:51.081Z` in REST responses but webhook payloads mix that with
//! `2015-05-17 17:06:40 UTC`. Everything here works in Unix milliseconds (UTC) so the fake's
//! clock and the webhook parser share one representation without a date crate.

/// Formats Unix milliseconds as GitLab's REST form, `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn format_iso_ms(unix_ms: i64) -> String {
    let (y, mo, d, h, mi, s) = split(unix_ms.div_euclid(1000));
    let ms = unix_ms.rem_euclid(1000);
    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}Z")
}

/// Formats Unix milliseconds as the older webhook form, `YYYY-MM-DD HH:MM:SS UTC`.
pub fn format_hook_utc(unix_ms: i64) -> String {
    let (y, mo, d, h, mi, s) = split(unix_ms.div_euclid(1000));
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02} UTC")
}

/// Parses ISO 8601 / RFC 3339 (`2026-01-04T15:31:51.081Z`, `…+02:00`, `2026-01-04`) and GitLab's
/// older `2015-05-17 17:06:40 UTC` into Unix milliseconds. Returns `None` for anything else.
pub fn parse_to_unix_ms(text: &str) -> Option<i64> {
    let text = text.trim();
    let bytes = text.as_bytes();
    if bytes.len() < 10 || bytes[4] != b'-' || bytes[7] != b'-' {
        return None;
    }
    let year: i64 = digits(&text[0..4])?;
    let month: i64 = digits(&text[5..7])?;
    let day: i64 = digits(&text[8..10])?;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    if bytes.len() == 10 {
        return Some(days * 86_400_000);
    }
    if bytes[10] != b'T' && bytes[10] != b't' && bytes[10] != b' ' {
        return None;
    }
    let rest = &text[11..];
    if rest.len() < 8 || rest.as_bytes()[2] != b':' || rest.as_bytes()[5] != b':' {
        return None;
    }
    let hour: i64 = digits(&rest[0..2])?;
    let minute: i64 = digits(&rest[3..5])?;
    let second: i64 = digits(&rest[6..8])?;
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &rest[8..];
    let mut millis = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let n_digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if n_digits == 0 {
            return None;
        }
        // Keep millisecond precision; GitLab never sends more than microseconds.
        let mut scaled = String::from(&fraction[..n_digits.min(3)]);
        while scaled.len() < 3 {
            scaled.push('0');
        }
        millis = digits(&scaled)?;
        rest = &fraction[n_digits..];
    }
    let offset_secs = match rest.trim() {
        "Z" | "z" | "UTC" | "+00:00" | "" => 0,
        zone => {
            let sign = match zone.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let zone = zone[1..].replace(':', "");
            if zone.len() != 4 {
                return None;
            }
            let oh: i64 = digits(&zone[0..2])?;
            let om: i64 = digits(&zone[2..4])?;
            sign * (oh * 3600 + om * 60)
        }
    };
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
    Some(secs * 1000 + millis)
}

/// Normalises either GitLab date form to the REST form (`YYYY-MM-DDTHH:MM:SS.mmmZ`).
pub fn normalize(text: &str) -> Option<String> {
    parse_to_unix_ms(text).map(format_iso_ms)
}

fn digits(text: &str) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn split(unix_secs: i64) -> (i64, i64, i64, i64, i64, i64) {
    let days = unix_secs.div_euclid(86_400);
    let secs_of_day = unix_secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    (
        y,
        m,
        d,
        secs_of_day / 3600,
        (secs_of_day % 3600) / 60,
        secs_of_day % 60,
    )
}

// Howard Hinnant's proleptic Gregorian conversions (public domain algorithms).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_rest_form() {
        let ms = parse_to_unix_ms("2026-01-04T15:31:51.081Z").unwrap();
        assert_eq!(format_iso_ms(ms), "2026-01-04T15:31:51.081Z");
    }

    #[test]
    fn parses_both_hook_forms_to_the_same_instant() {
        let a = parse_to_unix_ms("2015-05-17 17:06:40 UTC").unwrap();
        let b = parse_to_unix_ms("2015-05-17T17:06:40Z").unwrap();
        let c = parse_to_unix_ms("2015-05-17T19:06:40.000+02:00").unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(format_hook_utc(a), "2015-05-17 17:06:40 UTC");
        assert_eq!(
            normalize("2013-12-03T17:15:43Z").unwrap(),
            "2013-12-03T17:15:43.000Z"
        );
    }

    #[test]
    fn epoch_and_date_only() {
        assert_eq!(parse_to_unix_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_to_unix_ms("1970-01-02"), Some(86_400_000));
        assert_eq!(format_iso_ms(0), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "2026-01-01X00:00:00Z",
            "2026-01-01T00:00:00 CET",
        ] {
            assert_eq!(parse_to_unix_ms(bad), None, "{bad}");
        }
    }
}
