//! Code locator: pulls out of a report the places it points at in QEMU.
//!
//! Source paths (with lines), stack frames from ASan/UBSan/gdb traces,
//! function names, the QEMU command line (`-machine`, `-accel`, `-device`,
//! `-drive`, `-netdev`, ...), standalone tools (`qemu-img`, `qemu-nbd`, user-mode
//! binaries) and monitor (QMP/HMP) commands. Everything here is a syntactic
//! extraction; what it *means* is the knowledge base's business.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

/// A source file the report names, possibly with a line number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRef {
    /// Path relative to the QEMU source root (`hw/usb/hcd-xhci.c`), or a directory ending in `/`.
    pub path: String,
    pub line: Option<u32>,
    /// Number of times the report names this path (frames and prose together).
    pub mentions: usize,
}

/// One frame of a stack trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frame {
    /// Position in the trace (`#0` is the innermost frame).
    pub index: u32,
    pub function: String,
    pub file: Option<String>,
    pub line: Option<u32>,
}

/// What the QEMU command lines in the report ask for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandLine {
    /// System-emulation binaries' targets (`x86_64` from `qemu-system-x86_64`).
    pub system_targets: Vec<String>,
    /// `-machine`/`-M` types, without properties (`q35`).
    pub machines: Vec<String>,
    /// Accelerators from `-accel`, `accel=` or `-enable-kvm` (`kvm`, `tcg`, `hvf`, `xen`).
    pub accels: Vec<String>,
    /// `-device` drivers (`e1000e`, `usb-ehci`).
    pub devices: Vec<String>,
    /// Image formats from `-drive format=`, `-blockdev driver=` and `qemu-img -f/-O`.
    pub drive_formats: Vec<String>,
    /// `-netdev`/`-nic` backends (`user`, `tap`, `socket`).
    pub netdevs: Vec<String>,
    /// Other options that expose a host-side interface (`-vnc`, `-spice`, `-incoming`, `-kernel`, ...).
    pub interfaces: Vec<String>,
}

impl CommandLine {
    pub fn is_empty(&self) -> bool {
        *self == CommandLine::default()
    }
}

/// Everything the locator found, in order of first appearance, without duplicates.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Locations {
    pub files: Vec<FileRef>,
    pub frames: Vec<Frame>,
    /// Function names from frames and from `name()` in prose.
    pub functions: Vec<String>,
    pub command_line: CommandLine,
    /// Standalone tools and user-mode binaries (`qemu-img`, `qemu-nbd`, `qemu-aarch64`).
    pub tools: Vec<String>,
    /// QMP `execute` commands and HMP `(qemu)` commands.
    pub monitor_commands: Vec<String>,
    /// Accelerators named in prose ("under KVM", "TCG-only"), apart from the command line.
    /// An accelerator the report only names as unaffected is not among them.
    pub accels_in_prose: Vec<String>,
    /// Accelerators the report names only as not showing the bug ("with KVM the
    /// value is correct", "not with KVM"): a contrast, not the configuration.
    #[serde(default)]
    pub accels_unaffected: Vec<String>,
    /// C file names written without a directory (`seg_helper.c`).
    #[serde(default)]
    pub bare_files: Vec<String>,
}

/// Top-level directories of the QEMU tree; a path must start with one of these.
const QEMU_TOP_DIRS: &[&str] = &[
    "accel",
    "audio",
    "backends",
    "block",
    "bsd-user",
    "chardev",
    "contrib",
    "crypto",
    "disas",
    "dump",
    "fpu",
    "fsdev",
    "gdbstub",
    "hw",
    "include",
    "io",
    "linux-user",
    "migration",
    "monitor",
    "nbd",
    "net",
    "qapi",
    "qga",
    "qobject",
    "qom",
    "replay",
    "scsi",
    "semihosting",
    "slirp",
    "softmmu",
    "stubs",
    "subprojects",
    "system",
    "target",
    "tcg",
    "tests",
    "tools",
    "ui",
    "util",
    "hw",
    "storage-daemon",
    "authz",
    "ebpf",
    "trace",
    "page-vary",
    "common-user",
    "libdecnumber",
    "plugins",
    "rust",
    "stats",
    "host",
    "linux-headers",
];

/// Well-known QEMU tools that are not user-mode emulators.
const TOOLS: &[&str] = &[
    "qemu-img",
    "qemu-nbd",
    "qemu-io",
    "qemu-storage-daemon",
    "qemu-pr-helper",
    "qemu-ga",
    "qemu-bridge-helper",
    "qemu-edid",
    "qemu-keymap",
    "qemu-vmsr-helper",
    "virtiofsd",
    "elf2dmp",
];

static PATH_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[\s(\[`'\x22,:=</])((?:[\w.+-]+/)*[\w.+-]+(?:\.(?:c|h|inc|c\.inc|h\.inc|rs|py|json|S|decode)\b|/))(?::(\d+))?").unwrap()
});
static FRAME_RE: LazyLock<Regex> = LazyLock::new(|| {
    // Horizontal space only after the frame's start: a frame line must not run
    // into the next one (`#0 ... in __asan_memcpy (/lib/libasan.so+0x1)` would
    // swallow the line break and lose frame #1).
    Regex::new(r"(?m)^[ \t]*#(\d+)[ \t]+(?:0x[0-9a-fA-F]+[ \t]+(?:in[ \t]+)?)?([A-Za-z_][\w:~.]*)[ \t]*(?:\([^)\n]*\))?[ \t]*(?:at[ \t]+|in[ \t]+)?(?:([^\s:()]+\.(?:c|h|inc|cc|rs)):(\d+))?").unwrap()
});
static CALL_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b([A-Za-z_][A-Za-z0-9_]{2,})\(\)").unwrap());
static SYSTEM_BIN_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\bqemu-system-([a-z0-9_]+)\b").unwrap());
static QEMU_BIN_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[\s/`'\x22(])(qemu-[a-z0-9_]+(?:-[a-z0-9_]+)*|virtiofsd|elf2dmp)\b").unwrap()
});
static OPTION_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|\s)--?(machine|M|accel|enable-kvm|device|drive|blockdev|netdev|nic|net|vnc|spice|incoming|kernel|initrd|dtb|chardev|usbdevice|audiodev|display|object|fsdev|virtfs|cdrom|hda|fda|pflash|bios)(?:[ =]([^\s\\-][^\s\\]*))?").unwrap()
});
static QMP_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"["']execute["']\s*:\s*["']([\w-]+)["']"#).unwrap());
static HMP_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?m)^\s*\(qemu\)\s+([a-z_][\w-]*)").unwrap());
static QEMU_IMG_FMT_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\bqemu-img\b[^\n]*?\s-[fO]\s+([a-z0-9]+)").unwrap());
static PROSE_ACCEL_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(kvm|hvf|tcg|xen|whpx|nvmm|hax|tiny code generator|hypervisor\.framework)\b")
        .unwrap()
});
/// A clause saying that its accelerator does not show the bug. Only firm
/// wording counts ("does not crash" may precede worse damage, so it does not).
static UNAFFECTED_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(not|isn't|aren't|wasn't|weren't)\s+(be\s+)?affected\b|\bunaffected\b|\b(is|are|was|were|comes? out|came out|behaves?|behaved|works?|worked|runs?|ran)\s+(correct(ly)?|fine|as expected|properly|normally)\b|\b(does|did|do)(n't|\s+not)\s+(happen|occur|reproduce|trigger|show up)\b|\b(cannot|can't|could not|couldn't)\s+(be\s+)?reproduced?\b|\bnot\s+reproducible\b|\bwithout\s+(any\s+)?(problems?|issues?|crash(es|ing)?|errors?|failures?)\b|\bno (such )?(problem|issue)\b|\bne se (re)?produit pas\b|\bn'est pas (affecté|concerné)|\bnon (affecté|concerné)|\bfonctionne (correctement|bien)\b|\bnicht betroffen\b|\btritt\b.{0,30}\bnicht auf\b|\bfunktioniert (korrekt|richtig|einwandfrei)\b|\bno se (re)?produce\b|\bno (está|es|son|están) afectad|\bfunciona (correctamente|bien)\b|\bnon si (ri)?produce\b|\bnon (è|sono) (affett|interessat)|\bnão se (re)?produz\b|\bnão (é|são) afetad|不受影响|不会复现|无法复现|不复现|影響を受けない|再現しない",
    )
    .unwrap()
});
/// `not KVM`, `not with KVM`, `never under KVM` right before the accelerator.
static NOT_BEFORE_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(not|never)\s+((with|under|on|using|in|for)\s+)?(the\s+)?$").unwrap()
});
static CLAUSE_BREAK_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)[.;:!?,\n]|\s(but|while|whereas|although|though|unlike)\s").unwrap()
});

/// Whether the accelerator named at `start..end` is named only as unaffected.
fn named_as_unaffected(text: &str, start: usize, end: usize) -> bool {
    let before = &text[..start];
    if NOT_BEFORE_RE.is_match(before) {
        return true;
    }
    let clause_start = CLAUSE_BREAK_RE
        .find_iter(before)
        .last()
        .map_or(0, |m| m.end());
    let after = &text[end..];
    let clause_end = CLAUSE_BREAK_RE
        .find(after)
        .map_or(text.len(), |m| end + m.start());
    UNAFFECTED_RE.is_match(&text[clause_start..clause_end])
}

/// Identifiers a title names as code (`tcg_commit`, `vmxnet3_io_bar0_write()`):
/// snake_case words of six or more characters, outside the `prefix:` part.
/// The one after "in" (the place of the fix: "use X in Y") comes first.
pub fn title_functions(title: &str) -> Vec<String> {
    identifiers(title.rsplit_once(": ").map_or(title, |(_, b)| b))
}

/// Snake_case identifiers of six or more characters (`bootp_reply`), in order,
/// the ones after "in", "into" or "from" first.
pub fn identifiers(text: &str) -> Vec<String> {
    static IDENT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i:\b(in|into|from)\s+)?\b([a-z][a-z0-9]*(?:_[a-z0-9]+)+)\b").unwrap()
    });
    let mut placed: Vec<String> = Vec::new();
    let mut other: Vec<String> = Vec::new();
    for cap in IDENT.captures_iter(text) {
        let name = &cap[2];
        if name.len() < 6 || placed.iter().chain(&other).any(|n| n == name) {
            continue;
        }
        if cap.get(1).is_some() {
            placed.push(name.to_string());
        } else {
            other.push(name.to_string());
        }
    }
    placed.extend(other);
    placed
}

/// Finds everything a report points at in QEMU.
pub fn locate(text: &str) -> Locations {
    let mut loc = Locations::default();
    // Shell line continuations split one command over several lines.
    let joined = text.replace("\\\n", " ");

    for cap in FRAME_RE.captures_iter(text) {
        let function = cap[2].to_string();
        if function == "0x" || function.len() < 2 {
            continue;
        }
        let file = cap.get(3).and_then(|m| normalise_path(m.as_str()));
        let line = cap.get(4).and_then(|m| m.as_str().parse().ok());
        let index = cap[1].parse().unwrap_or(u32::MAX);
        push_unique(&mut loc.functions, &function);
        loc.frames.push(Frame {
            index,
            function,
            file,
            line,
        });
    }
    for cap in CALL_RE.captures_iter(text) {
        push_unique(&mut loc.functions, &cap[1]);
    }

    // `hw\usb\hcd-xhci.c` (a Windows shell, a backslash-escaping editor) is the same path.
    let slashed;
    let path_text = if text.contains('\\') {
        slashed = text.replace("\\\n", " ").replace('\\', "/");
        &slashed
    } else {
        text
    };
    for cap in PATH_RE.captures_iter(path_text) {
        let Some(path) = normalise_path(&cap[1]) else {
            let raw = cap[1].trim_matches(|c: char| c == '`' || c == '\'' || c == '"');
            if !raw.contains('/') && raw.ends_with(".c") && raw.len() > 2 {
                push_unique(&mut loc.bare_files, raw);
            }
            continue;
        };
        let line = cap.get(2).and_then(|m| m.as_str().parse().ok());
        match loc.files.iter_mut().find(|f| f.path == path) {
            Some(existing) => {
                existing.mentions += 1;
                if existing.line.is_none() {
                    existing.line = line;
                }
            }
            None => loc.files.push(FileRef {
                path,
                line,
                mentions: 1,
            }),
        }
    }

    let mut unaffected = Vec::new();
    parse_command_lines(&joined, &mut loc, &mut unaffected);

    for cap in QMP_RE.captures_iter(text) {
        push_unique(&mut loc.monitor_commands, &format!("qmp:{}", &cap[1]));
    }
    for cap in HMP_RE.captures_iter(text) {
        push_unique(&mut loc.monitor_commands, &format!("hmp:{}", &cap[1]));
    }
    for cap in PROSE_ACCEL_RE.captures_iter(text) {
        let m = cap.get(1).expect("group 1");
        let accel = match m.as_str().to_ascii_lowercase().as_str() {
            "tiny code generator" => "tcg".to_string(),
            "hypervisor.framework" => "hvf".to_string(),
            other => other.to_string(),
        };
        if named_as_unaffected(text, m.start(), m.end()) {
            push_unique(&mut unaffected, &accel);
        } else {
            push_unique(&mut loc.accels_in_prose, &accel);
        }
    }
    // An accelerator named as affected anywhere stays affected.
    for accel in unaffected {
        if !loc.accels_in_prose.contains(&accel) && !loc.command_line.accels.contains(&accel) {
            loc.accels_unaffected.push(accel);
        }
    }
    loc
}

/// `unaffected` collects accelerators whose option stands in a sentence saying
/// they do not show the bug ("does not reproduce with -accel kvm").
fn parse_command_lines(joined: &str, loc: &mut Locations, unaffected: &mut Vec<String>) {
    let cmd = &mut loc.command_line;
    for cap in SYSTEM_BIN_RE.captures_iter(joined) {
        push_unique(&mut cmd.system_targets, &cap[1]);
    }
    for cap in QEMU_BIN_RE.captures_iter(joined) {
        let bin = &cap[1];
        if bin.starts_with("qemu-system") || bin == "qemu-kvm" {
            if bin == "qemu-kvm" {
                push_unique(&mut cmd.accels, "kvm");
            }
            continue;
        }
        if TOOLS.contains(&bin) || is_user_mode_binary(bin) {
            push_unique(&mut loc.tools, bin.trim_end_matches("-static"));
        }
    }
    for cap in QEMU_IMG_FMT_RE.captures_iter(joined) {
        push_unique(&mut cmd.drive_formats, &cap[1]);
    }
    for cap in OPTION_RE.captures_iter(joined) {
        let option = &cap[1];
        // Prose around a command line glues punctuation and quotes to the
        // value ("-M q35.", `-M "q35"`, "-M virt)").
        let value = cap
            .get(2)
            .map(|m| m.as_str())
            .unwrap_or("")
            .trim_matches(|c: char| "\"'`".contains(c))
            .trim_end_matches(|c: char| ".,;:)]}\"'`".contains(c));
        let head = value.split(',').next().unwrap_or("");
        let whole = cap.get(0).expect("group 0");
        let contrast = matches!(option, "accel" | "enable-kvm")
            && named_as_unaffected(joined, whole.start(), whole.end());
        if contrast {
            let accel = if option == "accel" { head } else { "kvm" };
            if !accel.is_empty() {
                push_unique(unaffected, accel);
            }
            continue;
        }
        match option {
            "machine" | "M" => {
                // `-machine accel=kvm` has no type; `-M q35,accel=kvm` has both.
                if !head.is_empty() && !head.contains('=') {
                    push_unique(&mut cmd.machines, head);
                }
                for prop in value.split(',') {
                    if let Some(types) = prop.strip_prefix("type=") {
                        push_unique(&mut cmd.machines, types);
                    }
                    if let Some(accels) = prop.strip_prefix("accel=") {
                        for a in accels.split(':') {
                            push_unique(&mut cmd.accels, a);
                        }
                    }
                }
            }
            "accel" => {
                if !head.is_empty() {
                    push_unique(&mut cmd.accels, head);
                }
            }
            "enable-kvm" => push_unique(&mut cmd.accels, "kvm"),
            "device" => {
                let driver = head.strip_prefix("driver=").unwrap_or(head);
                if !driver.is_empty() && !driver.starts_with('-') {
                    push_unique(&mut cmd.devices, driver);
                }
            }
            "drive" | "blockdev" => {
                for prop in value.split(',') {
                    if let Some(fmt) = prop
                        .strip_prefix("format=")
                        .or_else(|| prop.strip_prefix("driver="))
                    {
                        push_unique(&mut cmd.drive_formats, fmt);
                    }
                }
                push_unique(&mut cmd.interfaces, option);
            }
            "netdev" | "nic" | "net" => {
                if !head.is_empty() && !head.contains('=') {
                    push_unique(&mut cmd.netdevs, head);
                }
            }
            other => push_unique(&mut cmd.interfaces, other),
        }
    }
}

/// True for `qemu-<target>` user-mode emulators such as `qemu-aarch64` or `qemu-arm-static`.
fn is_user_mode_binary(bin: &str) -> bool {
    const USER_TARGETS: &[&str] = &[
        "aarch64",
        "aarch64_be",
        "alpha",
        "arm",
        "armeb",
        "hexagon",
        "hppa",
        "i386",
        "loongarch64",
        "m68k",
        "microblaze",
        "microblazeel",
        "mips",
        "mips64",
        "mips64el",
        "mipsel",
        "mipsn32",
        "mipsn32el",
        "or1k",
        "ppc",
        "ppc64",
        "ppc64le",
        "riscv32",
        "riscv64",
        "s390x",
        "sh4",
        "sh4eb",
        "sparc",
        "sparc32plus",
        "sparc64",
        "x86_64",
        "xtensa",
        "xtensaeb",
    ];
    bin.strip_prefix("qemu-")
        .map(|t| t.trim_end_matches("-static"))
        .is_some_and(|t| USER_TARGETS.contains(&t))
}

/// Reduces a path as printed in a trace or prose to a path in the QEMU tree.
fn normalise_path(raw: &str) -> Option<String> {
    let trimmed = raw.trim_matches(|c: char| c == '`' || c == '\'' || c == '"');
    // A path in capitals (`HW/USB/HCD-XHCI.C`) is QEMU's lower-case tree shouted.
    let lowered;
    let trimmed = if trimmed.chars().any(|c| c.is_ascii_uppercase())
        && !trimmed.chars().any(|c| c.is_ascii_lowercase())
    {
        lowered = trimmed.to_ascii_lowercase();
        lowered.as_str()
    } else {
        trimmed
    };
    let components: Vec<&str> = trimmed.split('/').collect();
    // Build trees print `../hw/x.c` or `/usr/src/qemu/hw/x.c`: start at the first QEMU top dir.
    let start = components.iter().position(|c| QEMU_TOP_DIRS.contains(c))?;
    let rest = &components[start..];
    if rest.len() < 2 {
        return None;
    }
    // `hw/usb/./hcd-xhci.c` and `hw/net/../net/e1000e_core.c` name the same file.
    let mut parts: Vec<&str> = Vec::new();
    for c in rest {
        match *c {
            "." | "" => {}
            ".." => {
                parts.pop()?;
            }
            c => parts.push(c),
        }
    }
    // A directory keeps its trailing slash (`linux-user/`).
    let dir = rest.last() == Some(&"");
    if parts.len() < 2 - usize::from(dir) || !QEMU_TOP_DIRS.contains(&parts[0]) {
        return None;
    }
    Some(parts.join("/") + if dir { "/" } else { "" })
}

fn push_unique(list: &mut Vec<String>, value: &str) {
    if !value.is_empty() && !list.iter().any(|v| v == value) {
        list.push(value.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asan_trace_gives_frames_files_and_lines() {
        let text = "==1==ERROR: AddressSanitizer: heap-buffer-overflow\n\
            #0 0x55d3a1000000 in ehci_init_transfer ../hw/usb/hcd-ehci.c:1185:23\n\
            #1 0x55d3a101a3c4 in ehci_execute /usr/src/qemu/hw/usb/hcd-ehci.c:1345\n\
            #2 0x55d3a109d698 in aio_bh_call ../util/async.c:172\n";
        let loc = locate(text);
        assert_eq!(loc.frames.len(), 3);
        // A frame in a library, with its module in parentheses, does not hide the next one.
        let lib = locate(
            "    #0 0x55 in __asan_memcpy (/lib/x86_64-linux-gnu/libasan.so.8+0xfa0b8)\n    #1 0x55 in gem_receive ../hw/net/cadence_gem.c:1030\n",
        );
        let names: Vec<_> = lib.frames.iter().map(|f| f.function.as_str()).collect();
        assert_eq!(names, ["__asan_memcpy", "gem_receive"]);
        assert_eq!(loc.frames[0].function, "ehci_init_transfer");
        assert_eq!(loc.frames[0].file.as_deref(), Some("hw/usb/hcd-ehci.c"));
        assert_eq!(loc.frames[0].line, Some(1185));
        assert_eq!(loc.files[0].path, "hw/usb/hcd-ehci.c");
        assert_eq!(loc.files[0].mentions, 2);
        assert_eq!(loc.files[1].path, "util/async.c");
    }

    #[test]
    fn gdb_backtrace_frames() {
        let text = "#0  0x00007ffff in __memcpy_avx_unaligned () at memmove.S:238\n\
            #1  0x0000555555b3 in e1000e_write_packet_to_guest (core=0x5555, pkt=0x0) at hw/net/e1000e_core.c:1528\n\
            #2  e1000e_receive_iov (core=0x1) at hw/net/e1000e_core.c:1690\n";
        let loc = locate(text);
        let names: Vec<_> = loc.frames.iter().map(|f| f.function.as_str()).collect();
        assert_eq!(
            names,
            [
                "__memcpy_avx_unaligned",
                "e1000e_write_packet_to_guest",
                "e1000e_receive_iov"
            ]
        );
        assert_eq!(loc.frames[2].file.as_deref(), Some("hw/net/e1000e_core.c"));
        assert_eq!(loc.frames[2].line, Some(1690));
    }

    #[test]
    fn command_line_over_several_lines() {
        let text = "QEMU command line:\n  qemu-system-x86_64 -machine q35,accel=kvm -m 2G \\\n    -device usb-ehci,id=ehci -drive if=none,id=s,file=s.raw,format=raw \\\n    -device usb-storage,bus=ehci.0,drive=s -netdev user,id=n0 -vnc :0\n";
        let cmd = locate(text).command_line;
        assert_eq!(cmd.system_targets, ["x86_64"]);
        assert_eq!(cmd.machines, ["q35"]);
        assert_eq!(cmd.accels, ["kvm"]);
        assert_eq!(cmd.devices, ["usb-ehci", "usb-storage"]);
        assert_eq!(cmd.drive_formats, ["raw"]);
        assert_eq!(cmd.netdevs, ["user"]);
        assert!(cmd.interfaces.contains(&"vnc".to_string()));
    }

    #[test]
    fn short_options_and_enable_kvm() {
        let cmd =
            locate("qemu-system-aarch64 -M virt -enable-kvm -device virtio-net-pci\n").command_line;
        assert_eq!(cmd.machines, ["virt"]);
        assert_eq!(cmd.accels, ["kvm"]);
        assert_eq!(cmd.devices, ["virtio-net-pci"]);
        let cmd = locate("qemu-system-arm -M xilinx-zynq-a9 -accel tcg,thread=multi").command_line;
        assert_eq!(cmd.machines, ["xilinx-zynq-a9"]);
        assert_eq!(cmd.accels, ["tcg"]);
    }

    #[test]
    fn tools_user_mode_and_monitor_commands() {
        let text = "Run `qemu-img convert -f vmdk -O qcow2 a.vmdk b.qcow2` then qemu-aarch64-static ./a.out\n\
            {\"execute\": \"blockdev-add\", \"arguments\": {}}\n(qemu) info qtree\n";
        let loc = locate(text);
        assert_eq!(loc.tools, ["qemu-img", "qemu-aarch64"]);
        assert_eq!(loc.command_line.drive_formats, ["vmdk"]);
        assert_eq!(loc.monitor_commands, ["qmp:blockdev-add", "hmp:info"]);
    }

    #[test]
    fn prose_functions_directories_and_accels() {
        let loc = locate(
            "The bug is in sdhci_data_transfer() under linux-user/ when run with TCG, not KVM.",
        );
        assert_eq!(loc.functions, ["sdhci_data_transfer"]);
        assert_eq!(loc.files[0].path, "linux-user/");
        assert_eq!(loc.accels_in_prose, ["tcg"]);
        assert_eq!(loc.accels_unaffected, ["kvm"]);
    }

    #[test]
    fn accelerators_named_as_unaffected_are_a_contrast() {
        let loc = locate(
            "With TCG the bit is never set. With KVM the error code is correct, because the hardware computes it.",
        );
        assert_eq!(loc.accels_in_prose, ["tcg"]);
        assert_eq!(loc.accels_unaffected, ["kvm"]);
        // TCG unaffected, KVM affected: the contrast runs the other way.
        let loc = locate("The guest crashes QEMU under KVM; TCG is not affected.");
        assert_eq!(loc.accels_in_prose, ["kvm"]);
        assert_eq!(loc.accels_unaffected, ["tcg"]);
        // Weaker wording keeps the accelerator: "does not crash" can precede worse damage.
        let loc = locate("With KVM it does not crash at once but corrupts host memory.");
        assert_eq!(loc.accels_in_prose, ["kvm"]);
        // An option in a sentence saying it does not show the bug is a contrast too.
        let loc = locate(
            "qemu-system-x86_64 -M q35 -accel tcg -cpu max\nLe problème ne se reproduit pas avec -accel kvm, car le processeur exécute l'instruction.",
        );
        assert_eq!(loc.command_line.accels, ["tcg"]);
        assert_eq!(loc.accels_unaffected, ["kvm"]);
        // Named as affected once, it stays affected.
        let loc = locate("KVM crashes. After the fix KVM works fine.");
        assert_eq!(loc.accels_in_prose, ["kvm"]);
        assert!(loc.accels_unaffected.is_empty());
    }

    #[test]
    fn paths_outside_the_qemu_tree_are_ignored() {
        let loc = locate("see /etc/passwd and docs/readme.txt and ../../x.c");
        assert!(loc.files.is_empty(), "{:?}", loc.files);
    }
}
