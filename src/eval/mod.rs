//! Offline evaluation against labelled cases (`sectriage eval`).
//!
//! Runs the same [`Engine`] as the daemon over every case, a few at once,
//! scores the suggestions against the labels and writes
//! `report.md`, `report.json`, `report.svg` and `cases.jsonl` into
//! `<out-dir>/<name>/`. Optional gates turn the run into a pass/fail exit code.
//! Metrics ([`metrics`]), aggregation ([`report`]), comparison ([`compare`]),
//! gates ([`gate`]) and the chart ([`svg`]) are pure; IO stays in [`run`] and here.

pub mod case;
pub mod chart;
pub mod compare;
pub mod gate;
pub mod metrics;
pub mod report;
pub mod run;
pub mod svg;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Instant, SystemTime};

use crate::config::{ConfigError, ConfigFile, LlmMode};
use crate::engine::Engine;
use crate::kb::Kb;
use crate::llm::{Adjudicator, CacheMode, PromptKind, ResponseCache};
use crate::triage::hygiene::Limits;
pub use run::Baseline;

/// Flags of `sectriage eval`.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// Labelled-case files (JSON lines).
    #[arg(long, num_args = 1.., required = true)]
    pub cases: Vec<PathBuf>,
    /// Which model the engine asks (overrides `llm.mode`; rules only when neither is set).
    #[arg(long, value_enum)]
    pub llm: Option<LlmMode>,
    /// What produces the verdict: the engine, or the naive one-prompt baseline (needs --llm openai).
    #[arg(long, value_enum, default_value_t = Baseline::Engine)]
    pub baseline: Baseline,
    /// Record/replay LLM responses in this directory.
    #[arg(long)]
    pub cache: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = CacheMode::ReadWrite)]
    pub cache_mode: CacheMode,
    /// Cases evaluated at once.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrency: u16,
    /// Report name: the directory under --out-dir (default: rules-only, llm or naive).
    #[arg(long)]
    pub name: Option<String>,
    /// Where report directories go.
    #[arg(long, default_value = "eval/reports")]
    pub out_dir: PathBuf,
    /// An earlier report.json to compare with, case by case.
    #[arg(long)]
    pub compare: Option<PathBuf>,
    /// Leave out generated_at and the Timing section of report.md.
    #[arg(long)]
    pub no_timestamp: bool,
    /// Gate: lowest accepted accuracy on decided cases (0..1).
    #[arg(long)]
    pub min_accuracy: Option<f64>,
    /// Gate: lowest accepted coverage, the fraction of cases decided (0..1).
    #[arg(long)]
    pub min_coverage: Option<f64>,
    /// Gate: most dangerous errors accepted.
    #[arg(long)]
    pub max_dangerous: Option<usize>,
}

/// What can stop an evaluation before or after the cases run (a failing case never does).
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("cannot read the cases file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}: not a labelled case: {message}")]
    Case {
        path: String,
        line: usize,
        message: String,
    },
    #[error(
        "{path}:{line}: case id '{id}' appears twice; ids must be unique across all --cases files"
    )]
    DuplicateId {
        id: String,
        path: String,
        line: usize,
    },
    #[error("no cases in the given files")]
    NoCases,
    #[error("invalid flags: {0}")]
    Flags(String),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot open the LLM cache directory {path}: {source}")]
    Cache {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot read {path} for --compare: {message}")]
    Compare { path: String, message: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

fn check_flags(args: &EvalArgs, llm: LlmMode) -> Result<String, EvalError> {
    if args.baseline == Baseline::Naive && llm == LlmMode::None {
        return Err(EvalError::Flags(
            "--baseline naive asks the model; use it with --llm openai".into(),
        ));
    }
    if args.cache.is_some() && llm == LlmMode::None {
        return Err(EvalError::Flags(
            "--cache only applies with --llm openai".into(),
        ));
    }
    for (flag, v) in [
        ("--min-accuracy", args.min_accuracy),
        ("--min-coverage", args.min_coverage),
    ] {
        if let Some(v) = v {
            if !(0.0..=1.0).contains(&v) {
                return Err(EvalError::Flags(format!(
                    "{flag} {v} is not a fraction between 0 and 1"
                )));
            }
        }
    }
    let name = args.name.clone().unwrap_or_else(|| {
        match (llm, args.baseline) {
            (LlmMode::None, _) => "rules-only",
            (_, Baseline::Naive) => "naive",
            (_, Baseline::Engine) => "llm",
        }
        .to_string()
    });
    // The name becomes a directory: keep it to one plain path component.
    let plain = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if name.is_empty() || !plain || name.starts_with('.') {
        return Err(EvalError::Flags(format!(
            "--name '{name}' must be letters, digits, '-', '_' or '.', not starting with '.'"
        )));
    }
    Ok(name)
}

fn engine(args: &EvalArgs, llm: LlmMode, config: &ConfigFile) -> Result<Engine, EvalError> {
    let llm = match llm {
        LlmMode::None => None,
        LlmMode::Openai => {
            let prompt = match args.baseline {
                Baseline::Engine => PromptKind::Adjudicate,
                Baseline::Naive => PromptKind::Naive,
            };
            let cfg = config.llm_config(&|k| std::env::var(k).ok(), prompt)?;
            let cache = args
                .cache
                .as_deref()
                .map(|dir| {
                    ResponseCache::open(dir, args.cache_mode).map_err(|source| EvalError::Cache {
                        path: dir.display().to_string(),
                        source,
                    })
                })
                .transpose()?;
            Some(Adjudicator::new(cfg, cache))
        }
    };
    Ok(Engine {
        kb: Kb::embedded(),
        limits: Limits {
            max_report_bytes: config.max_report_bytes(),
        },
        llm,
    })
}

fn write(path: &Path, contents: &str) -> Result<(), EvalError> {
    std::fs::write(path, contents).map_err(|source| EvalError::Write {
        path: path.display().to_string(),
        source,
    })
}

fn cache_mode_name(mode: CacheMode) -> &'static str {
    match mode {
        CacheMode::ReadWrite => "read-write",
        CacheMode::Replay => "replay",
        CacheMode::Record => "record",
    }
}

/// Runs an evaluation: exit 0 when every gate passes (or none is set), 1 when one fails.
///
/// # Errors
/// When the flags are inconsistent, the cases cannot be read, or the report cannot be written.
pub async fn run(args: EvalArgs, config: &ConfigFile) -> anyhow::Result<ExitCode> {
    let env = |k: &str| std::env::var(k).ok();
    if let Some(hint) = config.unchosen_model_hint(args.llm, &env) {
        tracing::warn!("{hint}");
    }
    let llm = config.llm_mode(args.llm);
    let name = check_flags(&args, llm)?;
    let cases = case::read_cases(&args.cases)?;
    if cases.is_empty() {
        return Err(EvalError::NoCases.into());
    }
    // Read --compare before the (possibly long) run, so a typo fails fast.
    let earlier = args.compare.as_deref().map(compare::load).transpose()?;
    let engine = engine(&args, llm, config)?;
    let files = case::display_names(&args.cases);

    let started = Instant::now();
    let results = run::evaluate(
        &engine,
        &cases,
        &files,
        run::RunOptions {
            concurrency: usize::from(args.concurrency),
            baseline: args.baseline,
            progress: true,
        },
    )
    .await;
    let wall_ms = started.elapsed().as_millis() as u64;

    let info = report::RunInfo {
        name: name.clone(),
        generated_at: (!args.no_timestamp).then(|| httpdate::fmt_http_date(SystemTime::now())),
        llm: match llm {
            LlmMode::None => "none".into(),
            LlmMode::Openai => "openai".into(),
        },
        baseline: args.baseline,
        model: engine.llm.as_ref().map(|l| l.config().model.clone()),
        cache_mode: args
            .cache
            .as_ref()
            .map(|_| cache_mode_name(args.cache_mode).to_string()),
        files: files.clone(),
        wall_ms,
    };
    let mut summary = report::summarize(&info, &results);
    summary.comparison = earlier
        .as_ref()
        .map(|e| compare::compare(e, &summary.cases));
    let gates = gate::Gates {
        min_accuracy: args.min_accuracy,
        min_coverage: args.min_coverage,
        max_dangerous: args.max_dangerous,
    };
    summary.gates = gates.any().then(|| gates.check(&summary.headline));

    let dir = args.out_dir.join(&name);
    std::fs::create_dir_all(&dir).map_err(|source| EvalError::Write {
        path: dir.display().to_string(),
        source,
    })?;
    let mut jsonl = String::new();
    for r in &results {
        jsonl.push_str(&report::to_canonical_json(r, false));
        jsonl.push('\n');
    }
    write(&dir.join("cases.jsonl"), &jsonl)?;
    write(
        &dir.join("report.json"),
        &(report::to_canonical_json(&summary, true) + "\n"),
    )?;
    write(
        &dir.join("report.md"),
        &report::markdown(&summary, &results),
    )?;
    let mut series = vec![("all".to_string(), summary.abstention.clone())];
    if summary.abstention_per_file.len() > 1 {
        series.extend(
            summary
                .abstention_per_file
                .iter()
                .map(|c| (c.file.clone(), c.points.clone())),
        );
    }
    write(
        &dir.join("report.svg"),
        &svg::abstention_svg(&format!("Abstention curve: {name}"), &series),
    )?;

    let h = &summary.headline;
    eprintln!(
        "eval {name}: {} cases, accuracy {}, decided accuracy {}, coverage {}, {} dangerous; report in {}",
        h.cases,
        report::fmt_ratio(h.accuracy),
        report::fmt_ratio(h.decided_accuracy),
        report::fmt_ratio(h.coverage),
        h.dangerous,
        dir.display()
    );
    let failed = summary.llm.status.get("failed").copied().unwrap_or(0);
    if failed > 0 {
        eprintln!("eval {name}: {failed} LLM calls failed and were scored with the rules-only verdict (see report.md, section LLM)");
    }
    if let Some(c) = &summary.comparison {
        eprintln!(
            "eval {name}: {} compared with {} ({})",
            c.verdict, c.against, c.reason
        );
    }
    Ok(match &summary.gates {
        Some(g) if !g.passed => {
            eprintln!("{}", g.line());
            ExitCode::from(1)
        }
        Some(g) => {
            eprintln!("{}", g.line());
            ExitCode::SUCCESS
        }
        None => ExitCode::SUCCESS,
    })
}
