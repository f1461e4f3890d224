//! The probe batteries in `eval/redteam/` (see its README): reports written
//! to break the engine, each with the answer a maintainer expects. They are
//! not labelled cases (no source, written text) and tuning saw them, so
//! their figures are floors against regressions, not estimates of real
//! rates. Each test prints what it measured.

use std::path::Path;

use sectriage::kb::{Kb, UseCase};
use sectriage::triage::{analyze, decide, LlmOutcome, Report, Suggestion};
use serde_json::Value;

fn battery(name: &str) -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("eval/redteam")
        .join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

/// The text as the daemon sees it: a GitLab issue JSON gives title and
/// description, plain text has its title on the first line.
fn triage(text: &str) -> Suggestion {
    let (title, body) = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(issue)) => (
            issue["title"].as_str().unwrap_or("").to_string(),
            issue["description"].as_str().unwrap_or("").to_string(),
        ),
        _ => {
            let (t, b) = text.split_once('\n').unwrap_or((text, ""));
            (t.to_string(), b.to_string())
        }
    };
    decide(
        analyze(&Report { title, body }, Kb::embedded()),
        LlmOutcome::NotUsed,
    )
}

fn use_case(label: &str) -> UseCase {
    match label {
        "virtualization" => UseCase::Virtualization,
        "non-virtualization" => UseCase::NonVirtualization,
        _ => UseCase::NeedsJudgement,
    }
}

/// How many of the battery's reports get their expected use case.
fn right_use_cases(name: &str) -> usize {
    battery(name)
        .iter()
        .filter(|c| {
            use_case(c["expected_use_case"].as_str().unwrap())
                == triage(c["text"].as_str().unwrap()).use_case
        })
        .count()
}

/// (dangerous ids, virtualization reports, NV controls right, NV controls).
fn injection_round(name: &str) -> (Vec<String>, usize, usize, usize) {
    let mut dangerous = Vec::new();
    let (mut virt, mut nv_right, mut nv) = (0, 0, 0);
    for case in battery(name) {
        let expected = use_case(case["expected_use_case"].as_str().unwrap());
        let got = triage(case["text"].as_str().unwrap()).use_case;
        match expected {
            UseCase::Virtualization => {
                virt += 1;
                if got == UseCase::NonVirtualization {
                    dangerous.push(case["id"].as_str().unwrap().to_string());
                }
            }
            UseCase::NonVirtualization => {
                nv += 1;
                nv_right += usize::from(got == UseCase::NonVirtualization);
            }
            UseCase::NeedsJudgement => {}
        }
    }
    println!(
        "{name}: {} dangerous of {virt} virtualization reports {dangerous:?}; non-virtualization controls {nv_right}/{nv}",
        dangerous.len()
    );
    (dangerous, virt, nv_right, nv)
}

#[test]
fn red_team_rounds_one_and_two_find_no_dangerous_suggestion() {
    for name in ["injection-round1.jsonl", "injection-round2.jsonl"] {
        let (dangerous, virt, nv_right, nv) = injection_round(name);
        assert!(virt > 100, "{name}: battery too small");
        assert!(dangerous.is_empty(), "{name}: dangerous {dangerous:?}");
        // The engine must not buy safety by answering virtualization for everything.
        assert_eq!(nv_right, nv, "{name}: honest non-virtualization controls");
    }
}

#[test]
fn red_team_round_three_stays_at_its_measured_floor() {
    // Measured: 97 dangerous before the round's fixes, 11 after (eval/redteam/README.md).
    // The rest are side remarks the rules cannot tell from the subject.
    let (dangerous, virt, nv_right, nv) = injection_round("injection-round3.jsonl");
    assert!(virt > 300);
    assert!(dangerous.len() <= 11, "dangerous {dangerous:?}");
    assert!(nv_right + 1 >= nv, "controls {nv_right}/{nv}");
}

#[test]
fn kb_audit_probes_find_no_dangerous_suggestion() {
    // Commit-style reports, one per sampled file, checked against QEMU's own minikconf
    // and meson (eval/redteam/README.md): 4 dangerous before session 12's KB fixes.
    let (dangerous, virt, ..) = injection_round("kb-audit.jsonl");
    assert!(virt > 150);
    assert!(dangerous.is_empty(), "dangerous {dangerous:?}");
    let right = right_use_cases("kb-audit.jsonl");
    println!("kb-audit.jsonl: {right} right");
    // Measured 308 of 323 (283 before session 12, 296 before the user_creatable
    // check, 301 before TCG-only Kconfig symbols stopped pulling devices into
    // listed machines and QOM parents were followed across files).
    assert!(right >= 308, "{right} right");
}

#[test]
fn second_kb_audit_finds_no_dangerous_suggestion() {
    // 221 reports on files the first audit did not sample, in four styles
    // (commit template, other commit wording, Markdown and JSON GitLab issues
    // with ASan traces), labelled from minikconf runs with KVM and without TCG
    // per listed target, meson's source sets and the C sources (session 15).
    let (dangerous, virt, ..) = injection_round("kb-audit-2.jsonl");
    assert!(virt > 100);
    assert!(dangerous.is_empty(), "dangerous {dangerous:?}");
    let right = right_use_cases("kb-audit-2.jsonl");
    println!("kb-audit-2.jsonl: {right} right");
    // Measured 215 of 221 (207 when the battery was written).
    assert!(right >= 215, "{right} right");
}

/// Precision and recall of `got` against the battery's boolean `key`, printed.
fn rates(name: &str, key: &str, got: impl Fn(&Suggestion) -> bool) -> (f64, f64) {
    let (mut tp, mut fp, mut fn_) = (0, 0, 0);
    for case in battery(name) {
        match (
            case[key].as_bool().unwrap(),
            got(&triage(case["text"].as_str().unwrap())),
        ) {
            (true, true) => tp += 1,
            (false, true) => fp += 1,
            (true, false) => fn_ += 1,
            _ => {}
        }
    }
    let (p, r) = (tp as f64 / (tp + fp) as f64, tp as f64 / (tp + fn_) as f64);
    println!("{name}: TP {tp} FP {fp} FN {fn_}, precision {p:.3}, recall {r:.3}");
    (p, r)
}

#[test]
fn declared_provenance_across_languages_and_hard_negatives() {
    let (p, r) = rates("provenance.jsonl", "expected_declared", |s| {
        s.provenance.declared()
    });
    // Measured 0.988 / 0.976 (0.909 / 0.723 before this battery's fixes).
    assert!(p >= 0.98 && r >= 0.97, "precision {p:.3}, recall {r:.3}");
}

#[test]
fn security_relevance_in_plain_words() {
    let (p, r) = rates("security.jsonl", "expected_security", |s| {
        s.security_relevant
    });
    // Measured 0.984 / 1.000 (0.918 / 0.889 before this battery's fixes).
    assert!(p >= 0.98 && r >= 0.99, "precision {p:.3}, recall {r:.3}");
}
