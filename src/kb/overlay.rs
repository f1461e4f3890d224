//! The hand-kept overlay: facts about QEMU's security boundary that no source
//! file states (VNC and disk images are untrusted inputs, the monitor is
//! trusted, TCG and user-mode are non-virtualization). Every entry carries its
//! reason and the document section it rests on; the first matching entry wins.

use globset::{Glob, GlobMatcher};
use serde::Deserialize;

use super::{Fact, Finding, KbError, UseCase};

/// What an overlay lookup asks about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OverlayMatch {
    /// A source path; a directory ends in `/`.
    Path(String),
    /// A QOM device type (`-device` driver).
    Device(String),
    /// A standalone binary (`qemu-img`, `qemu-aarch64`).
    Tool(String),
    Accel(String),
    /// A disk image format (`vmdk`).
    Format(String),
    /// A `-netdev` backend.
    Netdev(String),
    /// A QMP or HMP command.
    Monitor(String),
    /// A C function name (`tcp_emu`), for components whose code is not in the
    /// tree the knowledge base was built from (libslirp, removed devices).
    Function(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    id: String,
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    devices: Vec<String>,
    #[serde(default)]
    tools: Vec<String>,
    #[serde(default)]
    accels: Vec<String>,
    #[serde(default)]
    formats: Vec<String>,
    #[serde(default)]
    netdevs: Vec<String>,
    #[serde(default)]
    monitor: bool,
    /// Glob patterns over C function names (`tcp_*`).
    #[serde(default)]
    functions: Vec<String>,
    class: String,
    surface: String,
    reason: String,
    doc: String,
}

#[derive(Debug, Deserialize)]
struct RawOverlay {
    entry: Vec<RawEntry>,
}

/// One overlay entry, globs compiled.
#[derive(Debug, Clone)]
pub struct OverlayEntry {
    pub id: String,
    paths: Vec<GlobMatcher>,
    devices: Vec<String>,
    tools: Vec<String>,
    accels: Vec<String>,
    formats: Vec<String>,
    netdevs: Vec<String>,
    monitor: bool,
    functions: Vec<GlobMatcher>,
    pub class: UseCase,
    /// The kind of surface (`untrusted-input`, `trusted-interface`, `tcg`, `user-mode`, ...).
    pub surface: String,
    pub reason: String,
    pub doc: String,
}

impl OverlayEntry {
    fn matches(&self, query: &OverlayMatch) -> bool {
        let any = |list: &[String], v: &str| list.iter().any(|x| x.eq_ignore_ascii_case(v));
        match query {
            OverlayMatch::Path(p) => {
                // A directory matches when a file inside it would.
                let probe = if p.ends_with('/') {
                    format!("{p}x.c")
                } else {
                    p.clone()
                };
                self.paths.iter().any(|g| g.is_match(&probe))
            }
            OverlayMatch::Device(d) => any(&self.devices, d),
            OverlayMatch::Tool(t) => any(&self.tools, t),
            OverlayMatch::Accel(a) => any(&self.accels, a),
            OverlayMatch::Format(f) => any(&self.formats, f),
            OverlayMatch::Netdev(n) => any(&self.netdevs, n),
            OverlayMatch::Monitor(_) => self.monitor,
            OverlayMatch::Function(f) => self.functions.iter().any(|g| g.is_match(f)),
        }
    }
}

/// The parsed overlay.
#[derive(Debug, Clone, Default)]
pub struct Overlay {
    pub entries: Vec<OverlayEntry>,
}

impl Overlay {
    /// Parses `kb/overlay.toml`.
    ///
    /// # Errors
    /// On TOML errors, unknown keys, bad globs or unknown classes, naming the entry.
    pub fn parse(text: &str) -> Result<Overlay, KbError> {
        let raw: RawOverlay = toml::from_str(text).map_err(|e| KbError::Overlay(e.to_string()))?;
        let mut entries = Vec::with_capacity(raw.entry.len());
        for e in raw.entry {
            let class: UseCase = e
                .class
                .parse()
                .map_err(|err| KbError::Overlay(format!("entry {}: {err}", e.id)))?;
            let globs = |list: &[String]| {
                list.iter()
                    .map(|p| {
                        Glob::new(p).map(|g| g.compile_matcher()).map_err(|err| {
                            KbError::Overlay(format!("entry {}: glob {p}: {err}", e.id))
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
            };
            let paths = globs(&e.paths)?;
            let functions = globs(&e.functions)?;
            if e.reason.trim().is_empty() || e.doc.trim().is_empty() {
                return Err(KbError::Overlay(format!(
                    "entry {} needs a reason and a doc section",
                    e.id
                )));
            }
            entries.push(OverlayEntry {
                id: e.id,
                paths,
                devices: e.devices,
                tools: e.tools,
                accels: e.accels,
                formats: e.formats,
                netdevs: e.netdevs,
                monitor: e.monitor,
                functions,
                class,
                surface: e.surface,
                reason: e.reason,
                doc: e.doc,
            });
        }
        Ok(Overlay { entries })
    }

    /// The directory an entry names literally whose last component is `name`
    /// (`libvhost-user` is `subprojects/libvhost-user/`): a commit title's
    /// `libvhost-user:` prefix names it.
    pub fn directory_named(&self, name: &str) -> Option<String> {
        let name = name.trim().trim_end_matches(':');
        if name.is_empty() || name.contains(['/', '*', '?', '[', '{']) {
            return None;
        }
        self.entries
            .iter()
            .flat_map(|e| e.paths.iter())
            .filter_map(|g| g.glob().glob().strip_suffix("/**"))
            .filter(|dir| !dir.contains(['*', '?', '[', '{']))
            .find(|dir| {
                dir.rsplit('/')
                    .next()
                    .is_some_and(|last| last.eq_ignore_ascii_case(name))
            })
            .map(|dir| format!("{dir}/"))
    }

    /// The first entry matching `query`, as a finding.
    pub fn find(&self, query: &OverlayMatch) -> Option<Finding> {
        let entry = self.entries.iter().find(|e| e.matches(query))?;
        let subject = match query {
            OverlayMatch::Path(p) => p.clone(),
            OverlayMatch::Device(d) => format!("device {d}"),
            OverlayMatch::Tool(t) => format!("tool {t}"),
            OverlayMatch::Accel(a) => format!("accelerator {a}"),
            OverlayMatch::Format(f) => format!("image format {f}"),
            OverlayMatch::Netdev(n) => format!("netdev {n}"),
            OverlayMatch::Monitor(m) => format!("monitor command {m}"),
            OverlayMatch::Function(f) => format!("{f}()"),
        };
        Some(Finding {
            subject,
            class: entry.class,
            from_overlay: true,
            surface: Some(entry.surface.clone()),
            facts: vec![Fact {
                text: format!("{} [overlay: {}]", entry.reason, entry.id),
                source: entry.doc.clone(),
            }],
            file: None,
        })
    }
}
