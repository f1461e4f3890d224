//! `--compare OTHER.json`: case-by-case changes against an earlier report and
//! an overall better/worse verdict (pure, apart from reading the file).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::metrics::Binary;
use super::report::{fmt_ratio, Brief};
use super::EvalError;
use crate::kb::UseCase;

/// The part of an earlier `report.json` the comparison reads.
#[derive(Debug, Clone, Deserialize)]
pub struct Earlier {
    pub name: String,
    pub cases: Vec<Brief>,
}

/// Reads an earlier report.
///
/// # Errors
/// [`EvalError::Compare`] when the file is missing or is not a `report.json`.
pub fn load(path: &Path) -> Result<Earlier, EvalError> {
    let err = |message: String| EvalError::Compare {
        path: path.display().to_string(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|e| err(e.to_string()))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| err(format!("not a report.json written by sectriage eval ({e})")))
}

/// A case whose prediction changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub id: String,
    pub label: UseCase,
    pub before: UseCase,
    pub after: UseCase,
}

/// Headline numbers over the cases both runs share.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Side {
    pub correct: usize,
    pub accuracy: Option<f64>,
    pub decided: usize,
    pub decided_accuracy: Option<f64>,
    pub coverage: Option<f64>,
    pub dangerous: usize,
    /// Security relevance against the label (cases whose report kept both).
    pub security: Binary,
    /// Declared provenance against the label (labelled cases, engine runs).
    pub provenance: Binary,
    /// The model's own use-case answers and how many matched the label.
    pub model_answered: usize,
    pub model_correct: usize,
    pub model_accuracy: Option<f64>,
}

fn side<'a>(cases: impl Iterator<Item = &'a Brief> + Clone) -> Side {
    let security = Binary::new(
        cases
            .clone()
            .filter_map(|c| Some((c.label_security_relevant?, c.security_relevant?))),
    );
    let provenance = Binary::new(
        cases
            .clone()
            .filter_map(|c| Some((c.label_provenance?, c.provenance?))),
    );
    let model: Vec<bool> = cases
        .clone()
        .filter_map(|c| c.model_use_case.map(|m| m == c.label))
        .collect();
    let model_correct = model.iter().filter(|b| **b).count();
    let (mut n, mut correct, mut decided, mut decided_correct, mut dangerous) = (0, 0, 0, 0, 0);
    for c in cases {
        n += 1;
        correct += usize::from(c.correct);
        dangerous += usize::from(c.dangerous);
        if c.predicted != UseCase::NeedsJudgement {
            decided += 1;
            decided_correct += usize::from(c.correct);
        }
    }
    Side {
        correct,
        accuracy: super::metrics::ratio(correct, n),
        decided,
        decided_accuracy: super::metrics::ratio(decided_correct, decided),
        coverage: super::metrics::ratio(decided, n),
        dangerous,
        security,
        provenance,
        model_answered: model.len(),
        model_correct,
        model_accuracy: super::metrics::ratio(model_correct, model.len()),
    }
}

/// A case whose binary answer (security relevance, provenance) changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flip {
    pub id: String,
    pub label: bool,
    pub before: bool,
    pub after: bool,
}

/// The comparison as it goes into the report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// The earlier run's `--name`.
    pub against: String,
    pub common: usize,
    pub only_here: Vec<String>,
    pub only_there: Vec<String>,
    /// Wrong before, right now.
    pub fixed: Vec<Change>,
    /// Right before, wrong now.
    pub broken: Vec<Change>,
    /// Wrong before and now, with a different answer.
    pub changed_still_wrong: Vec<Change>,
    /// Dangerous now, not before.
    pub new_dangerous: Vec<String>,
    /// Dangerous before, not now.
    pub resolved_dangerous: Vec<String>,
    /// Security relevance: wrong before and right now, and the other way round.
    pub security_fixed: Vec<Flip>,
    pub security_broken: Vec<Flip>,
    /// Declared provenance, the same way.
    pub provenance_fixed: Vec<Flip>,
    pub provenance_broken: Vec<Flip>,
    pub before: Side,
    pub after: Side,
    /// `better`, `worse`, `mixed` or `unchanged`.
    pub verdict: String,
    pub reason: String,
}

/// Compares this run (`now`) with an earlier one, over the case ids both have.
pub fn compare(earlier: &Earlier, now: &[Brief]) -> Comparison {
    let before: BTreeMap<&str, &Brief> = earlier.cases.iter().map(|c| (c.id.as_str(), c)).collect();
    let after: BTreeMap<&str, &Brief> = now.iter().map(|c| (c.id.as_str(), c)).collect();
    let only_here: Vec<String> = after
        .keys()
        .filter(|k| !before.contains_key(*k))
        .map(|k| k.to_string())
        .collect();
    let only_there: Vec<String> = before
        .keys()
        .filter(|k| !after.contains_key(*k))
        .map(|k| k.to_string())
        .collect();
    let common: Vec<(&Brief, &Brief)> = after
        .iter()
        .filter_map(|(k, a)| before.get(k).map(|b| (*b, *a)))
        .collect();
    let mut c = Comparison {
        against: earlier.name.clone(),
        common: common.len(),
        only_here,
        only_there,
        fixed: vec![],
        broken: vec![],
        changed_still_wrong: vec![],
        new_dangerous: vec![],
        resolved_dangerous: vec![],
        security_fixed: vec![],
        security_broken: vec![],
        provenance_fixed: vec![],
        provenance_broken: vec![],
        before: side(common.iter().map(|(b, _)| *b)),
        after: side(common.iter().map(|(_, a)| *a)),
        verdict: String::new(),
        reason: String::new(),
    };
    for (b, a) in &common {
        let change = Change {
            id: a.id.clone(),
            label: a.label,
            before: b.predicted,
            after: a.predicted,
        };
        match (b.correct, a.correct) {
            (false, true) => c.fixed.push(change),
            (true, false) => c.broken.push(change),
            (false, false) if b.predicted != a.predicted => c.changed_still_wrong.push(change),
            _ => {}
        }
        match (b.dangerous, a.dangerous) {
            (false, true) => c.new_dangerous.push(a.id.clone()),
            (true, false) => c.resolved_dangerous.push(a.id.clone()),
            _ => {}
        }
        let flip = |label: Option<bool>, before: Option<bool>, after: Option<bool>| {
            let (label, before, after) = (label?, before?, after?);
            (before != after).then(|| Flip {
                id: a.id.clone(),
                label,
                before,
                after,
            })
        };
        if let Some(f) = flip(
            a.label_security_relevant,
            b.security_relevant,
            a.security_relevant,
        ) {
            if f.after == f.label {
                c.security_fixed.push(f);
            } else {
                c.security_broken.push(f);
            }
        }
        if let Some(f) = flip(a.label_provenance, b.provenance, a.provenance) {
            if f.after == f.label {
                c.provenance_fixed.push(f);
            } else {
                c.provenance_broken.push(f);
            }
        }
    }
    (c.verdict, c.reason) = verdict(&c);
    c
}

/// Dangerous errors weigh first (they can make a live vulnerability public), then net fixes.
fn verdict(c: &Comparison) -> (String, String) {
    let danger = c.after.dangerous as i64 - c.before.dangerous as i64;
    // Use-case flips first; with none, security relevance and provenance flips decide.
    let fixed = c.fixed.len() + c.security_fixed.len() + c.provenance_fixed.len();
    let broken = c.broken.len() + c.security_broken.len() + c.provenance_broken.len();
    let net = if c.fixed.len() != c.broken.len() {
        c.fixed.len() as i64 - c.broken.len() as i64
    } else {
        fixed as i64 - broken as i64
    };
    let summary = format!(
        "use case {} fixed, {} broken; security relevance {} fixed, {} broken; provenance {} fixed, {} broken; dangerous errors {} → {}",
        c.fixed.len(),
        c.broken.len(),
        c.security_fixed.len(),
        c.security_broken.len(),
        c.provenance_fixed.len(),
        c.provenance_broken.len(),
        c.before.dangerous,
        c.after.dangerous
    );
    let verdict = if danger > 0 {
        "worse"
    } else if danger < 0 && net >= 0 || danger == 0 && net > 0 {
        "better"
    } else if danger == 0 && net < 0 {
        "worse"
    } else if danger == 0 && fixed == 0 && broken == 0 {
        "unchanged"
    } else {
        "mixed"
    };
    (verdict.to_string(), summary)
}

fn changes(out: &mut String, title: &str, list: &[Change]) {
    if list.is_empty() {
        return;
    }
    let _ = writeln!(out, "{title} ({}):\n", list.len());
    for ch in list {
        let _ = writeln!(
            out,
            "- `{}`: labelled {}, {} → {}",
            ch.id, ch.label, ch.before, ch.after
        );
    }
    out.push('\n');
}

fn flips(out: &mut String, title: &str, list: &[Flip]) {
    if list.is_empty() {
        return;
    }
    let _ = writeln!(out, "{title} ({}):\n", list.len());
    for f in list {
        let _ = writeln!(
            out,
            "- `{}`: labelled {}, {} → {}",
            f.id, f.label, f.before, f.after
        );
    }
    out.push('\n');
}

/// The comparison section of `report.md`.
pub fn markdown(out: &mut String, c: &Comparison) {
    let _ = writeln!(out, "## Compared with `{}`\n", c.against);
    let _ = writeln!(
        out,
        "**Verdict: {}** ({}), over {} common cases.\n",
        c.verdict, c.reason, c.common
    );
    out.push_str(
        "| | accuracy | decided accuracy | coverage | dangerous | security P | security R | provenance P | provenance R | model alone |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for (name, s) in [("before", &c.before), ("now", &c.after)] {
        let model = if s.model_answered == 0 {
            "n/a".to_string()
        } else {
            format!(
                "{} ({}/{})",
                fmt_ratio(s.model_accuracy),
                s.model_correct,
                s.model_answered
            )
        };
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} | {} | {} | {} | {} | {} | {model} |",
            fmt_ratio(s.accuracy),
            fmt_ratio(s.decided_accuracy),
            fmt_ratio(s.coverage),
            s.dangerous,
            fmt_ratio(s.security.precision),
            fmt_ratio(s.security.recall),
            fmt_ratio(s.provenance.precision),
            fmt_ratio(s.provenance.recall),
        );
    }
    out.push('\n');
    changes(out, "Fixed (wrong → right)", &c.fixed);
    changes(out, "Broken (right → wrong)", &c.broken);
    changes(out, "Changed, still wrong", &c.changed_still_wrong);
    flips(out, "Security relevance fixed", &c.security_fixed);
    flips(out, "Security relevance broken", &c.security_broken);
    flips(out, "Provenance fixed", &c.provenance_fixed);
    flips(out, "Provenance broken", &c.provenance_broken);
    for (title, ids) in [
        ("New dangerous errors", &c.new_dangerous),
        ("Dangerous errors resolved", &c.resolved_dangerous),
        ("Only in this run", &c.only_here),
        ("Only in the earlier run", &c.only_there),
    ] {
        if !ids.is_empty() {
            let list: Vec<String> = ids.iter().map(|i| format!("`{i}`")).collect();
            let _ = writeln!(out, "{title}: {}.\n", list.join(", "));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::triage::Confidence;
    use UseCase::{NeedsJudgement as J, NonVirtualization as N, Virtualization as V};

    fn b(id: &str, label: UseCase, predicted: UseCase) -> Brief {
        Brief {
            id: id.into(),
            file: "f".into(),
            label,
            predicted,
            confidence: Confidence::Medium,
            correct: label == predicted,
            dangerous: label == V && predicted == N,
            label_security_relevant: Some(label == V),
            security_relevant: Some(predicted == V),
            label_provenance: None,
            provenance: None,
            model_use_case: None,
        }
    }

    #[test]
    fn a_security_relevance_change_is_not_unchanged() {
        let earlier = Earlier {
            name: "old".into(),
            cases: vec![b("a", V, V), b("b", N, N)],
        };
        let mut now = earlier.cases.clone();
        now[0].security_relevant = Some(false);
        now[1].model_use_case = Some(N);
        let c = compare(&earlier, &now);
        assert!(c.fixed.is_empty() && c.broken.is_empty());
        assert_eq!(c.security_broken.len(), 1);
        assert_eq!(c.verdict, "worse", "{}", c.reason);
        assert_eq!(
            (c.before.security.recall, c.after.security.recall),
            (Some(1.0), Some(0.0))
        );
        assert_eq!(c.after.model_accuracy, Some(1.0));
        let mut md = String::new();
        markdown(&mut md, &c);
        assert!(md.contains("Security relevance broken (1)"), "{md}");
        assert!(md.contains("| now |") && md.contains("1.000 (1/1)"), "{md}");
    }

    #[test]
    fn flips_both_ways_and_verdict() {
        let earlier = Earlier {
            name: "old".into(),
            cases: vec![
                b("a", V, J),
                b("b", N, N),
                b("c", V, N),
                b("d", J, V),
                b("gone", V, V),
            ],
        };
        let now = vec![
            b("a", V, V),
            b("b", N, J),
            b("c", V, J),
            b("d", J, J),
            b("new", V, V),
        ];
        let c = compare(&earlier, &now);
        assert_eq!(c.common, 4);
        let ids = |l: &[Change]| l.iter().map(|c| c.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&c.fixed), ["a", "d"]);
        assert_eq!(ids(&c.broken), ["b"]);
        assert_eq!(ids(&c.changed_still_wrong), ["c"]);
        assert_eq!(c.resolved_dangerous, ["c"]);
        assert_eq!(
            (c.only_here.as_slice(), c.only_there.as_slice()),
            (&["new".to_string()][..], &["gone".to_string()][..])
        );
        assert_eq!(c.verdict, "better");
        assert_eq!((c.before.dangerous, c.after.dangerous), (1, 0));
    }

    #[test]
    fn a_new_dangerous_error_is_worse_whatever_else_improves() {
        let earlier = Earlier {
            name: "old".into(),
            cases: vec![b("a", V, J), b("b", N, J), b("c", V, V)],
        };
        let now = vec![b("a", V, V), b("b", N, N), b("c", V, N)];
        let c = compare(&earlier, &now);
        assert_eq!((c.fixed.len(), c.broken.len()), (2, 1));
        assert_eq!(c.new_dangerous, ["c"]);
        assert_eq!(c.verdict, "worse");
        let same = compare(&earlier, &earlier.cases);
        assert_eq!(same.verdict, "unchanged");
    }
}
