//! Candidate components for a report that names its code only in prose.
//!
//! When the rules placed no runtime code, the knowledge base offers the model a
//! short numbered list of files whose name (file stem or QOM type) is close to a
//! word of the report. The model picks one or none; the knowledge base, not the
//! model, then classifies the pick ([`Pick`]). Pure and deterministic: the list
//! depends only on the report's words and the knowledge base.

use std::collections::BTreeMap;

use crate::kb::{Kb, UseCase};
use crate::triage::decide::Pick;
use crate::triage::Evidence;

/// At most this many candidates are offered.
pub const MAX_CANDIDATES: usize = 5;

/// One candidate the prompt lists.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The file (`hw/net/msf2-emac.c`).
    pub path: String,
    /// The name that matched (`msf2-emac`).
    pub matched: String,
    /// The report word it matched (`msf2-mac`).
    pub word: String,
    /// The file's most specific MAINTAINERS section (`SmartFusion2`), to tell candidates apart.
    pub section: Option<String>,
    pub score: u32,
    /// What the knowledge base would make of the pick.
    pub pick: Pick,
}

/// Words that name nothing in QEMU.
const STOP: &[&str] = &[
    "the", "and", "for", "fix", "use", "with", "from", "that", "this", "when", "into", "switch",
    "check", "add", "remove", "avoid", "make", "qemu", "patch", "bug", "crash", "issue", "guest",
    "host", "device", "memory", "buffer", "overflow", "size", "data", "code", "report", "after",
    "before", "can", "not", "out", "read", "write", "loop", "error", "return", "early", "detect",
];

fn norm(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// The report's words: the commit-style title prefix's words (`msf2-mac:`,
/// `hw/sd/sdcard:` gives `sdcard`) and identifier-like words anywhere (with `-`,
/// `_` or a digit); plain English words match too many file names.
fn words(report: &str) -> (Vec<String>, Vec<String>) {
    let title = report.lines().next().unwrap_or("");
    let split = |s: &str| -> Vec<String> {
        s.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '/'))
            .flat_map(|w| w.rsplit('/').next())
            .map(|w| {
                w.trim_matches(|c| c == '-' || c == '_')
                    .to_ascii_lowercase()
            })
            .filter(|w| w.len() >= 3 && w.chars().any(|c| c.is_ascii_alphabetic()))
            .filter(|w| !STOP.contains(&w.as_str()))
            .collect()
    };
    let prefix: Vec<String> = title
        .split(':')
        .take_while(|h| !h.trim().is_empty() && !h.trim().contains(' '))
        .flat_map(split)
        .collect();
    let mut body: Vec<String> = split(report)
        .into_iter()
        .filter(|w| w.contains('-') || w.contains('_') || w.chars().any(|c| c.is_ascii_digit()))
        .collect();
    body.sort();
    body.dedup();
    (prefix, body)
}

/// How close a report word is to a name: 4 exact, 3 equal once `-`/`_` are
/// dropped, 2 for one edit per six characters, or one containing the other when
/// the shorter is at least three quarters of the longer (both of at least four
/// characters: `tcg_commit` does not name `commit`); 0 otherwise.
fn closeness(word: &str, name: &str) -> u32 {
    if word == name {
        return 4;
    }
    let (w, n) = (norm(word), norm(name));
    if w.len() < 3 || n.len() < 3 {
        return 0;
    }
    if w == n {
        return 3;
    }
    let edits = strsim::levenshtein(&w, &n);
    let longest = w.len().max(n.len());
    let shortest = w.len().min(n.len());
    let contains = (n.contains(&w) || w.contains(&n)) && shortest * 4 >= longest * 3;
    if shortest >= 4 && (edits * 6 <= longest || contains) {
        return 2;
    }
    0
}

/// A file's best match: weighted score, matched in the title prefix, the name, the word.
type Best = (u32, bool, String, String);

/// True when the rules placed no runtime code and the model may place it.
pub fn applicable(e: &Evidence) -> bool {
    !e.rules.decisive
        && !e
            .components
            .iter()
            .any(|c| c.finding.surface.as_deref() != Some("not-runtime"))
}

/// The candidates for a report, best first; empty when the rules placed code.
pub fn find(e: &Evidence, report: &str, kb: &Kb) -> Vec<Candidate> {
    if !applicable(e) {
        return Vec::new();
    }
    let (prefix, body) = words(report);
    if prefix.is_empty() && body.is_empty() {
        return Vec::new();
    }
    // name -> files it stands for: file stems and QOM types.
    let mut names: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (path, facts) in &kb.data.files {
        if !path.ends_with(".c") {
            continue;
        }
        let stem = path
            .rsplit('/')
            .next()
            .unwrap_or(path)
            .trim_end_matches(".c");
        names.entry(stem.to_string()).or_default().push(path);
        for t in &facts.qom_types {
            names.entry(t.to_ascii_lowercase()).or_default().push(path);
        }
    }
    let mut best: BTreeMap<&str, Best> = BTreeMap::new();
    for (name, paths) in &names {
        for (word, in_prefix) in prefix
            .iter()
            .map(|w| (w, true))
            .chain(body.iter().map(|w| (w, false)))
        {
            let score = closeness(word, name);
            if score < 2 {
                continue;
            }
            // A title-prefix match weighs double.
            let weighted = if in_prefix { score * 2 } else { score };
            for path in paths {
                let entry = best
                    .entry(path)
                    .or_insert((0, false, String::new(), String::new()));
                if weighted > entry.0 {
                    *entry = (weighted, entry.1 || in_prefix, name.clone(), word.clone());
                } else {
                    entry.1 |= in_prefix;
                }
            }
        }
    }
    let mut ranked: Vec<(&str, Best)> = best.into_iter().collect();
    ranked.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then(a.0.cmp(b.0)));
    ranked
        .into_iter()
        .take(MAX_CANDIDATES)
        .filter_map(|(path, (score, title_match, matched, word))| {
            let finding = kb.path(path)?;
            if finding.surface.as_deref() == Some("not-runtime") {
                return None;
            }
            let reached = kb
                .data
                .files
                .get(path)
                .is_some_and(|f| !f.listed.is_empty());
            let decisive =
                finding.class == UseCase::NonVirtualization && (finding.from_overlay || !reached);
            Some(Candidate {
                path: path.to_string(),
                matched,
                word,
                section: kb
                    .data
                    .files
                    .get(path)
                    .and_then(|f| f.maintainers.first())
                    .map(|m| m.section.clone()),
                score,
                pick: Pick {
                    subject: path.to_string(),
                    class: finding.class,
                    fact: finding
                        .deciding_fact()
                        .map(|f| f.text.clone())
                        .unwrap_or_default(),
                    title_match,
                    decisive,
                },
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::triage::{analyze, Report};

    fn cands(text: &str) -> Vec<Candidate> {
        let kb = Kb::embedded();
        let e = analyze(
            &Report {
                title: String::new(),
                body: text.into(),
            },
            kb,
        );
        find(&e, text, kb)
    }

    #[test]
    fn a_misspelt_title_prefix_offers_the_file_it_means() {
        // (`msf2-mac:` itself is now placed by the rules, through the msf2 family.)
        let c = cands("lan9119: switch to use qemu_receive_packet() for loopback\n\nThe patch.");
        assert!(!c.is_empty());
        assert_eq!(c[0].path, "hw/net/lan9118.c", "{c:?}");
        assert!(c[0].pick.title_match);
        assert_eq!(c[0].pick.class, UseCase::NonVirtualization);
        assert!(c.len() <= MAX_CANDIDATES);
    }

    #[test]
    fn located_code_gets_no_candidates() {
        assert!(cands("hw/usb/hcd-xhci: loop\n\nThe guest loops.").is_empty());
    }

    #[test]
    fn closeness_is_by_name_not_by_chance() {
        assert_eq!(closeness("e1000e", "e1000e"), 4);
        assert_eq!(closeness("hcd_xhci", "hcd-xhci"), 3);
        assert_eq!(closeness("msf2-mac", "msf2-emac"), 2);
        assert_eq!(closeness("net", "nvme"), 0);
        assert_eq!(closeness("loopback", "virtio-net"), 0);
        assert_eq!(closeness("tcg_commit", "commit"), 0);
        assert_eq!(closeness("memory_dispatch", "memory"), 0);
    }
}
