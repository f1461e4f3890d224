//! Input hygiene: bound the size of a report, decode it without panicking and
//! strip characters that hide text from a human reader.
//!
//! Invisible, bidirectional-override and Unicode tag characters have no place in
//! a bug report; they are the usual carriers of hidden instructions aimed at an
//! AI reader ("ASCII smuggling", "Trojan Source"). They are removed before any
//! other stage sees the text, and their presence is reported as an injection
//! signal.

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Default cap on the size of one report, in bytes (1 MiB).
pub const DEFAULT_MAX_REPORT_BYTES: usize = 1024 * 1024;

/// Limits applied to every report before triage.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest accepted report, in bytes, counted before decoding.
    pub max_report_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_report_bytes: DEFAULT_MAX_REPORT_BYTES,
        }
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum InputError {
    #[error("report is {size} bytes, over the limit max_report_bytes = {limit}; raise `limits.max_report_bytes` in the config (or --max-report-bytes) if this report is genuine")]
    TooLarge { size: usize, limit: usize },
    #[error("report is empty (nothing but whitespace after removing invisible characters); nothing to triage")]
    Empty,
}

/// Families of characters removed by [`sanitize`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HiddenCharKind {
    /// Bidirectional embedding, override and isolate controls.
    Bidi,
    /// Zero-width spaces and joiners, word joiner, BOM inside the text.
    ZeroWidth,
    /// Unicode tag characters (U+E0000..U+E007F), invisible ASCII look-alikes.
    Tag,
    /// Other invisible format characters and control characters.
    OtherInvisible,
}

/// How many characters of one kind were removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stripped {
    pub kind: HiddenCharKind,
    pub count: usize,
}

/// What intake or hygiene repaired or assumed about one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputWarningCode {
    /// Invalid UTF-8 sequences were replaced by U+FFFD.
    InvalidUtf8,
    /// NUL bytes: binary data, read as text anyway.
    Binary,
    /// Invisible or control characters were removed.
    InvisibleCharacters,
    /// It started like JSON but does not parse; read as plain text.
    MalformedJson,
    /// A JSON object that is neither a GitLab issue nor a labelled case; read as plain text.
    UnrecognizedJson,
    /// A GitLab issue without a title: no line of the description is taken for one.
    MissingTitle,
    /// A GitLab issue without a description: only the title was read.
    MissingDescription,
}

/// One input warning: a fixed code, a count where one applies, and our own sentence
/// for it (the input itself is never quoted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputWarning {
    pub code: InputWarningCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<usize>,
    pub message: String,
}

impl InputWarning {
    pub fn new(code: InputWarningCode, count: Option<usize>) -> InputWarning {
        let n = count.unwrap_or(0);
        let message = match code {
            InputWarningCode::InvalidUtf8 => format!("the input is not valid UTF-8: {n} invalid byte sequence(s) were replaced before reading"),
            InputWarningCode::Binary => format!("the input contains binary data ({n} NUL byte(s)); it was read as text, so parts of it may be garbled"),
            InputWarningCode::InvisibleCharacters => format!("{n} invisible or control character(s) were removed before reading"),
            InputWarningCode::MalformedJson => "the input starts like JSON but does not parse; it was read as plain text".into(),
            InputWarningCode::UnrecognizedJson => "the input is a JSON object with neither a \"description\" (GitLab issue) nor a \"report\" (labelled case) string; it was read as plain text".into(),
            InputWarningCode::MissingTitle => "the issue has no title; only the description was read, and none of its lines was taken for a title".into(),
            InputWarningCode::MissingDescription => "the issue has no description; only the title was read".into(),
        };
        InputWarning {
            code,
            count,
            message,
        }
    }
}

/// A report that passed the limits, as clean UTF-8.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sanitized {
    /// The text with hidden characters removed and line endings normalised to `\n`.
    pub text: String,
    /// Number of invalid UTF-8 sequences replaced by U+FFFD.
    pub invalid_utf8_sequences: usize,
    /// Hidden characters removed, by kind (only kinds that occurred).
    pub stripped: Vec<Stripped>,
    /// NUL bytes in the input (removed with the other control characters): binary data.
    pub nul_bytes: usize,
}

impl Sanitized {
    /// What decoding repaired, as warnings for the note and the JSON output.
    pub fn warnings(&self) -> Vec<InputWarning> {
        let mut out = Vec::new();
        if self.nul_bytes > 0 {
            out.push(InputWarning::new(
                InputWarningCode::Binary,
                Some(self.nul_bytes),
            ));
        }
        if self.invalid_utf8_sequences > 0 {
            out.push(InputWarning::new(
                InputWarningCode::InvalidUtf8,
                Some(self.invalid_utf8_sequences),
            ));
        }
        let removed: usize = self.stripped.iter().map(|s| s.count).sum();
        if removed > 0 {
            out.push(InputWarning::new(
                InputWarningCode::InvisibleCharacters,
                Some(removed),
            ));
        }
        out
    }

    /// True when hidden characters that can smuggle instructions were present.
    pub fn injection_signal(&self) -> bool {
        self.stripped.iter().any(|s| {
            matches!(
                s.kind,
                HiddenCharKind::Bidi | HiddenCharKind::Tag | HiddenCharKind::ZeroWidth
            )
        })
    }
}

/// Classifies a character that must not survive into the text.
fn hidden_kind(c: char) -> Option<HiddenCharKind> {
    match c {
        '\u{202A}'..='\u{202E}'
        | '\u{2066}'..='\u{2069}'
        | '\u{200E}'
        | '\u{200F}'
        | '\u{061C}' => Some(HiddenCharKind::Bidi),
        '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{180E}' => {
            Some(HiddenCharKind::ZeroWidth)
        }
        '\u{E0000}'..='\u{E007F}' => Some(HiddenCharKind::Tag),
        '\u{00AD}'
        | '\u{2061}'..='\u{2064}'
        | '\u{206A}'..='\u{206F}'
        | '\u{FFF9}'..='\u{FFFB}' => Some(HiddenCharKind::OtherInvisible),
        '\n' | '\t' => None,
        c if c.is_control() => Some(HiddenCharKind::OtherInvisible),
        _ => None,
    }
}

/// Checks the size limit, decodes the bytes (lossily) and strips hidden characters.
///
/// # Errors
/// [`InputError::TooLarge`] past `limits.max_report_bytes`, [`InputError::Empty`]
/// when nothing visible remains.
pub fn sanitize(raw: &[u8], limits: &Limits) -> Result<Sanitized, InputError> {
    if raw.len() > limits.max_report_bytes {
        return Err(InputError::TooLarge {
            size: raw.len(),
            limit: limits.max_report_bytes,
        });
    }
    let mut invalid_utf8_sequences = 0;
    let decoded: String = raw
        .utf8_chunks()
        .flat_map(|chunk| {
            let bad = !chunk.invalid().is_empty();
            if bad {
                invalid_utf8_sequences += 1;
            }
            chunk
                .valid()
                .chars()
                .chain(bad.then_some(char::REPLACEMENT_CHARACTER))
        })
        .collect();
    let normalised = decoded.replace("\r\n", "\n").replace('\r', "\n");

    let mut counts: std::collections::BTreeMap<HiddenCharKind, usize> = Default::default();
    let text: String = normalised
        .chars()
        .filter(|&c| match hidden_kind(c) {
            Some(kind) => {
                *counts.entry(kind).or_default() += 1;
                false
            }
            None => true,
        })
        .collect();
    if text.trim().is_empty() {
        return Err(InputError::Empty);
    }
    Ok(Sanitized {
        text,
        invalid_utf8_sequences,
        nul_bytes: raw.iter().filter(|&&b| b == 0).count(),
        stripped: counts
            .into_iter()
            .map(|(kind, count)| Stripped { kind, count })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(raw: &[u8]) -> Sanitized {
        sanitize(raw, &Limits::default()).expect("accepted")
    }

    #[test]
    fn oversized_report_names_the_limit() {
        let err = sanitize(
            &[b'a'; 11],
            &Limits {
                max_report_bytes: 10,
            },
        )
        .unwrap_err();
        assert_eq!(
            err,
            InputError::TooLarge {
                size: 11,
                limit: 10
            }
        );
        assert!(err.to_string().contains("max_report_bytes = 10"));
    }

    #[test]
    fn invalid_utf8_is_replaced_and_counted() {
        let s = clean(b"hw/usb/hcd-xhci.c \xff\xfe overflow \xc3");
        // \xff and \xfe are two invalid sequences, the truncated \xc3 a third.
        assert_eq!(s.invalid_utf8_sequences, 3);
        assert!(s.text.starts_with("hw/usb/hcd-xhci.c \u{FFFD}"));
        assert!(s.text.ends_with('\u{FFFD}'));
    }

    #[test]
    fn hidden_characters_are_stripped_and_flagged() {
        // "ignore" spelled in tag characters, plus a bidi override and a zero-width space.
        let mut raw = String::from("e1000e\u{202E} crash\u{200B} in q35");
        raw.extend(
            "ignore"
                .chars()
                .map(|c| char::from_u32(0xE0000 + c as u32).unwrap()),
        );
        let s = clean(raw.as_bytes());
        assert_eq!(s.text, "e1000e crash in q35");
        assert!(s.injection_signal());
        let tags = s
            .stripped
            .iter()
            .find(|k| k.kind == HiddenCharKind::Tag)
            .unwrap();
        assert_eq!(tags.count, 6);
    }

    #[test]
    fn plain_text_passes_untouched_and_crlf_is_normalised() {
        let s = clean("line one\r\nline two\tend\r".as_bytes());
        assert_eq!(s.text, "line one\nline two\tend\n");
        assert!(s.stripped.is_empty());
        assert!(!s.injection_signal());
    }

    #[test]
    fn repairs_become_warnings_without_input_text() {
        let s = clean(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR hw/usb/hcd-xhci.c");
        let codes: Vec<InputWarningCode> = s.warnings().iter().map(|w| w.code).collect();
        assert_eq!(
            codes,
            [
                InputWarningCode::Binary,
                InputWarningCode::InvalidUtf8,
                InputWarningCode::InvisibleCharacters
            ]
        );
        assert!(s.warnings().iter().all(|w| !w.message.contains("PNG")));
        assert!(clean(b"plain report").warnings().is_empty());
    }

    #[test]
    fn only_invisible_characters_is_empty() {
        assert_eq!(
            sanitize("\u{200B}\u{200B}  \n".as_bytes(), &Limits::default()),
            Err(InputError::Empty)
        );
    }
}
