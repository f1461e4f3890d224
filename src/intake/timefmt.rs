//! Poll-cursor timestamps (`2026-01-04T15:31:51.081Z`) to and from Unix
//! milliseconds. Thin names over [`crate::gitlab::time`], the crate's one date
//! parser, so the cursor and the webhook read dates the same way.

/// Parses a GitLab timestamp to Unix milliseconds; `None` for anything else (never panics).
pub fn parse_ms(ts: &str) -> Option<i64> {
    crate::gitlab::time::parse_to_unix_ms(ts)
}

/// Formats Unix milliseconds as GitLab does: `2026-01-04T15:31:51.081Z`.
pub fn format_ms(ms: i64) -> String {
    crate::gitlab::time::format_iso_ms(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_gitlab_timestamps() {
        let ts = "2026-01-04T15:31:51.081Z";
        let ms = parse_ms(ts).unwrap();
        assert_eq!(ms, 1_767_540_711_081);
        assert_eq!(format_ms(ms), ts);
        assert_eq!(parse_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            format_ms(parse_ms("2024-02-29T23:59:59.5Z").unwrap()),
            "2024-02-29T23:59:59.500Z"
        );
        assert_eq!(parse_ms("yesterday"), None);
        assert_eq!(parse_ms("2026-01-0é"), None);
    }
}
