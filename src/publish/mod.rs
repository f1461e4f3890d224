//! Publish: the note a maintainer sees, built only from our own template.
//!
//! Untrusted text (report excerpts, the model's rationale, even names from the
//! knowledge base) only ever appears inline, neutralised: one line, inside a
//! code span, with mentions, issue/MR references and links defanged. Every
//! rendered note passes [`check_note`] before it leaves this module, so no line
//! can start with `/` (GitLab runs quick actions from note bodies).

pub mod notes;
pub mod post;
pub mod scrub;

use std::fmt::Write as _;

use crate::triage::decide::{LlmOutcome, Suggestion};
use crate::triage::provenance::{Position, ToolKind};
use crate::triage::{Confidence, UseCase};

/// Longest excerpt of untrusted text shown in a note, in characters.
const MAX_EXCERPT_CHARS: usize = 200;

/// Why a note was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnsafeNote {
    #[error("line {0} starts with '/', which GitLab would run as a quick action")]
    QuickAction(usize),
    #[error("line {0} holds a live {1}")]
    LiveReference(usize, &'static str),
}

/// Makes untrusted text safe to show inline: one line, bounded, in a code span,
/// with `@mentions`, `#123`/`!45`/`~label`/`&12`/`$12` references and links defanged.
pub fn neutralize(untrusted: &str, max_chars: usize) -> String {
    format!("`{}`", defang(untrusted, max_chars))
}

/// [`neutralize`] without the code span, for our own sentences that name things found in a
/// report (paths, devices): prose a maintainer reads, still one line with nothing live.
pub fn defang(untrusted: &str, max_chars: usize) -> String {
    let mut one_line: String = untrusted
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| *c != '`' && !c.is_control())
        .take(max_chars)
        .collect();
    if untrusted.chars().count() > max_chars {
        one_line.push('…');
    }
    let mut out = String::with_capacity(one_line.len() + 8);
    let chars: Vec<char> = one_line.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let next = chars.get(i + 1).copied().unwrap_or(' ');
        match c {
            '@' => out.push('＠'),
            '#' | '!' | '&' | '$' | '%' if next.is_ascii_alphanumeric() || next == '"' => {
                out.push(match c {
                    '#' => '＃',
                    '!' => '！',
                    '&' => '＆',
                    '$' => '＄',
                    _ => '％',
                })
            }
            '~' if next.is_ascii_alphanumeric() || next == '"' => out.push('～'),
            '<' => out.push('‹'),
            '>' => out.push('›'),
            '|' => out.push('¦'),
            _ => out.push(c),
        }
    }
    let defanged = out
        .replace("://", "[:]//")
        .replace("www.", "www[.]")
        .replace("](", "] (");
    defanged.trim().to_string()
}

/// Checks a rendered note: no quick-action line and no live mention, reference or link.
///
/// # Errors
/// The first offending line, 1-based.
pub fn check_note(note: &str) -> Result<(), UnsafeNote> {
    for (i, line) in note.lines().enumerate() {
        let n = i + 1;
        if line.trim_start().starts_with('/') {
            return Err(UnsafeNote::QuickAction(n));
        }
        let chars: Vec<char> = line.chars().collect();
        for (j, &c) in chars.iter().enumerate() {
            let next = chars.get(j + 1).copied().unwrap_or(' ');
            let prev = if j == 0 { ' ' } else { chars[j - 1] };
            match c {
                '@' if next.is_ascii_alphanumeric() || next == '_' => {
                    return Err(UnsafeNote::LiveReference(n, "mention"))
                }
                '#' | '!' if next.is_ascii_digit() && !prev.is_alphanumeric() => {
                    return Err(UnsafeNote::LiveReference(
                        n,
                        "issue or merge request reference",
                    ))
                }
                _ => {}
            }
        }
        if line.contains("://") || line.contains("www.") {
            return Err(UnsafeNote::LiveReference(n, "link"));
        }
    }
    Ok(())
}

/// A hidden marker that ties a note to an issue revision, so a crash between
/// posting and recording never yields a second note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteMarker {
    pub project_id: u64,
    pub issue_iid: u64,
    /// Digest of the issue's title and description that was triaged.
    pub revision: String,
    pub job_id: String,
    /// The use case the note suggests (what a `thumbsup` confirms); absent in old notes.
    pub suggested: Option<UseCase>,
}

impl NoteMarker {
    pub fn render(&self) -> String {
        let suggested = self
            .suggested
            .map(|u| format!(" suggested={u}"))
            .unwrap_or_default();
        format!(
            "<!-- sectriage:suggestion project={} issue={} revision={} job={}{suggested} -->",
            self.project_id, self.issue_iid, self.revision, self.job_id
        )
    }

    /// Finds a marker in a note body we posted earlier.
    pub fn parse(body: &str) -> Option<NoteMarker> {
        let line = body
            .lines()
            .find(|l| l.starts_with("<!-- sectriage:suggestion "))?;
        let mut fields = std::collections::HashMap::new();
        for kv in line
            .trim_start_matches("<!-- sectriage:suggestion ")
            .trim_end_matches("-->")
            .split_whitespace()
        {
            if let Some((k, v)) = kv.split_once('=') {
                fields.insert(k, v);
            }
        }
        Some(NoteMarker {
            project_id: fields.get("project")?.parse().ok()?,
            issue_iid: fields.get("issue")?.parse().ok()?,
            revision: fields.get("revision")?.to_string(),
            job_id: fields.get("job")?.to_string(),
            suggested: fields.get("suggested").and_then(|u| u.parse().ok()),
        })
    }
}

/// Why an evidence row's class differs from the verdict, in one clause.
fn differs_why(verdict: UseCase, row: UseCase) -> &'static str {
    match (verdict, row) {
        (UseCase::Virtualization, UseCase::NonVirtualization) => {
            "this alone would be outside the virtualization use case; other evidence places the code under it"
        }
        (UseCase::Virtualization, _) => "this alone does not settle it; other evidence does",
        (UseCase::NonVirtualization, UseCase::Virtualization) => {
            "this is reachable under virtualization in general, but the reported path is not"
        }
        (UseCase::NonVirtualization, _) => "this alone does not settle it; the decisive fact does",
        (UseCase::NeedsJudgement, _) => "the evidence conflicts",
    }
}

fn confidence_word(c: Confidence) -> &'static str {
    match c {
        Confidence::High => "high",
        Confidence::Medium => "medium",
        Confidence::Low => "low",
    }
}

fn kind_word(k: ToolKind) -> &'static str {
    match k {
        ToolKind::AiLlm => "AI/LLM",
        ToolKind::Fuzzer => "fuzzer",
        ToolKind::StaticAnalysis => "static analysis",
        ToolKind::Other => "other automated tool",
    }
}

/// Renders the suggestion as the Markdown note a maintainer reviews.
///
/// # Errors
/// [`UnsafeNote`] if the rendered note would carry a quick action or a live
/// reference; this is a bug in the template and nothing must be posted.
pub fn render_note(s: &Suggestion, marker: Option<&NoteMarker>) -> Result<String, UnsafeNote> {
    render_note_with(s, marker, &[])
}

/// Another confidential issue whose report looks like this one (fingerprint similarity).
#[derive(Debug, Clone, PartialEq)]
pub struct LikelyDuplicate {
    pub project_id: u64,
    pub issue_iid: u64,
    pub score: f64,
    /// Our sentence naming what they share (knowledge-base names and crash kinds).
    pub shared: String,
}

/// [`render_note`] with the likely duplicates found among the watched projects' issues.
///
/// # Errors
/// When the note fails [`check_note`].
pub fn render_note_with(
    s: &Suggestion,
    marker: Option<&NoteMarker>,
    duplicates: &[LikelyDuplicate],
) -> Result<String, UnsafeNote> {
    let mut n = String::new();
    if let Some(m) = marker {
        n.push_str(&m.render());
        n.push('\n');
    }
    let (label, meaning) = match s.use_case {
        UseCase::Virtualization => (
            "virtualization use case",
            "if confirmed, it goes through QEMU's lightweight security triage",
        ),
        UseCase::NonVirtualization => (
            "non-virtualization use case",
            "if confirmed, it is not a security bug under the current policy and should switch to the public bug process",
        ),
        UseCase::NeedsJudgement => (
            "needs a maintainer's judgement",
            "the evidence does not settle the use case",
        ),
    };
    let _ = writeln!(
        n,
        "#### sectriage suggests: {label} ({} confidence)\n",
        confidence_word(s.confidence)
    );
    let _ = writeln!(
        n,
        "Suggested: **{label}**, with {} confidence; {meaning}. Security relevant if confirmed: **{}**.\n",
        confidence_word(s.confidence),
        if s.security_relevant { "yes" } else { "no" }
    );
    let _ = writeln!(n, "Decisive fact: {}\n", defang(decisive_fact(s), 600));
    // Embargo request (security-process.md, Embargo policy): fixed words and our own date format only.
    if let Some(r) = &s.embargo_request {
        let asks: Vec<&str> = r.kinds.iter().map(|k| k.words()).collect();
        let date = r
            .date
            .as_deref()
            .map(|d| format!(" (date named: {d})"))
            .unwrap_or_default();
        let _ = writeln!(
            n,
            "Embargo: the reporter asks for {}{date}, line {}. QEMU's policy rejects arbitrary embargo requests unless the issue is of high severity and extenuating circumstances are shown (security-process.md, Embargo policy).\n",
            asks.join(" and "),
            r.line
        );
    }
    // Our own sentences (fixed codes and counts), never the input.
    for w in &s.input_warnings {
        let _ = writeln!(n, "Input warning: {}.", w.message);
    }
    if !s.input_warnings.is_empty() {
        n.push('\n');
    }
    let _ = writeln!(
        n,
        "To decide, a project member (Reporter or above) replies with exactly one of these as the first line of a comment: `sectriage confirm virtualization`, `sectriage confirm non-virtualization`, `sectriage confirm needs-judgement`, or `sectriage reject`. Or react to this note: thumbsup confirms the suggestion, thumbsdown rejects it.\n"
    );

    // Tool-found issues are "highly likely to be independently re-discovered" (security-process.md).
    for d in duplicates.iter().take(3) {
        let _ = writeln!(
            n,
            "Possibly the same as issue {} of project {} (similarity {:.2}): {}.",
            d.issue_iid,
            d.project_id,
            d.score,
            defang(&d.shared, 300)
        );
    }
    if !duplicates.is_empty() {
        n.push('\n');
    }

    // Provenance.
    let p = &s.provenance;
    if let Some(d) = p.declarations.first() {
        let where_ = match d.position {
            Position::Title => "in the title",
            Position::Start => "at the start of the report",
            Position::Elsewhere => "later in the report",
        };
        let _ = writeln!(
            n,
            "Provenance: **declared automated tool**: {} ({}), {where_}, line {}: {}",
            kind_word(d.kind),
            neutralize(&d.tool, 60),
            d.line,
            neutralize(&d.evidence, MAX_EXCERPT_CHARS)
        );
        for d in p.declarations.iter().skip(1) {
            let _ = writeln!(
                n,
                "also declared: {} ({}), line {}",
                kind_word(d.kind),
                neutralize(&d.tool, 60),
                d.line
            );
        }
    } else if let Some(line) = &p.no_tools_statement {
        let _ = writeln!(
            n,
            "Provenance: reporter states no automated tools were used: {}",
            neutralize(line, MAX_EXCERPT_CHARS)
        );
    } else {
        let _ = writeln!(n, "Provenance: no automated tool declared.");
    }
    if !p.implicit.is_empty() {
        let mut kinds: Vec<String> = p.implicit.iter().map(|h| format!("{:?}", h.kind)).collect();
        kinds.dedup();
        let _ = writeln!(
            n,
            "Implicit tooling hints (not declarations): {}.",
            kinds.join(", ")
        );
    }
    n.push('\n');

    // Evidence: each fact once (a sentence shown in an earlier row is not repeated).
    let rows = evidence_rows(s);
    if !rows.is_empty() {
        let _ = writeln!(n, "| Located | Found as | Use case | Evidence |");
        let _ = writeln!(n, "|---|---|---|---|");
        for r in &rows {
            let facts = if r.facts.is_empty() {
                "(facts as above)".to_string()
            } else {
                neutralize(&r.facts.join("; "), 400)
            };
            let class = r.use_case;
            let disagrees = class != s.use_case && s.use_case != UseCase::NeedsJudgement;
            let class_cell = if disagrees {
                format!("{class} (**differs**: {})", differs_why(s.use_case, class))
            } else {
                class.to_string()
            };
            let _ = writeln!(
                n,
                "| {} | {} | {class_cell} | {facts} |",
                neutralize(&r.subject, 80),
                r.found_as
            );
        }
        n.push('\n');
    }
    let e = &s.evidence;
    if e.injection.any() {
        let mut what = e.injection.directives.clone();
        if e.injection.hidden_characters {
            what.push("hidden-characters".into());
        }
        let _ = writeln!(
            n,
            "Warning: the report contains text aimed at automated triage ({}); it was treated as data and did not change the suggestion.\n",
            what.join(", ")
        );
    }
    if !s.citations.is_empty() {
        let _ = writeln!(n, "Cited: {}.\n", s.citations.join("; "));
    }
    if !s.questions.is_empty() {
        let _ = writeln!(
            n,
            "Questions for the reporter (who cannot see this internal note; reply `sectriage ask` to post them as a comment the reporter sees):"
        );
        for q in &s.questions {
            let _ = writeln!(n, "- {}", q.text());
        }
        n.push('\n');
    }
    match &s.llm {
        LlmOutcome::NotUsed => {
            let _ = writeln!(n, "Engine: {}, rules only (no model).", s.engine_version);
        }
        LlmOutcome::Skipped { .. } => {
            let _ = writeln!(
                n,
                "Engine: {}; the model was not asked: no answer it could give would change this suggestion.",
                s.engine_version
            );
        }
        LlmOutcome::Answered {
            opinion,
            model,
            prompt_version,
            usage,
            ..
        } => {
            let _ = writeln!(
                n,
                "Model view: {} (confidence {}): {}",
                opinion.use_case,
                confidence_word(opinion.confidence),
                neutralize(&opinion.rationale, 300)
            );
            let _ = writeln!(
                n,
                "Engine: {}, model {}, prompt {}, tokens {} in / {} out{}.",
                s.engine_version,
                neutralize(model, 60),
                prompt_version,
                usage.prompt,
                usage.completion,
                usage
                    .cached
                    .map(|c| format!(" ({c} cached)"))
                    .unwrap_or_default()
            );
        }
        LlmOutcome::Failed {
            kind,
            model,
            prompt_version,
            ..
        } => {
            // Only the fixed kind: the reason holds URLs and transport errors, which the log has.
            let _ = writeln!(
                n,
                "Engine: {}, model {} {}; prompt {}. This is the rules-only verdict.",
                s.engine_version,
                neutralize(model, 60),
                kind.text(),
                prompt_version
            );
        }
    }
    let _ = writeln!(
        n,
        "\nThis is only a suggestion. Nothing changes on this issue until a project member with the Reporter role or above decides."
    );
    check_note(&n)?;
    Ok(n)
}

/// The suggestion's own sentence for its verdict, without the rules-only prefix.
fn decisive_fact(s: &Suggestion) -> &str {
    s.rationale
        .strip_prefix("Rules only: ")
        .unwrap_or(&s.rationale)
}

/// The rows of a suggestion's evidence table, as the note and the review pages show them:
/// up to six located components (three facts each) and the command line's machines and
/// accelerators, each fact in the first row that has it only.
fn evidence_rows(s: &Suggestion) -> Vec<crate::queue::EvidenceRow> {
    let e = &s.evidence;
    let mut shown = std::collections::HashSet::new();
    let mut rows = Vec::new();
    let mut row = |subject: &str, found_as: String, use_case: UseCase, facts: Vec<String>| {
        let facts = facts
            .into_iter()
            .filter(|f| shown.insert(f.clone()))
            .collect();
        rows.push(crate::queue::EvidenceRow {
            subject: subject.to_string(),
            found_as,
            use_case,
            facts,
        });
    };
    for c in e.components.iter().take(6) {
        let facts = c
            .finding
            .facts
            .iter()
            .take(3)
            .map(|f| f.text.clone())
            .collect();
        row(
            &c.finding.subject,
            format!("{:?}", c.role),
            c.finding.class,
            facts,
        );
    }
    for m in e.machines.iter().chain(e.accels.iter()) {
        let facts = m.facts.iter().map(|f| f.text.clone()).collect();
        row(&m.subject, "command line".into(), m.class, facts);
    }
    rows
}

/// What the review pages keep of a suggestion: the same facts as the note's table, each
/// fact once, and only sectriage's own sentences or knowledge-base terms.
pub fn summary_of(
    s: &Suggestion,
    duplicates: &[LikelyDuplicate],
) -> crate::queue::SuggestionSummary {
    let evidence = evidence_rows(s)
        .into_iter()
        .map(|mut r| {
            r.subject = r.subject.chars().take(120).collect();
            r
        })
        .collect();
    let mut declared_tools: Vec<String> = s
        .provenance
        .declarations
        .iter()
        .map(|d| kind_word(d.kind).to_string())
        .collect();
    declared_tools.dedup();
    crate::queue::SuggestionSummary {
        security_relevant: s.security_relevant,
        declared_tools,
        embargo_request: s.embargo_request.is_some(),
        duplicates: duplicates
            .iter()
            .take(3)
            .map(|d| (d.project_id, d.issue_iid))
            .collect(),
        decisive: decisive_fact(s).chars().take(600).collect(),
        evidence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neutralize_defangs_mentions_references_and_links() {
        let out = neutralize("ping @alice see #123 and !45, ~security, https://evil.example/x [a](b)\n/confidential off", 500);
        assert!(!out.contains("@alice"));
        assert!(!out.contains("#123"));
        assert!(!out.contains("!45"));
        assert!(!out.contains("://"));
        assert!(!out.contains('\n'));
        assert!(out.starts_with('`') && out.ends_with('`'));
        check_note(&out).unwrap();
    }

    #[test]
    fn neutralize_cannot_be_broken_out_of_with_backticks() {
        let out = neutralize("`` /label ~x ``", 100);
        assert_eq!(out.matches('`').count(), 2);
    }

    #[test]
    fn check_note_refuses_quick_actions_and_live_references() {
        assert_eq!(check_note("ok\n  /close"), Err(UnsafeNote::QuickAction(2)));
        assert!(check_note("hi @bob").is_err());
        assert!(check_note("see #12").is_err());
        assert!(check_note("see https://x").is_err());
        assert!(check_note("C# and foo!bar and fine? e1000#0").is_ok());
    }

    #[test]
    fn marker_round_trips() {
        let m = NoteMarker {
            project_id: 3,
            issue_iid: 42,
            revision: "abc123".into(),
            job_id: "j-9".into(),
            suggested: Some(UseCase::NonVirtualization),
        };
        assert_eq!(
            NoteMarker::parse(&format!("{}\nbody", m.render())),
            Some(m.clone())
        );
        let old = NoteMarker {
            suggested: None,
            ..m
        };
        assert_eq!(NoteMarker::parse(&old.render()), Some(old));
    }
}
