#!/usr/bin/env python3
"""Writes a deterministic synthetic source tree for the `cortex pack` vs repomix benchmark.

    bench/pack_tree.py DIR [--files 2500] [--bytes 40000000] [--seed 20250601]

DIR must not exist or be empty. Exactly --files files totalling exactly --bytes bytes are
written (the .gitignore files included), in nested directories up to 4 deep: C++, Python,
Markdown, CMake, YAML and JSON-like text, mostly ASCII with some UTF-8 lines. Among them, meant
to be left out by both packers:

  * files matched by .gitignore rules at three levels (root, a sub-directory, a deep one),
    including a negated rule that keeps one file back in;
  * a node_modules/ directory (default ignore of both tools);
  * binary files: a PNG (binary by name) and two files with NUL bytes (binary by content, one
    without an extension).

The same arguments always give the same bytes (fixed seed, no dependence on hash order, the
clock or the file system). Stdlib only. Prints a one-line summary on stdout.
"""

import argparse
import os
import random
import sys

WORDS = (
    "alloc buffer cache config context cursor decode encode engine entry event frame gateway "
    "handle index item key lane layer length limit load model node offset option packet parse "
    "path plan pool queue range reader record request result route schedule session shard size "
    "slot span state status stream table task thread token tree value view worker writer"
).split()

# Non-ASCII text for a minority of comment and prose lines (all valid UTF-8).
UTF8_BITS = [
    "café", "naïve", "Größe", "Übersicht", "façade", "déjà vu", "señal", "año", "smörgåsbord",
    "Ελληνικά", "Привет мир", "日本語のテキスト", "中文注释", "한국어", "→", "—", "…", "±5 µs",
    "≤ 64 MiB", "✓ done", "🚀", "naïveté — résumé",
]


def ident(rng, parts=2, sep="_"):
    return sep.join(rng.choice(WORDS) for _ in range(parts))


def camel(rng, parts=2):
    return "".join(rng.choice(WORDS).capitalize() for _ in range(parts))


def maybe_utf8(rng):
    return " " + rng.choice(UTF8_BITS) if rng.random() < 0.06 else ""


def cpp_line(rng, depth):
    ind = "  " * depth
    r = rng.random()
    if r < 0.14:
        return f"{ind}// {ident(rng, 3, ' ')} for the {rng.choice(WORDS)}{maybe_utf8(rng)}.\n"
    if r < 0.30:
        return (f"{ind}const auto {ident(rng)} = {ident(rng)}.{rng.choice(WORDS)}("
                f"{ident(rng)}, {rng.randint(0, 4096)});\n")
    if r < 0.42:
        return f"{ind}if ({ident(rng)} > {rng.randint(1, 1 << 20)}) return Status::Error(\"{ident(rng, 3, ' ')}\");\n"
    if r < 0.52:
        return f"{ind}for (size_t i = 0; i < {ident(rng)}.size(); ++i) {ident(rng)}[i] += {rng.randint(1, 99)};\n"
    if r < 0.62:
        return f"{ind}std::vector<{camel(rng)}> {ident(rng)}_list;\n"
    if r < 0.72:
        return f"{ind}{ident(rng)}_ = std::move({ident(rng)});\n"
    if r < 0.80:
        return f"{ind}LOG(INFO) << \"{ident(rng, 3, ' ')}: \" << {ident(rng)} << \" bytes\";\n"
    if r < 0.88:
        return f"{ind}uint64_t {ident(rng)} = 0x{rng.getrandbits(48):012x}ULL;\n"
    if r < 0.94:
        return "\n"
    return f"{ind}return {ident(rng)}(\"{ident(rng, 2, '-')}\", {rng.randint(0, 1 << 16)});\n"


def cpp_file(rng, name, size, header):
    out = []
    guard = name.upper().replace(".", "_").replace("/", "_")
    if header:
        out.append(f"#pragma once\n// {guard}\n\n#include <cstdint>\n#include <string>\n#include <vector>\n\n")
    else:
        out.append(f"#include \"{name.rsplit('.', 1)[0]}.h\"\n\n#include <algorithm>\n#include <cstring>\n\n")
    out.append(f"namespace {rng.choice(WORDS)} {{\n\n")
    n = sum(len(s.encode()) for s in out)
    while n < size:
        fn = [f"// {camel(rng, 3)}: {ident(rng, 4, ' ')}{maybe_utf8(rng)}\n",
              f"Status {camel(rng)}::{camel(rng)}(const {camel(rng)}& {ident(rng)}, int {ident(rng)}) {{\n"]
        for _ in range(rng.randint(4, 28)):
            fn.append(cpp_line(rng, 1 + (rng.random() < 0.3)))
        fn.append("}\n\n")
        out.extend(fn)
        n += sum(len(s.encode()) for s in fn)
    return out


def py_line(rng, depth):
    ind = "    " * depth
    r = rng.random()
    if r < 0.15:
        return f"{ind}# {ident(rng, 4, ' ')}{maybe_utf8(rng)}\n"
    if r < 0.35:
        return f"{ind}{ident(rng)} = {ident(rng)}.{rng.choice(WORDS)}({ident(rng)}, {rng.randint(0, 999)})\n"
    if r < 0.48:
        return f"{ind}if {ident(rng)} is None:\n{ind}    raise ValueError(\"{ident(rng, 3, ' ')}\")\n"
    if r < 0.60:
        return f"{ind}for {rng.choice(WORDS)} in sorted({ident(rng)}):\n{ind}    {ident(rng)}.append({rng.choice(WORDS)})\n"
    if r < 0.70:
        return f"{ind}self.{ident(rng)} = {{\"{rng.choice(WORDS)}\": {rng.randint(0, 1 << 12)}, \"{rng.choice(WORDS)}\": {rng.random():.4f}}}\n"
    if r < 0.80:
        return f"{ind}log.info(\"%s {ident(rng, 2, ' ')}\", {ident(rng)})\n"
    if r < 0.90:
        return "\n"
    return f"{ind}return {ident(rng)}\n"


def py_file(rng, name, size):
    out = [f'"""{ident(rng, 5, " ").capitalize()}.{maybe_utf8(rng)}"""\n\nimport os\nimport sys\n\n\n']
    n = len(out[0].encode())
    while n < size:
        fn = []
        if rng.random() < 0.3:
            fn.append(f"class {camel(rng)}:\n    \"\"\"{ident(rng, 4, ' ')}\"\"\"\n\n")
        fn.append(f"def {ident(rng)}({ident(rng)}, {ident(rng)}={rng.randint(0, 64)}):\n")
        for _ in range(rng.randint(3, 20)):
            fn.append(py_line(rng, 1 + (rng.random() < 0.25)))
        fn.append("\n\n")
        out.extend(fn)
        n += sum(len(s.encode()) for s in fn)
    return out


def md_file(rng, name, size):
    out = [f"# {camel(rng, 2)}\n\n"]
    n = len(out[0].encode())
    while n < size:
        r = rng.random()
        if r < 0.12:
            s = f"## {ident(rng, 3, ' ').capitalize()}\n\n"
        elif r < 0.25:
            s = "".join(f"- `{ident(rng)}`: {ident(rng, 6, ' ')}{maybe_utf8(rng)}\n" for _ in range(rng.randint(2, 6))) + "\n"
        elif r < 0.35:
            s = "| key | default | what |\n|---|---|---|\n" + "".join(
                f"| `{ident(rng, 2, '.')}` | {rng.randint(1, 512)} MiB | {ident(rng, 5, ' ')} |\n"
                for _ in range(rng.randint(2, 8))) + "\n"
        elif r < 0.42:
            s = "```sh\ncortex " + " ".join(f"--{ident(rng, 2, '-')} {rng.randint(1, 99)}" for _ in range(3)) + "\n```\n\n"
        else:
            words = [rng.choice(WORDS) for _ in range(rng.randint(25, 90))]
            s = (" ".join(words).capitalize() + "." + maybe_utf8(rng) + "\n\n")
        out.append(s)
        n += len(s.encode())
    return out


def kv_file(rng, kind, size):
    out = []
    n = 0
    while n < size:
        if kind == "yaml":
            s = f"{ident(rng)}:\n  {rng.choice(WORDS)}: {rng.randint(0, 10000)}\n  {rng.choice(WORDS)}: \"{ident(rng, 3, ' ')}{maybe_utf8(rng)}\"\n"
        elif kind == "json":
            s = f"  {{\"{ident(rng)}\": {rng.randint(0, 1 << 20)}, \"{rng.choice(WORDS)}\": \"{ident(rng, 2, '-')}\"}},\n"
        else:  # cmake
            s = f"add_library({ident(rng)} STATIC {ident(rng)}.cpp {ident(rng)}.cpp)\ntarget_link_libraries({ident(rng)} PRIVATE {ident(rng)})\n\n"
        out.append(s)
        n += len(s.encode())
    return out


def fit(chunks, size):
    """Joins `chunks` into exactly `size` bytes of valid UTF-8 ending in a newline: whole chunks
    while they fit, then ASCII filler. Never cuts inside a character."""
    buf = bytearray()
    for c in chunks:
        b = c.encode()
        if len(buf) + len(b) > size - 1:
            break
        buf += b
    pad = size - len(buf)
    if pad > 0:
        # A filler comment line of the right length: "#...#\n" (or just "\n").
        buf += b"#" * (pad - 1) + b"\n"
    assert len(buf) == size
    return bytes(buf)


TEXT_KINDS = [  # (extension, weight)
    (".cpp", 30), (".h", 18), (".py", 22), (".md", 12), (".yaml", 5), (".json", 4), (".txt", 3),
    (".cmake", 2),
]

TOP_DIRS = ["src", "lib", "tests", "tools", "docs", "examples", "third_party", "scripts"]


def text_content(rng, path, size):
    ext = os.path.splitext(path)[1]
    if ext == ".cpp":
        chunks = cpp_file(rng, path, size, header=False)
    elif ext == ".h":
        chunks = cpp_file(rng, path, size, header=True)
    elif ext == ".py":
        chunks = py_file(rng, path, size)
    elif ext in (".md", ".txt"):
        chunks = md_file(rng, path, size)
    elif ext == ".yaml":
        chunks = kv_file(rng, "yaml", size)
    elif ext == ".json":
        chunks = ["[\n"] + kv_file(rng, "json", size)
    else:
        chunks = kv_file(rng, "cmake", size)
    return fit(chunks, size)


def sizes_for(rng, count, total):
    """`count` sizes summing to exactly `total`: log-normal-ish (most files a few KiB, a few
    hundreds of KiB, none over 2 MiB: under both tools' per-file limits), at least 64 bytes."""
    raw = [min(rng.lognormvariate(0, 1.1), 60.0) for _ in range(count)]
    scale = total / sum(raw)
    sizes = [max(64, min(2 << 20, int(r * scale))) for r in raw]
    # Spread the rounding difference over the files, one byte at a time round-robin by chunks.
    diff = total - sum(sizes)
    i = 0
    while diff != 0:
        step = max(1, abs(diff) // count)
        j = i % count
        if diff > 0 and sizes[j] + step <= (2 << 20):
            sizes[j] += step
            diff -= step
        elif diff < 0 and sizes[j] - step >= 64:
            sizes[j] -= step
            diff += step
        i += 1
    return sizes


def make_dirs(rng, n_dirs):
    """A deterministic list of relative directories, depth 1..4, under TOP_DIRS."""
    dirs = list(TOP_DIRS)
    while len(dirs) < n_dirs:
        parent = rng.choice(dirs)
        if parent.count("/") >= 3:  # depth 4 at most
            continue
        child = f"{parent}/{rng.choice(WORDS)}"
        if child not in dirs:
            dirs.append(child)
    return dirs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--files", type=int, default=2500)
    ap.add_argument("--bytes", type=int, default=40_000_000)
    ap.add_argument("--seed", type=int, default=20250601)
    a = ap.parse_args()
    if a.files < 100 or a.bytes < a.files * 256:
        sys.exit("pack_tree.py: need --files >= 100 and --bytes >= 256 per file")
    if os.path.exists(a.dir) and os.listdir(a.dir):
        sys.exit(f"pack_tree.py: {a.dir} exists and is not empty")

    rng = random.Random(a.seed)
    files = {}  # relative path -> bytes; insertion order is the generation order

    # --- the files meant to be left out, and the .gitignore files that leave them out ---
    files[".gitignore"] = b"# build outputs and local files\n*.log\n*.gen.cpp\n!keep.gen.cpp\n/generated/\ntmp/\n*.o\n"
    files["src/.gitignore"] = b"*.tmp\nsecret_*.txt\n"
    deep = "src/engine/local"
    files[f"{deep}/.gitignore"] = b"/scratch/\n*.bak\n"
    ignored = [
        "server.log", "tests/run.log", "src/util/table.gen.cpp", "generated/api.cpp", "generated/api.h",
        "generated/nested/table.py", "tools/tmp/notes.md", "lib/tmp/x.cpp", "src/a.o",
        "src/util/cache.tmp", "src/secret_keys.txt", f"{deep}/scratch/dump.cpp",
        f"{deep}/old.bak",
    ]
    kept_back = "src/util/keep.gen.cpp"  # a negated rule: packed despite *.gen.cpp
    node_modules = [f"node_modules/{p}/{f}" for p in ("left-pad", "lodash", "react")
                    for f in ("package.json", "index.js", "README.md", "lib/util.js")]
    binaries = ["docs/images/logo.png", "tools/data/model.bin", "tests/fixtures/blob"]

    special = len(files) + len(ignored) + len(node_modules) + len(binaries)
    n_text = a.files - special  # includes kept_back
    dirs = make_dirs(rng, max(40, a.files // 18))
    sizes = sizes_for(rng, a.files - len(files), a.bytes - sum(len(v) for v in files.values()))
    si = iter(sizes)

    # Binary files: a PNG header and NULs (name rule), and NUL-laced data (content rule).
    for p in binaries:
        size = next(si)
        if p.endswith(".png"):
            head = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
        else:
            head = b"\x7fDAT\x00\x01\x02\x00"
        body = bytes(rng.getrandbits(8) for _ in range(min(size, 4096) - len(head)))
        files[p] = (head + body + b"\x00" * size)[:size]
    for p in ignored + node_modules + [kept_back]:
        ext = os.path.splitext(p)[1]
        src = p if ext in (".cpp", ".h", ".py", ".md", ".json") else p + ".md"
        files[p] = text_content(rng, src, next(si))

    kinds = [k for k, w in TEXT_KINDS for _ in range(w)]
    made = set(files)
    for _ in range(n_text - 1):
        while True:
            d = rng.choice(dirs)
            ext = rng.choice(kinds)
            name = f"{d}/{ident(rng)}{ext}"
            if name not in made and not name.startswith(f"{deep}/scratch/"):
                break
        made.add(name)
        files[name] = text_content(rng, name, next(si))
    assert next(si, None) is None and len(files) == a.files

    for rel, data in files.items():
        path = os.path.join(a.dir, rel)
        os.makedirs(os.path.dirname(path) or a.dir, exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)

    total = sum(len(v) for v in files.values())
    left_out = len(ignored) + len(node_modules) + len(binaries)
    print(f"pack_tree.py: {a.dir}: {len(files)} files, {total} bytes, {len(dirs)} dirs; "
          f"meant to be packed: {len(files) - left_out} (incl. 3 .gitignore), "
          f"left out: {len(ignored)} gitignored, {len(node_modules)} in node_modules, "
          f"{len(binaries)} binary")


if __name__ == "__main__":
    main()
