//! The engine: runs intake → hygiene → deterministic layers → LLM → decision
//! for one report. The CLI, the evaluation and (later) the daemon share it.

use crate::intake::{input_warnings, RawReport};
use crate::kb::Kb;
use crate::llm::stack::LlmStack;
use crate::llm::Adjudicator;
use crate::triage::decide::{decide, LlmOutcome, Suggestion};
use crate::triage::hygiene::{
    sanitize, InputError, InputWarning, InputWarningCode, Limits, Sanitized,
};
use crate::triage::{analyze_sanitized, report_text, Evidence, Title};

/// Everything needed to triage reports; cheap to clone.
#[derive(Debug, Clone)]
pub struct Engine {
    pub kb: &'static Kb,
    pub limits: Limits,
    /// `None` runs the deterministic layers only.
    pub llm: Option<Adjudicator>,
}

impl Engine {
    /// Runs hygiene and the deterministic layers.
    ///
    /// # Errors
    /// [`InputError`] when the report breaks a limit or is empty.
    pub fn evidence(&self, raw: &RawReport) -> Result<(Evidence, String), InputError> {
        self.prepare(raw)
            .map(|(evidence, text, _)| (evidence, text))
    }

    /// [`Engine::evidence`], plus what intake and hygiene repaired or assumed.
    fn prepare(
        &self,
        raw: &RawReport,
    ) -> Result<(Evidence, String, Vec<InputWarning>), InputError> {
        let title = sanitize(raw.title.as_bytes(), &self.limits)
            .map(|t| t.text)
            .unwrap_or_default();
        let issue = raw.format == "gitlab-issue";
        let mut warnings = input_warnings(raw);
        let sanitized = match sanitize(&raw.body, &self.limits) {
            Ok(s) => s,
            // An issue with a title but no description is triaged on its title, and says so.
            Err(InputError::Empty) if issue && !title.trim().is_empty() => {
                warnings.push(InputWarning::new(
                    InputWarningCode::MissingDescription,
                    None,
                ));
                Sanitized::default()
            }
            Err(e) => return Err(e),
        };
        warnings.extend(sanitized.warnings());
        // A GitLab issue's title is its own field; other inputs carry it as the first line.
        let title = if issue {
            Title::Given(&title)
        } else {
            Title::FirstLine
        };
        let evidence = analyze_sanitized(title, &sanitized, self.kb);
        let text = report_text(title, &sanitized.text);
        Ok((evidence, text, warnings))
    }

    /// Triages one report end to end. An LLM failure is part of the suggestion, not an error.
    ///
    /// # Errors
    /// [`InputError`] when the report breaks a limit or is empty.
    pub async fn triage(&self, raw: &RawReport) -> Result<Suggestion, InputError> {
        let (evidence, text, warnings) = self.prepare(raw)?;
        let outcome = match &self.llm {
            None => LlmOutcome::NotUsed,
            Some(llm) => llm.adjudicate(&evidence, &text).await,
        };
        let mut suggestion = decide(evidence, outcome);
        suggestion.input_warnings = warnings;
        Ok(suggestion)
    }

    /// [`Engine::triage`], sending the LLM call through a tower stack (the daemon's path).
    ///
    /// # Errors
    /// [`InputError`] when the report breaks a limit or is empty.
    pub async fn triage_via(
        &self,
        raw: &RawReport,
        stack: Option<&LlmStack>,
    ) -> Result<Suggestion, InputError> {
        let Some(stack) = stack else {
            return self.triage(raw).await;
        };
        let (evidence, text, warnings) = self.prepare(raw)?;
        let evidence = std::sync::Arc::new(evidence);
        let outcome = stack.adjudicate(evidence.clone(), text.into()).await;
        let evidence =
            std::sync::Arc::try_unwrap(evidence).unwrap_or_else(|shared| (*shared).clone());
        let mut suggestion = decide(evidence, outcome);
        suggestion.input_warnings = warnings;
        Ok(suggestion)
    }
}
