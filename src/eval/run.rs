//! Runs the engine over the cases, a bounded number at once, and turns each
//! suggestion into a scored [`CaseResult`]. A failure on one case (an LLM
//! error, a report that breaks a limit, even a panic) is recorded on that
//! case; the run always goes on to the end.

use std::io::IsTerminal;
use std::time::Instant;

use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use super::case::Case;
use crate::engine::Engine;
use crate::intake::parse_input;
use crate::kb::UseCase;
use crate::triage::decide::{LlmOutcome, Suggestion, TokenUsage};
use crate::triage::Confidence;

/// What produces the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Baseline {
    /// The engine: deterministic layers, knowledge base, LLM adjudication, decision policy.
    Engine,
    /// One prompt with the whole security.rst and the raw report; the model's answer taken as is.
    Naive,
}

/// The label side of a result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelOut {
    pub use_case: UseCase,
    pub security_relevant: bool,
    pub provenance_declared: Option<bool>,
    pub embargo_request: bool,
}

/// The prediction side of a result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    pub use_case: UseCase,
    pub confidence: Confidence,
    /// [`Confidence::score`], the number the abstention curve thresholds.
    pub score: f64,
    pub security_relevant: bool,
    /// `None` for the naive baseline, which does not detect provenance.
    pub provenance_declared: Option<bool>,
    /// `None` for the naive baseline, which does not detect embargo requests.
    pub embargo_request: Option<bool>,
}

/// The deterministic layers' own verdict, for error analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RulesOut {
    pub use_case: UseCase,
    pub confidence: Confidence,
    pub decisive: bool,
}

/// What happened with the model on this case (no wall-clock numbers: see [`CaseResult::latency_us`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LlmOut {
    /// `not-used`, `answered`, `failed`, `not-asked` (no answer could change the
    /// suggestion), or `skipped` (the input was rejected first).
    pub status: String,
    pub use_case: Option<UseCase>,
    pub confidence: Option<Confidence>,
    pub security_relevant: Option<bool>,
    pub reason: Option<String>,
    pub model: Option<String>,
    pub prompt_version: Option<String>,
    pub repaired: Option<bool>,
    pub response_format: Option<String>,
    /// Why the model was not asked (`rules-settled`, `not-runtime`, `kb-left-open`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_asked: Option<String>,
    /// The candidate component the model picked, as the knowledge base named it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pick: Option<String>,
}

/// One scored case: a line of `cases.jsonl`.
///
/// Everything serialised is a function of the input and the (possibly
/// replayed) model answers, so a replayed run writes the same lines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseResult {
    pub id: String,
    /// The input file's name.
    pub file: String,
    pub line: usize,
    pub label: LabelOut,
    pub predicted: Prediction,
    /// The predicted use case equals the label (needs-judgement is a class).
    pub correct: bool,
    /// The prediction is not needs-judgement.
    pub decided: bool,
    /// Labelled virtualization or security-relevant, but predicted non-virtualization.
    pub dangerous: bool,
    pub rules: Option<RulesOut>,
    pub llm: LlmOut,
    pub tokens: Option<TokenUsage>,
    /// Why the engine rejected the input, when it did (scored as needs-judgement).
    pub input_error: Option<String>,
    /// Wall-clock time for this case; kept out of `cases.jsonl` because reruns differ.
    #[serde(skip)]
    pub latency_us: u64,
}

impl CaseResult {
    pub fn scored(&self) -> super::metrics::Scored {
        super::metrics::Scored {
            label: self.label.use_case,
            predicted: self.predicted.use_case,
            score: self.predicted.score,
        }
    }
}

fn llm_out(outcome: &LlmOutcome) -> LlmOut {
    match outcome {
        LlmOutcome::NotUsed => LlmOut {
            status: "not-used".into(),
            ..LlmOut::default()
        },
        LlmOutcome::Skipped { reason } => LlmOut {
            status: "not-asked".into(),
            not_asked: Some(reason.as_str().into()),
            ..LlmOut::default()
        },
        LlmOutcome::Answered {
            opinion,
            model,
            prompt_version,
            repaired,
            response_format,
            ..
        } => LlmOut {
            status: "answered".into(),
            use_case: Some(opinion.use_case),
            confidence: Some(opinion.confidence),
            security_relevant: Some(opinion.security_relevant),
            reason: None,
            model: Some(model.clone()),
            prompt_version: Some(prompt_version.clone()),
            repaired: Some(*repaired),
            response_format: Some(response_format.clone()),
            not_asked: None,
            pick: opinion.pick.as_ref().map(|p| p.subject.clone()),
        },
        LlmOutcome::Failed {
            reason,
            model,
            prompt_version,
            ..
        } => LlmOut {
            status: "failed".into(),
            reason: Some(reason.clone()),
            model: Some(model.clone()),
            prompt_version: Some(prompt_version.clone()),
            ..LlmOut::default()
        },
    }
}

fn prediction(s: &Suggestion, baseline: Baseline) -> Prediction {
    let (use_case, confidence, security_relevant, provenance_declared) = match baseline {
        Baseline::Engine => (
            s.use_case,
            s.confidence,
            s.security_relevant,
            Some(s.provenance.declared()),
        ),
        // The naive verdict is the model's answer as is; no answer is an abstention.
        Baseline::Naive => match s.llm.opinion() {
            Some(op) => (op.use_case, op.confidence, op.security_relevant, None),
            None => (UseCase::NeedsJudgement, Confidence::Low, false, None),
        },
    };
    let embargo_request = match baseline {
        Baseline::Engine => Some(s.embargo_request.is_some()),
        Baseline::Naive => None,
    };
    Prediction {
        use_case,
        confidence,
        score: confidence.score(),
        security_relevant,
        provenance_declared,
        embargo_request,
    }
}

fn finish(case: &Case, file: &str, mut r: CaseResult) -> CaseResult {
    r.id.clone_from(&case.id);
    r.file = file.to_string();
    r.line = case.line;
    r.correct = r.predicted.use_case == r.label.use_case;
    r.decided = r.predicted.use_case != UseCase::NeedsJudgement;
    r.dangerous = (r.label.use_case == UseCase::Virtualization || r.label.security_relevant)
        && r.predicted.use_case == UseCase::NonVirtualization;
    r
}

/// Scores one case from the engine's answer (or its refusal).
pub fn score_case(
    case: &Case,
    file: &str,
    result: Result<Suggestion, String>,
    baseline: Baseline,
    latency_us: u64,
) -> CaseResult {
    let label = LabelOut {
        use_case: case.label.use_case,
        security_relevant: case.label.security_relevant,
        provenance_declared: case.label.provenance_declared,
        embargo_request: case.label.embargo_request,
    };
    let r = match result {
        Ok(s) => CaseResult {
            id: String::new(),
            file: String::new(),
            line: 0,
            label,
            predicted: prediction(&s, baseline),
            correct: false,
            decided: false,
            dangerous: false,
            rules: Some(RulesOut {
                use_case: s.evidence.rules.use_case,
                confidence: s.evidence.rules.confidence,
                decisive: s.evidence.rules.decisive,
            }),
            llm: llm_out(&s.llm),
            tokens: s.llm.usage(),
            input_error: None,
            latency_us,
        },
        // Nothing to triage: scored as an abstention, like the daemon would leave it to a human.
        Err(reason) => CaseResult {
            id: String::new(),
            file: String::new(),
            line: 0,
            label,
            predicted: Prediction {
                use_case: UseCase::NeedsJudgement,
                confidence: Confidence::Low,
                score: Confidence::Low.score(),
                security_relevant: false,
                provenance_declared: (baseline == Baseline::Engine).then_some(false),
                embargo_request: (baseline == Baseline::Engine).then_some(false),
            },
            correct: false,
            decided: false,
            dangerous: false,
            rules: None,
            llm: LlmOut {
                status: "skipped".into(),
                ..LlmOut::default()
            },
            tokens: None,
            input_error: Some(reason),
            latency_us,
        },
    };
    finish(case, file, r)
}

/// How to run the cases.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    /// Cases in flight at once (at least 1).
    pub concurrency: usize,
    pub baseline: Baseline,
    /// Draw a progress bar on stderr (only when it is a terminal).
    pub progress: bool,
}

/// Runs every case and returns the results in input order.
pub async fn evaluate(
    engine: &Engine,
    cases: &[Case],
    files: &[String],
    opts: RunOptions,
) -> Vec<CaseResult> {
    let bar = if opts.progress && std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(cases.len() as u64);
        if let Ok(style) =
            ProgressStyle::with_template("{bar:40} {pos}/{len} cases [{elapsed_precise}] {msg}")
        {
            bar.set_style(style);
        }
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut failed = 0usize;
    // Each case is its own task so rules-only runs use every core; the stream bounds how many run.
    let mut stream = futures::stream::iter(cases.iter().cloned().enumerate())
        .map(|(i, case)| {
            let engine = engine.clone();
            let file = files.get(case.file_index).cloned().unwrap_or_default();
            let baseline = opts.baseline;
            let task = tokio::spawn(async move {
                let started = Instant::now();
                let raw = parse_input(case.raw.as_bytes());
                let result = engine.triage(&raw).await.map_err(|e| e.to_string());
                let us = started.elapsed().as_micros() as u64;
                score_case(&case, &file, result, baseline, us)
            });
            async move { (i, task.await) }
        })
        .buffer_unordered(opts.concurrency.max(1));
    let mut out: Vec<Option<CaseResult>> = vec![None; cases.len()];
    while let Some((i, joined)) = stream.next().await {
        let result = joined.unwrap_or_else(|e| {
            // A panic in the engine is a bug, but it must not hide the other cases' results.
            let file = files.get(cases[i].file_index).cloned().unwrap_or_default();
            score_case(
                &cases[i],
                &file,
                Err(format!("the engine panicked: {e}")),
                opts.baseline,
                0,
            )
        });
        if result.llm.status == "failed" || result.input_error.is_some() {
            failed += 1;
            bar.set_message(format!("{failed} failed"));
        }
        out[i] = Some(result);
        bar.inc(1);
    }
    bar.finish_and_clear();
    out.into_iter().flatten().collect()
}
