//! Fingerprints of triaged reports, for spotting likely duplicates.
//!
//! security-process.md ("Embargo policy") expects tool-found issues to be
//! "independently re-discovered, potentially many times over". A
//! [`Fingerprint`] keeps what identifies a bug rather than a report: the
//! source files the locator placed in the knowledge base, the innermost
//! non-infrastructure functions of a trace (and distinctive functions named in
//! prose), the crash kind, the `-device` drivers of the reproducer and the
//! normalised title words. Files, functions and devices are kept only when the
//! knowledge base (derived from QEMU's sources) knows them, so everything a
//! note may print from a fingerprint is QEMU's vocabulary, not report text;
//! title words are compared but never printed.
//!
//! [`similarity`] scores two fingerprints in [0, 1] and lists the shared
//! features; [`DUPLICATE_THRESHOLD`] is the cut-off measured on the variant set
//! in `eval/duplicates/pairs.jsonl` (`tests/duplicates.rs`).

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::{is_infrastructure, Component, Locations, Suggestion};
use crate::kb::Kb;

/// What kind of failure the report shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CrashKind {
    HeapBufferOverflow,
    StackBufferOverflow,
    GlobalBufferOverflow,
    OutOfBounds,
    UseAfterFree,
    DoubleFree,
    NullDeref,
    Assertion,
    InfiniteLoop,
    Reentrancy,
    StackExhaustion,
    DivisionByZero,
    IntegerOverflow,
    MemoryLeak,
    Uninitialised,
}

impl CrashKind {
    /// How the note names it.
    pub fn words(self) -> &'static str {
        match self {
            CrashKind::HeapBufferOverflow => "heap-buffer-overflow",
            CrashKind::StackBufferOverflow => "stack-buffer-overflow",
            CrashKind::GlobalBufferOverflow => "global-buffer-overflow",
            CrashKind::OutOfBounds => "out-of-bounds access",
            CrashKind::UseAfterFree => "use-after-free",
            CrashKind::DoubleFree => "double free",
            CrashKind::NullDeref => "NULL pointer dereference",
            CrashKind::Assertion => "assertion failure",
            CrashKind::InfiniteLoop => "infinite loop or hang",
            CrashKind::Reentrancy => "DMA/MMIO re-entrancy",
            CrashKind::StackExhaustion => "stack exhaustion (recursion)",
            CrashKind::DivisionByZero => "division by zero",
            CrashKind::IntegerOverflow => "integer overflow",
            CrashKind::MemoryLeak => "memory leak",
            CrashKind::Uninitialised => "use of uninitialised memory",
        }
    }
}

const CRASH_PATTERNS: &[(CrashKind, &str)] = &[
    (
        CrashKind::HeapBufferOverflow,
        r"heap[- _]buffer[- _]overflow|heap[- ]based (?:buffer )?overflow|heap (?:buffer )?overflow|heap overrun|heap[- ]out[- ]of[- ]bounds",
    ),
    (
        CrashKind::StackBufferOverflow,
        r"stack[- _]buffer[- _](?:overflow|underflow)|stack[- ]based (?:buffer )?overflow|stack (?:buffer )?overrun|stack[- ]out[- ]of[- ]bounds",
    ),
    (
        CrashKind::GlobalBufferOverflow,
        r"global[- _]buffer[- _]overflow",
    ),
    (
        CrashKind::OutOfBounds,
        r"out[- ]of[- ]bounds|\boob\b|index (?:\S+ )?out of (?:range|bounds)|array[- ]index[- ]out|over-?read|buffer overflow|past the end",
    ),
    (
        CrashKind::UseAfterFree,
        r"use[- _]after[- _]free|\buaf\b|dangling pointer",
    ),
    (
        CrashKind::DoubleFree,
        r"double[- _]free|attempting double-free",
    ),
    (
        CrashKind::NullDeref,
        r"null[- _]pointer|null[- _]ptr|null[- ]deref|\bnull dereference|segv on unknown address 0x0+\b|dereference of (?:a )?null",
    ),
    (
        CrashKind::Assertion,
        r"\bassert(?:ion)?\b|assertion[` ].{0,120}failed|\bg_assert|\bassert\(",
    ),
    (
        CrashKind::InfiniteLoop,
        r"infinite(?:ly)? loop|endless loop|unbounded loop|loops? (?:forever|indefinitely)|spins? (?:forever|indefinitely)|livelock|\bhangs?\b|\bhung\b|never terminates|100% cpu",
    ),
    (CrashKind::Reentrancy, r"re-?entran"),
    (
        CrashKind::StackExhaustion,
        r"stack[- _]overflow(?: on address)?|stack exhaustion|(?:infinite|unbounded) recursion",
    ),
    (
        CrashKind::DivisionByZero,
        r"divi(?:sion|de)[- ]by[- ]zero|\bsigfpe\b|integer divide",
    ),
    (
        CrashKind::IntegerOverflow,
        r"integer (?:overflow|underflow|wrap)|signed integer overflow|unsigned (?:integer )?(?:overflow|underflow|wrap)",
    ),
    (
        CrashKind::MemoryLeak,
        r"memory leak|leaksanitizer|detected memory leaks",
    ),
    (
        CrashKind::Uninitialised,
        r"uninitiali[sz]ed|use-of-uninitialized-value|memorysanitizer",
    ),
];

static CRASH_RES: LazyLock<Vec<(CrashKind, Regex)>> = LazyLock::new(|| {
    CRASH_PATTERNS
        .iter()
        .map(|(k, p)| (*k, Regex::new(&format!("(?i){p}")).unwrap()))
        .collect()
});

/// The crash kinds a text describes, in a fixed order.
/// A stack-buffer-overflow is not stack exhaustion.
pub fn crash_kinds(text: &str) -> Vec<CrashKind> {
    // "stack-buffer-overflow" contains "stack overflow" words but is not exhaustion.
    let without_buffer = STACK_BUFFER_RE.replace_all(text, " ");
    let out: BTreeSet<CrashKind> = CRASH_RES
        .iter()
        .filter(|(k, re)| {
            if *k == CrashKind::StackExhaustion {
                re.is_match(&without_buffer)
            } else {
                re.is_match(text)
            }
        })
        .map(|(k, _)| *k)
        .collect();
    out.into_iter().collect()
}

static STACK_BUFFER_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)stack[- _]buffer[- _](?:overflow|underflow)").unwrap());

/// Title words that say nothing about which bug it is.
const STOPWORDS: &[&str] = &[
    "the",
    "and",
    "for",
    "with",
    "via",
    "when",
    "from",
    "into",
    "onto",
    "that",
    "this",
    "its",
    "are",
    "was",
    "can",
    "not",
    "but",
    "has",
    "have",
    "out",
    "due",
    "after",
    "before",
    "while",
    "during",
    "qemu",
    "bug",
    "issue",
    "fix",
    "fixes",
    "fixed",
    "crash",
    "crashes",
    "security",
    "vulnerability",
    "guest",
    "host",
    "triggered",
    "triggerable",
    "trigger",
    "leads",
    "lead",
    "cause",
    "causes",
    "caused",
    "possible",
    "potential",
    "found",
    "llm",
    "fuzz",
    "fuzzer",
    "fuzzing",
    "report",
    "reported",
    "cve",
    "malicious",
    "could",
    "may",
    "allows",
    "allow",
    "emulation",
    "device",
    "controller",
    "handling",
    "code",
    "path",
    "use",
    "used",
    "missing",
    "check",
    "new",
];

static TITLE_TAG_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\[[^\]\n]{0,60}\]").unwrap());

/// Lower-case title words of three or more letters, stopwords, numbers and
/// bracketed tags left out, a plural `s` cut.
pub fn title_tokens(title: &str) -> Vec<String> {
    let title = TITLE_TAG_RE.replace_all(title, " ");
    let mut out: BTreeSet<String> = BTreeSet::new();
    for w in title
        .to_lowercase()
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| w.chars().count() >= 3 && !w.chars().all(|c| c.is_ascii_digit()))
    {
        if STOPWORDS.contains(&w) {
            continue;
        }
        let w = if w.len() > 4 && w.ends_with('s') && !w.ends_with("ss") {
            &w[..w.len() - 1]
        } else {
            w
        };
        out.insert(w.to_string());
    }
    out.into_iter().collect()
}

/// What identifies the bug behind a report. Stored as JSON by the daemon.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Fingerprint {
    /// Source files the knowledge base knows, in the order the locator weighed them.
    pub files: Vec<String>,
    /// Functions the knowledge base knows: the innermost non-infrastructure
    /// frames of a trace first (at most three), then distinctive functions named in prose.
    pub functions: Vec<String>,
    pub crash: Vec<CrashKind>,
    /// `-device` drivers that are QOM types the knowledge base knows.
    pub devices: Vec<String>,
    /// Normalised title words (untrusted: compared, never printed).
    pub title: Vec<String>,
}

/// Frames of a trace that count for the fingerprint.
const MAX_FRAMES: usize = 3;

/// Builds the fingerprint from what the deterministic layers found.
pub fn compute(
    title: &str,
    text: &str,
    locations: &Locations,
    components: &[Component],
    kb: &Kb,
) -> Fingerprint {
    let known_file = |f: &str| kb.data.files.contains_key(f) && !is_infrastructure("", Some(f));
    let mut files: Vec<String> = Vec::new();
    let push_file = |f: &str, files: &mut Vec<String>| {
        if known_file(f) && !files.iter().any(|x| x == f) {
            files.push(f.to_string());
        }
    };
    for c in components {
        if c.finding.surface.as_deref() == Some("not-runtime") {
            continue;
        }
        if let Some(f) = c.finding.file.as_deref() {
            push_file(f, &mut files);
        }
    }
    let mut functions: Vec<String> = Vec::new();
    for frame in &locations.frames {
        if functions.len() >= MAX_FRAMES {
            break;
        }
        let defined = kb.data.functions.get(frame.function.as_str());
        let file = frame.file.as_deref().or(defined.map(String::as_str));
        if is_infrastructure(&frame.function, file) {
            continue;
        }
        if let Some(path) = defined {
            if !functions.contains(&frame.function) {
                functions.push(frame.function.clone());
            }
            push_file(path, &mut files);
        }
    }
    // A function the title names ("... in tcg_commit") identifies the bug even
    // where its file is shared infrastructure: the title chose it.
    for name in super::locate::title_functions(title) {
        if super::is_distinctive_function(&name)
            && kb.data.functions.contains_key(name.as_str())
            && !is_infrastructure(&name, None)
            && !functions.contains(&name)
        {
            functions.push(name);
        }
    }
    for name in &locations.functions {
        if locations.frames.iter().any(|f| &f.function == name)
            || !super::is_distinctive_function(name)
        {
            continue;
        }
        if let Some(path) = kb.data.functions.get(name.as_str()) {
            if !is_infrastructure(name, Some(path)) && !functions.contains(name) {
                functions.push(name.clone());
            }
        }
    }
    let mut devices: Vec<String> = Vec::new();
    for d in &locations.command_line.devices {
        let d = d.trim().to_ascii_lowercase();
        if kb.data.qom_types.contains_key(&d) && !devices.contains(&d) {
            devices.push(d);
        }
    }
    Fingerprint {
        files,
        functions,
        crash: crash_kinds(text),
        devices,
        title: title_tokens(title),
    }
}

impl Fingerprint {
    /// The fingerprint of a triaged report.
    pub fn of(s: &Suggestion) -> &Fingerprint {
        &s.evidence.fingerprint
    }

    /// True when there is nothing to compare (no code, crash kind, device or title).
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
            && self.functions.is_empty()
            && self.crash.is_empty()
            && self.devices.is_empty()
            && self.title.is_empty()
    }
}

/// A feature two fingerprints share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "feature", content = "value", rename_all = "kebab-case")]
pub enum Shared {
    Function(String),
    File(String),
    Crash(CrashKind),
    Device(String),
    /// The titles share this fraction (Jaccard, in percent) of their words.
    Title(u8),
}

/// How alike two fingerprints are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Similarity {
    /// In [0, 1]; see [`similarity`] for the weights.
    pub score: f64,
    pub shared: Vec<Shared>,
}

/// Score at or above which two reports are flagged as possibly the same bug.
pub const DUPLICATE_THRESHOLD: f64 = 0.5;

const W_FUNCTION: f64 = 0.40;
const W_FILE: f64 = 0.20;
const W_CRASH: f64 = 0.15;
const W_DEVICE: f64 = 0.10;
const W_TITLE: f64 = 0.15;
/// The least weight of features a score is taken over.
const MIN_EVIDENCE: f64 = 0.5;
/// Both reports name crash kinds and none is shared: likely different bugs.
const CRASH_CONFLICT: f64 = 0.10;

/// |A ∩ B| / min(|A|, |B|), 0 when either is empty.
fn overlap<T: PartialEq>(a: &[T], b: &[T]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let shared = a.iter().filter(|x| b.contains(x)).count();
    #[allow(clippy::cast_precision_loss)]
    let r = shared as f64 / a.len().min(b.len()) as f64;
    r
}

fn jaccard(a: &[String], b: &[String]) -> f64 {
    let shared = a.iter().filter(|x| b.contains(x)).count();
    let union = a.len() + b.len() - shared;
    if union == 0 {
        return 0.0;
    }
    #[allow(clippy::cast_precision_loss)]
    let r = shared as f64 / union as f64;
    r
}

/// Weighted overlap of the features: functions 0.40, files 0.20, crash kind
/// 0.15, devices 0.10 (each the overlap coefficient of the two lists), title
/// words 0.15 (Jaccard), minus 0.10 when both name crash kinds and share none;
/// divided by the weight of the features at least one side has (at least
/// 0.5). Symmetric; 1.0 for two equal fingerprints with that much evidence.
pub fn similarity(a: &Fingerprint, b: &Fingerprint) -> Similarity {
    let mut shared = Vec::new();
    shared.extend(
        a.functions
            .iter()
            .filter(|f| b.functions.contains(f))
            .map(|f| Shared::Function(f.clone())),
    );
    shared.extend(
        a.files
            .iter()
            .filter(|f| b.files.contains(f))
            .map(|f| Shared::File(f.clone())),
    );
    shared.extend(
        a.crash
            .iter()
            .filter(|k| b.crash.contains(k))
            .map(|k| Shared::Crash(*k)),
    );
    shared.extend(
        a.devices
            .iter()
            .filter(|d| b.devices.contains(d))
            .map(|d| Shared::Device(d.clone())),
    );
    let title = jaccard(&a.title, &b.title);
    if title > 0.0 {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        shared.push(Shared::Title((title * 100.0).round() as u8));
    }
    let crash = overlap(&a.crash, &b.crash);
    let conflict = if !a.crash.is_empty() && !b.crash.is_empty() && crash == 0.0 {
        CRASH_CONFLICT
    } else {
        0.0
    };
    let raw = W_FUNCTION * overlap(&a.functions, &b.functions)
        + W_FILE * overlap(&a.files, &b.files)
        + W_CRASH * crash
        + W_DEVICE * overlap(&a.devices, &b.devices)
        + W_TITLE * title
        - conflict;
    // A feature neither report has says nothing either way: the score is taken
    // over the features at least one of them has, but over no less than
    // MIN_EVIDENCE of weight, so thin fingerprints cannot score high.
    let either = |x: bool, w: f64| if x { w } else { 0.0 };
    let present = either(
        !a.functions.is_empty() || !b.functions.is_empty(),
        W_FUNCTION,
    ) + either(!a.files.is_empty() || !b.files.is_empty(), W_FILE)
        + either(!a.crash.is_empty() || !b.crash.is_empty(), W_CRASH)
        + either(!a.devices.is_empty() || !b.devices.is_empty(), W_DEVICE)
        + either(!a.title.is_empty() || !b.title.is_empty(), W_TITLE);
    let score = raw / present.max(MIN_EVIDENCE);
    Similarity {
        score: score.clamp(0.0, 1.0),
        shared,
    }
}

impl Similarity {
    /// At or above [`DUPLICATE_THRESHOLD`].
    pub fn likely_duplicate(&self) -> bool {
        self.score >= DUPLICATE_THRESHOLD
    }

    /// Our sentence naming the shared features, e.g. "both crash in
    /// xhci_kick_epctx (hw/usb/hcd-xhci.c), heap-buffer-overflow". Only
    /// knowledge-base names and fixed words; the title is only counted.
    pub fn describe(&self) -> String {
        let pick = |f: fn(&Shared) -> Option<String>| -> Vec<String> {
            self.shared.iter().filter_map(f).collect()
        };
        let functions = pick(|s| match s {
            Shared::Function(f) => Some(f.clone()),
            _ => None,
        });
        let files = pick(|s| match s {
            Shared::File(f) => Some(f.clone()),
            _ => None,
        });
        let crash = pick(|s| match s {
            Shared::Crash(k) => Some(k.words().to_string()),
            _ => None,
        });
        let devices = pick(|s| match s {
            Shared::Device(d) => Some(format!("-device {d}")),
            _ => None,
        });
        let mut parts = Vec::new();
        match (functions.is_empty(), files.is_empty()) {
            (false, false) => parts.push(format!(
                "both crash in {} ({})",
                functions.join(", "),
                files.join(", ")
            )),
            (false, true) => parts.push(format!("both crash in {}", functions.join(", "))),
            (true, false) => parts.push(format!("both point at {}", files.join(", "))),
            (true, true) => {}
        }
        if !crash.is_empty() {
            parts.push(crash.join(", "));
        }
        if !devices.is_empty() {
            parts.push(format!("both use {}", devices.join(", ")));
        }
        if let Some(Shared::Title(p)) = self.shared.iter().find(|s| matches!(s, Shared::Title(_))) {
            if *p >= 30 {
                parts.push("similar titles".into());
            }
        }
        if parts.is_empty() {
            "no shared features".into()
        } else {
            parts.join("; ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(text: &str) -> Fingerprint {
        let title = text.lines().next().unwrap_or("");
        let report = super::super::Report {
            title: title.to_string(),
            body: text.lines().skip(1).collect::<Vec<_>>().join("\n"),
        };
        super::super::analyze(&report, Kb::embedded()).fingerprint
    }

    #[test]
    fn crash_kinds_from_sanitizer_lines_and_prose() {
        use CrashKind::*;
        assert_eq!(
            crash_kinds("==1==ERROR: AddressSanitizer: heap-buffer-overflow on address"),
            [HeapBufferOverflow]
        );
        assert_eq!(crash_kinds("a heap-use-after-free READ"), [UseAfterFree]);
        assert_eq!(
            crash_kinds("qemu: hw/foo.c:12: foo: Assertion `x < 4' failed."),
            [Assertion]
        );
        assert_eq!(
            crash_kinds("the guest can make it loop forever"),
            [InfiniteLoop]
        );
        assert_eq!(
            crash_kinds("AddressSanitizer: stack-buffer-overflow"),
            [StackBufferOverflow]
        );
        assert_eq!(
            crash_kinds("AddressSanitizer: stack-overflow"),
            [StackExhaustion]
        );
    }

    #[test]
    fn title_tokens_drop_noise() {
        assert_eq!(
            title_tokens("[LLM-found] hw/usb/hcd-xhci: heap overflow in xhci_kick_epctx"),
            ["hcd", "heap", "overflow", "usb", "xhci", "xhci_kick_epctx"]
        );
    }

    #[test]
    fn a_trace_and_a_prose_report_of_one_bug_match() {
        let a = fp("Heap overflow in USB xHCI\n\
             ==1==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x6000\n\
             #0 0x5555 in xhci_kick_epctx hw/usb/hcd-xhci.c:1800\n\
             #1 0x5556 in memory_region_write_accessor system/memory.c:500\n\
             qemu-system-x86_64 -M q35 -device qemu-xhci");
        let b = fp("usb: hcd-xhci: guest overflows a heap buffer\n\
             The bounds check in xhci_kick_epctx() is missing, a heap-buffer-overflow follows.\n\
             qemu-system-x86_64 -accel kvm -device qemu-xhci");
        assert_eq!(a.functions, ["xhci_kick_epctx"]);
        assert!(a.files.iter().any(|f| f == "hw/usb/hcd-xhci.c"), "{a:?}");
        let s = similarity(&a, &b);
        assert!(s.likely_duplicate(), "{s:?}");
        assert_eq!(s, similarity(&b, &a));
        let d = s.describe();
        assert!(
            d.starts_with(
                "both crash in xhci_kick_epctx (hw/usb/hcd-xhci.c); heap-buffer-overflow"
            ),
            "{d}"
        );
    }

    #[test]
    fn same_file_other_function_and_kind_is_not_a_duplicate() {
        let a = fp("hcd-xhci: heap overflow\n\
             #0 0x5555 in xhci_kick_epctx hw/usb/hcd-xhci.c:1800\n\
             AddressSanitizer: heap-buffer-overflow");
        let b = fp("hcd-xhci: NULL pointer dereference\n\
             #0 0x5555 in xhci_reset hw/usb/hcd-xhci.c:300\n\
             AddressSanitizer: SEGV on unknown address 0x000000000000, a NULL pointer dereference");
        let s = similarity(&a, &b);
        assert!(!s.likely_duplicate(), "{s:?} {a:?} {b:?}");
    }

    #[test]
    fn fingerprints_round_trip_through_json() {
        let a = fp("hcd-xhci: heap overflow\n#0 0x5555 in xhci_kick_epctx hw/usb/hcd-xhci.c:1800");
        let json = serde_json::to_string(&a).unwrap();
        let back: Fingerprint = serde_json::from_str(&json).unwrap();
        assert_eq!(a, back);
        let empty: Fingerprint = serde_json::from_str("{}").unwrap();
        assert!(empty.is_empty());
    }
}
