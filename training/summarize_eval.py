#!/usr/bin/env python3
"""Success rates of `agentrt eval --json` reports, per suite and per task kind.

    training/summarize_eval.py REPORT.json [REPORT.json ...]

The kind of a generated task is its name without the trailing "-N" (calculator, sql,
search+calculator, ...); for hand-written suites it is the first tool the task expects, or
"chat" when it expects none. Standard library only.
"""

import json
import pathlib
import re
import sys


def suite_tasks(path):
    """name -> task of a .json, .jsonl or folder suite (as the runtime names them)."""
    path = pathlib.Path(path)
    files = sorted(p for p in path.iterdir() if p.suffix in (".json", ".jsonl")) if path.is_dir() else [path]
    out = {}
    for f in files:
        if f.suffix == ".json":
            task = json.loads(f.read_text(encoding="utf-8"))
            out[task.get("name", f.stem)] = task
            continue
        for i, line in enumerate(f.read_text(encoding="utf-8").splitlines()):
            if line.strip():
                task = json.loads(line)
                out[task.get("name", "%s:%d" % (f.stem, i + 1))] = task
    return out


GENERATED_KINDS = {"calculator", "solver", "sql", "sql-recovery", "search", "simulate", "parallel",
                   "chat", "search+calculator", "search+search", "sql+calculator"}


def kind_of(name, task):
    if re.fullmatch(r"[a-z_+-]+-\d+", name) and name.rsplit("-", 1)[0] in GENERATED_KINDS:
        return name.rsplit("-", 1)[0]  # a generated task: its kind
    calls = task.get("expect", {}).get("tool_calls", [])
    return "+".join(dict.fromkeys(calls)) if calls else "chat"


def main():
    for path in sys.argv[1:]:
        with open(path, encoding="utf-8") as f:
            report = json.load(f)
        tasks = report["tasks"]
        suite = suite_tasks(report["suite"])
        kinds = {}
        for t in tasks:
            k = kind_of(t["task"], suite.get(t["task"], {}))
            passed, total = kinds.get(k, (0, 0))
            kinds[k] = (passed + bool(t["passed"]), total + 1)
        n_pass = sum(bool(t["passed"]) for t in tasks)
        print("%s: %d/%d = %.1f%%" % (path, n_pass, len(tasks), 100.0 * n_pass / max(1, len(tasks))))
        for k in sorted(kinds):
            p, n = kinds[k]
            print("  %-20s %3d/%-3d %5.1f%%" % (k, p, n, 100.0 * p / n))


if __name__ == "__main__":
    main()
