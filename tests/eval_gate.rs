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

/// Runs `sectriage eval` on the dev cases into a temporary directory, asserts it
/// exited 0 (gates passed) and that its `cases.jsonl` equals the committed one.
fn reproduce(name: &str, args: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sectriage"))
        .arg("eval")
        .arg("--cases")
        .args(CASES)
        .args(["--no-timestamp", "--name", name, "--out-dir"])
        .arg(dir.path())
        .args(args)
        // Replays must never need a model: point any live call at a closed port.
        .env("SECTRIAGE_LLM_BASE_URL", "http://127.0.0.1:9/v1")
        .env("SECTRIAGE_LLM_MODEL", "qwen2.5-coder-1.5b-instruct")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "eval {name} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let fresh = std::fs::read_to_string(dir.path().join(name).join("cases.jsonl")).unwrap();
    let committed =
        std::fs::read_to_string(Path::new("eval/reports").join(name).join("cases.jsonl")).unwrap();
    assert!(
        fresh == committed,
        "eval/reports/{name}/cases.jsonl is out of date: rerun the evaluation and commit it"
    );
}

/// Replays a recorded run from its own cache directory (`eval/cache/<name>`).
fn replay(cache: &str) -> [&str; 6] {
    [
        "--llm",
        "openai",
        "--cache",
        cache,
        "--cache-mode",
        "replay",
    ]
}

#[test]
fn rules_only_run_reproduces_and_passes_the_gates() {
    reproduce(
        "rules-only",
        &[
            "--llm",
            "none",
            "--min-accuracy",
            "0.95",
            "--min-coverage",
            "0.75",
            "--max-dangerous",
            "0",
        ],
    );
}

#[test]
fn recorded_local_model_run_replays_and_passes_the_gates() {
    let gates = [
        "--min-accuracy",
        "0.9",
        "--min-coverage",
        "0.7",
        "--max-dangerous",
        "0",
    ];
    reproduce(
        "llm-qwen",
        &[&replay("eval/cache/llm-qwen")[..], &gates[..]].concat(),
    );
}

/// The naive baseline (whole `security.rst` + raw report, same model) is the
/// design's yardstick: it has no gate, but its committed report must be what
/// the recording replays to.
#[test]
fn recorded_naive_baseline_replays() {
    reproduce(
        "naive-qwen",
        &[
            &replay("eval/cache/naive-qwen")[..],
            &["--baseline", "naive"][..],
        ]
        .concat(),
    );
}
