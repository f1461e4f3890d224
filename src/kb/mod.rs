//! Boundary knowledge base: which use case of `security.rst` a piece of QEMU
//! falls under, with the chain of facts that says so.
//!
//! The data file (`kb/qemu-kb.json`) is derived from a real QEMU tree by
//! [`build`] (MAINTAINERS, Kconfig, meson, QOM type names, the machine list of
//! `security.rst`) and committed; a small hand-kept overlay (`kb/overlay.toml`)
//! adds what sources cannot say, each entry with its reason and doc section.
//! Lookups here are pure and cheap: the file is parsed once at start-up.

pub mod build;
pub mod overlay;

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

pub use overlay::{Overlay, OverlayEntry, OverlayMatch};

/// Version of the data-file layout; bump when the JSON shape changes.
pub const FORMAT_VERSION: u32 = 2;

/// The committed knowledge base, embedded in the binary.
pub const EMBEDDED_KB: &str = include_str!("../../kb/qemu-kb.json");
/// The committed overlay, embedded in the binary.
pub const EMBEDDED_OVERLAY: &str = include_str!("../../kb/overlay.toml");

/// The use cases of `security.rst`, plus the honest third answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UseCase {
    Virtualization,
    NonVirtualization,
    NeedsJudgement,
}

impl UseCase {
    pub fn as_str(self) -> &'static str {
        match self {
            UseCase::Virtualization => "virtualization",
            UseCase::NonVirtualization => "non-virtualization",
            UseCase::NeedsJudgement => "needs-judgement",
        }
    }
}

impl std::fmt::Display for UseCase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for UseCase {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "virtualization" => Ok(UseCase::Virtualization),
            "non-virtualization" => Ok(UseCase::NonVirtualization),
            "needs-judgement" | "needs-judgment" | "unclear" => Ok(UseCase::NeedsJudgement),
            other => Err(format!(
                "unknown use case '{other}' (expected virtualization, non-virtualization or needs-judgement)"
            )),
        }
    }
}

/// How a Kconfig symbol is reached from a listed machine type, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reach {
    /// Built into the machine through `select` (and unconditional defaults).
    Selected,
    /// Built by default through `imply`: present unless the build opts out.
    Implied,
    /// Only user-pluggable (`default y if PCI_DEVICES` and the like).
    Pluggable,
}

/// A machine type listed by `security.rst` and what it was resolved to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedMachine {
    /// Target architecture as `security.rst` names it (`x86_64`).
    pub arch: String,
    /// Machine type name (`q35`).
    pub machine: String,
    /// The source file that defines it, if found.
    pub file: Option<String>,
    /// The Kconfig symbol that builds that file.
    pub symbol: Option<String>,
    /// Other names of the machine (versioned families such as `pc-q35`).
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// How one file relates to one listed machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachineReach {
    /// `arch/machine`, e.g. `x86_64/q35`.
    pub machine: String,
    pub reach: Reach,
    /// Kconfig path from the machine's symbol to the file's symbol (`Q35 -imply-> E1000E_PCI_EXPRESS`).
    pub chain: Vec<String>,
}

/// A MAINTAINERS section covering a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Maintainers {
    pub section: String,
    pub status: Option<String>,
}

/// What the QEMU tree says about one source file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileFacts {
    /// MAINTAINERS sections, most specific first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub maintainers: Vec<Maintainers>,
    /// Meson source sets and the `CONFIG_` symbols that build the file (`system_ss: USB_XHCI`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub built_by: Vec<String>,
    /// QOM type names the file defines.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub qom_types: Vec<String>,
    /// Best reach per listed machine (only machines that reach it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub listed: Vec<MachineReach>,
    /// Unlisted boards whose Kconfig selects or implies the file (first few).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other_boards: Vec<String>,
    /// Built unconditionally for system emulation (core code every machine uses).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub common: bool,
    /// The derived class.
    pub class: UseCase,
    /// One sentence saying why.
    pub reason: String,
}

/// The derived knowledge base, as stored in `kb/qemu-kb.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KbData {
    pub format_version: u32,
    /// QEMU version of the tree the facts come from (its `VERSION` file).
    pub qemu_version: String,
    /// SHA-256 of the `security.rst` the machine list was parsed from.
    pub security_rst_sha256: String,
    /// Accelerators `security.rst` names for the virtualization use case (lowercase).
    pub virtualization_accels: Vec<String>,
    /// Accelerators it names for the non-virtualization use case.
    pub non_virtualization_accels: Vec<String>,
    pub listed_machines: Vec<ListedMachine>,
    /// Unlisted machine type names and the file defining them.
    pub other_machines: BTreeMap<String, String>,
    /// QOM type name to the file that defines it.
    pub qom_types: BTreeMap<String, String>,
    /// Function name to the one classified file that defines it (names defined
    /// in several classified files, and all-caps macro bodies, are left out).
    pub functions: BTreeMap<String, String>,
    pub files: BTreeMap<String, FileFacts>,
}

/// One step of an explanation, printed by `kb explain` and cited in notes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fact {
    pub text: String,
    /// The document section or source the fact rests on.
    pub source: String,
}

/// A lookup's answer: a class and the facts behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// What was looked up (`hw/usb/hcd-xhci.c`, `device e1000e`, `machine q35`).
    pub subject: String,
    pub class: UseCase,
    /// True when the finding rests on a hand-kept overlay entry.
    pub from_overlay: bool,
    /// Surface the overlay names (`untrusted-input`, `trusted-interface`, `tcg`, ...).
    pub surface: Option<String>,
    pub facts: Vec<Fact>,
    /// The source file behind the finding, when there is one.
    pub file: Option<String>,
}

impl Finding {
    /// The fact that decided the class: the overlay's reason, or the derived conclusion.
    pub fn deciding_fact(&self) -> Option<&Fact> {
        if self.from_overlay {
            self.facts.first()
        } else {
            self.facts.last()
        }
    }
}

/// The knowledge base: derived data plus the overlay.
#[derive(Debug, Clone)]
pub struct Kb {
    pub data: KbData,
    pub overlay: Overlay,
    /// File stem (`hcd-xhci`) to path, for stems that name exactly one file.
    stems: BTreeMap<String, String>,
}

const SEC_VIRT: &str = "security.rst, Virtualization Use Case";
const SEC_NONVIRT: &str = "security.rst, Non-virtualization Use Case";

static EMBEDDED: LazyLock<Kb> = LazyLock::new(|| {
    Kb::from_parts(EMBEDDED_KB, EMBEDDED_OVERLAY).expect("the embedded knowledge base is valid")
});

impl Kb {
    /// The knowledge base committed in the repository.
    pub fn embedded() -> &'static Kb {
        &EMBEDDED
    }

    /// Parses a data file and an overlay.
    ///
    /// # Errors
    /// When either does not parse, or the data file has another format version.
    pub fn from_parts(data_json: &str, overlay_toml: &str) -> Result<Kb, KbError> {
        let data: KbData = serde_json::from_str(data_json).map_err(KbError::Data)?;
        if data.format_version != FORMAT_VERSION {
            return Err(KbError::Version {
                found: data.format_version,
                expected: FORMAT_VERSION,
            });
        }
        let overlay = Overlay::parse(overlay_toml)?;
        let mut stems: BTreeMap<String, Option<String>> = BTreeMap::new();
        for path in data.files.keys() {
            if let Some(stem) = file_stem(path) {
                stems
                    .entry(stem.to_string())
                    .and_modify(|v| *v = None)
                    .or_insert_with(|| Some(path.clone()));
            }
        }
        let stems = stems
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect();
        Ok(Kb {
            data,
            overlay,
            stems,
        })
    }

    /// True when `arch`/`machine` (or an alias such as `pc-q35-9.2`) is a listed machine type.
    pub fn listed_machine(&self, machine: &str) -> Option<&ListedMachine> {
        let name = machine.trim().to_ascii_lowercase();
        let unversioned = strip_version(&name);
        self.data.listed_machines.iter().find(|m| {
            m.machine == name
                || m.aliases.iter().any(|a| *a == name || *a == unversioned)
                || (unversioned != name && m.machine == unversioned)
        })
    }

    /// Class of an accelerator name, from `security.rst` and the overlay.
    pub fn accel(&self, accel: &str) -> Option<Finding> {
        let a = accel.trim().to_ascii_lowercase();
        if let Some(f) = self.overlay.find(&OverlayMatch::Accel(a.clone())) {
            return Some(f);
        }
        if self.data.virtualization_accels.contains(&a) {
            return Some(Finding {
                subject: format!("accelerator {a}"),
                class: UseCase::Virtualization,
                from_overlay: false,
                surface: None,
                facts: vec![Fact {
                    text: format!("{a} is a virtualization accelerator named by security.rst"),
                    source: SEC_VIRT.into(),
                }],
                file: None,
            });
        }
        if self.data.non_virtualization_accels.contains(&a) {
            return Some(Finding {
                subject: format!("accelerator {a}"),
                class: UseCase::NonVirtualization,
                from_overlay: false,
                surface: Some("tcg".into()),
                facts: vec![Fact {
                    text: format!("{a} is the emulation the non-virtualization use case covers"),
                    source: SEC_NONVIRT.into(),
                }],
                file: None,
            });
        }
        None
    }

    /// Class of a machine type: listed ones are virtualization, any other is not.
    pub fn machine(&self, machine: &str) -> Finding {
        let name = machine.trim().to_ascii_lowercase();
        if let Some(m) = self.listed_machine(&name) {
            return Finding {
                subject: format!("machine {name}"),
                class: UseCase::Virtualization,
                from_overlay: false,
                surface: None,
                facts: vec![Fact {
                    text: format!(
                        "{} is listed for {} among the supported machine types{}",
                        m.machine,
                        m.arch,
                        m.file
                            .as_deref()
                            .map(|f| format!(" (defined in {f})"))
                            .unwrap_or_default()
                    ),
                    source: SEC_VIRT.into(),
                }],
                file: m.file.clone(),
            };
        }
        let file = self.data.other_machines.get(&name).cloned();
        Finding {
            subject: format!("machine {name}"),
            class: UseCase::NonVirtualization,
            from_overlay: false,
            surface: None,
            facts: vec![Fact {
                text: format!(
                    "{name} is not among the listed machine types{}; \"any machine type not listed here ... falls under the non-virtualization use case\"",
                    file.as_deref().map(|f| format!(" (defined in {f})")).unwrap_or_default()
                ),
                source: SEC_VIRT.into(),
            }],
            file,
        }
    }

    /// Class of a QOM device type (`-device e1000e`).
    pub fn device(&self, device: &str) -> Option<Finding> {
        let name = device.trim().to_ascii_lowercase();
        if let Some(f) = self.overlay.find(&OverlayMatch::Device(name.clone())) {
            return Some(f);
        }
        let path = self.data.qom_types.get(&name)?;
        self.defined_in(
            path,
            format!("device {name}"),
            format!("QOM type {name} is defined in {path}"),
            "QEMU source (TypeInfo)",
        )
    }

    /// The finding for `path`, renamed after what the report named and with the
    /// definition that led there as its first fact.
    fn defined_in(
        &self,
        path: &str,
        subject: String,
        definition: String,
        source: &str,
    ) -> Option<Finding> {
        let mut finding = self.path(path)?;
        finding.subject = subject;
        finding.facts.insert(
            0,
            Fact {
                text: definition,
                source: source.into(),
            },
        );
        Some(finding)
    }

    /// Resolves a bare component name (`tulip`, `hcd-xhci`, `hw/net/e1000e`) to a file.
    pub fn resolve_component(&self, name: &str) -> Option<String> {
        let name = name.trim().trim_end_matches(':').to_ascii_lowercase();
        if self.data.files.contains_key(&name) {
            return Some(name);
        }
        for ext in [".c", "-pci.c", "_core.c"] {
            let candidate = format!("{name}{ext}");
            if self.data.files.contains_key(&candidate) {
                return Some(candidate);
            }
        }
        if let Some(path) = self.data.qom_types.get(&name) {
            return Some(path.clone());
        }
        let stem = name.rsplit('/').next().unwrap_or(&name);
        self.stems
            .get(stem)
            .or_else(|| self.stems.get(&stem.replace('-', "_")))
            .cloned()
    }

    /// Class of a source path or directory, overlay first, then derived facts.
    pub fn path(&self, path: &str) -> Option<Finding> {
        let path = path.trim().trim_start_matches("./");
        let overlay = self.overlay.find(&OverlayMatch::Path(path.to_string()));
        let Some(facts) = self.data.files.get(path) else {
            return overlay.map(|mut f| {
                f.file = Some(path.to_string());
                f
            });
        };
        let mut out = Vec::new();
        out.extend(maintainer_facts(facts));
        if !facts.built_by.is_empty() {
            out.push(Fact {
                text: format!("built by {}", facts.built_by.join("; ")),
                source: "meson.build".into(),
            });
        }
        if !facts.qom_types.is_empty() {
            out.push(Fact {
                text: format!("defines QOM types {}", facts.qom_types.join(", ")),
                source: "QEMU source (TypeInfo)".into(),
            });
        }
        for reach in &facts.listed {
            out.push(Fact {
                text: format!(
                    "{} reaches it ({}): {}",
                    reach.machine,
                    match reach.reach {
                        Reach::Selected => "selected",
                        Reach::Implied => "implied",
                        Reach::Pluggable => "only pluggable",
                    },
                    reach.chain.join(" ")
                ),
                source: "Kconfig".into(),
            });
        }
        if !facts.other_boards.is_empty() {
            out.push(Fact {
                text: format!(
                    "selected or implied by unlisted boards: {}",
                    facts.other_boards.join(", ")
                ),
                source: "Kconfig".into(),
            });
        }
        out.push(Fact {
            text: facts.reason.clone(),
            source: match facts.class {
                UseCase::NonVirtualization => SEC_NONVIRT.into(),
                _ => SEC_VIRT.into(),
            },
        });
        // The overlay decides the class; the derived chain stays as evidence.
        if let Some(mut f) = overlay {
            f.facts.extend(out);
            f.file = Some(path.to_string());
            return Some(f);
        }
        Some(Finding {
            subject: path.to_string(),
            class: facts.class,
            from_overlay: false,
            surface: None,
            facts: out,
            file: Some(path.to_string()),
        })
    }

    /// Class of a directory: the overlay's, or the majority class of the files below it.
    pub fn directory(&self, dir: &str) -> Option<Finding> {
        let dir = format!("{}/", dir.trim().trim_end_matches('/'));
        if let Some(mut f) = self.overlay.find(&OverlayMatch::Path(dir.clone())) {
            f.file = Some(dir);
            return Some(f);
        }
        let mut counts: BTreeMap<UseCase, usize> = BTreeMap::new();
        for (_, facts) in self
            .data
            .files
            .range(dir.clone()..)
            .take_while(|(p, _)| p.starts_with(&dir))
        {
            *counts.entry(facts.class).or_default() += 1;
        }
        let total: usize = counts.values().sum();
        let (class, n) = counts.into_iter().max_by_key(|(_, n)| *n)?;
        // A directory speaks for its files only when they mostly agree.
        if n * 3 < total * 2 {
            return None;
        }
        Some(Finding {
            subject: dir.clone(),
            class,
            from_overlay: false,
            surface: None,
            facts: vec![Fact {
                text: format!("{n} of the {total} source files under {dir} are {class}"),
                source: "Kconfig and meson.build, per file".into(),
            }],
            file: Some(dir),
        })
    }

    /// Answers `kb explain`: a path, a directory, a device, a machine or an accelerator.
    pub fn explain(&self, subject: &str) -> Option<Finding> {
        let s = subject.trim();
        if let Some(rest) = s.strip_prefix("machine ").or_else(|| s.strip_prefix("-M ")) {
            return Some(self.machine(rest));
        }
        if let Some(rest) = s.strip_prefix("device ") {
            return self.device(rest);
        }
        if let Some(f) = self.accel(s) {
            return Some(f);
        }
        if s.contains('/') {
            if let Some(f) = self.path(s) {
                return Some(f);
            }
            if s.ends_with('/') {
                return self.directory(s);
            }
        }
        if self.listed_machine(s).is_some() || self.data.other_machines.contains_key(s) {
            return Some(self.machine(s));
        }
        if let Some(f) = self.device(s) {
            return Some(f);
        }
        if let Some(f) = self.overlay.find(&OverlayMatch::Tool(s.to_string())) {
            return Some(f);
        }
        if let Some(f) = self.function(s.strip_suffix("()").unwrap_or(s)) {
            return Some(f);
        }
        self.resolve_component(s).and_then(|p| self.path(&p))
    }

    /// Class of the one file that defines a C function (`xhci_kick_epctx`).
    pub fn function(&self, name: &str) -> Option<Finding> {
        let name = name.trim();
        let path = self.data.functions.get(name)?;
        self.defined_in(
            path,
            format!("{name}() in {path}"),
            format!("function {name}() is defined in {path}"),
            "QEMU source (function definition)",
        )
    }
}

fn maintainer_facts(facts: &FileFacts) -> Option<Fact> {
    let m = facts.maintainers.first()?;
    Some(Fact {
        text: format!(
            "MAINTAINERS section \"{}\"{}",
            m.section,
            m.status
                .as_deref()
                .map(|s| format!(" ({s})"))
                .unwrap_or_default()
        ),
        source: "MAINTAINERS".into(),
    })
}

fn file_stem(path: &str) -> Option<&str> {
    let name = path.rsplit('/').next()?;
    name.strip_suffix(".c")
}

/// `pc-q35-9.2` → `pc-q35`, `pseries-10.0` → `pseries`.
fn strip_version(name: &str) -> String {
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

#[derive(Debug, thiserror::Error)]
pub enum KbError {
    #[error("knowledge base data does not parse: {0}; rebuild it with `sectriage kb build --qemu-src DIR`")]
    Data(serde_json::Error),
    #[error("knowledge base format version {found}, this build expects {expected}; rebuild it with `sectriage kb build`")]
    Version { found: u32, expected: u32 },
    #[error("overlay does not parse: {0}")]
    Overlay(String),
}
