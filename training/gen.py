#!/usr/bin/env python3
"""Tool-use dialogues for the default model, rendered exactly as the C++ runtime renders them.

Every dialogue is a conversation in the chatml dialect with the compact tool prompt: a system
turn (the runtime's default system prompt and the offered tools), a user question, one or more
assistant turns calling tools, the tools' real results, and a final answer. Tool results come
from the real plugins: the generator keeps one `agentrt tool --batch` process open and sends it
every call, so the model sees byte for byte what the runtime will show it.

    training/gen.py dialogues --seed 1 -n 60000 --out build/train/data.jsonl
    training/gen.py tasks --seed 9001 -n 300 --out build/train/eval     # fresh eval tasks
    training/gen.py golden --out tests/data/training                    # C++ renderer check
    training/gen.py copy --seed 1 -n 30000 --out build/train/copy.jsonl  # copy drills

`dialogues` writes one JSON line per dialogue, {"chunks": [[text, is_model_output], ...],
"kind": ...}: the rendered text cut where the runtime cuts it (prompt deltas, and each assistant
turn with its closing <|im_end|>, which is what the model must write). `tasks` writes a task
suite (.jsonl, the format of include/agentrt/agent/task.h) with the expected answers taken from
the real tool results, plus the generated documents and their search index. Standard library
only; needs a built `agentrt` (--agentrt, default build/cli/agentrt).
"""

import argparse
import json
import pathlib
import random
import re
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from dialect_golden import chatml  # noqa: E402  (the documented rendering rules)

# RunOptions::system_prompt's default (include/agentrt/agent/agent.h).
SYSTEM_PROMPT = "You are a helpful assistant. Use the tools when they help."
ALL_TOOLS = ["calculator", "solver", "sql", "sql_schema", "search", "simulate"]


# ---------------------------------------------------------------------------------------------
# The real tools


class Tools:
    """One `agentrt tool --batch` process: call(name, arguments) -> (ok, text)."""

    def __init__(self, agentrt, settings=()):
        cmd = [str(agentrt), "tool", "--batch"]
        for s in settings:
            cmd += ["--set", s]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, encoding="utf-8", bufsize=1)
        out = subprocess.run([str(agentrt), "tools", "--json"], check=True, capture_output=True,
                             text=True, encoding="utf-8").stdout
        self.specs = {t["name"]: t for t in json.loads(out)}
        self.cache = {}

    def call(self, name, arguments):
        key = json.dumps([name, arguments], sort_keys=True)
        if key not in self.cache:
            self.proc.stdin.write(json.dumps({"name": name, "arguments": arguments}) + "\n")
            self.proc.stdin.flush()
            result = json.loads(self.proc.stdout.readline())
            self.cache[key] = (result["ok"], result["text"])
        return self.cache[key]

    def close(self):
        self.proc.stdin.close()
        self.proc.wait()


# ---------------------------------------------------------------------------------------------
# Wording helpers

SMALL = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
         "fifteen sixteen seventeen eighteen nineteen twenty").split()
TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()

# Wording variety (`--variety 1`, stages 12 to 15 of the recipe): more number words, composed
# framings and chat, more kinds of word problem. `--variety 2` adds to that a sentence of
# context before some questions, equations set up from classic word problems (ages, coins,
# tickets, catch-up, pipes, mixtures, parts) and more ways to ask about a projectile. Each level
# leaves the output of the levels below it unchanged, byte for byte, and draws the same random
# numbers.
VARIETY = 0


def words(x):
    """0 <= x < 100000 in words: "forty-two", "three hundred and five", "two thousand five hundred"."""
    if x <= 20:
        return SMALL[x]
    if x < 100:
        t, u = divmod(x, 10)
        return TENS[t - 2] + ("-" + SMALL[u] if u else "")
    if x < 1000:
        h, rest = divmod(x, 100)
        return SMALL[h] + " hundred" + (" and " + words(rest) if rest else "")
    th, rest = divmod(x, 1000)
    return words(th) + " thousand" + ((" and " if rest < 100 else " ") + words(rest) if rest else "")


def num_text(r, x):
    """How a question writes the number x: digits, grouped digits, or (small) words."""
    if isinstance(x, int):
        if 0 <= x <= 20 and r.random() < 0.25:
            return SMALL[x]
        if VARIETY and 20 < x < 100000 and (x < 100 or x % 100 == 0) and r.random() < 0.3:
            return words(x)
        if abs(x) >= 1000 and r.random() < 0.4:
            return "{:,}".format(x)
    return fmt(x)


def fmt(x):
    if isinstance(x, float):
        s = repr(x)
        return s[:-2] if s.endswith(".0") else s
    return str(x)


def rand_num(r, lo=1, hi=100, decimals=0):
    if decimals:
        return round(r.uniform(lo, hi), decimals)
    return r.randint(lo, hi)


def pick(r, items):
    return items[r.randrange(len(items))]


PRE_MORE = ["Quick one: ", "Could you help me out? ", "I was wondering: ", "Hey assistant, ", "Okay, ",
            "So, ", "Here's one for you: ", "Question: ", "Right, next: ", "Hi there, ", "Good morning! ",
            "Sorry to bother you, but ", "I'm stuck on this: ", "Help me with this: ", "Hello again. ",
            "For my homework: ", "My friend asked me this: ", "I'd like to know: ", "Tell me: ",
            "Can you figure this out? ", "One question: ", "Hmm, ", "Please, "]
POST_MORE = [" :)", " Cheers!", " Thanks in advance.", " Much appreciated.", " Thanks so much!",
             " I'm curious.", " No rush.", " Just the number, please.", " Thank you!!", " Ta.",
             " Any idea?", " (asking for a friend)"]


LOWER_AFTER_COMMA = {"What", "What's", "How", "Who", "Where", "When", "Which", "Find", "Solve", "Compute",
                     "Calculate", "Convert", "Can", "If", "Is", "Are", "Do", "Does", "Give", "Tell", "A",
                     "An", "The", "Split", "Add", "Simulate", "In", "At", "For"}


def vary(r, question):
    """The framings of `polite` and more: prefixes, suffixes, casing and punctuation."""
    pre = pick(r, ["", "", "", "", "", "", "Quick question: ", "Please tell me: ", "Hi! ", "Hey, ",
                   "I need some help. ", "Can you help? ", "Hello. ", "One more thing: "] + PRE_MORE)
    post = pick(r, ["", "", "", "", "", "", " Thanks!", " Thank you.", " Please.", " Use the tools.",
                    " I need an exact number."] + POST_MORE)
    q = question
    if pre and (pre[-2] in ".!?:" or pre.endswith("? ")) and q[:1].islower():
        q = q[0].upper() + q[1:]
    elif pre.endswith((", ", "but ")) and q.split(" ")[0] in LOWER_AFTER_COMMA:
        q = q[0].lower() + q[1:]
    style = r.random()
    if style < 0.1:
        q = q.lower()
    elif style < 0.14:
        q = q.upper() if len(q) < 40 else q
    if r.random() < 0.15 and q[-1:] in ".?":
        q = q[:-1]
    elif r.random() < 0.05 and q.endswith("?"):
        q += "??"
    if VARIETY >= 2 and r.random() < 0.25:
        return pick(r, CONTEXT) + pre + q + post
    return pre + q + post


# Sentences of context before a question (`--variety 2`): the question is still the last thing
# asked, but it is no longer the first thing said.
CONTEXT = ["I'm helping my niece with her homework. ", "This came up at dinner last night. ",
           "My manager asked me to check this before the meeting. ", "I'm writing a quiz for my class. ",
           "Settle an argument for us. ", "I've been going round in circles on this one. ",
           "I'm putting a report together. ", "My teacher set this as an exercise. ",
           "I read about this earlier and got curious. ", "I have an exam tomorrow. ",
           "We're planning a trip next month. ", "My brother and I can't agree on this. ",
           "I couldn't sleep, so I started wondering. ", "Just checking my own working here. ",
           "It's for a pub quiz tonight. ", "I'm new to all this, so bear with me. ",
           "My calculator's battery died. ", "A colleague sent me this puzzle. "]


def polite(r, question):
    """Optional framing around a question, so wording is composed rather than fixed."""
    if VARIETY:
        return vary(r, question)
    pre = pick(r, ["", "", "", "", "Quick question: ", "Please tell me: ", "Hi! ", "Hey, ",
                   "I need some help. ", "Can you help? ", "Hello. ", "One more thing: "])
    post = pick(r, ["", "", "", "", " Thanks!", " Thank you.", " Please.", " Use the tools.",
                    " I need an exact number."])
    q = question
    if pre and pre[-2] in ".!?:" and q[:1].islower():
        q = q[0].upper() + q[1:]
    if r.random() < 0.08:
        q = q.lower()
    if r.random() < 0.1 and q.endswith("?"):
        q = q[:-1]
    return pre + q + post


def cap(s):
    return s[:1].upper() + s[1:]


# ---------------------------------------------------------------------------------------------
# Dialogue construction


class Dialogue:
    """Messages plus what a task needs: offered tools, the expectation, the kind."""

    def __init__(self, kind, question, tools):
        self.kind = kind
        self.tools = tools
        self.messages = [{"role": "system", "content": SYSTEM_PROMPT},
                         {"role": "user", "content": question}]
        self.expect = {}
        self.called = []
        self.calls = 0
        self.cut = False  # a tool result was cut to fit the context (Fit)

    def step(self, env, calls, train=True):
        """One assistant turn with CALLS [(name, arguments)]; returns the results' (ok, text)."""
        msg = {"role": "assistant", "content": "", "tool_calls": []}
        if not train:
            msg["_train"] = False
        results = []
        for name, args in calls:
            self.calls += 1
            cid = "call_%d" % self.calls
            msg["tool_calls"].append({"id": cid, "name": name, "arguments": args})
        self.messages.append(msg)
        for c in msg["tool_calls"]:
            ok, text = env.tools.call(c["name"], c["arguments"])
            self.messages.append({"role": "tool", "name": c["name"], "tool_call_id": c["id"],
                                  "content": text})
            if ok:
                self.called.append(c["name"])
            results.append((ok, text))
        if env.fit is not None and env.fit.cut(env, self, len(results)):
            self.cut = True
            results = [(ok, m["content"]) for (ok, _), m in
                       zip(results, self.messages[-len(results):])]
        return results

    def answer(self, text):
        if self.cut:
            seen = " ".join(m["content"] for m in self.messages if m["role"] != "assistant")
            if any(n not in seen for n in re.findall(r"\d+(?:\.\d+)?", text)):
                raise Skip()  # the answer quotes a line the cut removed
        self.messages.append({"role": "assistant", "content": text})

    def ok(self, results):
        return all(ok for ok, _ in results)


class Skip(Exception):
    """This draw made an unusable dialogue (a tool error where none was meant); draw again."""


def offered(r, needed):
    """The needed tools plus some distractors, in random order."""
    extra = [t for t in ALL_TOOLS if t not in needed]
    r.shuffle(extra)
    tools = list(needed) + extra[:pick(r, [0, 0, 1, 1, 2, 3])]
    if r.random() < 0.1:
        tools = list(needed) + extra
    r.shuffle(tools)
    return tools


def number_expect(text, rel_tol=1e-3):
    return {"answer_number": {"value": float(text), "rel_tol": rel_tol}}


# ---------------------------------------------------------------------------------------------
# calculator

OPS = [("+", ["plus", "added to"], ["sum of {a} and {b}", "{a} plus {b}", "the total of {a} and {b}"]),
       ("-", ["minus"], ["{a} minus {b}", "the difference between {a} and {b}", "{a} take away {b}"]),
       ("*", ["times", "multiplied by"], ["the product of {a} and {b}", "{a} times {b}",
                                          "{a} multiplied by {b}"]),
       ("/", ["divided by", "over"], ["{a} divided by {b}", "the quotient of {a} and {b}",
                                      "{a} over {b}"])]

ASK = ["What is {x}?", "What's {x}?", "Compute {x}.", "Calculate {x}.", "How much is {x}?",
       "Work out {x}.", "Can you calculate {x}?", "Find {x}.", "Evaluate {x}.", "{X} is what?",
       "Tell me {x}.", "I want to know {x}.", "what is {x}", "Give me {x}, please."]

ANS_PLAIN = ["{x} is {v}.", "The answer is {v}.", "{X} = {v}.", "It is {v}.", "{v}",
             "The result is {v}."]


def ask(r, x):
    return pick(r, ASK).format(x=x, X=cap(x))


def calc_operands(r):
    style = r.random()
    if style < 0.5:
        return rand_num(r, 2, 999), rand_num(r, 2, 999)
    if style < 0.7:
        return rand_num(r, 10, 99999), rand_num(r, 2, 9999)
    if style < 0.9:
        return rand_num(r, 0, 500, 2), rand_num(r, 1, 100, 1)
    return -rand_num(r, 1, 300), rand_num(r, 1, 300)


def gen_calc_arith(r, env):
    a, b = calc_operands(r)
    sym, words, phrases = pick(r, OPS)
    fa, fb = num_text(r, a), num_text(r, b)
    style = r.random()
    if style < 0.4:
        x = "%s %s %s" % (fa, sym if r.random() < 0.6 else pick(r, words), fb)
    elif style < 0.55:
        x = "%s%s%s" % (fmt(a), sym, fmt(b))
    else:
        x = pick(r, phrases).format(a=fa, b=fb)
    expr = "%s%s%s" % (fmt(a), sym, "(%s)" % fmt(b) if b < 0 else fmt(b))
    if r.random() < 0.5:
        expr = "%s %s %s" % (fmt(a), sym, fmt(b))
    return calc_single(r, env, ask(r, x), expr, x)


def calc_single(r, env, question, expr, x, answers=ANS_PLAIN, tools=None):
    d = Dialogue("calculator", polite(r, question), tools or offered(r, ["calculator"]))
    res = d.step(env, [("calculator", {"expression": expr})])
    if not d.ok(res):
        raise Skip()
    v = res[0][1]
    d.answer(pick(r, answers).format(x=x, X=cap(x), v=v))
    d.expect = number_expect(v) if _is_number(v) else {"answer_contains": [v]}
    d.expect["tool_calls"] = ["calculator"]
    return d


def _is_number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


def gen_calc_func(r, env):
    kind = r.randrange(6)
    if kind == 0:
        a, b = rand_num(r, 2, 30), rand_num(r, 2, 12)
        x = pick(r, ["{a} to the power of {b}", "{a}^{b}", "{a} raised to the {b}th power",
                     "{a} to the {b}"]).format(a=a, b=b)
        expr = "%d^%d" % (a, b)
    elif kind == 1:
        a = pick(r, [rand_num(r, 2, 99) ** 2, rand_num(r, 2, 5000), rand_num(r, 1, 1000, 2)])
        x = pick(r, ["the square root of {a}", "sqrt({a})", "the square root of {a}",
                     "root {a}"]).format(a=fmt(a))
        expr = "sqrt(%s)" % fmt(a)
    elif kind == 2:
        p, a = pick(r, [5, 10, 12.5, 15, 20, 25, 30, 40, 75, rand_num(r, 1, 99)]), rand_num(r, 10, 5000)
        x = pick(r, ["{p}% of {a}", "{p} percent of {a}", "{p} per cent of {a}"]).format(
            p=fmt(p), a=num_text(r, a))
        expr = "%s%% * %d" % (fmt(p), a)
    elif kind == 3:
        n = rand_num(r, 3, 25)
        x = pick(r, ["{n}!", "{n} factorial", "the factorial of {n}"]).format(n=n)
        expr = "%d!" % n
    elif kind == 4:
        a = rand_num(r, 2, 30)
        w = pick(r, [("squared", 2), ("cubed", 3)])
        x = "%s %s" % (num_text(r, a), w[0])
        expr = "%d^%d" % (a, w[1])
    else:
        # A written-out expression with parentheses, copied as it stands.
        nums = [rand_num(r, 1, 60) for _ in range(r.randint(3, 5))]
        expr = str(nums[0])
        for n in nums[1:]:
            op = pick(r, "+-*/")
            expr = "(%s)%s%d" % (expr, op, n) if r.random() < 0.4 else "%s%s%d" % (expr, op, n)
        x = expr
    return calc_single(r, env, ask(r, x), expr, x)


CURRENCY = [("dollars", "$"), ("euros", "€"), ("pounds", "£"), ("", "")]
ITEMS = ["jacket", "bicycle", "lamp", "book", "phone", "chair", "camera", "kettle", "watch",
         "backpack", "guitar", "printer", "sofa", "tent", "helmet", "drone", "rug", "clock"]
VEHICLES = ["car", "train", "cyclist", "bus", "runner", "boat", "truck", "plane", "hiker"]
PEOPLE = ["Anna", "Ben", "Carla", "Dev", "Eli", "Fatima", "Goran", "Hugo", "Ines", "Jun", "Kofi",
          "Lena", "Mira", "Noor", "Oskar", "Priya", "Quinn", "Rosa", "Sami", "Tariq", "Uma",
          "Vera", "Wen", "Yara", "Zoe"]


def money(r, x):
    word, sym = pick(r, CURRENCY)
    if sym and r.random() < 0.5:
        return sym + fmt(x), word
    return fmt(x) + (" " + word if word else ""), word


CONTAINERS = [("tank", "litres"), ("pool", "litres"), ("barrel", "litres"), ("warehouse", "boxes"),
              ("car park", "spaces"), ("stadium", "seats"), ("hard drive", "gigabytes"), ("jar", "sweets"),
              ("bus", "seats"), ("hotel", "rooms"), ("reservoir", "cubic metres"), ("library", "books")]


def calc_word_more(r):
    """Word problems added with `--variety`: part of a whole, rates, roots, groups, change."""
    k = r.randrange(6)
    if k == 0:
        (thing, unit), cap_ = pick(r, CONTAINERS), pick(r, [rand_num(r, 20, 900), rand_num(r, 10, 900) * 10])
        p = pick(r, [10, 20, 25, 30, 40, 45, 60, 62, 75, 80, 85, 90, rand_num(r, 1, 99)])
        q = pick(r, ["A {t} holds {c} {u} and is {p}% full. How many {u} are in it?",
                     "The {t} has room for {c} {u}; {p} percent of it is used. How many {u} is that?",
                     "{p}% of a {c}-{u1} {t} is taken. How many {u}?",
                     "If a {t} of {c} {u} is {p} per cent full, how much does it contain?"]).format(
            t=thing, u=unit, u1=unit.rstrip("s"), c=num_text(r, cap_), p=p)
        expr = "%d*%d/100" % (cap_, p)
        ans = ["There are {v} %s in it." % unit, "{v} %s." % unit, "It holds {v} %s." % unit]
    elif k == 1:
        a, b = rand_num(r, 50, 1200), pick(r, [rand_num(r, 2, 80), rand_num(r, 2, 60, 1)])
        what = pick(r, [("I drove {a} km on {b} litres of fuel. How many km per litre is that?", "km per litre"),
                        ("Last month I drove {a} kilometres and used {b} litres. What's my fuel economy in km per litre?",
                         "km per litre"),
                        ("A printer printed {a} pages in {b} minutes. How many pages per minute?", "pages per minute"),
                        ("{a} litres of water flowed out in {b} hours. How many litres per hour?", "litres per hour"),
                        ("I read {a} pages in {b} days. How many pages a day on average?", "pages a day"),
                        ("A farm picked {a} kg of apples from {b} trees. How many kg per tree?", "kg per tree")])
        q = what[0].format(a=num_text(r, a), b=fmt(b))
        expr = "%d/%s" % (a, fmt(b))
        ans = ["{v} %s." % what[1], "That is {v} %s." % what[1], "About {v} %s." % what[1]]
    elif k == 2:
        n = rand_num(r, 2, 30)
        q = pick(r, ["What is the cube root of {c}?", "Work out the cube root of {c}.",
                     "Which number cubed gives {c}?", "cube root of {c}?"]).format(c=num_text(r, n ** 3))
        expr = pick(r, ["cbrt(%d)", "%d^(1/3)"]) % (n ** 3)
        ans = ["The cube root is {v}.", "It is {v}.", "{v}."]
    elif k == 3:
        n, total = rand_num(r, 2, 12), pick(r, [rand_num(r, 20, 900), rand_num(r, 20, 900, 2)])
        m, _ = money(r, total)
        q = pick(r, ["Divide {m} equally among {n} friends. How much each?",
                     "{N} of us had dinner and the bill came to {m}. If we split it, what's each share?",
                     "The taxi was {m} for {n} of us. How much per person?"]).format(
            n=num_text(r, n), N=cap(num_text(r, n)), m=m)
        expr = "%s/%d" % (fmt(total), n)
        ans = ["Each pays {v}.", "Each share is {v}.", "{v} per person."]
    elif k == 4:
        n, each = rand_num(r, 2, 60), pick(r, [rand_num(r, 1, 90), rand_num(r, 1, 40, 2)])
        m, _ = money(r, each)
        q = pick(r, ["I bought {n} {i}s at {m} each. What did I spend?",
                     "How much do {n} {i}s cost at {m} apiece?",
                     "Each {i} is {m}. What do {n} of them come to?"]).format(
            n=num_text(r, n), i=pick(r, ITEMS), m=m)
        expr = "%d*%s" % (n, fmt(each))
        ans = ["That is {v}.", "You spent {v}.", "They cost {v} in total."]
    else:
        paid, cost = rand_num(r, 20, 500), rand_num(r, 1, 400, 2)
        if cost >= paid:
            raise Skip()
        q = pick(r, ["I paid with {p} for something that cost {c}. How much change do I get?",
                     "Something costs {c} and I hand over {p}. What's my change?"]).format(p=paid, c=fmt(cost))
        expr = "%d-%s" % (paid, fmt(cost))
        ans = ["Your change is {v}.", "You get {v} back.", "{v}."]
    return q, expr, ans


def gen_calc_word(r, env):
    k = r.randrange(15)
    if VARIETY and r.random() < 0.35:
        q, expr, ans = calc_word_more(r)
        return calc_single(r, env, q, expr, q, answers=ans)
    if k == 0:
        price, p = rand_num(r, 10, 900), pick(r, [10, 15, 20, 25, 30, 40, 50, rand_num(r, 5, 70)])
        m, word = money(r, price)
        item = pick(r, ITEMS)
        q = pick(r, ["A {i} costs {m} and is {p}% off. What is the sale price?",
                     "The {i} is priced at {m}, with a {p}% discount. How much do I pay?",
                     "How much is a {m} {i} after a {p} percent discount?"]).format(i=item, m=m, p=p)
        expr = "%d*(1-%d/100)" % (price, p)
        ans = ["The sale price is {v}%s." % (" " + word if word else ""), "You pay {v}.",
               "It costs {v} after the discount."]
    elif k == 1:
        bill, p = rand_num(r, 12, 300, pick(r, [0, 2])), pick(r, [10, 12, 15, 18, 20])
        m, word = money(r, bill)
        q = pick(r, ["A meal costs {m}. With a {p}% tip, what is the total?",
                     "What do I pay for a {m} bill plus {p}% tip?",
                     "Add a {p} percent tip to {m}. What's the total?"]).format(m=m, p=p)
        expr = "%s*(1+%d/100)" % (fmt(bill), p)
        ans = ["The total is {v}.", "You pay {v} in total.", "{v} with the tip."]
    elif k == 2:
        d, t = rand_num(r, 20, 900), pick(r, [rand_num(r, 1, 12), rand_num(r, 1, 10, 1)])
        v = pick(r, VEHICLES)
        q = pick(r, ["A {v} travels {d} km in {t} hours. What is its average speed?",
                     "If a {v} covers {d} kilometres in {t} hours, how fast is it going on average?",
                     "What is the average speed of a {v} that goes {d} km in {t} hours?"]).format(
            v=v, d=num_text(r, d), t=fmt(t))
        expr = "%d/%s" % (d, fmt(t))
        ans = ["The average speed is {v} km/h.", "About {v} km/h.", "It averages {v} km per hour."]
    elif k == 3:
        s, t = rand_num(r, 5, 250), pick(r, [rand_num(r, 1, 12), rand_num(r, 1, 10, 1)])
        q = pick(r, ["How far does a {v} go in {t} hours at {s} km/h?",
                     "A {v} moves at {s} km/h for {t} hours. What distance does it cover?",
                     "At {s} kilometres per hour, how many km in {t} hours?"]).format(
            v=pick(r, VEHICLES), s=s, t=fmt(t))
        expr = "%d*%s" % (s, fmt(t))
        ans = ["It covers {v} km.", "{v} km.", "The distance is {v} km."]
    elif k == 4:
        rad = pick(r, [rand_num(r, 1, 50), rand_num(r, 1, 30, 1)])
        if r.random() < 0.6:
            q = pick(r, ["What is the area of a circle with radius {r}?",
                         "A circle has a radius of {r} cm. What is its area?",
                         "Find the area of a circle whose radius is {r} metres."]).format(r=fmt(rad))
            expr = "pi*%s^2" % fmt(rad)
            ans = ["The area is {v}.", "The area is about {v}.", "Area = {v}."]
        else:
            q = pick(r, ["What is the circumference of a circle with radius {r}?",
                         "How long is the edge of a circle of radius {r} m?",
                         "Find the perimeter of a circle whose radius is {r}."]).format(r=fmt(rad))
            expr = "2*pi*%s" % fmt(rad)
            ans = ["The circumference is {v}.", "It is about {v}.", "Circumference = {v}."]
    elif k == 5:
        w, h = rand_num(r, 2, 400), rand_num(r, 2, 400)
        q = pick(r, ["A room is {w} by {h} metres. What is its area?",
                     "What is the area of a {w} m by {h} m field?",
                     "How many square metres is a rectangle of {w} by {h}?"]).format(w=w, h=h)
        expr = "%d*%d" % (w, h)
        ans = ["The area is {v} square metres.", "{v} m^2.", "It is {v} square metres."]
    elif k == 6:
        n, total = rand_num(r, 2, 40), rand_num(r, 5, 2000, pick(r, [0, 2]))
        m, word = money(r, total)
        q = pick(r, ["{n} {i}s cost {m}. How much does one cost?",
                     "If I pay {m} for {n} {i}s, what is the price of each?",
                     "What is the unit price when {n} {i}s cost {m} in total?"]).format(
            n=num_text(r, n), i=pick(r, ITEMS), m=m)
        expr = "%s/%d" % (fmt(total), n)
        ans = ["One costs {v}.", "Each costs {v}.", "The unit price is {v}."]
    elif k == 7:
        n, bill = rand_num(r, 2, 12), rand_num(r, 20, 900, pick(r, [0, 2]))
        m, word = money(r, bill)
        q = pick(r, ["{n} friends share a bill of {m} equally. How much does each pay?",
                     "Split {m} between {n} people. What is each share?",
                     "We are {n} and the bill is {m}. What does each of us owe?"]).format(
            n=num_text(r, n), m=m)
        expr = "%s/%d" % (fmt(bill), n)
        ans = ["Each pays {v}.", "Each share is {v}.", "{v} each."]
    elif k == 8:
        p, rate, years = rand_num(r, 100, 50000), pick(r, [1, 2, 2.5, 3, 4, 5, 6, 7, 8]), rand_num(r, 1, 30)
        m, word = money(r, p)
        q = pick(r, ["I invest {m} at {r}% a year, compounded yearly. How much after {y} years?",
                     "What does {m} grow to in {y} years at {r}% annual interest, compounded every year?",
                     "How much is {m} worth after {y} years at {r} percent per year (compound)?"]).format(
            m=m, r=fmt(rate), y=years)
        expr = "%d*(1+%s/100)^%d" % (p, fmt(rate), years)
        ans = ["After {y} years it is {{v}}.".format(y=years), "It grows to {v}.", "{v}."]
    elif k == 9:
        h = rand_num(r, 1, 72)
        unit, mult = pick(r, [("seconds", 3600), ("minutes", 60)])
        q = pick(r, ["How many {u} are in {h} hours?", "Convert {h} hours to {u}.",
                     "{h} hours is how many {u}?"]).format(u=unit, h=num_text(r, h))
        expr = "%d*%d" % (h, mult)
        ans = ["{v} %s." % unit, "There are {v} %s." % unit, "That is {v} %s." % unit]
    elif k == 10:
        nums = [rand_num(r, 1, 200) for _ in range(r.randint(2, 6))]
        lst = ", ".join(map(str, nums[:-1])) + " and " + str(nums[-1])
        q = pick(r, ["What is the average of {l}?", "Find the mean of {l}.",
                     "What's the mean of the numbers {l}?"]).format(l=lst)
        expr = "(%s)/%d" % ("+".join(map(str, nums)), len(nums))
        ans = ["The average is {v}.", "The mean is {v}.", "It is {v}."]
    elif k == 12:
        n = rand_num(r, 1, 400)
        a, b, mult = pick(r, [("days", "hours", 24), ("weeks", "days", 7), ("hours", "minutes", 60),
                              ("km", "metres", 1000), ("kg", "grams", 1000), ("years", "months", 12),
                              ("minutes", "seconds", 60), ("metres", "centimetres", 100)])
        q = pick(r, ["How many {b} are there in {n} {a}?", "Convert {n} {a} to {b}.",
                     "{n} {a} is how many {b}?"]).format(a=a, b=b, n=num_text(r, n))
        expr = "%d*%d" % (n, mult)
        ans = ["{v} %s." % b, "There are {v} %s." % b, "That is {v} %s." % b]
    elif k == 13:
        rad = pick(r, [rand_num(r, 1, 30), rand_num(r, 1, 20, 1)])
        q = pick(r, ["What is the volume of a sphere with radius {r}?",
                     "A ball has a radius of {r} cm. What is its volume?",
                     "Find the volume of a sphere whose radius is {r} m."]).format(r=fmt(rad))
        expr = "4/3*pi*%s^3" % fmt(rad)
        ans = ["The volume is {v}.", "About {v}.", "Volume = {v}."]
    else:
        c = pick(r, [rand_num(r, -40, 120), rand_num(r, -20, 50, 1)])
        if r.random() < 0.5:
            q = pick(r, ["Convert {c} degrees Celsius to Fahrenheit.", "What is {c} °C in °F?",
                         "{c} C in Fahrenheit?"]).format(c=fmt(c))
            expr = "%s*9/5+32" % (fmt(c) if c >= 0 else "(%s)" % fmt(c))
            ans = ["{v} °F.", "It is {v} degrees Fahrenheit.", "That is {v} °F."]
        else:
            q = pick(r, ["Convert {c} degrees Fahrenheit to Celsius.", "What is {c} °F in °C?",
                         "{c} F in Celsius?"]).format(c=fmt(c))
            expr = "(%s-32)*5/9" % fmt(c)
            ans = ["{v} °C.", "It is {v} degrees Celsius.", "That is {v} °C."]
    return calc_single(r, env, q, expr, q, answers=ans)


# ---------------------------------------------------------------------------------------------
# solver


def lin(a, var):
    return var if a == 1 else "-%s" % var if a == -1 else "%d*%s" % (a, var)


NUMBER_WORDS = ["a number", "some number", "a certain number", "the number I'm thinking of"]


def solver_more(r, env):
    """Equations stated in words, added with `--variety`."""
    k = r.randrange(3)
    x = rand_num(r, -10, 40)
    if k == 0:
        a, b = pick(r, [2, 3, 4, 5, 6, 7, 8, 9, 10]), rand_num(r, 1, 60)
        sign = pick(r, [1, -1])
        c = a * x + sign * b
        times = {2: "twice", 3: "three times"}.get(a, "%s times" % num_text(r, a))
        q = pick(r, ["{T} {n} {pm} {b} is {c}. What is the number?",
                     "If you take {n}, multiply it by {a} and {add} {b}, you get {c}. Find the number.",
                     "I'm thinking of a number. {T} it {pm} {b} equals {c}. Which number is it?"]).format(
            T=cap(times), n=pick(r, NUMBER_WORDS), pm="plus" if sign > 0 else "minus", a=a,
            add="add" if sign > 0 else "subtract", b=b, c=c)
        eq = "%d*x%+d=%d" % (a, sign * b, c)
    elif k == 1:
        m = pick(r, [2, 3, 4])
        c = x * (1 + m)
        q = pick(r, ["A number plus {m} times itself makes {c}. What is it?",
                     "When I add {m} times a number to the number, I get {c}. What is the number?"]).format(
            m=pick(r, [str(m), SMALL[m]]), c=c)
        eq = "x+%d*x=%d" % (m, c)
    else:
        b = rand_num(r, 1, 50)
        c = x + b
        q = pick(r, ["{b} more than a number is {c}. Find the number.",
                     "Some number increased by {b} gives {c}. What is the number?",
                     "Solve for the number: it plus {b} equals {c}."]).format(b=num_text(r, b), c=c)
        eq = "x+%d=%d" % (b, c)
    return solver_single(r, env, q, eq, lambda res: (pick(r, ["The number is {s}.", "It is {s}.",
                                                              "x = {s}."]).format(s=value_of(res, "x")),
                                                     value_of(res, "x")))


COINS = [5, 10, 20, 25, 50]
PIPE_HOURS = [(3, 6), (4, 12), (6, 12), (10, 15), (6, 3), (20, 30), (12, 24), (2, 2), (5, 20), (9, 18),
              (8, 24), (12, 36), (4, 4), (15, 10), (30, 20), (6, 6), (14, 35)]


def solver_words(r, env):
    """Equations set up from classic word problems (`--variety 2`): the model names the unknowns,
    writes the system and answers with the one asked for."""
    k = r.randrange(8)
    p1, p2 = r.sample(PEOPLE, 2)
    if k == 0:  # ages, now and in or some years ago
        m, later = pick(r, [2, 3]), rand_num(r, 1, 12)
        b = rand_num(r, later + 1 if r.random() < 0.5 else 1, 30)
        if r.random() < 0.5:
            gap = (m - 1) * (b + later)
            when, eq2 = "In {y} years", "a+%d=%d*(b+%d)" % (later, m, later)
            tense = "will be"
        else:
            if b <= later:
                raise Skip()
            gap = (m - 1) * (b - later)
            when, eq2 = "{y} years ago", "a-%d=%d*(b-%d)" % (later, m, later)
            tense = "was"
        times = {2: "twice", 3: "three times"}[m]
        q = pick(r, ["{A} is {g} years older than {B}. {W}, {A} {t} {x} as old as {B}. How old is {B} now?",
                     "{W} {A} {t} {x} as old as {B}, and {A} is {g} years older. What is {B}'s age today?"]
                 ).format(A=p1, B=p2, g=num_text(r, gap), W=when.format(y=num_text(r, later)), t=tense, x=times)
        eq, var, ans = "a=b+%d; %s" % (gap, eq2), "b", ["{B} is {v} now.", "{B} is {v} years old."]
    elif k == 1:  # coins
        lo, hi = sorted(r.sample(COINS, 2))
        n_lo, n_hi = rand_num(r, 1, 30), rand_num(r, 1, 30)
        total = lo * n_lo + hi * n_hi
        q = pick(r, ["I have {n} coins, all {lo}-cent and {hi}-cent ones, worth {t} cents in all. "
                     "How many {hi}-cent coins are there?",
                     "A jar holds {n} coins of {lo} and {hi} cents. Together they are worth {t} cents. "
                     "How many of the {hi}-cent coins are in it?"]).format(n=n_lo + n_hi, lo=lo, hi=hi, t=total)
        eq, var, ans = "l+h=%d; %d*l+%d*h=%d" % (n_lo + n_hi, lo, hi, total), "h", \
            ["There are {v} of them.", "{v} coins.", "There are {v} {hi}-cent coins."]
        ans = [a.replace("{hi}", str(hi)) for a in ans]
    elif k == 2:  # tickets
        pa, pc = rand_num(r, 8, 30), rand_num(r, 2, 7)
        na, nc = rand_num(r, 5, 200), rand_num(r, 5, 200)
        takings = pa * na + pc * nc
        q = pick(r, ["A theatre sold {n} tickets. Adults paid {a} and children paid {c}, and the takings "
                     "were {t}. How many child tickets were sold?",
                     "{n} people came to the show: adult tickets cost {a}, child tickets {c}. If the box "
                     "office took {t}, how many children came?"]).format(n=na + nc, a=pa, c=pc, t=takings)
        eq, var, ans = "a+c=%d; %d*a+%d*c=%d" % (na + nc, pa, pc, takings), "c", \
            ["{v} child tickets were sold.", "{v} children came.", "There were {v} children."]
    elif k == 3:  # catch-up
        head, t = pick(r, [1, 2, 3]), rand_num(r, 1, 8)
        diff = pick(r, [10, 15, 20, 30, 40])
        if diff * t % head:
            raise Skip()
        slow = diff * t // head
        fast = slow + diff
        v1, v2 = r.sample(VEHICLES, 2)
        hours = "an hour" if head == 1 else "%s hours" % num_text(r, head)
        q = pick(r, ["A {a} leaves at {s} km/h. {H} later a {b} follows along the same route at {f} km/h. "
                     "How many hours after it starts does the {b} catch up?",
                     "A {b} going {f} km/h sets off {h} after a {a} going {s} km/h along the same route. "
                     "How long does the {b} take to catch it?"]).format(
            a=v1, b=v2, s=slow, f=fast, h=hours, H=cap(hours))
        eq, var, ans = "%d*t=%d*(t+%d)" % (fast, slow, head), "t", \
            ["It catches up after {v} hours.", "After {v} hours.", "It takes {v} hours."]
    elif k == 4:  # two pipes
        ha, hb = pick(r, PIPE_HOURS)
        if r.random() < 0.5:
            q = pick(r, ["One pipe can fill a {w} in {a} hours and another in {b} hours. How long do they "
                         "take together?",
                         "A {w} fills in {a} hours from one tap and in {b} hours from another. With both "
                         "open, how many hours does it take?"]).format(
                w=pick(r, ["tank", "pool", "bath", "cistern"]), a=ha, b=hb)
        else:
            what, verb = pick(r, [("field", "mow"), ("wall", "paint"), ("report", "write"),
                                  ("garden", "weed"), ("fence", "paint")])
            q = pick(r, ["{A} can {v} the {w} in {a} hours; {B} needs {b} hours. Working together, how "
                         "many hours does it take?",
                         "Alone, {A} would {v} the {w} in {a} hours and {B} in {b}. How long if they work "
                         "together?"]).format(v=verb, w=what, a=ha, b=hb, A=p1, B=p2)
        eq, var, ans = "t/%d+t/%d=1" % (ha, hb), "t", \
            ["Together it takes {v} hours.", "{v} hours.", "They need {v} hours together."]
    elif k == 5:  # mixture
        pa, pb = sorted(r.sample([5, 10, 15, 20, 25, 30, 40, 50, 60, 80], 2))
        la, lb = rand_num(r, 1, 40), rand_num(r, 1, 40)
        total = la + lb
        mix = (pa * la + pb * lb) / total
        if mix != int(mix):
            raise Skip()
        q = pick(r, ["How many litres of a {a}% solution must be mixed with a {b}% solution to get {t} litres "
                     "at {m}%?",
                     "I want {t} litres of {m}% syrup from a {a}% one and a {b}% one. How many litres of the "
                     "{a}% syrup do I need?"]).format(a=pa, b=pb, t=total, m=int(mix))
        eq, var, ans = "x+y=%d; %d*x+%d*y=%d" % (total, pa, pb, int(mix) * total), "x", \
            ["{v} litres of it.", "You need {v} litres.", "{v} litres."]
    elif k == 6:  # consecutive numbers
        (step, kind), x = pick(r, [(1, ""), (2, " even"), (2, " odd")]), rand_num(r, -20, 80)
        if (kind == " even" and x % 2) or (kind == " odd" and not x % 2):
            x += 1
        count = pick(r, [2, 3, 4])
        total = sum(x + step * i for i in range(count))
        terms = "+".join("x" if i == 0 else "(x+%d)" % (step * i) for i in range(count))
        q = pick(r, ["{C} consecutive{k} numbers add up to {t}. What is the smallest?",
                     "The sum of {c} consecutive{k} integers is {t}. Find the first of them."]).format(
            C=cap(SMALL[count]), c=SMALL[count], k=kind, t=total)
        eq, var, ans = "%s=%d" % (terms, total), "x", ["The smallest is {v}.", "It is {v}.", "{v}."]
    else:  # parts of a whole
        m, small = pick(r, [2, 3, 4, 5]), rand_num(r, 1, 90)
        extra = rand_num(r, -10, 20)
        big = m * small + extra
        if big <= small:
            raise Skip()
        more = "" if not extra else " plus %d" % extra if extra > 0 else " minus %d" % -extra
        q = pick(r, ["Split {t} into two parts so that the larger is {m} times the smaller{e}. "
                     "What is the smaller part?",
                     "{A} and {B} share {t} sweets. {A} gets {m} times as many as {B}{e}. How many does {B} get?"]
                 ).format(t=small + big, m=m, e=more, A=p1, B=p2)
        eq, var, ans = "a+b=%d; a=%d*b%+d" % (small + big, m, extra) if extra else \
            "a+b=%d; a=%d*b" % (small + big, m), "b", ["The smaller part is {v}.", "{v}.", "It is {v}."]
    ans = pick(r, ans)
    return solver_single(r, env, q, eq, lambda res: (ans.format(v=value_of(res, var), B=p2),
                                                     value_of(res, var)))


def gen_solver(r, env):
    k = r.randrange(9)
    if VARIETY and r.random() < 0.25:
        return solver_more(r, env)
    if VARIETY >= 2 and r.random() < 0.3:
        return solver_words(r, env)
    if k == 6:
        # unknown on both sides
        x, a, c = rand_num(r, -15, 30), pick(r, [2, 3, 4, 5, 6, 7, 9]), pick(r, [1, 2, 3])
        if a == c:
            a += 1
        b = rand_num(r, -40, 40)
        d = a * x + b - c * x
        q = pick(r, ["Find x if {a}x {sb} {b} = {c} {sd} {d}.", "Solve {a}x {sb} {b} = {c} {sd} {d}.",
                     "What is x when {a}x {sb} {b} = {c} {sd} {d}?"]).format(
            a=a, sb="+" if b >= 0 else "-", b=abs(b), c=lin(c, "x"), sd="+" if d >= 0 else "-", d=abs(d))
        eq = "%d*x%+d=%s%+d" % (a, b, lin(c, "x"), d)
        return solver_single(r, env, q, eq, lambda res: ("x = {s}.".format(s=value_of(res, "x")),
                                                         value_of(res, "x")))
    if k == 7:
        u, v = pick(r, [("a", "b"), ("m", "n"), ("p", "q"), ("s", "t"), ("u", "v")])
        x, y = rand_num(r, -10, 20), rand_num(r, -10, 20)
        a, b, c, d = [pick(r, [1, 2, 3, 4, 5, -1, -2]) for _ in range(4)]
        if a * d - b * c == 0:
            raise Skip()
        t1 = "%s %s %s" % (lin(a, u), "+" if b > 0 else "-", lin(abs(b), v))
        t2 = "%s %s %s" % (lin(c, u), "+" if d > 0 else "-", lin(abs(d), v))
        want = pick(r, [u, v])
        q = pick(r, ["Solve {t1} = {e1} and {t2} = {e2}. What is {w}?",
                     "If {t1} = {e1} and {t2} = {e2}, what is {w}?"]).format(
            t1=t1, e1=a * x + b * y, t2=t2, e2=c * x + d * y, w=want)
        eq = "%s=%d; %s=%d" % (t1.replace(" ", ""), a * x + b * y, t2.replace(" ", ""), c * x + d * y)
        return solver_single(r, env, q, eq, lambda res: ("{w} = {s}.".format(w=want, s=value_of(res, want)),
                                                         value_of(res, want)))
    if k == 8:
        r1, r2 = rand_num(r, 1, 15), -rand_num(r, 1, 15)
        b, c = -(r1 + r2), r1 * r2
        poly = "x^2 %s %s %s %d" % ("+" if b >= 0 else "-", lin(abs(b), "x") if b else "0x",
                                     "+" if c >= 0 else "-", abs(c))
        q = pick(r, ["What is the positive solution of {p} = 0?", "Find the positive root of {p} = 0.",
                     "Solve {p} = 0 for positive x."]).format(p=poly)
        eq = "x^2%+d*x%+d=0" % (b, c)
        return solver_single(r, env, q, eq, lambda res: ("The positive solution is x = %d." % r1, str(r1)))
    if k == 0:
        a, x = pick(r, [2, 3, 4, 5, 6, 7, 8, 9, 12, -3]), rand_num(r, -20, 40)
        b = rand_num(r, -50, 50)
        c = a * x + b
        lhs = "%dx %s %d" % (a, "+" if b >= 0 else "-", abs(b))
        q = pick(r, ["Solve {e} = {c}.", "Find x if {e} = {c}.", "What is x when {e} = {c}?",
                     "Solve for x: {e} = {c}"]).format(e=lhs, c=c)
        eq = "%d*x%+d=%d" % (a, b, c)
        return solver_single(r, env, q, eq, lambda res: (pick(r, ["x = {s}.", "The solution is x = {s}.",
                                                                  "x is {s}."]).format(s=value_of(res, "x")),
                                                         value_of(res, "x")))
    if k == 1:
        x, y = rand_num(r, 1, 200), rand_num(r, 1, 200)
        x, y = max(x, y), min(x, y)
        if x == y:
            x += 1
        s, dff = x + y, x - y
        q = pick(r, ["Two numbers add up to {s} and differ by {d}. What are they?",
                     "The sum of two numbers is {s} and their difference is {d}. Find the numbers.",
                     "Two numbers add up to {s} and differ by {d}. What is the larger one?",
                     "Find two numbers whose sum is {s} and whose difference is {d}."]).format(s=s, d=dff)
        larger = "larger" in q
        eq = "x+y=%d; x-y=%d" % (s, dff)

        def answer(res):
            xv, yv = value_of(res, "x"), value_of(res, "y")
            if larger:
                return pick(r, ["The larger number is {x}.", "It is {x}."]).format(x=xv), xv
            return pick(r, ["The numbers are {x} and {y}.", "{x} and {y}."]).format(x=xv, y=yv), xv
        return solver_single(r, env, q, eq, answer)
    if k == 2:
        x, y = rand_num(r, -10, 20), rand_num(r, -10, 20)
        a, b, c, d = [pick(r, [1, 2, 3, 4, 5, -1, -2, 6]) for _ in range(4)]
        if a * d - b * c == 0:
            raise Skip()
        e1, e2 = a * x + b * y, c * x + d * y
        t1 = "%s %s %s" % (lin(a, "x"), "+" if b > 0 else "-", lin(abs(b), "y"))
        t2 = "%s %s %s" % (lin(c, "x"), "+" if d > 0 else "-", lin(abs(d), "y"))
        q = pick(r, ["Solve the system {t1} = {e1} and {t2} = {e2}.",
                     "Find x and y: {t1} = {e1}, {t2} = {e2}.",
                     "What are x and y if {t1} = {e1} and {t2} = {e2}?"]).format(
            t1=t1, e1=e1, t2=t2, e2=e2)
        eq = "%s=%d; %s=%d" % (t1.replace(" ", ""), e1, t2.replace(" ", ""), e2)
        return solver_single(r, env, q, eq, lambda res: ("x = {x}, y = {y}.".format(
            x=value_of(res, "x"), y=value_of(res, "y")), value_of(res, "x")))
    if k == 3:
        r1, r2 = rand_num(r, -12, 12), rand_num(r, -12, 12)
        if r1 == r2:
            r2 += 1
        b, c = -(r1 + r2), r1 * r2
        poly = "x^2 %s %s %s %d" % ("+" if b >= 0 else "-", lin(abs(b), "x") if b else "0x",
                                     "+" if c >= 0 else "-", abs(c))
        q = pick(r, ["Find the roots of {p} = 0.", "Solve {p} = 0.", "For which x is {p} = 0?",
                     "What are the solutions of {p} = 0?"]).format(p=poly)
        eq = "x^2%+d*x%+d=0" % (b, c)

        def answer(res):
            roots = [line.split("=")[1].strip() for line in res.splitlines() if line.startswith("x =")]
            if len(roots) != 2:
                raise Skip()
            return pick(r, ["The roots are {a} and {b}.", "x = {a} or x = {b}."]).format(
                a=roots[0], b=roots[1]), None
        return solver_single(r, env, q, eq, answer, contains=True)
    if k == 4:
        younger, mult = rand_num(r, 2, 30), pick(r, [2, 3, 4, 5])
        total = younger * (mult + 1)
        p1, p2 = r.sample(PEOPLE, 2)
        q = pick(r, ["{a} is {m} times as old as {b}. Together they are {t}. How old is {b}?",
                     "{b}'s age times {m} is {a}'s age, and their ages add up to {t}. How old is {b}?"]).format(
            a=p1, b=p2, m=mult, t=total)
        eq = "a=%d*b; a+b=%d" % (mult, total)
        return solver_single(r, env, q, eq, lambda res: ("{n} is {v}.".format(
            n=p2, v=value_of(res, "b")), value_of(res, "b")))
    w, extra = rand_num(r, 1, 60), rand_num(r, 1, 30)
    per = 2 * (w + w + extra)
    q = pick(r, ["A rectangle's perimeter is {p} m and its length is {e} m more than its width. "
                 "What is the width?",
                 "The perimeter of a rectangle is {p} and the length exceeds the width by {e}. "
                 "Find the width."]).format(p=per, e=extra)
    eq = "2*(w+l)=%d; l=w+%d" % (per, extra)
    return solver_single(r, env, q, eq, lambda res: ("The width is {w}.".format(
        w=value_of(res, "w")), value_of(res, "w")))


def value_of(result, var):
    for part in result.replace("\n", ", ").split(", "):
        if part.startswith(var + " = "):
            return part[len(var) + 3:]
    raise Skip()


def solver_single(r, env, q, eq, answer, contains=False):
    d = Dialogue("solver", polite(r, q), offered(r, ["solver"]))
    res = d.step(env, [("solver", {"equation": eq})])
    if not d.ok(res):
        raise Skip()
    text, value = answer(res[0][1])
    d.answer(text)
    if contains or value is None or not _is_number(value):
        nums = [line.split("=")[1].strip() for line in res[0][1].splitlines() if "=" in line]
        d.expect = {"answer_contains": nums or [res[0][1]]}
    else:
        d.expect = number_expect(value)
    d.expect["tool_calls"] = ["solver"]
    return d


# ---------------------------------------------------------------------------------------------
# sql over the shop database


class Shop:
    """The shop database's entities, read through the real sql tool."""

    def __init__(self, tools):
        def rows(query):
            ok, text = tools.call("sql", {"query": query})
            assert ok, text
            lines = text.splitlines()[1:-1]
            return [line.split("\t") for line in lines]
        self.customers = [row[0] for row in rows("SELECT name FROM customers")]
        self.cities = sorted({row[0] for row in rows("SELECT city FROM customers")})
        self.products = [row[0] for row in rows("SELECT name FROM products")]
        self.categories = sorted({row[0] for row in rows("SELECT category FROM products")})


def sql_rows(text):
    lines = text.splitlines()
    if len(lines) < 2 or not lines[-1].startswith("("):
        raise Skip()
    return [line.split("\t") for line in lines[1:-1]]


def join_names(names):
    if not names:
        return "none"
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]


def sql_question(r, shop):
    """(question, query, answer builder(rows) -> (text, expectation))."""
    k = r.randrange(22)
    city, cust, prod, cat = (pick(r, shop.cities), pick(r, shop.customers), pick(r, shop.products),
                             pick(r, shop.categories))

    def count(template):
        return lambda rows: (pick(r, template).format(n=rows[0][0]), number_expect(rows[0][0], 0))

    if k == 0:
        return (pick(r, ["How many customers live in {c}?", "How many of our customers are from {c}?",
                         "Count the customers in {c}.", "Number of customers in {c}?"]).format(c=city),
                "SELECT COUNT(*) FROM customers WHERE city = '%s'" % city,
                count(["{n} customers live in %s." % city, "There are {n}.", "{n}."]))
    if k == 1:
        def names(rows):
            ns = [row[0] for row in rows]
            return ("The customers in %s are %s." % (city, join_names(ns)),
                    {"answer_contains": ns[:3]})
        return (pick(r, ["Which customers live in {c}?", "List the customers from {c}.",
                         "Who are our customers in {c}?"]).format(c=city),
                "SELECT name FROM customers WHERE city = '%s'" % city, names)
    if k == 2:
        return (pick(r, ["How much does the {p} cost?", "What is the price of the {p}?",
                         "What's the {p} priced at?", "Price of {p}?"]).format(p=prod),
                "SELECT price FROM products WHERE name = '%s'" % prod,
                lambda rows: (pick(r, ["The %s costs {v}." % prod, "It costs {v}.", "{v}."]).format(
                    v=rows[0][0]), number_expect(rows[0][0], 1e-6)))
    if k == 3:
        return (pick(r, ["How many {p} are in stock?", "What is the stock of the {p}?",
                         "How many units of {p} do we have?"]).format(p=prod),
                "SELECT stock FROM products WHERE name = '%s'" % prod,
                count(["There are {n} in stock.", "{n} units.", "The stock is {n}."]))
    if k == 4:
        return (pick(r, ["How many products are in the {c} category?", "How many {c} products are there?",
                         "Count the {c} products."]).format(c=cat),
                "SELECT COUNT(*) FROM products WHERE category = '%s'" % cat,
                count(["There are {n} %s products." % cat, "{n}.", "The %s category has {n} products." % cat]))
    if k in (5, 6):
        cheap = k == 5
        word = "cheapest" if cheap else pick(r, ["most expensive", "priciest"])
        return (pick(r, ["What is the {w} {c} product?", "Which {c} product is the {w}?",
                         "Name the {w} product in {c}."]).format(w=word, c=cat),
                "SELECT name, price FROM products WHERE category = '%s' ORDER BY price %s LIMIT 1" % (
                    cat, "ASC" if cheap else "DESC"),
                lambda rows: ("The %s %s product is the %s, at %s." % (word, cat, rows[0][0], rows[0][1]),
                              {"answer_contains": [rows[0][0]]}))
    if k == 7:
        return (pick(r, ["What is the average price of {c} products?", "Average price in the {c} category?",
                         "On average, what does a {c} product cost?"]).format(c=cat),
                "SELECT AVG(price) FROM products WHERE category = '%s'" % cat,
                lambda rows: ("The average price is %s." % rows[0][0], number_expect(rows[0][0])))
    if k == 8:
        def names(rows):
            ns = [row[0] for row in rows]
            return ("Out of stock: %s." % join_names(ns), {"answer_contains": ns[:3]})
        return (pick(r, ["Which products are out of stock?", "What is sold out?",
                         "List the products with no stock."]),
                "SELECT name FROM products WHERE stock = 0", names)
    if k == 9:
        return (pick(r, ["How many orders did {n} place?", "How many orders has {n} made?",
                         "Count the orders of {n}."]).format(n=cust),
                "SELECT COUNT(*) FROM orders JOIN customers ON customers.id = orders.customer_id "
                "WHERE customers.name = '%s'" % cust,
                count(["%s placed {n} orders." % cust, "{n} orders.", "{n}."]))
    if k == 10:
        return (pick(r, ["How much has {n} spent in total?", "What is the total of all orders by {n}?",
                         "How much money did {n} spend?"]).format(n=cust),
                "SELECT SUM(orders.total) FROM orders JOIN customers ON customers.id = orders.customer_id "
                "WHERE customers.name = '%s'" % cust,
                lambda rows: ("%s spent %s in total." % (cust, rows[0][0]) if rows[0][0] else
                              "%s has no orders." % cust,
                              number_expect(rows[0][0]) if rows[0][0] else {"answer_contains": ["no"]}))
    if k == 11:
        return (pick(r, ["When did {n} join?", "What date did {n} become a customer?",
                         "When did {n} sign up?"]).format(n=cust),
                "SELECT joined FROM customers WHERE name = '%s'" % cust,
                lambda rows: ("%s joined on %s." % (cust, rows[0][0]), {"answer_contains": [rows[0][0]]}))
    if k == 12:
        return (pick(r, ["Which city has the most customers?", "Where do most of our customers live?"]),
                "SELECT city, COUNT(*) AS n FROM customers GROUP BY city ORDER BY n DESC LIMIT 1",
                lambda rows: ("%s, with %s customers." % (rows[0][0], rows[0][1]),
                              {"answer_contains": [rows[0][0]]}))
    if k == 13:
        limit = pick(r, [10, 15, 20, 25, 30, 40, 50])

        def names(rows):
            ns = [row[0] for row in rows]
            return ("Products under %d: %s." % (limit, join_names(ns)), {"answer_contains": ns[:3]})
        return (pick(r, ["Which products cost less than {l}?", "List the products under {l}.",
                         "What can I buy for under {l}?"]).format(l=limit),
                "SELECT name FROM products WHERE price < %d" % limit, names)
    if k == 14:
        return (pick(r, ["How many units of {p} have been ordered in total?",
                         "What is the total quantity ordered of the {p}?"]).format(p=prod),
                "SELECT SUM(orders.quantity) FROM orders JOIN products ON products.id = orders.product_id "
                "WHERE products.name = '%s'" % prod,
                lambda rows: ("%s units." % (rows[0][0] or "0"),
                              number_expect(rows[0][0] or "0", 0)))
    if k == 16:
        return (pick(r, ["How many customers does the shop have?", "How many customers are there?",
                         "What is the number of customers?"]),
                "SELECT COUNT(*) FROM customers",
                count(["The shop has {n} customers.", "{n} customers.", "There are {n}."]))
    if k == 17:
        return (pick(r, ["What is the sum of all order totals?", "How much have all orders brought in?",
                         "What is the total revenue of all orders?"]),
                "SELECT SUM(total) FROM orders",
                lambda rows: ("All orders total %s." % rows[0][0], number_expect(rows[0][0])))
    if k == 18:
        word, order = pick(r, [("most expensive", "DESC"), ("cheapest", "ASC")])
        return (pick(r, ["Which product is the {w}?", "What is the {w} product in the shop?",
                         "Name the {w} product."]).format(w=word),
                "SELECT name, price FROM products ORDER BY price %s LIMIT 1" % order,
                lambda rows: ("The %s product is the %s, at %s." % (word, rows[0][0], rows[0][1]),
                              {"answer_contains": [rows[0][0]]}))
    if k == 19:
        limit, op, word = pick(r, [10, 20, 25, 30, 40, 50, 60, 100]), *pick(r, [(">", "more than"), ("<", "less than")])
        return (pick(r, ["How many products cost {w} {l}?", "Count the products priced {w} {l}.",
                         "How many items are {w} {l}?"]).format(w=word, l=limit),
                "SELECT COUNT(*) FROM products WHERE price %s %d" % (op, limit),
                count(["{n} products cost %s %d." % (word, limit), "{n}.", "There are {n}."]))
    if k == 20:
        return (pick(r, ["What is the total of all orders placed by customers in {c}?",
                         "How much did customers from {c} spend in total?",
                         "Total order value for {c}?"]).format(c=city),
                "SELECT SUM(orders.total) FROM orders JOIN customers ON customers.id = orders.customer_id "
                "WHERE customers.city = '%s'" % city,
                lambda rows: ("Customers in %s spent %s." % (city, rows[0][0]) if rows[0][0] else
                              "There are no orders from %s." % city,
                              number_expect(rows[0][0]) if rows[0][0] else {"answer_contains": ["no"]}))
    if k == 21:
        return (pick(r, ["What is the total stock value (price times stock) of the {c} products?",
                         "How much is the {c} stock worth, price times stock?",
                         "What is the value of all {c} products in stock?"]).format(c=cat),
                "SELECT SUM(price * stock) FROM products WHERE category = '%s'" % cat,
                lambda rows: ("The %s stock is worth %s." % (cat, rows[0][0]), number_expect(rows[0][0])))
    return (pick(r, ["What category is the {p} in?", "Which category does the {p} belong to?"]).format(p=prod),
            "SELECT category FROM products WHERE name = '%s'" % prod,
            lambda rows: ("The %s is in the %s category." % (prod, rows[0][0]),
                          {"answer_contains": [rows[0][0]]}))


BAD_COLUMNS = [("price", "cost"), ("name", "product_name"), ("city", "town"), ("stock", "quantity_left"),
               ("category", "type"), ("joined", "join_date"), ("total", "amount")]


def gen_sql(r, env):
    q, query, answer = sql_question(r, env.shop)
    with_schema = r.random() < 0.5
    needed = ["sql_schema", "sql"] if with_schema else ["sql"]
    d = Dialogue("sql", polite(r, q), offered(r, needed))
    if with_schema:
        d.step(env, [("sql_schema", {})])
    if r.random() < 0.1:
        # A wrong column first; the error is shown, the model (trained only on what follows)
        # looks at the schema or corrects the query.
        good, bad = pick(r, BAD_COLUMNS)
        if good in query:
            res = d.step(env, [("sql", {"query": query.replace(good, bad, 1)})], train=False)
            if res[0][0]:
                raise Skip()
            if not with_schema and "sql_schema" in d.tools:
                d.step(env, [("sql_schema", {})])
            d.kind = "sql-recovery"
    res = d.step(env, [("sql", {"query": query})])
    if not d.ok(res):
        raise Skip()
    rows = sql_rows(res[0][1])
    if not rows:
        raise Skip()
    text, expect = answer(rows)
    d.answer(text)
    d.expect = dict(expect, tool_calls=["sql"])
    return d


# ---------------------------------------------------------------------------------------------
# search over generated documents

ONSETS = ["b", "br", "c", "ch", "d", "dr", "f", "g", "gr", "h", "j", "k", "kr", "l", "m", "n", "p",
          "pr", "r", "s", "sh", "st", "t", "tr", "v", "w", "z", "th", "q", "x"]
VOWELS = ["a", "e", "i", "o", "u", "ai", "ei", "ou", "ia", "y"]
CODAS = ["", "", "", "n", "r", "l", "s", "k", "m", "t", "x", "nd", "rt", "sk"]


def made_up(r, syllables=None):
    n = syllables or pick(r, [2, 2, 2, 3, 3, 1])
    word = "".join(pick(r, ONSETS) + pick(r, VOWELS) + (pick(r, CODAS) if i == n - 1 or r.random() < 0.3 else "")
                   for i in range(n))
    return word.capitalize()


def person(r):
    return "%s %s" % (made_up(r, pick(r, [1, 2, 2])), made_up(r))


MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]


def make_doc(r, ident):
    """A short invented document and its facts: [(attribute, value, questions, answers)]."""
    kind = r.randrange(11)
    town = made_up(r)
    if kind == 8:
        name = made_up(r)
        length, sea = r.randint(20, 4000), made_up(r)
        doc = pick(r, ["The {n} is a river {l} km long that reaches the sea at {s}.",
                       "Flowing {l} km, the {n} river ends at the coast near {s}."]).format(n=name, l=length, s=sea)
        facts = [("length", length, ["How long is the {n} river?", "How long is the {n} river in km?",
                                     "What is the length of the {n} river?"], ["The {n} is {v} km long.", "It is {v} km long."]),
                 ("place", sea, ["Where does the {n} reach the sea?", "At which town does the {n} reach the sea?"],
                  ["It reaches the sea at {v}.", "At {v}."])]
        return {"id": ident, "title": name + " river", "text": doc}, name, facts
    if kind == 9:
        name = "%s %s Festival" % (town, pick(r, ["Music", "Film", "Book", "Jazz", "Winter", "Food", "Light"]))
        visitors, year = r.randint(500, 200000), r.randint(1950, 2024)
        doc = pick(r, ["The {n} has been held every year since {y}. In 2023 it had {v} visitors.",
                       "Started in {y}, the {n} drew {v} visitors in 2023."]).format(n=name, y=year, v=visitors)
        facts = [("visitors", visitors, ["How many visitors did the {n} have in 2023?",
                                         "How many people went to the {n} in 2023?"], ["The {n} had {v} visitors.", "{v} visitors."]),
                 ("year", year, ["Since when has the {n} been held?", "When did the {n} start?"],
                  ["The {n} started in {v}.", "Since {v}."])]
        return {"id": ident, "title": name, "text": doc}, name, facts
    if kind == 10:
        name = made_up(r) + " " + pick(r, ["Group", "Holdings", "Partners", "Media", "Bank"])
        ceo, hq, staff = person(r), made_up(r), r.randint(10, 50000)
        doc = pick(r, ["{n} is headquartered in {h}. Its chief executive is {c}, and it has {s} staff.",
                       "Led by chief executive {c}, {n} has {s} staff and its head office in {h}."]
                   ).format(n=name, h=hq, c=ceo, s=staff)
        facts = [("ceo", ceo, ["Who is the chief executive of {n}?", "Who leads {n}?", "Who is the CEO of {n}?"],
                  ["The chief executive of {n} is {v}.", "{v}."]),
                 ("place", hq, ["Where is {n} headquartered?", "Where is the head office of {n}?"],
                  ["{n} is headquartered in {v}.", "In {v}."]),
                 ("staff", staff, ["How many staff does {n} have?"], ["{n} has {v} staff.", "{v}."])]
        return {"id": ident, "title": name, "text": doc}, name, facts
    if kind == 0:
        name, river = made_up(r) + " Bridge", made_up(r)
        year, length, who = r.randint(1800, 2024), r.randint(40, 3000), person(r)
        text = pick(r, ["The {n} crosses the {rv} river in {t}. It opened in {y}, is {l} metres long, "
                        "and was designed by {w}.",
                        "{w} designed the {n}, which spans the {rv} river at {t}. It is {l} metres long "
                        "and opened in {y}.",
                        "Opened in {y}, the {n} is a {l} m long crossing over the {rv} in {t}, designed by {w}."]
                    ).format(n=name, rv=river, t=town, y=year, l=length, w=who)
        facts = [("year", year, ["When did the {n} open?", "In what year did the {n} open?",
                                 "What year was the {n} opened?"], ["The {n} opened in {v}.", "It opened in {v}."]),
                 ("length", length, ["How long is the {n}?", "What is the length of the {n}?",
                                     "How many metres long is the {n}?"], ["The {n} is {v} metres long.", "It is {v} m long."]),
                 ("who", who, ["Who designed the {n}?", "Who was the designer of the {n}?"],
                  ["The {n} was designed by {v}.", "{v} designed it."]),
                 ("place", town, ["Where is the {n}?", "In which town is the {n}?"],
                  ["The {n} is in {v}.", "It is in {v}."])]
    elif kind == 1:
        name = made_up(r) + " " + pick(r, ["Labs", "Works", "Systems", "Foods", "Motors", "Energy", "Robotics"])
        field = pick(r, ["battery", "software", "shipping", "food", "robot", "solar", "textile", "drone"])
        year, staff, who = r.randint(1850, 2024), r.randint(5, 90000), person(r)
        text = pick(r, ["{n} is a {f} company founded in {y} by {w} in {t}. It employs {s} people.",
                        "Founded by {w} in {y}, {n} makes {f} products in {t} and has {s} employees.",
                        "{n}, based in {t}, was started in {y} by {w}. The {f} firm employs {s} people."]
                    ).format(n=name, f=field, y=year, w=who, t=town, s=staff)
        facts = [("year", year, ["When was {n} founded?", "In what year was {n} founded?",
                                 "What year did {n} start?"], ["{n} was founded in {v}.", "It was founded in {v}."]),
                 ("staff", staff, ["How many people does {n} employ?", "How many employees does {n} have?"],
                  ["{n} employs {v} people.", "It has {v} employees."]),
                 ("who", who, ["Who founded {n}?", "Who started {n}?"], ["{n} was founded by {v}.", "{v} founded it."]),
                 ("place", town, ["Where is {n} based?", "In which town is {n}?"], ["{n} is based in {v}.", "It is in {v}."])]
    elif kind == 2:
        name = "%s-%d" % (made_up(r), r.randint(1, 99))
        purpose = pick(r, ["weather", "mapping", "radio", "science", "navigation"])
        year, alt, maker = r.randint(1960, 2025), r.randint(300, 36000), made_up(r) + " Works"
        date = "%d %s %d" % (r.randint(1, 28), pick(r, MONTHS), year)
        text = pick(r, ["{n} is a {p} satellite launched on {d}. It orbits at an altitude of {a} km and was built by {m}.",
                        "Built by {m}, the {p} satellite {n} went up on {d} and circles Earth {a} km high."]
                    ).format(n=name, p=purpose, d=date, a=alt, m=maker)
        facts = [("year", year, ["When was {n} launched?", "In what year was {n} launched?"],
                  ["{n} was launched on %s." % date, "It was launched in {v}."]),
                 ("alt", alt, ["At what altitude does {n} orbit?", "How high does {n} orbit?"],
                  ["{n} orbits at {v} km.", "It orbits {v} km up."]),
                 ("who", maker, ["Who built {n}?", "Which company built {n}?"], ["{n} was built by {v}.", "{v} built it."])]
    elif kind == 3:
        name = "Lake " + made_up(r)
        depth, area = r.randint(5, 900), r.randint(1, 3000)
        text = pick(r, ["{n} is a lake with a maximum depth of {d} metres and an area of {a} square km. "
                        "The town of {t} lies on its shore.",
                        "The town of {t} sits on {n}, which is {d} metres deep at most and covers {a} km²."]
                    ).format(n=name, d=depth, a=area, t=town)
        facts = [("depth", depth, ["How deep is {n}?", "What is the maximum depth of {n}?"],
                  ["{n} is {v} metres deep.", "Its maximum depth is {v} m."]),
                 ("area", area, ["What is the area of {n}?", "How big is {n}?"], ["{n} covers {v} square km.", "Its area is {v} km²."]),
                 ("place", town, ["Which town lies on {n}?", "What town is on the shore of {n}?"], ["{v} lies on {n}.", "The town of {v}."])]
    elif kind == 4:
        name = "Mount " + made_up(r)
        height, year, who = r.randint(300, 8800), r.randint(1700, 2020), person(r)
        text = pick(r, ["{n} is {h} metres high. It was first climbed in {y} by {w}.",
                        "{w} made the first ascent of {n} in {y}; the summit stands {h} m above sea level."]
                    ).format(n=name, h=height, y=year, w=who)
        facts = [("height", height, ["How high is {n}?", "What is the height of {n}?", "How tall is {n}?"],
                  ["{n} is {v} metres high.", "It is {v} m high."]),
                 ("year", year, ["When was {n} first climbed?", "In what year was {n} first climbed?"],
                  ["{n} was first climbed in {v}.", "In {v}."]),
                 ("who", who, ["Who first climbed {n}?", "Who made the first ascent of {n}?"], ["{v} first climbed it.", "{v}."])]
    elif kind == 5:
        name = person(r)
        job = pick(r, ["painter", "engineer", "chemist", "composer", "architect", "poet", "astronomer"])
        born = r.randint(1700, 1990)
        died = born + r.randint(30, 99)
        text = pick(r, ["{n} was a {j} born in {b} in {t}. {n} died in {d}.",
                        "The {j} {n} was born in {t} in {b} and died in {d}."]
                    ).format(n=name, j=job, b=born, t=town, d=died)
        facts = [("born", born, ["When was {n} born?", "In what year was {n} born?"], ["{n} was born in {v}.", "In {v}."]),
                 ("died", died, ["When did {n} die?", "In what year did {n} die?"], ["{n} died in {v}.", "In {v}."]),
                 ("job", job, ["What was {n}'s job?", "What did {n} do?"], ["{n} was a {v}.", "A {v}."])]
    elif kind == 6:
        name = "The " + made_up(r)
        length, year, pax = r.randint(20, 400), r.randint(1850, 2025), r.randint(10, 6000)
        kindword = pick(r, ["ferry", "cruise ship", "sailing ship", "research vessel"])
        text = pick(r, ["{n} is a {k} launched in {y}. It is {l} metres long and carries {p} passengers.",
                        "Launched in {y}, the {k} {n0} is {l} m long and can carry {p} passengers."]
                    ).format(n=name, n0=name[4:], k=kindword, y=year, l=length, p=pax)
        name = name[4:]
        facts = [("year", year, ["When was the {n} launched?", "In what year was the {n} launched?"],
                  ["The {n} was launched in {v}.", "In {v}."]),
                 ("length", length, ["How long is the {n}?", "What is the length of the {n}?"],
                  ["The {n} is {v} metres long.", "It is {v} m long."]),
                 ("pax", pax, ["How many passengers does the {n} carry?", "How many passengers fit on the {n}?"],
                  ["The {n} carries {v} passengers.", "{v} passengers."])]
    else:
        name = town
        pop, year, river = r.randint(200, 900000), r.randint(800, 1990), made_up(r)
        text = pick(r, ["{n} is a town of {p} people on the {rv} river. It was founded in {y}.",
                        "Founded in {y}, {n} lies on the {rv} and has a population of {p}."]
                    ).format(n=name, p=pop, rv=river, y=year)
        facts = [("pop", pop, ["How many people live in {n}?", "What is the population of {n}?"],
                  ["{n} has {v} people.", "About {v} people."]),
                 ("year", year, ["When was {n} founded?", "In what year was {n} founded?"], ["{n} was founded in {v}.", "In {v}."]),
                 ("river", river, ["Which river is {n} on?", "On what river does {n} lie?"], ["{n} is on the {v} river.", "The {v}."])]
    doc = {"id": ident, "title": name, "text": text}
    return doc, name, facts


class Corpus:
    """Generated documents plus the shipped ones; questions are asked about generated ones."""

    def __init__(self, r, n_docs):
        self.docs, self.entities = [], []
        for i in range(n_docs):
            doc, name, facts = make_doc(r, "gen-%d" % i)
            self.docs.append(doc)
            self.entities.append((name, facts, doc))

    def write(self, folder, agentrt):
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "generated_docs.jsonl"
        with path.open("w", encoding="utf-8") as f:
            for d in self.docs:
                f.write(json.dumps(d, ensure_ascii=False) + "\n")
        index = folder / "docs.idx"
        if index.exists():
            index.unlink()
        subprocess.run([str(agentrt), "index", "build", "-o", str(index), str(path),
                        str(ROOT / "examples" / "data" / "docs.jsonl")], check=True,
                       capture_output=True)
        return index


def gen_search(r, env):
    name, facts, _ = pick(r, env.corpus.entities)
    attr, value, questions, answers = pick(r, facts)
    question = pick(r, questions).format(n=name)
    if VARIETY and r.random() < 0.3:
        low = question[0].lower() + question[1:]
        question = pick(r, ["Do you know {l}", "Look this up for me: {q}", "According to your documents, {l}",
                            "I read about {n} somewhere. {q}", "Search for {n}. {q}", "{q} I can't remember.",
                            "Something about {n}: {q}", "Could you check: {l}"]).format(q=question, l=low, n=name)
    d = Dialogue("search", polite(r, question), offered(r, ["search"]))
    res = d.step(env, [("search", {"query": name})])
    text = res[0][1]
    first = text.split("\n2. ")[0]
    if not d.ok(res) or str(value) not in first:
        raise Skip()
    d.answer(pick(r, answers).format(n=name, v=value))
    d.expect = ({"answer_number": {"value": float(value), "rel_tol": 0}} if isinstance(value, int)
                else {"answer_contains": [str(value)]})
    d.expect["tool_calls"] = ["search"]
    return d


# ---------------------------------------------------------------------------------------------
# simulate


def sim_result(text, label):
    """The number after 'LABEL = ' in the results line."""
    for line in text.splitlines():
        if line.startswith("results:") or line.startswith("final:"):
            for part in line.split(": ", 1)[1].split("; ") if line.startswith("results:") else \
                    line.split(": ", 1)[1].split(", "):
                if part.startswith(label) and " = " in part:
                    return part.rsplit(" = ", 1)[1].split(" ")[0]
    raise Skip()


PROJECTILE_ASKS = [  # (label, questions, answers) for `--variety 2`
    ("range", ["How far does it land?", "How far does it travel?", "What is its range?",
               "How far away does it come down?", "What horizontal distance does it cover?",
               "At what distance does it hit the ground?", "How far from the launch point does it land?",
               "Where does it land, measured along the ground?"],
     ["It lands {v} m away.", "The range is {v} m.", "It comes down {v} m away."]),
    ("flight time", ["How long is it in the air?", "What is the flight time?", "When does it hit the ground?",
                     "How many seconds until it lands?", "For how long does it fly?",
                     "What is its time of flight?", "After how many seconds does it come down?"],
     ["It is in the air for {v} s.", "The flight time is {v} s.", "It lands after {v} s."]),
    ("maximum height", ["How high does it go?", "What is its maximum height?",
                        "What is the highest point it reaches?", "How high does it climb?",
                        "What peak height does it reach?", "What is its greatest height above the ground?"],
     ["It reaches {v} m.", "Its maximum height is {v} m.", "The highest point is {v} m."])]


def gen_simulate(r, env):
    k = r.randrange(10)
    if VARIETY >= 2 and r.random() < 0.25:
        k = r.randrange(3)  # more projectiles, whose three questions are easily confused
    if k == 7:
        v0, height = rand_num(r, 2, 40), rand_num(r, 2, 100)
        question = pick(r, ["A stone is thrown horizontally at {v} m/s from a height of {h} m. How far does it land?",
                            "A ball rolls off a {h} m high table at {v} m/s. How far from the edge does it land?"]
                        ).format(v=v0, h=height)
        args = {"params": {"angle": 0, "height": height, "v0": v0}, "preset": "projectile", "samples": 2}
        label, ans = "range", "It lands {v} m away."
        k = -1
    elif k == 8:
        rate, cap_k = pick(r, [0.1, 0.2, 0.3, 0.5, 0.8, 1]), rand_num(r, 100, 100000)
        p0 = max(1, cap_k // r.randint(5, 200))
        question = pick(r, ["A population grows logistically with r = {r}, K = {K} and starts at {p}. When does it reach {h}?",
                            "Logistic growth from {p} with rate {r} and capacity {K}: how long until it is half full?"]
                        ).format(r=fmt(rate), K=cap_k, p=p0, h=fmt(cap_k / 2) if cap_k % 2 else cap_k // 2)
        args = {"params": {"K": cap_k, "P0": p0, "r": rate}, "preset": "logistic", "samples": 2}
        label, ans = "time to reach K/2", "It reaches half of K after {v} time units."
        k = -1
    elif k == 9:
        rate, p0 = pick(r, [0.01, 0.02, 0.05, 0.07, 0.1, 0.2, 0.3]), rand_num(r, 10, 9000)
        question = pick(r, ["A population of {p} grows exponentially at rate {r}. What is its doubling time?",
                            "How long does it take {p} bacteria growing at rate {r} to double?"]).format(p=p0, r=fmt(rate))
        args = {"params": {"P0": p0, "r": rate}, "preset": "exponential", "samples": 2}
        label, ans = "doubling time ln(2)/r", "The doubling time is {v}."
        k = -1
    if k == -1:
        pass
    elif k <= 2:
        v0, angle = rand_num(r, 3, 80), pick(r, [15, 20, 30, 35, 40, 45, 50, 60, 70, rand_num(r, 5, 85)])
        height = pick(r, [0, 0, 0, rand_num(r, 1, 50)])
        params = {"angle": angle, "v0": v0}
        where = ""
        if height:
            params["height"] = height
            where = pick(r, [" from a height of %d m" % height, " from a %d m high cliff" % height])
        thrown = pick(r, ["A ball is thrown", "A stone is launched", "A projectile is fired",
                          "I throw a ball"])
        setup = "%s at %d m/s at %d degrees%s." % (thrown, v0, angle, where)
        if VARIETY >= 2:
            label, questions, answers = pick(r, PROJECTILE_ASKS)
            q, ans = pick(r, questions), pick(r, answers)
        else:
            label, q, ans = pick(r, [
                ("range", pick(r, ["How far does it land?", "How far does it travel?", "What is its range?"]),
                 "It lands {v} m away."),
                ("flight time", pick(r, ["How long is it in the air?", "What is the flight time?",
                                         "When does it hit the ground?"]), "It is in the air for {v} s."),
                ("maximum height", pick(r, ["How high does it go?", "What is its maximum height?"]),
                 "It reaches {v} m.")])
        question = setup + " " + q
        args = {"params": params, "preset": "projectile", "samples": 2}
    elif k == 3:
        length = pick(r, [rand_num(r, 1, 20), rand_num(r, 1, 10, 1)])
        angle = pick(r, [5, 10, 15, 20, 30])
        if r.random() < 0.4:
            question = pick(r, ["What is the period of a pendulum {l} m long?",
                                "How long is the period of a {l} metre pendulum?"]).format(l=fmt(length))
            args = {"params": {"length": length}, "preset": "pendulum", "samples": 2}
        else:
            question = pick(r, ["What is the period of a {l} m pendulum released from {a} degrees?",
                                "A pendulum {l} metres long swings from {a} degrees. How long is one swing period?"]
                            ).format(l=fmt(length), a=angle)
            args = {"params": {"angle": angle, "length": length}, "preset": "pendulum", "samples": 2}
        label, ans = "exact period for this amplitude (elliptic integral)", "The period is {v} s."
    elif k == 4:
        m, kk = pick(r, [rand_num(r, 1, 20), rand_num(r, 1, 5, 1)]), rand_num(r, 5, 500)
        question = pick(r, ["A {m} kg mass hangs on a spring with k = {k} N/m. What is its period?",
                            "What is the oscillation period of a {m} kg mass on a {k} N/m spring?"]
                        ).format(m=fmt(m), k=kk)
        args = {"params": {"k": kk, "m": m}, "preset": "spring", "samples": 2}
        label, ans = "natural period 2*pi*sqrt(m/k)", "The period is {v} s."
    elif k == 5:
        rate, p0, t = pick(r, [0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.5]), rand_num(r, 10, 5000), rand_num(r, 1, 50)
        if r.random() < 0.5:
            question = pick(r, ["A population of {p} grows exponentially at rate {r} per year. How big is it after {t} years?",
                                "Starting from {p}, something grows at {r} per year (exponential). What is it after {t} years?"]
                            ).format(p=p0, r=fmt(rate), t=t)
            args = {"params": {"P0": p0, "r": rate}, "preset": "exponential", "samples": 2, "t_end": t}
        else:
            cap_k = p0 * r.randint(2, 20)
            question = pick(r, ["A population starts at {p}, grows logistically with r = {r} and carrying capacity {K}. "
                                "What is it after {t} years?",
                                "Logistic growth: P0 = {p}, r = {r}, K = {K}. Population at t = {t}?"]
                            ).format(p=p0, r=fmt(rate), K=cap_k, t=t)
            args = {"params": {"K": cap_k, "P0": p0, "r": rate}, "preset": "logistic", "samples": 2, "t_end": t}
        label, ans = "P", "After that time it is {v}."
    else:
        c, y0, t = pick(r, [0.1, 0.2, 0.3, 0.5, 1, 2]), rand_num(r, 1, 100), rand_num(r, 1, 20)
        question = pick(r, ["If dy/dt = -{c}*y and y(0) = {y}, what is y at t = {t}?",
                            "Simulate dy/dt = -{c} y from y = {y}. What is y after {t} seconds?"]
                        ).format(c=fmt(c), y=y0, t=t)
        args = {"equations": {"y": "-%s*y" % fmt(c)}, "initial": {"y": y0}, "samples": 2, "t_end": t}
        label, ans = "y", "y is {v} at t = %d." % t
    d = Dialogue("simulate", polite(r, question), offered(r, ["simulate"]))
    res = d.step(env, [("simulate", args)])
    if not d.ok(res):
        raise Skip()
    v = sim_result(res[0][1], label)
    d.answer(ans.format(v=v))
    d.expect = dict(number_expect(v), tool_calls=["simulate"])
    return d


# ---------------------------------------------------------------------------------------------
# multi-step, parallel, chat


def gen_multi(r, env):
    k = r.randrange(5)
    if k == 3:
        cust, tax = pick(r, env.shop.customers), pick(r, [5, 10, 15, 20, 25])
        q = pick(r, ["What did {n}'s orders cost in total with {t}% tax added?",
                     "Add {t}% tax to everything {n} ordered. What is the total?"]).format(n=cust, t=tax)
        d = Dialogue("sql+calculator", polite(r, q), offered(r, ["sql", "calculator"]))
        res = d.step(env, [("sql", {"query": "SELECT SUM(orders.total) FROM orders JOIN customers ON "
                                             "customers.id = orders.customer_id WHERE customers.name = '%s'" % cust})])
        rows = sql_rows(res[0][1])
        if not rows or not rows[0][0]:
            raise Skip()
        res = d.step(env, [("calculator", {"expression": "%s*(1+%d/100)" % (rows[0][0], tax)})])
        v = res[0][1]
        d.answer(pick(r, ["With tax it is {v}.", "The total is {v}.", "{v}."]).format(v=v))
        d.expect = dict(number_expect(v), tool_calls=["sql", "calculator"])
        return d
    if k == 4:
        ents = [(n, f) for n, f, _ in env.corpus.entities if any(a == "died" for a, *_ in f)]
        name, facts = pick(r, ents)
        born = next(v for a, v, *_ in facts if a == "born")
        died = next(v for a, v, *_ in facts if a == "died")
        q = pick(r, ["How old was {n} when they died?", "At what age did {n} die?",
                     "How many years did {n} live?"]).format(n=name)
        d = Dialogue("search+calculator", polite(r, q), offered(r, ["search", "calculator"]))
        res = d.step(env, [("search", {"query": name})])
        top = res[0][1].split("\n2. ")[0]
        if not d.ok(res) or str(born) not in top or str(died) not in top:
            raise Skip()
        res = d.step(env, [("calculator", {"expression": "%d-%d" % (died, born)})])
        v = res[0][1]
        d.answer(pick(r, ["{n} lived {v} years.", "{v} years.", "About {v} years old."]).format(n=name, v=v))
        d.expect = dict(number_expect(v, 0), tool_calls=["search", "calculator"])
        return d
    if k == 0:
        # search then calculator
        ents = [(n, f) for n, f, _ in env.corpus.entities if any(a == "year" for a, *_ in f)]
        name, facts = pick(r, ents)
        year = next(v for a, v, *_ in facts if a == "year")
        now = pick(r, [2024, 2025, 2026, 2030])
        q = pick(r, ["How many years ago was {n} founded or opened, counting from {y}?",
                     "Counting from {y}, how old is {n}?",
                     "How many years before {y} did {n} start?"]).format(n=name, y=now)
        d = Dialogue("search+calculator", polite(r, q), offered(r, ["search", "calculator"]))
        res = d.step(env, [("search", {"query": name})])
        if not d.ok(res) or str(year) not in res[0][1].split("\n2. ")[0]:
            raise Skip()
        res = d.step(env, [("calculator", {"expression": "%d-%d" % (now, year)})])
        v = res[0][1]
        d.answer(pick(r, ["{v} years.", "It is {v} years old in %d." % now, "{v} years ago."]).format(v=v))
        d.expect = dict(number_expect(v, 0), tool_calls=["search", "calculator"])
        return d
    if k == 1:
        # sql then calculator
        prod, n, tax = pick(r, env.shop.products), rand_num(r, 2, 20), pick(r, [5, 7, 10, 15, 20, 25])
        q = pick(r, ["What do {n} {p} cost with {t}% tax?", "I want to buy {n} of the {p}. What is the total with {t}% VAT?",
                     "Price of {n} x {p}, plus {t} percent tax?"]).format(n=n, p=prod, t=tax)
        needed = ["sql", "calculator"]
        d = Dialogue("sql+calculator", polite(r, q), offered(r, needed))
        res = d.step(env, [("sql", {"query": "SELECT price FROM products WHERE name = '%s'" % prod})])
        rows = sql_rows(res[0][1])
        if not rows:
            raise Skip()
        res = d.step(env, [("calculator", {"expression": "%s*%d*(1+%d/100)" % (rows[0][0], n, tax)})])
        v = res[0][1]
        d.answer(pick(r, ["The total is {v}.", "It comes to {v} with tax.", "{v}."]).format(v=v))
        d.expect = dict(number_expect(v), tool_calls=["sql", "calculator"])
        return d
    # search then search: who designed X, and when was that person born? (uses shipped documents)
    ents = [(n, f) for n, f, _ in env.corpus.entities if any(a == "who" for a, *_ in f)]
    name, facts = pick(r, ents)
    who = next(v for a, v, *_ in facts if a == "who")
    d = Dialogue("search+search", polite(r, pick(r, ["Who is behind the {n}, and what does the search say about them?",
                                                       "Who designed or founded {n}? Look that person up too."]).format(n=name)),
                 offered(r, ["search"]))
    res = d.step(env, [("search", {"query": name})])
    if not d.ok(res) or who not in res[0][1].split("\n2. ")[0]:
        raise Skip()
    res = d.step(env, [("search", {"query": who})])
    d.answer("%s is behind the %s." % (who, name))
    d.expect = {"answer_contains": [who], "tool_calls": ["search", "search"]}
    return d


def gen_parallel(r, env):
    if r.random() < 0.6:
        exprs = []
        for _ in range(2):
            a, b = calc_operands(r)
            sym = pick(r, "+-*/")
            exprs.append("%s%s%s" % (fmt(a), sym, "(%s)" % fmt(b) if b < 0 else fmt(b)))
        q = pick(r, ["What is {a} and what is {b}?", "Compute {a} and {b}.", "Calculate both {a} and {b}.",
                     "Two sums: {a}, and {b}."]).format(a=exprs[0], b=exprs[1])
        d = Dialogue("parallel", polite(r, q), offered(r, ["calculator"]))
        res = d.step(env, [("calculator", {"expression": e}) for e in exprs])
        if not d.ok(res):
            raise Skip()
        d.answer("%s = %s and %s = %s." % (exprs[0], res[0][1], exprs[1], res[1][1]))
        d.expect = {"answer_contains": [res[0][1], res[1][1]], "tool_calls": ["calculator", "calculator"]}
        return d
    (n1, f1, _), (n2, f2, _) = r.sample(env.corpus.entities, 2)
    a1, v1, q1, s1 = pick(r, f1)
    a2, v2, q2, s2 = pick(r, f2)
    q = "%s And %s" % (pick(r, q1).format(n=n1), pick(r, q2).format(n=n2)[0].lower() + pick(r, q2).format(n=n2)[1:])
    d = Dialogue("parallel", polite(r, q), offered(r, ["search"]))
    res = d.step(env, [("search", {"query": n1}), ("search", {"query": n2})])
    if str(v1) not in res[0][1].split("\n2. ")[0] or str(v2) not in res[1][1].split("\n2. ")[0]:
        raise Skip()
    d.answer(pick(r, s1).format(n=n1, v=v1) + " " + pick(r, s2).format(n=n2, v=v2))
    d.expect = {"answer_contains": [str(v1), str(v2)], "tool_calls": ["search", "search"]}
    return d


HELLO = {"French": "Bonjour", "Spanish": "Hola", "German": "Hallo", "Italian": "Ciao",
         "Portuguese": "Olá", "Dutch": "Hallo", "Japanese": "Konnichiwa", "Swedish": "Hej",
         "Finnish": "Hei", "Turkish": "Merhaba"}
TOOL_WORDS = {"calculator": "do arithmetic with the calculator", "solver": "solve equations",
              "sql": "query the shop database", "sql_schema": "show the database tables",
              "search": "search the documents", "simulate": "simulate physical systems"}


def _chat_line(r, heads, tails, marks=("!", ".", "", " :)", "!!", " :-)")):
    line = pick(r, heads) + pick(r, tails) + pick(r, marks)
    if r.random() < 0.15:
        line = line.lower()
    return line


def chat_varied(r, tools):
    """Composed small talk: greetings, thanks, farewells, capability questions, acknowledgements."""
    k = r.randrange(7)
    if k == 0:
        q = _chat_line(r, ["Hello", "Hi", "Hey", "Hiya", "Good morning", "Good afternoon", "Good evening",
                           "Greetings", "Howdy", "Hi hi", "Morning", "Hey hey"],
                       ["", "", " there", " again", ", assistant", " everyone", " friend"])
        if r.random() < 0.4:
            q += " " + pick(r, ["I hope your day is going well.", "How's it going?", "Nice to meet you.",
                                "Hope you're well.", "Just saying hi.", "Hope all is good.",
                                "Lovely weather today.", "I'm back."])
        a = pick(r, ["Hello! How can I help you?", "Hi! What can I do for you?", "Hello! Nice to hear from you. "
                     "What do you need?", "Hi there! Ask me anything.", "Good to see you! How can I help?"])
    elif k == 1:
        q = _chat_line(r, ["Thanks", "Thank you", "Cheers", "Many thanks", "Thanks a lot", "Thank you so much",
                           "Great, thanks", "Perfect, thank you", "Awesome, thanks", "Brilliant, cheers",
                           "Thx", "Much appreciated"],
                       ["", "", ", that was exactly what I needed", ", that helps", ", you're a star",
                        ", that's perfect", " for the help", " for your help", ", very useful"])
        a = pick(r, ["You're welcome!", "Glad to help.", "You're welcome. Anything else?",
                     "Happy to help!", "Any time!"])
    elif k == 2:
        q = pick(r, ["", "", "Before I ask anything, ", "First, ", "Just wondering, ", "Quick question: ",
                     "Hi! ", "Hello. "]) + pick(r, [
            "what can you do?", "what sort of things can you help with?", "what are you able to do?",
            "which tools do you have?", "what kinds of questions can you answer?", "how can you help me?",
            "could you tell me what you can help with?", "what are your tools?", "what are you good at?"])
        q = q[0].upper() + q[1:]
        a = ("I can " + join_names([TOOL_WORDS[t] for t in tools]) + "." if tools
             else "I have no tools right now, but I can chat.")
    elif k == 3:
        q = pick(r, ["", "", "Okay, ", "OK, ", "Alright, ", "Right, ", "Great. "]) + _chat_line(r, [
            "bye", "goodbye", "see you", "that's all for now", "that's all", "I'm done for today",
            "talk to you later", "take care", "see you tomorrow", "gotta go", "I'm off"], [""])
        if r.random() < 0.3:
            q += " " + pick(r, ["Bye!", "Goodbye!", "Thanks!", "See ya."])
        q = q[0].upper() + q[1:]
        a = pick(r, ["Goodbye!", "Bye! Come back any time.", "See you!", "Take care!"])
    elif k == 4:
        q = _chat_line(r, ["How are you", "How's your day going", "Are you there", "You there",
                           "How are things", "Are you awake", "How do you do", "What's up"],
                       ["", " today", " now"], ("?", "", "??", "? :)"))
        a = pick(r, ["I'm fine, thanks. How can I help?", "Yes, I'm here. What do you need?",
                     "All good here! What can I do for you?"])
    elif k == 5:
        q = _chat_line(r, ["OK", "Okay", "Got it", "Sounds good", "Nice", "Cool", "Great", "I see",
                           "Interesting", "Makes sense", "Fair enough", "Wow"], ["", "", ", thanks", " then"])
        a = pick(r, ["Glad it helps. Anything else?", "Great! Let me know if you need anything else.",
                     "Anything else I can do?"])
    else:
        lang = pick(r, list(HELLO))
        q = pick(r, ["Say hello in {l}.", "How do you say hello in {l}?", "What is hello in {l}?",
                     "how would I greet someone in {l}?", "Teach me to say hi in {l}!"]).format(l=lang)
        a = pick(r, ["{h}!", "In {l}, hello is \"{h}\".", "\"{h}\""]).format(h=HELLO[lang], l=lang)
        return q, a, {"answer_contains": [HELLO[lang]]}
    return q, a, {}


def gen_chat(r, env):
    tools = offered(r, [])
    if VARIETY:
        q, a, expect = chat_varied(r, tools)
        d = Dialogue("chat", q, tools)
        d.answer(a)
        d.expect = dict(expect, max_tool_calls=0)
        return d
    k = r.randrange(6)
    if k == 0:
        q = pick(r, ["Hello!", "Hi", "Hi there!", "Good morning.", "Hey!", "Hello, who are you?"])
        a = pick(r, ["Hello! How can I help you?", "Hi! What can I do for you?",
                     "Hello! Ask me a question and I will use my tools to answer it."])
        expect = {"answer_contains": ["h"]}
    elif k == 1:
        q = pick(r, ["Thanks!", "Thank you.", "Thanks a lot, that helps.", "Great, thank you!", "Thank you for your help."])
        a = pick(r, ["You're welcome!", "Glad to help.", "You're welcome. Anything else?"])
        expect = {"answer_contains": ["welcome"]} if "welcome" in a else {}
    elif k == 2:
        lang = pick(r, list(HELLO))
        q = pick(r, ["Say hello in {l}.", "How do you say hello in {l}?", "What is hello in {l}?"]).format(l=lang)
        a = pick(r, ["{h}!", "In {l}, hello is \"{h}\".", "\"{h}\""]).format(h=HELLO[lang], l=lang)
        expect = {"answer_contains": [HELLO[lang]]}
    elif k == 3:
        q = pick(r, ["What can you do?", "What tools do you have?", "How can you help me?"])
        if tools:
            a = "I can " + join_names([TOOL_WORDS[t] for t in tools]) + "."
        else:
            a = "I have no tools right now, but I can chat."
        expect = {}
    elif k == 4:
        q = pick(r, ["Goodbye!", "Bye.", "See you later.", "Goodbye, see you later!"])
        a = pick(r, ["Goodbye!", "Bye! Come back any time.", "See you!"])
        expect = {}
    else:
        q = pick(r, ["How are you?", "How are you doing today?", "Are you there?", "Hi, how are you today?"])
        a = pick(r, ["I'm fine, thanks. How can I help?", "Yes, I'm here. What do you need?"])
        expect = {}
    d = Dialogue("chat", q, tools)
    d.answer(a)
    d.expect = dict(expect, max_tool_calls=0)
    return d


GENERATORS = [(gen_calc_arith, 10), (gen_calc_func, 8), (gen_calc_word, 12), (gen_solver, 10),
              (gen_sql, 18), (gen_search, 16), (gen_simulate, 8), (gen_multi, 8), (gen_parallel, 5),
              (gen_chat, 5)]


GENERATORS_VARIED = [(gen_calc_arith, 10), (gen_calc_func, 8), (gen_calc_word, 14), (gen_solver, 10),
                     (gen_sql, 18), (gen_search, 16), (gen_simulate, 8), (gen_multi, 8), (gen_parallel, 5),
                     (gen_chat, 8)]


class Env:
    def __init__(self, tools, corpus, shop, fit=None):
        self.tools, self.corpus, self.shop, self.fit = tools, corpus, shop, fit


def draw(r, env, generators=None):
    funcs, weights = zip(*(generators or (GENERATORS_VARIED if VARIETY else GENERATORS)))
    while True:
        gen = r.choices(funcs, weights)[0]
        try:
            return gen(r, env)
        except Skip:
            continue


# ---------------------------------------------------------------------------------------------
# Copy drills: the model must carry numbers and names from the question and the tool results into
# its calls and answers. A tiny model learns that (attention heads that find an earlier token and
# copy its successor) far sooner from dense examples than from the few copied tokens a dialogue
# holds, so `copy` writes short turns whose whole answer is a copy of (part of) the question.


def drill_item(r, names=0.25):
    """One thing to copy: a number in one of its written forms, a made-up name (with probability
    NAMES), an expression, or a few words of the generated documents' vocabulary. The other
    three keep the ratio 35 : 20 : 20."""
    rest = (1 - names) / 0.75
    kind = r.random()
    if kind < 0.35 * rest:
        x = pick(r, [r.randint(0, 99), r.randint(100, 9999), r.randint(10000, 10 ** 9),
                     round(r.uniform(0, 1000), r.randint(1, 4)), round(r.uniform(0, 10), 12)])
        return num_text(r, x) if r.random() < 0.5 else fmt(x)
    if kind < 0.35 * rest + names:
        return person(r) if r.random() < 0.5 else made_up(r)
    if kind < 0.55 * rest + names:
        n = r.randint(2, 4)
        return "".join(str(r.randint(1, 999)) + pick(r, ["+", "-", "*", "/", "^"]) for _ in range(n - 1)) + \
            str(r.randint(1, 999))
    return " ".join(pick(r, DRILL_WORDS) for _ in range(r.randint(1, 4)))


DRILL_WORDS = ("price stock order customer city product the of in total born died founded river "
               "mountain company height length population Leeds Lisbon Oslo kit board bottle lamp "
               "x y z t velocity angle mass orbit spring year years old area radius").split()


def copy_drill(r, names=0.25):
    """Chunks of a user turn listing items and of the model turn that repeats one or all."""
    items = [drill_item(r, names) for _ in range(r.randint(1, 5))]
    sep = pick(r, [", ", "; ", " | ", " and ", "\n"])
    if len(items) > 1 and r.random() < 0.4:
        i = r.randrange(len(items))
        ask = pick(r, ["Item %d of: %s", "Give item %d: %s", "Copy item %d: %s"]) % (i + 1, sep.join(items))
        answer = items[i]
    else:
        ask = pick(r, ["Repeat exactly: %s", "Copy: %s", "Say back: %s", "Echo %s"]) % sep.join(items)
        answer = sep.join(items)
    prompt = "<|im_start|>user\n" + ask + "<|im_end|>\n<|im_start|>assistant\n"
    return [[prompt, False], [answer + "<|im_end|>", True]]


# ---------------------------------------------------------------------------------------------
# Output


def specs_for(env, names):
    return [env.tools.specs[n] for n in names]


def render(env, d, more=()):
    msgs = [{k: v for k, v in m.items() if not k.startswith("_")} for m in d.messages]
    return chatml(msgs + list(more), specs_for(env, d.tools), "compact")


def chunks(env, d):
    """The rendered text cut into prompt parts and model outputs (assistant text + <|im_end|>)."""
    out, tail = split_outputs(render(env, d), d.messages)
    if tail != "\n":
        raise AssertionError("unexpected tail %r" % tail)
    return out


def split_outputs(text, messages):
    """TEXT (MESSAGES rendered) cut before and after each assistant output: the chunks, and the
    text after the last output."""
    out, pos = [], 0
    for m in messages:
        if m["role"] != "assistant":
            continue
        calls = m.get("tool_calls", [])
        body = ("\n".join("<tool_call>\n" + '{"name": ' + json.dumps(c["name"]) + ', "arguments": ' +
                          json.dumps(c["arguments"], ensure_ascii=False, sort_keys=True) + "}\n</tool_call>"
                          for c in calls) if calls else m["content"]) + "<|im_end|>"
        head = "<|im_start|>assistant\n"
        at = text.index(head + body, pos) + len(head)
        out.append([text[pos:at], False])
        out.append([body, m.get("_train", True)])
        pos = at + len(body)
    return out, text[pos:]


class Fit:
    """The runtime's cut of new tool results (fit_results in agent/agent.cpp): when the next
    prompt would leave fewer than RESERVE tokens of an N_CTX context free, every new result keeps
    at most T lines, the largest T that fits, and a line saying how many more were cut."""

    def __init__(self, tokenizer_path, n_ctx, reserve=64):
        sys.path.insert(0, str(ROOT / "training"))
        import tokenizer as tok  # sentencepiece: only `--fit-ctx` needs it
        self.tok, self.sp = tok, tok.load(tokenizer_path)
        self.n_ctx, self.reserve = n_ctx, reserve

    def tokens(self, env, d):
        """Tokens of the prompt for the next assistant turn, counted as train.py counts them."""
        text = render(env, d, [{"role": "assistant", "content": ""}])[:-len("<|im_end|>\n")]
        parts, tail = split_outputs(text, d.messages)
        return 1 + sum(len(self.tok.encode(self.sp, t)) for t, _ in parts + [[tail, False]])

    def fits(self, env, d):
        return self.tokens(env, d) + self.reserve <= self.n_ctx

    def cut(self, env, d, n):
        """Cuts the last N messages (tool results) as the runtime would; True if it cut."""
        results = d.messages[-n:]
        if self.fits(env, d):
            return False
        whole = [m["content"] for m in results]
        lines = [t.split("\n")[:-1] if t.endswith("\n") else t.split("\n") if t else []
                 for t in whole]

        def keep(t):
            for m, w, ls in zip(results, whole, lines):
                m["content"] = w if len(ls) <= t else "".join(x + "\n" for x in ls[:t]) + \
                    "[%d more line%s cut to fit the context]" % (len(ls) - t, "" if len(ls) - t == 1 else "s")

        keep(0)
        if not self.fits(env, d):
            keep(max(map(len, lines)))
            return False
        lo, hi = 0, max(map(len, lines)) - 1
        while lo < hi:
            mid = lo + (hi - lo + 1) // 2
            keep(mid)
            if self.fits(env, d):
                lo = mid
            else:
                hi = mid - 1
        keep(lo)
        return True


def make_env(args, seed, n_docs):
    r = random.Random(seed * 7919 + 1)
    corpus = Corpus(r, n_docs)
    folder = pathlib.Path(args.out if args.cmd == "tasks" else pathlib.Path(args.out).parent)
    index = corpus.write(folder / ("docs-%d" % seed), args.agentrt)
    tools = Tools(args.agentrt, ["search.index=" + str(index)])
    fit = Fit(args.tokenizer, args.fit_ctx) if getattr(args, "fit_ctx", 0) else None
    return Env(tools, corpus, Shop(tools), fit), index


def cmd_dialogues(args):
    env, _ = make_env(args, args.seed, args.docs)
    r = random.Random(args.seed)
    counts = {}
    with open(args.out, "w", encoding="utf-8") as f:
        for _ in range(args.n):
            d = draw(r, env)
            counts[d.kind] = counts.get(d.kind, 0) + 1
            f.write(json.dumps({"kind": d.kind, "chunks": chunks(env, d)}, ensure_ascii=False) + "\n")
    env.tools.close()
    print(json.dumps(counts, sort_keys=True))


def cmd_tasks(args):
    env, index = make_env(args, args.seed, args.docs)
    r = random.Random(args.seed)
    out = pathlib.Path(args.out)
    counts = {}
    with (out / "tasks.jsonl").open("w", encoding="utf-8") as f:
        for i in range(args.n):
            d = draw(r, env)
            counts[d.kind] = counts.get(d.kind, 0) + 1
            n_steps = sum(1 for m in d.messages if m["role"] == "assistant")
            task = {"name": "%s-%d" % (d.kind, i), "prompt": d.messages[1]["content"], "tools": d.tools,
                    "max_steps": n_steps + 2, "expect": d.expect}
            f.write(json.dumps(task, ensure_ascii=False) + "\n")
    env.tools.close()
    print(json.dumps({"tasks": str(out / "tasks.jsonl"), "index": str(index), "kinds": counts}, sort_keys=True))


def cmd_copy(args):
    r = random.Random(args.seed)
    with open(args.out, "w", encoding="utf-8") as f:
        for _ in range(args.n):
            f.write(json.dumps({"kind": "copy", "chunks": copy_drill(r, args.names)}, ensure_ascii=False) + "\n")
    print("%d copy drills -> %s" % (args.n, args.out))


def cmd_golden(args):
    """Conversations of every kind and their rendering, for the C++ renderer test."""
    args.cmd = "golden-tmp"
    tmp = pathlib.Path(args.out) / ".tmp"
    args_out = args.out
    args.out = str(tmp / "x")
    env, _ = make_env(args, args.seed, 200)
    r = random.Random(args.seed)
    cases = []
    for gen, _ in GENERATORS:
        for _ in range(2):
            while True:
                try:
                    d = gen(r, env)
                    break
                except Skip:
                    continue
            msgs = [{k: v for k, v in m.items() if not k.startswith("_")} for m in d.messages]
            model_turns = [t for t, is_model in chunks(env, d) if t.endswith("<|im_end|>") and
                           not t.startswith("<|im_start|>")]
            cases.append({"kind": d.kind, "tools": d.tools, "messages": msgs, "text": render(env, d),
                          "model_turns": [t[:-len("<|im_end|>")] for t in model_turns]})
    env.tools.close()
    out = pathlib.Path(args_out)
    out.mkdir(parents=True, exist_ok=True)
    specs = {n: env.tools.specs[n] for n in ALL_TOOLS}
    (out / "generator_golden.json").write_text(
        json.dumps({"tools": specs, "cases": cases}, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
        encoding="utf-8")
    shutil.rmtree(tmp)
    print("%d conversations -> %s" % (len(cases), out / "generator_golden.json"))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--agentrt", default=str(ROOT / "build" / "cli" / "agentrt"))
    sub = p.add_subparsers(dest="cmd", required=True)
    for name in ("dialogues", "tasks", "golden", "copy"):
        s = sub.add_parser(name)
        s.add_argument("--seed", type=int, default=1)
        s.add_argument("-n", type=int, default=1000)
        s.add_argument("--docs", type=int, default=3000, help="generated documents")
        s.add_argument("--out", required=True)
        s.add_argument("--variety", type=int, default=0, choices=(0, 1, 2),
                       help="1: the wider wording of stages 12-15; 2: also context sentences, "
                            "word problems for the solver, projectile wording (0 reproduces the "
                            "earlier seeds)")
        if name in ("dialogues", "tasks"):
            s.add_argument("--fit-ctx", type=int, default=0,
                           help="cut tool results that would overflow a context of this many "
                                "tokens, as the runtime does (0: keep them whole)")
            s.add_argument("--tokenizer", default=str(ROOT / "models" / "agentrt-tiny.gguf"),
                           help="the vocabulary --fit-ctx counts with")
        if name == "copy":
            s.add_argument("--names", type=float, default=0.25, help="share of made-up names")
    args = p.parse_args()
    global VARIETY
    VARIETY = args.variety
    if args.cmd == "tasks":
        pathlib.Path(args.out).mkdir(parents=True, exist_ok=True)
    {"dialogues": cmd_dialogues, "tasks": cmd_tasks, "golden": cmd_golden,
     "copy": cmd_copy}[args.cmd](args)


if __name__ == "__main__":
    main()
