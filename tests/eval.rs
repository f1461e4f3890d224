//! `sectriage eval` through the binary: gates and exit codes, LLM failures
//! scored with the fallback, record/replay equality, the naive baseline.

mod support;

use std::path::{Path, PathBuf};

use serde_json::Value;
use support::{answer, FakeLlm, Reply};

const DEV: &str = include_str!("../eval/cases/dev-cases.jsonl");
const DEV_EXTRA: &str = include_str!("../eval/cases/dev-extra-cases.jsonl");

/// Virtualization, unclear-but-suggested-non-virtualization (a dangerous error for
/// the rules), TCG-only, user-mode, unclear.
const IDS: [&str; 5] = [
    "qemu-cve-2020-14394-xhci-loop",
    "qemu-cve-2021-3416-sungem",
    "qemu-cve-2020-24165-tcg-race",
    "qemu-linux-user-stime",
    "qemu-cve-2020-11102-tulip-oob",
];

/// Cases the engine asks the model about (no code located), then one whose
/// rules verdict no answer could change.
// The dev cases the model is asked on (the rules leave the first open; the
// second is TCG code the model could still call security relevant). The
// shared set has one left: msf2-emac and tcg_commit are placed by the rules.
const ASKED: [&str; 2] = ["qemu-sdcard-size-check", "qemu-gl-2413-i386-shl-flags"];
const SETTLED: &str = "qemu-cve-2020-14394-xhci-loop";

fn write_cases(dir: &Path, ids: &[&str]) -> PathBuf {
    let lines: Vec<&str> = ids
        .iter()
        .map(|id| {
            DEV.lines()
                .chain(DEV_EXTRA.lines())
                .find(|l| l.contains(&format!("\"id\": \"{id}\"")))
                .unwrap_or_else(|| panic!("no case {id}"))
        })
        .collect();
    let path = dir.join("cases.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

struct Out {
    code: i32,
    stderr: String,
}

async fn eval(args: &[&str], env: &[(&str, &str)]) -> Out {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_sectriage"))
        .arg("eval")
        .args(args)
        .envs(env.iter().copied())
        .env_remove("SECTRIAGE_CONFIG")
        .output()
        .await
        .unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn jsonl(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn gates_pass_and_fail_with_exit_codes() {
    let dir = tempfile::tempdir().unwrap();
    let cases = write_cases(dir.path(), &IDS);
    let out_dir = dir.path().join("reports");
    let base = [
        "--cases",
        s(&cases),
        "--llm",
        "none",
        "--no-timestamp",
        "--out-dir",
        s(&out_dir),
    ];

    let pass = eval(
        &[
            &base[..],
            &[
                "--name",
                "pass",
                "--max-dangerous",
                "5",
                "--min-coverage",
                "0.1",
            ],
        ]
        .concat(),
        &[],
    )
    .await;
    assert_eq!(pass.code, 0, "{}", pass.stderr);
    assert!(pass.stderr.contains("gates passed"), "{}", pass.stderr);
    for f in ["report.md", "report.json", "report.svg", "cases.jsonl"] {
        assert!(out_dir.join("pass").join(f).is_file(), "{f}");
    }
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("pass/report.json")).unwrap())
            .unwrap();
    assert_eq!(report["headline"]["cases"], 5);
    assert!(report.get("generated_at").is_some_and(Value::is_null));

    // The rules leave sungem to a maintainer's judgement: coverage stays below 1.
    let fail = eval(
        &[
            &base[..],
            &[
                "--name",
                "fail",
                "--max-dangerous",
                "0",
                "--min-coverage",
                "1.0",
            ],
        ]
        .concat(),
        &[],
    )
    .await;
    assert_eq!(fail.code, 1, "{}", fail.stderr);
    let line = fail
        .stderr
        .lines()
        .find(|l| l.starts_with("gate failed:"))
        .unwrap_or_else(|| panic!("{}", fail.stderr));
    assert!(line.contains("coverage") && line.contains("< 1"), "{line}");
    assert!(!line.contains("dangerous"), "{line}");

    // A broken case file is an error (2), not a failed gate.
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"id\": \"x\"}\n").unwrap();
    let err = eval(
        &[
            "--cases",
            s(&bad),
            "--llm",
            "none",
            "--out-dir",
            s(&out_dir),
        ],
        &[],
    )
    .await;
    assert_eq!(err.code, 2, "{}", err.stderr);
    assert!(err.stderr.contains("bad.jsonl:1"), "{}", err.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn markdown_is_stable_across_reruns() {
    let dir = tempfile::tempdir().unwrap();
    let cases = write_cases(dir.path(), &IDS);
    let mut md = Vec::new();
    for run in ["a", "b"] {
        let out_dir = dir.path().join(run);
        let out = eval(
            &[
                "--cases",
                s(&cases),
                "--llm",
                "none",
                "--no-timestamp",
                "--concurrency",
                "3",
                "--out-dir",
                s(&out_dir),
                "--name",
                "same",
            ],
            &[],
        )
        .await;
        assert_eq!(out.code, 0, "{}", out.stderr);
        md.push((
            std::fs::read_to_string(out_dir.join("same/report.md")).unwrap(),
            std::fs::read_to_string(out_dir.join("same/cases.jsonl")).unwrap(),
            std::fs::read_to_string(out_dir.join("same/report.svg")).unwrap(),
        ));
    }
    assert_eq!(md[0], md[1]);
    assert!(!md[0].0.contains("Timing"));
}

/// The model says non-virtualization for TCG reports and virtualization otherwise
/// (it reads the per-case message: the fixed system message names TCG for all).
fn scripted(body: &Value, _n: usize) -> Reply {
    let text = body["messages"][1]["content"].to_string();
    if text.contains("FAIL-THIS-CASE") {
        return Reply::Error(400, "model overloaded".into());
    }
    Reply::Content(answer(if text.contains("TCG") || text.contains("tcg") {
        "non-virtualization"
    } else {
        "virtualization"
    }))
}

#[tokio::test(flavor = "multi_thread")]
async fn replayed_run_equals_the_recorded_one_without_a_server() {
    let fake = FakeLlm::start(scripted).await;
    let dir = tempfile::tempdir().unwrap();
    let ids: Vec<&str> = ASKED.iter().copied().chain([SETTLED]).collect();
    let cases = write_cases(dir.path(), &ids);
    let cache = dir.path().join("cache");
    let run = |mode: &'static str, url: String| {
        let (cases, cache, out) = (
            cases.clone(),
            cache.clone(),
            dir.path().join(mode).to_path_buf(),
        );
        async move {
            let out = eval(
                &[
                    "--cases",
                    s(&cases),
                    "--llm",
                    "openai",
                    "--cache",
                    s(&cache),
                    "--cache-mode",
                    mode,
                    "--no-timestamp",
                    "--name",
                    "run",
                    "--out-dir",
                    s(&out),
                ],
                &[
                    ("SECTRIAGE_LLM_BASE_URL", url.as_str()),
                    ("SECTRIAGE_LLM_MODEL", "fake-model"),
                ],
            )
            .await;
            assert_eq!(out.code, 0, "{}", out.stderr);
        }
    };
    run("record", fake.base_url.clone()).await;
    let calls = fake.requests().len();
    assert_eq!(calls, ASKED.len(), "the settled case is not asked");

    // Nothing listens on a port just released: the replay must not need a server.
    let gone = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/v1", l.local_addr().unwrap())
    };
    run("replay", gone).await;
    assert_eq!(fake.requests().len(), calls);

    let recorded = std::fs::read_to_string(dir.path().join("record/run/cases.jsonl")).unwrap();
    let replayed = std::fs::read_to_string(dir.path().join("replay/run/cases.jsonl")).unwrap();
    assert_eq!(recorded, replayed);
    let lines = jsonl(&dir.path().join("replay/run/cases.jsonl"));
    assert!(lines[..ASKED.len()]
        .iter()
        .all(|l| l["llm"]["status"] == "answered"));
    assert_eq!(lines[ASKED.len()]["llm"]["status"], "not-asked");
    assert_eq!(lines[ASKED.len()]["llm"]["not_asked"], "rules-settled");
    assert_eq!(lines[0]["tokens"]["cached"], 900);
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("replay/run/report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report["tokens"]["prompt"]["total"], 1000 * ASKED.len());
    assert_eq!(
        report["tokens"]["cached_prefix"]["total"],
        900 * ASKED.len()
    );
    assert_eq!(report["llm"]["not_asked"]["rules-settled"], 1);
    let md = std::fs::read_to_string(dir.path().join("replay/run/report.md")).unwrap();
    assert!(
        md.contains("Model asked on 2 of 3 cases; not asked on 1 (0.333)"),
        "{md}"
    );
    assert!(md.contains("| of which fixed prefix |"), "{md}");
    assert_eq!(report["setup"]["model"], "fake-model");
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_calls_and_replay_misses_are_scored_with_the_fallback() {
    let fake = FakeLlm::start(scripted).await;
    let dir = tempfile::tempdir().unwrap();
    // One case whose request the fake refuses, next to ones it answers.
    let marked = DEV
        .lines()
        .find(|l| l.contains("\"id\": \"qemu-sdcard-size-check\""))
        .unwrap()
        .replacen("\"report\": \"", "\"report\": \"FAIL-THIS-CASE ", 1);
    let cases = write_cases(dir.path(), &[ASKED[1]]);
    let text = std::fs::read_to_string(&cases).unwrap() + &marked + "\n";
    std::fs::write(&cases, text).unwrap();
    let out_dir = dir.path().join("out");
    let out = eval(
        &[
            "--cases",
            s(&cases),
            "--llm",
            "openai",
            "--no-timestamp",
            "--out-dir",
            s(&out_dir),
            "--name",
            "f",
        ],
        &[("SECTRIAGE_LLM_BASE_URL", fake.base_url.as_str())],
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("1 LLM calls failed"), "{}", out.stderr);
    let lines = jsonl(&out_dir.join("f/cases.jsonl"));
    assert_eq!(lines.len(), 2);
    let failed = &lines[1];
    assert_eq!(failed["id"], "qemu-sdcard-size-check");
    assert_eq!(failed["llm"]["status"], "failed");
    assert!(failed["llm"]["reason"]
        .as_str()
        .unwrap()
        .contains("overloaded"));
    // The fallback is the rules-only verdict.
    assert_eq!(failed["predicted"]["use_case"], failed["rules"]["use_case"]);
    let md = std::fs::read_to_string(out_dir.join("f/report.md")).unwrap();
    assert!(md.contains("- `qemu-sdcard-size-check`: the LLM endpoint answered HTTP 400"));

    // Replay from an empty cache: every case misses, none stops the run.
    let miss = eval(
        &[
            "--cases",
            s(&cases),
            "--llm",
            "openai",
            "--cache",
            s(&dir.path().join("empty-cache")),
            "--cache-mode",
            "replay",
            "--out-dir",
            s(&out_dir),
            "--name",
            "miss",
        ],
        &[("SECTRIAGE_LLM_BASE_URL", fake.base_url.as_str())],
    )
    .await;
    assert_eq!(miss.code, 0, "{}", miss.stderr);
    let lines = jsonl(&out_dir.join("miss/cases.jsonl"));
    assert!(lines.iter().all(|l| l["llm"]["status"] == "failed"
        && l["llm"]["reason"]
            .as_str()
            .unwrap()
            .contains("no recorded response")));
}

#[tokio::test(flavor = "multi_thread")]
async fn naive_baseline_takes_the_model_answer_as_is() {
    // A model that always says non-virtualization: the engine would never accept that
    // alone, the naive baseline does.
    let fake = FakeLlm::start(|_, _| Reply::Content(answer("non-virtualization"))).await;
    let dir = tempfile::tempdir().unwrap();
    let cases = write_cases(dir.path(), &IDS);
    let out_dir = dir.path().join("out");
    let out = eval(
        &[
            "--cases",
            s(&cases),
            "--llm",
            "openai",
            "--baseline",
            "naive",
            "--no-timestamp",
            "--out-dir",
            s(&out_dir),
        ],
        &[("SECTRIAGE_LLM_BASE_URL", fake.base_url.as_str())],
    )
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let lines = jsonl(&out_dir.join("naive/cases.jsonl"));
    assert!(lines
        .iter()
        .all(|l| l["predicted"]["use_case"] == "non-virtualization"
            && l["predicted"]["provenance_declared"].is_null()));
    assert_eq!(lines[0]["id"], IDS[0]);
    assert_eq!(lines[0]["dangerous"], true);
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("naive/report.json")).unwrap())
            .unwrap();
    assert!(report["provenance"].is_null());
    assert!(report["setup"]["prompt_versions"][0]
        .as_str()
        .unwrap()
        .starts_with("naive-v1+"));
    let system = fake.requests()[0]["messages"][0]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(system.contains("Non-virtualization Use Case"));

    // --compare against it: the engine's rules-only run is better (fewer dangerous errors).
    let cmp = eval(
        &[
            "--cases",
            s(&cases),
            "--llm",
            "none",
            "--no-timestamp",
            "--out-dir",
            s(&out_dir),
            "--compare",
            s(&out_dir.join("naive/report.json")),
        ],
        &[],
    )
    .await;
    assert_eq!(cmp.code, 0, "{}", cmp.stderr);
    assert!(
        cmp.stderr.contains("better compared with naive"),
        "{}",
        cmp.stderr
    );
    let md = std::fs::read_to_string(out_dir.join("rules-only/report.md")).unwrap();
    assert!(md.contains("## Compared with `naive`"), "{md}");
    assert!(md.contains("Fixed (wrong → right)"), "{md}");
}
