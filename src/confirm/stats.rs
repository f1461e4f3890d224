//! How suggestions fare in use: acceptance, the confusion of suggestion against decision,
//! time to decision, and decided issues as labelled eval cases. Pure.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::json;

use crate::kb::UseCase;
use crate::queue::{Decision, DecisionOutcome};

/// Decision statistics over a set of decisions (the latest per issue counts).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Stats {
    /// Issues with a decision.
    pub issues: usize,
    pub by_outcome: BTreeMap<String, usize>,
    /// engine version → (accepted, decided).
    pub by_engine: BTreeMap<String, (usize, usize)>,
    /// (suggested, final) → count; `none` for a missing side (rejected, no suggestion).
    pub confusion: BTreeMap<(String, String), usize>,
    /// Median seconds from suggestion to decision, where both are known.
    pub median_seconds_to_decision: Option<f64>,
}

fn class_name(c: Option<UseCase>) -> String {
    c.map_or_else(|| "none".to_string(), |c| c.to_string())
}

/// The decision that stands for each issue: the latest one.
pub fn latest_per_issue(decisions: &[Decision]) -> Vec<&Decision> {
    let mut latest: BTreeMap<(u64, u64), &Decision> = BTreeMap::new();
    for d in decisions {
        let slot = latest.entry((d.project_id, d.issue_iid)).or_insert(d);
        if d.decided_at_ms >= slot.decided_at_ms {
            *slot = d;
        }
    }
    latest.into_values().collect()
}

/// Seconds from suggestion to decision of each decision whose suggestion time is known,
/// shortest first.
pub fn seconds_to_decision(decisions: &[&Decision]) -> Vec<f64> {
    let mut waits: Vec<f64> = decisions
        .iter()
        .filter_map(|d| {
            d.suggested_at_ms
                .map(|at| (d.decided_at_ms - at).max(0) as f64 / 1000.0)
        })
        .collect();
    waits.sort_by(f64::total_cmp);
    waits
}

impl Stats {
    pub fn of(decisions: &[Decision]) -> Stats {
        let latest = latest_per_issue(decisions);
        let mut s = Stats {
            issues: latest.len(),
            ..Stats::default()
        };
        for d in &latest {
            *s.by_outcome
                .entry(d.outcome.as_str().to_string())
                .or_default() += 1;
            let engine = d.engine_version.clone().unwrap_or_else(|| "unknown".into());
            let e = s.by_engine.entry(engine).or_default();
            e.1 += 1;
            if d.outcome == DecisionOutcome::Accepted {
                e.0 += 1;
            }
            *s.confusion
                .entry((class_name(d.suggested), class_name(d.final_class)))
                .or_default() += 1;
        }
        let waits = seconds_to_decision(&latest);
        s.median_seconds_to_decision = match waits.len() {
            0 => None,
            n if n % 2 == 1 => Some(waits[n / 2]),
            n => Some((waits[n / 2 - 1] + waits[n / 2]) / 2.0),
        };
        s
    }

    /// Accepted share of decided issues.
    pub fn acceptance_rate(&self) -> Option<f64> {
        let accepted = self.by_outcome.get("accepted").copied().unwrap_or(0);
        (self.issues > 0).then(|| accepted as f64 / self.issues as f64)
    }

    /// A short text report for `sectriage stats`.
    pub fn render(&self) -> String {
        let mut n = String::new();
        let _ = writeln!(n, "decided issues: {}", self.issues);
        for o in DecisionOutcome::ALL {
            let _ = writeln!(
                n,
                "  {:<10} {}",
                o.as_str(),
                self.by_outcome.get(o.as_str()).copied().unwrap_or(0)
            );
        }
        match self.acceptance_rate() {
            Some(r) => {
                let _ = writeln!(n, "acceptance rate: {r:.3}");
            }
            None => n.push_str("acceptance rate: no decisions yet\n"),
        }
        for (engine, (acc, all)) in &self.by_engine {
            let _ = writeln!(n, "  {engine}: {acc}/{all} accepted");
        }
        if let Some(m) = self.median_seconds_to_decision {
            let _ = writeln!(n, "median time to decision: {:.1} h", m / 3600.0);
        }
        n.push_str("suggested -> decided:\n");
        for ((sug, fin), count) in &self.confusion {
            let _ = writeln!(n, "  {sug:<20} -> {fin:<20} {count}");
        }
        n
    }
}

/// The header line of a decisions export: the cases are confidential reports.
pub fn export_header(n_cases: usize) -> String {
    json!({
        "_header": "sectriage decisions export",
        "confidential": true,
        "warning": "CONFIDENTIAL: these are security reports from confidential GitLab issues; do not share or commit this file",
        "cases": n_cases,
    })
    .to_string()
}

/// One decided issue as a labelled eval case (`eval/README.md`'s format); `None` for a
/// rejection without a class (nothing to label with).
pub fn export_case(
    d: &Decision,
    title: &str,
    description: &str,
    security_relevant: bool,
) -> Option<String> {
    let class = d.final_class?;
    Some(
        json!({
            "id": format!("decision-{}-{}", d.project_id, d.issue_iid),
            "source": format!("GitLab project {} issue {}, decided via {} by user {}", d.project_id, d.issue_iid, d.via.as_str(), d.user_id),
            "title": title,
            "report": format!("{title}\n\n{description}"),
            "label": {"use_case": class.as_str(), "security_relevant": security_relevant},
            "justification": format!("maintainer decision ({}) on suggestion {}", d.outcome.as_str(), class_name(d.suggested)),
        })
        .to_string(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::Via;

    fn d(iid: u64, suggested: UseCase, final_class: Option<UseCase>, at: i64) -> Decision {
        Decision {
            project_id: 1,
            issue_iid: iid,
            via: Via::Reply,
            source_id: iid * 10 + at as u64,
            revision: None,
            suggested: Some(suggested),
            confidence: Some("high".into()),
            engine_version: Some("e1".into()),
            final_class,
            outcome: DecisionOutcome::of(Some(suggested), final_class),
            user_id: 5,
            username: "m".into(),
            suggested_at_ms: Some(0),
            decided_at_ms: at * 1000,
        }
    }

    #[test]
    fn the_latest_decision_per_issue_counts() {
        let v = UseCase::Virtualization;
        let nv = UseCase::NonVirtualization;
        let all = vec![
            d(1, v, Some(nv), 1),
            d(1, v, Some(v), 2), // changed their mind: accepted
            d(2, nv, Some(v), 3),
            d(3, v, None, 5),
        ];
        let s = Stats::of(&all);
        assert_eq!(s.issues, 3);
        assert_eq!(s.by_outcome["accepted"], 1);
        assert_eq!(s.by_outcome["overridden"], 1);
        assert_eq!(s.by_outcome["rejected"], 1);
        assert_eq!(s.acceptance_rate(), Some(1.0 / 3.0));
        assert_eq!(s.median_seconds_to_decision, Some(3.0));
        assert_eq!(s.confusion[&("virtualization".into(), "none".into())], 1);
    }

    #[test]
    fn exported_cases_parse_as_eval_cases() {
        let line = export_case(
            &d(
                4,
                UseCase::Virtualization,
                Some(UseCase::NonVirtualization),
                1,
            ),
            "t",
            "body",
            false,
        )
        .unwrap();
        let (id, label) = crate::eval::case::parse_line(&line).unwrap();
        assert_eq!(id, "decision-1-4");
        assert_eq!(label.use_case, UseCase::NonVirtualization);
        assert!(export_case(&d(5, UseCase::Virtualization, None, 1), "t", "b", true).is_none());
    }
}
