#!/usr/bin/env python3
"""Mixes the data of a later training stage: dialogues drawn again by kind from a generated file,
plus copy drills, shuffled. The same file, numbers and seed give the same mix.

    training/mix.py --data data.jsonl --drills copy.jsonl --seed 31 --search 20000 \\
                    --other 30000 [--all-multi] --out train4.jsonl

--search draws from the search dialogues (and, without --all-multi, the multi-step ones that
start with a search); --all-multi takes every multi-step dialogue (kinds such as
search+calculator) and draws search only from the single-step ones; --other draws from the rest.
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
    ap.add_argument("--all-multi", action="store_true")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    r = random.Random(args.seed)
    multi, search, other = [], [], []
    with open(args.data, encoding="utf-8") as f:
        for line in f:
            kind = json.loads(line)["kind"]
            if args.all_multi and "+" in kind:
                multi.append(line)
            elif kind.startswith("search"):
                search.append(line)
            else:
                other.append(line)
    with open(args.drills, encoding="utf-8") as f:
        drills = f.readlines()
    mix = multi + r.sample(search, args.search) + r.sample(other, args.other) + drills
    r.shuffle(mix)
    with open(args.out, "w", encoding="utf-8") as f:
        f.writelines(mix)
    print(f"{len(mix)} lines ({len(multi)} multi-step, {args.search} search, {args.other} other, "
          f"{len(drills)} drills) -> {args.out}")


if __name__ == "__main__":
    main()
