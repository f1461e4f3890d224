//! Intake: turns what arrives into a [`Report`](crate::triage::Report).
//!
//! `sectriage triage FILE` accepts plain text or Markdown, a GitLab issue as
//! JSON (`title` and `description`), or one labelled-case line (`title` and
//! `report`). Everything stays untrusted bytes until input hygiene has run.
//! What intake had to assume (JSON that fell back to text, a missing title) is
//! reported by [`input_warnings`], never silently.

pub mod poll;
pub mod timefmt;
pub mod webhook;

use serde_json::Value;

use crate::triage::hygiene::{InputWarning, InputWarningCode};

/// A report before hygiene: the title (already UTF-8, short) and the body's raw bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawReport {
    pub title: String,
    pub body: Vec<u8>,
    /// What the input was recognised as (`text`, `gitlab-issue`, `eval-case`).
    pub format: &'static str,
}

/// Longest title kept; GitLab itself caps titles at 255 characters.
const MAX_TITLE_CHARS: usize = 255;

/// Recognises the input format and splits title from body.
///
/// JSON that is neither a GitLab issue nor an eval case is treated as text,
/// so a report that happens to be JSON is still triaged.
pub fn parse_input(bytes: &[u8]) -> RawReport {
    let trimmed = bytes.trim_ascii_start();
    if trimmed.starts_with(b"{") {
        if let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(trimmed) {
            let title = obj.get("title").and_then(Value::as_str).unwrap_or("");
            if let Some(body) = obj.get("description").and_then(Value::as_str) {
                return RawReport {
                    title: clip(title),
                    body: body.as_bytes().to_vec(),
                    format: "gitlab-issue",
                };
            }
            if let Some(body) = obj.get("report").and_then(Value::as_str) {
                // Eval cases carry the title as the report's first line already.
                return RawReport {
                    title: String::new(),
                    body: body.as_bytes().to_vec(),
                    format: "eval-case",
                };
            }
            if obj.get("title").and_then(Value::as_str).is_some() {
                // An issue without a description (GitLab sends null): triaged on its title.
                return RawReport {
                    title: clip(title),
                    body: Vec::new(),
                    format: "gitlab-issue",
                };
            }
        }
    }
    RawReport {
        title: String::new(),
        body: bytes.to_vec(),
        format: "text",
    }
}

/// What intake assumed about `raw`: JSON that fell back to plain text, an issue
/// without a title. (An issue without a description is reported by the engine,
/// which triages it on its title.)
pub fn input_warnings(raw: &RawReport) -> Vec<InputWarning> {
    let mut out = Vec::new();
    match raw.format {
        "text" if raw.body.trim_ascii_start().starts_with(b"{") => {
            let code = match serde_json::from_slice::<Value>(&raw.body) {
                Ok(_) => InputWarningCode::UnrecognizedJson,
                Err(_) => InputWarningCode::MalformedJson,
            };
            out.push(InputWarning::new(code, None));
        }
        "gitlab-issue" if raw.title.trim().is_empty() => {
            out.push(InputWarning::new(InputWarningCode::MissingTitle, None));
        }
        _ => {}
    }
    out
}

fn clip(title: &str) -> String {
    let one_line = title.replace(['\r', '\n'], " ");
    one_line.chars().take(MAX_TITLE_CHARS).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gitlab_issue_json() {
        let r = parse_input(
            br#"{"iid": 7, "title": "xhci: loop", "description": "body", "confidential": true}"#,
        );
        assert_eq!(
            (r.title.as_str(), r.body.as_slice(), r.format),
            ("xhci: loop", &b"body"[..], "gitlab-issue")
        );
    }

    #[test]
    fn eval_case_line() {
        let r = parse_input(br#"{"id": "x", "report": "title\n\nbody"}"#);
        assert_eq!(r.format, "eval-case");
        assert_eq!(r.body, b"title\n\nbody");
    }

    #[test]
    fn text_and_malformed_json_stay_text() {
        assert_eq!(parse_input(b"plain report").format, "text");
        let r = parse_input(b"{ not json");
        assert_eq!((r.format, r.body.as_slice()), ("text", &b"{ not json"[..]));
    }

    fn codes(bytes: &[u8]) -> Vec<InputWarningCode> {
        input_warnings(&parse_input(bytes))
            .into_iter()
            .map(|w| w.code)
            .collect()
    }

    #[test]
    fn what_intake_assumed_is_a_warning() {
        assert!(codes(b"plain report").is_empty());
        assert!(codes(br#"{"title": "t", "description": "d"}"#).is_empty());
        assert_eq!(codes(b"{ not json"), [InputWarningCode::MalformedJson]);
        assert_eq!(
            codes(br#"{"body": "hw/usb/hcd-xhci.c overflow"}"#),
            [InputWarningCode::UnrecognizedJson]
        );
        assert_eq!(
            codes(br#"{"description": "hw/usb/hcd-xhci.c: overflow"}"#),
            [InputWarningCode::MissingTitle]
        );
        let r = parse_input(br#"{"title": "hw/usb/hcd-xhci: overflow", "description": null}"#);
        assert_eq!((r.format, r.body.len()), ("gitlab-issue", 0));
    }
}
