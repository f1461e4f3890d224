//! CI's quality gate: the committed evaluations are re-run (rules only, and
//! the recorded local-model runs — engine and naive baseline — replayed from
//! their cache, with no model) and must reproduce the committed reports and
//! pass the gates, so a change that degrades the engine fails CI.

use std::path::Path;
use std::process::Command;

const CASES: [&str; 2] = [
    "eval/cases/dev-cases.jsonl",
    "eval/cases/dev-ai-cases.jsonl",
];

fn eval(extra: &[&str], out_dir: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sectriage"))
        .arg("eval")
        .arg("--cases")
        .args(CASES)
        .args(["--no-timestamp", "--out-dir"])
        .arg(out_dir)
        .args(extra)
        // Replays must never need a model: point any live call at a closed port.
        .env("SECTRIAGE_LLM_BASE_URL", "http://127.0.0.1:9/v1")
        .env("SECTRIAGE_LLM_MODEL", "qwen2.5-coder-1.5b-instruct")
        .output()
        .unwrap()
}

fn assert_same_cases(name: &str, out_dir: &Path) {
    let fresh = std::fs::read_to_string(out_dir.join(name).join("cases.jsonl")).unwrap();
    let committed =
        std::fs::read_to_string(Path::new("eval/reports").join(name).join("cases.jsonl")).unwrap();
    assert!(
        fresh == committed,
        "eval/reports/{name}/cases.jsonl is out of date: rerun the evaluation and commit it"
    );
}

#[test]
fn rules_only_run_reproduces_and_passes_the_gates() {
    let dir = tempfile::tempdir().unwrap();
    let out = eval(
        &[
            "--llm",
            "none",
            "--name",
            "rules-only",
            "--min-accuracy",
            "0.95",
            "--min-coverage",
            "0.75",
            "--max-dangerous",
            "0",
        ],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "gate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_same_cases("rules-only", dir.path());
}

#[test]
fn recorded_local_model_run_replays_and_passes_the_gates() {
    let dir = tempfile::tempdir().unwrap();
    let out = eval(
        &[
            "--llm",
            "openai",
            "--cache",
            "eval/cache/qwen2.5-coder-1.5b",
            "--cache-mode",
            "replay",
            "--name",
            "llm-qwen",
            "--min-accuracy",
            "0.9",
            "--min-coverage",
            "0.7",
            "--max-dangerous",
            "0",
        ],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "gate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_same_cases("llm-qwen", dir.path());
}

/// The naive baseline (whole `security.rst` + raw report, same model) is the
/// design's yardstick: it has no gate, but its committed report must be what
/// the recording replays to.
#[test]
fn recorded_naive_baseline_replays() {
    let dir = tempfile::tempdir().unwrap();
    let out = eval(
        &[
            "--llm",
            "openai",
            "--baseline",
            "naive",
            "--cache",
            "eval/cache/qwen2.5-coder-1.5b",
            "--cache-mode",
            "replay",
            "--name",
            "naive-qwen",
        ],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "replay failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_same_cases("naive-qwen", dir.path());
}
