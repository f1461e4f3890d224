//! The knowledge base: rebuilt from a fixture tree always, from a real QEMU
//! tree when `SECTRIAGE_QEMU_SRC` names one (CI fetches Debian's), and the
//! evidence chains `kb explain` gives for well-known files.

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use sectriage::kb::{build, Kb, KbData, Reach, UseCase};

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
        data.machines
            .get("xilinx-zynq-a9")
            .and_then(|d| d.first())
            .map(|d| d.file.as_str()),
        Some("hw/arm/xilinx_zynq.c")
    );
}

#[test]
fn committed_kb_is_reproducible_from_a_real_tree() {
    let (Some(data), Some(src), Some(history)) = (full_data(), qemu_src(), history_trees()) else {
        return;
    };
    let rebuilt = build::to_json(data);
    let committed = std::fs::read_to_string("kb/qemu-kb.json").unwrap();
    assert!(rebuilt == committed, "kb/qemu-kb.json differs from a rebuild; run `sectriage kb build --qemu-src {src}` with `--history` for each of {history:?} and commit");
}

/// The real current tree's path, or `None` (a skip, or a failure under CI).
fn qemu_src() -> Option<String> {
    support::require(
        "SECTRIAGE_QEMU_SRC",
        "a QEMU source tree",
        "export SECTRIAGE_QEMU_SRC=$(scripts/fetch-qemu-src)",
    )
}

/// The data built from the real current tree alone, once per test binary.
fn current_data() -> Option<&'static KbData> {
    static DATA: OnceLock<KbData> = OnceLock::new();
    let src = qemu_src()?;
    Some(DATA.get_or_init(|| build::build(Path::new(&src), SECURITY_RST).unwrap()))
}

/// The data built from the real trees as the committed file is (with the
/// older trees), once per test binary.
fn full_data() -> Option<&'static KbData> {
    static DATA: OnceLock<KbData> = OnceLock::new();
    let (src, history) = (qemu_src()?, history_trees()?);
    Some(DATA.get_or_init(|| {
        build::build_with_history(Path::new(&src), &history, SECURITY_RST).unwrap()
    }))
}

/// The older trees the committed data file takes removed paths from.
fn history_trees() -> Option<Vec<std::path::PathBuf>> {
    let joined = support::require(
        "SECTRIAGE_QEMU_HISTORY",
        "the older QEMU trees (7.2 and 5.2)",
        "export SECTRIAGE_QEMU_HISTORY=$(scripts/fetch-qemu-src --suite bookworm):$(scripts/fetch-qemu-src --suite bullseye)",
    )?;
    Some(std::env::split_paths(&joined).collect())
}

#[test]
fn older_trees_add_only_what_the_current_tree_no_longer_has() {
    let (Some(current), Some(data)) = (current_data(), full_data()) else {
        return;
    };
    assert_eq!(data.history, ["7.2.0", "5.2.0"], "newest first");
    // Nothing the current tree has changes.
    for (path, facts) in &current.files {
        assert_eq!(data.files.get(path), Some(facts), "{path}");
    }
    let release = |p: &str| data.files[p].last_release.as_deref();
    // Removed with the nseries/OMAP boards: from 7.2, built only for unlisted boards.
    assert_eq!(release("hw/usb/hcd-musb.c"), Some("7.2.0"));
    assert_eq!(
        data.files["hw/usb/hcd-musb.c"].class,
        UseCase::NonVirtualization
    );
    assert_eq!(release("hw/arm/nseries.c"), Some("7.2.0"));
    // NVMe before hw/nvme/ (6.0): only 5.2 has it, and pc/q35 reach it.
    assert_eq!(release("hw/block/nvme.c"), Some("5.2.0"));
    assert_eq!(data.files["hw/block/nvme.c"].class, UseCase::Virtualization);
    // softmmu/ before system/ (8.1), pvrdma before its removal (9.1).
    assert_eq!(
        data.files["softmmu/physmem.c"].class,
        UseCase::Virtualization
    );
    assert_eq!(
        data.files["hw/rdma/vmw/pvrdma_cmd.c"].class,
        UseCase::Virtualization
    );
    // Machines and targets of older releases are known, as unlisted.
    assert!(data.machines.contains_key("n800"));
    assert!(!current.machines.contains_key("n800"));
    assert!(data.system_targets.contains_key("cris"));
    // A function of a removed file is found; one the current tree defines keeps its file.
    assert_eq!(
        data.functions.get("musb_packet").map(String::as_str),
        Some("hw/usb/hcd-musb.c")
    );
    assert_eq!(
        data.functions.get("xhci_kick_epctx").map(String::as_str),
        Some("hw/usb/hcd-xhci.c")
    );
}

#[test]
fn functions_only_tcg_code_calls_are_derived_from_the_tree() {
    let Some(data) = current_data() else {
        return;
    };
    let tcg = &data.tcg_only_functions;
    // The softmmu TLB fill lives in system/physmem.c; only accel/tcg/cputlb.c calls it.
    assert_eq!(
        tcg.get("address_space_translate_for_iotlb")
            .map(Vec::as_slice),
        Some(&["accel/tcg/cputlb.c".to_string()][..])
    );
    assert!(tcg.contains_key("iotlb_to_section"));
    // Functions every accelerator's path reaches are not in it.
    for f in [
        "address_space_translate",
        "memory_region_dispatch_write",
        "xhci_kick_epctx",
        "kvm_cpu_exec",
    ] {
        assert!(!tcg.contains_key(f), "{f}");
    }
    // Every entry's callers are TCG-only files, and its own file a virtualization one.
    for (f, callers) in tcg {
        let home = &data.files[&data.functions[f]];
        assert_eq!(home.class, UseCase::Virtualization, "{f}");
        for c in callers {
            assert!(data.files[c].reason.contains("only under TCG"), "{f}: {c}");
        }
    }
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

/// The knowledge base rebuilt from the real tree, with the committed overlay
/// (what `kb explain` answers from), or `None` when the tree is absent.
fn real_kb() -> Option<&'static Kb> {
    static KB: OnceLock<Kb> = OnceLock::new();
    let data = full_data()?;
    Some(KB.get_or_init(|| {
        Kb::from_parts(&build::to_json(data), sectriage::kb::EMBEDDED_OVERLAY).unwrap()
    }))
}

fn texts(f: &sectriage::kb::Finding) -> String {
    f.facts
        .iter()
        .map(|f| f.text.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn machines_are_matched_by_target_and_name_not_by_file() {
    let Some(kb) = real_kb() else { return };
    let on = |t: &str, m: &str| kb.machine_on(&[t.to_string()], m).class;
    // pc_piix.c defines pc, pc-i440fx-* and isapc; only the first two are the listed `pc`.
    for m in [
        "pc",
        "pc-i440fx-9.2",
        "pc-i440fx-10.0",
        "q35",
        "pc-q35-10.0",
        "pc-q35-2.12",
    ] {
        assert_eq!(on("x86_64", m), UseCase::Virtualization, "{m}");
        assert_eq!(on("i386", m), UseCase::Virtualization, "{m}");
    }
    assert_eq!(on("x86_64", "isapc"), UseCase::NonVirtualization);
    assert_eq!(kb.machine("isapc").class, UseCase::NonVirtualization);
    assert!(kb
        .data
        .listed_machines
        .iter()
        .all(|m| !m.aliases.iter().any(|a| a == "isapc")));
    let pc = kb.listed_machine_on(Some("x86_64"), "pc").unwrap();
    assert_eq!(pc.aliases, ["pc-i440fx"]);
    // `virt` is listed for aarch64, riscv and loongarch only.
    for t in ["aarch64", "riscv32", "riscv64", "loongarch64"] {
        assert_eq!(on(t, "virt"), UseCase::Virtualization, "{t}");
        assert_eq!(on(t, "virt-9.2"), on(t, "virt"), "{t}");
    }
    for t in ["m68k", "xtensa", "or1k"] {
        let f = kb.machine_on(&[t.to_string()], "virt");
        assert_eq!(f.class, UseCase::NonVirtualization, "{t}: {:?}", f.facts);
        assert!(
            f.file.as_deref().is_some_and(|p| p.starts_with("hw/")
                && !p.starts_with("hw/arm/")
                && !p.starts_with("hw/riscv/")),
            "{t}: {:?}",
            f.file
        );
    }
    // `none` and unlisted boards sharing a target with listed ones.
    assert_eq!(on("x86_64", "none"), UseCase::NonVirtualization);
    assert_eq!(on("aarch64", "sabrelite"), UseCase::NonVirtualization);
    assert_eq!(on("ppc64", "pseries-9.2"), UseCase::Virtualization);
    assert_eq!(on("ppc64", "powernv"), UseCase::NonVirtualization);
    assert_eq!(on("s390x", "s390-ccw-virtio-10.0"), UseCase::Virtualization);
    // A name that is no machine type of the named target falls back to the name alone.
    assert_eq!(on("aarch64", "q35"), UseCase::Virtualization);
    // The same through `kb explain`, in command-line form.
    let m68k = kb.explain("qemu-system-m68k -M virt,accel=tcg").unwrap();
    assert_eq!(m68k.class, UseCase::NonVirtualization);
    assert!(texts(&m68k).contains("hw/m68k/virt.c"), "{:?}", m68k.facts);
    assert_eq!(
        kb.explain("qemu-system-aarch64 -machine virt,accel=kvm")
            .unwrap()
            .class,
        UseCase::Virtualization
    );
    assert_eq!(
        kb.explain("-M isapc").unwrap().class,
        UseCase::NonVirtualization
    );
    assert_eq!(
        kb.explain("m68k/virt").unwrap().class,
        UseCase::NonVirtualization
    );
}

#[test]
fn maintainers_sections_are_the_specific_section_not_the_heading() {
    let Some(kb) = real_kb() else { return };
    let section = |p: &str| {
        kb.data.files[p]
            .maintainers
            .first()
            .map(|m| m.section.clone())
    };
    assert_eq!(
        section("accel/tcg/cpu-exec.c").as_deref(),
        Some("Overall TCG CPUs")
    );
    // Two sections name hw/s390x/ equally specifically; both are reported, not the heading.
    let s390: Vec<&str> = kb.data.files["hw/s390x/s390-virtio-ccw.c"]
        .maintainers
        .iter()
        .map(|m| m.section.as_str())
        .collect();
    assert!(
        s390.contains(&"S390 Virtio-ccw") && s390.contains(&"S390 general architecture support"),
        "{s390:?}"
    );
    // ati.c has no section of its own: the catch-all is not reported as one.
    assert_eq!(section("hw/display/ati.c"), None);
    let ati = kb.explain("hw/display/ati.c").unwrap();
    assert!(
        texts(&ati).contains("no MAINTAINERS section of its own"),
        "{:?}",
        ati.facts
    );
    // Neither group headings nor the catch-all are ever a file's section.
    for (path, facts) in &kb.data.files {
        for m in &facts.maintainers {
            assert_ne!(m.section, "All patches CC here", "{path}");
            assert_ne!(m.section, "Guest CPU cores (TCG)", "{path}");
            assert_ne!(m.section, "General Project Administration", "{path}");
        }
    }
}

#[test]
fn kconfig_chains_are_never_empty() {
    let Some(kb) = real_kb() else { return };
    for (path, facts) in &kb.data.files {
        for r in &facts.listed {
            assert!(
                !r.chain.is_empty() && !r.chain.iter().all(|c| c.starts_with('[')),
                "{path}: {} has the chain {:?}",
                r.machine,
                r.chain
            );
        }
    }
    for p in [
        "hw/display/ati.c",
        "hw/9pfs/9p.c",
        "hw/usb/hcd-xhci.c",
        "system/vl.c",
    ] {
        let f = kb.explain(p).unwrap();
        for fact in f.facts.iter().filter(|f| f.text.contains("reaches it")) {
            let chain = fact.text.split("): ").nth(1).unwrap_or("");
            assert!(chain.trim().len() > 1, "{p}: {}", fact.text);
        }
    }
    let ati = kb.explain("hw/display/ati.c").unwrap();
    assert!(
        texts(&ati).contains("Q35 -select-> PC_PCI -select-> PC -imply-> PCI_DEVICES"),
        "{:?}",
        ati.facts
    );
}

#[test]
fn per_target_source_sets_are_built_for_their_target_only() {
    let Some(kb) = real_kb() else { return };
    let ccw = &kb.data.files["hw/s390x/s390-virtio-ccw.c"];
    assert!(
        ccw.built_by.iter().all(|b| b.contains("(target s390x)")),
        "{:?}",
        ccw.built_by
    );
    for (path, facts) in &kb.data.files {
        let per_target = facts.built_by.iter().all(|b| b.contains("(target "));
        if per_target {
            assert!(!facts.common, "{path}: {:?}", facts.built_by);
            assert!(
                !facts.reason.contains("every system-emulation target"),
                "{path}: {}",
                facts.reason
            );
        }
    }
    // Unconditional per-target files: built for every machine of that target only.
    let s390 = kb.path("hw/s390x/ipl.c").unwrap();
    assert_eq!(s390.class, UseCase::Virtualization);
    assert!(
        texts(&s390).contains("s390x/s390-ccw-virtio"),
        "{:?}",
        s390.facts
    );
    let or1k = kb.path("hw/openrisc/cputimer.c").unwrap();
    assert_eq!(or1k.class, UseCase::NonVirtualization, "{:?}", or1k.facts);
    // A core file really is built for every target.
    assert!(kb.data.files["system/vl.c"].common);
    // The virtio-ccw proxies are s390x's own `virtio_ss`, not hw/virtio's.
    let proxy = &kb.data.files["hw/s390x/virtio-ccw-net.c"];
    assert!(
        proxy.built_by.iter().all(|b| b.contains("(target s390x)")),
        "{:?}",
        proxy.built_by
    );
}

#[test]
fn directories_sum_the_per_file_classes() {
    let Some(kb) = real_kb() else { return };
    for dir in ["target/arm/", "target/i386/", "hw/usb/", "hw/net/"] {
        let mut counts = std::collections::BTreeMap::new();
        // Today's files: the removed ones speak only for a directory the tree no longer has.
        for p in kb
            .data
            .files
            .keys()
            .filter(|p| p.starts_with(dir) && !kb.is_removed_file(p))
        {
            *counts.entry(kb.path(p).unwrap().class).or_insert(0usize) += 1;
        }
        let f = kb.explain(dir).unwrap();
        for (class, n) in &counts {
            assert!(
                texts(&f).contains(&format!("{n} {class}")),
                "{dir}: {counts:?} vs {:?}",
                f.facts
            );
        }
    }
    // target/arm mixes TCG-only and KVM code: it does not speak for its files.
    assert_eq!(
        kb.explain("target/arm/").unwrap().class,
        UseCase::NeedsJudgement
    );
    assert!(kb.directory("target/arm/").is_none());
    // With or without the trailing slash.
    assert_eq!(kb.explain("hw/usb"), kb.explain("hw/usb/"));
    assert_eq!(kb.explain("hw/usb").unwrap().class, UseCase::Virtualization);
}

#[test]
fn host_tools_are_known_by_their_sources() {
    let Some(kb) = real_kb() else { return };
    for (path, tool) in [
        ("qemu-img.c", "qemu-img"),
        ("qemu-nbd.c", "qemu-nbd"),
        ("qemu-io.c", "qemu-io"),
    ] {
        assert_eq!(kb.tool_of(path), Some(tool));
        let f = kb
            .explain(path)
            .unwrap_or_else(|| panic!("nothing for {path}"));
        // Disk images and NBD clients are untrusted inputs of the virtualization use case.
        assert_eq!(f.class, UseCase::Virtualization, "{path}: {:?}", f.facts);
        assert!(
            texts(&f).contains(&format!("executable('{tool}')")),
            "{:?}",
            f.facts
        );
    }
    let nbd = kb.explain("qemu-nbd.c").unwrap();
    assert!(texts(&nbd).contains("NBD"), "{:?}", nbd.facts);
    assert!(kb.data.tools.contains_key("qemu-storage-daemon"));
    assert!(kb.data.tools.contains_key("qemu-pr-helper"));
    assert!(kb.explain("scsi/qemu-pr-helper.c").is_some());
}

#[test]
fn kb_explain_cli_takes_command_line_machines() {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_sectriage"))
            .args(["kb", "explain"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let isapc = run(&["-M", "isapc"]);
    assert!(
        isapc.starts_with("machine isapc: non-virtualization"),
        "{isapc}"
    );
    let m68k = run(&["qemu-system-m68k", "-M", "virt"]);
    assert!(
        m68k.starts_with("machine virt on m68k: non-virtualization"),
        "{m68k}"
    );
    assert!(m68k.contains("hw/m68k/virt.c"), "{m68k}");
    let q35 = run(&["qemu-system-x86_64 -M pc-q35-9.2,accel=kvm"]);
    assert!(q35.contains(": virtualization"), "{q35}");
    let tcg = run(&["accel/tcg/cpu-exec.c"]);
    assert!(
        tcg.contains("MAINTAINERS section \"Overall TCG CPUs\""),
        "{tcg}"
    );
    let ati = run(&["hw/display/ati.c"]);
    assert!(!ati.contains("All patches CC here"), "{ati}");
    assert!(!ati.contains("): ;") && !ati.contains("): ["), "{ati}");
    let img = run(&["qemu-img.c"]);
    assert!(img.starts_with("qemu-img.c: virtualization"), "{img}");
    assert_eq!(run(&["hw/usb"]), run(&["hw/usb/"]));
    let json = run(&["qemu-system-m68k", "-M", "virt", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["class"], "non-virtualization", "{json}");
    let arm = run(&["target/arm/"]);
    assert!(
        arm.contains("non-virtualization") && arm.contains("needs-judgement"),
        "{arm}"
    );
}

#[test]
fn a_board_builds_a_file_only_through_the_symbol_that_names_the_part() {
    // gt64120.c is built `when: CONFIG_GT64120 && CONFIG_PCI`: boards that only
    // select PCI (i.MX7, AmigaOne, e500) do not build it; Malta does.
    let Some(kb) = real_kb() else { return };
    let gt = kb.path("hw/pci-host/gt64120.c").unwrap();
    let facts = texts(&gt);
    assert_eq!(gt.class, UseCase::NonVirtualization, "{facts}");
    for not_a_builder in ["mcimx7d-sabre", "amigaone", "ppce500"] {
        assert!(!facts.contains(not_a_builder), "{facts}");
    }
    assert!(facts.contains("malta"), "{facts}");
    // PCI Express ports that q35 users plug are no longer held back by boards
    // that merely select PCI.
    for port in [
        "hw/pci-bridge/ioh3420.c",
        "hw/pci-bridge/xio3130_downstream.c",
    ] {
        let f = kb.path(port).unwrap();
        assert_eq!(f.class, UseCase::Virtualization, "{port}: {}", texts(&f));
    }
    // A file whose rule names a bus symbol next to its own is still found in
    // the boards that select its own symbol.
    let mc = kb.path("hw/mem/npcm7xx_mc.c").unwrap();
    assert_eq!(mc.class, UseCase::NonVirtualization, "{}", texts(&mc));
}

#[test]
fn kconfig_conditions_tcg_dependencies_and_board_variants_are_read_from_the_tree() {
    let Some(data) = full_data() else {
        return;
    };
    let file = |p: &str| data.files.get(p).unwrap_or_else(|| panic!("{p} missing"));
    // `depends on TCG` (ARM_V7M, SEMIHOSTING) and what always selects such a
    // symbol (ARM_COMPATIBLE_SEMIHOSTING) run only under TCG, although
    // `[AARCH64] -select-> ARM -select if TCG-> ARM_V7M` reaches them.
    for p in [
        "hw/arm/armv7m.c",
        "hw/intc/armv7m_nvic.c",
        "semihosting/config.c",
        "semihosting/arm-compat-semi.c",
    ] {
        assert_eq!(file(p).class, UseCase::NonVirtualization, "{p}");
        assert!(
            file(p).reason.contains("CONFIG_TCG"),
            "{p}: {}",
            file(p).reason
        );
    }
    // `select ARM_GICV3 if TCG` says what is built, not what runs: HVF's arm
    // virt uses the userspace GICv3 (gicv3_class_name() picks it without KVM).
    assert_eq!(file("hw/intc/arm_gicv3.c").class, UseCase::Virtualization);
    // Meson's `if 'CONFIG_TCG' in config_all_accel: subdir('tcg')` and a
    // directory's own `subdir_done()` without TCG make its files TCG-only.
    for p in [
        "target/arm/tcg/translate.c",
        "target/loongarch/tcg/translate.c",
    ] {
        assert_eq!(
            file(p).reason,
            "built only with CONFIG_TCG, so it runs only under TCG",
            "{p}"
        );
    }
    // CONFIG_<ARCH>_DIS comes from meson.build's `disassemblers` table, per
    // target: the monitor's `x/i` runs a listed target's disassembler under
    // KVM; the MIPS one is built only for targets with no listed machine.
    for p in [
        "disas/riscv.c",
        "disas/s390.c",
        "disas/i386.c",
        "disas/ppc.c",
    ] {
        assert_eq!(
            file(p).class,
            UseCase::Virtualization,
            "{p}: {}",
            file(p).reason
        );
    }
    for p in ["disas/nanomips.c", "disas/sparc.c", "disas/m68k.c"] {
        assert_eq!(
            file(p).class,
            UseCase::NonVirtualization,
            "{p}: {}",
            file(p).reason
        );
        assert!(file(p).reason.contains("lists no machine type"), "{p}");
    }
    // Devices only `default y if TEST_DEVICES` builds are test devices, left
    // to a maintainer; isa-debug-exit, which pc implies itself, is not one.
    for p in [
        "hw/misc/edu.c",
        "hw/misc/pc-testdev.c",
        "hw/misc/i2c-echo.c",
    ] {
        assert_eq!(
            file(p).class,
            UseCase::NeedsJudgement,
            "{p}: {}",
            file(p).reason
        );
        assert!(file(p).reason.contains("TEST_DEVICES"), "{p}");
    }
    assert_eq!(file("hw/misc/debugexit.c").class, UseCase::Virtualization);
    // A TCG-only symbol pulls in only TCG-only symbols: PTIMER, which
    // ARM_V7M selects, is built for aarch64 virt only in TCG builds, and
    // otherwise only by unlisted boards (Allwinner, ColdFire, STM32).
    let ptimer = file("hw/core/ptimer.c");
    assert_eq!(
        ptimer.class,
        UseCase::NonVirtualization,
        "{}",
        ptimer.reason
    );
    assert!(
        !ptimer.listed.iter().any(|r| r.machine == "aarch64/virt"),
        "{:?}",
        ptimer.listed
    );
    // A file that defines machine types none of which security.rst lists for
    // its targets is that board, though built for every machine of them
    // (CONFIG_XEN): aarch64's xenpvh; x86's xenpvh is listed, and the
    // abstract x86 machine type is no board.
    let arm_pvh = file("hw/arm/xen-pvh.c");
    assert_eq!(
        arm_pvh.class,
        UseCase::NonVirtualization,
        "{}",
        arm_pvh.reason
    );
    assert!(arm_pvh.reason.contains("xenpvh"), "{}", arm_pvh.reason);
    for p in ["hw/i386/xen/xen-pvh.c", "hw/i386/x86.c", "hw/i386/pc.c"] {
        assert_eq!(
            file(p).class,
            UseCase::Virtualization,
            "{p}: {}",
            file(p).reason
        );
    }
    // isapc is a board (configs/devices' board list) that depends on I440FX:
    // what it selects is pluggable on pc, never "selected" by it.
    let ide = file("hw/ide/isa.c");
    assert_eq!(ide.class, UseCase::NeedsJudgement, "{}", ide.reason);
    assert!(
        ide.listed.iter().all(|r| r.reach == Reach::Pluggable),
        "{:?}",
        ide.listed
    );
    // 5.2's host features came from kconfig_external_symbols: VIRTFS holds,
    // so 9p's old files are still reached through virtio-9p.
    assert_eq!(file("hw/9pfs/9p-util.c").class, UseCase::Virtualization);
    // A name libvhost-user also defines does not resolve to the one
    // classified file that happens to define it (the TriCore translator);
    // one whose classified home is virtualization code still resolves.
    assert_eq!(data.functions.get("has_feature"), None);
    assert_eq!(
        data.functions.get("virtqueue_map_desc").map(String::as_str),
        Some("hw/virtio/virtio.c")
    );
}

#[test]
fn devices_that_device_cannot_create_are_not_pluggable() {
    let Some(data) = full_data() else {
        return;
    };
    let file = |p: &str| data.files.get(p).unwrap_or_else(|| panic!("{p} missing"));
    // Host bridges whose PCI part sets `user_creatable = false` exist only where
    // their board creates them: `-device` cannot put them into a listed machine.
    for p in [
        "hw/pci-host/grackle.c",
        "hw/pci-host/uninorth.c",
        "hw/pci-host/ppce500.c",
        "hw/pci-host/designware.c",
        "hw/audio/via-ac97.c",
    ] {
        assert_eq!(
            file(p).class,
            UseCase::NonVirtualization,
            "{p}: {}",
            file(p).reason
        );
        assert!(
            file(p).listed.iter().all(|r| r.reach != Reach::Pluggable),
            "{p}: {:?}",
            file(p).listed
        );
    }
    // A parent declared in another file is followed: the VIA south bridge's
    // super-I/O descends from TYPE_ISA_SUPERIO, which refuses -device in
    // hw/isa/isa-superio.c, and its PCI functions refuse it themselves.
    let via = file("hw/isa/vt82c686.c");
    assert_eq!(via.class, UseCase::NonVirtualization, "{}", via.reason);
    assert!(
        via.listed.iter().all(|r| r.reach != Reach::Pluggable),
        "{:?}",
        via.listed
    );
    // A virtio-pci proxy is a PCI device -device creates; the device it
    // instantiates, built by the same symbol, is reached through it. Parts
    // of a controller with symbols of their own (macio's ESCC) are not.
    for p in ["hw/virtio/virtio-nsm-pci.c", "hw/virtio/virtio-nsm.c"] {
        assert_eq!(
            file(p).class,
            UseCase::NeedsJudgement,
            "{p}: {}",
            file(p).reason
        );
    }
    assert_eq!(file("hw/char/escc.c").class, UseCase::NonVirtualization);
    // A PCI card that -device creates stays pluggable, although an unlisted
    // board builds it too.
    let serial = file("hw/char/serial-pci.c");
    assert_eq!(serial.class, UseCase::NeedsJudgement, "{}", serial.reason);
    assert!(serial.listed.iter().any(|r| r.reach == Reach::Pluggable));
}

#[test]
fn overlay_globs_name_only_the_files_their_reason_covers() {
    let kb = Kb::embedded();
    let class = |p: &str| kb.path(p).map(|f| f.class);
    // The monitor's disassembler runs with any accelerator (HMP x/i).
    assert_eq!(class("disas/disas-mon.c"), Some(UseCase::Virtualization));
    // Board-only sysbus forms of the PC controllers, and the MIPS Boston FIT loader.
    for p in [
        "hw/usb/hcd-ohci-sysbus.c",
        "hw/usb/hcd-ehci-sysbus.c",
        "hw/core/loader-fit.c",
    ] {
        assert_eq!(class(p), Some(UseCase::NonVirtualization), "{p}");
    }
    assert_eq!(
        class("hw/usb/hcd-ohci-pci.c"),
        Some(UseCase::Virtualization)
    );
    // The vhost-user backend library is guest-reachable code QEMU ships.
    assert_eq!(
        class("subprojects/libvhost-user/libvhost-user.c"),
        Some(UseCase::Virtualization)
    );
    // TCG plugins instrument translated code: meson builds plugins/ for every
    // system target, but no hardware accelerator runs a plugin's callbacks.
    for p in ["plugins/core.c", "plugins/api.c", "contrib/plugins/cache.c"] {
        assert_eq!(class(p), Some(UseCase::NonVirtualization), "{p}");
    }
    // A directory the overlay names is found by its last component, as a
    // commit title's `libvduse:` prefix names it.
    assert_eq!(
        kb.explain("libvduse").map(|f| (f.subject, f.class)),
        Some(("subprojects/libvduse/".to_string(), UseCase::Virtualization))
    );
    // Test harness code and niche IndustryPack cards are a maintainer's call;
    // libdecnumber serves only the PowerPC DFP helpers TCG runs.
    for p in [
        "accel/qtest/qtest.c",
        "chardev/testdev.c",
        "hw/ipack/tpci200.c",
    ] {
        assert_eq!(class(p), Some(UseCase::NeedsJudgement), "{p}");
    }
    assert_eq!(
        class("libdecnumber/decNumber.c"),
        Some(UseCase::NonVirtualization)
    );
    // Host helpers serving what a guest drives through QEMU.
    for p in [
        "scsi/qemu-pr-helper.c",
        "tools/i386/qemu-vmsr-helper.c",
        "contrib/ivshmem-server/ivshmem-server.c",
    ] {
        assert_eq!(class(p), Some(UseCase::Virtualization), "{p}");
    }
}
