//! The triage core: from one disclosure to an evidence-backed suggestion.
//!
//! Pure: no IO, no clock, no network. [`analyze`] runs the deterministic
//! layers (hygiene, provenance, locator, knowledge base) and proposes a
//! verdict; [`decide`] combines it with an optional LLM opinion under the
//! asymmetric policy (a wrong *non-virtualization* can make a live
//! vulnerability public, so that answer needs deterministic evidence or
//! agreement). The LLM call itself lives in [`crate::llm`].

pub mod decide;
pub mod embargo;
pub mod fingerprint;
pub mod hygiene;
pub mod locate;
pub mod provenance;
pub mod signals;
pub mod structure;

use serde::{Deserialize, Serialize};

pub use crate::kb::UseCase;
use crate::kb::{Finding, Kb};
pub use decide::{decide, LlmFailure, LlmOpinion, LlmOutcome, Suggestion};
pub use embargo::{EmbargoKind, EmbargoRequest};
pub use fingerprint::{Fingerprint, Similarity};
pub use hygiene::{InputError, InputWarning, InputWarningCode, Limits, Sanitized};
pub use locate::{Frame, Locations};
pub use provenance::Provenance;
pub use signals::{InjectionSignals, SecuritySignals};

/// Version of the deterministic engine, recorded in every suggestion.
pub const ENGINE_VERSION: &str = concat!("sectriage-", env!("CARGO_PKG_VERSION"));

/// One disclosure as the engine sees it: untrusted title and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub title: String,
    pub body: String,
}

impl Report {
    /// The text the detectors read: the title as the first line, then the body.
    pub fn text(&self) -> String {
        if self.title.is_empty() {
            self.body.clone()
        } else {
            format!("{}\n\n{}", self.title, self.body)
        }
    }
}

/// How sure a verdict is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl Confidence {
    /// A number for thresholds and curves (0.3 / 0.6 / 0.9).
    pub fn score(self) -> f64 {
        match self {
            Confidence::Low => 0.3,
            Confidence::Medium => 0.6,
            Confidence::High => 0.9,
        }
    }
}

/// Where a component was found in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// Named in the title (commit-style `hw/net/e1000e:` prefix or a path).
    Title,
    /// The innermost QEMU frame of a stack trace.
    Frame,
    /// A path named in the text.
    Path,
    /// A function named in prose and found in the knowledge base's function index.
    Function,
    /// A `-device` on the command line.
    Device,
    /// A standalone tool or user-mode binary.
    Tool,
    /// A disk image format.
    Format,
    /// A `-netdev` backend.
    Netdev,
    /// A monitor command.
    Monitor,
    /// Described in prose only (no path, frame or function): weakest evidence.
    Prose,
}

/// A piece of QEMU the report points at, with what the knowledge base says about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Component {
    pub role: Role,
    pub finding: Finding,
}

/// The deterministic layers' own verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RulesVerdict {
    pub use_case: UseCase,
    pub confidence: Confidence,
    /// True when the evidence alone settles the use case (e.g. TCG-only code,
    /// a board-only device, an unlisted machine): enough to suggest non-virtualization.
    pub decisive: bool,
    /// One sentence naming the evidence.
    pub basis: String,
}

/// Everything the deterministic layers found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub provenance: Provenance,
    pub locations: Locations,
    /// Components in order of weight; the first is the primary one.
    pub components: Vec<Component>,
    /// Machine types named on the command line, classified.
    pub machines: Vec<Finding>,
    /// Accelerators named on the command line (or, failing that, in prose), classified.
    pub accels: Vec<Finding>,
    pub injection: InjectionSignals,
    pub security: SecuritySignals,
    pub rules: RulesVerdict,
    /// Invalid UTF-8 sequences replaced while decoding.
    pub invalid_utf8_sequences: usize,
    /// The reporter's request for an embargo, a disclosure date, coordinated
    /// disclosure or a deadline, if any (security-process.md, Embargo policy).
    #[serde(default)]
    pub embargo: Option<EmbargoRequest>,
    /// What identifies the bug, for spotting likely duplicates.
    #[serde(default)]
    pub fingerprint: Fingerprint,
}

/// Functions and files that belong to infrastructure every device uses; a
/// trace's first frame in one of them says little about the affected component.
fn is_infrastructure(function: &str, file: Option<&str>) -> bool {
    const INFRA_FILES: &[&str] = &[
        "util/",
        "system/memory.c",
        "softmmu/memory.c",
        "system/physmem.c",
        "softmmu/physmem.c",
        "system/dma-helpers.c",
        "system/cpus.c",
        "cpu-common.c",
        "hw/core/cpu-common.c",
        "accel/kvm/kvm-all.c",
        "include/",
        "qom/",
        "hw/core/qdev.c",
        "system/vl.c",
        "system/main.c",
        "softmmu/vl.c",
        "hw/pci/pci.c",
        "hw/pci/pci_host.c",
        "hw/pci/pcie_host.c",
        "hw/pci/msix.c",
        "hw/pci/msi.c",
    ];
    const INFRA_PREFIXES: &[&str] = &[
        "__",
        "_start",
        "main",
        "g_",
        "qemu_",
        "memory_region_",
        "address_space_",
        "flatview_",
        "aio_",
        "coroutine_",
        "object_",
        "qdev_",
        "dma_",
        "pci_dma",
        "pci_default",
        "kvm_cpu_exec",
        "kvm_vcpu",
        // TCG's execution loop: the caller of every guest access under TCG,
        // as kvm_cpu_exec is under KVM (the bug is in what it runs).
        "cpu_exec",
        "cpu_tb_exec",
        "cpu_loop_exec_tb",
        "tcg_qemu_tb_exec",
        "code_gen_buffer",
        "tcg_cpu_exec",
        "rr_cpu_thread_fn",
        "mttcg_cpu_thread_fn",
        "start_thread",
        "clone",
        "abort",
        // Error reporting: where the emulator gives up, not where the bug is.
        "cpu_abort",
        "hw_error",
        "error_report",
        "error_setg",
        "warn_report",
        "assert",
        "raise",
        "malloc",
        "free",
        "memcpy",
        "memset",
        "memmove",
        "strcpy",
        "asan_",
        "__asan",
        "__interceptor",
        "__ubsan",
        "ubsan_",
        "bh_",
        "timerlist_",
        "glib_",
        "os_host_main_loop",
        "main_loop",
        "qemu_main",
        "qemu_default_main",
        "cpu_physical_memory",
        "stl_",
        "stw_",
        "stb_",
        "ldl_",
        "ldq_",
        "ldub_",
        "lduw_",
        "unassigned_",
        "io_writex",
        "io_readx",
        "do_st",
        "do_ld",
        "helper_",
    ];
    if let Some(f) = file {
        if INFRA_FILES.iter().any(|p| f.starts_with(p)) {
            return true;
        }
        // `helper_*` in accel/tcg is the memory-access glue every TCG guest goes
        // through; in target/ it is the instruction helper the bug is in.
        if f.starts_with("target/") && function.starts_with("helper_") {
            return false;
        }
    }
    INFRA_PREFIXES.iter().any(|p| function.starts_with(p))
}

/// What the innermost frame that is not shared infrastructure points at. A frame
/// with a file name not in the knowledge base lets the next one speak. In a
/// trace without any file names, frames are looked up in the function index and
/// the walk stops at the first that is not infrastructure, found or not: an outer
/// frame (the TCG loop, the memory core) is not the bug. In a trace with file
/// names, a nameless frame (JIT code, a stripped library) is skipped.
fn innermost_frame(frames: &[Frame], kb: &Kb) -> Option<Finding> {
    let nameless_trace = frames.iter().all(|f| f.file.is_none());
    for frame in frames {
        match frame.file.as_deref() {
            Some(file) => {
                if is_infrastructure(&frame.function, Some(file)) {
                    continue;
                }
                if let Some(finding) = structure::path(kb, file) {
                    return Some(finding);
                }
            }
            None => {
                let finding = function_lookup(&frame.function, kb);
                let file = finding.as_ref().and_then(|f| f.file.as_deref());
                if is_infrastructure(&frame.function, file) {
                    continue;
                }
                if finding.is_some() || nameless_trace {
                    return finding;
                }
            }
        }
    }
    None
}

/// Every frame of the trace that is not shared infrastructure, innermost first,
/// as the knowledge base places it. The innermost speaks for the bug; the
/// others can still contradict a non-virtualization reading (a device handler
/// below a TCG loop frame is still the device).
fn trace_findings(frames: &[Frame], kb: &Kb) -> Vec<Finding> {
    frames
        .iter()
        .filter_map(|frame| {
            let finding = match frame.file.as_deref() {
                Some(file) => structure::path(kb, file),
                None => function_lookup(&frame.function, kb),
            }?;
            (!is_infrastructure(&frame.function, finding.file.as_deref())).then_some(finding)
        })
        .collect()
}

/// A name specific enough to stand for one file: snake_case with an underscore
/// and at least six characters (`xhci_kick_epctx`, not `stop` or `disas`).
fn is_distinctive_function(name: &str) -> bool {
    name.len() >= 6 && name.contains('_') && name.chars().any(|c| c.is_ascii_lowercase())
}

/// The file defining `function` (structural rules applied), or the overlay's
/// entry for a function of a component outside the tree (libslirp).
fn function_lookup(function: &str, kb: &Kb) -> Option<Finding> {
    structure::tcg_function(kb, function)
        .or_else(|| kb.function(function).map(|f| structure::refine(kb, f)))
        .or_else(|| {
            kb.overlay
                .find(&crate::kb::OverlayMatch::Function(function.to_string()))
        })
}

/// The file defining `function`, unless it is shared infrastructure.
fn function_finding(function: &str, kb: &Kb) -> Option<Finding> {
    function_lookup(function, kb).filter(|f| {
        f.surface.as_deref() == Some(structure::TCG_FUNCTION.surface)
            || !is_infrastructure(function, f.file.as_deref())
    })
}

/// Component names from a commit-style title: `hw/net/e1000e: ...`, `net: tulip: ...`.
fn title_components(title: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = title.trim();
    // Bracketed tags such as "[LLM-found]" come first in some titles.
    while let Some(stripped) = rest.strip_prefix('[') {
        match stripped.find(']') {
            Some(end) => rest = stripped[end + 1..].trim_start(),
            None => break,
        }
    }
    for _ in 0..3 {
        let Some((head, tail)) = rest.split_once(':') else {
            break;
        };
        let head = head.trim();
        if head.is_empty() || head.contains(' ') || head.len() > 60 {
            break;
        }
        // `TCG:` tags the accelerator the reporter ran, as `-accel tcg` does;
        // it places no code (`tcg/optimize:` names the directory's file).
        if head.eq_ignore_ascii_case("tcg") {
            rest = tail.trim_start();
            continue;
        }
        // Old commit subjects write `target-ppc:` for `target/ppc:`.
        match head.strip_prefix("target-") {
            Some(arch) if !arch.is_empty() => out.push(format!("target/{arch}")),
            _ => out.push(head.to_string()),
        }
        rest = tail.trim_start();
    }
    out
}

/// The first of `files` (structural rules applied) when every one of them has
/// the same class; `None` when they disagree or there are none.
fn same_class(kb: &Kb, files: Vec<&str>) -> Option<Finding> {
    let findings: Vec<Finding> = files
        .iter()
        .filter_map(|f| structure::path(kb, f))
        .collect();
    let first = findings.first()?;
    findings
        .iter()
        .all(|f| f.class == first.class)
        .then(|| first.clone())
}

/// Top directories of host-side subsystems whose files a title may name by stem.
const HOST_SIDE_DIRS: &[&str] = &["block", "net", "ui", "chardev", "nbd", "migration", "io"];
/// A file stem no directory has, to tell a directory-wide overlay glob from a named file.
const NO_SUCH_STEM: &str = "sectriage-no-such-file";

/// Runs the deterministic layers on a sanitised report.
pub fn analyze(report: &Report, kb: &Kb) -> Evidence {
    analyze_with(&report.text(), kb, 0, &[])
}

/// Where a report's title is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Title<'a> {
    /// Given apart from the body, as a GitLab issue's title is; empty means the
    /// report has no title, and no line of the body is taken for one.
    Given(&'a str),
    /// The body's first line (plain text, labelled cases).
    FirstLine,
}

/// The text the detectors (and the model) read: the title as the first line, a blank
/// line, then the body. An untitled issue keeps the empty title line, so line numbers
/// and the title-only detectors (commit-style prefixes, bracketed tags) mean the same
/// as for a titled one.
pub fn report_text(title: Title<'_>, body: &str) -> String {
    match title {
        Title::FirstLine => body.to_string(),
        Title::Given(t) => format!("{t}\n\n{body}"),
    }
}

/// [`analyze`], with what input hygiene already found.
pub fn analyze_sanitized(title: Title<'_>, sanitized: &Sanitized, kb: &Kb) -> Evidence {
    analyze_with(
        &report_text(title, &sanitized.text),
        kb,
        sanitized.invalid_utf8_sequences,
        &sanitized.stripped,
    )
}

fn analyze_with(
    text: &str,
    kb: &Kb,
    invalid_utf8_sequences: usize,
    stripped: &[hygiene::Stripped],
) -> Evidence {
    let title = text.lines().next().unwrap_or("");
    let provenance = provenance::detect(text);
    let locations = locate::locate(text);
    let injection = signals::injection(text, stripped);
    let security = signals::security(text);
    let embargo = embargo::detect(text);

    let mut components: Vec<Component> = Vec::new();
    // How many components are placed so far, readable while `push` holds them.
    let placed = std::cell::Cell::new(0usize);
    let mut push = |role: Role, finding: Option<Finding>| {
        if let Some(finding) = finding {
            let same = |c: &Component| {
                c.finding.subject == finding.subject
                    || (c.finding.file.is_some() && c.finding.file == finding.file)
            };
            if !components.iter().any(same) {
                components.push(Component { role, finding });
                placed.set(components.len());
            }
        }
    };

    let mut title_dir = None;
    let mut prose_dir = None;
    // 1. The title names the component in commit-style and most disclosure titles;
    //    the most specific prefix (`net: tulip:` → tulip) speaks first.
    // A more specific prefix that named nothing known (`net: imx:`) leaves a
    // subsystem prefix (`net`) a directory, not the file that shares its stem.
    push(Role::Title, structure::toolchain_title(title));
    let mut specific_unresolved = false;
    for name in title_components(title).iter().rev() {
        // `PPC:` or `x86:` names the CPU directory, not a file sharing the
        // architecture's name (`hw/ppc/ppc.c`).
        let arch_dir = structure::arch_prefix(kb, name);
        let name = arch_dir.as_ref().unwrap_or(name);
        let overlay_path = |p: &str| {
            kb.overlay
                .find(&crate::kb::OverlayMatch::Path(p.to_string()))
        };
        let is_dir = |d: &str| {
            kb.data
                .files
                .keys()
                .any(|k| k.starts_with(&format!("{d}/")))
        };
        // `target/arm:` names a directory that mixes TCG-only and KVM-shared
        // code: only the structural rules (and the report's words) place it.
        if name.starts_with("target/") {
            let file = kb
                .resolve_component(name)
                .filter(|p| p.starts_with(name.as_str()))
                .and_then(|p| structure::path(kb, &p));
            if file.is_some() {
                push(Role::Title, file);
                break;
            }
            // A subdirectory (`target/riscv/kvm`, `target/arm/tcg`) is one kind of code.
            if title_dir.is_none() && name.matches('/').count() >= 2 {
                title_dir = kb.directory(name).map(|f| structure::refine(kb, f));
            }
            if title_dir.is_none() && prose_dir.is_none() {
                match structure::target_directory(kb, name, text) {
                    // The directory itself decides (an unlisted architecture).
                    Some((f, false)) => title_dir = Some(f),
                    // The report's words decide: weak evidence.
                    Some((f, true)) => prose_dir = Some(f),
                    None => {}
                }
            }
            continue;
        }
        // `usb` is hw/usb/, `migration` is migration/: the top directory first.
        let subsystem_dir_of = |name: &str| {
            is_dir(name)
                .then(|| kb.directory(name))
                .flatten()
                .or_else(|| kb.directory(&format!("hw/{name}")))
                .or_else(|| kb.named_directory(name))
        };
        let subsystem_dir = !name.contains('/') && (is_dir(name) || is_dir(&format!("hw/{name}")));
        if specific_unresolved && subsystem_dir {
            // `net:` is both net/ and hw/net/: ambiguous, it places nothing.
            let ambiguous = is_dir(name) && is_dir(&format!("hw/{name}"));
            if title_dir.is_none() && !ambiguous {
                title_dir = subsystem_dir_of(name);
            }
            continue;
        }
        let finding = kb
            .overlay
            .find(&crate::kb::OverlayMatch::Tool(name.clone()))
            .or_else(|| {
                // `hw/rdma` must not land on `migration/rdma.c` through its stem.
                let dir = name.rsplit_once('/').map(|(d, _)| d);
                kb.resolve_component(name)
                    .filter(|p| dir.is_none_or(|d| p.starts_with(d)))
                    .and_then(|p| structure::path(kb, &p))
            })
            .or_else(|| kb.device(name).map(|f| structure::refine(kb, f)))
            .or_else(|| overlay_path(name))
            .or_else(|| {
                kb.overlay
                    .find(&crate::kb::OverlayMatch::Function(name.clone()))
            })
            .or_else(|| {
                name.contains('/')
                    .then(|| structure::path(kb, name))
                    .flatten()
            })
            .or_else(|| {
                // `aspeed/smc:` or `npcm7xx/adc:` stands for `aspeed_smc.c` or `npcm7xx-adc.c`.
                let (head, tail) = name.split_once('/')?;
                if is_dir(head) || tail.contains('/') {
                    return None;
                }
                ["_", "-"].iter().find_map(|sep| {
                    kb.resolve_component(&format!("{head}{sep}{tail}"))
                        .and_then(|p| structure::path(kb, &p))
                })
            })
            .or_else(|| {
                // A bare subsystem name (`iscsi:`, `ssh:`) is a file of a host-side
                // top directory the overlay describes (`block/iscsi.c`).
                if name.contains('/') {
                    return None;
                }
                HOST_SIDE_DIRS.iter().find_map(|d| {
                    let find = |file: String| {
                        kb.overlay
                            .find(&crate::kb::OverlayMatch::Path(file))
                            .map(|f| (f.facts.first().map(|x| x.text.clone()), f))
                    };
                    let (entry, mut f) = find(format!("{d}/{name}.c"))?;
                    // Only an entry that names this file, not one covering the whole directory.
                    if find(format!("{d}/{NO_SUCH_STEM}.c")).is_some_and(|(e, _)| e == entry) {
                        return None;
                    }
                    f.file = Some(format!("{d}/{name}.c"));
                    Some(f)
                })
            })
            .or_else(|| {
                // `cirrus:` stands for the cirrus_vga*.c family when all of it is one
                // class; `msf2-mac:` (no such file) for the msf2-* family likewise.
                // A directory's name (`hyperv:` is hw/hyperv/) is that directory,
                // not the one file whose stem starts with it (hyperv_testdev.c).
                if name.contains('/') || name.len() < 3 || subsystem_dir {
                    return None;
                }
                same_class(kb, kb.hw_files_with_stem_prefix(name)).or_else(|| {
                    let (head, _) = name.split_once(['-', '_'])?;
                    (head.len() >= 3 && !is_dir(head) && !is_dir(&format!("hw/{head}")))
                        .then(|| same_class(kb, kb.hw_files_with_stem_prefix(head)))
                        .flatten()
                })
            });
        if finding.is_some() {
            push(Role::Title, finding);
            break;
        }
        specific_unresolved = true;
        // A subsystem directory (`usb:`, `9pfs:`) is weaker than any file the report names.
        if title_dir.is_none() {
            title_dir = subsystem_dir_of(name);
        }
    }
    for f in locations
        .files
        .iter()
        .filter(|f| title.contains(f.path.as_str()))
    {
        push(Role::Title, structure::path(kb, &f.path));
    }
    // A function the title names (`... in tcg_commit`) is more specific than
    // the subsystem directory its prefix names, and than files merely mentioned;
    // it is tried whenever nothing so far is placed (a title path the
    // knowledge base does not know places nothing).
    if placed.get() == 0 {
        for name in locate::title_functions(title) {
            push(Role::Title, function_finding(&name, kb));
        }
    }
    // 2. The innermost frame that is not shared infrastructure.
    push(Role::Frame, innermost_frame(&locations.frames, kb));
    // 3. Paths, most-mentioned first.
    let mut files = locations.files.clone();
    files.sort_by_key(|f| std::cmp::Reverse(f.mentions));
    // A file named only in frames that are infrastructure (the TCG loop in
    // accel/tcg/cpu-exec.c) is not a component either.
    files.retain(|f| {
        let infra_frames = locations
            .frames
            .iter()
            .filter(|fr| fr.file.as_deref() == Some(f.path.as_str()))
            .filter(|fr| is_infrastructure(&fr.function, fr.file.as_deref()))
            .count();
        infra_frames == 0 || f.mentions > infra_frames
    });
    for f in &files {
        let finding = structure::path(kb, &f.path).or_else(|| {
            // A header or an unknown file still points at its sibling .c file,
            // in its own directory tree (`hw/net` is a directory, not `net/net.c`).
            let stem = f.path.strip_suffix(".h").unwrap_or(&f.path);
            let dir = stem
                .rsplit_once('/')
                .map(|(d, _)| d.strip_prefix("include/").unwrap_or(d));
            kb.resolve_component(stem)
                .filter(|p| dir.is_none_or(|d| p.starts_with(d)) && p != stem)
                .and_then(|p| structure::path(kb, &p))
                .or_else(|| kb.directory(stem).map(|d| structure::refine(kb, d)))
        });
        push(Role::Path, finding);
    }
    // File names without a directory (`seg_helper.c`): the file when the tree
    // has one of that name, or several that all have the same class.
    for name in &locations.bare_files {
        push(Role::Path, same_class(kb, kb.files_named(name)));
    }
    push(Role::Title, title_dir);
    push(Role::Prose, prose_dir);
    // 4. Tools, devices, formats, netdevs, monitor commands.
    for t in &locations.tools {
        push(
            Role::Tool,
            kb.overlay.find(&crate::kb::OverlayMatch::Tool(t.clone())),
        );
    }
    for d in &locations.command_line.devices {
        push(Role::Device, kb.device(d).map(|f| structure::refine(kb, f)));
    }
    for f in &locations.command_line.drive_formats {
        push(
            Role::Format,
            kb.overlay.find(&crate::kb::OverlayMatch::Format(f.clone())),
        );
    }
    for m in &locations.monitor_commands {
        push(
            Role::Monitor,
            kb.overlay
                .find(&crate::kb::OverlayMatch::Monitor(m.clone())),
        );
    }
    // 5. Last and weakest: functions named in prose (`page_set_flags()`), through the
    //    function index. Only distinctive names: `stop()` or `disas()` say nothing.
    //    Frames' functions were weighed above.
    for name in locations.functions.iter().filter(|n| {
        is_distinctive_function(n) && !locations.frames.iter().any(|f| &f.function == *n)
    }) {
        push(Role::Function, function_finding(name, kb));
    }
    // Then identifiers written without parentheses (`bootp_reply copies ...`),
    // when the tree (or the overlay, for code beside it) defines a function of
    // that name: commit messages name the function they fix either way.
    // A word is weaker than a call: it never makes anything non-virtualization
    // on its own (that is the dangerous direction).
    if placed.get() == 0 {
        for name in locate::identifiers(text) {
            if !locations.functions.contains(&name) {
                push(
                    Role::Function,
                    function_finding(&name, kb).filter(|f| f.class != UseCase::NonVirtualization),
                );
            }
        }
    }
    // 6. A `-netdev` backend (user networking is slirp): weaker than any code named.
    for n in &locations.command_line.netdevs {
        push(
            Role::Netdev,
            kb.overlay.find(&crate::kb::OverlayMatch::Netdev(n.clone())),
        );
    }
    // 7. Nothing located: components named in prose only, then prose that
    //    describes CPU instruction emulation.
    if components.is_empty() {
        for finding in structure::prose_components(kb, text) {
            components.push(Component {
                role: Role::Prose,
                finding,
            });
        }
    }
    if components.is_empty() {
        if let Some(finding) = structure::prose_instruction_emulation(text) {
            components.push(Component {
                role: Role::Prose,
                finding,
            });
        }
    }

    let machines: Vec<Finding> = locations
        .command_line
        .machines
        .iter()
        // A machine name means a listed machine only with its target (`virt` on m68k is not).
        .map(|m| kb.machine_on(&locations.command_line.system_targets, m))
        .collect();
    // Without `-M`, binaries of targets with no listed machine type say as much
    // (all of them: one listed target among them leaves the machine open).
    let machines = if machines.is_empty() {
        locations
            .command_line
            .system_targets
            .iter()
            .map(|t| kb.unlisted_system_target(t))
            .collect::<Option<Vec<_>>>()
            .unwrap_or_default()
    } else {
        machines
    };
    let accel_names = if locations.command_line.accels.is_empty() {
        &locations.accels_in_prose
    } else {
        &locations.command_line.accels
    };
    let accels: Vec<Finding> = accel_names.iter().filter_map(|a| kb.accel(a)).collect();

    let trace = trace_findings(&locations.frames, kb);
    let mut mentioned = structure::virtualization_mentions(kb, text);
    // Functions written without parentheses (`megasas_handle_frame trusts
    // frame_count`) that the tree defines in virtualization code.
    for name in locate::identifiers(text)
        .into_iter()
        .filter(|n| !locations.frames.iter().any(|f| &f.function == n))
    {
        if let Some(f) = function_finding(&name, kb).filter(|f| {
            f.class == UseCase::Virtualization
                && !is_infrastructure(&name, f.file.as_deref())
                && !mentioned.0.iter().any(|m| m.subject == f.subject)
        }) {
            mentioned.0.push(f);
        }
    }
    let prose_nv_unsupported = structure::device_language(text);
    // Device paths the knowledge base cannot place (an old flat `hw/fdc.c`, a
    // header, a subproject): code of unknown class, named by the reporter.
    let unplaced: Vec<String> = locations
        .files
        .iter()
        .map(|f| f.path.as_str())
        .filter(|p| {
            ["hw/", "include/hw/", "subprojects/"]
                .iter()
                .any(|d| p.starts_with(d))
                && p.rsplit('/').next().is_some_and(|name| name.contains('.'))
                && !components
                    .iter()
                    .any(|c| c.finding.file.as_deref() == Some(p))
                && structure::path(kb, p).is_none()
        })
        .map(str::to_string)
        .collect();
    let rules = rules_verdict(
        &components,
        &Elsewhere {
            trace: &trace,
            devices: &mentioned.0,
            machines: &mentioned.1,
            unplaced: &unplaced,
            device_language: prose_nv_unsupported,
            title,
        },
        &machines,
        &accels,
        &locations,
    );
    let fingerprint = fingerprint::compute(title, text, &locations, &components, kb);
    Evidence {
        provenance,
        locations,
        components,
        machines,
        accels,
        injection,
        security,
        rules,
        invalid_utf8_sequences,
        embargo,
        fingerprint,
    }
}

/// Evidence beside the components that can only stop a non-virtualization
/// verdict, never make one.
struct Elsewhere<'a> {
    /// The trace's frames past the innermost.
    trace: &'a [Finding],
    /// Virtualization code the report names anywhere ([`structure::virtualization_mentions`]).
    devices: &'a [Finding],
    /// Listed machine types named in prose.
    machines: &'a [Finding],
    /// Device paths the knowledge base cannot place.
    unplaced: &'a [String],
    /// The report speaks of devices (a NIC, a controller, DMA, a migration stream).
    device_language: bool,
    title: &'a str,
}

/// The deterministic verdict: the primary component's class, set in context.
fn rules_verdict(
    components: &[Component],
    elsewhere: &Elsewhere<'_>,
    machines: &[Finding],
    accels: &[Finding],
    locations: &Locations,
) -> RulesVerdict {
    let runtime: Vec<&Component> = components
        .iter()
        .filter(|c| c.finding.surface.as_deref() != Some("not-runtime"))
        .collect();
    let unlisted_machine = machines
        .iter()
        .find(|m| m.class == UseCase::NonVirtualization);
    let only_tcg =
        !accels.is_empty() && accels.iter().all(|a| a.class == UseCase::NonVirtualization);

    if runtime.is_empty() && !components.is_empty() {
        return RulesVerdict {
            use_case: UseCase::NeedsJudgement,
            confidence: Confidence::Medium,
            decisive: true,
            basis: format!(
                "only build, test or documentation files or the compiler are named ({}); the use-case mapping does not apply",
                components[0].finding.subject
            ),
        };
    }
    let Some(primary) = runtime.first() else {
        // No code located: fall back on the configuration the reporter used,
        // unless the report names virtualization code: a device reproduced on
        // an unlisted board or under TCG is still reachable on listed ones.
        if let (Some(d), true) = (elsewhere.devices.first(), unlisted_machine.is_some()) {
            return RulesVerdict {
                use_case: UseCase::NeedsJudgement,
                confidence: Confidence::Low,
                decisive: false,
                basis: format!(
                    "no affected code located; the report was run on {}, but it names {} ({})",
                    unlisted_machine.map_or("", |m| m.subject.as_str()),
                    d.subject,
                    d.class
                ),
            };
        }
        if let Some(m) = unlisted_machine {
            return RulesVerdict {
                use_case: UseCase::NonVirtualization,
                confidence: Confidence::Medium,
                decisive: true,
                basis: format!(
                    "no affected code located, and the {} is not a listed machine type",
                    m.subject
                ),
            };
        }
        // TCG as the reporter's accelerator says nothing about the code: a
        // device reproduced under TCG (a CI runner without /dev/kvm) is the
        // same code under KVM. Only code located as TCG's makes it TCG's.
        if only_tcg {
            return RulesVerdict {
                use_case: UseCase::NeedsJudgement,
                confidence: Confidence::Low,
                decisive: false,
                basis: "no affected code located; the report only uses TCG, which alone does not place the code".into(),
            };
        }
        return RulesVerdict {
            use_case: UseCase::NeedsJudgement,
            confidence: Confidence::Low,
            decisive: false,
            basis: if locations.command_line.is_empty() {
                "no affected code and no QEMU command line located".into()
            } else {
                "no affected code located in the knowledge base".into()
            },
        };
    };

    let finding = &primary.finding;
    // Names found in prose only that point both ways settle nothing.
    if primary.role == Role::Prose {
        let opposite = |c: UseCase| match finding.class {
            UseCase::Virtualization => c == UseCase::NonVirtualization,
            UseCase::NonVirtualization => c == UseCase::Virtualization,
            UseCase::NeedsJudgement => false,
        };
        if let Some(other) = runtime
            .iter()
            .find(|c| c.role == Role::Prose && opposite(c.finding.class))
        {
            return RulesVerdict {
                use_case: UseCase::NeedsJudgement,
                confidence: Confidence::Low,
                decisive: false,
                basis: format!(
                    "the report names {} ({}) and {} ({}) in prose only",
                    finding.subject, finding.class, other.finding.subject, other.finding.class
                ),
            };
        }
    }
    // Agreement of the other located components raises confidence.
    let agreeing = runtime
        .iter()
        .filter(|c| c.finding.class == finding.class)
        .count();
    let strong_role = matches!(primary.role, Role::Title | Role::Frame);
    // Non-virtualization evidence, however strong its place (the title, the
    // innermost frame), settles nothing when other evidence says
    // virtualization: another file or frame, a hardware accelerator, or a
    // listed machine not run under TCG alone. Titles and traces are written
    // by the reporter too, and "Crash in cpu_exec" above a device's frames is
    // the TCG loop every MMIO access goes through, not the bug.
    // (A directory such as `target/arm/` mixes both and says nothing here;
    // nor does shared infrastructure such as the memory core, which every
    // report may name.)
    // TCG-only code runs only under TCG, whatever the machine type: a listed
    // machine does not contradict it, a hardware accelerator does.
    // User-mode emulation is TCG too: no hardware accelerator, no machine.
    let tcg_code = matches!(finding.surface.as_deref(), Some("tcg" | "user-mode"));
    // Words (a prose-named directory) and whole directories are weaker than the
    // file located, so they do not contradict it; other files do.
    // A hardware accelerator (named, or its own code under accel/) contradicts
    // TCG-only code, which never runs with it; it does not contradict an
    // unlisted board's code, which stays non-virtualization under KVM too.
    // The trace's outer frames are the callers of the innermost one: they
    // contradict only TCG code (a device handler below a TCG loop frame),
    // never a board device called from the backends.
    let accel_file = |p: &str| p.starts_with("accel/") && !p.starts_with("accel/tcg");
    // A path the report names only in the trace's frames is one of those callers.
    let only_in_frames = |c: &Component| {
        c.role == Role::Path
            && c.finding.file.as_deref().is_some_and(|p| {
                let in_frames = locations
                    .frames
                    .iter()
                    .filter(|f| f.file.as_deref() == Some(p))
                    .count();
                in_frames > 0
                    && locations
                        .files
                        .iter()
                        .any(|f| f.path == p && f.mentions <= in_frames)
            })
    };
    let contradiction = runtime
        .iter()
        .filter(|c| {
            // A `-netdev` backend is the peer of every NIC, not a second component.
            !matches!(c.role, Role::Prose | Role::Netdev) && (tcg_code || !only_in_frames(c))
        })
        .map(|c| &c.finding)
        .chain(elsewhere.trace.iter().filter(|_| tcg_code))
        .filter(|f| {
            // A `-device` (no file of its own here) counts as the device's code.
            f.file.as_deref().is_none_or(|p| {
                !p.ends_with('/') && !is_infrastructure("", Some(p)) && (tcg_code || !accel_file(p))
            })
        })
        .chain(accels.iter().filter(|_| tcg_code))
        .chain(machines.iter().filter(|_| !only_tcg && !tcg_code))
        .chain(elsewhere.devices.iter().filter(|f| {
            f.file
                .as_deref()
                .is_none_or(|p| !is_infrastructure("", Some(p)))
        }))
        .chain(elsewhere.machines.iter().filter(|_| !only_tcg && !tcg_code))
        .find(|f| f.class == UseCase::Virtualization);
    // Non-virtualization read off the report's words (a board "where it was
    // first seen", instruction words) holds only when the title names that
    // board, or, for instruction emulation, when no device is spoken of.
    if finding.class == UseCase::NonVirtualization && primary.role == Role::Prose {
        // The names it goes by: a machine type, its file's stem, a quoted
        // MAINTAINERS section.
        let named: Vec<String> = [
            finding
                .subject
                .strip_prefix("machine ")
                .map(|m| m.split(' ').next().unwrap_or(m).to_string()),
            finding
                .file
                .as_deref()
                .and_then(|p| p.rsplit('/').next())
                .and_then(|n| n.strip_suffix(".c"))
                .map(str::to_string),
            finding.subject.split('"').nth(1).map(str::to_string),
        ]
        .into_iter()
        .flatten()
        .collect();
        let instruction = finding.surface.as_deref() == Some("tcg");
        let title = elsewhere.title.to_ascii_lowercase();
        let supported = if instruction {
            !elsewhere.device_language
        } else {
            named.iter().any(|n| {
                let n = n.to_ascii_lowercase();
                let family = n.split(['-', '_', ' ']).next().unwrap_or(&n);
                // The title names the board (or its family: `ast2600` for
                // `ast2600-evb`), or the report runs it (`-machine netduino2`).
                title.contains(family)
                    || locations
                        .command_line
                        .machines
                        .iter()
                        .any(|m| m.eq_ignore_ascii_case(&n))
            })
        };
        if !supported {
            return RulesVerdict {
                use_case: UseCase::NeedsJudgement,
                confidence: Confidence::Low,
                decisive: false,
                basis: format!(
                    "{} ({}) points to non-virtualization, but {}",
                    finding.subject,
                    role_name(primary.role),
                    if instruction {
                        "the report speaks of a device, not only of instruction emulation"
                    } else {
                        "the title does not name it: the report may only mention it"
                    }
                ),
            };
        }
    }
    // A user-mode binary next to a system emulator's command line is a side remark.
    if finding.class == UseCase::NonVirtualization
        && primary.role == Role::Tool
        && finding.surface.as_deref() == Some("user-mode")
    {
        if let Some(t) = locations.command_line.system_targets.first() {
            return RulesVerdict {
                use_case: UseCase::NeedsJudgement,
                confidence: Confidence::Low,
                decisive: false,
                basis: format!(
                    "{} ({}) points to non-virtualization, but the report also runs qemu-system-{t}",
                    finding.subject,
                    role_name(primary.role)
                ),
            };
        }
    }
    if let (UseCase::NonVirtualization, None, Some(path)) =
        (finding.class, contradiction, elsewhere.unplaced.first())
    {
        return RulesVerdict {
            use_case: UseCase::NeedsJudgement,
            confidence: Confidence::Low,
            decisive: false,
            basis: format!(
                "{} ({}) points to non-virtualization, but the report also names {}, which the knowledge base cannot place",
                finding.subject,
                role_name(primary.role),
                path
            ),
        };
    }
    if let (UseCase::NonVirtualization, Some(other)) = (finding.class, contradiction) {
        return RulesVerdict {
            use_case: UseCase::NeedsJudgement,
            confidence: Confidence::Low,
            decisive: false,
            basis: format!(
                "{} ({}) points to non-virtualization, but {} points to virtualization",
                finding.subject,
                role_name(primary.role),
                other.subject
            ),
        };
    }
    match finding.class {
        UseCase::NonVirtualization => RulesVerdict {
            use_case: UseCase::NonVirtualization,
            confidence: if strong_role || agreeing >= 2 {
                Confidence::High
            } else {
                Confidence::Medium
            },
            // Words alone are not decisive: the model may still pull it back.
            decisive: primary.role != Role::Prose,
            basis: format!(
                "{} ({}): {}",
                finding.subject,
                role_name(primary.role),
                finding
                    .deciding_fact()
                    .map(|f| f.text.as_str())
                    .unwrap_or("non-virtualization")
            ),
        },
        UseCase::NeedsJudgement => RulesVerdict {
            use_case: UseCase::NeedsJudgement,
            confidence: Confidence::Low,
            decisive: false,
            basis: format!(
                "{}: {}",
                finding.subject,
                finding
                    .deciding_fact()
                    .map(|f| f.text.as_str())
                    .unwrap_or("device scope is not defined by security.rst")
            ),
        },
        UseCase::Virtualization => {
            let mut confidence = if strong_role || agreeing >= 2 {
                Confidence::High
            } else {
                Confidence::Medium
            };
            let mut basis = format!(
                "{} ({}): {}",
                finding.subject,
                role_name(primary.role),
                finding
                    .deciding_fact()
                    .map(|f| f.text.as_str())
                    .unwrap_or("virtualization")
            );
            if let Some(m) = unlisted_machine {
                confidence = Confidence::Medium;
                basis.push_str(&format!(
                    "; reproduced on {}, which is not listed",
                    m.subject
                ));
            }
            RulesVerdict {
                use_case: UseCase::Virtualization,
                confidence,
                decisive: false,
                basis,
            }
        }
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Title => "named in the title",
        Role::Frame => "innermost QEMU frame",
        Role::Path => "path in the report",
        Role::Function => "function named in the report",
        Role::Device => "-device on the command line",
        Role::Tool => "tool",
        Role::Format => "image format",
        Role::Netdev => "netdev",
        Role::Monitor => "monitor command",
        Role::Prose => "described in the report",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_components_from_commit_subjects() {
        assert_eq!(
            title_components("hw/usb/hcd-ehci: heap over-read"),
            ["hw/usb/hcd-ehci"]
        );
        assert_eq!(
            title_components("net: tulip: fix overflow"),
            ["net", "tulip"]
        );
        assert_eq!(
            title_components("[LLM-found] es1370: stack over-read"),
            ["es1370"]
        );
        assert!(title_components("Heap overflow in the floppy controller").is_empty());
    }

    #[test]
    fn infrastructure_frames_are_skipped() {
        assert!(is_infrastructure(
            "memory_region_dispatch_write",
            Some("system/memory.c")
        ));
        assert!(is_infrastructure("aio_bh_call", Some("util/async.c")));
        assert!(!is_infrastructure(
            "xhci_kick_epctx",
            Some("hw/usb/hcd-xhci.c")
        ));
    }

    fn evidence(body: &str) -> Evidence {
        let report = Report {
            title: body.lines().next().unwrap_or("").to_string(),
            body: body.lines().skip(1).collect::<Vec<_>>().join("\n"),
        };
        analyze(&report, Kb::embedded())
    }

    #[test]
    fn a_function_named_in_prose_locates_its_file() {
        let e = evidence(
            "Assertion failure when mremap grows a mapping\n\
             The assert in page_set_flags() fires when the new size passes the end of the reserved range.",
        );
        let primary = &e.components[0];
        assert_eq!(primary.role, Role::Function);
        assert_eq!(
            primary.finding.file.as_deref(),
            Some("accel/tcg/user-exec.c")
        );
        assert_eq!(e.rules.use_case, UseCase::NonVirtualization);
        assert!(
            e.rules.basis.contains("page_set_flags()"),
            "{}",
            e.rules.basis
        );
    }

    #[test]
    fn a_path_outweighs_a_function_and_infrastructure_functions_are_ignored() {
        let e = evidence(
            "Reentrancy in a NIC\n\
             hw/usb/hcd-xhci.c loops forever; it calls qemu_receive_packet() and page_set_flags().",
        );
        assert_eq!(e.components[0].role, Role::Path);
        assert_eq!(e.rules.use_case, UseCase::Virtualization);
        assert!(e
            .components
            .iter()
            .all(|c| c.finding.file.as_deref() != Some("net/net.c")));
        let only_infra = evidence("Loop in packet delivery\nqemu_receive_packet() loops.");
        assert!(only_infra.components.is_empty());
    }

    #[test]
    fn a_function_named_in_passing_does_not_outweigh_virtualization_evidence() {
        let e = evidence(
            "Heap overflow in the virtio-gpu device\n\
             qemu-system-x86_64 -M q35 -accel kvm -device virtio-gpu-pci\n\
             A similar pattern once needed tb_flush() in the TCG code.",
        );
        assert_ne!(
            e.rules.use_case,
            UseCase::NonVirtualization,
            "{:?}",
            e.rules
        );
        let generic = evidence(
            "usb: xhci: guest can hang the controller\n\
             The endpoint never lets the ring stop().",
        );
        assert!(generic.components.iter().all(|c| c.role != Role::Function));
        assert_ne!(generic.rules.use_case, UseCase::NonVirtualization);
    }

    #[test]
    fn a_file_less_trace_stops_at_its_innermost_unknown_frame() {
        let e = evidence(
            "Heap overflow in a display device\n\
             #0 0x5555 in not_a_qemu_function_name_xyz ()\n\
             #1 0x5556 in cpu_tb_exec ()\n\
             #2 0x5557 in cpu_exec ()",
        );
        assert!(
            e.components.iter().all(|c| c.role != Role::Frame),
            "{:?}",
            e.components
        );
        assert_ne!(e.rules.use_case, UseCase::NonVirtualization);
    }

    #[test]
    fn frames_without_file_names_resolve_through_the_function_index() {
        let e = evidence(
            "Heap overflow in USB\n\
             #0 0x5555 in memory_region_write_accessor ()\n\
             #1 0x5556 in xhci_kick_epctx ()\n\
             #2 0x5557 in main ()",
        );
        let primary = &e.components[0];
        assert_eq!(primary.role, Role::Frame);
        assert_eq!(primary.finding.file.as_deref(), Some("hw/usb/hcd-xhci.c"));
    }
}
