//! The reporter writes the title, the trace and the words around an
//! accelerator. None of them alone may turn virtualization code into a
//! non-virtualization suggestion (the dangerous direction): a title naming a
//! TCG function or an unlisted board, a TCG loop frame innermost in a trace,
//! a decoy frame before the real trace. The probes were written for these
//! tests after two red-team batteries (138 and 209 reports) found such
//! titles, traces and side remarks deciding alone (27, then 90 dangerous
//! suggestions); each class has a probe here. Round two: what the report
//! names besides the code (a user-mode binary used to build the PoC, a TCG
//! path in a side remark, `-accel tcg` on a runner without /dev/kvm, a board
//! "where it was first seen", `-M q35.` glued to a full stop, paths the
//! knowledge base cannot place). The other direction is tested too:
//! contrasts ("with KVM the value is correct"), KVM on an unlisted board
//! and honest TCG, user-mode and board reports still decide
//! non-virtualization.

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

const E1000E: &str = "hw/net/e1000e_core.c e1000e_write_packet_to_guest overflows the RX buffer when the guest sets a large descriptor length.";
const XHCI: &str = "hw/usb/hcd-xhci.c xhci_ring_fetch follows link TRBs without bound; a guest building a TRB loop makes QEMU spin forever.";

#[track_caller]
fn never_non_virtualization(title: &str, body: &str) {
    let s = triage(&format!("{title}\n{body}"));
    assert_ne!(
        s.use_case,
        UseCase::NonVirtualization,
        "title {title:?}: {}",
        s.rationale
    );
}

#[test]
fn a_title_naming_tcg_or_an_unlisted_board_does_not_outvote_the_device_in_the_body() {
    for title in [
        "target/i386/tcg/translate.c: heap overflow",
        "linux-user/syscall.c: heap overflow",
        "hw/arm/musicpal.c heap overflow",
        "musicpal: framebuffer overflow",
        "qemu-arm: e1000e heap overflow",
        "Crash in cpu_exec",
        "tb_gen_code crash in e1000e",
        "Assertion failure in cpu_loop_exit_restore during e1000e DMA",
        "e1000e overflow; unlike hw/arm/musicpal.c this is reachable on q35",
        "<!-- hw/arm/musicpal.c --> e1000e heap overflow",
        "e1000e (cf. bsd-user/main.c)",
        "Débordement dans cpu_exec lors d'un DMA e1000e",
    ] {
        never_non_virtualization(title, E1000E);
    }
    for title in [
        "xHCI: guest can hang QEMU (stuck in cpu_io_recompile)",
        "tcg_gen_code never returns when xhci loops",
        "USB xhci: guest loops forever (cpu_tb_exec)",
    ] {
        never_non_virtualization(title, XHCI);
    }
}

#[test]
fn a_tcg_frame_innermost_does_not_outvote_the_device_frames_of_the_trace() {
    // Upside down: the TCG loop innermost, the device below it.
    never_non_virtualization(
        "virtio-net crash",
        "==1==ERROR: AddressSanitizer: heap-buffer-overflow\n\
             #0 0x55 in cpu_exec accel/tcg/cpu-exec.c:1050\n\
             #1 0x55 in tcg_qemu_tb_exec tcg/tcg.c:900\n\
             #2 0x55 in virtio_net_receive_rcu hw/net/virtio-net.c:1890\n",
    );
    // A decoy frame before the real trace.
    never_non_virtualization(
        "Guest-triggerable heap overflow",
        "Some text first.\n\
             #0 0x55 in cpu_exec accel/tcg/cpu-exec.c:1050\n\n\
         Real trace:\n\
             #0 0x55 in virtio_net_receive_rcu hw/net/virtio-net.c:1890\n\
             #1 0x55 in virtio_net_do_receive hw/net/virtio-net.c:1950\n",
    );
    // TCG's own code crashing under a device's DMA: the device may be at fault.
    never_non_virtualization(
        "virtio-net crash",
        "#0  __GI_raise (sig=6) at ../sysdeps/unix/sysv/linux/raise.c:50\n\
         #1  0x00005 in g_assertion_message_expr ()\n\
         #2  0x00005 in tb_page_addr_cache () at ../accel/tcg/tb-maint.c:100\n\
         #3  0x00005 in virtio_net_flush_tx (q=0x1) at ../hw/net/virtio-net.c:2700\n",
    );
}

#[test]
fn an_asan_frame_with_its_library_in_parentheses_does_not_hide_the_next_frame() {
    let s = triage(
        "Heap overflow in the RX path\n\
         ==1==ERROR: AddressSanitizer: heap-buffer-overflow\n\
             #0 0x55 in __asan_memcpy (/lib/x86_64-linux-gnu/libasan.so.8+0xfa0b8)\n\
             #1 0x55 in e1000e_write_packet_to_guest ../hw/net/e1000e_core.c:1528\n\
             #2 0x55 in nc_sendv_compat ../net/net.c:831\n",
    );
    assert_eq!(s.use_case, UseCase::Virtualization, "{}", s.rationale);
    assert!(
        s.rationale.contains("hw/net/e1000e_core.c"),
        "{}",
        s.rationale
    );
}

#[test]
fn an_unlisted_board_device_called_from_the_network_backends_stays_non_virtualization() {
    // The backend frames are the board NIC's callers, not a second component.
    let s = triage(
        "cadence_gem: heap overflow in gem_receive()\n\
         qemu-system-aarch64 -M xlnx-zcu102 -nic user,model=cadence_gem\n\
         ==1==ERROR: AddressSanitizer: heap-buffer-overflow\n\
             #0 0x55 in __asan_memcpy (/lib/x86_64-linux-gnu/libasan.so.8+0xfa0b8)\n\
             #1 0x55 in gem_receive ../hw/net/cadence_gem.c:1030\n\
             #2 0x55 in nc_sendv_compat ../net/net.c:831\n\
             #3 0x55 in qemu_deliver_packet_iov ../net/net.c:874\n",
    );
    assert_eq!(s.use_case, UseCase::NonVirtualization, "{}", s.rationale);
}

#[test]
fn kvm_on_an_unlisted_board_does_not_make_its_device_virtualization() {
    let s = triage(
        "hw/intc/loongson_liointc.c: out-of-bounds write in the mapper\n\
         qemu-system-mips64el -M loongson3-virt -accel kvm -m 2G\n\
         The guest writes a mapper byte past the array; the backtrace ends in\n\
         accel/kvm/kvm-accel-ops.c through kvm_cpu_exec.",
    );
    assert_eq!(s.use_case, UseCase::NonVirtualization, "{}", s.rationale);
}

#[test]
fn an_accelerator_named_as_unaffected_is_a_contrast_not_the_configuration() {
    for (text, unaffected) in [
        (
            "x86: exception during hardware interrupt pushes wrong error code\n\
             The interrupt helpers in target/i386/tcg/seg_helper.c never set the EXT bit.\n\
             With KVM the error code is correct, because the hardware computes it.",
            "KVM",
        ),
        (
            "target/i386 : débordement dans helper_fxrstor() en mode TCG\n\
             Sous TCG, helper_fxrstor() (target/i386/tcg/fpu_helper.c) lit au-delà du tampon.\n\
             Ligne de commande : qemu-system-x86_64 -M q35 -accel tcg -cpu max\n\
             Le problème ne se reproduit pas avec -accel kvm, car le processeur exécute l'instruction.",
            "-accel kvm",
        ),
    ] {
        let s = triage(text);
        assert_eq!(
            s.use_case,
            UseCase::NonVirtualization,
            "{unaffected}: {}",
            s.rationale
        );
    }
    // The same words the other way round keep the report virtualization.
    let s = triage(
        "hw/net/e1000e_core.c: heap overflow in the RX path\n\
         qemu-system-x86_64 -M q35 -accel kvm -device e1000e\n\
         The guest overflows the RX buffer under KVM; TCG is not affected either way.",
    );
    assert_eq!(s.use_case, UseCase::Virtualization, "{}", s.rationale);
}

// --- Round two: what the report names besides the code ------------------------

#[test]
fn a_user_mode_binary_or_path_in_a_side_remark_does_not_outvote_the_device() {
    for body in [
        "A malicious guest running under KVM corrupts QEMU heap memory through the nvme controller. The guest PoC is statically linked; I tested it under qemu-x86_64 before booting it in the guest.",
        "qemu-system-x86_64 -enable-kvm -device nvme,drive=d0,serial=x -drive if=none,id=d0,file=a.img\nThe guest PoC runs under qemu-x86_64 first.",
        "A malicious guest driver corrupts QEMU heap memory through the usb-redir device. A similar check was added to linux-user/syscall.c last year; reproduced with KVM.",
    ] {
        never_non_virtualization("Heap overflow in a device", body);
    }
}

#[test]
fn a_tcg_path_in_a_side_remark_does_not_outvote_a_device_named_in_prose() {
    for body in [
        "The e1000e NIC copies a guest-controlled length into a fixed heap buffer. Unrelated: target/i386/tcg/translate.c has a similar pattern.",
        "The xhci controller follows link TRBs forever. (I also have a pending patch for target/arm/tcg/translate.c, unrelated.)",
        "The bug is in hw\\usb\\hcd-xhci.c: a guest-controlled length is used unchecked. Similar to an older bug in target/i386/tcg/seg_helper.c.",
        "The bug is in HW/USB/HCD-XHCI.C: a guest-controlled length is used unchecked. Similar to an older bug in target/i386/tcg/seg_helper.c.",
        "The bug is in hw/net/../net/e1000e_core.c: a guest-controlled length. Similar to an older bug in target/i386/tcg/seg_helper.c.",
        "The bug is in include/hw/usb/xhci.h: a guest-controlled length. Similar to an older bug in target/i386/tcg/seg_helper.c.",
        "The bug is in hw/fdc.c: a guest-controlled length. Similar to an older bug in target/i386/tcg/seg_helper.c.",
    ] {
        never_non_virtualization("Heap buffer overflow reachable from the guest", body);
    }
}

#[test]
fn running_under_tcg_or_on_an_unlisted_board_does_not_place_a_named_device() {
    for (title, body) in [
        ("Heap overflow in megasas", "A malicious guest corrupts host heap memory through the megasas SAS HBA. I reproduced it with -accel tcg because the CI runner has no /dev/kvm."),
        ("Heap overflow in the nvme controller", "Reproduced: qemu-system-x86_64 -accel tcg -M q35 -device nvme.\nKVM guests are equally affected."),
        ("Débordement de tas dans le contrôleur ahci", "Un invité malveillant corrompt le tas de QEMU via le contrôleur ahci. Le PoC utilise des instructions SSE pour écrire la table PRDT."),
        ("Heap overflow in nvme controller", "A malicious guest corrupts host heap memory through the nvme controller. It reproduces on q35 and on the sbsa-ref board."),
        ("Heap overflow in the virtio-blk device", "The arm musicpal board uses a similar design for its block device, but here it is virtio-blk on any machine."),
    ] {
        never_non_virtualization(title, body);
    }
}

#[test]
fn punctuation_around_a_command_line_does_not_unlist_the_machine() {
    for cmd in [
        "The host runs qemu-system-x86_64 -enable-kvm -M q35. Nothing else is needed.",
        "The host runs qemu-system-x86_64 -enable-kvm -M \"q35\" and nothing else.",
        "The host runs qemu-system-aarch64 -accel kvm -cpu host -M virt; nothing else.",
    ] {
        let s = triage(&format!(
            "Guest-triggerable out-of-bounds write in a disk controller\n{cmd}"
        ));
        assert_ne!(
            s.use_case,
            UseCase::NonVirtualization,
            "{cmd}: {}",
            s.rationale
        );
        assert!(
            !s.rationale.contains("is not a listed machine type"),
            "{cmd}: {}",
            s.rationale
        );
    }
}

#[test]
fn honest_non_virtualization_reports_stay_non_virtualization() {
    for text in [
        "target/arm: SVE LD1 with MTE asserts in the helper\nThe helper in target/arm/tcg/sve_helper.c asserts when the page is tagged.",
        "linux-user: mremap of a grown mapping asserts\nlinux-user/mmap.c asserts in page_set_flags() when the new size passes the reserved range.",
        "hw/arm/musicpal: the LCD framebuffer write overflows\nqemu-system-arm -M musicpal -kernel zImage",
        "Heap overflow in the x86 SSE emulation\nWith -accel tcg, a guest executing a crafted PCMPESTRI overflows in the SSE helpers of target/i386/tcg/fpu_helper.c.",
    ] {
        let s = triage(text);
        assert_eq!(s.use_case, UseCase::NonVirtualization, "{text}: {}", s.rationale);
    }
}

// --- Round three: devices the knowledge base does not name in prose -----------

#[test]
fn a_tcg_tag_or_the_tcg_loop_does_not_place_a_device_described_in_words() {
    for (title, body) in [
        ("TCG: heap overflow in the Intel 82574 NIC", "When running qemu-system-x86_64 -accel tcg a malicious guest driver can write past the end of a heap buffer.\n#0 memcpy\n#1 cpu_exec ../accel/tcg/cpu-exec.c:1000\n"),
        ("tcg: xHCI use-after-free", ""),
        ("TCG: megasas OOB", ""),
        ("Heap overflow in the Bochs display", "The guest writes a crafted value into a BAR.\n    #0 0x55 in __asan_memcpy\n    #1 0x56 in io_writex ../accel/tcg/cputlb.c:1400\n    #2 0x58 in cpu_tb_exec ../accel/tcg/cpu-exec.c:450\n"),
        ("linux-user: megasas frame overflow", "megasas_handle_frame trusts frame_count"),
        ("USB 3.0 controller UAF", "qemu-system-x86_64 -M q35 -m 1G\nPoC compiled with qemu-x86_64 on my laptop."),
        ("USB 3.0 controller use-after-free", "First noticed while bringing up a raspi4b image, the xHCI code frees the endpoint context on stop."),
        ("TCG: live migration destination crash", "A malicious migration source sends a crafted device section."),
    ] {
        never_non_virtualization(title, body);
    }
}

#[test]
fn boards_the_report_runs_or_its_title_names_still_decide() {
    for text in [
        "many aarch64 machines exit with a lockup\nStarting qemu-system-aarch64 with -machine netduino2 without a firmware image dumps core.",
        "ast2600 fails to run u-boot\nThe SPL crashes on -M ast2600-evb while reading the SCU strap registers.",
        "Out of bounds read in the ASPEED BMCs flash controller model\nReading the last segment register reads beyond the array.",
    ] {
        let s = triage(text);
        assert_eq!(s.use_case, UseCase::NonVirtualization, "{text}: {}", s.rationale);
    }
}
