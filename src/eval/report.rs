//! The report: aggregates per-case results into `report.json` and renders
//! `report.md` (pure; the caller writes the files).
//!
//! Determinism: cases keep input order, maps are sorted, JSON keys are sorted
//! by [`canonical`]. Wall-clock numbers (latency, `generated_at`) live in the
//! JSON; the Markdown shows them only in a final "Timing" section that
//! `--no-timestamp` leaves out, so the Markdown is stable across reruns.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::compare::Comparison;
use super::gate::GateResult;
use super::metrics::{self, Binary, ClassMetrics, Confusion, CurvePoint, Scored, CLASSES};
use super::run::{Baseline, CaseResult};
use crate::kb::UseCase;
use crate::triage::Confidence;

/// How the run was set up (no paths, no secrets).
#[derive(Debug, Clone, Serialize)]
pub struct Setup {
    /// `none` or `openai`.
    pub llm: String,
    pub baseline: Baseline,
    pub model: Option<String>,
    /// Prompt versions seen in the answers, sorted.
    pub prompt_versions: Vec<String>,
    pub cache_mode: Option<String>,
    pub engine_version: String,
    pub files: Vec<FileCount>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileCount {
    pub file: String,
    pub cases: usize,
}

/// The numbers a reader looks at first, for all cases or one input file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Headline {
    /// `None` for all files together.
    pub file: Option<String>,
    pub cases: usize,
    pub correct: usize,
    /// Exact-match accuracy over all cases.
    pub accuracy: Option<f64>,
    /// Cases predicted as something other than needs-judgement.
    pub decided: usize,
    /// Accuracy on the decided cases.
    pub decided_accuracy: Option<f64>,
    /// Fraction of cases decided.
    pub coverage: Option<f64>,
    pub dangerous: usize,
    pub macro_f1: Option<f64>,
    pub security_precision: Option<f64>,
    pub security_recall: Option<f64>,
    pub provenance_precision: Option<f64>,
    pub provenance_recall: Option<f64>,
}

/// The confusion matrix with its axis names.
#[derive(Debug, Clone, Serialize)]
pub struct UseCaseSection {
    /// Row and column order of `counts`.
    pub classes: Vec<UseCase>,
    /// `counts[label][predicted]`.
    pub counts: [[usize; 3]; 3],
    pub per_class: Vec<ClassMetrics>,
    pub macro_f1: Option<f64>,
}

/// A case labelled virtualization (or security-relevant) but suggested non-virtualization.
#[derive(Debug, Clone, Serialize)]
pub struct Dangerous {
    pub id: String,
    pub file: String,
    pub label: UseCase,
    pub security_relevant: bool,
    pub confidence: Confidence,
}

/// Totals and per-case spread of one count.
#[derive(Debug, Clone, Serialize)]
pub struct Stat {
    pub cases: usize,
    pub total: u64,
    pub mean: Option<f64>,
    pub p50: Option<u64>,
    pub p95: Option<u64>,
    pub max: Option<u64>,
}

impl Stat {
    pub fn new(values: &[u64]) -> Stat {
        Stat {
            cases: values.len(),
            total: values.iter().sum(),
            mean: metrics::ratio(values.iter().sum::<u64>() as usize, values.len()),
            p50: metrics::percentile(values, 50.0),
            p95: metrics::percentile(values, 95.0),
            max: values.iter().copied().max(),
        }
    }
}

/// Token use over the cases that called the model.
#[derive(Debug, Clone, Serialize)]
pub struct Tokens {
    pub prompt: Stat,
    pub completion: Stat,
    /// Prompt tokens served from the server's prefix cache; `None` when the server never said.
    pub cached_prefix: Option<Stat>,
    /// Prompt tokens counted locally with tiktoken before sending.
    pub counted_locally: Stat,
    /// Of those, the fixed system-message prefix (cacheable), per call.
    pub fixed: Option<Stat>,
    /// And the per-case user message (facts, candidates, report), per call.
    pub per_case: Option<Stat>,
}

/// What happened with the model, by case.
#[derive(Debug, Clone, Serialize)]
pub struct LlmSummary {
    /// Count per status (`answered`, `failed`, `not-used`, `skipped`).
    pub status: BTreeMap<String, usize>,
    pub repaired: usize,
    /// Failed calls (and rejected inputs) by case id, with the reason.
    pub failures: Vec<Failure>,
    /// Cases where the model was not asked, by reason: no answer could change the suggestion.
    pub not_asked: BTreeMap<String, usize>,
    /// Cases whose verdict the model changed (from the rules-only one).
    pub changed_verdicts: usize,
    /// The model's own use-case answer against the label, over answered cases.
    pub model_alone: ModelAlone,
    /// What the rules leave open, by label: the most coverage any model could add.
    pub headroom: Headroom,
}

/// Cases the rules leave as needs-judgement, by their label. Only the decided
/// labels are coverage a model could add without losing accuracy, and under
/// the asymmetric policy only the virtualization ones on its answer alone.
#[derive(Debug, Clone, Serialize)]
pub struct Headroom {
    pub open: usize,
    pub label_virtualization: usize,
    pub label_non_virtualization: usize,
    pub label_needs_judgement: usize,
    /// (virtualization + non-virtualization labels among the open) / all cases.
    pub coverage_ceiling_gain: Option<f64>,
}

/// How often the model's own answer was right, before the decision policy.
#[derive(Debug, Clone, Serialize)]
pub struct ModelAlone {
    pub answered: usize,
    pub correct: usize,
    pub accuracy: Option<f64>,
    /// Cases where it answered non-virtualization for a virtualization or
    /// security-relevant label (the policy never lets that answer stand alone).
    pub dangerous: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub id: String,
    pub reason: String,
}

/// Milliseconds (to the microsecond) of a set of wall-clock durations.
#[derive(Debug, Clone, Serialize)]
pub struct MsStat {
    pub cases: usize,
    pub total: f64,
    pub mean: Option<f64>,
    pub p50: Option<f64>,
    pub p95: Option<f64>,
    pub max: Option<f64>,
}

impl MsStat {
    pub fn from_micros(us: &[u64]) -> MsStat {
        let ms = |v: u64| v as f64 / 1000.0;
        let s = Stat::new(us);
        MsStat {
            cases: s.cases,
            total: ms(s.total),
            mean: s.mean.map(|m| m.round() / 1000.0),
            p50: s.p50.map(ms),
            p95: s.p95.map(ms),
            max: s.max.map(ms),
        }
    }
}

/// Wall-clock latency; differs between reruns, hence only here and in the Timing section.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    pub per_case_ms: MsStat,
    /// Over the cases that called the model (answered or failed), per input file.
    pub asked_ms: BTreeMap<String, MsStat>,
    /// Start of the first case to the end of the last.
    pub wall_ms: u64,
    pub by_case_ms: BTreeMap<String, f64>,
}

/// One case in brief, enough for `--compare` against a later run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Brief {
    pub id: String,
    pub file: String,
    pub label: UseCase,
    pub predicted: UseCase,
    pub confidence: Confidence,
    pub correct: bool,
    pub dangerous: bool,
    /// Security relevance: label and suggestion (absent in reports before they were kept).
    #[serde(default)]
    pub label_security_relevant: Option<bool>,
    #[serde(default)]
    pub security_relevant: Option<bool>,
    /// Declared provenance: label and suggestion (`None` when not labelled / not applicable).
    #[serde(default)]
    pub label_provenance: Option<bool>,
    #[serde(default)]
    pub provenance: Option<bool>,
    /// The model's own use-case answer, when it answered.
    #[serde(default)]
    pub model_use_case: Option<UseCase>,
}

/// The abstention curve of one input file.
#[derive(Debug, Clone, Serialize)]
pub struct FileCurve {
    pub file: String,
    pub points: Vec<CurvePoint>,
}

/// Everything in `report.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub name: String,
    pub generated_at: Option<String>,
    pub setup: Setup,
    pub headline: Headline,
    pub per_file: Vec<Headline>,
    pub use_case: UseCaseSection,
    /// All cases, lowest threshold (most coverage) first.
    pub abstention: Vec<CurvePoint>,
    /// The same curve per input file, in `--cases` order.
    pub abstention_per_file: Vec<FileCurve>,
    pub dangerous: Vec<Dangerous>,
    pub security_relevance: Binary,
    /// `None` (not applicable) for the naive baseline.
    pub provenance: Option<Binary>,
    /// Embargo requests; `None` (not applicable) for the naive baseline.
    pub embargo: Option<Binary>,
    pub llm: LlmSummary,
    pub tokens: Tokens,
    pub latency: Latency,
    pub cases: Vec<Brief>,
    pub comparison: Option<Comparison>,
    pub gates: Option<GateResult>,
}

fn scored(cases: &[&CaseResult]) -> Vec<Scored> {
    cases.iter().map(|c| c.scored()).collect()
}

fn security(cases: &[&CaseResult]) -> Binary {
    Binary::new(
        cases
            .iter()
            .map(|c| (c.label.security_relevant, c.predicted.security_relevant)),
    )
}

/// Only cases with a provenance label, and only when the run predicts provenance.
fn provenance(cases: &[&CaseResult]) -> Option<Binary> {
    if cases
        .iter()
        .any(|c| c.predicted.provenance_declared.is_none())
    {
        return None;
    }
    Some(Binary::new(cases.iter().filter_map(|c| {
        Some((
            c.label.provenance_declared?,
            c.predicted.provenance_declared?,
        ))
    })))
}

/// Embargo requests, when the run predicts them.
fn embargo(cases: &[&CaseResult]) -> Option<Binary> {
    cases
        .iter()
        .map(|c| Some((c.label.embargo_request, c.predicted.embargo_request?)))
        .collect::<Option<Vec<_>>>()
        .map(Binary::new)
}

/// The headline numbers of a set of cases.
pub fn headline(file: Option<String>, cases: &[&CaseResult]) -> Headline {
    let s = scored(cases);
    let m = Confusion::new(&s);
    let decided = metrics::curve_point(&s, Confidence::Low.score());
    let sec = security(cases);
    let prov = provenance(cases);
    Headline {
        file,
        cases: cases.len(),
        correct: m.correct(),
        accuracy: m.accuracy(),
        decided: decided.decided,
        decided_accuracy: decided.accuracy,
        coverage: decided.coverage,
        dangerous: cases.iter().filter(|c| c.dangerous).count(),
        macro_f1: m.macro_f1(),
        security_precision: sec.precision,
        security_recall: sec.recall,
        provenance_precision: prov.as_ref().and_then(|p| p.precision),
        provenance_recall: prov.as_ref().and_then(|p| p.recall),
    }
}

/// Run facts the results alone do not carry.
#[derive(Debug, Clone)]
pub struct RunInfo {
    pub name: String,
    pub generated_at: Option<String>,
    pub llm: String,
    pub baseline: Baseline,
    pub model: Option<String>,
    pub cache_mode: Option<String>,
    pub files: Vec<String>,
    pub wall_ms: u64,
}

/// Aggregates the results (comparison and gates are filled in by the caller).
pub fn summarize(info: &RunInfo, results: &[CaseResult]) -> Summary {
    let all: Vec<&CaseResult> = results.iter().collect();
    let by_file =
        |f: &str| -> Vec<&CaseResult> { all.iter().copied().filter(|c| c.file == f).collect() };
    let s = scored(&all);
    let m = Confusion::new(&s);

    let mut status: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for c in results {
        *status.entry(c.llm.status.clone()).or_default() += 1;
        if let Some(reason) = c.llm.reason.as_ref().or(c.input_error.as_ref()) {
            failures.push(Failure {
                id: c.id.clone(),
                reason: reason.clone(),
            });
        }
    }
    let usages: Vec<_> = results.iter().filter_map(|c| c.tokens).collect();
    let pick = |f: fn(&crate::triage::decide::TokenUsage) -> u64| -> Vec<u64> {
        usages.iter().map(f).collect()
    };
    let cached: Vec<u64> = usages.iter().filter_map(|u| u.cached).collect();
    let mut prompt_versions: Vec<String> = results
        .iter()
        .filter_map(|c| c.llm.prompt_version.clone())
        .collect();
    prompt_versions.sort();
    prompt_versions.dedup();

    Summary {
        name: info.name.clone(),
        generated_at: info.generated_at.clone(),
        setup: Setup {
            llm: info.llm.clone(),
            baseline: info.baseline,
            model: info.model.clone(),
            prompt_versions,
            cache_mode: info.cache_mode.clone(),
            engine_version: crate::triage::ENGINE_VERSION.to_string(),
            files: info
                .files
                .iter()
                .map(|f| FileCount {
                    file: f.clone(),
                    cases: by_file(f).len(),
                })
                .collect(),
        },
        headline: headline(None, &all),
        per_file: info
            .files
            .iter()
            .map(|f| headline(Some(f.clone()), &by_file(f)))
            .collect(),
        use_case: UseCaseSection {
            classes: CLASSES.to_vec(),
            counts: m.counts,
            per_class: m.per_class(),
            macro_f1: m.macro_f1(),
        },
        abstention: metrics::abstention_curve(&s),
        abstention_per_file: info
            .files
            .iter()
            .map(|f| FileCurve {
                file: f.clone(),
                points: metrics::abstention_curve(&scored(&by_file(f))),
            })
            .collect(),
        dangerous: results
            .iter()
            .filter(|c| c.dangerous)
            .map(|c| Dangerous {
                id: c.id.clone(),
                file: c.file.clone(),
                label: c.label.use_case,
                security_relevant: c.label.security_relevant,
                confidence: c.predicted.confidence,
            })
            .collect(),
        security_relevance: security(&all),
        provenance: provenance(&all),
        embargo: embargo(&all),
        llm: LlmSummary {
            status,
            repaired: results
                .iter()
                .filter(|c| c.llm.repaired == Some(true))
                .count(),
            failures,
            not_asked: {
                let mut m = BTreeMap::new();
                for c in results {
                    if let Some(r) = &c.llm.not_asked {
                        *m.entry(r.clone()).or_default() += 1;
                    }
                }
                m
            },
            changed_verdicts: results
                .iter()
                .filter(|c| {
                    c.rules
                        .as_ref()
                        .is_some_and(|r| r.use_case != c.predicted.use_case)
                })
                .count(),
            headroom: {
                let open: Vec<&CaseResult> = results
                    .iter()
                    .filter(|c| {
                        c.rules
                            .as_ref()
                            .map_or(c.predicted.use_case, |r| r.use_case)
                            == UseCase::NeedsJudgement
                    })
                    .collect();
                let with = |u: UseCase| open.iter().filter(|c| c.label.use_case == u).count();
                let (v, n) = (
                    with(UseCase::Virtualization),
                    with(UseCase::NonVirtualization),
                );
                Headroom {
                    open: open.len(),
                    label_virtualization: v,
                    label_non_virtualization: n,
                    label_needs_judgement: with(UseCase::NeedsJudgement),
                    coverage_ceiling_gain: metrics::ratio(v + n, results.len()),
                }
            },
            model_alone: {
                let answered: Vec<&CaseResult> = results
                    .iter()
                    .filter(|c| c.llm.use_case.is_some())
                    .collect();
                let correct = answered
                    .iter()
                    .filter(|c| c.llm.use_case == Some(c.label.use_case))
                    .count();
                ModelAlone {
                    answered: answered.len(),
                    correct,
                    accuracy: metrics::ratio(correct, answered.len()),
                    dangerous: answered
                        .iter()
                        .filter(|c| {
                            c.llm.use_case == Some(UseCase::NonVirtualization)
                                && (c.label.use_case == UseCase::Virtualization
                                    || c.label.security_relevant)
                        })
                        .count(),
                }
            },
        },
        tokens: Tokens {
            prompt: Stat::new(&pick(|u| u.prompt)),
            completion: Stat::new(&pick(|u| u.completion)),
            cached_prefix: (!cached.is_empty()).then(|| Stat::new(&cached)),
            counted_locally: Stat::new(&pick(|u| u.counted_locally)),
            fixed: usages
                .iter()
                .any(|u| u.counted_fixed > 0)
                .then(|| Stat::new(&pick(|u| u.counted_fixed))),
            per_case: usages
                .iter()
                .any(|u| u.counted_fixed > 0)
                .then(|| Stat::new(&pick(|u| u.counted_locally - u.counted_fixed))),
        },
        latency: Latency {
            per_case_ms: MsStat::from_micros(
                &results.iter().map(|c| c.latency_us).collect::<Vec<_>>(),
            ),
            asked_ms: {
                let mut m: BTreeMap<String, Vec<u64>> = BTreeMap::new();
                for c in results.iter().filter(|c| c.tokens.is_some()) {
                    m.entry(c.file.clone()).or_default().push(c.latency_us);
                    m.entry("all".into()).or_default().push(c.latency_us);
                }
                m.into_iter()
                    .map(|(k, v)| (k, MsStat::from_micros(&v)))
                    .collect()
            },
            wall_ms: info.wall_ms,
            by_case_ms: results
                .iter()
                .map(|c| (c.id.clone(), c.latency_us as f64 / 1000.0))
                .collect(),
        },
        cases: results
            .iter()
            .map(|c| Brief {
                id: c.id.clone(),
                file: c.file.clone(),
                label: c.label.use_case,
                predicted: c.predicted.use_case,
                confidence: c.predicted.confidence,
                correct: c.correct,
                dangerous: c.dangerous,
                label_security_relevant: Some(c.label.security_relevant),
                security_relevant: Some(c.predicted.security_relevant),
                label_provenance: c.label.provenance_declared,
                provenance: c.predicted.provenance_declared,
                model_use_case: c.llm.use_case,
            })
            .collect(),
        comparison: None,
        gates: None,
    }
}

/// Rebuilds every JSON object with its keys in sorted order, whatever map
/// type serde_json was built with (a dependency may enable `preserve_order`).
pub fn canonical(v: Value) -> Value {
    match v {
        Value::Object(map) => {
            let sorted: BTreeMap<String, Value> =
                map.into_iter().map(|(k, v)| (k, canonical(v))).collect();
            Value::Object(sorted.into_iter().collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(canonical).collect()),
        other => other,
    }
}

/// Serialises with sorted keys, pretty or one line.
pub fn to_canonical_json<T: Serialize>(value: &T, pretty: bool) -> String {
    let v = canonical(serde_json::to_value(value).unwrap_or(Value::Null));
    let s = if pretty {
        serde_json::to_string_pretty(&v)
    } else {
        serde_json::to_string(&v)
    };
    s.unwrap_or_default()
}

/// A ratio for people: three decimals, or "n/a" when undefined.
pub fn fmt_ratio(r: Option<f64>) -> String {
    r.map_or_else(|| "n/a".to_string(), |v| format!("{v:.3}"))
}

fn fmt_opt(v: Option<u64>) -> String {
    v.map_or_else(|| "n/a".to_string(), |v| v.to_string())
}

fn fmt_mean(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".to_string(), |v| format!("{v:.1}"))
}

fn headline_row(out: &mut String, scope: &str, h: &Headline) {
    let _ = writeln!(
        out,
        "| {scope} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        h.cases,
        fmt_ratio(h.accuracy),
        fmt_ratio(h.decided_accuracy),
        fmt_ratio(h.coverage),
        h.dangerous,
        fmt_ratio(h.macro_f1),
        fmt_ratio(h.security_precision),
        fmt_ratio(h.security_recall),
        fmt_ratio(h.provenance_precision),
        fmt_ratio(h.provenance_recall),
    );
}

fn binary_table(out: &mut String, b: &Binary) {
    out.push_str("| cases | TP | FP | FN | TN | precision | recall | F1 |\n|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
        b.cases,
        b.true_positive,
        b.false_positive,
        b.false_negative,
        b.true_negative,
        fmt_ratio(b.precision),
        fmt_ratio(b.recall),
        fmt_ratio(b.f1)
    );
}

fn stat_row(out: &mut String, what: &str, s: &Stat) {
    let _ = writeln!(
        out,
        "| {what} | {} | {} | {} | {} | {} |",
        s.total,
        fmt_mean(s.mean),
        fmt_opt(s.p50),
        fmt_opt(s.p95),
        fmt_opt(s.max)
    );
}

/// Renders `report.md`. `results` are the per-case results in input order.
pub fn markdown(s: &Summary, results: &[CaseResult]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Evaluation: {}\n", s.name);
    if let Some(t) = &s.generated_at {
        let _ = writeln!(out, "Generated at {t}.\n");
    }
    let _ = writeln!(
        out,
        "- LLM: {}{}\n- Verdict from: {}\n- Engine: {}",
        s.setup.llm,
        s.setup
            .model
            .as_ref()
            .map(|m| format!(" (model `{m}`)"))
            .unwrap_or_default(),
        match s.setup.baseline {
            Baseline::Engine => "the engine (deterministic layers + decision policy)",
            Baseline::Naive =>
                "naive baseline (whole security.rst + raw report, model's answer as is)",
        },
        s.setup.engine_version
    );
    if !s.setup.prompt_versions.is_empty() {
        let _ = writeln!(out, "- Prompt: {}", s.setup.prompt_versions.join(", "));
    }
    if let Some(mode) = &s.setup.cache_mode {
        let _ = writeln!(out, "- LLM cache: {mode}");
    }
    for f in &s.setup.files {
        let _ = writeln!(out, "- Cases: `{}` ({})", f.file, f.cases);
    }

    out.push_str("\n## Headline\n\n");
    out.push_str("Accuracy is exact match over all cases (needs-judgement is a class); *decided* accuracy counts only cases predicted as something other than needs-judgement, and coverage is the fraction decided. Dangerous: labelled virtualization or security-relevant, suggested non-virtualization.\n\n");
    out.push_str("| scope | cases | accuracy | decided accuracy | coverage | dangerous | macro F1 | security P | security R | provenance P | provenance R |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    headline_row(&mut out, "all", &s.headline);
    for h in &s.per_file {
        headline_row(
            &mut out,
            &format!("`{}`", h.file.as_deref().unwrap_or("")),
            h,
        );
    }

    out.push_str("\n## Use case\n\nRows are labels (`unclear` counts as needs-judgement), columns are predictions.\n\n");
    out.push_str("| label \\ predicted | virtualization | non-virtualization | needs-judgement | support |\n|---|---:|---:|---:|---:|\n");
    for (i, c) in CLASSES.iter().enumerate() {
        let row = s.use_case.counts[i];
        let _ = writeln!(
            out,
            "| {c} | {} | {} | {} | {} |",
            row[0],
            row[1],
            row[2],
            row.iter().sum::<usize>()
        );
    }
    out.push_str("\n| class | support | predicted | precision | recall | F1 |\n|---|---:|---:|---:|---:|---:|\n");
    for c in &s.use_case.per_class {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            c.class,
            c.support,
            c.predicted,
            fmt_ratio(c.precision),
            fmt_ratio(c.recall),
            fmt_ratio(c.f1)
        );
    }
    let _ = writeln!(out, "\nMacro F1: {}.", fmt_ratio(s.use_case.macro_f1));

    out.push_str("\n## Abstention curve\n\nA prediction counts as decided at a threshold when it is not needs-judgement and its confidence score (low 0.3, medium 0.6, high 0.9) is at least the threshold.\n\n![accuracy against coverage](report.svg)\n\n");
    out.push_str("| scope | threshold | decided | coverage | accuracy on decided |\n|---|---:|---:|---:|---:|\n");
    let mut curves: Vec<(String, &Vec<CurvePoint>)> = vec![("all".into(), &s.abstention)];
    curves.extend(
        s.abstention_per_file
            .iter()
            .map(|c| (format!("`{}`", c.file), &c.points)),
    );
    for (scope, curve) in curves {
        for p in curve {
            let _ = writeln!(
                out,
                "| {scope} | {:.1} | {} | {} | {} |",
                p.threshold,
                p.decided,
                fmt_ratio(p.coverage),
                fmt_ratio(p.accuracy)
            );
        }
    }

    let _ = writeln!(out, "\n## Dangerous errors ({})\n", s.dangerous.len());
    if s.dangerous.is_empty() {
        out.push_str("None.\n");
    }
    for d in &s.dangerous {
        let _ = writeln!(
            out,
            "- `{}` ({}): labelled {}{}, suggested non-virtualization with {} confidence",
            d.id,
            d.file,
            d.label,
            if d.security_relevant {
                ", security-relevant"
            } else {
                ""
            },
            fmt_conf(d.confidence)
        );
    }

    let wrong: Vec<&CaseResult> = results.iter().filter(|c| !c.correct).collect();
    let _ = writeln!(out, "\n## Use-case errors ({})\n", wrong.len());
    if !wrong.is_empty() {
        out.push_str("| case | file | label | predicted | confidence | rules said | LLM said |\n|---|---|---|---|---|---|---|\n");
        for c in wrong {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} | {} | {} |",
                c.id,
                c.file,
                c.label.use_case,
                c.predicted.use_case,
                fmt_conf(c.predicted.confidence),
                c.rules
                    .as_ref()
                    .map_or("n/a".to_string(), |r| r.use_case.to_string()),
                match (&c.llm.use_case, c.llm.status.as_str()) {
                    (Some(u), _) => u.to_string(),
                    (None, status) => status.to_string(),
                }
            );
        }
    }

    out.push_str("\n## Security relevance\n\n");
    binary_table(&mut out, &s.security_relevance);
    out.push_str("## Declared provenance\n\nLabel `provenance.declared` against the suggestion's declared tool use.\n\n");
    match &s.provenance {
        Some(p) => binary_table(&mut out, p),
        None => out.push_str("Not applicable: the naive baseline does not detect provenance.\n\n"),
    }
    out.push_str("## Embargo requests\n\nLabel `embargo_request` (absent: no request) against the suggestion's detected request for an embargo, a disclosure date, coordinated disclosure or a deadline (security-process.md, Embargo policy).\n\n");
    match &s.embargo {
        Some(b) => binary_table(&mut out, b),
        None => {
            out.push_str("Not applicable: the naive baseline does not detect embargo requests.\n\n")
        }
    }

    out.push_str("## LLM\n\n");
    let status: Vec<String> = s
        .llm
        .status
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    let _ = writeln!(
        out,
        "Calls by outcome: {}; repaired answers: {}.\n",
        status.join(", "),
        s.llm.repaired
    );
    if !s.llm.failures.is_empty() {
        out.push_str("Failed (scored with the fallback verdict):\n\n");
        for f in &s.llm.failures {
            let _ = writeln!(out, "- `{}`: {}", f.id, f.reason.replace('\n', " "));
        }
        out.push('\n');
    }
    let asked = s.llm.model_alone.answered + s.llm.status.get("failed").copied().unwrap_or(0);
    let not_asked: usize = s.llm.not_asked.values().sum();
    if asked + not_asked > 0 && s.setup.baseline == Baseline::Engine {
        let reasons: Vec<String> = s
            .llm
            .not_asked
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        let _ = writeln!(
            out,
            "Model asked on {asked} of {} cases; not asked on {not_asked} ({}), because no answer could change the suggestion: {}. Verdicts that differ from the rules-only verdict: {}.\n",
            asked + not_asked,
            fmt_ratio(metrics::ratio(not_asked, asked + not_asked)),
            if reasons.is_empty() { "none".to_string() } else { reasons.join(", ") },
            s.llm.changed_verdicts
        );
    }
    let h = &s.llm.headroom;
    if h.open > 0 && s.setup.baseline == Baseline::Engine {
        let _ = writeln!(
            out,
            "Headroom: the rules leave {} cases open; {} of them are labelled needs-judgement (right to stay open), {} virtualization and {} non-virtualization. So no model can add more than {} of coverage here without losing accuracy, and on its answer alone (the policy never lets the model make anything non-virtualization) at most {}.\n",
            h.open,
            h.label_needs_judgement,
            h.label_virtualization,
            h.label_non_virtualization,
            fmt_ratio(h.coverage_ceiling_gain),
            fmt_ratio(metrics::ratio(h.label_virtualization, s.headline.cases)),
        );
    }
    if s.llm.model_alone.answered > 0 {
        let m = &s.llm.model_alone;
        let _ = writeln!(
            out,
            "The model's own use-case answer (before the decision policy) matched the label on {} of {} answered cases ({}); {} of its answers were non-virtualization for a virtualization or security-relevant case.\n",
            m.correct,
            m.answered,
            fmt_ratio(m.accuracy),
            m.dangerous
        );
    }
    if s.tokens.counted_locally.cases > 0 {
        out.push_str("| tokens | total | mean per case | p50 | p95 | max |\n|---|---:|---:|---:|---:|---:|\n");
        stat_row(&mut out, "prompt (server)", &s.tokens.prompt);
        stat_row(&mut out, "completion (server)", &s.tokens.completion);
        match &s.tokens.cached_prefix {
            Some(c) => stat_row(&mut out, "cached prefix (server)", c),
            None => out.push_str("| cached prefix (server) | not reported | | | | |\n"),
        }
        stat_row(
            &mut out,
            "prompt (counted locally)",
            &s.tokens.counted_locally,
        );
        if let (Some(f), Some(p)) = (&s.tokens.fixed, &s.tokens.per_case) {
            stat_row(&mut out, "of which fixed prefix", f);
            stat_row(&mut out, "of which per case", p);
        }
        out.push('\n');
    }

    if let Some(c) = &s.comparison {
        super::compare::markdown(&mut out, c);
    }
    if let Some(g) = &s.gates {
        out.push_str("## Gates\n\n");
        let _ = writeln!(out, "{}\n", g.line());
    }
    if s.generated_at.is_some() {
        out.push_str("## Timing\n\nWall-clock, so it differs between runs (`--no-timestamp` leaves this section out).\n\n");
        out.push_str("| latency (ms) | total | mean per case | p50 | p95 | max |\n|---|---:|---:|---:|---:|---:|\n");
        let l = &s.latency.per_case_ms;
        let f = |v: Option<f64>| v.map_or_else(|| "n/a".to_string(), |v| format!("{v:.1}"));
        let _ = writeln!(
            out,
            "| per case | {:.1} | {} | {} | {} | {} |",
            l.total,
            f(l.mean),
            f(l.p50),
            f(l.p95),
            f(l.max)
        );
        for (scope, l) in &s.latency.asked_ms {
            let _ = writeln!(
                out,
                "| model asked, {scope} ({} cases) | {:.1} | {} | {} | {} | {} |",
                l.cases,
                l.total,
                f(l.mean),
                f(l.p50),
                f(l.p95),
                f(l.max)
            );
        }
        let _ = writeln!(out, "\nWhole run: {} ms.", s.latency.wall_ms);
    }
    out
}

fn fmt_conf(c: Confidence) -> &'static str {
    match c {
        Confidence::Low => "low",
        Confidence::Medium => "medium",
        Confidence::High => "high",
    }
}
