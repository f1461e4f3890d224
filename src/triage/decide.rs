//! The decision: deterministic evidence and an optional LLM opinion become
//! one suggestion, under an asymmetric policy.
//!
//! Wrongly saying *non-virtualization* can make a live vulnerability public.
//! So that answer needs decisive deterministic evidence (TCG-only code, a
//! board-only device, an unlisted machine) or the rules and the LLM agreeing;
//! otherwise the answer is *needs judgement*. The LLM can move a verdict
//! towards virtualization or needs-judgement, never on its own towards
//! non-virtualization, and never at all when the report carries an injection
//! attempt and the two disagree.

use serde::{Deserialize, Serialize};

use super::{Confidence, Evidence, Provenance, Role, RulesVerdict, UseCase};

/// Questions the suggestion can ask the reporter; a fixed set so that neither
/// the report nor the model can make us post arbitrary text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Question {
    MissingAccelerator,
    MissingMachineType,
    MissingCommandLine,
    MissingAffectedCode,
    PrivilegeNeeded,
    ReproduceWithKvm,
    ReproduceOnListedMachine,
    AffectedVersion,
}

impl Question {
    pub const ALL: [Question; 8] = [
        Question::MissingAccelerator,
        Question::MissingMachineType,
        Question::MissingCommandLine,
        Question::MissingAffectedCode,
        Question::PrivilegeNeeded,
        Question::ReproduceWithKvm,
        Question::ReproduceOnListedMachine,
        Question::AffectedVersion,
    ];

    /// The question as the note asks it.
    pub fn text(self) -> &'static str {
        match self {
            Question::MissingAccelerator => "Which accelerator was used (KVM, HVF, Xen or TCG)? Does it reproduce with a hardware accelerator?",
            Question::MissingMachineType => "Which machine type (-machine) was used?",
            Question::MissingCommandLine => "Please share the full QEMU command line used to reproduce.",
            Question::MissingAffectedCode => "Which QEMU source file or device model is affected (a stack trace helps)?",
            Question::PrivilegeNeeded => "What privilege does triggering it need: guest root, an unprivileged guest user, a remote client, or host/monitor access?",
            Question::ReproduceWithKvm => "The reproduction uses TCG: does it also reproduce with KVM (or another hardware accelerator)?",
            Question::ReproduceOnListedMachine => "The machine type used is not listed in security.rst: does it reproduce on a listed one (pc, q35, microvm, virt, pseries, s390-ccw-virtio)?",
            Question::AffectedVersion => "Which QEMU version or commit is affected?",
        }
    }

    /// The question with this [`as_str`](Question::as_str) code.
    pub fn from_code(code: &str) -> Option<Question> {
        Question::ALL.into_iter().find(|q| q.as_str() == code)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Question::MissingAccelerator => "missing-accelerator",
            Question::MissingMachineType => "missing-machine-type",
            Question::MissingCommandLine => "missing-command-line",
            Question::MissingAffectedCode => "missing-affected-code",
            Question::PrivilegeNeeded => "privilege-needed",
            Question::ReproduceWithKvm => "reproduce-with-kvm",
            Question::ReproduceOnListedMachine => "reproduce-on-listed-machine",
            Question::AffectedVersion => "affected-version",
        }
    }
}

/// Tokens one LLM call used.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    pub prompt: u64,
    pub completion: u64,
    /// Prompt tokens the server reused from its prefix cache, when it says.
    pub cached: Option<u64>,
    /// Prompt tokens as counted locally with tiktoken (cl100k/o200k), before sending.
    pub counted_locally: u64,
    /// Of `counted_locally`, the report-independent prefix (system message), which a
    /// server's prompt cache can reuse; the rest is the per-case part.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub counted_fixed: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The model's answer, validated into fixed enums at the `llm` edge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlmOpinion {
    pub use_case: UseCase,
    pub security_relevant: bool,
    pub confidence: Confidence,
    pub questions: Vec<Question>,
    /// Short reason in the model's words: untrusted text, rendered neutralised.
    pub rationale: String,
    /// The candidate component the model chose, classified by the knowledge base
    /// (not by the model); `None` when it chose none or was offered none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pick: Option<Pick>,
}

/// A component the knowledge base offered the model (the report names it only in
/// prose) and the model chose; its class and fact are the knowledge base's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pick {
    /// The file (`hw/net/msf2-emac.c`).
    pub subject: String,
    pub class: UseCase,
    /// The knowledge base's deciding fact about it.
    pub fact: String,
    /// Deterministic corroboration: the report's title names this component
    /// (commit-style prefix matching its file stem or QOM type).
    pub title_match: bool,
    /// The knowledge base's class is decisive for it (a board-only or TCG-only file).
    pub decisive: bool,
}

/// Why the model was not asked: for every answer it could give, the decision
/// policy would suggest the same use case and security relevance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkipReason {
    /// Rules decided with decisive or high-confidence evidence and security relevance is settled.
    RulesSettled,
    /// Only build, test or documentation files are named.
    NotRuntime,
    /// The rules left a located device to a maintainer; the model may not decide it.
    KbLeftOpen,
}

impl SkipReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::RulesSettled => "rules-settled",
            SkipReason::NotRuntime => "not-runtime",
            SkipReason::KbLeftOpen => "kb-left-open",
        }
    }
}

/// What happened with the LLM for one report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum LlmOutcome {
    /// The run was rules-only (`--llm none`).
    NotUsed,
    /// A model was configured but not asked: no answer could change the suggestion.
    Skipped { reason: SkipReason },
    Answered {
        opinion: LlmOpinion,
        model: String,
        prompt_version: String,
        usage: TokenUsage,
        /// True when the first answer did not validate and the repair retry did.
        repaired: bool,
        /// The `response_format` the server accepted (`json_schema`, `json_object`, `none`).
        response_format: String,
        latency_ms: u64,
    },
    Failed {
        /// What kind of failure; the note says only this (from our template).
        #[serde(default)]
        kind: LlmFailure,
        /// What went wrong, for the log and the CLI's JSON (no report text; may hold
        /// the endpoint's URL and transport errors, so it never goes into a note).
        reason: String,
        model: String,
        prompt_version: String,
        usage: TokenUsage,
    },
}

/// Why the model gave no usable answer; a fixed set, so a note never carries
/// transport error text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LlmFailure {
    /// The endpoint could not be reached, or the call was refused before it was made.
    #[default]
    Unavailable,
    /// No answer within the timeout.
    Timeout,
    /// The endpoint answered with an HTTP error.
    ServerError,
    /// The answer did not validate, even after the repair retry.
    InvalidAnswer,
    /// Replay mode, and the cache holds no answer for this request.
    NotRecorded,
}

impl LlmFailure {
    /// The note's words for it.
    pub fn text(self) -> &'static str {
        match self {
            LlmFailure::Unavailable => "was unavailable (endpoint not reachable)",
            LlmFailure::Timeout => "was unavailable (no answer in time)",
            LlmFailure::ServerError => "was unavailable (the endpoint returned an error)",
            LlmFailure::InvalidAnswer => "gave no valid answer, even after a repair retry",
            LlmFailure::NotRecorded => "was unavailable (no recorded answer in the replay cache)",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            LlmFailure::Unavailable => "unavailable",
            LlmFailure::Timeout => "timeout",
            LlmFailure::ServerError => "server-error",
            LlmFailure::InvalidAnswer => "invalid-answer",
            LlmFailure::NotRecorded => "not-recorded",
        }
    }
}

impl LlmOutcome {
    pub fn opinion(&self) -> Option<&LlmOpinion> {
        match self {
            LlmOutcome::Answered { opinion, .. } => Some(opinion),
            _ => None,
        }
    }

    pub fn usage(&self) -> Option<TokenUsage> {
        match self {
            LlmOutcome::Answered { usage, .. } | LlmOutcome::Failed { usage, .. } => Some(*usage),
            LlmOutcome::NotUsed | LlmOutcome::Skipped { .. } => None,
        }
    }
}

/// The suggestion a maintainer reviews.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suggestion {
    pub use_case: UseCase,
    /// Should it go through the security process (if the use case is confirmed)?
    pub security_relevant: bool,
    pub confidence: Confidence,
    pub provenance: Provenance,
    /// The reporter asks for an embargo, a disclosure date, coordinated
    /// disclosure or a deadline (security-process.md, Embargo policy).
    #[serde(default)]
    pub embargo_request: Option<super::EmbargoRequest>,
    /// Sections of the QEMU documents the suggestion rests on.
    pub citations: Vec<String>,
    pub questions: Vec<Question>,
    /// Our own sentence explaining the decision (built from evidence, never from report text).
    pub rationale: String,
    pub evidence: Evidence,
    pub llm: LlmOutcome,
    pub engine_version: String,
    /// What intake and hygiene repaired or assumed (invalid UTF-8, binary data, JSON
    /// read as text, a missing title or description), in our own words.
    #[serde(default)]
    pub input_warnings: Vec<super::hygiene::InputWarning>,
}

/// Combines the deterministic evidence with the LLM outcome.
pub fn decide(evidence: Evidence, llm: LlmOutcome) -> Suggestion {
    let rules = &evidence.rules;
    let opinion = llm.opinion();
    let injected = evidence.injection.any();

    let (use_case, confidence, why) = match opinion {
        None => (
            rules.use_case,
            rules.confidence,
            format!("Rules only: {}.", rules.basis),
        ),
        Some(op) => {
            let code_located = evidence
                .components
                .iter()
                .any(|c| c.finding.surface.as_deref() != Some("not-runtime"));
            // Decisive rules evidence (an unlisted machine) stands over any pick.
            let open = !code_located && !injected && !rules.decisive;
            match op.pick.as_ref().filter(|_| open) {
                Some(pick) => combine_pick(rules, pick, op),
                None => combine(rules, code_located, op, injected),
            }
        }
    };

    let security_relevant = security_relevance(&evidence, use_case, opinion);
    let questions = questions(&evidence, use_case, opinion);
    let citations = citations(&evidence, use_case);

    Suggestion {
        use_case,
        security_relevant,
        confidence,
        provenance: evidence.provenance.clone(),
        embargo_request: evidence.embargo.clone(),
        citations,
        questions,
        rationale: why,
        evidence,
        llm,
        engine_version: super::ENGINE_VERSION.to_string(),
        input_warnings: Vec::new(),
    }
}

/// `code_located`: the rules placed some runtime code in the knowledge base, so
/// a needs-judgement verdict is the knowledge base's own (device scope), not a
/// gap the model may fill.
fn combine(
    verdict: &RulesVerdict,
    code_located: bool,
    op: &LlmOpinion,
    injected: bool,
) -> (UseCase, Confidence, String) {
    use UseCase::*;
    let (rules, rules_conf, decisive, basis) = (
        verdict.use_case,
        verdict.confidence,
        verdict.decisive,
        verdict.basis.as_str(),
    );
    let agree = rules == op.use_case;
    if agree {
        let conf = rules_conf
            .max(op.confidence.min(Confidence::Medium))
            .max(Confidence::Medium);
        return (rules, conf, format!("Rules and model agree: {basis}."));
    }
    if injected {
        // Weak non-virtualization evidence still needs agreement, injection or not.
        let kept = if rules == NonVirtualization && !decisive {
            NeedsJudgement
        } else {
            rules
        };
        return (
            kept,
            rules_conf.min(Confidence::Medium),
            format!("The report carries an injection attempt, so the model's differing answer ({}) is set aside: {basis}.", op.use_case),
        );
    }
    match (rules, op.use_case) {
        // Decisive evidence for non-virtualization stands; the disagreement lowers confidence.
        (NonVirtualization, _) if decisive => (
            NonVirtualization,
            Confidence::Medium,
            format!("Deterministic evidence says non-virtualization although the model says {}: {basis}.", op.use_case),
        ),
        (NonVirtualization, Virtualization) => (
            NeedsJudgement,
            Confidence::Low,
            format!("Weak rules evidence for non-virtualization and the model says virtualization: {basis}."),
        ),
        (NonVirtualization, NeedsJudgement) => (
            NeedsJudgement,
            Confidence::Low,
            format!("Weak rules evidence for non-virtualization and the model is unsure: {basis}."),
        ),
        // The model alone never makes an answer non-virtualization, nor takes a
        // virtualization verdict back to needs-judgement: measured, its
        // non-virtualization answers against virtualization evidence were wrong
        // more often than right, so it only lowers the confidence shown.
        (Virtualization, NonVirtualization) => (
            Virtualization,
            Confidence::Low,
            format!("The model says non-virtualization but the evidence points to virtualization: {basis}."),
        ),
        (Virtualization, NeedsJudgement) => (
            Virtualization,
            rules_conf.min(Confidence::Medium),
            format!("Evidence points to virtualization; the model is unsure: {basis}."),
        ),
        (NeedsJudgement, Virtualization) if rules_conf == Confidence::Low && !code_located => (
            Virtualization,
            Confidence::Low,
            format!("Rules could not place the code; the model says virtualization: {basis}."),
        ),
        (NeedsJudgement, _) => (
            NeedsJudgement,
            Confidence::Low,
            format!("Needs a maintainer's judgement (model says {}): {basis}.", op.use_case),
        ),
        (a, _) => (a, Confidence::Low, format!("{basis}.")),
    }
}

/// The rules placed no code; the model chose one of the knowledge base's candidates.
/// The knowledge base classifies the pick. Virtualization stands on the pick alone
/// (the safe side); non-virtualization also needs deterministic corroboration (the
/// title names the picked file and its class is decisive), else needs-judgement.
fn combine_pick(
    verdict: &RulesVerdict,
    pick: &Pick,
    op: &LlmOpinion,
) -> (UseCase, Confidence, String) {
    use UseCase::*;
    let placed = format!("the report names it in prose; the model placed it in {}, which the knowledge base says is {}: {}", pick.subject, pick.class, pick.fact);
    match pick.class {
        Virtualization => (Virtualization, Confidence::Low, format!("Rules could not place the code; {placed}.")),
        NonVirtualization if pick.title_match && pick.decisive && op.use_case != Virtualization => (
            NonVirtualization,
            Confidence::Medium,
            format!("Rules could not place the code; {placed}; the title names the same component."),
        ),
        _ => (
            NeedsJudgement,
            Confidence::Low,
            format!("Needs a maintainer's judgement: {placed}, without deterministic corroboration ({}).", verdict.basis),
        ),
    }
}

fn security_relevance(
    evidence: &Evidence,
    use_case: UseCase,
    opinion: Option<&LlmOpinion>,
) -> bool {
    if use_case == UseCase::NonVirtualization {
        return false;
    }
    let primary_surface = evidence
        .components
        .first()
        .and_then(|c| c.finding.surface.as_deref());
    if matches!(
        primary_surface,
        Some("trusted-interface") | Some("not-runtime")
    ) {
        return false;
    }
    let s = &evidence.security;
    let rules_view = !s.kinds.is_empty() && !s.non_bug_change && !s.needs_privileged_access;
    // Asymmetric like the use case: the model can add relevance the rules missed,
    // but not clear a damage kind the report itself describes. It adds it only
    // where the report says a guest or remote party triggers the bug (the rules'
    // signal) and no damage word was found: measured on the dev cases, the local
    // model called seven of nine clean-ups damaging when asked without that.
    let corroborated = s.guest_or_remote_trigger && !s.needs_privileged_access;
    rules_view || (corroborated && opinion.is_some_and(|op| op.security_relevant))
}

fn questions(
    evidence: &Evidence,
    use_case: UseCase,
    opinion: Option<&LlmOpinion>,
) -> Vec<Question> {
    let loc = &evidence.locations;
    let cmd = &loc.command_line;
    let mut q = Vec::new();
    let code_located = evidence
        .components
        .iter()
        .any(|c| !matches!(c.role, Role::Format | Role::Netdev | Role::Prose));
    if !code_located {
        q.push(Question::MissingAffectedCode);
    }
    if cmd.system_targets.is_empty()
        && loc.tools.is_empty()
        && use_case != UseCase::NonVirtualization
    {
        q.push(Question::MissingCommandLine);
    }
    if cmd.accels.is_empty() && loc.accels_in_prose.is_empty() && loc.tools.is_empty() {
        q.push(Question::MissingAccelerator);
    }
    if cmd.machines.is_empty() && !cmd.system_targets.is_empty() {
        q.push(Question::MissingMachineType);
    }
    let only_tcg = !evidence.accels.is_empty()
        && evidence
            .accels
            .iter()
            .all(|a| a.class == UseCase::NonVirtualization);
    if only_tcg && use_case != UseCase::NonVirtualization {
        q.push(Question::ReproduceWithKvm);
    }
    if evidence
        .machines
        .iter()
        .any(|m| m.class == UseCase::NonVirtualization)
        && use_case != UseCase::NonVirtualization
    {
        q.push(Question::ReproduceOnListedMachine);
    }
    if !evidence.security.guest_or_remote_trigger && use_case == UseCase::Virtualization {
        q.push(Question::PrivilegeNeeded);
    }
    if let Some(op) = opinion {
        for extra in &op.questions {
            if !q.contains(extra) {
                q.push(*extra);
            }
        }
    }
    q.sort();
    q.dedup();
    q
}

fn citations(evidence: &Evidence, use_case: UseCase) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |s: &str| {
        if s.starts_with("security") && !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    };
    match use_case {
        UseCase::Virtualization => add("security.rst, Virtualization Use Case"),
        UseCase::NonVirtualization => {
            add("security.rst, Non-virtualization Use Case");
            add("security-process.md, Handling of disclosures");
        }
        UseCase::NeedsJudgement => add("security.rst, Virtualization Use Case"),
    }
    for c in evidence.components.iter().take(3) {
        for f in &c.finding.facts {
            add(&f.source);
        }
    }
    for m in &evidence.machines {
        for f in &m.facts {
            add(&f.source);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(use_case: UseCase, confidence: Confidence, decisive: bool) -> RulesVerdict {
        RulesVerdict {
            use_case,
            confidence,
            decisive,
            basis: "b".into(),
        }
    }

    fn op(use_case: UseCase) -> LlmOpinion {
        LlmOpinion {
            use_case,
            security_relevant: true,
            confidence: Confidence::High,
            questions: vec![],
            rationale: String::new(),
            pick: None,
        }
    }

    #[test]
    fn model_alone_never_yields_non_virtualization() {
        for rules_say in [UseCase::Virtualization, UseCase::NeedsJudgement] {
            for conf in [Confidence::Low, Confidence::Medium, Confidence::High] {
                let (uc, _, _) = combine(
                    &rules(rules_say, conf, false),
                    false,
                    &op(UseCase::NonVirtualization),
                    false,
                );
                assert_ne!(
                    uc,
                    UseCase::NonVirtualization,
                    "rules {rules_say:?} {conf:?}"
                );
            }
        }
    }

    #[test]
    fn non_virtualization_needs_decisive_evidence_or_agreement() {
        let weak = combine(
            &rules(UseCase::NonVirtualization, Confidence::Low, false),
            true,
            &op(UseCase::Virtualization),
            false,
        );
        assert_eq!(weak.0, UseCase::NeedsJudgement);
        let agreed = combine(
            &rules(UseCase::NonVirtualization, Confidence::Low, false),
            true,
            &op(UseCase::NonVirtualization),
            false,
        );
        assert_eq!(agreed.0, UseCase::NonVirtualization);
        let decisive = combine(
            &rules(UseCase::NonVirtualization, Confidence::High, true),
            true,
            &op(UseCase::Virtualization),
            false,
        );
        assert_eq!(decisive.0, UseCase::NonVirtualization);
    }

    #[test]
    fn the_model_places_unlocated_code_but_not_a_device_the_kb_left_open() {
        let unsure = rules(UseCase::NeedsJudgement, Confidence::Low, false);
        let says_virt = op(UseCase::Virtualization);
        assert_eq!(
            combine(&unsure, false, &says_virt, false).0,
            UseCase::Virtualization
        );
        assert_eq!(
            combine(&unsure, true, &says_virt, false).0,
            UseCase::NeedsJudgement
        );
    }

    #[test]
    fn the_model_adds_security_relevance_but_never_clears_it() {
        let kb = crate::kb::Kb::embedded();
        let report = |body: &str| crate::triage::Report {
            title: "hw/usb/hcd-xhci: fix ring walk".into(),
            body: body.into(),
        };
        let looping =
            crate::triage::analyze(&report("The guest can make the loop run forever."), kb);
        let quiet = crate::triage::analyze(&report("Tidy the ring walk."), kb);
        let reachable = crate::triage::analyze(
            &report("A malicious guest can make the ring walk read the wrong entry."),
            kb,
        );
        assert!(reachable.security.kinds.is_empty() && reachable.security.guest_or_remote_trigger);
        let says = |relevant: bool| LlmOpinion {
            security_relevant: relevant,
            ..op(UseCase::Virtualization)
        };
        let relevant = |e: &Evidence, o: Option<&LlmOpinion>| {
            security_relevance(e, UseCase::Virtualization, o)
        };
        assert!(relevant(&looping, None));
        assert!(
            relevant(&looping, Some(&says(false))),
            "the model cleared a described hang"
        );
        assert!(!relevant(&quiet, None));
        assert!(
            !relevant(&quiet, Some(&says(true))),
            "no trigger described: the model alone does not add relevance"
        );
        assert!(!relevant(&reachable, None));
        assert!(relevant(&reachable, Some(&says(true))));
        assert!(!security_relevance(
            &looping,
            UseCase::NonVirtualization,
            Some(&says(true))
        ));
    }

    #[test]
    fn injected_reports_keep_the_rules_verdict() {
        let (uc, _, why) = combine(
            &rules(UseCase::Virtualization, Confidence::Medium, false),
            true,
            &op(UseCase::NonVirtualization),
            true,
        );
        assert_eq!(uc, UseCase::Virtualization);
        assert!(why.contains("injection"));
        let (weak, _, _) = combine(
            &rules(UseCase::NonVirtualization, Confidence::Low, false),
            true,
            &op(UseCase::Virtualization),
            true,
        );
        assert_eq!(
            weak,
            UseCase::NeedsJudgement,
            "injection must not rescue weak evidence"
        );
    }

    #[test]
    fn a_picked_component_is_classified_by_the_kb_and_non_virtualization_needs_corroboration() {
        let unplaced = rules(UseCase::NeedsJudgement, Confidence::Low, false);
        let pick = |class, title_match| Pick {
            subject: "f.c".into(),
            class,
            fact: "fact".into(),
            title_match,
            decisive: true,
        };
        let says = |use_case, p: Pick| LlmOpinion {
            pick: Some(p),
            ..op(use_case)
        };
        let nv = UseCase::NonVirtualization;
        let corroborated = says(nv, pick(nv, true));
        assert_eq!(
            combine_pick(
                &unplaced,
                corroborated.pick.as_ref().unwrap(),
                &corroborated
            )
            .0,
            nv
        );
        let alone = says(nv, pick(nv, false));
        assert_eq!(
            combine_pick(&unplaced, alone.pick.as_ref().unwrap(), &alone).0,
            UseCase::NeedsJudgement,
            "a non-virtualization pick without the title's corroboration is left to a maintainer"
        );
        let virt = says(nv, pick(UseCase::Virtualization, false));
        assert_eq!(
            combine_pick(&unplaced, virt.pick.as_ref().unwrap(), &virt).0,
            UseCase::Virtualization,
            "the KB's class of the pick counts, not the model's verdict"
        );
    }
}
