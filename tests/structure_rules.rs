//! Probe reports for the structural rules (instruction emulation under
//! target/, boards of unlisted architectures, removed files, components that
//! lived beside qemu.git, damage words, components named in prose). They were
//! written for these tests, not taken from the labelled cases, and each one
//! asserts the verdict a user sees and that the rule's reason is shown.

use sectriage::kb::{Kb, UseCase};
use sectriage::triage::{analyze, decide, LlmOutcome, Report, Suggestion};

fn triage(text: &str) -> Suggestion {
    let (title, body) = text.split_once('\n').unwrap_or((text, ""));
    let report = Report {
        title: title.to_string(),
        body: body.to_string(),
    };
    decide(analyze(&report, Kb::embedded()), LlmOutcome::NotUsed)
}

#[track_caller]
fn expect(text: &str, use_case: UseCase, reason: &str) -> Suggestion {
    let s = triage(text);
    assert_eq!(s.use_case, use_case, "{}", s.rationale);
    assert!(
        s.rationale.contains(reason),
        "rationale lacks {reason:?}: {}",
        s.rationale
    );
    s
}

// --- 1. Instruction emulation under target/ -----------------------------------

#[test]
fn an_altivec_helper_overflow_described_in_prose_is_tcg() {
    let s = expect(
        "target/ppc: heap overflow in the vperm emulation\n\
         The AltiVec vperm instruction handler reads past the end of the source\n\
         vector when the permute control selects element 32; a guest program on\n\
         qemu-system-ppc64 -M pseries triggers it.",
        UseCase::NonVirtualization,
        "[rule: tcg-instruction-emulation]",
    );
    assert!(!s.security_relevant, "TCG-only bugs are not security bugs");
}

#[test]
fn a_trace_into_a_tcg_helper_is_tcg() {
    expect(
        "Crash in a vector instruction\n\
         ==1==ERROR: AddressSanitizer: stack-buffer-overflow\n\
         #0 0x55 in helper_vpmsumd ../target/ppc/int_helper.c:1450\n\
         #1 0x56 in code_gen_buffer\n\
         #2 0x57 in cpu_tb_exec ../accel/tcg/cpu-exec.c:458\n",
        UseCase::NonVirtualization,
        "target/ppc/int_helper.c",
    );
}

#[test]
fn instruction_helpers_built_for_every_accelerator_are_still_tcg() {
    expect(
        "target/riscv: heap overflow in vslideup\n\
         target/riscv/vector_helper.c writes past the register file when vl > vlmax.",
        UseCase::NonVirtualization,
        "[rule: tcg-helper]",
    );
}

#[test]
fn helpers_at_their_older_location_and_decodetree_files_are_tcg() {
    expect(
        "Fix the far call gate check\n\
         In target/i386/seg_helper.c the descriptor limit is not checked.",
        UseCase::NonVirtualization,
        // QEMU 5.2's tree had the file there, built only with CONFIG_TCG.
        "runs only under TCG",
    );

    expect(
        "Wrong field width for LD1RO\n\
         The pattern in target/arm/tcg/sve.decode decodes the immediate with the wrong width.",
        UseCase::NonVirtualization,
        "[overlay: tcg]",
    );
}

#[test]
fn cpu_code_of_an_unlisted_architecture_is_non_virtualization_even_with_kvm() {
    expect(
        "target/mips: overflow in the MSA shift instructions\n\
         Seen with qemu-system-mips64el -M malta -accel kvm.",
        UseCase::NonVirtualization,
        "[rule: unlisted-target-cpu]",
    );
}

// --- Negative: virtualization code stays virtualization ------------------------

#[test]
fn accelerator_and_shared_cpu_code_stays_virtualization() {
    for (text, file) in [
        (
            "Stack overflow restoring MSRs\nkvm_put_msrs() in target/i386/kvm/kvm.c overflows its buffer.",
            "target/i386/kvm/kvm.c",
        ),
        (
            "virtio: descriptor chain loop\nhw/virtio/virtio.c walks an indirect table forever.",
            "hw/virtio/virtio.c",
        ),
        (
            "Register sync writes past the array\ntarget/arm/kvm.c copies one register too many.",
            "target/arm/kvm.c",
        ),
        (
            "GICv3 state restore overflow\nhw/intc/arm_gicv3_kvm.c writes past the LR array.",
            "hw/intc/arm_gicv3_kvm.c",
        ),
        (
            "XSAVE area overflow\ntarget/i386/xsave_helper.c copies past the area for AMX tiles.",
            "target/i386/xsave_helper.c",
        ),
    ] {
        let s = triage(text);
        assert_eq!(s.use_case, UseCase::Virtualization, "{file}: {}", s.rationale);
        assert!(s.rationale.contains(file), "{}", s.rationale);
    }
}

#[test]
fn cpu_feature_handling_used_by_kvm_is_virtualization() {
    expect(
        "target/i386: wrong cpuid leaf 0xd size for AMX\n\
         The XSAVE area size that cpuid reports is too small under KVM.",
        UseCase::Virtualization,
        "[rule: kvm-shared-cpu-state]",
    );
}

#[test]
fn instruction_words_never_decide_alone_against_a_hardware_accelerator_or_on_s390x() {
    let kvm = triage(
        "Crash in vector instruction handling\n\
         The AVX2 instruction emulation crashes; qemu-system-x86_64 -M q35 -accel kvm.",
    );
    assert_ne!(
        kvm.use_case,
        UseCase::NonVirtualization,
        "{}",
        kvm.rationale
    );
    let s390 = triage(
        "target/s390x: fix the CHSC instruction\n\
         The channel subsystem call instruction handler overflows.",
    );
    assert_ne!(
        s390.use_case,
        UseCase::NonVirtualization,
        "{}",
        s390.rationale
    );
}

// --- 2. Devices of unlisted boards ---------------------------------------------

#[test]
fn an_omap_i2c_bug_is_non_virtualization() {
    expect(
        "hw/i2c/omap_i2c: out of bounds write in the FIFO\n\
         The OMAP I2C controller writes one byte past its FIFO when the guest programs a count of 0xffff.",
        UseCase::NonVirtualization,
        "only unlisted machine types build it",
    );
}

#[test]
fn removed_board_files_and_boards_of_unlisted_architectures() {
    expect(
        "hw/display/pxa2xx_lcd: overflow in the palette load\n\
         hw/display/pxa2xx_lcd.c copies the palette without checking its size.",
        UseCase::NonVirtualization,
        "only unlisted machine types build it",
    );
    // A removed file no older tree examined had falls back on its family.
    expect(
        "hw/display/pxa2xx_fb2: overflow in the palette load\n\
         hw/display/pxa2xx_fb2.c copies the palette without checking its size.",
        UseCase::NonVirtualization,
        "[rule: file-family]",
    );
    expect(
        "hw/sparc/sun4m: out of bounds access in the IOMMU mapping\n\
         hw/sparc/sun4m.c indexes the page table with a guest value.",
        UseCase::NonVirtualization,
        // The knowledge base itself now knows sparc has no listed machine type (per-target
        // source sets); the structural rule remains for files it cannot place.
        "lists no machine type",
    );
}

#[test]
fn a_device_named_in_prose_by_its_maintainers_section() {
    expect(
        "Out of bounds read in the ASPEED BMCs flash controller model\n\
         Reading the last segment register reads beyond the array.",
        UseCase::NonVirtualization,
        "ASPEED",
    );
}

// --- 3. Components beside qemu.git -------------------------------------------

#[test]
fn a_slirp_tcp_emu_bug_is_virtualization_and_security_relevant() {
    let s = expect(
        "tcp_emu: fix OOB access of the IRC DCC command\n\
         tcp_emu() parses what the guest sends on port 6667 and may read past the mbuf.",
        UseCase::Virtualization,
        "[overlay: libslirp]",
    );
    assert!(s.security_relevant);
}

#[test]
fn pvrdma_virtiofsd_and_iscsi_are_decided_by_the_documents_logic() {
    let s = expect(
        "hw/rdma: use after free of the completion queue\n\
         A malicious guest can destroy a CQ while a work request still points at it.",
        UseCase::Virtualization,
        "[overlay: pvrdma]",
    );
    assert!(s.security_relevant);
    expect(
        "virtiofsd: path traversal through a crafted lookup\n\
         tools/virtiofsd/passthrough_ll.c follows .. out of the shared directory.",
        UseCase::Virtualization,
        "[overlay: virtiofsd]",
    );
    expect(
        "block/iscsi: heap overflow on a short READ CAPACITY reply\n\
         block/iscsi.c trusts the length the target returns.",
        UseCase::Virtualization,
        "[overlay: network-protocols]",
    );
    // Named by its subsystem alone, the iSCSI driver is still found; a name no
    // overlay entry states (`linux-user:`) is not turned into a block driver.
    let s = expect(
        "iscsi: sense data copied beyond the buffer\n\
         A malicious iSCSI target sends more sense data than the request holds.",
        UseCase::Virtualization,
        "block/iscsi.c",
    );
    assert!(s.security_relevant);
    // A backend library named by its directory alone (`subprojects/libvhost-user/`),
    // and TCG plugins, which only TCG runs.
    expect(
        "libvhost-user: out-of-bounds read of the feature bits\n\
         A malicious front-end passes a feature index past 64.",
        UseCase::Virtualization,
        "[overlay: vhost-user-backends]",
    );
    expect(
        "plugins: use after free when a plugin is uninstalled\n\
         plugins/core.c frees the callback list while a vCPU still walks it.",
        UseCase::NonVirtualization,
        "TCG plugins",
    );
    // `hyperv:` is hw/hyperv/, not the one file whose stem starts with it
    // (the Hyper-V test device): the KVM frames below decide.
    expect(
        "hyperv: SEGV in kvm_hv_handle_exit\n\
         #0 0x55ca in kvm_hv_handle_exit /src/qemu/target/i386/kvm/hyperv.c:1325:33\n\
         #1 0x55e6 in kvm_arch_handle_exit /src/qemu/target/i386/kvm/kvm.c:5890:13",
        UseCase::Virtualization,
        "target/i386/kvm/hyperv.c",
    );
    // A MAINTAINERS section name inside a frame's path (`POSIX` in
    // util/qemu-thread-posix.c) is no mention of that section.
    let s = triage(
        "decNumber: heap-use-after-free in decDecap\n\
         #0 0x554b in decDecap /src/qemu/libdecnumber/decNumber.c:1728:37\n\
         #1 0x5506 in qemu_thread_start /src/qemu/util/qemu-thread-posix.c:541:3",
    );
    assert!(!s.rationale.contains("POSIX"), "{}", s.rationale);
    assert_ne!(s.use_case, UseCase::Virtualization, "{}", s.rationale);
    let user = triage("linux-user: wrong errno for stime\nThe syscall returns EINVAL.");
    assert_eq!(
        user.use_case,
        UseCase::NonVirtualization,
        "{}",
        user.rationale
    );
}

// --- 4. Damage words ------------------------------------------------------------

#[test]
fn damage_in_other_words_makes_a_virtualization_bug_security_relevant() {
    for damage in [
        "a NULL dereference",
        "a double free",
        "a dangling pointer is used later",
        "the loop spins forever at 100% CPU",
        "an integer underflow of the length",
        "uninitialised heap memory is copied to the guest",
        "QEMU abort()s on a guest-reachable assertion",
        "QEMU stürzt ab",
        "会导致越界写",
    ] {
        let s = triage(&format!(
            "hw/usb/hcd-xhci: guest-triggered bug\nA guest driver can cause {damage} in hw/usb/hcd-xhci.c."
        ));
        assert!(s.security_relevant, "{damage}: {:?}", s.evidence.security);
    }
    let refactor = triage(
        "hw/usb/hcd-xhci: refactor the ring walk\nNo functional change; prepares the overflow handling.",
    );
    assert!(!refactor.security_relevant);
}

// --- 5. Components named in prose only -----------------------------------------

#[test]
fn devices_named_in_prose_are_found_through_the_knowledge_base() {
    expect(
        "Heap overflow in the EHCI controller\n\
         When the guest queues a long transfer descriptor the model copies past its buffer.",
        UseCase::Virtualization,
        "hw/usb/hcd-ehci.c",
    );
    expect(
        "Use after free in the e1000e NIC receive path\n\
         A malicious guest can make the device write to freed memory.",
        UseCase::Virtualization,
        "[rule: named-in-prose]",
    );
}

// --- kb explain shows the rules ------------------------------------------------

#[test]
fn kb_explain_shows_the_structural_rule_and_its_section() {
    for (subject, rule, class) in [
        (
            "target/riscv/vector_helper.c",
            "[rule: tcg-helper]",
            "non-virtualization",
        ),
        (
            "hw/arm/pxa2xx_fb2.c",
            "[rule: file-family]",
            "non-virtualization",
        ),
        (
            "target/mips/kvm.c",
            "[rule: unlisted-target-cpu]",
            "non-virtualization",
        ),
        (
            "target/i386/kvm/kvm.c",
            "[overlay: virtualization-accelerators]",
            "virtualization",
        ),
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sectriage"))
            .args(["kb", "explain", subject])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{subject}");
        assert!(
            text.starts_with(&format!("{subject}: {class}")),
            "{subject}: {text}"
        );
        assert!(text.contains(rule), "{subject}: {text}");
        assert!(text.contains("[security.rst, "), "{subject}: {text}");
    }
}

// --- 7. Session 9: placement by QEMU's structure, not by case ------------------

#[test]
fn guest_assembly_compared_with_hardware_is_tcg_but_port_io_is_not() {
    // No path, no instruction word: the assembly and the hardware comparison say it.
    expect(
        "x86 ANDN result differs from a real CPU\n\
         \n\
         \x20 mov rdx, 0x00ff00ff00ff00ff\n\
         \x20 andn rax, rdx, rcx\n\
         \n\
         Hardware: RAX = 0x1200, ZF = 0. QEMU: RAX = 0x1200, ZF = 1.",
        UseCase::NonVirtualization,
        "[rule: tcg-instruction-emulation]",
    );
    // Port I/O in a reproducer drives a device: nothing is concluded from it.
    let s = triage(
        "Guest hang with a crafted command\n\
         \n\
         \x20 mov dx, 0x1f7\n\
         \x20 out dx, al\n\
         \n\
         On hardware the controller answers; QEMU loops.",
    );
    assert_ne!(s.use_case, UseCase::NonVirtualization, "{}", s.rationale);
}

#[test]
fn a_binary_of_an_architecture_without_listed_machines_decides_when_no_code_is_named() {
    let s = expect(
        "Emulator aborts after nested traps\n\
         A user program run under qemu-system-m68k makes the emulator abort: cpu_abort()\n\
         reports a double fault and the whole process exits.",
        UseCase::NonVirtualization,
        "qemu-system-m68k",
    );
    // cpu_abort() is where the emulator gives up, not where the bug is.
    assert!(!s.rationale.contains("cpu-target.c"), "{}", s.rationale);
    // One binary with listed machine types among them leaves the machine open.
    let s = triage(
        "Emulator aborts after nested traps\n\
         Seen with qemu-system-m68k and with qemu-system-x86_64; cpu_abort() reports a\n\
         double fault.",
    );
    assert_ne!(s.use_case, UseCase::NonVirtualization, "{}", s.rationale);
}

#[test]
fn architecture_title_prefixes_name_the_cpu_directory_not_a_same_named_file() {
    // `PPC:` once resolved to hw/ppc/ppc.c (built for pseries) and outvoted the TCG path.
    expect(
        "PPC: mtcrf translation drops the field mask\n\
         The decoder in target/ppc/translate.c applies the wrong mask to the CR\n\
         fields written by mtcrf, so guest code sees stale condition bits.",
        UseCase::NonVirtualization,
        "target/ppc/translate.c",
    );
}

#[test]
fn a_subsystem_prefix_does_not_outvote_the_device_a_function_names() {
    // `net:` is both net/ and hw/net/, so after an unknown `fec2:` it places nothing;
    // the function then finds the i.MX Ethernet controller.
    expect(
        "net: fec2: zero-length descriptor spins\n\
         imx_enet_do_tx() never advances past a ready descriptor of length zero.",
        UseCase::NonVirtualization,
        "imx_fec.c",
    );
}

#[test]
fn a_file_named_without_its_directory_is_found_when_the_tree_is_unambiguous() {
    expect(
        "Wrong flags after a far call through a call gate\n\
         The task-switch code in seg_helper.c forgets to reload CS.RPL; the guest\n\
         kernel then faults on its next iret.",
        UseCase::NonVirtualization,
        "seg_helper.c",
    );
}

#[test]
fn a_title_prefix_shared_by_one_device_family_names_it() {
    // `cirrus:` names no file, but every cirrus_vga*.c is the same class.
    let s = expect(
        "cirrus: heap overflow in the blitter\n\
         The 2D engine copies past the end of video memory when the guest programs a\n\
         negative pitch.",
        UseCase::Virtualization,
        "cirrus_vga",
    );
    assert!(s.security_relevant, "{}", s.rationale);
    // A prefix that is no file but starts with a family's name: `msf2-dma:`
    // is the SmartFusion2 family, every file of which is an unlisted board's.
    expect(
        "msf2-dma: transfer length never checked\n\
         A descriptor with a huge length makes the controller copy past the buffer.",
        UseCase::NonVirtualization,
        "msf2",
    );
}

#[test]
fn niche_pluggable_devices_stay_a_maintainers_call_even_on_q35_with_kvm() {
    for (text, subject) in [
        (
            "hw/net/rocker: flow table index unchecked\n\
             A group id from the descriptor indexes a per-type table without a bound.\n\
             qemu-system-x86_64 -M q35 -accel kvm -device rocker,name=sw0",
            "rocker",
        ),
        (
            "hw/sd/sdhci-pci: block count underflow\n\
             The PCI SD host controller decrements a zero block count.\n\
             qemu-system-x86_64 -M q35 -accel kvm -device sdhci-pci",
            "sdhci-pci",
        ),
    ] {
        let s = expect(
            text,
            UseCase::NeedsJudgement,
            "[overlay: niche-pluggable-devices]",
        );
        assert!(s.rationale.contains(subject), "{}", s.rationale);
    }
}

// --- 8. Session 10: paths of older releases, TCG's own functions ---------------

#[test]
fn files_of_older_releases_are_classified_by_the_tree_that_had_them() {
    // The OMAP/nseries USB controller, removed with those boards.
    let s = expect(
        "usb: out-of-bounds write in the MUSB endpoint FIFO\n\
         ==1==ERROR: AddressSanitizer: heap-buffer-overflow\n\
         #0 0x55 in musb_packet hw/usb/hcd-musb.c:640\n\
         #1 0x56 in musb_write_fifo hw/usb/hcd-musb.c:1062\n",
        UseCase::NonVirtualization,
        "hw/usb/hcd-musb.c",
    );
    assert!(!s.security_relevant);
    // NVMe before it moved to hw/nvme/, and pvrdma, removed in 9.1: both virtualization.
    expect(
        "hw/block/nvme: fix out-of-bounds read in the CMB\n\
         #0 0x55 in nvme_cmb_read hw/block/nvme.c:1320\n",
        UseCase::Virtualization,
        "hw/block/nvme.c",
    );
    expect(
        "Fix a ring index overflow\n\
         #0 0x55 in pvrdma_ring_next_elem_read hw/rdma/vmw/pvrdma_dev_ring.c:110\n",
        UseCase::Virtualization,
        "hw/rdma/vmw/pvrdma_dev_ring.c",
    );
}

#[test]
fn a_removed_file_shows_which_release_its_facts_come_from() {
    let f = Kb::embedded()
        .path("hw/arm/nseries.c")
        .expect("known from an older tree");
    assert_eq!(f.class, UseCase::NonVirtualization);
    let text: String = f
        .facts
        .iter()
        .map(|f| f.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(text.contains("no longer in QEMU 10.0.2's tree"), "{text}");
    assert!(text.contains("QEMU 7.2.0"), "{text}");
    // Today's file wins over an older path of the same name.
    assert_eq!(
        Kb::embedded().resolve_component("pnv_phb4").as_deref(),
        Some("hw/pci-host/pnv_phb4.c")
    );
}

#[test]
fn functions_only_tcg_calls_are_tcg_even_in_shared_files() {
    // The softmmu TLB fill: defined in a file KVM runs, called only from accel/tcg/.
    let s = expect(
        "softmmu: Always initialize xlat in address_space_translate_for_iotlb\n\
         The bug is an uninitialized variable read; the guest can trigger it through an\n\
         IOMMU memory region.",
        UseCase::NonVirtualization,
        "[rule: tcg-only-callers]",
    );
    assert!(
        s.rationale.contains("accel/tcg/cputlb.c"),
        "{}",
        s.rationale
    );
    // QEMU names TCG's own functions tcg_*; the title's "in" says where the fix is.
    expect(
        "softmmu: use a barrier in tcg_commit\n\
         A running vCPU can see the new dispatch before the TLB flush.",
        UseCase::NonVirtualization,
        "[rule: tcg-function-name]",
    );
    // A function every accelerator calls stays where it is.
    expect(
        "hw/usb/hcd-xhci: loop in xhci_kick_epctx\n\
         #0 0x55 in xhci_kick_epctx hw/usb/hcd-xhci.c:2100\n",
        UseCase::Virtualization,
        "hw/usb/hcd-xhci.c",
    );
}

#[test]
fn compiler_and_build_system_reports_are_not_runtime_code() {
    for title in [
        "Some compiler 9 miscompiles the carry builtin\n\
         QEMU built with it computes wrong results; add a workaround in include/qemu/compiler.h.",
        "meson: a hardening flag clashes with the system compiler's extension\n\
         The build produces broken binaries; skip the flag there.",
    ] {
        let s = expect(
            title,
            UseCase::NeedsJudgement,
            "the use-case mapping does not apply",
        );
        assert!(!s.security_relevant, "{}", s.rationale);
    }
    // A crash report that says which compiler built QEMU is still runtime code.
    expect(
        "hw/usb/hcd-xhci: heap overflow in the TRB ring walk\n\
         Built with clang 17 and ASan; a malicious guest overflows the ring buffer.",
        UseCase::Virtualization,
        "hw/usb/hcd-xhci",
    );
}

#[test]
fn a_function_named_without_parentheses_places_the_code_when_nothing_else_does() {
    expect(
        "Fix an option parsing overflow in the DHCP server\n\
         bootp_reply copies the client identifier without checking its length.",
        UseCase::Virtualization,
        "bootp_reply()",
    );
    // A bare word never makes anything non-virtualization on its own: the
    // TCG translator's function named without parentheses places nothing.
    expect(
        "Fix a wrong flag result in the shift emulation\n\
         gen_shift_rm_im computes the carry from the wrong operand.",
        UseCase::NeedsJudgement,
        "no affected code",
    );
    // A word that is no function of the tree places nothing.
    expect(
        "Fix an overflow in the option parser\n\
         the parse_all_options step copies without checking the length.",
        UseCase::NeedsJudgement,
        "no affected code",
    );
}
