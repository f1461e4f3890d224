//! The scrub check against its fixtures (precision and recall) and through the CLI.
//!
//! `tests/fixtures/scrub/planted.jsonl` holds text with planted private data
//! (obviously fake, correctly shaped) and the kinds expected; `lookalike.jsonl`
//! holds text that resembles private data and must not fire. A finding counts
//! as a true positive when its kind is expected on that line (as a multiset:
//! two planted e-mails need two findings).

use std::collections::BTreeMap;

use sectriage::publish::scrub::{scrub, Kind, Place};
use serde::Deserialize;
use support::run;

mod support;

/// Thresholds: a miss can publish private data while a false alarm costs a
/// maintainer a glance, so recall matters more; both sit just under the
/// measured figures (1.000 / 0.992 with one known miss, see eval/README.md):
/// one more miss, or two false alarms, is tolerated, more fails CI.
const MIN_PRECISION: f64 = 0.98;
const MIN_RECALL: f64 = 0.98;

#[derive(Deserialize)]
struct Case {
    text: String,
    kinds: Vec<Kind>,
    note: String,
}

fn load(name: &str) -> Vec<Case> {
    let path = format!("{}/tests/fixtures/scrub/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("{name} line {}: {e}", i + 1))
        })
        .collect()
}

fn counts(kinds: impl IntoIterator<Item = Kind>) -> BTreeMap<Kind, usize> {
    let mut m = BTreeMap::new();
    for k in kinds {
        *m.entry(k).or_default() += 1;
    }
    m
}

#[derive(Default)]
struct Score {
    tp: usize,
    fp: usize,
    fn_: usize,
}

fn score(cases: &[Case], file: &str, s: &mut Score, per_kind: &mut BTreeMap<Kind, Score>) {
    for (i, c) in cases.iter().enumerate() {
        let found = scrub(&[(Place::Description, &c.text)]);
        let got = counts(found.iter().map(|f| f.kind));
        let want = counts(c.kinds.iter().copied());
        for k in Kind::ALL {
            let (g, w) = (
                got.get(&k).copied().unwrap_or(0),
                want.get(&k).copied().unwrap_or(0),
            );
            let e = per_kind.entry(k).or_default();
            let tp = g.min(w);
            s.tp += tp;
            e.tp += tp;
            s.fp += g.saturating_sub(w);
            e.fp += g.saturating_sub(w);
            s.fn_ += w.saturating_sub(g);
            e.fn_ += w.saturating_sub(g);
        }
        if got != want {
            println!(
                "{file} line {}: want {:?}, got {:?} ({})",
                i + 1,
                want,
                got,
                c.note
            );
        }
    }
}

#[test]
fn precision_and_recall_over_the_fixtures() {
    let planted = load("planted.jsonl");
    let lookalike = load("lookalike.jsonl");
    let planted_items: usize = planted.iter().map(|c| c.kinds.len()).sum();
    assert!(planted_items >= 60, "{planted_items} planted items");
    assert!(
        lookalike.len() >= planted_items,
        "{} look-alikes for {planted_items} planted items",
        lookalike.len()
    );
    assert!(lookalike.iter().all(|c| c.kinds.is_empty()));
    for k in Kind::ALL {
        assert!(
            planted.iter().any(|c| c.kinds.contains(&k)),
            "no planted {k:?}"
        );
    }

    let mut s = Score::default();
    let mut per_kind = BTreeMap::new();
    score(&planted, "planted.jsonl", &mut s, &mut per_kind);
    let planted_fp = s.fp;
    score(&lookalike, "lookalike.jsonl", &mut s, &mut per_kind);
    let precision = s.tp as f64 / (s.tp + s.fp).max(1) as f64;
    let recall = s.tp as f64 / (s.tp + s.fn_).max(1) as f64;
    println!(
        "scrub: {} planted items in {} lines, {} look-alike lines",
        planted_items,
        planted.len(),
        lookalike.len()
    );
    println!(
        "scrub: precision {precision:.3} recall {recall:.3} (tp {}, fp {} of which {} on look-alikes, fn {})",
        s.tp,
        s.fp,
        s.fp - planted_fp,
        s.fn_
    );
    for (k, e) in &per_kind {
        println!("  {k:?}: tp {} fp {} fn {}", e.tp, e.fp, e.fn_);
    }
    assert!(precision >= MIN_PRECISION, "precision {precision:.3}");
    assert!(recall >= MIN_RECALL, "recall {recall:.3}");
}

#[test]
fn no_description_repeats_what_it_found() {
    for c in load("planted.jsonl") {
        for f in scrub(&[(Place::Description, &c.text)]) {
            let secret = &c.text[f.span.clone()];
            let d = f.describe();
            assert!(
                !d.contains(secret.trim()),
                "{d:?} repeats its finding ({})",
                c.note
            );
            let json = serde_json::to_string(&f).unwrap();
            assert!(!json.contains(secret.trim()), "{json} ({})", c.note);
        }
    }
}

#[test]
fn cli_exit_codes_and_formats() {
    let (code, out, _) = run(&["scrub", "-"], b"xhci loops on a self-referencing link TRB\n\nqemu-system-x86_64 -m 4096 -netdev user,hostfwd=tcp::2222-:22\n");
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("clean"), "{out}");

    let token = format!("glpat-{}", "CliFakeCliFakeCliFake0");
    let issue = serde_json::json!({
        "title": "e1000e: overflow",
        "description": format!("line one\nPRIVATE-TOKEN: {token}\n"),
        "notes": [
            {"id": 5, "body": "reach me at reporter@fake-mail.net", "internal": false},
            {"id": 6, "body": "internal: maintainer@fake-mail.net", "internal": true}
        ]
    })
    .to_string();
    let (code, out, _) = run(&["scrub", "-"], issue.as_bytes());
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("GitLab personal access token on line 2 of the description"),
        "{out}"
    );
    assert!(out.contains("e-mail address on line 1 of note 5"), "{out}");
    assert!(
        !out.contains("note 6"),
        "internal notes are not checked: {out}"
    );
    assert!(
        !out.contains("CliFake") && !out.contains("reporter@"),
        "{out}"
    );

    let (code, out, _) = run(&["scrub", "--format", "json", "-"], issue.as_bytes());
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["clean"], false);
    assert_eq!(v["findings"][0]["kind"], "gitlab-token");
    assert_eq!(v["findings"][0]["place"], "description");
    assert_eq!(v["findings"][0]["line"], 2);
    assert_eq!(v["findings"][1]["place"]["note"], 5);
    assert!(!out.contains("CliFake"));

    let (code, _, err) = run(&["scrub", "/nonexistent/report.txt"], b"");
    assert_eq!(code, 2);
    assert!(err.contains("cannot read"), "{err}");
}

/// The labelled eval cases (`eval/cases/*.jsonl`, written independently of
/// this check, full of traces, command lines, hex and versions) are a
/// look-alike corpus nobody tuned the rules on: the only private data they
/// hold are the e-mail addresses in their `Reported-by:`-style trailers, and
/// those must be exactly what fires.
#[test]
fn eval_cases_fire_only_on_their_trailer_addresses() {
    let trailer =
        regex::Regex::new(r"(?im)^\s*(?:reported|signed-off|tested|reviewed|acked|suggested)-by:.*<[^<>@\s]+@[^<>@\s]+>")
            .unwrap();
    let (mut cases, mut expected, mut other) = (0, 0, Vec::new());
    let mut trailer_findings = 0;
    for name in ["dev-cases.jsonl", "dev-ai-cases.jsonl"] {
        let path = format!("{}/eval/cases/{name}", env!("CARGO_MANIFEST_DIR"));
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            if line.trim().is_empty() {
                continue;
            }
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let report = v["report"].as_str().unwrap();
            cases += 1;
            expected += trailer.find_iter(report).count();
            for f in scrub(&[(Place::Description, report)]) {
                if f.kind == Kind::TrailerEmail {
                    trailer_findings += 1;
                } else {
                    other.push(format!("{}: {}", v["id"], f.describe()));
                }
            }
        }
    }
    println!("scrub on {cases} eval cases: {trailer_findings} trailer addresses found, {expected} present, {} other findings", other.len());
    assert!(cases >= 70, "{cases} eval cases");
    assert!(other.is_empty(), "false alarms on eval cases: {other:#?}");
    assert_eq!(trailer_findings, expected);
}
