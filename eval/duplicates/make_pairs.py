#!/usr/bin/env python3
"""Builds the likely-duplicates variant set from the dev cases.

Writes reports.jsonl (every report: the dev cases as they are, plus variants
derived from them by the mechanical transformations below) and pairs.jsonl
(same-bug pairs: a case and one of its variants, or two variants of one
case; different-bug pairs: every pair of distinct dev cases, including those
under one CVE, which are different fixes: the same loopback re-entrancy in
six NICs, or a preparatory commit). Deterministic:
rerunning gives the same files. Run from the repository root:

    python3 eval/duplicates/make_pairs.py
"""
import itertools
import json
import re

CASES = ["eval/cases/dev-cases.jsonl", "eval/cases/dev-ai-cases.jsonl"]
OUT = "eval/duplicates"

SYNONYMS = [
    ("heap over-read", "out-of-bounds heap read"),
    ("over-read", "out-of-bounds read"),
    ("overrun", "overflow"),
    ("out-of-bounds write", "OOB write"),
    ("use-after-free", "UAF"),
    ("assertion failure", "assert failure"),
    ("guest", "VM"),
    ("malicious", "hostile"),
    ("check", "validate"),
    ("Fix", "Correct"),
    ("fix", "correct"),
    ("buffer", "array"),
    ("crash", "abort"),
    ("length", "size"),
]

FRAME_RE = re.compile(r"^(\s*)#(\d+)\s+(0x[0-9a-fA-F]+\s+in\s+)?(\S+)(.*)$")
LINE_NO_RE = re.compile(r"(\.(?:c|h)):(\d+)")
DECL_RE = re.compile(
    r"(?i)\b(LLM|AI\b|A\.I\.|language model|coding agent|fuzz|syzkaller|Coverity|SVACE|static analy|"
    r"agent pipeline|found with|found by|detected by)"
)
TAG_RE = re.compile(r"^\s*\[[^\]]{1,40}\]\s*")


def swap(text):
    """Whole words only: never inside an identifier, a path or a sanitizer
    kind such as heap-buffer-overflow."""
    for a, b in SYNONYMS:
        text = re.sub(r"(?<![\w/.\-])" + re.escape(a) + r"(?![\w/.\-(])", "\0" + b + "\0", text)
    return text.replace("\0", "")


def is_code(line):
    s = line.strip()
    return (
        line.startswith("  ")
        or line.startswith("\t")
        or FRAME_RE.match(line) is not None
        or s.startswith("==")
        or s.startswith("SUMMARY:")
        or s.startswith("$")
        or s.startswith("```")
        or "runtime error:" in s
        or "ERROR: AddressSanitizer" in s
    )


def paragraphs(body):
    return re.split(r"\n\s*\n", body)


def reworded(report):
    """Title and prose through the synonym table; sentences of each prose
    paragraph in reverse order; code lines (traces, command lines) untouched."""
    title, _, body = report.partition("\n")
    out = []
    for para in paragraphs(body):
        lines = para.split("\n")
        if any(is_code(l) for l in lines) or len(lines) == 0:
            out.append(swap(para) if not any(is_code(l) for l in lines) else "\n".join(
                l if is_code(l) else swap(l) for l in lines))
            continue
        joined = " ".join(l.strip() for l in lines)
        sentences = re.split(r"(?<=[.!?])\s+", joined)
        out.append(swap(" ".join(reversed(sentences))))
    return swap(TAG_RE.sub("", title)) + "\n" + "\n\n".join(out)


def other_trace(report):
    """The same crash seen by another run: an interceptor frame on top, line
    numbers moved by 7 (another QEMU version), other addresses, and only the
    inner half of the original frames (at least three)."""
    lines = report.split("\n")
    frames = [i for i, l in enumerate(lines) if FRAME_RE.match(l)]
    if not frames:
        return None
    # first contiguous block of frames only
    block = [frames[0]]
    for i in frames[1:]:
        if i == block[-1] + 1:
            block.append(i)
    keep = block[: max(3, (len(block) + 1) // 2)]
    indent = FRAME_RE.match(lines[block[0]]).group(1)
    new = [f"{indent}#0 0x7f3a10000000 in __interceptor_memcpy ../../../../src/libsanitizer/sanitizer_common/sanitizer_common_interceptors.inc:827"]
    for n, i in enumerate(keep, start=1):
        m = FRAME_RE.match(lines[i])
        rest = LINE_NO_RE.sub(lambda x: f"{x.group(1)}:{int(x.group(2)) + 7}", m.group(5))
        new.append(f"{indent}#{n} 0x{0x5600beef0000 + n * 0x1a2c:x} in {m.group(4)}{rest}")
    out = lines[: block[0]] + new + lines[block[-1] + 1 :]
    return LINE_NO_RE.sub(lambda x: f"{x.group(1)}:{int(x.group(2)) + 7}", "\n".join(out))


def tool_changed(report):
    """Declaration sentences (AI/LLM, fuzzer, static analyser) and title tags
    removed; a fuzzer declaration added when the original declared an AI
    tool or nothing, an AI declaration when it declared a fuzzer."""
    title, _, body = report.partition("\n")
    had_fuzz = re.search(r"(?i)fuzz|syzkaller", report) is not None
    kept = []
    for para in paragraphs(body):
        lines = para.split("\n")
        if any(is_code(l) for l in lines):
            kept.append(para)
            continue
        joined = " ".join(l.strip() for l in lines)
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", joined) if not DECL_RE.search(s)]
        if sentences:
            kept.append(" ".join(sentences))
    decl = (
        "This issue was found with an AI coding agent and confirmed by hand."
        if had_fuzz
        else "Found by fuzzing with a libFuzzer harness (qemu-fuzz-i386-target-generic-fuzz)."
    )
    return TAG_RE.sub("", title) + "\n\n" + decl + "\n\n" + "\n\n".join(k for k in kept if k.strip())


def prose_only(report):
    """An independent re-discovery described without any trace or command
    line: every code line (indented, frames, sanitizer lines) dropped."""
    if not any(FRAME_RE.match(l) for l in report.split("\n")):
        return None
    lines = [l for l in report.split("\n") if not is_code(l)]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))


def terse(report):
    """Only the title and the pasted trace: the first block of frames with the
    sanitizer lines around it."""
    lines = report.split("\n")
    frames = [i for i, l in enumerate(lines) if FRAME_RE.match(l)]
    if not frames:
        return None
    lo = frames[0]
    while lo > 0 and is_code(lines[lo - 1]) and lines[lo - 1].strip():
        lo -= 1
    hi = frames[0]
    while hi + 1 < len(lines) and is_code(lines[hi + 1]) and lines[hi + 1].strip():
        hi += 1
    return lines[0] + "\n\nCrash below, reproducible on master.\n\n" + "\n".join(lines[lo : hi + 1])


VARIANTS = [
    ("reworded", reworded, "title and prose reworded (synonym table, sentence order reversed), code lines kept"),
    ("other-trace", other_trace, "another trace of the same crash: interceptor frame on top, inner half of the frames, line numbers +7, new addresses"),
    ("tool-changed", tool_changed, "tool declarations and title tags removed, a different tool declared"),
    ("prose-only", prose_only, "re-discovery described in prose: every trace, sanitizer and command line dropped"),
    ("terse", terse, "title and pasted trace only"),
]


def main():
    cases = []
    for f in CASES:
        for line in open(f, encoding="utf-8"):
            if line.strip():
                cases.append(json.loads(line))
    reports = []
    pairs = []
    for c in cases:
        reports.append({"id": c["id"], "report": c["report"], "derived_from": None, "note": "dev case as is"})
        made = []
        for kind, fn, note in VARIANTS:
            text = fn(c["report"])
            if text is None or text.strip() == c["report"].strip():
                continue
            vid = f"{c['id']}~{kind}"
            reports.append({"id": vid, "report": text, "derived_from": c["id"], "note": note})
            pairs.append({"a": c["id"], "b": vid, "same": True, "kind": kind, "note": f"{c['id']} and its {kind} variant"})
            made.append((vid, kind))
        # two variants of one case, e.g. a reworded report and another trace
        for (va, ka), (vb, kb) in itertools.combinations(made, 2):
            if {ka, kb} in ({"reworded", "other-trace"}, {"tool-changed", "terse"}, {"prose-only", "other-trace"}):
                pairs.append({"a": va, "b": vb, "same": True, "kind": f"{ka}+{kb}", "note": f"two variants of {c['id']}"})
    def cves(c):
        out = set()
        for k in ("cve", "related_cve"):
            v = c.get(k)
            if isinstance(v, str) and v:
                out.add(v)
            elif isinstance(v, list):
                out.update(x for x in v if x)
        return out
    for a, b in itertools.combinations(cases, 2):
        shared_cve = cves(a) & cves(b)
        same = False
        fa, fb = set(a.get("files") or []), set(b.get("files") or [])
        if shared_cve:
            kind, note = "same-cve-different-fix", "two dev cases under one CVE but different fixes (another device, or a preparatory commit)"
        elif fa & fb:
            kind, note = "different-bug-same-file", "two dev cases (different fixes) touching a common file"
        else:
            kind, note = "different-bug", "two dev cases for different fixes"
        pairs.append({"a": a["id"], "b": b["id"], "same": same, "kind": kind, "note": note})
    with open(f"{OUT}/reports.jsonl", "w", encoding="utf-8") as o:
        for r in reports:
            o.write(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n")
    with open(f"{OUT}/pairs.jsonl", "w", encoding="utf-8") as o:
        for p in pairs:
            o.write(json.dumps(p, ensure_ascii=False, sort_keys=True) + "\n")
    same = sum(p["same"] for p in pairs)
    print(f"{len(reports)} reports, {len(pairs)} pairs: {same} same-bug, {len(pairs) - same} different-bug")


if __name__ == "__main__":
    main()
