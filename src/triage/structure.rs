//! Rules that read QEMU's own layout: what a path's place in the tree says
//! about the use case when the per-file facts are missing, stale or too coarse.
//!
//! - CPU code lives in `target/<arch>/`, and the boards of an architecture in
//!   `hw/<arch>/`. The machine types `security.rst` lists are defined in a few
//!   of those board directories (`hw/arm/virt.c`, `hw/i386/pc_q35.c`, ...), so
//!   an architecture whose board directory holds no listed machine has no
//!   virtualization use case at all: its CPU and board code is
//!   non-virtualization whatever the accelerator.
//! - Within a listed architecture, the instruction emulation (translators,
//!   decodetree files, TCG helpers, the `tcg/` subdirectory) runs only under
//!   TCG, while CPU models, cpuid/feature handling, migration state, gdbstub,
//!   dumps and the accelerator glue are shared with KVM and stay as the
//!   knowledge base says.
//! - A file that is no longer in the tree (a removed board, an older layout)
//!   is judged by the family it belongs to: files sharing its name prefix in
//!   the same directory that all agree, or the board directory it sat in.
//!
//! Every rule is a [`Rule`] with an id, a reason and the document section it
//! rests on; the finding it produces carries them as its deciding fact, so the
//! note and `kb explain` show why.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;

use crate::kb::{Fact, Finding, Kb, UseCase};

/// One structural rule: what it concludes and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub id: &'static str,
    pub class: UseCase,
    pub surface: &'static str,
    pub reason: &'static str,
    pub doc: &'static str,
}

const DOC_MACHINES: &str =
    "security.rst, Virtualization Use Case (\"any machine type not listed here ... falls under the non-virtualization use case\")";
const DOC_TCG: &str =
    "security.rst, Non-virtualization Use Case (\"covers emulation using the Tiny Code Generator (TCG)\")";

pub const UNLISTED_TARGET: Rule = Rule {
    id: "unlisted-target-cpu",
    class: UseCase::NonVirtualization,
    surface: "unlisted-machine",
    reason: "CPU code of an architecture none of whose machine types is listed (no listed machine is defined in its board directory), so it only ever runs on unlisted machines",
    doc: DOC_MACHINES,
};

pub const UNLISTED_ARCH_BOARD: Rule = Rule {
    id: "unlisted-arch-board",
    class: UseCase::NonVirtualization,
    surface: "unlisted-machine",
    reason: "board or SoC code in the board directory of an architecture with no listed machine type, and no Kconfig path from a listed machine reaches it",
    doc: DOC_MACHINES,
};

pub const TCG_HELPER: Rule = Rule {
    id: "tcg-helper",
    class: UseCase::NonVirtualization,
    surface: "tcg",
    reason: "TCG helper of a listed architecture: an instruction-emulation helper (FPU, vector, crypto, integer, memory or other instruction class) that only TCG-generated code calls; with KVM or HVF the CPU executes these instructions itself",
    doc: DOC_TCG,
};

pub const TCG_INSTRUCTION_PROSE: Rule = Rule {
    id: "tcg-instruction-emulation",
    class: UseCase::NonVirtualization,
    surface: "tcg",
    reason: "the report describes guest instruction emulation (translation, decoding, TCG helpers, vector or floating-point instructions) in CPU code, and names no hardware accelerator or KVM-shared CPU state: with KVM or HVF the CPU executes instructions itself",
    doc: DOC_TCG,
};

pub const KVM_SHARED_CPU_PROSE: Rule = Rule {
    id: "kvm-shared-cpu-state",
    class: UseCase::Virtualization,
    surface: "accelerator",
    reason: "the report concerns CPU state a hardware accelerator uses as well (CPU models, cpuid or feature bits, registers synchronised with KVM, migration state, hypercalls)",
    doc: "security.rst, Virtualization Use Case (\"use a virtualization accelerator like KVM or HVF\")",
};

pub const REMOVED_FAMILY: Rule = Rule {
    id: "file-family",
    class: UseCase::NonVirtualization,
    surface: "historical-path",
    reason: "the file is not in the current tree (a removed board or device, or an older layout); the files under hw/ named after the same part (the same SoC or board family) are all built only for unlisted machine types",
    doc: DOC_MACHINES,
};

pub const TCG_FUNCTION: Rule = Rule {
    id: "tcg-function-name",
    class: UseCase::NonVirtualization,
    surface: "tcg",
    reason: "named as TCG's own functions are (tcg_*, the prefix of the code generator's API in tcg/ and accel/tcg/): it runs only when TCG is the accelerator, even where it sits in a file KVM uses as well",
    doc: DOC_TCG,
};

pub const TCG_ONLY_CALLERS: Rule = Rule {
    id: "tcg-only-callers",
    class: UseCase::NonVirtualization,
    surface: "tcg",
    reason: "a function of a file KVM runs too, but only code built only with CONFIG_TCG calls it (its own file names it only where it defines it), so it runs only under TCG",
    doc: DOC_TCG,
};

pub const TOOLCHAIN: Rule = Rule {
    id: "compiler-not-runtime",
    class: UseCase::NeedsJudgement,
    surface: "not-runtime",
    reason: "the title is about how a compiler builds QEMU (a miscompilation or a compiler's bug), not about code a deployed QEMU runs on its inputs, so neither use case applies",
    doc: "security.rst, Security Requirements",
};

/// A title about the compiler that builds QEMU (`Apple clang 14 miscompiles
/// __builtin_subcll`), as a not-runtime finding.
pub fn toolchain_title(title: &str) -> Option<Finding> {
    static COMPILER: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\bmiscompil\w*|\bcompiler (bug|miscompilation)s?\b").unwrap()
    });
    COMPILER
        .is_match(title)
        .then(|| rule_finding(&TOOLCHAIN, "the compiler".into(), None, String::new()))
}

/// A function of TCG's own, by QEMU's naming (`tcg_commit`, `tcg_cpu_exec`)
/// or because only TCG-only files call it, as a finding; `tcg_enabled()` is
/// the test every accelerator's path makes.
pub fn tcg_function(kb: &Kb, function: &str) -> Option<Finding> {
    if let Some(callers) = kb.data.tcg_only_functions.get(function) {
        let file = kb.data.functions.get(function).cloned();
        let detail = format!(
            " (defined in {}; called from {})",
            file.as_deref().unwrap_or("the tree"),
            callers.join(", ")
        );
        return Some(rule_finding(
            &TCG_ONLY_CALLERS,
            format!("{function}()"),
            file,
            detail,
        ));
    }
    let rest = function.strip_prefix("tcg_")?;
    if rest.is_empty()
        || rest == "enabled"
        || !rest.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return None;
    }
    let file = kb.function(function).and_then(|f| f.file);
    let detail = file
        .as_deref()
        .map(|f| format!(" (defined in {f})"))
        .unwrap_or_default();
    Some(rule_finding(
        &TCG_FUNCTION,
        format!("{function}()"),
        file,
        detail,
    ))
}

/// Instruction classes whose `<class>_helper.c` files are TCG helpers in every
/// architecture of the tree (`fpu_helper.c`, `vec_int_helper.c`, `sve_helper.c`).
/// Files named after shared CPU state (`cpu_helper.c`, `mmu_helper.c`,
/// `xsave_helper.c`, `debug_helper.c`, `time_helper.c`) are not in the list:
/// KVM uses them too.
const INSTRUCTION_HELPER_STEMS: &[&str] = &[
    "fpu", "fop", "vfp", "vec", "vector", "vcrypto", "crypto", "bitmanip", "zce", "m128", "int",
    "int32", "int64", "op", "mem", "misc", "cc", "dfp", "sve", "sme", "mve", "neon", "iwmmxt",
    "pauth", "mte", "arith", "msa", "dsp", "lmmi", "vis", "ldst", "seg", "win", "bpt", "mpx",
    "svm", "smm",
];

/// Board directories (`hw/<dir>/`) that define a listed machine type.
fn listed_board_dirs(kb: &Kb) -> BTreeSet<String> {
    kb.data
        .listed_machines
        .iter()
        .filter_map(|m| m.file.as_deref())
        .filter_map(|f| f.strip_prefix("hw/"))
        .filter_map(|f| f.split('/').next())
        .map(str::to_string)
        .collect()
}

/// Architecture directories under `target/` the knowledge base knows.
fn target_dirs(kb: &Kb) -> BTreeSet<String> {
    kb.data
        .files
        .keys()
        .filter_map(|p| p.strip_prefix("target/"))
        .filter_map(|p| p.split_once('/').map(|(d, _)| d.to_string()))
        .collect()
}

/// The `target/<arch>` directory a commit-style title prefix names by
/// architecture (`PPC:`, `x86:`, `aarch64:`, `RISC-V:`), if any.
pub fn arch_prefix(kb: &Kb, name: &str) -> Option<String> {
    let lower = name.trim().to_ascii_lowercase();
    let arch = match lower.as_str() {
        "x86" | "x86_64" | "x86-64" | "i386" | "i686" => "i386",
        "aarch64" | "arm64" | "arm" | "armv7" | "armv8" => "arm",
        "ppc" | "ppc64" | "ppc32" | "powerpc" | "powerpc64" => "ppc",
        "risc-v" | "riscv" | "riscv32" | "riscv64" => "riscv",
        "mips" | "mips64" | "mipsel" | "mips64el" => "mips",
        "sparc" | "sparc64" => "sparc",
        "loongarch" | "loongarch64" => "loongarch",
        "s390" | "s390x" => "s390x",
        other => other,
    };
    target_dirs(kb)
        .contains(arch)
        .then(|| format!("target/{arch}"))
}

/// `arch` of `target/<arch>/...`.
fn target_arch(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("target/")?;
    let (arch, tail) = rest.split_once('/')?;
    (!arch.is_empty() && (!tail.is_empty() || path.ends_with('/'))).then_some(arch)
}

/// True when `target/<arch>` belongs to an architecture with a listed machine type.
pub fn target_is_listed(kb: &Kb, arch: &str) -> bool {
    listed_board_dirs(kb).contains(arch)
}

fn rule_finding(rule: &Rule, subject: String, file: Option<String>, detail: String) -> Finding {
    Finding {
        subject,
        class: rule.class,
        from_overlay: false,
        surface: Some(rule.surface.to_string()),
        facts: vec![Fact {
            text: format!("{}{detail} [rule: {}]", rule.reason, rule.id),
            source: rule.doc.to_string(),
        }],
        file,
    }
}

/// Puts `rule` on top of `finding`: its class, with the rule's reason as the
/// deciding (last) fact and what the knowledge base said kept as evidence.
fn apply(rule: &Rule, mut finding: Finding, detail: String) -> Finding {
    let fact = Fact {
        text: format!("{}{detail} [rule: {}]", rule.reason, rule.id),
        source: rule.doc.to_string(),
    };
    if finding.from_overlay {
        // The overlay's reason was the deciding (first) fact; it stays as evidence.
        finding.from_overlay = false;
    }
    finding.facts.push(fact);
    finding.class = rule.class;
    finding.surface = Some(rule.surface.to_string());
    finding
}

/// The structural rule that decides `path`, if one does.
pub fn path_rule(kb: &Kb, path: &str) -> Option<(&'static Rule, String)> {
    if let Some(arch) = target_arch(path) {
        if !target_is_listed(kb, arch) {
            return Some((
                &UNLISTED_TARGET,
                format!(
                    " (target/{arch}/; listed machines are defined under {})",
                    listed_dirs_text(kb)
                ),
            ));
        }
        let name = path.rsplit('/').next().unwrap_or(path);
        if let Some(stem) = name
            .strip_suffix("_helper.c")
            .or_else(|| name.strip_suffix("-helper.c"))
        {
            let class = stem.split(['_', '-']).next().unwrap_or(stem);
            if INSTRUCTION_HELPER_STEMS.contains(&class) {
                return Some((&TCG_HELPER, format!(" ({name})")));
            }
        }
        return None;
    }
    if let Some(rest) = path.strip_prefix("hw/") {
        let (dir, tail) = rest.split_once('/')?;
        if tail.is_empty() || listed_board_dirs(kb).contains(dir) || !target_dirs(kb).contains(dir)
        {
            return None;
        }
        // The knowledge base's own Kconfig reach wins: a listed machine that
        // reaches the file keeps it in scope.
        if kb
            .data
            .files
            .get(path)
            .is_some_and(|f| !f.listed.is_empty())
        {
            return None;
        }
        return Some((&UNLISTED_ARCH_BOARD, format!(" (hw/{dir}/, target/{dir}/)")));
    }
    None
}

fn listed_dirs_text(kb: &Kb) -> String {
    listed_board_dirs(kb)
        .iter()
        .map(|d| format!("hw/{d}/"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Applies the structural rules to a finding about a file (a path, a frame, a
/// function's defining file). Rules only ever move a finding that the
/// knowledge base calls virtualization or needs-judgement when the tree's
/// layout says so; a finding of the accelerator glue (`kvm`, `hvf`, ...) is
/// never moved.
pub fn refine(kb: &Kb, finding: Finding) -> Finding {
    let Some(file) = finding.file.clone() else {
        return finding;
    };
    if finding.surface.as_deref() == Some("accelerator") && target_is_listed_path(kb, &file) {
        return finding;
    }
    if finding.surface.as_deref() == Some("not-runtime") {
        return finding;
    }
    match path_rule(kb, &file) {
        Some((rule, detail)) if rule.class != finding.class => apply(rule, finding, detail),
        _ => finding,
    }
}

fn target_is_listed_path(kb: &Kb, path: &str) -> bool {
    target_arch(path).is_none_or(|a| target_is_listed(kb, a))
}

/// [`Kb::path`] with the structural rules applied, and a structural answer for
/// a path the knowledge base does not know (a removed file, an older layout).
pub fn path(kb: &Kb, path: &str) -> Option<Finding> {
    if let Some(f) = kb.path(path) {
        return Some(refine(kb, f));
    }
    if let Some((rule, detail)) = path_rule(kb, path) {
        return Some(rule_finding(
            rule,
            path.to_string(),
            Some(path.to_string()),
            detail,
        ));
    }
    family(kb, path)
}

/// A removed file judged by its family: the files under `hw/` whose names
/// start with the same part name (`omap_`, `pxa2xx_`, `aspeed_`, `exynos4210_`).
/// Two members are needed, or one when the part name carries a digit (a chip
/// number is specific on its own). Only a family that is entirely
/// non-virtualization speaks.
fn family(kb: &Kb, path: &str) -> Option<Finding> {
    if !path.starts_with("hw/") {
        return None;
    }
    let name = path.rsplit('/').next()?;
    let prefix: String = name
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    // Short part names (`sd`, `pl`, `dev`) name no family.
    if prefix.len() < 4 || !prefix.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return None;
    }
    let members: Vec<(&String, UseCase)> = kb
        .data
        .files
        .iter()
        .filter(|(p, _)| p.starts_with("hw/"))
        .filter(|(p, _)| {
            let n = p.rsplit('/').next().unwrap_or(p);
            n.strip_prefix(prefix.as_str())
                .is_some_and(|rest| rest.starts_with(['_', '-', '.']))
        })
        .map(|(p, f)| (p, f.class))
        .collect();
    let needed = if prefix.chars().any(|c| c.is_ascii_digit()) {
        1
    } else {
        2
    };
    if members.len() < needed
        || members
            .iter()
            .any(|(_, c)| *c != UseCase::NonVirtualization)
    {
        return None;
    }
    let names: Vec<&str> = members.iter().take(3).map(|(p, _)| p.as_str()).collect();
    Some(rule_finding(
        &REMOVED_FAMILY,
        path.to_string(),
        Some(path.to_string()),
        format!(" ({prefix}: {})", names.join(", ")),
    ))
}

/// The rule for a `target/<arch>/` directory named in a title (`target/arm: ...`).
/// An unlisted architecture's directory is non-virtualization; a listed one
/// mixes TCG-only and KVM-shared code, so only the report's words can place it.
/// The flag is true when the report's words, not the directory, decided.
pub fn target_directory(kb: &Kb, dir: &str, text: &str) -> Option<(Finding, bool)> {
    let dir = format!("{}/", dir.trim().trim_end_matches('/'));
    let arch = target_arch(&dir)?.to_string();
    let arch = arch.as_str();
    if !target_dirs(kb).contains(arch) {
        return None;
    }
    if !target_is_listed(kb, arch) {
        return Some((
            rule_finding(
                &UNLISTED_TARGET,
                dir.clone(),
                Some(dir),
                format!(
                    " (target/{arch}/; listed machines are defined under {})",
                    listed_dirs_text(kb)
                ),
            ),
            false,
        ));
    }
    prose_cpu_rule(arch, text).map(|rule| {
        (
            rule_finding(rule, dir.clone(), Some(dir), String::new()),
            true,
        )
    })
}

static KVM_SHARED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(kvm|hvf|xen|whpx|nvmm|hypervisor|cpuid|cpu ?models?|cpu features?|feature (bits?|flags?)|migrat\w*|vmstate|savevm|xsave\w*|gdbstub|gdb|core ?dump|dump-guest-memory|monitor|qmp|hmp|hypercalls?|hcalls?|h_\w+|sigp|diag(nose)?|i/o instructions?|subchannel|chsc|sclp|stsi|mmio|register sync\w*|propert(y|ies)|cpu (type|flag|option)s?)\b").unwrap()
});
static INSN_ANCHOR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(tcg|tiny code generator|binary translation|translation blocks?|translator|translate\.c|decodetree|insns?|instructions?|opcodes?|helper_\w+|softfloat|emulation of|emulates?)\b").unwrap()
});
static ISA_WORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(sve2?|sme2?|mve|neon|vfp|altivec|vmx|vsx|sse\d?|ssse3|avx\d*|avx-?512\w*|mmx|x87|3dnow|rvv|vector (extension|instructions?|registers?)|lsx|lasx|msa|fpu|floating[- ]point (instructions?|emulation)|simd|bcd|dfp|crypto (instructions?|extension)|tcg|tiny code generator|decodetree|helper_\w+)\b").unwrap()
});

/// A line of guest assembly with register operands (`bzhi rax, rbx, rcx`,
/// `vwredsum.vs v2, v30, v30`, `lduba [%g5 + %l6] (146), %l6`), in a code block,
/// in backticks or on a line of its own.
static ASM_LINE: LazyLock<Regex> = LazyLock::new(|| {
    let reg = r"%?(?:[re]?[abcd]x|[abcd][lh]|[re]?[sd]il?|[re]?[sb]p|r\d{1,2}[dwb]?|[xyz]mm\d{1,2}|[xwvzqdsbhtapfk]\d{1,2}|[golih]\d|sp|lr|pc|zero|ra|gp|tp)";
    Regex::new(&format!(
        r"(?m)(?:^\s*|`)([a-z][a-z0-9]{{1,11}}(?:\.[a-z0-9]{{1,4}}){{0,2}})\s+\[?\s*{reg}\b[^\n`]{{0,40}}?,\s*(?:\[|#|-?\d|0x|{reg}\b)"
    ))
    .unwrap()
});
/// Port and string I/O instructions: a reproducer that uses them drives a
/// device, not an instruction's emulation.
static IO_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?mi)(?:^\s*|`|;\s*)(?:rep\s+)?(?:in|out|ins|outs)[bwld]?\s+[%$\w(]").unwrap()
});

/// Guest assembly in the report, none of it port I/O.
fn guest_assembly(text: &str) -> bool {
    ASM_LINE.is_match(text) && !IO_LINE.is_match(text)
}

/// What the report's words say about CPU code of a listed architecture, if anything.
/// s390x is left out: under KVM it intercepts instructions (I/O, SIGP, DIAG, PCI)
/// to QEMU, so instruction words do not mean TCG there.
fn prose_cpu_rule(arch: &str, text: &str) -> Option<&'static Rule> {
    if KVM_SHARED.is_match(text) {
        return Some(&KVM_SHARED_CPU_PROSE);
    }
    if arch != "s390x" && describes_instruction_emulation(text) {
        return Some(&TCG_INSTRUCTION_PROSE);
    }
    None
}

/// Instruction words and an ISA word, or guest assembly set against what the
/// hardware does (with KVM or HVF the hardware runs that assembly itself).
fn describes_instruction_emulation(text: &str) -> bool {
    (INSN_ANCHOR.is_match(text) && ISA_WORD.is_match(text))
        || (guest_assembly(text)
            && (INSN_ANCHOR.is_match(text) || HARDWARE_COMPARED.is_match(text)))
}

static HARDWARE_COMPARED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(on (real )?hardware|real (cpu|hardware|silicon)|hardware:|the (host )?cpu (gives|returns|produces|does)|than the cpu|semantics?|emulat(e|ed|es|ion|ing))\b").unwrap()
});

/// For a report that located no code: does its prose describe TCG instruction
/// emulation (an ISA extension and instruction words) with no accelerator or
/// KVM-shared state in sight? Weak evidence, placed last.
pub fn prose_instruction_emulation(text: &str) -> Option<Finding> {
    if KVM_SHARED.is_match(text) || !describes_instruction_emulation(text) {
        return None;
    }
    // Device emulation also speaks of "instructions" (SCSI scripts, GPU command
    // streams): without an ISA word that names CPU instructions, nothing is said.
    Some(rule_finding(
        &TCG_INSTRUCTION_PROSE,
        "guest instruction emulation".into(),
        None,
        String::new(),
    ))
}

pub const PROSE_NAME: Rule = Rule {
    id: "named-in-prose",
    class: UseCase::NeedsJudgement,
    surface: "prose-name",
    reason: "the report names this component in prose only (no path, frame or command line)",
    doc: "security.rst, Virtualization Use Case",
};

static BOARD_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(boards?|machines?|machine types?|-M|-machine)\b").unwrap()
});

static WORD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[A-Za-z][A-Za-z0-9_.-]*[A-Za-z0-9]").unwrap());

/// Last `-`/`_` component of every file stem under `hw/` that names exactly one
/// file (`hcd-ehci` gives `ehci`, `esp` gives `esp`): the acronyms reports use
/// for device models ("the EHCI controller").
static ACRONYMS: LazyLock<std::collections::BTreeMap<String, String>> =
    LazyLock::new(|| acronym_index(Kb::embedded()));

/// The acronym index of `kb`: built once for the embedded knowledge base,
/// on demand for another (tests, `--kb`).
fn acronyms(kb: &Kb) -> std::borrow::Cow<'static, std::collections::BTreeMap<String, String>> {
    if std::ptr::eq(kb, Kb::embedded()) {
        std::borrow::Cow::Borrowed(&*ACRONYMS)
    } else {
        std::borrow::Cow::Owned(acronym_index(kb))
    }
}

fn acronym_index(kb: &Kb) -> std::collections::BTreeMap<String, String> {
    let mut seen: std::collections::BTreeMap<String, Option<String>> = Default::default();
    let dirs: BTreeSet<&str> = kb
        .data
        .files
        .keys()
        .filter_map(|p| p.strip_prefix("hw/"))
        .filter_map(|p| p.split('/').next())
        .collect();
    // Today's files only: a removed file is found by its path, not by a word
    // (the QEMU in `tod-qemu.c` is not a device).
    for path in kb
        .data
        .files
        .keys()
        .filter(|p| p.starts_with("hw/") && !kb.is_removed_file(p))
    {
        let Some(stem) = path.rsplit('/').next().and_then(|n| n.strip_suffix(".c")) else {
            continue;
        };
        let last = stem.rsplit(['-', '_']).next().unwrap_or(stem);
        // Directory names (`pci`, `usb`, `scsi`) are subsystems, not one device.
        if last.len() < 3 || dirs.contains(last) || last.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        seen.entry(last.to_string())
            .and_modify(|v| *v = None)
            .or_insert_with(|| Some(path.clone()));
    }
    seen.into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect()
}

/// Components a report names only in prose, through names the knowledge base
/// derives: QOM type names and file stems with a digit or hyphen (`e1000e`,
/// `virtio-gpu`, `lsi53c895a`), upper-case acronyms of one device model's file
/// (`EHCI`, `ESP`), unlisted machine type names (`malta`, `q800`) and
/// distinctive MAINTAINERS section names (`OMAP`, `ASPEED BMCs`). Weak
/// evidence: used only when nothing else was located.
pub fn prose_components(kb: &Kb, text: &str) -> Vec<Finding> {
    // Ranked: specific names first, then machine types, sections and acronyms.
    let mut out: Vec<(u8, Finding)> = Vec::new();
    let mut seen_files: BTreeSet<String> = BTreeSet::new();
    let index = acronyms(kb);
    let mut add = |rank: u8, f: Finding, how: String, out: &mut Vec<(u8, Finding)>| {
        if let Some(file) = &f.file {
            if !seen_files.insert(file.clone()) {
                return;
            }
        }
        let mut f = refine(kb, f);
        f.facts.insert(
            0,
            Fact {
                text: format!("{how} [rule: {}]", PROSE_NAME.id),
                source: PROSE_NAME.doc.into(),
            },
        );
        out.push((rank, f));
    };
    for m in WORD.find_iter(text) {
        let word = m.as_str().trim_end_matches('.');
        let lower = word.to_ascii_lowercase();
        let distinctive = lower.len() >= 4
            && lower.chars().any(|c| c.is_ascii_digit() || c == '-')
            && lower.chars().any(|c| c.is_ascii_alphabetic());
        let acronym = word.len() >= 3
            && word
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            && word.chars().filter(|c| c.is_ascii_uppercase()).count() >= 3;
        if distinctive {
            if let Some(f) = kb
                .data
                .qom_types
                .get(&lower)
                .and_then(|_| kb.device(&lower))
            {
                add(0, f, format!("{word} is a QOM type name"), &mut out);
                continue;
            }
            if let Some(f) = kb
                .resolve_component(&lower)
                .filter(|p| p.starts_with("hw/"))
                .and_then(|p| kb.path(&p))
            {
                add(
                    0,
                    f,
                    format!("{word} names a device model's file"),
                    &mut out,
                );
                continue;
            }
        }
        if acronym {
            if let Some(mut f) = index.get(&lower).and_then(|p| kb.path(p)) {
                // An acronym is a weak name (`MMC`, `GEM` mean more than one
                // model): it may say virtualization, never on its own the opposite.
                if f.class == UseCase::NonVirtualization {
                    f.class = UseCase::NeedsJudgement;
                    f.facts.push(Fact {
                        text: format!(
                            "{word} is only an acronym: it does not settle non-virtualization [rule: {}]",
                            PROSE_NAME.id
                        ),
                        source: PROSE_NAME.doc.into(),
                    });
                }
                add(
                    3,
                    f,
                    format!("{word} is the name of one device model's file"),
                    &mut out,
                );
                continue;
            }
        }
        // Short plain names (`malta`, `spike`) count only where the report speaks of boards.
        let machine_like = lower.len() >= 8
            || (lower.len() >= 3 && lower.chars().any(|c| c.is_ascii_digit() || c == '-'))
            || (lower.len() >= 5 && BOARD_WORDS.is_match(text));
        if machine_like
            && !arch_words(kb).contains(&lower)
            && kb.data.machines.contains_key(&lower)
            && kb.listed_machine(&lower).is_none()
        {
            let mut f = kb.machine(&lower);
            f.subject = format!("machine {lower} (named in the report)");
            add(
                1,
                f,
                format!("{word} is an unlisted machine type"),
                &mut out,
            );
        }
    }
    for (section, class, files) in distinctive_sections(kb) {
        // A word of the prose, not part of a path (`util/qemu-thread-posix.c`
        // is no mention of the "POSIX" section).
        let re = format!(
            r"(?i)(^|[^\w./-]){}($|[^\w./-]|\.(\s|$))",
            regex::escape(&section)
        );
        if Regex::new(&re).is_ok_and(|r| r.is_match(text)) {
            add(
                2,
                Finding {
                    subject: format!("MAINTAINERS section \"{section}\""),
                    class,
                    from_overlay: false,
                    surface: None,
                    facts: vec![Fact {
                        text: format!("all {files} files of this MAINTAINERS section are {class}"),
                        source: "MAINTAINERS, Kconfig and meson.build, per file".into(),
                    }],
                    file: None,
                },
                format!("the report names the MAINTAINERS section {section}"),
                &mut out,
            );
        }
    }
    out.sort_by_key(|(rank, _)| *rank);
    out.into_iter().map(|(_, f)| f).collect()
}

/// Architecture names ("ARM machines", "x86", "MIPS"): ordinary words in reports.
fn arch_words(kb: &Kb) -> BTreeSet<String> {
    let mut words: BTreeSet<String> = target_dirs(kb);
    words.extend(kb.data.listed_machines.iter().map(|m| m.arch.clone()));
    words.extend(
        [
            "risc-v",
            "parisc",
            "hp-parisc",
            "x86",
            "x86-64",
            "powerpc",
            "ppc64",
            "arm64",
        ]
        .map(String::from),
    );
    words
}

/// MAINTAINERS section names specific enough to look for in prose (an all-caps
/// or mixed-case token of three letters or more, or a digit, and not a listed
/// machine's name) whose files all have one class.
fn distinctive_sections(kb: &Kb) -> Vec<(String, UseCase, usize)> {
    static CACHE: LazyLock<Vec<(String, UseCase, usize)>> = LazyLock::new(|| {
        let kb = Kb::embedded();
        sections(kb)
    });
    if std::ptr::eq(kb, Kb::embedded()) {
        CACHE.clone()
    } else {
        sections(kb)
    }
}

fn sections(kb: &Kb) -> Vec<(String, UseCase, usize)> {
    let arch_words = arch_words(kb);
    let mut by: std::collections::BTreeMap<&str, (BTreeSet<UseCase>, usize)> = Default::default();
    for f in kb.data.files.values() {
        if let Some(m) = f.maintainers.first() {
            let e = by.entry(m.section.as_str()).or_default();
            e.0.insert(f.class);
            e.1 += 1;
        }
    }
    by.into_iter()
        .filter(|(name, (classes, n))| {
            classes.len() == 1
                && *n >= 2
                && kb.listed_machine(name).is_none()
                && name.split([' ', '/', '(', ')', ',']).any(|t| {
                    let caps = t.chars().filter(|c| c.is_ascii_uppercase()).count();
                    !arch_words.contains(&t.to_ascii_lowercase())
                        && t.len() >= 3
                        && (caps >= 2 || t.chars().any(|c| c.is_ascii_digit()))
                        && t.chars().any(|c| c.is_ascii_alphabetic())
                })
        })
        .map(|(name, (classes, n))| (name.to_string(), *classes.iter().next().unwrap(), n))
        .collect()
}

/// `kb explain` with the structural rules: a path or directory the rules
/// decide shows the rule and its reason as the deciding fact.
pub fn explain(kb: &Kb, subject: &str) -> Option<Finding> {
    let s = subject.trim();
    if s.contains('/') && !s.contains(' ') {
        if s.ends_with('/') {
            if let Some((f, _)) = target_directory(kb, s, "") {
                return Some(f);
            }
        } else if let Some(f) = path(kb, s) {
            return Some(f);
        }
    }
    kb.explain(s).map(|f| refine(kb, f))
}

// --- Virtualization names anywhere in the report (a safety net) ----------------

/// Host-side surfaces security.rst lists as untrusted, by the words reports
/// use for them, and the file that stands for each in the knowledge base
/// (which classifies it; nothing here decides a class).
const HOST_SURFACE_WORDS: &[(&str, &str)] = &[
    ("vnc", "ui/vnc.c"),
    ("spice", "ui/spice-core.c"),
    ("websocket", "io/channel-websock.c"),
    ("nbd", "nbd/server.c"),
    ("slirp", "net/slirp.c"),
    ("qcow2", "block/qcow2.c"),
    ("vmdk", "block/vmdk.c"),
    ("vhdx", "block/vhdx.c"),
    ("vdi", "block/vdi.c"),
    ("qed", "block/qed.c"),
    ("iscsi", "block/iscsi.c"),
    ("vhost-user", "hw/virtio/vhost-user.c"),
    ("fw_cfg", "hw/nvram/fw_cfg.c"),
    ("ioapic", "hw/intc/ioapic.c"),
    ("virtio", "hw/virtio/virtio.c"),
    ("virtfs", "hw/9pfs/9p.c"),
];

/// What a device name stands before in prose ("the nvme controller").
static DEVICE_NOUN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[ \t]*(?:(?:host|storage|disk|usb|pci|network|scsi|sata|sound|audio|display|gpu|block|[A-Z][A-Za-z0-9]*)[ \t]+)?(?i:controllers?|devices?|nics?|cards?|hbas?|adapters?|models?|backends?|bridges?|server|disks?|drives?|rings?|queues?|descriptors?)\b")
        .unwrap()
});

/// A device noun right before the name ("le contrôleur ahci", "the controller xhci").
static NOUN_BEFORE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:contrôleur|controlador|controllore|controller|dispositif|périphérique|dispositivo|gerät|carte|tarjeta|scheda|device|nic|hba|コントローラ|控制器|컨트롤러)[ \t]*$")
        .unwrap()
});

/// QOM type names that are also plain words for something generic.
const ABSTRACT_TYPES: &[&str] = &[
    "device",
    "machine",
    "object",
    "interface",
    "container",
    "memory",
    "system",
    "accel",
    "clock",
    "power",
    "resettable",
    "secret",
    "chardev",
    "iothread",
    "authz",
    "qtest",
    "loader",
    "serial",
    "artist",
    "raven",
    "scoop",
    "nand",
    "cuda",
    "sabre",
    "emmc",
    // Acronyms every board has one of.
    "cpu",
    "nic",
    "dma",
    "irq",
    "mmio",
    "rom",
    "ram",
    "fifo",
    "uart",
    "gpio",
    "spi",
    "i2c",
    "rtc",
    "timer",
    "mac",
    "phy",
    "bus",
    "host",
    "port",
    "soc",
    "mmu",
    "fpu",
    "smp",
    "acpi",
    // Plain words that are also the last part of one device file's name.
    "acl",
    "aer",
    "auth",
    "bot",
    "cap",
    "caps",
    "classic",
    "codec",
    "css",
    "darwin",
    "dataplane",
    "devconfig",
    "disk",
    "dist",
    "echo",
    "emulation",
    "extern",
    "facility",
    "flat",
    "generate",
    "geometry",
    "graphics",
    "guid",
    "handler",
    "hal",
    "helper",
    "hub",
    "impl",
    "info",
    "init",
    "inst",
    "its",
    "json",
    "key",
    "layout",
    "legacy",
    "link",
    "linux",
    "listener",
    "local",
    "logger",
    "mapping",
    "message",
    "migration",
    "mixer",
    "monitor",
    "multi",
    "nested",
    "network",
    "operations",
    "overlay",
    "packet",
    "parallel",
    "policy",
    "properties",
    "provider",
    "reader",
    "redirect",
    "region",
    "render",
    "reset",
    "resetcontainer",
    "slave",
    "standalone",
    "storage",
    "subsys",
    "synth",
    "sys",
    "test",
    "topology",
    "vars",
    "world",
    "ppi",
    "pam",
    "pwr",
    "ras",
    "nic",
    "smp",
    "rom",
    "cdrom",
    "hart",
    "hypercall",
    "mapcache",
    // Architectures name CPUs, not devices.
    "x86",
    "i386",
    "arm",
    "aarch64",
    "riscv",
    "ppc",
    "ppc64",
    "s390x",
    "mips",
    "sparc",
    "loongarch",
];

/// `hw/` subdirectories whose every current file is virtualization (`nvme`,
/// `9pfs`, `vfio`): their name in prose names virtualization code.
static VIRT_DIRS: LazyLock<BTreeSet<String>> = LazyLock::new(|| {
    let kb = Kb::embedded();
    let mut dirs: std::collections::BTreeMap<String, bool> = Default::default();
    for path in kb
        .data
        .files
        .keys()
        .filter(|p| p.starts_with("hw/") && p.ends_with(".c") && !kb.is_removed_file(p))
    {
        let Some(dir) = path
            .split('/')
            .nth(1)
            .filter(|_| path.matches('/').count() == 2)
        else {
            continue;
        };
        let virt = kb
            .path(path)
            .is_some_and(|f| f.class == UseCase::Virtualization);
        *dirs.entry(dir.to_string()).or_insert(true) &= virt;
    }
    dirs.into_iter()
        .filter(|(d, all)| *all && d.len() >= 3)
        .map(|(d, _)| d)
        .collect()
});

/// What the report names that the knowledge base places under the
/// virtualization use case, wherever it stands: device models by QOM type,
/// file stem or acronym in any case (`nvme`, `xhci`, `megasas`), hw/
/// directories made only of virtualization code, the host-side surfaces
/// security.rst lists (VNC, NBD, qcow2, ...), and listed machine types
/// named in prose (`q35`, `pseries`). The second list holds the machines.
///
/// These names never decide a verdict. They stop a non-virtualization one:
/// a TCG path in a side remark, a user-mode binary used to build the PoC or
/// an unlisted board "where it was first seen" must not outvote the device
/// the report is about (that direction is the dangerous one).
pub fn virtualization_mentions(kb: &Kb, text: &str) -> (Vec<Finding>, Vec<Finding>) {
    let mut devices: Vec<Finding> = Vec::new();
    let mut machines: Vec<Finding> = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let acronyms = acronyms(kb);
    let mut note = |word: &str, mut f: Finding, how: &str, out: &mut Vec<Finding>| {
        if f.class != UseCase::Virtualization || !seen.insert(f.subject.clone()) {
            return;
        }
        f.facts.insert(
            0,
            Fact {
                text: format!("{word} {how} [rule: {}]", PROSE_NAME.id),
                source: PROSE_NAME.doc.into(),
            },
        );
        out.push(f);
    };
    for m in WORD.find_iter(text) {
        let word = m.as_str().trim_end_matches('.');
        let lower = word.to_ascii_lowercase();
        if lower.len() < 3 {
            continue;
        }
        // Part of a path (`hw/arm/virt.c`), a file name, an option value or a
        // trace frame is read elsewhere.
        let line_start = text[..m.start()].rfind('\n').map_or(0, |i| i + 1);
        if text[..m.start()].ends_with(['/', '\\', '='])
            || text[m.end()..].starts_with('/')
            || word.contains('.')
            || text[line_start..].trim_start().starts_with('#')
        {
            continue;
        }
        if let Some(machine) = kb.listed_machine(&lower) {
            // `pc` and `virt` are words too: only distinctive names count in prose.
            if lower != "pc" && lower != "virt" {
                let mut f = kb.machine(&machine.machine);
                f.class = UseCase::Virtualization;
                note(word, f, "is a listed machine type", &mut machines);
            }
            continue;
        }
        if let Some((_, path)) = HOST_SURFACE_WORDS.iter().find(|(w, _)| *w == lower) {
            if let Some(f) = kb.path(path) {
                note(
                    word,
                    refine(kb, f),
                    "names a host-side surface",
                    &mut devices,
                );
            }
            continue;
        }
        // How much the word alone says: a name with a digit, hyphen or
        // underscore (`e1000e`, `virtio-blk`) or an upper-case acronym (`XHCI`)
        // is a name; a plain word (`serial`, `test`) is one only right before
        // what it names ("the nvme controller", "the pvscsi device").
        let marked = lower.len() >= 4
            && lower
                .chars()
                .any(|c| c.is_ascii_digit() || c == '-' || c == '_')
            && lower.chars().any(|c| c.is_ascii_alphabetic());
        // `XHCI`, and `xHCI` as the specifications write it.
        let acronym = word.len() >= 3
            && word.chars().all(|c| c.is_ascii_alphanumeric())
            && word.chars().filter(|c| c.is_ascii_uppercase()).count() >= 3
            && word.chars().filter(|c| c.is_ascii_lowercase()).count() <= 1;
        // Prose names a device before (or, in French and Spanish, after) what it is.
        let before_noun =
            DEVICE_NOUN.is_match(&text[m.end()..]) || NOUN_BEFORE.is_match(&text[..m.start()]);
        if !(marked || acronym || before_noun) || ABSTRACT_TYPES.contains(&lower.as_str()) {
            continue;
        }
        if kb.data.qom_types.contains_key(&lower) {
            if let Some(f) = kb.device(&lower) {
                note(word, refine(kb, f), "is a QOM type name", &mut devices);
                continue;
            }
        }
        if marked {
            let file = kb
                .resolve_component(&lower)
                .filter(|p| p.starts_with("hw/"))
                .and_then(|p| kb.path(&p))
                .or_else(|| {
                    // A stem several files share (`virtio-blk.c` of hw/block and of
                    // the vmapple board): one of them is virtualization code, which
                    // is enough to stop a non-virtualization verdict.
                    kb.files_named(&format!("{lower}.c"))
                        .iter()
                        .filter_map(|p| kb.path(p))
                        .find(|f| f.class == UseCase::Virtualization)
                })
                .or_else(|| {
                    // A family name QEMU spells out per bus or part
                    // (`virtio-serial` for `virtio-serial-pci` and
                    // virtio-serial-bus.c): every QOM type it begins
                    // must be virtualization code, or it says nothing.
                    let prefix = format!("{lower}-");
                    let found: Vec<Finding> = kb
                        .data
                        .qom_types
                        .keys()
                        .filter(|t| t.starts_with(&prefix))
                        .filter_map(|t| kb.device(t))
                        .collect();
                    let all_virt = !found.is_empty()
                        && found.iter().all(|f| f.class == UseCase::Virtualization);
                    found.into_iter().next().filter(|_| all_virt)
                });
            if let Some(f) = file {
                note(
                    word,
                    refine(kb, f),
                    "names a device model's file",
                    &mut devices,
                );
                continue;
            }
        }
        if let Some(f) = acronyms.get(&lower).and_then(|p| kb.path(p)) {
            note(
                word,
                refine(kb, f),
                "names one device model's file",
                &mut devices,
            );
            continue;
        }
        if VIRT_DIRS.contains(&lower) && std::ptr::eq(kb, Kb::embedded()) {
            if let Some(f) = kb.directory(&format!("hw/{lower}")) {
                note(
                    word,
                    f,
                    "names a directory of virtualization code",
                    &mut devices,
                );
            }
        }
    }
    for (re, path) in PHRASES.iter() {
        if let Some(m) = re.find(text) {
            if let Some(f) = kb.path(path) {
                note(
                    m.as_str(),
                    refine(kb, f),
                    "names a host-side surface",
                    &mut devices,
                );
            }
        }
    }
    (devices, machines)
}

/// Phrases and options that name a host-side surface security.rst lists:
/// the migration stream. (`-kernel` is in most reproducers, TCG ones too.)
static PHRASES: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    [
        (
            r"(?i)\b(live migration|migration (stream|source|destination|channel|data)|incoming migration)\b|(?:^|\s)-incoming\b",
            "migration/migration.c",
        ),
    ]
    .into_iter()
    .map(|(re, p)| (Regex::new(re).unwrap(), p))
    .collect()
});

/// Whether the report speaks of devices: their names, their buses, their
/// DMA and registers, migration streams and images. Instruction emulation
/// described in words is non-virtualization only in a report that does not.
pub fn device_language(text: &str) -> bool {
    static DEVICE_WORDS: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\b(nics?|network (card|adapter|interface)|controllers?|hbas?|adapters?|device models?|emulated devices?|dma|descriptors?|mmio|bars?|pci(e)?|usb|scsi|sata|ide|floppy|keyboard|mouse|bridges?|codecs?|audio|display|framebuffer|disks?|block devices?|migration|virtio|vhost|images?|loader|uart|serial port|ethernet)\b|контроллер|сетев|contrôleur|controlador|コントローラ|控制器|网卡")
            .unwrap()
    });
    DEVICE_WORDS.is_match(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kb() -> &'static Kb {
        Kb::embedded()
    }

    fn class(p: &str) -> Option<UseCase> {
        path(kb(), p).map(|f| f.class)
    }

    #[test]
    fn virtualization_names_in_prose_are_found_but_plain_words_are_not() {
        let subjects = |text: &str| -> Vec<String> {
            let (devices, machines) = virtualization_mentions(kb(), text);
            devices
                .iter()
                .chain(&machines)
                .map(|f| f.file.clone().unwrap_or_else(|| f.subject.clone()))
                .collect()
        };
        for (text, expected) in [
            (
                "Heap overflow in the virtio-blk device",
                "hw/block/virtio-blk.c",
            ),
            ("through the megasas SAS HBA", "hw/scsi/megasas.c"),
            ("the nvme controller trusts the PRP count", "device nvme"),
            ("Le contrôleur ahci écrit hors limites", "hw/ide/ahci.c"),
            ("An XHCI ring loop", "hw/usb/hcd-xhci.c"),
            ("an unauthenticated VNC client", "ui/vnc.c"),
            ("It reproduces on q35 too", "hw/i386/pc_q35.c"),
            (
                "translate-all.c: virtio-serial overflow",
                "hw/char/virtio-serial-bus.c",
            ),
        ] {
            let got = subjects(text);
            assert!(
                got.iter().any(|s| s.starts_with(expected)),
                "{text:?}: {got:?}"
            );
        }
        for text in [
            "The test device and the network device are fine; the CPU and the NIC too.",
            "x86 SSE emulation of PCMPESTRI; see hw/usb/hcd-xhci.c for style.",
            "#0 0x55 in xhci_kick_epctx hw/usb/hcd-xhci.c:100",
            "a pc and a virt board",
        ] {
            assert!(subjects(text).is_empty(), "{text:?}: {:?}", subjects(text));
        }
    }

    #[test]
    fn listed_board_directories_come_from_the_machine_list() {
        let dirs = listed_board_dirs(kb());
        for d in ["arm", "i386", "ppc", "riscv", "s390x", "loongarch"] {
            assert!(dirs.contains(d), "{d}: {dirs:?}");
        }
        for d in ["mips", "sparc", "m68k", "hppa", "sh4"] {
            assert!(!dirs.contains(d), "{d}");
        }
    }

    #[test]
    fn cpu_code_of_unlisted_architectures_is_non_virtualization() {
        for p in [
            "target/mips/kvm.c",
            "target/hppa/int_helper.c",
            "target/m68k/cpu.c",
        ] {
            let f = path(kb(), p).unwrap();
            assert_eq!(f.class, UseCase::NonVirtualization, "{p}");
            // The knowledge base itself places most of them now (per-target source sets);
            // the rule covers what it cannot, and either says why.
            let why = &f.facts.last().unwrap().text;
            assert!(
                why.contains("[rule: unlisted-target-cpu]")
                    || why.contains("lists no machine type"),
                "{p}: {why}"
            );
        }
        // Already TCG-only by the overlay: the class stands, the overlay's reason decides.
        assert_eq!(
            class("target/sparc/translate.c"),
            Some(UseCase::NonVirtualization)
        );
    }

    #[test]
    fn instruction_helpers_are_tcg_but_shared_cpu_state_is_not() {
        for p in [
            "target/riscv/vector_helper.c",
            "target/arm/tcg/mve_helper.c",
            "target/i386/fpu_helper.c",
            "target/ppc/int_helper.c",
            "target/s390x/vec_int_helper.c",
        ] {
            assert_eq!(class(p), Some(UseCase::NonVirtualization), "{p}");
        }
        for p in [
            "target/i386/xsave_helper.c",
            "target/s390x/mmu_helper.c",
            "target/riscv/cpu_helper.c",
            "target/i386/kvm/kvm.c",
            "target/arm/kvm.c",
            "target/i386/cpu.c",
            "target/arm/machine.c",
            "hw/intc/arm_gicv3_kvm.c",
            "hw/virtio/virtio.c",
        ] {
            assert_eq!(class(p), Some(UseCase::Virtualization), "{p}");
        }
    }

    #[test]
    fn boards_of_unlisted_architectures_are_non_virtualization() {
        let f = path(kb(), "hw/sparc/sun4m.c").unwrap();
        assert_eq!(f.class, UseCase::NonVirtualization);
        let why = &f.facts.last().unwrap().text;
        assert!(
            why.contains("unlisted-arch-board") || why.contains("lists no machine type"),
            "{why}"
        );
        // A board directory of a listed architecture is left to the knowledge base.
        assert_eq!(class("hw/arm/virt.c"), Some(UseCase::Virtualization));
        assert_eq!(class("hw/i386/pc_q35.c"), Some(UseCase::Virtualization));
    }

    #[test]
    fn removed_files_are_judged_by_their_family() {
        // Paths no tree examined has (the older trees supply the real removed files).
        for p in [
            "hw/display/omap_dss_v2.c",
            "hw/arm/pxa2xx_extra.c",
            "hw/display/pxa2xx_fb2.c",
        ] {
            let f = path(kb(), p).unwrap_or_else(|| panic!("{p}"));
            assert_eq!(f.class, UseCase::NonVirtualization, "{p}");
            assert!(
                f.facts[0].text.contains("[rule: file-family]"),
                "{:?}",
                f.facts
            );
        }
        // A family that mixes classes, or a short part name, says nothing.
        assert!(path(kb(), "hw/usb/hcd-removed.c").is_none());
        assert!(path(kb(), "hw/sd/sd_removed.c").is_none());
        assert_ne!(
            class("hw/net/e1000_removed.c"),
            Some(UseCase::NonVirtualization)
        );
        assert!(path(kb(), "hw/display/virtio-gpu-removed.c").is_none());
    }

    #[test]
    fn a_listed_target_directory_needs_the_reports_words() {
        let k = kb();
        let tcg = target_directory(
            k,
            "target/ppc",
            "target/ppc: fix vperm\nThe AltiVec vperm instruction helper_vperm() overflows",
        )
        .unwrap();
        assert!(tcg.1, "the words decided");
        assert_eq!(tcg.0.class, UseCase::NonVirtualization);
        let kvm = target_directory(
            k,
            "target/i386",
            "target/i386: fix cpuid leaf 0xd\nThe XSAVE area size is wrong under KVM",
        )
        .unwrap();
        assert_eq!(kvm.0.class, UseCase::Virtualization);
        assert!(target_directory(k, "target/arm", "target/arm: tidy up").is_none());
        assert!(
            target_directory(k, "target/s390x", "target/s390x: fix the STFLE instruction")
                .is_none(),
            "s390x intercepts instructions under KVM"
        );
        let mips = target_directory(k, "target/mips", "target/mips: anything").unwrap();
        assert!(!mips.1, "the directory decided");
        assert_eq!(mips.0.class, UseCase::NonVirtualization);
    }
}
