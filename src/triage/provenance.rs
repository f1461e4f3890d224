//! Provenance: did the reporter *declare* that an automated tool found the bug?
//!
//! Declarations (the report names a tool as the finder) are kept apart from
//! implicit hints (sanitizer traces, qtest reproducers, fuzz-target names),
//! which suggest tooling but are not declarations.

use serde::{Deserialize, Serialize};

/// What kind of automated tool a declaration names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ToolKind {
    AiLlm,
    Fuzzer,
    StaticAnalysis,
    Other,
}

/// Where in the report a declaration stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Position {
    /// In the title (the first line of the report).
    Title,
    /// In the first paragraphs of the body, before the technical details.
    Start,
    /// Anywhere else (a methodology section, a trailer at the end, ...).
    Elsewhere,
}

/// One declaration of automated-tool use found in the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Declaration {
    pub kind: ToolKind,
    /// The tool as named by the reporter, normalised (e.g. "OSS-Fuzz", "Coverity", "AI/LLM").
    pub tool: String,
    /// The line carrying the declaration (untrusted text, trimmed to 300 chars).
    pub evidence: String,
    /// 1-based line number in the report text.
    pub line: usize,
    pub position: Position,
}

/// Kinds of implicit tooling hints; never declarations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HintKind {
    SanitizerTrace,
    Valgrind,
    QtestReproducer,
    FuzzTarget,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImplicitHint {
    pub kind: HintKind,
    /// The line that shows the hint (untrusted text, trimmed to 300 chars).
    pub evidence: String,
    pub line: usize,
}

/// Everything the report says, or hints, about automated tools.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// Declarations, in report order. Empty when nothing was declared.
    pub declarations: Vec<Declaration>,
    /// The line of an explicit "no automated tools were used" statement, if any.
    pub no_tools_statement: Option<String>,
    pub implicit: Vec<ImplicitHint>,
}

impl Provenance {
    /// True when the report declares at least one automated tool.
    pub fn declared(&self) -> bool {
        !self.declarations.is_empty()
    }
}

/// Detects declared and implicit tool use in a report (title first line, then body).
pub fn detect(text: &str) -> Provenance {
    let _ = text;
    Provenance::default()
}
