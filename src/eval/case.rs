//! The labelled-case format: one JSON object per line (see `eval/README.md`).
//!
//! Only the fields the scoring needs are read; everything else in a line is
//! metadata and is ignored. The engine gets the whole line, exactly as
//! `sectriage triage` would, through [`crate::intake::parse_input`].

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::EvalError;
use crate::kb::UseCase;

/// What a case is labelled with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// `unclear` in the file reads as [`UseCase::NeedsJudgement`].
    pub use_case: UseCase,
    pub security_relevant: bool,
    /// `provenance.declared`; `None` when the case does not say.
    pub provenance_declared: Option<bool>,
    /// `embargo_request`: the reporter asks for an embargo, a disclosure date,
    /// coordinated disclosure or a deadline. Absent means no request.
    pub embargo_request: bool,
}

/// One labelled case.
#[derive(Debug, Clone)]
pub struct Case {
    pub id: String,
    /// Index of the input file in `--cases` order.
    pub file_index: usize,
    /// 1-based line number in that file.
    pub line: usize,
    /// The raw JSON line, handed to the engine as is.
    pub raw: String,
    pub label: Label,
}

#[derive(Deserialize)]
struct Line {
    id: String,
    report: String,
    label: LabelLine,
    #[serde(default)]
    provenance: Option<ProvenanceLine>,
    #[serde(default)]
    embargo_request: bool,
}

#[derive(Deserialize)]
struct LabelLine {
    use_case: String,
    security_relevant: bool,
}

#[derive(Deserialize)]
struct ProvenanceLine {
    declared: Option<bool>,
}

/// A header line (`{"_header": ...}`, as `sectriage decisions export` writes): not a case.
fn is_header(line: &str) -> bool {
    line.trim_start().starts_with("{\"_header\"")
        && serde_json::from_str::<serde_json::Value>(line).is_ok_and(|v| v.get("_header").is_some())
}

/// Parses one line; `Err` carries a message for the user.
pub fn parse_line(line: &str) -> Result<(String, Label), String> {
    let l: Line = serde_json::from_str(line).map_err(|e| e.to_string())?;
    if l.id.trim().is_empty() {
        return Err("the id is empty".into());
    }
    if l.report.trim().is_empty() {
        return Err(format!("case {}: the report is empty", l.id));
    }
    let use_case = l
        .label
        .use_case
        .parse::<UseCase>()
        .map_err(|e| format!("case {}: label.use_case: {e}", l.id))?;
    Ok((
        l.id,
        Label {
            use_case,
            security_relevant: l.label.security_relevant,
            provenance_declared: l.provenance.and_then(|p| p.declared),
            embargo_request: l.embargo_request,
        },
    ))
}

/// Reads every file; blank lines are skipped, any other bad line is an error
/// naming the file and line, so a labelling mistake is never scored silently.
///
/// # Errors
/// [`EvalError::Read`], [`EvalError::Case`], or [`EvalError::DuplicateId`]
/// (ids key the per-case comparison, so they must be unique across files).
pub fn read_cases(files: &[PathBuf]) -> Result<Vec<Case>, EvalError> {
    let mut cases = Vec::new();
    let mut seen = BTreeSet::new();
    for (file_index, path) in files.iter().enumerate() {
        let text = std::fs::read_to_string(path).map_err(|source| EvalError::Read {
            path: path.display().to_string(),
            source,
        })?;
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() || is_header(line) {
                continue;
            }
            let (id, label) = parse_line(line).map_err(|message| EvalError::Case {
                path: path.display().to_string(),
                line: i + 1,
                message,
            })?;
            if !seen.insert(id.clone()) {
                return Err(EvalError::DuplicateId {
                    id,
                    path: path.display().to_string(),
                    line: i + 1,
                });
            }
            cases.push(Case {
                id,
                file_index,
                line: i + 1,
                raw: line.to_string(),
                label,
            });
        }
    }
    Ok(cases)
}

/// The names files are reported under: the file name, so reports carry no
/// machine paths; the path as given when two files share a name.
pub fn display_names(paths: &[PathBuf]) -> Vec<String> {
    let base = |p: &Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| p.display().to_string())
    };
    let names: Vec<String> = paths.iter().map(|p| base(p)).collect();
    paths
        .iter()
        .zip(&names)
        .map(|(p, n)| {
            if names.iter().filter(|m| *m == n).count() > 1 {
                p.display().to_string()
            } else {
                n.clone()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unclear_reads_as_needs_judgement_and_provenance_is_optional() {
        let (id, l) = parse_line(
            r#"{"id": "a", "report": "t\n\nb", "label": {"use_case": "unclear", "security_relevant": true}}"#,
        )
        .unwrap();
        assert_eq!(id, "a");
        assert_eq!(l.use_case, UseCase::NeedsJudgement);
        assert_eq!(l.provenance_declared, None);
        let (_, l) = parse_line(
            r#"{"id": "b", "report": "x", "label": {"use_case": "non-virtualization", "security_relevant": false}, "provenance": {"declared": true, "tool": "OSS-Fuzz"}}"#,
        )
        .unwrap();
        assert_eq!(
            (l.use_case, l.provenance_declared),
            (UseCase::NonVirtualization, Some(true))
        );
    }

    #[test]
    fn bad_lines_say_why() {
        assert!(parse_line("{").is_err());
        let e = parse_line(r#"{"id": "c", "report": "x", "label": {"use_case": "maybe", "security_relevant": false}}"#).unwrap_err();
        assert!(e.contains("case c") && e.contains("maybe"), "{e}");
        let e = parse_line(r#"{"id": "d", "report": "x"}"#).unwrap_err();
        assert!(e.contains("label"), "{e}");
    }
}
