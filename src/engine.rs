//! The engine: runs intake → hygiene → deterministic layers → LLM → decision
//! for one report. The CLI, the evaluation and the daemon share it.
//!
//! The model is asked only when an answer could change the suggestion
//! ([`crate::llm::skip`]); when the rules placed no code, the knowledge base's
//! candidate components ([`crate::llm::candidates`]) go with the question.

use crate::intake::{input_warnings, RawReport};
use crate::kb::Kb;
use crate::llm::candidates::{self, Candidate};
use crate::llm::stack::LlmStack;
use crate::llm::{skip, Adjudicator, PromptKind};
use crate::triage::decide::{decide, LlmOutcome, SkipReason, Suggestion};
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

    /// The candidates to offer the model, or the skipped outcome when no answer
    /// could change the suggestion (the naive baseline is always asked).
    fn plan(
        &self,
        llm: &Adjudicator,
        evidence: &Evidence,
        text: &str,
    ) -> Result<Vec<Candidate>, SkipReason> {
        let cands = candidates::find(evidence, text, self.kb);
        if llm.config().prompt == PromptKind::Adjudicate {
            if let Some(reason) = skip::reason(evidence, &cands) {
                return Err(reason);
            }
        }
        Ok(cands)
    }

    /// Triages one report end to end. An LLM failure is part of the suggestion, not an error.
    ///
    /// # Errors
    /// [`InputError`] when the report breaks a limit or is empty.
    pub async fn triage(&self, raw: &RawReport) -> Result<Suggestion, InputError> {
        let (evidence, text, warnings) = self.prepare(raw)?;
        let outcome = match &self.llm {
            None => LlmOutcome::NotUsed,
            Some(llm) => match self.plan(llm, &evidence, &text) {
                Err(reason) => LlmOutcome::Skipped { reason },
                Ok(cands) => llm.adjudicate(&evidence, &text, &cands).await,
            },
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
        let cands = match self
            .llm
            .as_ref()
            .map(|llm| self.plan(llm, &evidence, &text))
        {
            Some(Err(reason)) => {
                let mut suggestion = decide(evidence, LlmOutcome::Skipped { reason });
                suggestion.input_warnings = warnings;
                return Ok(suggestion);
            }
            Some(Ok(cands)) => cands,
            None => candidates::find(&evidence, &text, self.kb),
        };
        let evidence = std::sync::Arc::new(evidence);
        let outcome = stack
            .adjudicate(evidence.clone(), text.into(), cands.into())
            .await;
        let evidence =
            std::sync::Arc::try_unwrap(evidence).unwrap_or_else(|shared| (*shared).clone());
        let mut suggestion = decide(evidence, outcome);
        suggestion.input_warnings = warnings;
        Ok(suggestion)
    }
}
