#!/usr/bin/env python3
"""Writes the seed corpus of fuzz/archive_fuzz.cpp into fuzz/corpus/archive/.

Tiny archives, one per container the reader sees most (zip, tar.gz, tar.bz2) plus the hostile
shapes it must refuse (zip-slip, absolute and linked names, devices, nested archives, binary
content). Deterministic: fixed mtimes, so rerunning it leaves the files unchanged.

    python3 fuzz/make_archive_seeds.py
"""
import bz2
import gzip
import io
import os
import tarfile
import zipfile

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "archive")
TREE = [
    (".gitignore", b"*.log\n!keep.log\nbuild/\n"),
    ("README.md", b"# seed\n"),
    ("src/main.c", b"int main(void) { return 0; }\n"),
    ("src/.gitignore", b"/gen\n"),
    ("debug.log", b"ignored\n"),
    ("keep.log", b"kept\n"),
    ("build/out.txt", b"ignored\n"),
]


def tar_bytes(entries, compression=""):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        add_all(tar, entries)
    data = raw.getvalue()
    if compression == "gz":
        return gzip.compress(data, mtime=0)  # gzip's header holds an mtime: keep it fixed
    if compression == "bz2":
        return bz2.compress(data)
    return data


def add_all(tar, entries):
    for entry in entries:
        name, kind = entry[0], entry[1]
        info = tarfile.TarInfo(name)
        info.mtime = 1700000000
        data = b""
        if kind == "file":
            data = entry[2]
            info.size = len(data)
        elif kind == "dir":
            info.type = tarfile.DIRTYPE
        elif kind == "symlink":
            info.type, info.linkname = tarfile.SYMTYPE, entry[2]
        elif kind == "hardlink":
            info.type, info.linkname = tarfile.LNKTYPE, entry[2]
        elif kind == "chr":
            info.type, info.devmajor, info.devminor = tarfile.CHRTYPE, 1, 3
        elif kind == "fifo":
            info.type = tarfile.FIFOTYPE
        tar.addfile(info, io.BytesIO(data) if data else None)


def zip_bytes(entries):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries:
            z.writestr(zipfile.ZipInfo(name, (2023, 11, 14, 22, 13, 20)), data,
                       zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def main():
    os.makedirs(OUT, exist_ok=True)
    tree = [("src/", "dir")] + [(n, "file", d) for n, d in TREE]
    seeds = {
        "tree.zip": zip_bytes(TREE),
        "tree.tar.gz": tar_bytes(tree, "gz"),
        "tree.tar.bz2": tar_bytes(tree, "bz2"),
        "hostile.tar": tar_bytes([
            ("../../evil.txt", "file", b"pwned\n"),
            ("/tmp/cortex-evil", "file", b"pwned\n"),
            ("link", "symlink", "/etc"),
            ("link/passwd", "file", b"root::0:0::/:/bin/sh\n"),
            ("passwd", "hardlink", "/etc/passwd"),
            ("null", "chr"),
            ("pipe", "fifo"),
            ("ok.txt", "file", b"fine\n"),
        ]),
        "odd.zip": zip_bytes([
            ("../slip.txt", b"pwned\n"),
            ("inner.zip", b"PK\x03\x04"),
            ("dir\\name.txt", b"x\n"),
            ("bin.dat", b"a\x00b\xff"),
            ("latin1.txt", b"caf\xe9\n"),
            ("zeros.txt", b"\x00" * 4096),
            ("ok.txt", "h\u00e9llo\n".encode()),
        ]),
    }
    for name, data in seeds.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
        print(f"{name}: {len(data)} bytes")


if __name__ == "__main__":
    main()
