// POST /v1/chat/completions: an OpenAI chat request becomes agent::Messages and tool specs,
// rendered by the model's dialect on the I/O thread; the engine thread extends the best-matching
// cached context, generates, and the dialect's parser turns the text into content or tool calls.
#include <algorithm>
#include <cctype>

#include "api_state.h"

namespace agentrt::server {
namespace {

using nlohmann::json;

enum class ToolChoice { automatic, none, required, named };

struct ChatRequest {
  std::vector<agent::Message> messages;
  std::vector<tools::ToolSpec> tools;  // offered to the model (none with tool_choice "none")
  ToolChoice choice = ToolChoice::automatic;
  std::string named;  // the function tool_choice names
  bool parallel = true;
  engine::SamplerParams sampling;
  int max_tokens = 256;
  std::vector<std::string> stop;  // the request's own stop strings
  bool stream = false;
  bool include_usage = false;
};

// What the I/O thread prepared for the engine thread.
struct ChatJob {
  ChatRequest request;
  std::string prompt;  // the rendered conversation, with the forced opening of a call if any
  std::size_t forced_chars = 0;  // that forced opening's length, at the end of prompt
  std::string call_opener;       // text that starts a call ("<tool_call>"); "" if unknown
  bool incremental = false;      // plain text is the answer as is: content can stream as it comes
  std::string model_id;
};

RequestError bad(const std::string& message, const std::string& param,
                 const std::string& code = "invalid_value") {
  return RequestError(400, message, "invalid_request_error", code, param);
}

std::string content_text(const json& content, const std::string& where, bool allow_null) {
  if (content.is_null()) {
    if (allow_null) return {};
    throw bad(where + ".content is required", where + ".content");
  }
  if (content.is_string()) return content.get<std::string>();
  if (!content.is_array())
    throw bad(where + ".content must be a string or an array of text parts", where + ".content",
              "invalid_type");
  std::string out;
  for (const auto& part : content) {
    if (!part.is_object() || part.value("type", json()) != "text" || !part.contains("text") ||
        !part["text"].is_string())
      throw bad(where + ".content: only {\"type\": \"text\", \"text\": ...} parts are supported",
                where + ".content");
    out += part["text"].get<std::string>();
  }
  return out;
}

// An assistant turn as the loop records it: with calls, the text before them is its thoughts.
agent::Message assistant_message(std::string content, std::vector<agent::ToolCall> calls) {
  if (calls.empty()) return agent::Message::answer(std::move(content));
  return agent::Message::calls(std::move(calls), std::move(content));
}

agent::ToolCall read_tool_call(const json& c, const std::string& where) {
  if (!c.is_object()) throw bad(where + " must be an object", where, "invalid_type");
  agent::ToolCall call;
  call.id = string_field(c, "id", "");
  if (call.id.empty()) throw bad(where + ".id is required", where + ".id");
  if (string_field(c, "type", "function") != "function")
    throw bad(where + ".type must be \"function\"", where + ".type");
  const json* f = field(c, "function");
  if (!f || !f->is_object()) throw bad(where + ".function is required", where + ".function");
  call.name = string_field(*f, "name", "");
  if (call.name.empty()) throw bad(where + ".function.name is required", where + ".function.name");
  const json* args = field(*f, "arguments");
  call.arguments = json::object();
  if (args && args->is_string()) {
    call.arguments = json::parse(args->get<std::string>(), nullptr, false);
  } else if (args) {
    call.arguments = *args;
  }
  if (!call.arguments.is_object())
    throw bad(where + ".function.arguments must be a JSON object (or its text)",
              where + ".function.arguments");
  return call;
}

std::vector<agent::Message> read_messages(const json& body, const RawTurns& raw_turns) {
  const json* list = field(body, "messages");
  if (!list) throw bad("'messages' is required", "messages", "missing_required_parameter");
  if (!list->is_array() || list->empty())
    throw bad("'messages' must be a non-empty array", "messages");
  std::vector<agent::Message> out;
  std::vector<agent::ToolCall> calls_so_far;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const json& m = (*list)[i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) throw bad(where + " must be an object", where, "invalid_type");
    const json* role_value = field(m, "role");
    if (!role_value || !role_value->is_string())
      throw bad(where + ".role is required", where + ".role");
    std::string role = role_value->get<std::string>();
    if (role == "developer") role = "system";
    const auto r = agent::role_from_name(role);
    if (!r) throw bad(where + ".role: unknown role '" + role + "'", where + ".role");
    const json content = m.contains("content") ? m["content"] : json();
    switch (*r) {
      case agent::Role::system:
        out.push_back(agent::Message::system(content_text(content, where, false)));
        break;
      case agent::Role::user:
        out.push_back(agent::Message::user(content_text(content, where, false)));
        break;
      case agent::Role::assistant: {
        std::vector<agent::ToolCall> calls;
        if (const json* tc = field(m, "tool_calls")) {
          if (!tc->is_array())
            throw bad(where + ".tool_calls must be an array", where + ".tool_calls");
          for (std::size_t k = 0; k < tc->size(); ++k)
            calls.push_back(
                read_tool_call((*tc)[k], where + ".tool_calls[" + std::to_string(k) + "]"));
        }
        const bool may_be_null = !calls.empty();
        agent::Message a = assistant_message(content_text(content, where, may_be_null), calls);
        a.raw = raw_turns.find(a);
        for (auto& c : calls) calls_so_far.push_back(std::move(c));
        out.push_back(std::move(a));
        break;
      }
      case agent::Role::tool: {
        const std::string id = string_field(m, "tool_call_id", "");
        if (id.empty()) throw bad(where + ".tool_call_id is required", where + ".tool_call_id");
        auto call = std::find_if(calls_so_far.begin(), calls_so_far.end(),
                                 [&](const agent::ToolCall& c) { return c.id == id; });
        if (call == calls_so_far.end())
          throw bad(where + ".tool_call_id '" + id + "' answers no earlier assistant tool call",
                    where + ".tool_call_id");
        out.push_back(
            agent::Message::tool_result(call->name, id, content_text(content, where, false)));
        break;
      }
    }
  }
  return out;
}

bool valid_function_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

std::vector<tools::ToolSpec> read_tools(const json& body) {
  std::vector<tools::ToolSpec> out;
  const json* list = field(body, "tools");
  if (!list) return out;
  if (!list->is_array()) throw bad("'tools' must be an array", "tools", "invalid_type");
  for (std::size_t i = 0; i < list->size(); ++i) {
    const json& t = (*list)[i];
    const std::string where = "tools[" + std::to_string(i) + "]";
    if (!t.is_object() || string_field(t, "type", "") != "function")
      throw bad(where + " must be {\"type\": \"function\", \"function\": {...}}", where);
    const json* f = field(t, "function");
    if (!f || !f->is_object()) throw bad(where + ".function is required", where + ".function");
    tools::ToolSpec spec;
    spec.name = string_field(*f, "name", "");
    if (!valid_function_name(spec.name))
      throw bad(where + ".function.name must be 1-64 letters, digits, '_' or '-'",
                where + ".function.name");
    spec.description = string_field(*f, "description", "");
    if (const json* p = field(*f, "parameters")) {
      if (!p->is_object() || (p->contains("type") && (*p)["type"] != "object"))
        throw bad(where + ".function.parameters must be a JSON Schema of type object",
                  where + ".function.parameters");
      spec.parameters = *p;
    }
    for (const auto& other : out)
      if (other.name == spec.name)
        throw bad(where + ": the function name '" + spec.name + "' is given twice", where);
    out.push_back(std::move(spec));
  }
  return out;
}

void read_tool_choice(const json& body, ChatRequest& r) {
  const json* c = field(body, "tool_choice");
  if (c && c->is_string()) {
    const std::string s = c->get<std::string>();
    if (s == "auto")
      r.choice = ToolChoice::automatic;
    else if (s == "none")
      r.choice = ToolChoice::none;
    else if (s == "required")
      r.choice = ToolChoice::required;
    else
      throw bad("'tool_choice' must be auto, none, required or a named function", "tool_choice");
  } else if (c) {
    const json* f = c->is_object() ? field(*c, "function") : nullptr;
    if (!f || !f->is_object() || !(*f).contains("name") || !(*f)["name"].is_string())
      throw bad("'tool_choice' must be {\"type\": \"function\", \"function\": {\"name\": ...}}",
                "tool_choice");
    r.choice = ToolChoice::named;
    r.named = (*f)["name"].get<std::string>();
    const bool offered = std::any_of(r.tools.begin(), r.tools.end(),
                                     [&](const tools::ToolSpec& t) { return t.name == r.named; });
    if (!offered)
      throw bad("'tool_choice' names '" + r.named + "', which is not in 'tools'", "tool_choice");
  }
  if ((r.choice == ToolChoice::required || r.choice == ToolChoice::named) && r.tools.empty())
    throw bad("'tool_choice' requires 'tools'", "tool_choice");
}

ChatRequest read_request(const json& body, const Api::State& st) {
  ChatRequest r;
  const std::string model = string_field(body, "model", "");
  if (!model.empty() && model != st.provider->model_id())
    throw RequestError(404,
                       "the model '" + model + "' does not exist; this server has '" +
                           st.provider->model_id() + "'",
                       "invalid_request_error", "model_not_found", "model");
  r.messages = read_messages(body, st.raw_turns);
  r.tools = read_tools(body);
  read_tool_choice(body, r);
  r.parallel = bool_field(body, "parallel_tool_calls", true);
  r.sampling = sampling_fields(body, st.options.sampling);
  r.sampling.presence_penalty = static_cast<float>(
      number_field(body, "presence_penalty", r.sampling.presence_penalty, -2, 2));
  r.sampling.frequency_penalty = static_cast<float>(
      number_field(body, "frequency_penalty", r.sampling.frequency_penalty, -2, 2));
  int64_t max_tokens =
      int_field(body, "max_completion_tokens", st.options.default_max_tokens, 1, 1 << 20);
  r.max_tokens = static_cast<int>(int_field(body, "max_tokens", max_tokens, 1, 1 << 20));
  if (int_field(body, "n", 1, 1, 1) != 1) throw bad("only n = 1 is supported", "n");
  if (const json* s = field(body, "stop")) {
    if (s->is_string()) {
      r.stop.push_back(s->get<std::string>());
    } else if (s->is_array() && s->size() <= 4) {
      for (const auto& x : *s) {
        if (!x.is_string()) throw bad("'stop' must be a string or up to 4 strings", "stop");
        r.stop.push_back(x.get<std::string>());
      }
    } else {
      throw bad("'stop' must be a string or up to 4 strings", "stop");
    }
    if (std::any_of(r.stop.begin(), r.stop.end(), [](const std::string& x) { return x.empty(); }))
      throw bad("'stop' strings must not be empty", "stop");
  }
  r.stream = bool_field(body, "stream", false);
  if (const json* so = field(body, "stream_options")) {
    if (!so->is_object())
      throw bad("'stream_options' must be an object", "stream_options", "invalid_type");
    r.include_usage = bool_field(*so, "include_usage", false);
  }
  if (r.choice == ToolChoice::none) r.tools.clear();
  return r;
}

// The text that opens an assistant turn calling a tool, taken from the dialect's own rendering of
// such a turn: up to the tool's name (NAME null) or up to the arguments of a call of NAME.
std::optional<std::string> call_opening(const agent::Dialect& dialect, const ChatRequest& r,
                                        agent::ToolPrompt tool_prompt, const std::string& prompt,
                                        const std::string* name) {
  static constexpr std::string_view kName = "zzagentrtcallname";
  static constexpr std::string_view kArg = "\"zzagentrtcallarg\"";
  std::vector<agent::Message> messages = r.messages;
  messages.push_back(agent::Message::calls(
      {{"call_0", name ? *name : std::string(kName), {{"zzagentrtcallarg", 1}}}}));
  std::string text;
  try {
    text = dialect.render(messages, r.tools,
                          {.add_generation_prompt = false, .tool_prompt = tool_prompt});
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (!text.starts_with(prompt)) return std::nullopt;
  std::size_t at = text.find(name ? kArg : kName, prompt.size());
  if (at == std::string::npos) return std::nullopt;
  if (name) {
    at = text.rfind('{', at);
    if (at == std::string::npos || at < prompt.size()) return std::nullopt;
  }
  return text.substr(prompt.size(), at - prompt.size());
}

ChatJob prepare(const ChatRequest& request, const Api::State& st) {
  const agent::Dialect& dialect = st.provider->dialect();
  const agent::ToolPrompt tool_prompt = st.provider->tool_prompt();
  ChatJob job;
  job.request = request;
  job.model_id = st.provider->model_id();
  try {
    job.prompt = dialect.render(request.messages, request.tools,
                                {.add_generation_prompt = true, .tool_prompt = tool_prompt});
  } catch (const std::exception& e) {
    throw RequestError(400,
                       "the model's dialect (" + std::string(dialect.name()) +
                           ") cannot write this conversation: " + e.what(),
                       "invalid_request_error", "unsupported_conversation", "messages");
  }
  const auto parsed_plain = dialect.parse("agentrt plain text", nullptr);
  job.incremental = parsed_plain.is_answer() && *parsed_plain.answer == "agentrt plain text";
  if (request.tools.empty()) return job;
  if (auto opening = call_opening(dialect, request, tool_prompt, job.prompt, nullptr)) {
    std::string_view o = *opening;
    while (!o.empty() && std::isspace(static_cast<unsigned char>(o.front()))) o.remove_prefix(1);
    const std::size_t end = o.find_first_of(" \t\n{");
    job.call_opener = std::string(o.substr(0, end));
    if (request.choice == ToolChoice::required) {
      job.forced_chars = opening->size();
      job.prompt += *opening;
    }
  }
  if (request.choice == ToolChoice::named) {
    if (auto opening = call_opening(dialect, request, tool_prompt, job.prompt, &request.named)) {
      job.forced_chars = opening->size();
      job.prompt += *opening;
    }
  }
  if (job.call_opener.empty()) job.incremental = false;
  return job;
}

// Streams plain text as content while holding back anything that may open a tool call.
class ContentFilter {
 public:
  ContentFilter(std::string opener, bool enabled) : opener_(std::move(opener)), enabled_(enabled) {}
  // The text that can be shown as content now.
  std::string feed(std::string_view text) {
    raw_ += text;
    if (!enabled_ || call_seen_) return {};
    if (!started_) {
      while (emitted_ < raw_.size() && std::isspace(static_cast<unsigned char>(raw_[emitted_])))
        ++emitted_;
      if (emitted_ == raw_.size()) return {};
      started_ = true;
    }
    std::size_t end = raw_.size();
    if (opener_.empty()) {
      // nothing to hold back: no call can start
    } else if (const std::size_t at = raw_.find(opener_, emitted_); at != std::string::npos) {
      call_seen_ = true;
      end = at;
    } else {
      for (std::size_t k = std::min(opener_.size() - 1, raw_.size() - emitted_); k > 0; --k) {
        if (std::string_view(raw_).ends_with(std::string_view(opener_).substr(0, k))) {
          end -= k;
          break;
        }
      }
    }
    std::string out = raw_.substr(emitted_, end - emitted_);
    emitted_ = end;
    if (call_seen_)
      while (!out.empty() && std::isspace(static_cast<unsigned char>(out.back()))) out.pop_back();
    return out;
  }
  // What of ANSWER has not been shown yet (all of it when what was shown is not its prefix).
  std::string rest_of(const std::string& answer) const {
    const std::string_view shown = std::string_view(raw_).substr(0, emitted_);
    std::string_view s = shown;
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    if (answer.starts_with(s)) return answer.substr(s.size());
    return s.empty() ? answer : std::string();
  }

 private:
  std::string opener_;
  bool enabled_;
  std::string raw_;
  std::size_t emitted_ = 0;
  bool started_ = false;
  bool call_seen_ = false;
};

// What identifies a completion's chunks.
struct ChunkHead {
  std::string id;  // "chatcmpl-..."
  int64_t created = 0;
  std::string model;
};

// What a completion came to, as native values: the engine thread fills it, the I/O thread
// writes its JSON.
struct Completion {
  std::shared_ptr<const ChunkHead> head;
  std::string content;
  std::vector<agent::ToolCall> calls;
  std::vector<std::pair<std::string, std::string>> invalid;  // (error, the call's text)
  std::string finish;
  int64_t prompt_tokens = 0, completion_tokens = 0, cached_tokens = 0;
};

json call_json(const agent::ToolCall& c) {
  return {{"id", c.id},
          {"type", "function"},
          {"function", {{"name", c.name}, {"arguments", dump(c.arguments)}}}};
}

json chunk(const ChunkHead& h, json delta, const json& finish_reason = nullptr) {
  return {{"id", h.id},
          {"object", "chat.completion.chunk"},
          {"created", h.created},
          {"model", h.model},
          {"choices", json::array({{{"index", 0},
                                    {"delta", std::move(delta)},
                                    {"logprobs", nullptr},
                                    {"finish_reason", finish_reason}}})}};
}

json usage_json(const Completion& c) {
  return {{"prompt_tokens", c.prompt_tokens},
          {"completion_tokens", c.completion_tokens},
          {"total_tokens", c.prompt_tokens + c.completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", c.cached_tokens}}}};
}

std::string completion_json(const Completion& c) {
  json message = {
      {"role", "assistant"},
      {"content", c.content.empty() && !c.calls.empty() ? json(nullptr) : json(c.content)}};
  if (!c.calls.empty()) {
    message["tool_calls"] = json::array();
    for (const auto& call : c.calls) message["tool_calls"].push_back(call_json(call));
  }
  if (!c.invalid.empty()) {
    json invalid = json::array();
    for (const auto& [error, text] : c.invalid)
      invalid.push_back({{"error", error}, {"text", text}});
    message["agentrt_invalid_tool_calls"] = invalid;
  }
  return dump({{"id", c.head->id},
               {"object", "chat.completion"},
               {"created", c.head->created},
               {"model", c.head->model},
               {"choices", json::array({{{"index", 0},
                                         {"message", message},
                                         {"logprobs", nullptr},
                                         {"finish_reason", c.finish}}})},
               {"usage", usage_json(c)}});
}

// The events after generation: the rest of the content, the calls (one delta with id and name,
// one with the arguments), the finish reason, the usage, [DONE].
std::string stream_tail(const Completion& c, const std::string& rest, bool include_usage) {
  const ChunkHead& h = *c.head;
  std::string out;
  if (!rest.empty()) out += sse(chunk(h, {{"content", rest}}));
  for (std::size_t i = 0; i < c.calls.size(); ++i) {
    const auto& call = c.calls[i];
    out += sse(chunk(
        h,
        {{"tool_calls", json::array({{{"index", i},
                                      {"id", call.id},
                                      {"type", "function"},
                                      {"function", {{"name", call.name}, {"arguments", ""}}}}})}}));
    out += sse(chunk(
        h, {{"tool_calls",
             json::array({{{"index", i}, {"function", {{"arguments", dump(call.arguments)}}}}})}}));
  }
  out += sse(chunk(h, json::object(), c.finish));
  if (include_usage) {
    json last = chunk(h, json::object());
    last["choices"] = json::array();
    last["usage"] = usage_json(c);
    out += sse(last);
  }
  return out + "data: [DONE]\n\n";
}

// The engine-thread half: extend the best cached context, generate, parse, answer. JSON is
// written by closures that run on the I/O thread.
void run_chat(Api::State& st, const ChatJob& job, Pending& pending) {
  const ChatRequest& r = job.request;
  ContextSlot& slot = st.slot_for(job.prompt);
  agent::ModelContext& ctx = slot.context();
  const int64_t cached = ctx.n_tokens();
  const agent::AppendOutcome appended =
      ctx.append(std::string_view(job.prompt).substr(ctx.context().size()));
  if (!appended.ok) {
    pending.respond(error_response(400,
                                   "the conversation needs " +
                                       std::to_string(cached + appended.n_tokens) +
                                       " tokens; the context holds " + std::to_string(ctx.n_ctx()),
                                   "invalid_request_error", "context_length_exceeded", "messages"));
    return;
  }
  Completion done;
  done.cached_tokens = cached;
  done.prompt_tokens = ctx.n_tokens();
  slot.set_sampling(r.sampling);
  std::vector<std::string> stop = st.provider->dialect().stop_sequences();
  stop.insert(stop.end(), r.stop.begin(), r.stop.end());

  done.head = std::make_shared<const ChunkHead>(
      ChunkHead{"chatcmpl-" + random_hex(24), unix_time(), job.model_id});
  const auto head = done.head;
  ContentFilter filter(job.call_opener, r.stream && job.incremental && job.forced_chars == 0);
  if (r.stream) {
    pending.open_stream();
    pending.write([head] { return sse(chunk(*head, {{"role", "assistant"}, {"content", ""}})); });
  }
  const agent::GenerationOutcome out = ctx.generate(r.max_tokens, stop, [&](std::string_view text) {
    if (r.stream) {
      std::string content = filter.feed(text);
      if (!content.empty())
        pending.write([head, content] { return sse(chunk(*head, {{"content", content}})); });
    }
    return !pending.cancelled();
  });
  done.completion_tokens = out.n_tokens;
  st.metrics.add_tokens(appended.n_tokens, out.n_tokens, cached);
  st.metrics.observe_step((appended.ms + out.ms) / 1000.0);

  // The model's whole turn: the forced opening of a call, then what it generated.
  const std::string turn_text = job.prompt.substr(job.prompt.size() - job.forced_chars) + out.text;
  const bool cut =
      out.end == agent::GenerationEnd::max_tokens || out.end == agent::GenerationEnd::context_full;
  const agent::ParsedTurn turn =
      st.provider->dialect().parse(turn_text, nullptr, {.hit_token_limit = cut});
  for (const auto& c : turn.calls) {
    const bool offered = std::any_of(r.tools.begin(), r.tools.end(), [&](const tools::ToolSpec& t) {
      return t.name == c.call.name;
    });
    if (!c.valid() || !offered) {
      done.invalid.emplace_back(
          c.valid() ? "the model called '" + c.call.name + "', which the request does not offer"
                    : c.error,
          c.source);
      continue;
    }
    if (!r.parallel && !done.calls.empty()) continue;
    done.calls.push_back(c.call);
    done.calls.back().id = "call_" + random_hex(24);
  }
  if (r.tools.empty() && !turn.is_answer()) {
    done.content = turn_text;  // no tools offered: whatever the model wrote is its answer
  } else {
    done.content = turn.is_answer() && done.calls.empty() ? *turn.answer : turn.thoughts;
  }
  st.raw_turns.remember(assistant_message(done.content, done.calls), turn_text);
  done.finish = !done.calls.empty() ? "tool_calls" : cut ? "length" : "stop";

  auto result = std::make_shared<const Completion>(std::move(done));
  if (!r.stream) {
    pending.respond([result] {
      HttpResponse response;
      response.body = completion_json(*result);
      return response;
    });
    return;
  }
  const std::string rest = result->calls.empty() ? filter.rest_of(result->content) : std::string();
  pending.write(
      [result, rest, usage = r.include_usage] { return stream_tail(*result, rest, usage); });
  pending.close();
}

}  // namespace

HttpResponse handle_chat_completions(Api::State& st, const json& body) {
  auto job = std::make_shared<ChatJob>(prepare(read_request(body, st), st));
  return st.defer_model_work([&st, job](Pending& pending) { run_chat(st, *job, pending); });
}

}  // namespace agentrt::server
