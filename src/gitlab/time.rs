//! GitLab timestamps: formatting with milliseconds and tolerant parsing, the
//! one date parser of the crate (`intake::timefmt` forwards here).
//!
//! GitLab writes `2026-01-04T15:31:51.081Z` in REST responses but webhook payloads mix that with
//! `2015-05-17 17:06:40 UTC`. Everything here works in Unix milliseconds (UTC) so the fake's
//! clock, the poll cursor and the webhook parser share one representation. The calendar
//! arithmetic is the `time` crate's; the input is untrusted text, so every function here
//! returns `None` (never panics) on anything it does not recognise.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// `2015-05-17 17:06:40` (also with `T` and a fraction), the part before an ` UTC` suffix.
const LOCAL: &[time::format_description::BorrowedFormatItem<'static>] = format_description!(
    "[year]-[month]-[day][first [T][t][ ]][hour]:[minute]:[second][optional [.[subsecond]]]"
);
/// `2015-05-17 17:06:40 +0200` (older hook payloads); `+02:00` is RFC 3339 and parsed as such.
const LOCAL_WITH_OFFSET: &[time::format_description::BorrowedFormatItem<'static>] = format_description!(
    "[year]-[month]-[day][first [T][t][ ]][hour]:[minute]:[second][optional [.[subsecond]]][optional [ ]][offset_hour sign:mandatory][optional [:]][offset_minute]"
);
const DATE_ONLY: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]");
const ISO_MS: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
const HOOK_UTC: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");

/// The instant `unix_ms` names, clamped to the years the `time` crate represents (±9999).
fn instant(unix_ms: i64) -> OffsetDateTime {
    let min = PrimitiveDateTime::MIN.assume_utc().unix_timestamp_nanos() / 1_000_000;
    let max = PrimitiveDateTime::MAX.assume_utc().unix_timestamp_nanos() / 1_000_000;
    let ms = i128::from(unix_ms).clamp(min, max);
    OffsetDateTime::from_unix_timestamp_nanos(ms * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

fn format_with(
    unix_ms: i64,
    format: &[time::format_description::BorrowedFormatItem<'_>],
) -> String {
    // Formatting a UTC instant with a fixed description cannot fail; keep a visible fallback anyway.
    instant(unix_ms)
        .format(format)
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000Z".to_string())
}

/// Formats Unix milliseconds as GitLab's REST form, `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn format_iso_ms(unix_ms: i64) -> String {
    format_with(unix_ms, ISO_MS)
}

/// Formats Unix milliseconds as the older webhook form, `YYYY-MM-DD HH:MM:SS UTC`.
pub fn format_hook_utc(unix_ms: i64) -> String {
    format_with(unix_ms, HOOK_UTC)
}

/// Parses RFC 3339 (`2026-01-04T15:31:51.081Z`, `…+02:00`), a date alone (`2026-01-04`, midnight
/// UTC) and GitLab's older `2015-05-17 17:06:40 UTC` / `… +0200` into Unix milliseconds (a
/// fraction below a millisecond is dropped). Returns `None` for anything else, non-ASCII included.
pub fn parse_to_unix_ms(text: &str) -> Option<i64> {
    let text = text.trim();
    if !text.is_ascii() {
        return None;
    }
    // The `time` crate's RFC 3339 reading takes any separator; GitLab uses `T` or a space.
    if text.len() > 10 && !matches!(text.as_bytes()[10], b'T' | b't' | b' ') {
        return None;
    }
    let parsed = if let Some(local) = text.strip_suffix("UTC") {
        PrimitiveDateTime::parse(local.trim_end(), LOCAL)
            .ok()?
            .assume_utc()
    } else if let Ok(dt) = OffsetDateTime::parse(text, &Rfc3339) {
        dt
    } else if let Ok(date) = Date::parse(text, DATE_ONLY) {
        date.midnight().assume_utc()
    } else if let Ok(dt) = OffsetDateTime::parse(text, LOCAL_WITH_OFFSET) {
        dt
    } else {
        // No zone at all: GitLab never sends one, but UTC is the only sensible reading.
        PrimitiveDateTime::parse(text, LOCAL).ok()?.assume_utc()
    };
    let ms = parsed
        .to_offset(UtcOffset::UTC)
        .unix_timestamp_nanos()
        .div_euclid(1_000_000);
    i64::try_from(ms).ok()
}

/// Normalises either GitLab date form to the REST form (`YYYY-MM-DDTHH:MM:SS.mmmZ`).
pub fn normalize(text: &str) -> Option<String> {
    parse_to_unix_ms(text).map(format_iso_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_rest_form() {
        let ms = parse_to_unix_ms("2026-01-04T15:31:51.081Z").unwrap();
        assert_eq!(ms, 1_767_540_711_081);
        assert_eq!(format_iso_ms(ms), "2026-01-04T15:31:51.081Z");
        assert_eq!(
            format_iso_ms(parse_to_unix_ms("2024-02-29T23:59:59.5Z").unwrap()),
            "2024-02-29T23:59:59.500Z"
        );
        assert_eq!(
            format_iso_ms(parse_to_unix_ms("2024-02-29T23:59:59.123456Z").unwrap()),
            "2024-02-29T23:59:59.123Z"
        );
    }

    #[test]
    fn parses_both_hook_forms_to_the_same_instant() {
        let a = parse_to_unix_ms("2015-05-17 17:06:40 UTC").unwrap();
        let b = parse_to_unix_ms("2015-05-17T17:06:40Z").unwrap();
        let c = parse_to_unix_ms("2015-05-17T19:06:40.000+02:00").unwrap();
        let d = parse_to_unix_ms("2015-05-17 19:06:40 +0200").unwrap();
        let e = parse_to_unix_ms("2015-05-17T17:06:40").unwrap();
        assert_eq!([b, c, d, e], [a; 4]);
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
        assert_eq!(format_iso_ms(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(parse_to_unix_ms("1969-12-31T23:59:59.999Z"), Some(-1));
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-01-01X00:00:00Z",
            "2026-01-01T00:00:00 CET",
            "2026-01-01T25:00:00Z",
        ] {
            assert_eq!(parse_to_unix_ms(bad), None, "{bad}");
        }
    }

    /// Untrusted text with non-ASCII characters anywhere must give `None`, never a panic
    /// (the hand-written parser this replaced sliced by byte offsets and panicked on
    /// `2026-01-0é`).
    #[test]
    fn non_ascii_input_never_panics() {
        for bad in [
            "2026-01-0é",
            "2026-01-01Té0:00:00Z",
            "2026-01-01T00:00:00.é",
            "2026-01-01T00:00:00+0é:00",
            "２０２６-01-01",
            "2026-01-01T00:00:00Z\u{0301}",
            "é",
            "€€€€-€€-€€",
        ] {
            assert_eq!(parse_to_unix_ms(bad), None, "{bad:?}");
        }
        // Property over every position of every accepted form: replacing or inserting a
        // multi-byte character anywhere is rejected without a panic.
        let valid = [
            "2026-01-04T15:31:51.081Z",
            "2015-05-17 17:06:40 UTC",
            "2015-05-17T19:06:40.000+02:00",
            "2015-05-17 19:06:40 +0200",
            "1970-01-02",
        ];
        for v in valid {
            assert!(parse_to_unix_ms(v).is_some(), "{v}");
            let chars: Vec<char> = v.chars().collect();
            for i in 0..=chars.len() {
                for c in ['é', '€', '𝟘', '\u{0301}', '\u{FEFF}'] {
                    let mut replaced = chars.clone();
                    if i < chars.len() {
                        replaced[i] = c;
                        let s: String = replaced.iter().collect();
                        assert_eq!(parse_to_unix_ms(&s), None, "{s:?}");
                    }
                    let mut inserted = chars.clone();
                    inserted.insert(i, c);
                    let s: String = inserted.iter().collect();
                    assert_eq!(parse_to_unix_ms(&s), None, "{s:?}");
                }
            }
        }
    }

    #[test]
    fn extreme_values_format_without_panicking() {
        assert!(format_iso_ms(i64::MAX).starts_with("9999-12-31T23:59:59"));
        assert!(format_iso_ms(i64::MIN).starts_with('-'));
    }
}
