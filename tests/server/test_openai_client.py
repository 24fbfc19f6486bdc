#!/usr/bin/env python3
"""The real `openai` Python client against agentrt's server: models, chat, tool calls (a full
round trip with a tool result), streaming of content and of tool calls, and errors.

Runs a server over the scripted test model (--server, tests/server/serve_scripted.cpp), then,
with --agentrt and --random-model, `agentrt serve` on a random-weight model (the real engine and
command; the model writes gibberish, so only the protocol is checked). Both must stop cleanly on
SIGTERM. When `openai` is not importable it is installed from PyPI into a folder next to this
script's build output (--deps, default $TMPDIR) for this run; exits 77 (ctest: skipped) only when
that fails too (no network, no pip)."""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile


def import_openai():
    """The openai module: installed, or pip-installed into a private folder for this test."""
    try:
        import openai
        return openai
    except ImportError:
        pass
    deps = os.environ.get("AGENTRT_TEST_PYDEPS") or os.path.join(tempfile.gettempdir(),
                                                                   "agentrt-test-pydeps")
    if not os.path.isdir(os.path.join(deps, "openai")):
        result = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet",
                                 "--disable-pip-version-check", "--target", deps, "openai"],
                                capture_output=True, text=True, timeout=240)
        if result.returncode != 0:
            print("skipped: the `openai` package is not installed and pip could not install it:\n"
                  + result.stderr[-800:])
            sys.exit(77)
    sys.path.insert(0, deps)
    try:
        import openai
        return openai
    except ImportError as e:
        print("skipped: `openai` installed into %s but does not import: %s" % (deps, e))
        sys.exit(77)


openai = import_openai()

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                       "required": ["city"]},
    },
}


def check(condition, what):
    if not condition:
        raise AssertionError(what)
    print("ok:", what)


def run(client):
    models = client.models.list()
    check([m.id for m in models.data] == ["scripted"], "models.list names the served model")

    r = client.chat.completions.create(model="scripted",
                                       messages=[{"role": "user", "content": "Hi"}])
    check(r.choices[0].message.content == "Hello! I am agentrt, a scripted model.", "chat content")
    check(r.choices[0].finish_reason == "stop", "finish_reason stop")
    check(r.usage.prompt_tokens > 0 and r.usage.completion_tokens == 38, "usage")

    messages = [{"role": "user", "content": "What is the weather in Paris?"}]
    r = client.chat.completions.create(model="scripted", messages=messages, tools=[WEATHER],
                                       tool_choice="auto", temperature=0.7, top_p=0.9, seed=1,
                                       max_tokens=100, stop=["\n\n\n"])
    msg = r.choices[0].message
    check(r.choices[0].finish_reason == "tool_calls", "finish_reason tool_calls")
    check(msg.content is None, "no call as content")
    check(len(msg.tool_calls) == 1 and msg.tool_calls[0].id.startswith("call_"), "call with an id")
    call = msg.tool_calls[0]
    check(call.function.name == "get_weather"
          and json.loads(call.function.arguments) == {"city": "Paris"}, "call name and arguments")

    messages.append(msg.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": call.id, "content": "sunny"})
    r2 = client.chat.completions.create(model="scripted", messages=messages, tools=[WEATHER])
    check(r2.choices[0].message.content == "The answer is sunny.", "answer from the tool result")
    cached = r2.usage.prompt_tokens_details.cached_tokens
    check(cached == r.usage.prompt_tokens + r.usage.completion_tokens,
          f"follow-up reused the cached conversation ({cached} tokens)")

    r = client.chat.completions.create(
        model="scripted", messages=[{"role": "user", "content": "Hi"}], tools=[WEATHER],
        tool_choice={"type": "function", "function": {"name": "get_weather"}})
    check(r.choices[0].message.tool_calls[0].function.name == "get_weather", "named tool_choice")

    stream = client.chat.completions.create(model="scripted", stream=True,
                                            messages=[{"role": "user", "content": "Hi"}],
                                            stream_options={"include_usage": True})
    parts, usage = [], None
    for chunk in stream:
        if chunk.usage:
            usage = chunk.usage
        if chunk.choices and chunk.choices[0].delta.content:
            parts.append(chunk.choices[0].delta.content)
    check("".join(parts) == "Hello! I am agentrt, a scripted model." and len(parts) > 3,
          "streamed content deltas")
    check(usage is not None and usage.completion_tokens == 38, "streamed usage")

    stream = client.chat.completions.create(
        model="scripted", stream=True, tools=[WEATHER],
        messages=[{"role": "user", "content": "What is the weather in two cities?"}])
    calls, content, finish = {}, "", None
    for chunk in stream:
        choice = chunk.choices[0]
        finish = choice.finish_reason or finish
        content += choice.delta.content or ""
        for tc in choice.delta.tool_calls or []:
            entry = calls.setdefault(tc.index, {"id": None, "name": "", "arguments": ""})
            entry["id"] = tc.id or entry["id"]
            entry["name"] += tc.function.name or ""
            entry["arguments"] += tc.function.arguments or ""
    check("<tool_call>" not in content, "streamed calls never appear as content")
    check([json.loads(c["arguments"])["city"] for _, c in sorted(calls.items())] == ["Paris", "Rome"],
          "streamed tool-call deltas")
    check(finish == "tool_calls", "streamed finish_reason tool_calls")

    try:
        client.chat.completions.create(model="scripted", messages=[{"role": "robot", "content": "x"}])
        check(False, "an unknown role is refused")
    except openai.BadRequestError as e:
        check(e.status_code == 400 and "robot" in str(e), "an unknown role is a 400")
    try:
        client.chat.completions.create(model="gpt-9", messages=[{"role": "user", "content": "x"}])
        check(False, "an unknown model is refused")
    except openai.NotFoundError:
        check(True, "an unknown model is a 404")


def run_engine(client, model_id):
    r = client.chat.completions.create(model=model_id, max_tokens=8, seed=1,
                                       messages=[{"role": "user", "content": "Hello"}])
    check(r.choices[0].finish_reason in ("stop", "length")
          and isinstance(r.choices[0].message.content, str), "engine: chat")
    messages = [{"role": "user", "content": "Hello"}, r.choices[0].message.model_dump(exclude_none=True),
                {"role": "user", "content": "More"}]
    r2 = client.chat.completions.create(model=model_id, max_tokens=8, messages=messages)
    check(r2.usage.prompt_tokens_details.cached_tokens >= r.usage.prompt_tokens - 1,
          f"engine: follow-up reused {r2.usage.prompt_tokens_details.cached_tokens} cached tokens")
    chunks = list(client.chat.completions.create(
        model=model_id, max_tokens=8, stream=True, tools=[WEATHER],
        messages=[{"role": "user", "content": "Weather?"}]))
    check(chunks[-1].choices[0].finish_reason in ("stop", "length", "tool_calls"),
          "engine: streamed chat with tools")


class Server:
    """A server process that prints its port, stopped with SIGTERM (it must exit 0)."""

    def __init__(self, argv, pattern):
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        text=True)
        seen = ""
        for _ in range(20):
            line = self.process.stdout.readline()
            seen += line
            match = re.search(pattern, line)
            if match or not line:
                break
        if not match:
            self.process.kill()
            raise RuntimeError(f"the server did not start: {seen}")
        self.port = match.group(1)

    def client(self):
        return openai.OpenAI(base_url=f"http://127.0.0.1:{self.port}/v1", api_key="unused",
                             max_retries=0, timeout=30)

    def stop(self):
        self.process.terminate()
        code = self.process.wait(timeout=20)
        check(code == 0, f"{os.path.basename(self.process.args[0])} stopped cleanly on SIGTERM")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True, help="the agentrt_serve_scripted binary")
    parser.add_argument("--agentrt", help="the agentrt command")
    parser.add_argument("--random-model", help="the agentrt-random-model command")
    args = parser.parse_args()
    server = Server([args.server], r"PORT (\d+)")
    try:
        run(server.client())
    finally:
        server.stop()
    if args.agentrt and args.random_model:
        with tempfile.TemporaryDirectory() as tmp:
            model = os.path.join(tmp, "random.gguf")
            subprocess.run([args.random_model, model, "--preset", "tiny"], check=True)
            server = Server([args.agentrt, "serve", "-m", model, "--port", "0", "-c", "1024",
                             "-t", "1", "--set", f"trace.database={tmp}/traces.db"],
                            r"http://127\.0\.0\.1:(\d+)")
            try:
                run_engine(server.client(), "random")
            finally:
                server.stop()
    print("all openai client checks passed")


if __name__ == "__main__":
    main()
