#!/usr/bin/env python3
"""The real `openai` Python client against agentrt's server: models, chat, tool calls (a full
round trip with a tool result), streaming of content and of tool calls, and errors.

Runs a server over the scripted test model (--server, tests/server/serve_scripted.cpp). Exits 77
(ctest: skipped) when the `openai` package cannot be imported."""
import argparse
import json
import subprocess
import sys

try:
    import openai
except ImportError:
    print("skipped: the `openai` package is not installed (pip install openai)")
    sys.exit(77)

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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True, help="the agentrt_serve_scripted binary")
    args = parser.parse_args()
    server = subprocess.Popen([args.server], stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline().split()
        if len(line) != 2 or line[0] != "PORT":
            raise RuntimeError(f"the server did not start: {line}")
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{line[1]}/v1", api_key="unused",
                               max_retries=0, timeout=20)
        run(client)
    finally:
        server.terminate()
        server.wait(timeout=10)
    print("all openai client checks passed")


if __name__ == "__main__":
    main()
