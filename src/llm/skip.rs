//! Call skipping: the model is asked only when some answer it could give would
//! change the suggestion.
//!
//! The answer space is closed (three use cases, two relevance values, three
//! confidences, a pick among the candidates or none), so this is decided by
//! running the decision policy on every possible answer: when each yields the
//! rules-only use case and security relevance, the call cannot change what the
//! maintainer sees and is not made. Pure.

use super::candidates::Candidate;
use crate::triage::decide::{decide, LlmOpinion, LlmOutcome, SkipReason, TokenUsage};
use crate::triage::{Confidence, Evidence, UseCase};

/// Every answer the model could give.
fn answers(candidates: &[Candidate]) -> Vec<LlmOpinion> {
    let picks: Vec<_> = std::iter::once(None)
        .chain(candidates.iter().map(|c| Some(c.pick.clone())))
        .collect();
    let mut out = Vec::new();
    for use_case in [
        UseCase::Virtualization,
        UseCase::NonVirtualization,
        UseCase::NeedsJudgement,
    ] {
        for security_relevant in [true, false] {
            for confidence in [Confidence::Low, Confidence::Medium, Confidence::High] {
                for pick in &picks {
                    out.push(LlmOpinion {
                        use_case,
                        security_relevant,
                        confidence,
                        questions: Vec::new(),
                        rationale: String::new(),
                        pick: pick.clone(),
                    });
                }
            }
        }
    }
    out
}

/// Why the call can be skipped, or `None` when some answer would change the suggestion.
pub fn reason(evidence: &Evidence, candidates: &[Candidate]) -> Option<SkipReason> {
    let rules = decide(evidence.clone(), LlmOutcome::NotUsed);
    let same = answers(candidates).into_iter().all(|opinion| {
        let s = decide(
            evidence.clone(),
            LlmOutcome::Answered {
                opinion,
                model: String::new(),
                prompt_version: String::new(),
                usage: TokenUsage::default(),
                repaired: false,
                response_format: String::new(),
                latency_ms: 0,
            },
        );
        s.use_case == rules.use_case && s.security_relevant == rules.security_relevant
    });
    if !same {
        return None;
    }
    let runtime = evidence
        .components
        .iter()
        .any(|c| c.finding.surface.as_deref() != Some("not-runtime"));
    Some(if !evidence.components.is_empty() && !runtime {
        SkipReason::NotRuntime
    } else if runtime && evidence.rules.use_case == UseCase::NeedsJudgement {
        SkipReason::KbLeftOpen
    } else {
        SkipReason::RulesSettled
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kb::Kb;
    use crate::triage::{analyze, Report};

    fn skip(title: &str, body: &str) -> Option<SkipReason> {
        let e = analyze(
            &Report {
                title: title.into(),
                body: body.into(),
            },
            Kb::embedded(),
        );
        reason(&e, &[])
    }

    #[test]
    fn settled_verdicts_skip_and_open_questions_call() {
        // Virtualization with a described heap overflow: nothing the model says changes it.
        assert_eq!(
            skip(
                "hw/usb/hcd-xhci: heap-buffer-overflow",
                "The guest triggers a heap-buffer-overflow in xhci."
            ),
            Some(SkipReason::RulesSettled)
        );
        // A build change: the use-case mapping does not apply.
        assert_eq!(
            skip("configure: check for tcg", "Build fix."),
            Some(SkipReason::NotRuntime)
        );
        // A clean-up with no trigger described: the model cannot add relevance alone.
        assert_eq!(
            skip("hw/scsi/megasas: use uint32", "Tidy a type."),
            Some(SkipReason::RulesSettled)
        );
        // A guest trigger but no damage word: the model may name the damage, so it is asked.
        assert_eq!(
            skip(
                "hw/usb/hcd-xhci: ring walk",
                "A malicious guest can make the ring walk read the wrong entry."
            ),
            None
        );
        // No code located: the model may place it.
        assert_eq!(skip("fix the thing", "Something breaks."), None);
    }
}
