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

use build::strip_version;

/// Version of the data-file layout; bump when the JSON shape changes.
pub const FORMAT_VERSION: u32 = 3;

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
    /// Versioned families whose latest version registers the listed name as
    /// its alias (`pc-q35` for `q35`); `NAME-X.Y` versions of the name itself
    /// also mean the machine.
    #[serde(default)]
    pub aliases: Vec<String>,
}

/// One definition of a machine type name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MachineDef {
    /// The source file registering it.
    pub file: String,
    /// The `qemu-system-*` targets whose binary builds that file; empty means every target.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
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
    /// Built for every machine of every system-emulation target (core code every machine uses).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub common: bool,
    /// Listed machines (`s390x/s390-ccw-virtio`) whose target builds it for
    /// every machine (a per-target source set with no device condition).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub target_wide: Vec<String>,
    /// The derived class.
    pub class: UseCase,
    /// One sentence saying why.
    pub reason: String,
    /// For a file the tree no longer has: the newest older release examined
    /// whose tree had it, which these facts come from (`7.2.0`). Reports
    /// name the paths of the version they were found in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_release: Option<String>,
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
    /// System-emulation targets (`qemu-system-x86_64`) to their base architecture (`i386`).
    pub system_targets: BTreeMap<String, String>,
    pub listed_machines: Vec<ListedMachine>,
    /// Every machine type name the sources register, with where and for which targets.
    pub machines: BTreeMap<String, Vec<MachineDef>>,
    /// Host tools built from the tree (`qemu-img`) and their own source files.
    pub tools: BTreeMap<String, Vec<String>>,
    /// QOM type name to the file that defines it.
    pub qom_types: BTreeMap<String, String>,
    /// Function name to the one classified file that defines it (names defined
    /// in several classified files, and all-caps macro bodies, are left out).
    pub functions: BTreeMap<String, String>,
    /// Functions of files KVM runs too that only TCG-only files call, with
    /// those callers (`address_space_translate_for_iotlb`: accel/tcg/cputlb.c).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tcg_only_functions: BTreeMap<String, Vec<String>>,
    pub files: BTreeMap<String, FileFacts>,
    /// Older releases whose trees supplied the files, machines, targets,
    /// types and functions this tree no longer has, newest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<String>,
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
        // The tree's own files first; a removed file's stem counts only when
        // no file of the tree has it (hw/ppc/pnv_phb4.c moved to hw/pci-host/).
        for historical in [false, true] {
            let mut found: BTreeMap<String, Option<String>> = BTreeMap::new();
            for (path, facts) in &data.files {
                if facts.last_release.is_some() != historical {
                    continue;
                }
                if let Some(stem) = file_stem(path) {
                    if historical && stems.contains_key(stem) {
                        continue;
                    }
                    found
                        .entry(stem.to_string())
                        .and_modify(|v| *v = None)
                        .or_insert_with(|| Some(path.clone()));
                }
            }
            stems.extend(found);
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

    /// The listed machine type `machine` means on any target (`q35`, or a
    /// version or family name such as `pc-q35-9.2`).
    pub fn listed_machine(&self, machine: &str) -> Option<&ListedMachine> {
        self.listed_machine_on(None, machine)
    }

    /// The listed machine type `machine` means on `target` (`x86_64`), or on
    /// any target when none is given. A name alone is not a machine type:
    /// `virt` is listed for aarch64 but not for m68k.
    pub fn listed_machine_on(&self, target: Option<&str>, machine: &str) -> Option<&ListedMachine> {
        let name = machine.trim().to_ascii_lowercase();
        let unversioned = strip_version(&name);
        self.data.listed_machines.iter().find(|m| {
            target.is_none_or(|t| m.arch == t)
                && (m.machine == name
                    || m.machine == unversioned
                    || m.aliases.iter().any(|a| *a == name || *a == unversioned))
        })
    }

    /// Where the sources register a machine type name (or the family a versioned name belongs to).
    pub fn machine_definitions(&self, machine: &str) -> &[MachineDef] {
        let name = machine.trim().to_ascii_lowercase();
        self.data
            .machines
            .get(&name)
            .or_else(|| self.data.machines.get(&strip_version(&name)))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// True when `target` names a `qemu-system-*` binary of the tree.
    pub fn is_system_target(&self, target: &str) -> bool {
        self.data.system_targets.contains_key(target)
    }

    /// Class of a machine type on the targets a report runs (`qemu-system-m68k
    /// -M virt`): listed for one of them is virtualization, a machine type of
    /// one of them that is not listed for it is not. When no known target is
    /// given, or the name is no machine type of any of them, this is
    /// [`Kb::machine`].
    pub fn machine_on(&self, targets: &[String], machine: &str) -> Finding {
        let name = machine.trim().to_ascii_lowercase();
        let targets: Vec<String> = targets
            .iter()
            .map(|t| t.trim().to_ascii_lowercase())
            .filter(|t| self.is_system_target(t))
            .collect();
        for t in &targets {
            if let Some(m) = self.listed_machine_on(Some(t), &name) {
                return listed_finding(&name, m, &format!("for {t}"));
            }
        }
        for t in &targets {
            let defs: Vec<&MachineDef> = self
                .machine_definitions(&name)
                .iter()
                .filter(|d| d.targets.is_empty() || d.targets.contains(t))
                .collect();
            let Some(def) = defs.first() else { continue };
            let listed_for = self.listed_targets(&name);
            return Finding {
                subject: format!("machine {name} on {t}"),
                class: UseCase::NonVirtualization,
                from_overlay: false,
                surface: None,
                facts: vec![Fact {
                    text: format!(
                        "{name} is a machine type of qemu-system-{t} (defined in {}) that is not listed for {t}{}; \"any machine type not listed here ... falls under the non-virtualization use case\"",
                        def.file,
                        if listed_for.is_empty() {
                            String::new()
                        } else {
                            format!(" (security.rst lists {name} only for {})", listed_for.join(", "))
                        }
                    ),
                    source: SEC_VIRT.into(),
                }],
                file: Some(def.file.clone()),
            };
        }
        self.machine(&name)
    }

    /// A system-emulation target for which `security.rst` lists no machine
    /// type (`sparc64`, `m68k`, 32-bit `arm`): whatever machine a report runs
    /// with `qemu-system-<target>`, it is not a listed one.
    pub fn unlisted_system_target(&self, target: &str) -> Option<Finding> {
        let t = target.trim().to_ascii_lowercase();
        if !self.is_system_target(&t) || self.data.listed_machines.iter().any(|m| m.arch == t) {
            return None;
        }
        Some(Finding {
            subject: format!("qemu-system-{t}"),
            class: UseCase::NonVirtualization,
            from_overlay: false,
            surface: None,
            facts: vec![Fact {
                text: format!(
                    "security.rst lists no machine type for {t}, so every machine qemu-system-{t} runs falls under the non-virtualization use case"
                ),
                source: SEC_VIRT.into(),
            }],
            file: None,
        })
    }

    /// Targets for which `machine` is listed.
    fn listed_targets(&self, machine: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .data
            .listed_machines
            .iter()
            .filter(|m| self.listed_machine_on(Some(&m.arch), machine).is_some())
            .map(|m| m.arch.clone())
            .collect();
        let mut seen = std::collections::BTreeSet::new();
        out.retain(|t| seen.insert(t.clone()));
        out
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

    /// Class of a machine type when the target is not known: listed for some
    /// target is virtualization (the cautious reading; the finding says which
    /// other targets define an unlisted machine of that name), any other is not.
    pub fn machine(&self, machine: &str) -> Finding {
        let name = machine.trim().to_ascii_lowercase();
        let defs = self.machine_definitions(&name);
        let listed_for = self.listed_targets(&name);
        if let Some(m) = self.listed_machine(&name) {
            let mut finding = listed_finding(&name, m, &format!("for {}", listed_for.join(", ")));
            let elsewhere: Vec<String> = defs
                .iter()
                .filter(|d| {
                    d.targets.is_empty() || d.targets.iter().any(|t| !listed_for.contains(t))
                })
                .map(|d| {
                    let unlisted: Vec<&String> = d
                        .targets
                        .iter()
                        .filter(|t| !listed_for.contains(t))
                        .collect();
                    if unlisted.is_empty() {
                        format!("{} (every target)", d.file)
                    } else {
                        format!(
                            "{} ({})",
                            d.file,
                            unlisted
                                .iter()
                                .map(|t| t.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    }
                })
                .collect();
            if !elsewhere.is_empty() {
                finding.facts.push(Fact {
                    text: format!(
                        "no qemu-system target is named, and {name} is also an unlisted machine type of other targets: {}; the target decides",
                        elsewhere.join(", ")
                    ),
                    source: "QEMU source (machine type names per target)".into(),
                });
            }
            return finding;
        }
        let file = defs.first().map(|d| d.file.clone());
        let defined = defs
            .iter()
            .map(|d| {
                if d.targets.is_empty() {
                    format!("{} (every target)", d.file)
                } else {
                    format!("{} ({})", d.file, d.targets.join(", "))
                }
            })
            .collect::<Vec<_>>();
        Finding {
            subject: format!("machine {name}"),
            class: UseCase::NonVirtualization,
            from_overlay: false,
            surface: None,
            facts: vec![Fact {
                text: format!(
                    "{name} is not among the listed machine types{}; \"any machine type not listed here ... falls under the non-virtualization use case\"",
                    if defined.is_empty() {
                        String::new()
                    } else {
                        format!(" (defined in {})", defined.join(", "))
                    }
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

    /// Files under `hw/` whose stem starts with `prefix` and a separator
    /// (`cirrus` gives `hw/display/cirrus_vga.c`, `cirrus_vga_isa.c`).
    pub fn hw_files_with_stem_prefix(&self, prefix: &str) -> Vec<&str> {
        let prefix = prefix.trim().to_ascii_lowercase();
        self.current_first(|p| {
            let stem = p.rsplit('/').next().unwrap_or(p).trim_end_matches(".c");
            p.starts_with("hw/")
                && p.ends_with(".c")
                && stem
                    .strip_prefix(prefix.as_str())
                    .is_some_and(|rest| rest.starts_with(['_', '-']))
        })
    }

    /// Files whose name (the last path component) is `name` (`seg_helper.c`).
    pub fn files_named(&self, name: &str) -> Vec<&str> {
        self.current_first(|p| p.rsplit('/').next() == Some(name))
    }

    /// The tree's files that match, or when none does, the removed files that
    /// match (a name means today's file when today's tree has one).
    fn current_first(&self, matches: impl Fn(&str) -> bool) -> Vec<&str> {
        let mut current = Vec::new();
        let mut removed = Vec::new();
        for (path, facts) in &self.data.files {
            if matches(path) {
                if facts.last_release.is_some() {
                    removed.push(path.as_str());
                } else {
                    current.push(path.as_str());
                }
            }
        }
        if current.is_empty() {
            removed
        } else {
            current
        }
    }

    /// Whether `path` is a file the tree no longer has (its facts come from an
    /// older release).
    pub fn is_removed_file(&self, path: &str) -> bool {
        self.data
            .files
            .get(path)
            .is_some_and(|f| f.last_release.is_some())
    }

    /// Class of a source path or directory, overlay first, then derived facts.
    pub fn path(&self, path: &str) -> Option<Finding> {
        let path = path.trim().trim_start_matches("./");
        let overlay = self.overlay.find(&OverlayMatch::Path(path.to_string()));
        let Some(facts) = self.data.files.get(path) else {
            if let Some(tool) = self.tool_of(path) {
                return Some(self.tool_finding(tool, Some(path)));
            }
            return overlay.map(|mut f| {
                f.file = Some(path.to_string());
                f
            });
        };
        let mut out = Vec::new();
        if let Some(release) = &facts.last_release {
            out.push(Fact {
                text: format!(
                    "no longer in QEMU {}'s tree; these facts come from QEMU {release}, the newest release examined that has it",
                    self.data.qemu_version
                ),
                source: format!("QEMU {release} source tree"),
            });
        }
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
        for reach in facts.listed.iter().filter(|r| !r.chain.is_empty()) {
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
        if !facts.target_wide.is_empty() {
            out.push(Fact {
                text: format!(
                    "built for every machine of the target of {}",
                    facts.target_wide.join(", ")
                ),
                source: "meson.build".into(),
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

    /// The host tool (`qemu-img`) whose own source file `path` is.
    pub fn tool_of(&self, path: &str) -> Option<&str> {
        self.data
            .tools
            .iter()
            .find(|(_, files)| files.first().is_some_and(|f| f == path))
            .map(|(tool, _)| tool.as_str())
    }

    /// Class of a host tool: the overlay's (security.rst names the untrusted
    /// inputs the tools handle: disk images, NBD clients), else undecided,
    /// since security.rst places no tool in either use case by name.
    pub fn tool(&self, tool: &str) -> Option<Finding> {
        let tool = tool.trim().to_ascii_lowercase();
        if !self.data.tools.contains_key(&tool) {
            return self.overlay.find(&OverlayMatch::Tool(tool));
        }
        Some(self.tool_finding(&tool, None))
    }

    fn tool_finding(&self, tool: &str, path: Option<&str>) -> Finding {
        let sources = self.data.tools.get(tool).cloned().unwrap_or_default();
        let built = Fact {
            text: format!(
                "{} is a host tool built by meson.build (executable('{tool}'){}), not part of a machine type",
                path.unwrap_or(tool),
                if sources.is_empty() {
                    String::new()
                } else {
                    format!(" from {}", sources.join(", "))
                }
            ),
            source: "meson.build".into(),
        };
        let overlay = self
            .overlay
            .find(&OverlayMatch::Tool(tool.to_string()))
            .or_else(|| path.and_then(|p| self.overlay.find(&OverlayMatch::Path(p.to_string()))));
        let mut finding = overlay.unwrap_or_else(|| Finding {
            subject: tool.to_string(),
            class: UseCase::NeedsJudgement,
            from_overlay: false,
            surface: Some("host-tool".into()),
            facts: vec![Fact {
                text: format!("security.rst places no host tool in either use case by name; whether {tool} handles untrusted input decides"),
                source: "security.rst, Virtualization Use Case".into(),
            }],
            file: None,
        });
        if let Some(p) = path {
            finding.subject = p.to_string();
        }
        finding.file = Some(
            path.map(str::to_string)
                .unwrap_or_else(|| sources.first().cloned().unwrap_or_else(|| tool.to_string())),
        );
        if finding.from_overlay {
            finding.facts.push(built);
        } else {
            finding.facts.insert(0, built);
        }
        finding
    }

    /// Class of a directory (`hw/usb/` or `hw/usb`): the overlay's, or the
    /// class most of its files have, each classified as [`Kb::path`] would
    /// (overlay included). `None` when they do not mostly agree.
    pub fn directory(&self, dir: &str) -> Option<Finding> {
        let (finding, agreed) = self.directory_summary(dir)?;
        agreed.then_some(finding)
    }

    /// The directory's class and whether its files mostly (two thirds) agree;
    /// when they do not, the finding is needs-judgement with the counts.
    fn directory_summary(&self, dir: &str) -> Option<(Finding, bool)> {
        let dir = format!(
            "{}/",
            dir.trim().trim_start_matches("./").trim_end_matches('/')
        );
        if let Some(mut f) = self.overlay.find(&OverlayMatch::Path(dir.clone())) {
            f.file = Some(dir);
            return Some((f, true));
        }
        let tool_files = self
            .data
            .tools
            .values()
            .filter_map(|files| files.first())
            .filter(|f| f.starts_with(&dir) && !self.data.files.contains_key(*f));
        // A directory the tree still has is summarised by its files today; one
        // it no longer has (hw/rdma/) by the files it had in the newest release.
        let under = || {
            self.data
                .files
                .range(dir.clone()..)
                .take_while(|(p, _)| p.starts_with(&dir))
        };
        let has_current = under().any(|(_, f)| f.last_release.is_none());
        let mut counts: BTreeMap<UseCase, usize> = BTreeMap::new();
        for path in under()
            .filter(|(_, f)| !has_current || f.last_release.is_none())
            .map(|(p, _)| p)
            .chain(tool_files)
        {
            if let Some(f) = self.path(path) {
                *counts.entry(f.class).or_default() += 1;
            }
        }
        let total: usize = counts.values().sum();
        let (majority, n) = counts
            .iter()
            .max_by_key(|(_, n)| **n)
            .map(|(c, n)| (*c, *n))?;
        let breakdown = counts
            .iter()
            .rev()
            .map(|(c, n)| format!("{n} {c}"))
            .collect::<Vec<_>>()
            .join(", ");
        // A directory speaks for its files only when more than two thirds agree,
        // and says non-virtualization only when none of them is virtualization
        // code: calling virtualization code non-virtualization is the dangerous error.
        let has_virt = counts.contains_key(&UseCase::Virtualization);
        let agreed = n * 3 > total * 2 && (majority != UseCase::NonVirtualization || !has_virt);
        let text = if agreed {
            format!("{n} of the {total} source files under {dir} are {majority} ({breakdown}), each classified as its own path")
        } else {
            format!("the {total} source files under {dir} disagree ({breakdown}); look up the file")
        };
        Some((
            Finding {
                subject: dir.clone(),
                class: if agreed {
                    majority
                } else {
                    UseCase::NeedsJudgement
                },
                from_overlay: false,
                surface: None,
                facts: vec![Fact {
                    text,
                    source: "Kconfig, meson.build and the overlay, per file".into(),
                }],
                file: Some(dir),
            },
            agreed,
        ))
    }

    /// Reads a machine subject: `machine q35`, `-M isapc`, `m68k/virt`,
    /// `qemu-system-m68k -M virt,accel=kvm`. Returns the targets and the name.
    fn machine_subject(&self, s: &str) -> Option<(Vec<String>, String)> {
        static TARGET: LazyLock<regex::Regex> =
            LazyLock::new(|| regex::Regex::new(r"qemu-system-([A-Za-z0-9_]+)").unwrap());
        static OPTION: LazyLock<regex::Regex> =
            LazyLock::new(|| regex::Regex::new(r"(?:^|\s)--?(?:M|machine)(?:\s+|=)(\S+)").unwrap());
        let targets: Vec<String> = TARGET
            .captures_iter(s)
            .map(|c| c[1].to_ascii_lowercase())
            .collect();
        if let Some(cap) = OPTION.captures(s) {
            let value = &cap[1];
            let head = value.split(',').next().unwrap_or("");
            let name = if head.contains('=') {
                value.split(',').find_map(|p| p.strip_prefix("type="))?
            } else {
                head
            };
            return Some((targets, name.to_string()));
        }
        if let Some(rest) = s.strip_prefix("machine ") {
            return Some((targets, rest.trim().to_string()));
        }
        let (target, name) = s.split_once('/')?;
        (self.is_system_target(target) && !self.machine_definitions(name).is_empty())
            .then(|| (vec![target.to_string()], name.to_string()))
    }

    /// Answers `kb explain`: a path, a directory, a device, a machine
    /// (optionally with its target), an accelerator, a tool or a function.
    pub fn explain(&self, subject: &str) -> Option<Finding> {
        let s = subject.trim();
        if let Some((targets, name)) = self.machine_subject(s) {
            return Some(self.machine_on(&targets, &name));
        }
        if let Some(rest) = s.strip_prefix("device ") {
            return self.device(rest);
        }
        if let Some(f) = self.accel(s) {
            return Some(f);
        }
        let file_like = s.contains('/')
            || [".c", ".h", ".rs", ".inc", ".py"]
                .iter()
                .any(|e| s.ends_with(e));
        if file_like {
            if let Some(f) = self.path(s) {
                return Some(f);
            }
            if let Some((f, _)) = self.directory_summary(s) {
                return Some(f);
            }
        }
        if let Some(f) = self.tool(s) {
            return Some(f);
        }
        if self.listed_machine(s).is_some() || !self.machine_definitions(s).is_empty() {
            return Some(self.machine(s));
        }
        if let Some(f) = self.device(s) {
            return Some(f);
        }
        if let Some(f) = self.function(s.strip_suffix("()").unwrap_or(s)) {
            return Some(f);
        }
        self.resolve_component(s)
            .and_then(|p| self.path(&p))
            .or_else(|| self.named_directory(s))
    }

    /// A directory the overlay names by its last component (`libvduse`).
    pub fn named_directory(&self, name: &str) -> Option<Finding> {
        self.overlay
            .directory_named(name)
            .and_then(|d| self.directory(&d))
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

/// The finding for a listed machine type.
fn listed_finding(name: &str, m: &ListedMachine, targets: &str) -> Finding {
    Finding {
        subject: format!("machine {name}"),
        class: UseCase::Virtualization,
        from_overlay: false,
        surface: None,
        facts: vec![Fact {
            text: format!(
                "{} is listed {targets} among the supported machine types{}",
                if name == m.machine {
                    m.machine.clone()
                } else {
                    format!("{name} ({})", m.machine)
                },
                m.file
                    .as_deref()
                    .map(|f| format!(" (defined in {f})"))
                    .unwrap_or_default()
            ),
            source: SEC_VIRT.into(),
        }],
        file: m.file.clone(),
    }
}

fn maintainer_facts(facts: &FileFacts) -> Option<Fact> {
    let Some(m) = facts.maintainers.first() else {
        return Some(Fact {
            text: "no MAINTAINERS section of its own (only the catch-all section every patch is copied to covers it)".into(),
            source: "MAINTAINERS".into(),
        });
    };
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

#[derive(Debug, thiserror::Error)]
pub enum KbError {
    #[error("knowledge base data does not parse: {0}; rebuild it with `sectriage kb build --qemu-src DIR`")]
    Data(serde_json::Error),
    #[error("knowledge base format version {found}, this build expects {expected}; rebuild it with `sectriage kb build`")]
    Version { found: u32, expected: u32 },
    #[error("overlay does not parse: {0}")]
    Overlay(String),
}
