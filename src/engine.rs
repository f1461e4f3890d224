//! The engine: runs intake → hygiene → deterministic layers → LLM → decision
//! for one report. The CLI, the evaluation and (later) the daemon share it.

use crate::intake::RawReport;
use crate::kb::Kb;
use crate::llm::stack::LlmStack;
use crate::llm::Adjudicator;
use crate::triage::decide::{decide, LlmOutcome, Suggestion};
use crate::triage::hygiene::{sanitize, InputError, Limits};
use crate::triage::{analyze_sanitized, Evidence, Report};

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
        let sanitized = sanitize(&raw.body, &self.limits)?;
        let title = crate::triage::hygiene::sanitize(raw.title.as_bytes(), &self.limits)
            .map(|t| t.text)
            .unwrap_or_default();
        let evidence = analyze_sanitized(&title, &sanitized, self.kb);
        let text = Report {
            title,
            body: sanitized.text,
        }
        .text();
        Ok((evidence, text))
    }

    /// Triages one report end to end. An LLM failure is part of the suggestion, not an error.
    ///
    /// # Errors
    /// [`InputError`] when the report breaks a limit or is empty.
    pub async fn triage(&self, raw: &RawReport) -> Result<Suggestion, InputError> {
        let (evidence, text) = self.evidence(raw)?;
        let outcome = match &self.llm {
            None => LlmOutcome::NotUsed,
            Some(llm) => llm.adjudicate(&evidence, &text).await,
        };
        Ok(decide(evidence, outcome))
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
        let (evidence, text) = self.evidence(raw)?;
        let evidence = std::sync::Arc::new(evidence);
        let outcome = stack.adjudicate(evidence.clone(), text.into()).await;
        let evidence =
            std::sync::Arc::try_unwrap(evidence).unwrap_or_else(|shared| (*shared).clone());
        Ok(decide(evidence, outcome))
    }
}
