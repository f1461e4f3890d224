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

use super::{FileFacts, KbData, ListedMachine, MachineReach, Maintainers, Reach, UseCase};

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
    selects: Vec<String>,
    implies: Vec<String>,
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
            sym.selects.push(target.trim().to_string());
        } else if let Some(target) = head.strip_prefix("imply ") {
            sym.implies.push(target.trim().to_string());
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

/// Knobs that turn on "every user-pluggable device" (`PCI_DEVICES`, `I2C_DEVICES`, ...).
fn is_pluggable_knob(symbol: &str) -> bool {
    symbol.ends_with("_DEVICES")
}

/// The best reach of every symbol from one root, with the Kconfig path.
type Closure = HashMap<String, (Reach, Vec<String>)>;

/// Computes which symbols a machine symbol pulls in, and how strongly.
fn closure(
    root: &str,
    env: &BTreeSet<String>,
    symbols: &BTreeMap<String, KSymbol>,
    boards: &BTreeSet<String>,
    with_defaults: bool,
) -> Closure {
    let mut best: Closure = HashMap::new();
    let mut queue = VecDeque::new();
    let relax = |best: &mut Closure,
                 queue: &mut VecDeque<String>,
                 sym: &str,
                 reach: Reach,
                 chain: Vec<String>| {
        let better = match best.get(sym) {
            None => true,
            Some((r, c)) => reach < *r || (reach == *r && chain.len() < c.len()),
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
    loop {
        while let Some(sym) = queue.pop_front() {
            let (reach, chain) = best[&sym].clone();
            let Some(k) = symbols.get(&sym) else { continue };
            for s in &k.selects {
                let mut c = chain.clone();
                c.push(format!("-select-> {s}"));
                relax(&mut best, &mut queue, s, reach, c);
            }
            for s in &k.implies {
                let mut c = chain.clone();
                c.push(format!("-imply-> {s}"));
                relax(&mut best, &mut queue, s, reach.max(Reach::Implied), c);
            }
        }
        if !with_defaults {
            break;
        }
        // `default y` symbols whose conditions now hold join at the strength of what enabled them.
        let mut updates: Vec<(String, Reach, Vec<String>)> = Vec::new();
        for (name, k) in symbols {
            if k.defaults.is_empty()
                || boards.contains(name)
                || best.get(name).is_some_and(|(r, _)| *r == Reach::Selected)
            {
                continue;
            }
            let enabled = |s: &str| best.contains_key(s);
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
                if pluggable {
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

/// One way a file gets built: a source set and the symbols that must all hold.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct BuildRule {
    set: String,
    symbols: Vec<String>,
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
}

fn parse_meson_tree(root: &Path, meson_files: &[PathBuf]) -> Result<MesonIndex, BuildError> {
    // Direct additions: set -> (file, symbols); nested sets: child set -> (parent set, symbols).
    let mut direct: Vec<(String, String, Vec<String>)> = Vec::new();
    let mut nested: Vec<(String, String, Vec<String>)> = Vec::new();
    for path in meson_files {
        let text = read(path)?;
        let dir = path
            .parent()
            .and_then(|p| p.strip_prefix(root).ok())
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
        for (set, method, args) in meson_calls(&text) {
            let mut when = Vec::new();
            let mut if_true = Vec::new();
            for arg in split_args(&args) {
                let arg = arg.trim();
                if let Some(v) = arg.strip_prefix("when:") {
                    when = quoted(v)
                        .into_iter()
                        .filter_map(|s| s.strip_prefix("CONFIG_").map(str::to_string))
                        .collect();
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
                        nested.push((child, set.clone(), when.clone()));
                    }
                }
                for f in files {
                    let full = if dir.is_empty() {
                        f
                    } else {
                        format!("{dir}/{f}")
                    };
                    direct.push((set.clone(), full, when.clone()));
                }
            }
        }
    }
    // A file added to a nested set is built under the parent's conditions too.
    let mut index = MesonIndex::default();
    for (set, file, when) in direct {
        let mut rules = vec![(set.clone(), when.clone())];
        let mut depth = 0;
        let mut expanded = Vec::new();
        while let Some((s, w)) = rules.pop() {
            let parents: Vec<_> = nested.iter().filter(|(child, _, _)| *child == s).collect();
            if parents.is_empty() || depth > 8 {
                expanded.push((s, w));
                continue;
            }
            depth += 1;
            for (_, parent, pw) in parents {
                let mut merged = w.clone();
                merged.extend(pw.iter().cloned());
                rules.push((parent.clone(), merged));
            }
        }
        for (s, mut w) in expanded {
            w.sort();
            w.dedup();
            index
                .files
                .entry(file.clone())
                .or_default()
                .insert(BuildRule { set: s, symbols: w });
        }
    }
    Ok(index)
}

// === C sources ===

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

// === MAINTAINERS ===

struct Section {
    title: String,
    status: Option<String>,
    patterns: Vec<(GlobMatcher, usize)>,
    excludes: Vec<GlobMatcher>,
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

fn parse_maintainers(text: &str) -> Vec<Section> {
    let mut sections = Vec::new();
    for block in text.split("\n\n") {
        let mut title = None;
        let mut status = None;
        let mut patterns = Vec::new();
        let mut excludes = Vec::new();
        for line in block.lines() {
            if line.starts_with("---") || line.starts_with("===") {
                continue;
            }
            let tagged = line.len() > 2
                && line.as_bytes()[1] == b':'
                && line.as_bytes()[0].is_ascii_uppercase();
            if !tagged {
                if title.is_none() && !line.trim().is_empty() {
                    title = Some(line.trim().to_string());
                }
                continue;
            }
            let value = line[2..].trim();
            match &line[..1] {
                "S" => status = Some(value.to_string()),
                "F" => {
                    if let Some(m) = pattern_matcher(value) {
                        patterns.push((m, value.len()));
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
            });
        }
    }
    sections
}

fn maintainers_of(path: &str, sections: &[Section]) -> Vec<Maintainers> {
    let mut hits: Vec<(usize, &Section)> = sections
        .iter()
        .filter(|s| !s.excludes.iter().any(|x| x.is_match(path)))
        .filter_map(|s| {
            s.patterns
                .iter()
                .filter(|(g, _)| g.is_match(path))
                .map(|(_, len)| *len)
                .max()
                .map(|len| (len, s))
        })
        .collect();
    hits.sort_by_key(|h| std::cmp::Reverse(h.0));
    hits.into_iter()
        .take(3)
        .map(|(_, s)| Maintainers {
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
    let doc = parse_security_rst(security_rst)?;
    let version = read(&qemu_src.join("VERSION"))?.trim().to_string();
    let maintainers = parse_maintainers(&read(&qemu_src.join("MAINTAINERS"))?);

    let mut all_files = Vec::new();
    walk(qemu_src, qemu_src, &mut all_files)?;

    // Target name (x86_64) -> base architecture (i386), from configs/targets.
    let mut base_arch: BTreeMap<String, String> = BTreeMap::new();
    for p in &all_files {
        let r = rel(qemu_src, p);
        if let Some(name) = r
            .strip_prefix("configs/targets/")
            .and_then(|n| n.strip_suffix("-softmmu.mak"))
        {
            let text = read(p)?;
            let base = text
                .lines()
                .find_map(|l| l.strip_prefix("TARGET_BASE_ARCH="))
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
    let mut host_env: BTreeSet<String> = BTreeSet::new();
    if let Some(start) = top_meson.find("host_kconfig =") {
        let block = &top_meson[start..];
        let end = block.find("\n\n").unwrap_or(block.len());
        static SYM: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"'CONFIG_(\w+)=y'").unwrap());
        host_env.extend(
            SYM.captures_iter(&block[..end])
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
    let meson = parse_meson_tree(qemu_src, &meson_files)?;

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
    let mut qom_types: BTreeMap<String, String> = BTreeMap::new();
    let mut file_types: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut machines_by_file: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for path in meson.files.keys() {
        if !path.ends_with(".c") {
            continue;
        }
        let Ok(text) = std::fs::read(qemu_src.join(path)) else {
            continue;
        };
        let text = String::from_utf8_lossy(&text);
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
        }
    }

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
    let mut boards: BTreeSet<String> = BTreeSet::new();
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

    // Resolve each listed machine to its defining file and Kconfig symbol.
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
        let in_arch_dir = |f: &str| f.starts_with(&format!("hw/{dir}/"));
        // Outside the architecture's directory only a machine name defined once is trusted (`xenpv`).
        let defined_once = machines_by_file
            .values()
            .filter(|names| names.iter().any(|n| n == machine))
            .count()
            == 1;
        let outside_arch_dirs = |f: &str| defined_once && f.starts_with("hw/");
        let find = |pred: &dyn Fn(&str) -> bool| {
            machines_by_file
                .iter()
                .find(|(f, names)| pred(f) && names.iter().any(|n| n == machine))
                .map(|(f, names)| (f.clone(), names.clone()))
        };
        let found = find(&in_arch_dir).or_else(|| find(&outside_arch_dirs));
        let (file, aliases, symbol) = match found {
            Some((file, names)) => {
                let syms = symbols_of(&file);
                let symbol = syms
                    .iter()
                    .find(|s| symbols.contains_key(*s) && !host_env.contains(*s))
                    .or_else(|| syms.iter().find(|s| symbols.contains_key(*s)))
                    .cloned();
                // Versioned families (`pc-q35`) defined in the same file are the machine's other names.
                let aliases = names
                    .into_iter()
                    .filter(|n| {
                        n != machine
                            && (n.contains(machine.as_str())
                                || machine == "pc" && n.starts_with("pc-i440fx"))
                    })
                    .collect();
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

    // Closures: one per listed machine (with the target's own symbols), one per other board.
    let arch_env = |arch: &str| -> BTreeSet<String> {
        let mut env = host_env.clone();
        env.insert(arch.to_ascii_uppercase());
        env
    };
    let mut listed_closures = Vec::new();
    for m in listed.iter().filter(|m| m.symbol.is_some()) {
        let root = m.symbol.clone().unwrap_or_default();
        let env = arch_env(&m.arch);
        listed_closures.push((
            format!("{}/{}", m.arch, m.machine),
            m.file
                .as_deref()
                .and_then(|f| f.split('/').nth(1))
                .unwrap_or_default()
                .to_string(),
            closure(&root, &env, &symbols, &boards, true),
            env,
        ));
    }
    let listed_symbols: BTreeSet<String> = listed.iter().filter_map(|m| m.symbol.clone()).collect();
    let mut board_closures = Vec::new();
    for b in boards.iter().filter(|b| !listed_symbols.contains(*b)) {
        let c = closure(b, &BTreeSet::new(), &symbols, &boards, false);
        let name = board_names
            .get(b)
            .and_then(|n| n.first().cloned())
            .unwrap_or_else(|| b.to_ascii_lowercase());
        board_closures.push((name, b.clone(), c));
    }

    let mut other_machines = BTreeMap::new();
    for (file, names) in &machines_by_file {
        for n in names {
            if !listed
                .iter()
                .any(|m| &m.machine == n || m.aliases.contains(n))
            {
                other_machines
                    .entry(n.clone())
                    .or_insert_with(|| file.clone());
            }
        }
    }

    let mut files = BTreeMap::new();
    for (path, rules) in &meson.files {
        if !(path.ends_with(".c") || path.ends_with(".rs")) || !qemu_src.join(path).exists() {
            continue;
        }
        let user_only = rules.iter().all(|r| {
            r.set.contains("user")
                || r.symbols
                    .iter()
                    .any(|s| s.ends_with("_USER") || s == "USER_ONLY")
        });
        let tcg_only = rules
            .iter()
            .all(|r| r.set.contains("tcg") || r.symbols.iter().any(|s| s == "TCG"));

        // Best reach per listed machine: every symbol of a rule must be in the closure.
        let mut reaches = Vec::new();
        let mut common = false;
        for (name, dir, clos, _env) in &listed_closures {
            let mut best: Option<(Reach, Vec<String>)> = None;
            for rule in rules {
                if let Some(arch) = set_arch(&rule.set, &base_dirs) {
                    if arch != *dir {
                        continue;
                    }
                }
                if rule.set.contains("user")
                    || rule
                        .symbols
                        .iter()
                        .any(|s| s == "TCG" || s.ends_with("_USER") || s == "USER_ONLY")
                {
                    continue;
                }
                if rule.symbols.is_empty() {
                    common = true;
                    continue;
                }
                let mut worst: Option<(Reach, Vec<String>)> = Some((Reach::Selected, Vec::new()));
                for s in &rule.symbols {
                    match (clos.get(s), &worst) {
                        (Some((r, c)), Some((wr, wc))) => {
                            // The chain shown is the weakest link's; host features (`[SYSTEM_ONLY]`) explain nothing.
                            let env_chain = c.first().is_some_and(|x| x.starts_with('['));
                            if *r > *wr
                                || (*r == *wr
                                    && !env_chain
                                    && (wc.is_empty() || wc[0].starts_with('[')))
                            {
                                worst = Some((*r, c.clone()));
                            }
                        }
                        _ => {
                            worst = None;
                            break;
                        }
                    }
                }
                if let Some((r, c)) = worst {
                    if best
                        .as_ref()
                        .is_none_or(|(br, bc)| r < *br || (r == *br && c.len() < bc.len()))
                    {
                        best = Some((r, c));
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
        let file_symbols = symbols_of(path);
        let other_boards: Vec<String> = board_closures
            .iter()
            .filter(|(_, _, c)| file_symbols.iter().any(|s| c.contains_key(s)))
            .map(|(name, _, _)| name.clone())
            .take(MAX_OTHER_BOARDS)
            .collect();
        // A user-pluggable (PCI/USB) device that another board of the same target
        // builds is compiled into the same qemu-system binary, so `-device` can
        // plug it into the listed machine too.
        if !user_only && !tcg_only && !common && path.starts_with("hw/") {
            let pluggable_bus = std::fs::read(qemu_src.join(path))
                .map(|b| {
                    let t = String::from_utf8_lossy(&b);
                    PLUGGABLE_PARENTS.iter().any(|p| t.contains(p))
                })
                .unwrap_or(false);
            if pluggable_bus {
                for (name, dir, _, _) in &listed_closures {
                    if reaches.iter().any(|r| &r.machine == name) {
                        continue;
                    }
                    let same_binary = board_closures.iter().find(|(_, b, c)| {
                        symbols.get(b).is_some_and(|k| k.dir == format!("hw/{dir}"))
                            && file_symbols.iter().any(|s| c.contains_key(s))
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
        let (class, reason) = if user_only {
            (
                UseCase::NonVirtualization,
                "built only for user-mode emulation".to_string(),
            )
        } else if tcg_only {
            (
                UseCase::NonVirtualization,
                "built only with CONFIG_TCG, so it runs only under TCG".to_string(),
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
                    "built for every system-emulation target, so the listed machine types run it".to_string(),
                ),
                Some(Reach::Pluggable) if !other_boards.is_empty() => (
                    UseCase::NeedsJudgement,
                    "only pluggable into listed machine types, and built into unlisted boards: security.rst lists machine types, not devices".to_string(),
                ),
                Some(Reach::Pluggable) => (
                    UseCase::Virtualization,
                    "a user-pluggable device of listed machine types, tied to no other board".to_string(),
                ),
                None if !other_boards.is_empty() => (
                    UseCase::NonVirtualization,
                    "only unlisted machine types build it".to_string(),
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
                if r.symbols.is_empty() {
                    r.set.clone()
                } else {
                    format!(
                        "{}: {}",
                        r.set,
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
                class,
                reason,
            },
        );
    }

    apply_board_references(qemu_src, &base_dirs, &qom_types, &type_macros, &mut files);
    let functions = function_index(qemu_src, &files);

    Ok(KbData {
        format_version: super::FORMAT_VERSION,
        qemu_version: version,
        security_rst_sha256: hex(&Sha256::digest(security_rst.as_bytes())),
        virtualization_accels: doc.virtualization_accels,
        non_virtualization_accels: doc.non_virtualization_accels,
        listed_machines: listed,
        other_machines,
        qom_types,
        functions,
        files,
    })
}

/// Function name to the one file, among those the knowledge base classifies,
/// that defines it. Names defined in several of them are left out: a name that
/// could mean two files is no evidence for either. (Files the KB does not
/// classify, such as per-target `linux-user/*/cpu_loop.c`, are not scanned.)
fn function_index(
    qemu_src: &Path,
    files: &BTreeMap<String, FileFacts>,
) -> BTreeMap<String, String> {
    let mut seen: BTreeMap<String, Option<String>> = BTreeMap::new();
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
    seen.into_iter()
        .filter_map(|(name, path)| path.map(|p| (name, p)))
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
            || matches!(best, Some(Reach::Selected) | Some(Reach::Implied))
            || facts.reason.starts_with("built only")
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

/// The architecture directory a source set belongs to (`arm_ss` → `arm`), if any.
fn set_arch(set: &str, base_dirs: &BTreeSet<String>) -> Option<String> {
    let stem = set.strip_suffix("_ss")?;
    let arch = stem.split('_').next()?;
    base_dirs.contains(arch).then(|| arch.to_string())
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
