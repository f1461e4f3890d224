//! The knowledge base: rebuilt from a fixture tree always, from a real QEMU
//! tree when `SECTRIAGE_QEMU_SRC` names one (CI fetches Debian's), and the
//! evidence chains `kb explain` gives for well-known files.

use std::path::Path;
use std::process::Command;

use sectriage::kb::{build, Kb, Reach, UseCase};

mod support;

const SECURITY_RST: &str = include_str!("../kb/docs/security.rst");

#[test]
fn fixture_tree_builds_the_expected_classes() {
    let data = build::build(Path::new("tests/fixtures/qemu-mini"), SECURITY_RST).unwrap();
    assert_eq!(data.qemu_version, "10.0.99");
    let q35 = data
        .listed_machines
        .iter()
        .find(|m| m.machine == "q35")
        .unwrap();
    assert_eq!(q35.symbol.as_deref(), Some("Q35"));
    assert!(q35.aliases.contains(&"pc-q35".to_string()));
    let class = |p: &str| {
        data.files
            .get(p)
            .map(|f| f.class)
            .unwrap_or_else(|| panic!("{p} missing"))
    };
    assert_eq!(class("hw/net/e1000e_core.c"), UseCase::Virtualization);
    let e1000e = &data.files["hw/net/e1000e_core.c"];
    assert!(e1000e
        .listed
        .iter()
        .any(|r| r.machine.ends_with("/q35") && r.reach == Reach::Implied));
    assert_eq!(class("hw/arm/xilinx_zynq.c"), UseCase::NonVirtualization);
    assert_eq!(class("hw/net/cadence_gem.c"), UseCase::NonVirtualization);
    assert_eq!(
        class("hw/sd/sdhci.c"),
        UseCase::NeedsJudgement,
        "pluggable via sdhci-pci, selected by an unlisted board"
    );
    assert_eq!(class("accel/tcg/cpu-exec.c"), UseCase::NonVirtualization);
    assert_eq!(class("accel/kvm/kvm-all.c"), UseCase::Virtualization);
    assert_eq!(class("linux-user/syscall.c"), UseCase::NonVirtualization);
    assert_eq!(class("system-common.c"), UseCase::Virtualization);
    assert_eq!(
        data.qom_types.get("e1000e").map(String::as_str),
        Some("hw/net/e1000e.c")
    );
    assert_eq!(
        data.files["hw/net/e1000e.c"].maintainers[0].section,
        "e1000e"
    );
    // Functions: return type on its own line, a continued parameter list and a
    // function-pointer parameter all count; a name two files define does not.
    let defined_in = |f: &str| data.functions.get(f).map(String::as_str);
    assert_eq!(
        defined_in("e1000e_ring_advance"),
        Some("hw/net/e1000e_core.c")
    );
    assert_eq!(
        defined_in("e1000e_core_write"),
        Some("hw/net/e1000e_core.c")
    );
    assert_eq!(
        defined_in("e1000e_set_handlers"),
        Some("hw/net/e1000e_core.c")
    );
    assert_eq!(defined_in("do_syscall"), Some("linux-user/syscall.c"));
    assert_eq!(defined_in("realize_common"), None, "defined in two files");
    assert_eq!(
        defined_in("is_error"),
        None,
        "one-line inline is not QEMU style"
    );
    assert_eq!(
        data.other_machines
            .get("xilinx-zynq-a9")
            .map(String::as_str),
        Some("hw/arm/xilinx_zynq.c")
    );
}

#[test]
fn committed_kb_is_reproducible_from_a_real_tree() {
    let Some(src) = support::require(
        "SECTRIAGE_QEMU_SRC",
        "a QEMU source tree",
        "export SECTRIAGE_QEMU_SRC=$(scripts/fetch-qemu-src)",
    ) else {
        return;
    };
    let data = build::build(Path::new(&src), SECURITY_RST).unwrap();
    let rebuilt = build::to_json(&data);
    let committed = std::fs::read_to_string("kb/qemu-kb.json").unwrap();
    assert!(rebuilt == committed, "kb/qemu-kb.json differs from a rebuild; run `sectriage kb build --qemu-src {src}` and commit");
}

#[test]
fn embedded_kb_explains_well_known_code() {
    let kb = Kb::embedded();
    let cases = [
        ("hw/usb/hcd-xhci.c", UseCase::Virtualization),
        ("hw/net/e1000e_core.c", UseCase::Virtualization),
        ("hw/ide/ahci.c", UseCase::Virtualization),
        ("hw/sd/sdhci.c", UseCase::NeedsJudgement),
        ("hw/display/ati.c", UseCase::NeedsJudgement),
        ("hw/arm/xilinx_zynq.c", UseCase::NonVirtualization),
        ("linux-user/", UseCase::NonVirtualization),
        ("tcg/", UseCase::NonVirtualization),
        ("accel/kvm/", UseCase::Virtualization),
        ("q35", UseCase::Virtualization),
        ("xilinx-zynq-a9", UseCase::NonVirtualization),
        ("tcg", UseCase::NonVirtualization),
        ("e1000e", UseCase::Virtualization),
        ("xhci_kick_epctx", UseCase::Virtualization),
        ("page_set_flags()", UseCase::NonVirtualization),
    ];
    for (subject, want) in cases {
        let f = kb
            .explain(subject)
            .unwrap_or_else(|| panic!("no answer for {subject}"));
        assert_eq!(f.class, want, "{subject}: {:?}", f.facts);
        assert!(!f.facts.is_empty(), "{subject} has no evidence chain");
    }
    let ahci = kb.explain("hw/ide/ahci.c").unwrap();
    assert!(
        ahci.facts
            .iter()
            .any(|f| f.text.contains("q35") && f.text.contains("Q35")),
        "{:?}",
        ahci.facts
    );
    let zynq = kb.explain("hw/arm/xilinx_zynq.c").unwrap();
    assert!(zynq.facts.iter().any(|f| f.source.contains("MAINTAINERS")));
}

#[test]
fn kb_explain_cli_prints_the_chain() {
    let out = Command::new(env!("CARGO_BIN_EXE_sectriage"))
        .args(["kb", "explain", "hw/usb/hcd-xhci.c"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("hw/usb/hcd-xhci.c: virtualization"),
        "{text}"
    );
    assert!(
        text.contains("[Kconfig]") && text.contains("[MAINTAINERS]"),
        "{text}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_sectriage"))
        .args(["kb", "explain", "no/such/thing.c"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("try a source path"));
}
