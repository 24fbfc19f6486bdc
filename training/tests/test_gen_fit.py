#!/usr/bin/env python3
"""gen.py's Fit cuts new tool results as the runtime's fit_results (agent/agent.cpp) does: the
most lines that leave the reply reserve free, then a note; results that fit stay whole; and a
dialogue whose answer quotes a cut line is drawn again. Counts a token per byte (no tokenizer),
as tests/agent/test_loop.cpp's FitTest does."""

import sys
import types
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "training"))
import gen  # noqa: E402

LINES = "".join("line %02d of the result\n" % i for i in range(40))  # 40 lines of 22 bytes


def byte_fit(n_ctx, reserve=64):
    fit = object.__new__(gen.Fit)
    fit.tok = types.SimpleNamespace(encode=lambda sp, text: list(text.encode()))
    fit.sp, fit.n_ctx, fit.reserve = None, n_ctx, reserve
    return fit


ENV = gen.Env(types.SimpleNamespace(specs={}), None, None)


def dialogue(result=LINES):
    d = gen.Dialogue("test", "What is 2+2?", [])
    d.messages.append({"role": "assistant", "content": "",
                       "tool_calls": [{"id": "call_1", "name": "calculator",
                                       "arguments": {"expression": "2+2"}}]})
    d.messages.append({"role": "tool", "name": "calculator", "tool_call_id": "call_1",
                       "content": result})
    return d


class Fit(unittest.TestCase):
    def setUp(self):
        self.whole = byte_fit(1 << 20).tokens(ENV, dialogue())

    def test_keeps_the_most_lines_that_leave_the_reserve(self):
        n_ctx = self.whole + 64 - 200
        fit, d = byte_fit(n_ctx), dialogue()
        self.assertTrue(fit.cut(ENV, d, 1))
        text = d.messages[-1]["content"]
        kept = text.index("[") // 22
        self.assertGreater(kept, 0)
        self.assertEqual(text, LINES[:kept * 22] + "[%d more lines cut to fit the context]"
                         % (40 - kept))
        self.assertLessEqual(fit.tokens(ENV, d) + 64, n_ctx)
        self.assertGreater(fit.tokens(ENV, d) + 64 + 22, n_ctx)

    def test_results_that_fit_stay_whole(self):
        d = dialogue()
        self.assertFalse(byte_fit(self.whole + 64).cut(ENV, d, 1))
        self.assertEqual(d.messages[-1]["content"], LINES)

    def test_when_even_the_note_does_not_fit_the_result_stays_whole(self):
        d = dialogue()
        self.assertFalse(byte_fit(self.whole - len(LINES) + 40).cut(ENV, d, 1))
        self.assertEqual(d.messages[-1]["content"], LINES)

    def test_one_line_cut_is_singular(self):
        d = dialogue(LINES + "x" * 100)  # a long last line, without a newline
        whole = byte_fit(1 << 20).tokens(ENV, d)
        self.assertTrue(byte_fit(whole + 64 - 10).cut(ENV, d, 1))
        self.assertEqual(d.messages[-1]["content"], LINES + "[1 more line cut to fit the context]")

    def test_an_answer_quoting_a_cut_line_is_drawn_again(self):
        d = dialogue()
        byte_fit(self.whole + 64 - 200).cut(ENV, d, 1)
        d.cut = True
        d.answer("It is line 01.")  # still in the result
        with self.assertRaises(gen.Skip):
            d.answer("It is line 39.")


if __name__ == "__main__":
    unittest.main()
