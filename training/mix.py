#!/usr/bin/env python3
"""Mixes the data of a later training stage: dialogues drawn again by kind from a generated file,
plus copy drills, shuffled. The same file, numbers and seed give the same mix.

    training/mix.py --data data.jsonl --drills copy.jsonl --seed 31 --search 20000 \\
                    --other 30000 [--all-multi] --out train4.jsonl

--search draws from the search dialogues (and, without --all-multi, the multi-step ones that
start with a search); --all-multi takes every multi-step dialogue (kinds such as
search+calculator) and draws search only from the single-step ones; --other draws from the rest. --kind NAME=COUNT (repeatable)
draws COUNT dialogues of that single-step kind instead, and then --other draws from the kinds not
named:

    training/mix.py --data data2.jsonl --drills copy17.jsonl --seed 33 --search 8000 --all-multi \
                    --kind sql=8000 --kind solver=4000 --other 9000 --out train6.jsonl
"""
import argparse
import json
import random


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--drills", required=True)
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--search", type=int, required=True)
    ap.add_argument("--other", type=int, required=True)
    ap.add_argument("--kind", action="append", default=[], metavar="NAME=COUNT")
    ap.add_argument("--all-multi", action="store_true")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    counts = {}
    for spec in args.kind:
        name, _, count = spec.partition("=")
        if not count.isdigit() or name.startswith("search") or "+" in name:
            ap.error(f"--kind wants a single-step kind other than search, NAME=COUNT: {spec}")
        counts[name] = int(count)

    r = random.Random(args.seed)
    multi, search, other = [], [], []
    named = {name: [] for name in counts}
    with open(args.data, encoding="utf-8") as f:
        for line in f:
            kind = json.loads(line)["kind"]
            if args.all_multi and "+" in kind:
                multi.append(line)
            elif kind.startswith("search"):
                search.append(line)
            elif kind in named:
                named[kind].append(line)
            else:
                other.append(line)
    with open(args.drills, encoding="utf-8") as f:
        drills = f.readlines()
    mix = multi + r.sample(search, args.search)
    for name, count in counts.items():  # in the order given, so a seed gives one mix
        mix += r.sample(named[name], count)
    mix += r.sample(other, args.other) + drills
    r.shuffle(mix)
    with open(args.out, "w", encoding="utf-8") as f:
        f.writelines(mix)
    print(f"{len(mix)} lines ({len(multi)} multi-step, {args.search} search, {args.other} other, "
          f"{len(drills)} drills{''.join(f', {c} {n}' for n, c in counts.items())}) -> {args.out}")


if __name__ == "__main__":
    main()
