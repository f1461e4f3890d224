//! `sectriage kb build`: derives the knowledge base from a real QEMU tree.
//!
//! Inputs are QEMU's own files: `security.rst` (the listed machine types and
//! accelerators), `configs/targets/*.mak` (target to source directory),
//! every `Kconfig` (select / imply / default relations), every `meson.build`
//! (which `CONFIG_` symbol builds which file), the C sources (QOM type and
//! machine type names) and `MAINTAINERS`. Nothing about specific devices is
//! typed in here; the hand-kept exceptions live in the overlay.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use globset::{GlobBuilder, GlobMatcher};
use regex::Regex;
use sha2::{Digest, Sha256};

use super::{
    FileFacts, KbData, ListedMachine, MachineDef, MachineReach, Maintainers, Reach, UseCase,
};

/// Directories never scanned: firmware, vendored projects, build output.
const SKIPPED_DIRS: &[&str] = &[
    "roms",
    "subprojects",
    "build",
    ".git",
    "docs",
    "tests",
    "python",
    "scripts",
    "pc-bios",
    "rust",
    "contrib",
];

/// QOM parents that make a device pluggable with `-device` on a listed machine's buses.
const PLUGGABLE_PARENTS: &[&str] = &[
    "TYPE_PCI_DEVICE",
    "INTERFACE_PCIE_DEVICE",
    "INTERFACE_CONVENTIONAL_PCI_DEVICE",
    "TYPE_USB_DEVICE",
];

/// QOM parents of types that are no PCI/USB device (host bridges, buses, sysbus devices).
const NOT_DEVICE_PARENTS: &[&str] = &[
    "TYPE_PCI_HOST_BRIDGE",
    "TYPE_PCIE_HOST_BRIDGE",
    "TYPE_SYS_BUS_DEVICE",
    "TYPE_OBJECT",
    "TYPE_INTERFACE",
];

/// The target list of a rule scoped to targets none of which builds it.
const NO_TARGET: &str = "none";

/// Unlisted boards named per file in the output (the list is only an illustration).
const MAX_OTHER_BOARDS: usize = 6;

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{path}: {source}; is --qemu-src the top of a QEMU source tree (it must hold MAINTAINERS, VERSION, hw/ and configs/)?")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("security.rst: {0}; pass the document with --security-rst")]
    SecurityRst(String),
}

fn read(path: &Path) -> Result<String, BuildError> {
    std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .map_err(|source| BuildError::Io {
            path: path.to_path_buf(),
            source,
        })
}

// === security.rst ===

/// What `security.rst` says: listed (arch, machine) pairs and accelerators per use case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityDoc {
    pub machines: Vec<(String, String)>,
    pub virtualization_accels: Vec<String>,
    pub non_virtualization_accels: Vec<String>,
}

/// Parses the machine-type list and the accelerators out of `security.rst`.
///
/// # Errors
/// When the "Supported machine types" list or the accelerator sentence is missing.
pub fn parse_security_rst(text: &str) -> Result<SecurityDoc, BuildError> {
    static LITERAL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"``([^`]+)``").unwrap());
    static ACCEL_SENTENCE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?is)virtualization\s+accelerator\s+like\s+([A-Za-z0-9 ,]+?)(?:\n\s*\n|\n-|$)")
            .unwrap()
    });
    static CAPS_IN_PARENS: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\(([A-Z][A-Z0-9]{1,})\)").unwrap());

    let start = text
        .find("Supported machine types")
        .ok_or_else(|| BuildError::SecurityRst("no \"Supported machine types\" list".into()))?;
    let mut machines = Vec::new();
    let mut arches: Vec<String> = Vec::new();
    let mut seen_entry = false;
    for line in text[start..].lines().skip(1) {
        if line.trim().is_empty() {
            continue;
        }
        let indented = line.starts_with(' ') || line.starts_with('\t');
        if !indented {
            // A heading underline or a new section ends the list.
            if line.starts_with(['\'', '=', '-', '~']) || (seen_entry && line.contains("Use Case"))
            {
                break;
            }
            arches = line
                .trim()
                .trim_end_matches(':')
                .split(',')
                .map(|a| a.trim().to_string())
                .filter(|a| !a.is_empty())
                .collect();
        } else {
            for cap in LITERAL.captures_iter(line) {
                for arch in &arches {
                    machines.push((arch.clone(), cap[1].to_string()));
                }
            }
            seen_entry = true;
        }
    }
    if machines.is_empty() {
        return Err(BuildError::SecurityRst(
            "the machine-type list is empty".into(),
        ));
    }
    let virtualization_accels = ACCEL_SENTENCE
        .captures(text)
        .map(|c| {
            c[1].split([',', ' '])
                .map(str::trim)
                .filter(|w| !w.is_empty() && *w != "or" && *w != "and")
                .map(str::to_ascii_lowercase)
                .collect::<Vec<_>>()
        })
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            BuildError::SecurityRst("no \"virtualization accelerator like ...\" sentence".into())
        })?;
    let non_virt_section = text
        .find("Non-virtualization Use Case")
        .map(|i| &text[i..])
        .unwrap_or("");
    let non_virt_end = non_virt_section
        .find("\nArchitecture")
        .unwrap_or(non_virt_section.len());
    let non_virtualization_accels = CAPS_IN_PARENS
        .captures_iter(&non_virt_section[..non_virt_end])
        .map(|c| c[1].to_ascii_lowercase())
        .collect();
    Ok(SecurityDoc {
        machines,
        virtualization_accels,
        non_virtualization_accels,
    })
}

// === Kconfig ===

/// One `config` block.
#[derive(Debug, Clone, Default)]
struct KSymbol {
    /// Directory of the Kconfig file, for telling boards' architectures apart.
    dir: String,
    /// `select X [if COND]` and `imply X [if COND]`: the condition is kept,
    /// since `select ARM_GICV3 if TCG` pulls nothing in under KVM.
    selects: Vec<(String, Option<String>)>,
    implies: Vec<(String, Option<String>)>,
    /// Conditions of `default y [if COND]` lines (`None` = unconditional).
    defaults: Vec<Option<String>>,
    depends: Vec<String>,
}

fn parse_kconfig(text: &str, dir: &str, out: &mut BTreeMap<String, KSymbol>) {
    let mut current: Option<String> = None;
    for raw in text.lines() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if let Some(name) = line.strip_prefix("config ") {
            let name = name.trim().to_string();
            out.entry(name.clone()).or_default().dir = dir.to_string();
            current = Some(name);
            continue;
        }
        let Some(sym) = current.as_ref().and_then(|c| out.get_mut(c)) else {
            continue;
        };
        let (head, cond) = match line.split_once(" if ") {
            Some((h, c)) => (h.trim(), Some(c.trim().to_string())),
            None => (line, None),
        };
        if let Some(target) = head.strip_prefix("select ") {
            sym.selects.push((target.trim().to_string(), cond));
        } else if let Some(target) = head.strip_prefix("imply ") {
            sym.implies.push((target.trim().to_string(), cond));
        } else if head == "default y" {
            sym.defaults.push(cond);
        } else if let Some(dep) = line.strip_prefix("depends on ") {
            sym.depends.push(dep.trim().to_string());
        } else if line.starts_with("source ")
            || line.starts_with("menu")
            || line.starts_with("endmenu")
        {
            current = None;
        }
    }
}

/// Evaluates a Kconfig boolean expression against a set of enabled symbols.
fn eval_expr(expr: &str, enabled: &dyn Fn(&str) -> bool) -> bool {
    let tokens = tokenize_expr(expr);
    let mut pos = 0;
    parse_or(&tokens, &mut pos, enabled)
}

fn tokenize_expr(expr: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = expr.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if (c == '&' || c == '|') && chars.get(i + 1) == Some(&c) {
            tokens.push(format!("{c}{c}"));
            i += 2;
        } else if c == '!' || c == '(' || c == ')' {
            tokens.push(c.to_string());
            i += 1;
        } else {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            if start == i {
                i += 1; // unknown punctuation such as `=`: skip
            } else {
                tokens.push(chars[start..i].iter().collect());
            }
        }
    }
    tokens
}

fn parse_or(t: &[String], pos: &mut usize, en: &dyn Fn(&str) -> bool) -> bool {
    let mut v = parse_and(t, pos, en);
    while t.get(*pos).map(String::as_str) == Some("||") {
        *pos += 1;
        let rhs = parse_and(t, pos, en);
        v = v || rhs;
    }
    v
}

fn parse_and(t: &[String], pos: &mut usize, en: &dyn Fn(&str) -> bool) -> bool {
    let mut v = parse_unary(t, pos, en);
    while t.get(*pos).map(String::as_str) == Some("&&") {
        *pos += 1;
        let rhs = parse_unary(t, pos, en);
        v = v && rhs;
    }
    v
}

fn parse_unary(t: &[String], pos: &mut usize, en: &dyn Fn(&str) -> bool) -> bool {
    match t.get(*pos).map(String::as_str) {
        Some("!") => {
            *pos += 1;
            !parse_unary(t, pos, en)
        }
        Some("(") => {
            *pos += 1;
            let v = parse_or(t, pos, en);
            if t.get(*pos).map(String::as_str) == Some(")") {
                *pos += 1;
            }
            v
        }
        Some(ident) => {
            *pos += 1;
            match ident {
                "y" => true,
                "n" => false,
                s => en(s),
            }
        }
        None => true,
    }
}

/// Symbols an expression names positively (to pick the chain that enabled a default).
fn positive_symbols(expr: &str) -> Vec<String> {
    let tokens = tokenize_expr(expr);
    let mut out = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        let negated = i > 0 && tokens[i - 1] == "!";
        if !negated
            && t.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            && !t.is_empty()
        {
            out.push(t.clone());
        }
    }
    out
}

/// The system targets each disassembler symbol is set for, from meson.build's
/// `disassemblers = { 'mips' : ['CONFIG_MIPS_DIS'], ... }`: a target whose
/// TARGET_BASE_ARCH starts with the key (`s390` for s390x). The host's own
/// disassembler, which meson also sets, is left out: it serves TCG's output.
fn disassembler_targets(
    top_meson: &str,
    base_arch: &BTreeMap<String, String>,
) -> BTreeMap<String, Vec<String>> {
    static ENTRY: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"'(\w+)'\s*:\s*\[([^\]]*)\]").unwrap());
    static SYMBOL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"'CONFIG_(\w+)'").unwrap());
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let Some(at) = top_meson.find("disassemblers = {") else {
        return out;
    };
    let block = &top_meson[at..];
    let block = &block[..block.find('}').unwrap_or(block.len())];
    for entry in ENTRY.captures_iter(block) {
        for sym in SYMBOL.captures_iter(&entry[2]) {
            let targets = out.entry(sym[1].to_string()).or_default();
            for (target, base) in base_arch {
                if base.starts_with(&entry[1]) && !targets.contains(target) {
                    targets.push(target.clone());
                }
            }
            targets.sort();
        }
    }
    out
}

/// Board symbols the per-target device configurations name as boards
/// (`# Boards are selected by default, uncomment to keep out of the build.`
/// followed by `# CONFIG_ISAPC=n`, ...). A board whose machine shares a file
/// with another (`isapc` in pc_piix.c) is a board all the same: its
/// `default y` is not something the other machine pulls in.
fn default_mak_boards(qemu_src: &Path) -> BTreeSet<String> {
    static ENTRY: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^#?\s*CONFIG_(\w+)\s*=\s*[yn]\s*$").unwrap());
    let mut out = BTreeSet::new();
    for dir in [
        "configs/devices",
        "default-configs/devices",
        "default-configs",
    ] {
        let mut paths = Vec::new();
        if walk(qemu_src, &qemu_src.join(dir), &mut paths).is_err() {
            continue;
        }
        for path in paths
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "mak"))
        {
            let Ok(text) = std::fs::read_to_string(path) else {
                continue;
            };
            let mut in_boards = false;
            for line in text.lines().map(str::trim) {
                if line.is_empty() {
                    in_boards = false;
                } else if let Some(c) = ENTRY.captures(line) {
                    if in_boards {
                        out.insert(c[1].to_string());
                    }
                } else if line.starts_with('#') {
                    let l = line.to_ascii_lowercase();
                    if l.contains("selected by default") || l.contains("boards are") {
                        in_boards = true;
                    }
                }
            }
        }
    }
    out
}

/// Knobs that turn on "every user-pluggable device" (`PCI_DEVICES`, `I2C_DEVICES`, ...).
fn is_pluggable_knob(symbol: &str) -> bool {
    symbol.ends_with("_DEVICES")
}

/// The best reach of every symbol from one root, with the Kconfig path.
type Closure = HashMap<String, (Reach, Vec<String>)>;

/// Computes which symbols a machine symbol pulls in, and how strongly.
/// Listed machines are closed with their conditions evaluated against what
/// the closure holds, plus TCG: a condition on TCG says what is built, and
/// builds have TCG, also those that run HVF (whose arm `virt` uses the
/// userspace GICv3 that `select ARM_GICV3 if TCG` builds). Code that only TCG
/// runs is found by its own `depends on TCG` instead (`tcg_symbols`).
/// Unlisted boards are closed with every conditional edge taken
/// (`unconditional`), as before. `variants` are boards that depend on a
/// listed machine's own symbol (`isapc` on I440FX, in its file): what they
/// select is built into that binary and pluggable there, not part of it.
/// `tcg_only` symbols (`depends on TCG`) join a listed machine's closure but
/// pull in only other TCG-only symbols: what ARM_V7M selects (PTIMER) is
/// built for its TCG boards, and a hardware accelerator never runs a v7-M core.
#[allow(clippy::too_many_arguments)]
fn closure(
    root: &str,
    env: &BTreeSet<String>,
    symbols: &BTreeMap<String, KSymbol>,
    boards: &BTreeSet<String>,
    with_defaults: bool,
    unconditional: bool,
    variants: &BTreeSet<String>,
    tcg_only: &BTreeSet<String>,
) -> Closure {
    // A symbol the closure holds that may enable a condition: not a TCG-only one.
    let held = |best: &Closure, x: &str| best.contains_key(x) && !tcg_only.contains(x);
    let mut best: Closure = HashMap::new();
    let mut queue = VecDeque::new();
    let relax = |best: &mut Closure,
                 queue: &mut VecDeque<String>,
                 sym: &str,
                 reach: Reach,
                 chain: Vec<String>| {
        // Stronger first, then a path from the machine over one from a host
        // feature (`[XEN] -select-> FSDEV_9P` explains nothing about virt), then shorter.
        let rank =
            |r: Reach, c: &[String]| (r, c.first().is_some_and(|x| x.starts_with('[')), c.len());
        let better = match best.get(sym) {
            None => true,
            Some((r, c)) => rank(reach, &chain) < rank(*r, c),
        };
        if better {
            best.insert(sym.to_string(), (reach, chain));
            queue.push_back(sym.to_string());
        }
    };
    relax(
        &mut best,
        &mut queue,
        root,
        Reach::Selected,
        vec![root.to_string()],
    );
    for e in env {
        relax(
            &mut best,
            &mut queue,
            e,
            Reach::Selected,
            vec![format!("[{e}]")],
        );
    }
    // Conditional selects and implies whose condition did not hold yet:
    // (from, to, condition, reach, chain), tried again as symbols join.
    let mut pending: Vec<(String, String, String, Reach, Vec<String>)> = Vec::new();
    loop {
        while let Some(sym) = queue.pop_front() {
            let (reach, chain) = best[&sym].clone();
            let Some(k) = symbols.get(&sym) else { continue };
            let edges = k.selects.iter().map(|e| (e, "select", reach)).chain(
                k.implies
                    .iter()
                    .map(|e| (e, "imply", reach.max(Reach::Implied))),
            );
            for ((s, cond), kind, r) in edges {
                // Only TCG-only symbols follow from one (ARM_COMPATIBLE_SEMIHOSTING -> SEMIHOSTING).
                if tcg_only.contains(&sym) && !tcg_only.contains(s) {
                    continue;
                }
                let mut c = chain.clone();
                match cond {
                    None => c.push(format!("-{kind}-> {s}")),
                    Some(cond) => {
                        c.push(format!("-{kind} if {cond}-> {s}"));
                        let enabled = |x: &str| unconditional || x == "TCG" || held(&best, x);
                        if !eval_expr(cond, &enabled) {
                            pending.push((sym.clone(), s.clone(), cond.clone(), r, c));
                            continue;
                        }
                    }
                }
                relax(&mut best, &mut queue, s, r, c);
            }
        }
        let enabled = |x: &str| unconditional || x == "TCG" || held(&best, x);
        let ready: Vec<_> = pending
            .iter()
            .filter(|(_, _, cond, ..)| eval_expr(cond, &enabled))
            .cloned()
            .collect();
        pending.retain(|(_, _, cond, ..)| !eval_expr(cond, &enabled));
        for (_, s, _, r, c) in ready {
            relax(&mut best, &mut queue, &s, r, c);
        }
        if !queue.is_empty() {
            continue;
        }
        if !with_defaults {
            break;
        }
        // `default y` symbols whose conditions now hold join at the strength of what enabled them.
        let mut updates: Vec<(String, Reach, Vec<String>)> = Vec::new();
        for (name, k) in symbols {
            if k.defaults.is_empty()
                || (boards.contains(name) && !variants.contains(name))
                || best.get(name).is_some_and(|(r, _)| *r == Reach::Selected)
            {
                continue;
            }
            let enabled = |s: &str| held(&best, s);
            if !k.depends.iter().all(|d| eval_expr(d, &enabled)) {
                continue;
            }
            for cond in &k.defaults {
                if let Some(c) = cond {
                    if !eval_expr(c, &enabled) {
                        continue;
                    }
                }
                let mut refs: Vec<String> =
                    k.depends.iter().flat_map(|d| positive_symbols(d)).collect();
                if let Some(c) = cond {
                    refs.extend(positive_symbols(c));
                }
                let pluggable = cond
                    .as_deref()
                    .is_some_and(|c| positive_symbols(c).iter().any(|s| is_pluggable_knob(s)));
                // The weakest enabling reference decides; a `_DEVICES` knob makes it pluggable.
                let via = refs
                    .iter()
                    .filter_map(|r| best.get(r).map(|(reach, chain)| (*reach, chain, r)))
                    .max_by_key(|(reach, chain, _)| (*reach, chain.len()));
                let (mut reach, mut chain) = match via {
                    Some((reach, chain, _)) => (reach, chain.clone()),
                    None => (Reach::Selected, vec![format!("[default y] {name}")]),
                };
                if pluggable || variants.contains(name) {
                    reach = Reach::Pluggable;
                }
                chain.push(format!(
                    "-default{}-> {name}",
                    cond.as_deref()
                        .map(|c| format!(" if {c}"))
                        .unwrap_or_default()
                ));
                let better = match best.get(name) {
                    None => true,
                    Some((r, _)) => reach < *r,
                };
                if better {
                    updates.push((name.clone(), reach, chain));
                }
            }
        }
        let changed = !updates.is_empty();
        for (name, reach, chain) in updates {
            if best.get(&name).is_none_or(|(r, _)| reach < *r) {
                best.insert(name.clone(), (reach, chain));
                queue.push_back(name);
            }
        }
        if !changed && queue.is_empty() {
            break;
        }
    }
    best
}

// === meson ===

/// One way a file gets built: a source set, the symbols that must all hold,
/// and the system-emulation targets whose binaries it goes into.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct BuildRule {
    set: String,
    symbols: Vec<String>,
    /// `qemu-system-*` targets (`s390x`); empty means every target.
    targets: Vec<String>,
}

/// Finds `IDENT.add(...)` / `IDENT.add_all(...)` calls and returns (ident, method, args).
fn meson_calls(text: &str) -> Vec<(String, String, String)> {
    static CALL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(\w+)\.(add_all|add)\(").unwrap());
    let mut out = Vec::new();
    for cap in CALL.captures_iter(text) {
        let whole = cap.get(0).expect("match");
        let bytes = text.as_bytes();
        let mut depth = 1;
        let mut i = whole.end();
        let mut quote = false;
        while i < bytes.len() && depth > 0 {
            match bytes[i] {
                b'\'' => quote = !quote,
                b'(' | b'[' if !quote => depth += 1,
                b')' | b']' if !quote => depth -= 1,
                b'#' if !quote => {
                    while i < bytes.len() && bytes[i] != b'\n' {
                        i += 1;
                    }
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
        out.push((
            cap[1].to_string(),
            cap[2].to_string(),
            text[whole.end()..i.saturating_sub(1)].to_string(),
        ));
    }
    out
}

/// Splits call arguments at top-level commas.
fn split_args(args: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut quote = false;
    let mut cur = String::new();
    for c in args.chars() {
        match c {
            '\'' => quote = !quote,
            '(' | '[' if !quote => depth += 1,
            ')' | ']' if !quote => depth -= 1,
            ',' if !quote && depth == 0 => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() {
        out.push(cur);
    }
    out
}

fn quoted(text: &str) -> Vec<String> {
    static Q: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"'([^']*)'").unwrap());
    Q.captures_iter(text).map(|c| c[1].to_string()).collect()
}

fn files_in(value: &str) -> Vec<String> {
    static FILES: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"files\(([^)]*)\)").unwrap());
    FILES
        .captures_iter(value)
        .flat_map(|c| quoted(&c[1]))
        .collect()
}

#[derive(Default)]
struct MesonIndex {
    /// File path to the rules that build it.
    files: BTreeMap<String, BTreeSet<BuildRule>>,
    /// Host tools (`executable('qemu-img', files(...))`) to their source files.
    tools: BTreeMap<String, Vec<String>>,
}

/// The system-emulation targets (`configs/targets/*-softmmu.mak`) with their
/// base architecture, and how meson groups them.
struct Targets {
    /// Target (`x86_64`) to base architecture (`i386`).
    base: BTreeMap<String, String>,
}

impl Targets {
    /// Targets that a per-architecture dictionary entry reaches. `hw_arch` is
    /// keyed by hardware directory (the base architecture, but `sparc64` for
    /// that target), the `target_*arch` dictionaries by base architecture
    /// (see the top-level `meson.build`).
    fn of_key(&self, dict: &str, key: &str) -> Vec<String> {
        self.base
            .iter()
            .filter(|(t, b)| {
                if dict == "hw_arch" {
                    let hw_dir = if t.as_str() == "sparc64" {
                        "sparc64"
                    } else {
                        b.as_str()
                    };
                    hw_dir == key
                } else {
                    b.as_str() == key
                }
            })
            .map(|(t, _)| t.clone())
            .collect()
    }

    /// Targets a `when: 'TARGET_X'` condition allows: that target, or every
    /// target of that base architecture (`TARGET_I386` holds for x86_64 too).
    fn of_condition(&self, symbol: &str) -> Option<Vec<String>> {
        let arch = symbol.strip_prefix("TARGET_")?.to_ascii_lowercase();
        let out: Vec<String> = self
            .base
            .iter()
            .filter(|(t, b)| **t == arch || **b == arch)
            .map(|(t, _)| t.clone())
            .collect();
        (!out.is_empty()).then_some(out)
    }
}

/// Intersects target lists, where an empty list means every target.
fn narrow(a: &[String], b: &[String]) -> Vec<String> {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_vec(),
        (_, true) => a.to_vec(),
        _ => a.iter().filter(|t| b.contains(t)).cloned().collect(),
    }
}

/// A source set's identity: meson variables are global, but subdirectories
/// reuse names (`virtio_ss` in `hw/s390x` is not `hw/virtio`'s), so a name
/// means the set assigned in the same file, else in the nearest enclosing
/// directory, else the only one assigned anywhere.
fn set_key(name: &str, dir: &str, assigned: &BTreeMap<String, Vec<String>>) -> String {
    let Some(dirs) = assigned.get(name) else {
        return format!(":{name}");
    };
    let enclosing = dirs
        .iter()
        .filter(|d| d.is_empty() || *d == dir || dir.starts_with(&format!("{d}/")))
        .max_by_key(|d| d.len());
    match (enclosing, dirs.len()) {
        (Some(d), _) => format!("{d}:{name}"),
        (None, 1) => format!("{}:{name}", dirs[0]),
        (None, _) => format!(":{name}"),
    }
}

fn parse_meson_tree(
    root: &Path,
    meson_files: &[PathBuf],
    targets: &Targets,
) -> Result<MesonIndex, BuildError> {
    static ASSIGN: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?m)^\s*(\w+)\s*=\s*ss\.source_set\(\)").unwrap());
    static REGISTER: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"\b(hw_arch|target_arch|target_system_arch|target_softmmu_arch|target_user_arch)\s*\+=\s*\{\s*'(\w+)'\s*:\s*(\w+)\s*\}").unwrap()
    });
    static EXECUTABLE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\bexecutable\(\s*'(qemu-[\w-]+)'").unwrap());
    let mut texts = Vec::new();
    for path in meson_files {
        let text = read(path)?;
        let dir = path
            .parent()
            .and_then(|p| p.strip_prefix(root).ok())
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
        texts.push((dir, text));
    }
    // Directories meson enters only with TCG: `if 'CONFIG_TCG' in
    // config_all_accel` around `subdir('tcg')` in the parent (target/arm), or
    // `if 'CONFIG_TCG' not in config_all_accel` + `subdir_done()` at the top
    // of the directory's own file (target/loongarch/tcg).
    static TCG_BLOCK: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?ms)^\s*if\s+'CONFIG_TCG'\s+in\s+config_all_accel\s*$(.*?)^\s*(?:endif|else|elif)\b",
        )
        .unwrap()
    });
    static TCG_DONE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?m)^\s*if\s+'CONFIG_TCG'\s+not\s+in\s+config_all_accel\s*\n\s*subdir_done\(\)",
        )
        .unwrap()
    });
    static SUBDIR: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\bsubdir\(\s*'([\w./-]+)'\s*\)").unwrap());
    let mut tcg_dirs: Vec<String> = Vec::new();
    for (dir, text) in &texts {
        if TCG_DONE.is_match(text) {
            tcg_dirs.push(dir.clone());
        }
        for block in TCG_BLOCK.captures_iter(text) {
            for sub in SUBDIR.captures_iter(&block[1]) {
                tcg_dirs.push(if dir.is_empty() {
                    sub[1].to_string()
                } else {
                    format!("{dir}/{}", &sub[1])
                });
            }
        }
    }
    let under_tcg = |dir: &str| {
        tcg_dirs
            .iter()
            .any(|d| dir == d || dir.starts_with(&format!("{d}/")))
    };
    let mut assigned: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (dir, text) in &texts {
        for cap in ASSIGN.captures_iter(text) {
            let dirs = assigned.entry(cap[1].to_string()).or_default();
            if !dirs.contains(dir) {
                dirs.push(dir.clone());
            }
        }
    }
    // Per-architecture sets: set key -> targets; user-mode sets are left out.
    let mut scoped: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut user_sets: BTreeSet<String> = BTreeSet::new();
    let mut index = MesonIndex::default();
    // Direct additions: set -> (file, symbols, targets); nested: child -> (parent, symbols, targets).
    type Addition = (String, String, Vec<String>, Vec<String>);
    let mut direct: Vec<Addition> = Vec::new();
    let mut nested: Vec<Addition> = Vec::new();
    for (dir, text) in &texts {
        for cap in REGISTER.captures_iter(text) {
            let key = set_key(&cap[3], dir, &assigned);
            if &cap[1] == "target_user_arch" {
                user_sets.insert(key);
            } else {
                scoped.insert(key, targets.of_key(&cap[1], &cap[2]));
            }
        }
        for cap in EXECUTABLE.captures_iter(text) {
            let start = cap.get(0).expect("match").end();
            let args = balanced(&text[start..]);
            let files: Vec<String> = files_in(args)
                .into_iter()
                .map(|f| {
                    if dir.is_empty() {
                        f
                    } else {
                        format!("{dir}/{f}")
                    }
                })
                .collect();
            index
                .tools
                .entry(cap[1].to_string())
                .or_default()
                .extend(files);
        }
        for (set, method, args) in meson_calls(text) {
            let set = set_key(&set, dir, &assigned);
            let mut when = Vec::new();
            if under_tcg(dir) {
                when.push("TCG".to_string());
            }
            let mut only = Vec::new();
            let mut if_true = Vec::new();
            for arg in split_args(&args) {
                let arg = arg.trim();
                if let Some(v) = arg.strip_prefix("when:") {
                    for q in quoted(v) {
                        if let Some(sym) = q.strip_prefix("CONFIG_") {
                            when.push(sym.to_string());
                        } else if let Some(t) = targets.of_condition(&q) {
                            only = narrow(&only, &t);
                        }
                    }
                } else if let Some(v) = arg.strip_prefix("if_true:") {
                    if_true.push(v.trim().to_string());
                } else if arg.starts_with("if_false:") {
                    // Stubs built when a feature is off: not the feature's code.
                } else {
                    if_true.push(arg.to_string());
                }
            }
            for value in if_true {
                let files = files_in(&value);
                if files.is_empty() && method == "add_all" {
                    let child = value.trim().trim_matches(['[', ']']).trim().to_string();
                    if child.chars().all(|c| c.is_alphanumeric() || c == '_') && !child.is_empty() {
                        nested.push((
                            set_key(&child, dir, &assigned),
                            set.clone(),
                            when.clone(),
                            only.clone(),
                        ));
                    }
                }
                for f in files {
                    let full = if dir.is_empty() {
                        f
                    } else {
                        format!("{dir}/{f}")
                    };
                    direct.push((set.clone(), full, when.clone(), only.clone()));
                }
            }
        }
    }
    // A file added to a nested set is built under the parent's conditions too.
    for (set, file, when, only) in direct {
        let mut rules = vec![(set.clone(), when.clone(), only.clone(), 0)];
        let mut expanded = Vec::new();
        while let Some((s, w, t, depth)) = rules.pop() {
            let parents: Vec<_> = nested.iter().filter(|(child, ..)| *child == s).collect();
            if parents.is_empty() || depth > 8 {
                expanded.push((s, w, t));
                continue;
            }
            for (_, parent, pw, pt) in parents {
                let mut merged = w.clone();
                merged.extend(pw.iter().cloned());
                rules.push((parent.clone(), merged, narrow(&t, pt), depth + 1));
            }
        }
        for (s, mut w, t) in expanded {
            w.sort();
            w.dedup();
            let name = s.rsplit(':').next().unwrap_or(&s).to_string();
            // A user-mode set is named so (`*_user_ss`), whatever its variable.
            let set = if user_sets.contains(&s) && !name.contains("user") {
                format!("{name} (user)")
            } else {
                name
            };
            let mut targets = narrow(scoped.get(&s).map(Vec::as_slice).unwrap_or(&[]), &t);
            if targets.is_empty() && (scoped.contains_key(&s) || !t.is_empty()) {
                // Scoped to targets none of which remain: never built for system emulation.
                targets = vec![NO_TARGET.to_string()];
            }
            targets.sort();
            targets.dedup();
            index
                .files
                .entry(file.clone())
                .or_default()
                .insert(BuildRule {
                    set,
                    symbols: w,
                    targets,
                });
        }
    }
    Ok(index)
}

/// The text of a call's arguments, up to its closing parenthesis.
fn balanced(text: &str) -> &str {
    let mut depth = 1;
    let mut quote = false;
    for (i, c) in text.char_indices() {
        match c {
            '\'' => quote = !quote,
            '(' | '[' if !quote => depth += 1,
            ')' | ']' if !quote => {
                depth -= 1;
                if depth == 0 {
                    return &text[..i];
                }
            }
            _ => {}
        }
    }
    text
}

/// C text up to the brace that closes the block whose `{` came just before `text`.
fn braced(text: &str) -> &str {
    let mut depth = 1usize;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return &text[..i];
                }
            }
            _ => {}
        }
    }
    text
}

/// The body of C function `name`'s definition in `text`, if the file defines it.
fn c_function_body<'t>(text: &'t str, name: &str) -> Option<&'t str> {
    text.match_indices(name).find_map(|(at, _)| {
        let word_start = text[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        let rest = text[at + name.len()..].trim_start();
        let args = rest.strip_prefix('(')?;
        let close = args.find(')')?;
        let body = args[close + 1..].trim_start().strip_prefix('{')?;
        word_start.then(|| braced(body))
    })
}

// === C sources ===

/// One QOM type as a C file's `TypeInfo` initialisers declare it: its name
/// and parent as written (`TYPE_*` macros or string literals), and what its
/// own class_init says of `-device` (`Some(false)`: `user_creatable = false`).
#[derive(Debug, Clone, Default)]
struct QomType {
    name: String,
    parent: String,
    creatable: Option<bool>,
    is_abstract: bool,
}

/// The QOM types a C file declares.
fn declared_types(text: &str) -> Vec<QomType> {
    static FIELD: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"\.(name|parent|class_init|abstract)\s*=\s*([\w\x22-]+)").unwrap()
    });
    static CREATABLE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\buser_creatable\s*=\s*(true|false)\b").unwrap());
    let creatable = |class_init: &str| {
        c_function_body(text, class_init)
            .and_then(|body| CREATABLE.captures_iter(body).last())
            .map(|c| &c[1] == "true")
    };
    let mut types: Vec<QomType> = Vec::new();
    for start in TYPEINFO_START.find_iter(text) {
        // The initialiser up to its matching brace (an array holds several entries).
        let mut current: Option<QomType> = None;
        for cap in FIELD.captures_iter(braced(&text[start.end()..])) {
            let value = cap[2].to_string();
            match &cap[1] {
                "name" => {
                    types.extend(current.take());
                    current = Some(QomType {
                        name: value,
                        ..QomType::default()
                    });
                }
                field => {
                    let Some(ty) = current.as_mut() else { continue };
                    match field {
                        "parent" => ty.parent = value,
                        "class_init" => ty.creatable = creatable(&value),
                        _ => ty.is_abstract = value == "true",
                    }
                }
            }
        }
        types.extend(current);
    }
    types
}

/// Every QOM type of the tree by its name (`TYPE_*` resolved), so a parent
/// declared in another file can be followed (`TYPE_ISA_SUPERIO` refuses
/// `-device` for the VIA and SMC super-I/O chips of hw/isa/).
type QomIndex = HashMap<String, QomType>;

fn qom_key(raw: &str, type_macros: &HashMap<String, String>) -> Option<String> {
    if raw.starts_with("TYPE_") {
        type_macros.get(raw).map(|n| n.to_ascii_lowercase())
    } else {
        quoted_c(raw)
            .or_else(|| Some(raw.to_string()))
            .map(|n| n.to_ascii_lowercase())
    }
}

/// Whether `-device` can create one of the file's QOM types on a PCI or USB
/// bus: a non-abstract type descending from a PCI/USB device whose nearest
/// class_init saying anything of `user_creatable` does not refuse it.
/// Parents declared elsewhere are followed through `index`; a parent found
/// nowhere may well be a PCI device (TYPE_PCI_BRIDGE): pluggable unless refused.
fn user_pluggable(text: &str, index: &QomIndex, type_macros: &HashMap<String, String>) -> bool {
    // A virtio-pci proxy with a `-device` name (`.generic_name`) is a PCI device.
    if text.contains("VirtioPCIDeviceTypeInfo") && text.contains(".generic_name") {
        return true;
    }
    if !PLUGGABLE_PARENTS.iter().any(|p| text.contains(p)) {
        return false;
    }
    let types = declared_types(text);
    if types.is_empty() || types.iter().any(|t| t.parent.is_empty()) {
        return true;
    }
    // (descends from a PCI/USB device, allowed by -device), following parents.
    let lineage = |ty: &QomType| -> (bool, bool) {
        let mut decided: Option<bool> = None;
        let mut at = ty.clone();
        for _ in 0..24 {
            decided = decided.or(at.creatable);
            let allowed = decided != Some(false);
            if PLUGGABLE_PARENTS.contains(&at.parent.as_str()) {
                return (true, allowed);
            }
            if NOT_DEVICE_PARENTS.contains(&at.parent.as_str())
                || at.parent.ends_with("_BUS")
                || at.parent == "TYPE_DEVICE"
            {
                return (false, allowed);
            }
            let next = types
                .iter()
                .find(|t| t.name == at.parent)
                .cloned()
                .or_else(|| qom_key(&at.parent, type_macros).and_then(|k| index.get(&k).cloned()));
            match next {
                Some(parent) if parent.name != at.name => at = parent,
                _ => return (true, allowed),
            }
        }
        (true, decided != Some(false))
    };
    types.iter().filter(|t| !t.is_abstract).any(|t| {
        let (device, allowed) = lineage(t);
        device && allowed
    })
}

static TYPE_DEFINE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"#define\s+(TYPE_\w+)\s+"([^"]+)""#).unwrap());
static MACHINE_TYPE_DEFINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"#define\s+(TYPE_\w+)\s+MACHINE_TYPE_NAME\(\s*"([^"]+)"\s*\)"#).unwrap()
});
static TYPEINFO_START: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b\w*TypeInfo\s+\w+\s*(?:\[\s*\])?\s*=\s*\{").unwrap());
static NAME_FIELD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\.(?:name|generic_name|transitional_name|non_transitional_name)\s*=\s*(TYPE_\w+|"[^"]+"|MACHINE_TYPE_NAME\(\s*"[^"]+"\s*\))"#).unwrap()
});
static MACHINE_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?:MACHINE_(?:VER_)?TYPE_NAME\(\s*"([^"]+)"|DEFINE_MACHINE\w*\(\s*"([^"]+)"|->alias\s*=\s*"([^"]+)"|DEFINE_\w*_MACHINE\w*\(\s*\w+\s*,\s*"([a-z][a-z0-9-]*)"|"([a-z][a-z0-9-]*)"\s*,\s*major\b)"#).unwrap()
});

/// QOM type names a C file defines (raw: `TYPE_*` macros are resolved later).
fn qom_names(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for m in TYPEINFO_START.find_iter(text) {
        let body = &text[m.end()..];
        let end = body.find("};").unwrap_or(body.len());
        for cap in NAME_FIELD.captures_iter(&body[..end]) {
            let v = cap[1].to_string();
            if !out.contains(&v) {
                out.push(v);
            }
        }
    }
    out
}

fn machine_names(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for cap in MACHINE_NAME.captures_iter(text) {
        if let Some(m) = (1..=5).find_map(|i| cap.get(i)) {
            let name = m.as_str().to_string();
            if !out.contains(&name) {
                out.push(name);
            }
        }
    }
    out
}

/// `(family, alias)` pairs of a file's machine definitions: a
/// `DEFINE_*_MACHINE(...)` call names the machine type (or a versioned
/// family, `pc-i440fx`) in its first string argument, and any later string
/// argument is the alias its latest version registers (`"pc"`).
fn machine_aliases(text: &str) -> Vec<(String, String)> {
    static CALL: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\bDEFINE_\w*MACHINE\w*\(").unwrap());
    static LITERAL: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#""([a-z][a-z0-9.-]*)""#).unwrap());
    let mut out = Vec::new();
    for m in CALL.find_iter(text) {
        let args = balanced(&text[m.end()..]);
        let literals: Vec<&str> = LITERAL
            .captures_iter(args)
            .map(|c| c.get(1).expect("group").as_str())
            .collect();
        if let Some((family, rest)) = literals.split_first() {
            for alias in rest {
                let pair = (family.to_string(), alias.to_string());
                if family != alias && !out.contains(&pair) {
                    out.push(pair);
                }
            }
        }
    }
    out
}

/// `pc-q35-9.2` → `pc-q35`, `pseries-10.0` → `pseries`.
pub(crate) fn strip_version(name: &str) -> String {
    let mut parts: Vec<&str> = name.split('-').collect();
    while parts.len() > 1
        && parts
            .last()
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit() || c == '.'))
    {
        parts.pop();
    }
    parts.join("-")
}

// === MAINTAINERS ===

struct Section {
    title: String,
    status: Option<String>,
    /// Each `F:` pattern with its specificity (see [`pattern_depth`]) and length.
    patterns: Vec<(GlobMatcher, (usize, usize))>,
    excludes: Vec<GlobMatcher>,
    /// Every `F:` pattern is only wildcards (`F: *`, `F: */`): the section
    /// every patch is copied to, which says nothing about who owns a file.
    catch_all: bool,
}

/// How specific an `F:` pattern is, as `scripts/get_maintainer.pl` ranks
/// sections: the number of `/` in it, plus one unless it names a directory.
fn pattern_depth(pattern: &str) -> usize {
    let slashes = pattern.matches('/').count();
    if pattern.ends_with('/') {
        slashes
    } else {
        slashes + 1
    }
}

fn pattern_matcher(pattern: &str) -> Option<GlobMatcher> {
    // A directory pattern covers everything below it; a plain file matches itself.
    let glob = if pattern.ends_with('/') {
        format!("{pattern}**")
    } else {
        pattern.to_string()
    };
    GlobBuilder::new(&glob)
        .literal_separator(true)
        .build()
        .ok()
        .map(|g| g.compile_matcher())
}

/// Parses `MAINTAINERS`. A section is a paragraph of `X:` lines; its name is
/// the line just before them. A line underlined with `---` is a group heading
/// ("Guest CPU cores (TCG)"), never a section name. `F:` patterns naming a
/// directory of `root` without the trailing slash cover it, as in
/// `get_maintainer.pl`.
fn parse_maintainers(text: &str, root: &Path) -> Vec<Section> {
    let mut sections = Vec::new();
    for block in text.split("\n\n") {
        let lines: Vec<&str> = block.lines().collect();
        let mut title = None;
        let mut status = None;
        let mut patterns = Vec::new();
        let mut excludes = Vec::new();
        let mut wildcards_only = true;
        for (i, line) in lines.iter().enumerate() {
            let tagged = line.len() > 2
                && line.as_bytes()[1] == b':'
                && line.as_bytes()[0].is_ascii_uppercase();
            if !tagged {
                let underline = |l: &str| {
                    let t = l.trim();
                    !t.is_empty() && t.chars().all(|c| c == '-' || c == '=')
                };
                let heading = lines.get(i + 1).is_some_and(|next| underline(next));
                if !underline(line) && !heading && !line.trim().is_empty() && patterns.is_empty() {
                    // The last plain line before the tags names the section.
                    title = Some(line.trim().to_string());
                }
                continue;
            }
            let value = line[2..].trim();
            match &line[..1] {
                "S" => status = Some(value.to_string()),
                "F" => {
                    let value = if !value.ends_with('/')
                        && !value.contains(['*', '?', '['])
                        && root.join(value).is_dir()
                    {
                        format!("{value}/")
                    } else {
                        value.to_string()
                    };
                    if let Some(m) = pattern_matcher(&value) {
                        wildcards_only &= value.chars().all(|c| matches!(c, '*' | '/' | '?'));
                        patterns.push((m, (pattern_depth(&value), value.len())));
                    }
                }
                "X" => excludes.extend(pattern_matcher(value)),
                _ => {}
            }
        }
        if let (Some(title), false) = (title, patterns.is_empty()) {
            sections.push(Section {
                title,
                status,
                patterns,
                excludes,
                catch_all: wildcards_only,
            });
        }
    }
    sections
}

/// The sections covering `path`, most specific first (deepest, then longest
/// matching `F:` pattern, as `get_maintainer.pl` orders them). The catch-all
/// section is left out: it covers every file and owns none.
fn maintainers_of(path: &str, sections: &[Section]) -> Vec<Maintainers> {
    let mut hits: Vec<((usize, usize), usize, &Section)> = sections
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.catch_all && !s.excludes.iter().any(|x| x.is_match(path)))
        .filter_map(|(i, s)| {
            s.patterns
                .iter()
                .filter(|(g, _)| g.is_match(path))
                .map(|(_, rank)| *rank)
                .max()
                .map(|rank| (rank, i, s))
        })
        .collect();
    hits.sort_by_key(|h| (std::cmp::Reverse(h.0), h.1));
    hits.into_iter()
        .take(3)
        .map(|(_, _, s)| Maintainers {
            section: s.title.clone(),
            status: s.status.clone(),
        })
        .collect()
}

// === the tree walk and the derivation ===

fn walk(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), BuildError> {
    let entries = std::fs::read_dir(dir).map_err(|source| BuildError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            let top_level = path.parent() == Some(root);
            if name.starts_with('.') || (top_level && SKIPPED_DIRS.contains(&name.as_str())) {
                continue;
            }
            walk(root, &path, out)?;
        } else if kind.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

fn rel(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// Builds the knowledge base from a QEMU tree and the `security.rst` text.
///
/// # Errors
/// When the tree lacks the files named above or `security.rst` has no machine list.
pub fn build(qemu_src: &Path, security_rst: &str) -> Result<KbData, BuildError> {
    build_tree(qemu_src, security_rst, true)
}

/// [`build`], with or without the scan for TCG-only functions (an older
/// tree's would be thrown away: [`merge_history`] takes no callers from it).
fn build_tree(
    qemu_src: &Path,
    security_rst: &str,
    tcg_callers: bool,
) -> Result<KbData, BuildError> {
    let doc = parse_security_rst(security_rst)?;
    let version = read(&qemu_src.join("VERSION"))?.trim().to_string();
    let maintainers = parse_maintainers(&read(&qemu_src.join("MAINTAINERS"))?, qemu_src);

    let mut all_files = Vec::new();
    walk(qemu_src, qemu_src, &mut all_files)?;

    // Target name (x86_64) -> base architecture (i386), from configs/targets.
    let mut base_arch: BTreeMap<String, String> = BTreeMap::new();
    for p in &all_files {
        let r = rel(qemu_src, p);
        if let Some(name) = r
            .strip_prefix("configs/targets/")
            // Before QEMU 6.0 the target files sat under default-configs/.
            .or_else(|| r.strip_prefix("default-configs/targets/"))
            .and_then(|n| n.strip_suffix("-softmmu.mak"))
        {
            let text = read(p)?;
            // `TARGET_BASE_ARCH` when it differs, else `TARGET_ARCH` (or1k builds target/openrisc).
            let field = |key: &str| text.lines().find_map(|l| l.strip_prefix(key));
            let base = field("TARGET_BASE_ARCH=")
                .or_else(|| field("TARGET_ARCH="))
                .unwrap_or(name)
                .trim()
                .to_string();
            base_arch.insert(name.to_string(), base);
        }
    }
    let base_dirs: BTreeSet<String> = base_arch
        .values()
        .flat_map(|b| {
            [
                b.clone(),
                b.trim_end_matches(|c: char| c.is_ascii_digit()).to_string(),
            ]
        })
        .collect();

    // Host features a full Linux build enables, read from meson.build's host_kconfig.
    let top_meson = read(&qemu_src.join("meson.build"))?;
    // Before QEMU 6.1 the list was `kconfig_external_symbols = [ 'CONFIG_KVM', ... ]`.
    let mut host_env: BTreeSet<String> = BTreeSet::new();
    for (start, end, re) in [
        ("host_kconfig =", "\n\n", r"'CONFIG_(\w+)=y'"),
        ("kconfig_external_symbols = [", "]", r"'CONFIG_(\w+)'"),
    ] {
        let Some(at) = top_meson.find(start) else {
            continue;
        };
        let block = &top_meson[at..];
        let block = &block[..block.find(end).unwrap_or(block.len())];
        let sym = Regex::new(re).expect("a valid pattern");
        host_env.extend(
            sym.captures_iter(block)
                .map(|c| c[1].to_string())
                .filter(|s| s != "FUZZ"),
        );
    }
    // The virtualization use case: a hardware accelerator, never TCG.
    host_env.extend(["KVM", "XEN", "XEN_BUS", "SYSTEM_ONLY", "SOFTMMU"].map(String::from));

    let mut symbols: BTreeMap<String, KSymbol> = BTreeMap::new();
    let mut meson_files = Vec::new();
    for p in &all_files {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name == "Kconfig" || name.starts_with("Kconfig.") {
            let dir = p.parent().map(|d| rel(qemu_src, d)).unwrap_or_default();
            parse_kconfig(&read(p)?, &dir, &mut symbols);
        } else if name == "meson.build" {
            meson_files.push(p.clone());
        }
    }
    let targets = Targets {
        base: base_arch.clone(),
    };
    let mut meson = parse_meson_tree(qemu_src, &meson_files, &targets)?;
    // `CONFIG_<ARCH>_DIS` is no Kconfig symbol: meson sets it per target from
    // the `disassemblers` table, so disas/mips.c is built for the MIPS targets.
    let dis = disassembler_targets(&top_meson, &base_arch);
    for rules in meson.files.values_mut() {
        *rules = std::mem::take(rules)
            .into_iter()
            .map(|mut rule| {
                if let Some(pos) = rule.symbols.iter().position(|s| dis.contains_key(s)) {
                    let of = &dis[&rule.symbols.remove(pos)];
                    rule.targets = if rule.targets.is_empty() {
                        of.clone()
                    } else {
                        rule.targets
                            .iter()
                            .filter(|t| of.contains(t))
                            .cloned()
                            .collect()
                    };
                    if rule.targets.is_empty() {
                        rule.targets.push(NO_TARGET.to_string());
                    }
                }
                rule
            })
            .collect();
    }

    // QOM types and machine names from the C sources that meson builds.
    let mut type_macros: HashMap<String, String> = HashMap::new();
    let mut machine_macros: HashMap<String, String> = HashMap::new();
    for p in &all_files {
        if p.extension().is_some_and(|e| e == "h" || e == "c") {
            let text = read(p)?;
            for cap in TYPE_DEFINE.captures_iter(&text) {
                type_macros
                    .entry(cap[1].to_string())
                    .or_insert_with(|| cap[2].to_string());
            }
            for cap in MACHINE_TYPE_DEFINE.captures_iter(&text) {
                machine_macros
                    .entry(cap[1].to_string())
                    .or_insert_with(|| cap[2].to_string());
            }
        }
    }
    let mut qom_index: QomIndex = HashMap::new();
    // Abstract machine types (`x86`, `generic-pc`): bases, never a board of their own.
    let mut abstract_machines: BTreeSet<String> = BTreeSet::new();
    let mut qom_types: BTreeMap<String, String> = BTreeMap::new();
    let mut file_types: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut machines_by_file: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut aliases_by_file: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for path in meson.files.keys() {
        if !path.ends_with(".c") {
            continue;
        }
        let Ok(text) = std::fs::read(qemu_src.join(path)) else {
            continue;
        };
        let text = String::from_utf8_lossy(&text);
        for ty in declared_types(&text) {
            if ty.is_abstract {
                if let Some(m) = machine_macros.get(&ty.name) {
                    abstract_machines.insert(m.clone());
                }
            }
            if let Some(key) = qom_key(&ty.name, &type_macros) {
                qom_index.entry(key).or_insert(ty);
            }
        }
        let mut names = Vec::new();
        let mut machines = machine_names(&text);
        for raw in qom_names(&text) {
            if let Some(m) = machine_macros.get(&raw) {
                if !machines.contains(m) {
                    machines.push(m.clone());
                }
            }
            let resolved = if raw.starts_with("TYPE_") {
                type_macros.get(&raw).cloned()
            } else if let Some(inner) = raw.strip_prefix("MACHINE_TYPE_NAME(") {
                quoted_c(inner).map(|n| format!("{n}-machine"))
            } else {
                quoted_c(&raw)
            };
            if let Some(n) = resolved {
                qom_types
                    .entry(n.to_ascii_lowercase())
                    .or_insert_with(|| path.clone());
                names.push(n);
            }
        }
        if !names.is_empty() {
            file_types.insert(path.clone(), names);
        }
        if !machines.is_empty() {
            machines_by_file.insert(path.clone(), machines);
            aliases_by_file.insert(path.clone(), machine_aliases(&text));
        }
    }
    // The targets whose binaries build a file (empty: every target).
    let targets_of = |file: &str| -> Vec<String> {
        let Some(rules) = meson.files.get(file) else {
            return Vec::new();
        };
        if rules.iter().any(|r| r.targets.is_empty()) {
            return Vec::new();
        }
        let mut out: Vec<String> = rules
            .iter()
            .flat_map(|r| r.targets.iter().cloned())
            .filter(|t| t != NO_TARGET)
            .collect();
        out.sort();
        out.dedup();
        if out.is_empty() {
            out.push(NO_TARGET.to_string());
        }
        out
    };

    // Board symbols: those that build a file defining a machine type.
    let symbols_of = |file: &str| -> BTreeSet<String> {
        meson
            .files
            .get(file)
            .map(|rules| {
                rules
                    .iter()
                    .flat_map(|r| r.symbols.iter().cloned())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut boards: BTreeSet<String> = default_mak_boards(qemu_src)
        .into_iter()
        .filter(|s| symbols.contains_key(s) && !host_env.contains(s))
        .collect();
    let mut board_names: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (file, names) in &machines_by_file {
        for s in symbols_of(file) {
            if symbols.contains_key(&s) && !host_env.contains(&s) {
                boards.insert(s.clone());
                board_names
                    .entry(s)
                    .or_default()
                    .extend(names.iter().cloned());
            }
        }
    }

    // Resolve each listed machine to its defining file and Kconfig symbol: a
    // machine type is a name registered for a target, so only files that
    // target's binary builds count, and only names that mean the listed one.
    let builds_for = |file: &str, target: &str| {
        let t = targets_of(file);
        t.is_empty() || t.iter().any(|x| x == target)
    };
    let mut listed = Vec::new();
    for (arch, machine) in &doc.machines {
        let base = base_arch.get(arch).cloned().unwrap_or_else(|| arch.clone());
        // `loongarch64` builds from hw/loongarch: drop a word-size suffix when no such directory exists.
        let dir = if qemu_src.join("hw").join(&base).is_dir() {
            base
        } else {
            base.trim_end_matches(|c: char| c.is_ascii_digit())
                .to_string()
        };
        // Families whose latest version registers the listed name as its alias (`pc-i440fx` for `pc`).
        let families = |file: &str| -> Vec<String> {
            aliases_by_file
                .get(file)
                .map(|pairs| {
                    pairs
                        .iter()
                        .filter(|(_, alias)| alias == machine)
                        .map(|(family, _)| family.clone())
                        .collect()
                })
                .unwrap_or_default()
        };
        let names_it = |file: &str, names: &[String]| {
            names
                .iter()
                .any(|n| n == machine || strip_version(n) == *machine)
                || !families(file).is_empty()
        };
        let candidates: Vec<&String> = machines_by_file
            .iter()
            .filter(|(f, names)| builds_for(f, arch) && names_it(f, names))
            .map(|(f, _)| f)
            .collect();
        let found = candidates
            .iter()
            .find(|f| f.starts_with(&format!("hw/{dir}/")))
            .or_else(|| candidates.first())
            .map(|f| (*f).clone());
        let (file, aliases, symbol) = match found {
            Some(file) => {
                let syms = symbols_of(&file);
                let symbol = syms
                    .iter()
                    .find(|s| symbols.contains_key(*s) && !host_env.contains(*s))
                    .or_else(|| syms.iter().find(|s| symbols.contains_key(*s)))
                    .cloned();
                let aliases = families(&file);
                (Some(file), aliases, symbol)
            }
            None => (None, Vec::new(), None),
        };
        listed.push(ListedMachine {
            arch: arch.clone(),
            machine: machine.clone(),
            file,
            symbol,
            aliases,
        });
    }
    // Every machine type name with the file defining it and the targets building that file.
    let mut machines: BTreeMap<String, Vec<MachineDef>> = BTreeMap::new();
    for (file, names) in &machines_by_file {
        for n in names {
            machines.entry(n.clone()).or_default().push(MachineDef {
                file: file.clone(),
                targets: targets_of(file),
            });
        }
    }

    // Closures: one per listed machine (with the target's own symbols), one per other board.
    let arch_env = |arch: &str| -> BTreeSet<String> {
        let mut env = host_env.clone();
        env.insert(arch.to_ascii_uppercase());
        env
    };
    // Symbols that exist only with TCG: `depends on` needs TCG (SEMIHOSTING,
    // ARM_V7M), or the symbol always selects one that does
    // (ARM_COMPATIBLE_SEMIHOSTING selects SEMIHOSTING).
    let tcg_symbols: BTreeSet<String> = {
        let requires_tcg = |e: &str| eval_expr(e, &|_| true) && !eval_expr(e, &|x| x != "TCG");
        let mut out: BTreeSet<String> = symbols
            .iter()
            .filter(|(_, k)| k.depends.iter().any(|d| requires_tcg(d)))
            .map(|(name, _)| name.clone())
            .collect();
        loop {
            let more: Vec<String> = symbols
                .iter()
                .filter(|(name, k)| {
                    !out.contains(*name)
                        && k.selects
                            .iter()
                            .any(|(to, cond)| cond.is_none() && out.contains(to))
                })
                .map(|(name, _)| name.clone())
                .collect();
            if more.is_empty() {
                break out;
            }
            out.extend(more);
        }
    };
    // Test devices: symbols only `default y if TEST_DEVICES` turns on, which
    // nothing selects or implies (edu, pc-testdev, pci-testdev, i2c-echo).
    let test_symbols: BTreeSet<String> = {
        let pulled: BTreeSet<&str> = symbols
            .values()
            .flat_map(|k| k.selects.iter().chain(k.implies.iter()))
            .map(|(to, _)| to.as_str())
            .collect();
        symbols
            .iter()
            .filter(|(name, k)| {
                !pulled.contains(name.as_str())
                    && !k.defaults.is_empty()
                    && k.defaults.iter().all(|d| {
                        d.as_deref()
                            .is_some_and(|c| positive_symbols(c) == ["TEST_DEVICES"])
                    })
            })
            .map(|(name, _)| name.clone())
            .collect()
    };
    // Boards that depend on a listed machine's symbol (ISAPC on I440FX).
    let variants: BTreeSet<String> = {
        let listed_syms: BTreeSet<&str> =
            listed.iter().filter_map(|m| m.symbol.as_deref()).collect();
        boards
            .iter()
            .filter(|b| !listed_syms.contains(b.as_str()))
            .filter(|b| {
                symbols[*b]
                    .depends
                    .iter()
                    .flat_map(|d| positive_symbols(d))
                    .any(|d| listed_syms.contains(d.as_str()))
            })
            .cloned()
            .collect()
    };
    let mut listed_closures = Vec::new();
    for m in listed.iter().filter(|m| m.symbol.is_some()) {
        let root = m.symbol.clone().unwrap_or_default();
        let env = arch_env(&m.arch);
        listed_closures.push((
            format!("{}/{}", m.arch, m.machine),
            m.arch.clone(),
            m.file
                .as_deref()
                .and_then(|f| f.split('/').nth(1))
                .unwrap_or_default()
                .to_string(),
            closure(
                &root,
                &env,
                &symbols,
                &boards,
                true,
                false,
                &variants,
                &tcg_symbols,
            ),
            env,
        ));
    }
    let listed_symbols: BTreeSet<String> = listed.iter().filter_map(|m| m.symbol.clone()).collect();
    let mut board_closures = Vec::new();
    for b in boards.iter().filter(|b| !listed_symbols.contains(*b)) {
        let c = closure(
            b,
            &BTreeSet::new(),
            &symbols,
            &boards,
            false,
            true,
            &BTreeSet::new(),
            &BTreeSet::new(),
        );
        let name = board_names
            .get(b)
            .and_then(|n| n.first().cloned())
            .unwrap_or_else(|| b.to_ascii_lowercase());
        board_closures.push((name, b.clone(), c));
    }
    // How many unlisted boards' closures hold each symbol: the rarest symbol of
    // a build rule is the one that names the part (`GT64120`, not `PCI`).
    let mut board_count: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, _, c) in &board_closures {
        for s in c.keys() {
            *board_count.entry(s.as_str()).or_default() += 1;
        }
    }

    let mut files = BTreeMap::new();
    for (path, rules) in &meson.files {
        if !(path.ends_with(".c") || path.ends_with(".rs")) || !qemu_src.join(path).exists() {
            continue;
        }
        // A per-architecture set no system target has (hexagon) goes into user-mode binaries only.
        let user_only = rules.iter().all(|r| {
            r.set.contains("user")
                || r.targets == [NO_TARGET]
                || r.symbols
                    .iter()
                    .any(|s| s.ends_with("_USER") || s == "USER_ONLY")
        });
        // A device symbol that `depends on TCG` (semihosting, the ARMv7-M
        // core) or that is only ever selected `if TCG`
        // (ARM_COMPATIBLE_SEMIHOSTING) holds only in a TCG build. Boards are
        // left to the board rules: "only unlisted machine types" says more.
        let needs_tcg = |s: &String| !boards.contains(s) && tcg_symbols.contains(s);
        let tcg_only = rules
            .iter()
            .all(|r| r.set.contains("tcg") || r.symbols.iter().any(|s| s == "TCG"));
        // Needing a TCG-only symbol settles what a listed machine's closure
        // reaches (`[ARM] -select if TCG-> ARM_V7M`); a file only unlisted
        // boards build keeps the board reason.
        let tcg_symbol_only = rules.iter().all(|r| r.symbols.iter().any(&needs_tcg));
        let test_device = rules
            .iter()
            .all(|r| r.symbols.iter().any(|s| test_symbols.contains(s)));

        // Best reach per listed machine: every symbol of a rule must hold for
        // it. Host features and the target's own symbols (`[KVM]`) hold for
        // every machine of the target, so a rule needing nothing else builds
        // the file for all of them; otherwise the chain shown is the one to
        // the rule's weakest (then most specific) device symbol.
        let mut reaches = Vec::new();
        // Built for every machine of every target, or of these listed machines' targets.
        let mut common = false;
        let mut common_when: Vec<String> = Vec::new();
        let mut target_wide: Vec<String> = Vec::new();
        for (name, arch, _dir, clos, env) in &listed_closures {
            let mut best: Option<(Reach, Vec<String>)> = None;
            for rule in rules {
                if !rule.targets.is_empty() && !rule.targets.contains(arch) {
                    continue;
                }
                if rule.set.contains("user")
                    || rule
                        .symbols
                        .iter()
                        .any(|s| s == "TCG" || s.ends_with("_USER") || s == "USER_ONLY")
                {
                    continue;
                }
                let device: Vec<&String> =
                    rule.symbols.iter().filter(|s| !env.contains(*s)).collect();
                if device.is_empty() {
                    if rule.targets.is_empty() {
                        let when: Vec<String> = rule
                            .symbols
                            .iter()
                            .filter(|s| !["SYSTEM_ONLY", "SOFTMMU"].contains(&s.as_str()))
                            .map(|s| format!("CONFIG_{s}"))
                            .collect();
                        if !common || when.len() < common_when.len() {
                            common_when = when;
                        }
                        common = true;
                    } else if !target_wide.contains(name) {
                        target_wide.push(name.clone());
                    }
                    continue;
                }
                let mut weakest: Option<(Reach, &Vec<String>)> = None;
                let mut holds = true;
                for s in device {
                    let Some((r, c)) = clos.get(s) else {
                        holds = false;
                        break;
                    };
                    if weakest.is_none_or(|(wr, wc)| *r > wr || (*r == wr && c.len() > wc.len())) {
                        weakest = Some((*r, c));
                    }
                }
                if let (true, Some((r, c))) = (holds, weakest) {
                    if best
                        .as_ref()
                        .is_none_or(|(br, bc)| r < *br || (r == *br && c.len() < bc.len()))
                    {
                        best = Some((r, c.clone()));
                    }
                }
            }
            if let Some((reach, chain)) = best {
                reaches.push(MachineReach {
                    machine: name.clone(),
                    reach,
                    chain,
                });
            }
        }
        if common {
            target_wide.clear();
        }
        // Every target that builds it, when none of them has a listed machine type.
        let built_targets = {
            let mut t: Vec<String> = rules
                .iter()
                .filter(|r| !r.set.contains("user"))
                .flat_map(|r| {
                    if r.targets.is_empty() {
                        vec!["*".to_string()]
                    } else {
                        r.targets.clone()
                    }
                })
                .collect();
            t.sort();
            t.dedup();
            t
        };
        let unlisted_targets_only = !built_targets.is_empty()
            && built_targets
                .iter()
                .all(|t| t != "*" && !listed.iter().any(|m| &m.arch == t));
        // A board builds the file when its closure holds the rarest symbol of one
        // of the file's build rules: for `CONFIG_GT64120 && CONFIG_PCI` that is
        // GT64120, so a board that only selects PCI does not build it. (Symbols
        // are per binary, not per board, so requiring all of them would miss
        // files whose rule also names a bus symbol another board selects.)
        let rule_symbols: Vec<&String> = rules
            .iter()
            .filter_map(|r| {
                r.symbols
                    .iter()
                    .filter(|s| !host_env.contains(*s) && symbols.contains_key(*s))
                    .min_by_key(|s| board_count.get(s.as_str()).copied().unwrap_or(0))
            })
            .collect();
        let board_builds = |c: &std::collections::HashMap<String, (Reach, Vec<String>)>| {
            rule_symbols.iter().any(|s| c.contains_key(*s))
        };
        let other_boards: Vec<String> = board_closures
            .iter()
            .filter(|(_, _, c)| board_builds(c))
            .map(|(name, _, _)| name.clone())
            .take(MAX_OTHER_BOARDS)
            .collect();
        // A user-pluggable (PCI/USB) device that another board of the same target
        // builds is compiled into the same qemu-system binary, so `-device` can
        // plug it into the listed machine too.
        if !user_only && !tcg_only && !common && path.starts_with("hw/") {
            let pluggable_bus = std::fs::read(qemu_src.join(path))
                .map(|b| user_pluggable(&String::from_utf8_lossy(&b), &qom_index, &type_macros))
                .unwrap_or(false);
            if pluggable_bus {
                for (name, _, dir, _, _) in &listed_closures {
                    if reaches.iter().any(|r| &r.machine == name) {
                        continue;
                    }
                    let same_binary = board_closures.iter().find(|(_, b, c)| {
                        symbols.get(b).is_some_and(|k| k.dir == format!("hw/{dir}"))
                            && board_builds(c)
                    });
                    if let Some((board, b, _)) = same_binary {
                        reaches.push(MachineReach {
                            machine: name.clone(),
                            reach: Reach::Pluggable,
                            chain: vec![
                                format!("[{board} ({b}) is built into the same binary]"),
                                "-device-> user-pluggable PCI/USB device".to_string(),
                            ],
                        });
                    }
                }
            }
        }
        let best = reaches.iter().map(|r| r.reach).min();
        let tcg_only = tcg_only || (tcg_symbol_only && best.is_some());
        // A file that defines machine types, none of them listed for the
        // targets building it, and that no listed machine's Kconfig reaches:
        // the board itself (aarch64's `xenpvh`; security.rst lists xenpvh for x86).
        let unlisted_board: Option<Vec<String>> = machines_by_file
            .get(path.as_str())
            .filter(|_| reaches.is_empty() && !common && !target_wide.is_empty())
            .map(|names| {
                names
                    .iter()
                    .filter(|n| !abstract_machines.contains(*n))
                    .cloned()
                    .collect::<Vec<_>>()
            })
            .filter(|names| !names.is_empty())
            .filter(|names| {
                !listed.iter().any(|m| {
                    m.file.as_deref() == Some(path.as_str())
                        || (builds_for(path, &m.arch)
                            && names
                                .iter()
                                .any(|n| *n == m.machine || strip_version(n) == m.machine))
                })
            });
        let (class, reason) = if user_only {
            (
                UseCase::NonVirtualization,
                "built only for user-mode emulation".to_string(),
            )
        } else if tcg_only {
            (UseCase::NonVirtualization, TCG_ONLY_REASON.to_string())
        } else if test_device {
            (
                UseCase::NeedsJudgement,
                "a test device: Kconfig builds it only with TEST_DEVICES, for test suites rather than production guests, and security.rst lists machine types, not devices".to_string(),
            )
        } else {
            match best {
                Some(Reach::Selected) | Some(Reach::Implied) => (
                    UseCase::Virtualization,
                    format!(
                        "a listed machine type builds it in ({})",
                        reaches.iter().filter(|r| r.reach <= Reach::Implied).map(|r| r.machine.as_str()).take(4).collect::<Vec<_>>().join(", ")
                    ),
                ),
                _ if common => (
                    UseCase::Virtualization,
                    format!(
                        "built for every system-emulation target{}, so the listed machine types run it",
                        if common_when.is_empty() {
                            String::new()
                        } else {
                            format!(" (with {})", common_when.join(" && "))
                        }
                    ),
                ),
                _ if unlisted_board.is_some() => (
                    UseCase::NonVirtualization,
                    format!(
                        "defines machine type {} for {}, which security.rst does not list for {}",
                        unlisted_board.as_deref().unwrap_or_default().join(", "),
                        built_targets.join(", "),
                        if built_targets.len() == 1 { "it" } else { "them" }
                    ),
                ),
                _ if !target_wide.is_empty() => (
                    UseCase::Virtualization,
                    format!(
                        "built for every machine of its target ({}), so the listed {} run{} it",
                        built_targets.join(", "),
                        target_wide.iter().take(4).cloned().collect::<Vec<_>>().join(", "),
                        if target_wide.len() == 1 { "s" } else { "" }
                    ),
                ),
                Some(Reach::Pluggable) if !other_boards.is_empty() => (
                    UseCase::NeedsJudgement,
                    "only pluggable into listed machine types, and built into unlisted boards: security.rst lists machine types, not devices".to_string(),
                ),
                Some(Reach::Pluggable) => (
                    UseCase::Virtualization,
                    "a user-pluggable device of listed machine types, tied to no other board".to_string(),
                ),
                None if unlisted_targets_only => (
                    UseCase::NonVirtualization,
                    format!(
                        "built only for {}, for which security.rst lists no machine type",
                        built_targets.join(", ")
                    ),
                ),
                None if !other_boards.is_empty() => (
                    UseCase::NonVirtualization,
                    BOARD_ONLY_REASON.to_string(),
                ),
                None => (
                    UseCase::NeedsJudgement,
                    "no Kconfig path from a listed machine type was found".to_string(),
                ),
            }
        };
        let built_by: Vec<String> = rules
            .iter()
            .map(|r| {
                // A per-target set names its targets: it is not built for every target.
                let set = if r.targets.is_empty() {
                    r.set.clone()
                } else {
                    format!("{} (target {})", r.set, r.targets.join(", "))
                };
                if r.symbols.is_empty() {
                    set
                } else {
                    format!(
                        "{}: {}",
                        set,
                        r.symbols
                            .iter()
                            .map(|s| format!("CONFIG_{s}"))
                            .collect::<Vec<_>>()
                            .join(" && ")
                    )
                }
            })
            .collect();
        // Keep only the strongest reach per machine family to keep the data file small.
        reaches.sort_by(|a, b| a.reach.cmp(&b.reach).then(a.machine.cmp(&b.machine)));
        reaches.truncate(4);
        files.insert(
            path.clone(),
            FileFacts {
                maintainers: maintainers_of(path, &maintainers),
                built_by,
                qom_types: file_types.get(path).cloned().unwrap_or_default(),
                listed: reaches,
                other_boards,
                common: common && !user_only && !tcg_only,
                target_wide: if user_only || tcg_only || unlisted_board.is_some() {
                    Vec::new()
                } else {
                    target_wide
                },
                class,
                reason,
                last_release: None,
            },
        );
    }

    apply_board_references(qemu_src, &base_dirs, &qom_types, &type_macros, &mut files);
    apply_pluggable_parts(qemu_src, &qom_types, &type_macros, &mut files);
    let functions = function_index(qemu_src, &files, &all_files);
    let tcg_only_functions = if tcg_callers {
        tcg_only_functions(qemu_src, &all_files, &files, &functions)
    } else {
        BTreeMap::new()
    };

    Ok(KbData {
        format_version: super::FORMAT_VERSION,
        qemu_version: version,
        security_rst_sha256: hex(&Sha256::digest(security_rst.as_bytes())),
        virtualization_accels: doc.virtualization_accels,
        non_virtualization_accels: doc.non_virtualization_accels,
        system_targets: base_arch,
        listed_machines: listed,
        machines,
        tools: meson.tools,
        qom_types,
        functions,
        tcg_only_functions,
        files,
        history: Vec::new(),
    })
}

const TCG_ONLY_REASON: &str = "built only with CONFIG_TCG, so it runs only under TCG";
const BOARD_ONLY_REASON: &str = "only unlisted machine types build it";

/// Functions of files a hardware accelerator runs too that only TCG-only code
/// uses (`address_space_translate_for_iotlb` in system/physmem.c, called from
/// accel/tcg/cputlb.c), with those callers. A function qualifies when its own
/// file names it only where it defines it (no ops table of its file reaches
/// it), some other C file names it, and every C file that does is built only
/// with CONFIG_TCG. Short names (`read_cb`) are left out: they collide.
fn tcg_only_functions(
    qemu_src: &Path,
    all_files: &[PathBuf],
    files: &BTreeMap<String, FileFacts>,
    functions: &BTreeMap<String, String>,
) -> BTreeMap<String, Vec<String>> {
    static IDENT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[A-Za-z_]\w*").unwrap());
    let candidates: HashMap<&str, &str> = functions
        .iter()
        .filter(|(name, _)| name.len() >= 12 || name.matches('_').count() >= 2)
        .filter(|(_, home)| {
            files
                .get(*home)
                .is_some_and(|f| f.class == UseCase::Virtualization)
        })
        .map(|(n, h)| (n.as_str(), h.as_str()))
        .collect();
    // Name -> file -> how often the file names it.
    let mut named: HashMap<&str, BTreeMap<String, usize>> = HashMap::new();
    for p in all_files {
        let r = rel(qemu_src, p);
        if !(r.ends_with(".c") || r.ends_with(".h") || r.ends_with(".inc")) {
            continue;
        }
        let Ok(bytes) = std::fs::read(p) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        for m in IDENT.find_iter(&text) {
            if let Some((name, _)) = candidates.get_key_value(m.as_str()) {
                *named.entry(name).or_default().entry(r.clone()).or_default() += 1;
            }
        }
    }
    let tcg_only = |path: &str| {
        files
            .get(path)
            .is_some_and(|f| f.class == UseCase::NonVirtualization && f.reason == TCG_ONLY_REASON)
    };
    let mut out = BTreeMap::new();
    for (name, home) in candidates {
        let Some(by_file) = named.get(name) else {
            continue;
        };
        if by_file.get(home).copied() != Some(1) {
            continue;
        }
        let callers: Vec<&String> = by_file
            .keys()
            .filter(|f| f.as_str() != home && !f.ends_with(".h"))
            .collect();
        if !callers.is_empty() && callers.iter().all(|f| tcg_only(f)) {
            out.insert(
                name.to_string(),
                callers.into_iter().take(3).cloned().collect(),
            );
        }
    }
    out
}

/// Builds the knowledge base from the current tree, then adds what older
/// trees had and the current one no longer has: reports name the paths,
/// machines and functions of the release they were found in
/// (`hw/block/nvme.c`, `-M n800`, `tools/virtiofsd/`). Each older tree is
/// classified by its own build files against the same machine list; the
/// newest tree that has a name decides it.
///
/// # Errors
/// When any tree cannot be read.
pub fn build_with_history(
    qemu_src: &Path,
    history: &[PathBuf],
    security_rst: &str,
) -> Result<KbData, BuildError> {
    let mut data = build(qemu_src, security_rst)?;
    let mut older = Vec::new();
    for tree in history {
        older.push(build_tree(tree, security_rst, false)?);
    }
    older.sort_by_key(|d| std::cmp::Reverse(version_key(&d.qemu_version)));
    for old in older {
        merge_history(&mut data, old, qemu_src);
    }
    Ok(data)
}

/// `10.0.2` as numbers, so 10.0 sorts after 7.2.
fn version_key(version: &str) -> Vec<u64> {
    version
        .split(['.', '-', '+'])
        .map(|p| p.parse().unwrap_or(0))
        .collect()
}

/// Adds an older tree's names that the current data lacks. Files come only
/// when the current tree has no file at that path; functions and QOM types
/// only when they name such a file; machines and targets only when the
/// current tree registers no machine or target of that name.
fn merge_history(data: &mut KbData, old: KbData, qemu_src: &Path) {
    if version_key(&old.qemu_version) >= version_key(&data.qemu_version)
        || data.history.contains(&old.qemu_version)
    {
        return;
    }
    let mut added: BTreeSet<String> = BTreeSet::new();
    for (path, mut facts) in old.files {
        if data.files.contains_key(&path) || qemu_src.join(&path).exists() {
            continue;
        }
        facts.last_release = Some(old.qemu_version.clone());
        added.insert(path.clone());
        data.files.insert(path, facts);
    }
    for (name, file) in old.functions {
        if added.contains(&file) && !data.functions.contains_key(&name) {
            data.functions.insert(name, file);
        }
    }
    for (name, file) in old.qom_types {
        if added.contains(&file) && !data.qom_types.contains_key(&name) {
            data.qom_types.insert(name, file);
        }
    }
    for (name, defs) in old.machines {
        data.machines.entry(name).or_insert(defs);
    }
    for (tool, sources) in old.tools {
        if sources.first().is_some_and(|f| !qemu_src.join(f).exists()) {
            data.tools.entry(tool).or_insert(sources);
        }
    }
    for (target, arch) in old.system_targets {
        data.system_targets.entry(target).or_insert(arch);
    }
    data.history.push(old.qemu_version);
}

/// Function name to the one file, among those the knowledge base classifies,
/// that defines it. Names defined in several of them are left out: a name that
/// could mean two files is no evidence for either. Runtime C files the KB does
/// not classify (the vhost-user and VDUSE backend libraries in subprojects/,
/// contrib/ daemons, tools/) count as definitions too: `has_feature` of
/// libvhost-user must not resolve to the TriCore translator that happens to
/// be the only classified file defining one. (Per-target
/// `linux-user/*/cpu_loop.c` and tests are not scanned.)
fn function_index(
    qemu_src: &Path,
    files: &BTreeMap<String, FileFacts>,
    all_files: &[PathBuf],
) -> BTreeMap<String, String> {
    // The walk skips subprojects/; the two backend libraries QEMU itself keeps there are read.
    let mut extra = Vec::new();
    for lib in ["subprojects/libvhost-user", "subprojects/libvduse"] {
        let _ = walk(qemu_src, &qemu_src.join(lib), &mut extra);
    }
    let unclassified: Vec<String> = all_files
        .iter()
        .chain(extra.iter())
        .map(|p| rel(qemu_src, p))
        .filter(|p| {
            p.ends_with(".c")
                && !files.contains_key(p)
                && ["subprojects/", "contrib/", "tools/"]
                    .iter()
                    .any(|d| p.starts_with(d))
        })
        .collect();
    let mut seen: BTreeMap<String, Option<String>> = BTreeMap::new();
    // Names an unclassified backend also defines: they may only mean
    // virtualization code (the vhost-user libraries are backends of it).
    let mut shadowed: BTreeSet<String> = BTreeSet::new();
    for path in files.keys().filter(|p| p.ends_with(".c")) {
        let Ok(bytes) = std::fs::read(qemu_src.join(path)) else {
            continue;
        };
        for name in defined_functions(&String::from_utf8_lossy(&bytes)) {
            seen.entry(name)
                .and_modify(|v| {
                    if v.as_deref() != Some(path.as_str()) {
                        *v = None;
                    }
                })
                .or_insert_with(|| Some(path.clone()));
        }
    }
    for path in &unclassified {
        if let Ok(bytes) = std::fs::read(qemu_src.join(path)) {
            shadowed.extend(defined_functions(&String::from_utf8_lossy(&bytes)));
        }
    }
    seen.into_iter()
        .filter_map(|(name, path)| path.map(|p| (name, p)))
        .filter(|(name, path)| {
            !shadowed.contains(name)
                || files
                    .get(path)
                    .is_some_and(|f| f.class == UseCase::Virtualization)
        })
        .collect()
}

/// Names of the functions a C file defines, in QEMU's coding style: the
/// declarator starts in column 0 and the body's `{` opens a line of its own.
fn defined_functions(text: &str) -> Vec<String> {
    static DEFINITION: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?m)^(?:[A-Za-z_][\w \t\*]*?[ \t\*])?([A-Za-z_]\w{3,})\((?:[^;{}()]|\([^;{}()]*\))*\)[ \t]*\n\{")
            .unwrap()
    });
    const NOT_FUNCTIONS: &[&str] = &["if", "for", "while", "switch", "return", "sizeof"];
    DEFINITION
        .captures_iter(text)
        .map(|c| c[1].to_string())
        // All-caps names are macro-generated bodies (`DISAS_INSN(...)`), not one function.
        .filter(|n| !NOT_FUNCTIONS.contains(&n.as_str()) && !n.starts_with("glue"))
        .filter(|n| n.chars().any(|c| c.is_ascii_lowercase()))
        .collect()
}

/// Board code that creates a device by name settles devices Kconfig leaves
/// "only pluggable": created by a listed machine's code means virtualization,
/// created only by unlisted boards' code means the device is mainly theirs.
fn apply_board_references(
    qemu_src: &Path,
    base_dirs: &BTreeSet<String>,
    qom_types: &BTreeMap<String, String>,
    type_macros: &HashMap<String, String>,
    files: &mut BTreeMap<String, FileFacts>,
) {
    static LITERAL: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#""([a-z][a-z0-9_.-]{2,})""#).unwrap());
    static MACRO: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\bTYPE_\w+\b").unwrap());
    let mut listed_refs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut other_refs: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (path, facts) in files.iter() {
        let in_board_dir = path
            .strip_prefix("hw/")
            .and_then(|r| r.split('/').next())
            .is_some_and(|d| base_dirs.contains(d));
        if !in_board_dir || facts.class == UseCase::NeedsJudgement {
            continue;
        }
        let Ok(bytes) = std::fs::read(qemu_src.join(path)) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        let mut named: BTreeSet<String> = LITERAL
            .captures_iter(&text)
            .map(|c| c[1].to_string())
            .collect();
        named.extend(
            MACRO
                .find_iter(&text)
                .filter_map(|m| type_macros.get(m.as_str()).cloned()),
        );
        for name in named {
            let Some(device_file) = qom_types.get(&name.to_ascii_lowercase()) else {
                continue;
            };
            if device_file == path {
                continue;
            }
            let bucket = if facts.class == UseCase::Virtualization && !facts.listed.is_empty() {
                &mut listed_refs
            } else {
                &mut other_refs
            };
            bucket
                .entry(device_file.clone())
                .or_default()
                .push(path.clone());
        }
    }
    for (device_file, facts) in files.iter_mut() {
        let best = facts.listed.iter().map(|r| r.reach).min();
        // Already settled by Kconfig, user-mode/TCG-only, or board-only with no board naming it.
        let settled = facts.common
            || !facts.target_wide.is_empty()
            || matches!(best, Some(Reach::Selected) | Some(Reach::Implied))
            || facts.reason.starts_with("built only")
            || facts.reason.starts_with("defines machine type")
            || (facts.class == UseCase::NonVirtualization
                && best.is_none()
                && !other_refs.contains_key(device_file));
        if settled {
            continue;
        }
        if let Some(refs) = listed_refs.get(device_file) {
            facts.class = UseCase::Virtualization;
            facts.reason = format!("created by the code of a listed machine type ({})", refs[0]);
        } else if let Some(refs) = other_refs.get(device_file) {
            if best == Some(Reach::Pluggable) {
                facts.class = UseCase::NeedsJudgement;
                facts.reason = format!(
                    "only pluggable into listed machine types, and created by unlisted boards' code ({}): security.rst lists machine types, not devices",
                    refs[0]
                );
            }
            for r in refs.iter().take(MAX_OTHER_BOARDS) {
                if facts.other_boards.len() < MAX_OTHER_BOARDS && !facts.other_boards.contains(r) {
                    facts.other_boards.push(r.clone());
                }
            }
        }
    }
}

/// A board-only device file whose type a pluggable form of the same model
/// creates (virtio-nsm-device, which the virtio-nsm-pci proxy instantiates)
/// is reached through `-device` on listed machine types too:
/// needs-judgement, as its proxy is, never non-virtualization.
fn apply_pluggable_parts(
    qemu_src: &Path,
    qom_types: &BTreeMap<String, String>,
    type_macros: &HashMap<String, String>,
    files: &mut BTreeMap<String, FileFacts>,
) {
    static MACRO: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\bTYPE_\w+\b").unwrap());
    static SYMBOL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"CONFIG_\w+").unwrap());
    // A proxy and its device share the rarest symbol that builds them
    // (CONFIG_VIRTIO_NSM for virtio-nsm-pci.c and virtio-nsm.c): one model in
    // two forms. A controller's parts have their own (macio's ESCC, CUDA).
    let symbols_of = |f: &FileFacts| -> BTreeSet<String> {
        f.built_by
            .iter()
            .flat_map(|b| SYMBOL.find_iter(b).map(|m| m.as_str().to_string()))
            .collect()
    };
    let mut uses: HashMap<String, usize> = HashMap::new();
    for f in files.values() {
        for sym in symbols_of(f) {
            *uses.entry(sym).or_default() += 1;
        }
    }
    let rarest = |f: &FileFacts| {
        symbols_of(f)
            .into_iter()
            .min_by_key(|s| (uses.get(s).copied().unwrap_or(0), s.clone()))
    };
    let mut parts: BTreeMap<String, String> = BTreeMap::new();
    for (path, facts) in files.iter() {
        let pluggable = facts.listed.iter().any(|r| r.reach == Reach::Pluggable);
        if !path.starts_with("hw/") || !pluggable || facts.class == UseCase::NonVirtualization {
            continue;
        }
        let Ok(bytes) = std::fs::read(qemu_src.join(path)) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        for m in MACRO.find_iter(&text) {
            let Some(part) = type_macros
                .get(m.as_str())
                .and_then(|n| qom_types.get(&n.to_ascii_lowercase()))
            else {
                continue;
            };
            let same_model = files
                .get(part)
                .is_some_and(|p| rarest(p).is_some() && rarest(p) == rarest(facts));
            if part != path && same_model {
                parts.entry(part.clone()).or_insert_with(|| path.clone());
            }
        }
    }
    for (part, proxy) in parts {
        let Some(facts) = files.get_mut(&part) else {
            continue;
        };
        if facts.class == UseCase::NonVirtualization
            && facts.listed.is_empty()
            && facts.reason == BOARD_ONLY_REASON
        {
            facts.class = UseCase::NeedsJudgement;
            facts.reason = format!(
                "only unlisted machine types build it, but {proxy}, which -device can plug into listed machine types, creates it: security.rst lists machine types, not devices"
            );
        }
    }
}

fn quoted_c(s: &str) -> Option<String> {
    let start = s.find('"')?;
    let rest = &s[start + 1..];
    let end = rest.find('"')?;
    Some(rest[..end].to_string())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Serialises the data file the way the repository stores it (stable, one file per line group).
pub fn to_json(data: &KbData) -> String {
    let mut s = serde_json::to_string_pretty(data).expect("KbData serialises");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_pluggable_reads_user_creatable_per_type() {
        let host = r#"
static void grackle_pci_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    dc->user_creatable = false;
}
static const TypeInfo grackle_pci_info = {
    .name          = "grackle",
    .parent        = TYPE_PCI_DEVICE,
    .class_init = grackle_pci_class_init,
};
static const TypeInfo grackle_host_info = {
    .name          = TYPE_GRACKLE_PCI_HOST_BRIDGE,
    .parent        = TYPE_PCI_HOST_BRIDGE,
    .class_init    = grackle_class_init,
};
"#;
        assert!(
            !user_pluggable(host, &QomIndex::new(), &HashMap::new()),
            "a refused PCI part and a host bridge"
        );
        let card = host.replace("dc->user_creatable = false;", "dc->desc = \"card\";");
        assert!(
            user_pluggable(&card, &QomIndex::new(), &HashMap::new()),
            "a PCI device -device can create"
        );
        let child = r#"
static void base_class_init(ObjectClass *klass, void *data)
{
    if (x) { y(); }
    dc->user_creatable = false;
}
static const TypeInfo types[] = {
    {
        .name = TYPE_VIA_ISA,
        .parent = TYPE_PCI_DEVICE,
        .abstract = true,
        .class_init = base_class_init,
        .interfaces = (InterfaceInfo[]) { { INTERFACE_CONVENTIONAL_PCI_DEVICE }, { }, },
    }, {
        .name = TYPE_VT82C686B_ISA,
        .parent = TYPE_VIA_ISA,
        .class_init = child_class_init,
    },
};
"#;
        assert!(
            !user_pluggable(child, &QomIndex::new(), &HashMap::new()),
            "refused through its parent in the file"
        );
        let bridge = r#"
/* INTERFACE_PCIE_DEVICE */
static const TypeInfo rp_info = {
    .name = "my-root-port",
    .parent = TYPE_PCIE_ROOT_PORT,
    .class_init = rp_class_init,
};
"#;
        assert!(
            user_pluggable(bridge, &QomIndex::new(), &HashMap::new()),
            "a parent defined elsewhere may be a PCI device"
        );
        assert!(!user_pluggable(
            "static const TypeInfo t = { .name = \"x\", .parent = TYPE_SYS_BUS_DEVICE };",
            &QomIndex::new(),
            &HashMap::new()
        ));
    }

    #[test]
    fn user_pluggable_follows_parents_declared_in_other_files() {
        // hw/isa/vt82c686.c: a refused PCI function and a super-I/O chip
        // whose parent, declared in hw/isa/isa-superio.c, refuses -device.
        let chip = r#"
static void pm_class_init(ObjectClass *klass, void *data) { dc->user_creatable = false; }
static const TypeInfo pm_info = { .name = TYPE_VIA_PM, .parent = TYPE_PCI_DEVICE, .class_init = pm_class_init };
static const TypeInfo superio_info = { .name = TYPE_VIA_SUPERIO, .parent = TYPE_ISA_SUPERIO, .class_init = via_superio_class_init };
"#;
        let macros: HashMap<String, String> = [("TYPE_ISA_SUPERIO", "isa-superio")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .into();
        let index = declared_types(
            r#"
static void isa_superio_class_init(ObjectClass *oc, void *data) { dc->user_creatable = false; }
static const TypeInfo isa_superio_type_info = { .name = TYPE_ISA_SUPERIO, .parent = TYPE_ISA_DEVICE, .abstract = true, .class_init = isa_superio_class_init };
"#,
        )
        .into_iter()
        .map(|t| ("isa-superio".to_string(), t))
        .collect::<QomIndex>();
        assert!(
            !user_pluggable(chip, &index, &macros),
            "refused in isa-superio.c"
        );
        assert!(
            user_pluggable(chip, &QomIndex::new(), &macros),
            "a parent found nowhere may be a PCI device"
        );
        // The nearest class_init decides: a subclass may allow what its base refuses.
        let allowed = r#"
static void base_class_init(ObjectClass *k, void *d) { dc->user_creatable = false; }
static void card_class_init(ObjectClass *k, void *d) { dc->user_creatable = true; }
static const TypeInfo t[] = {
    { .name = TYPE_BASE, .parent = TYPE_PCI_DEVICE, .abstract = true, .class_init = base_class_init },
    { .name = TYPE_CARD, .parent = TYPE_BASE, .class_init = card_class_init },
};
"#;
        assert!(user_pluggable(allowed, &QomIndex::new(), &HashMap::new()));
    }

    const SECURITY_RST: &str = include_str!("../../kb/docs/security.rst");

    #[test]
    fn machine_list_and_accels_come_from_security_rst() {
        let doc = parse_security_rst(SECURITY_RST).unwrap();
        assert!(doc.machines.contains(&("x86_64".into(), "q35".into())));
        assert!(doc.machines.contains(&("i386".into(), "pc".into())));
        assert!(doc.machines.contains(&("aarch64".into(), "virt".into())));
        assert!(doc.machines.contains(&("ppc64".into(), "pseries".into())));
        assert!(!doc.machines.iter().any(|(_, m)| m == "xilinx-zynq-a9"));
        assert_eq!(doc.virtualization_accels, ["kvm", "hvf"]);
        assert_eq!(doc.non_virtualization_accels, ["tcg"]);
    }

    #[test]
    fn kconfig_expressions() {
        let on = |s: &str| ["PCI", "KVM"].contains(&s);
        assert!(eval_expr("PCI && (KVM || TCG)", &on));
        assert!(!eval_expr("PCI && !KVM", &on));
        assert!(eval_expr("!ISA_BUS", &on));
        assert_eq!(positive_symbols("PCI_DEVICES && !TCG"), ["PCI_DEVICES"]);
    }

    #[test]
    fn meson_rules_with_nested_sets() {
        let calls = meson_calls("system_ss.add(when: 'CONFIG_USB_XHCI', if_true: files('hcd-xhci.c'))\nfoo_ss.add(files('a.c', 'b.c'))\n");
        assert_eq!(calls.len(), 2);
        assert_eq!(files_in(&calls[1].2), ["a.c", "b.c"]);
    }
}
