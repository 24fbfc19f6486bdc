#!/usr/bin/env python3
"""Text for training the tokenizer, taken from a dialogue file of gen.py.

    training/corpus.py DIALOGUES.jsonl OUT.txt [--max-dialogues N]

Writes the dialogues' text one line per line, without the control markers (<|im_start|>,
<|im_end|>): they are control pieces that the encoder splits off before sentencepiece sees the
text, so the vocabulary should not spend merges on them. Standard library only.
"""

import argparse
import json

CONTROL = ("<|im_start|>", "<|im_end|>")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dialogues")
    p.add_argument("out")
    p.add_argument("--max-dialogues", type=int, default=40000)
    args = p.parse_args()
    n_lines = 0
    with open(args.dialogues, encoding="utf-8") as f, open(args.out, "w", encoding="utf-8") as out:
        for i, line in enumerate(f):
            if i >= args.max_dialogues:
                break
            text = "".join(t for t, _ in json.loads(line)["chunks"])
            for marker in CONTROL:
                text = text.replace(marker, "\n")
            for part in text.split("\n"):
                if part.strip():
                    out.write(part + "\n")
                    n_lines += 1
    print("%d lines -> %s" % (n_lines, args.out))


if __name__ == "__main__":
    main()
