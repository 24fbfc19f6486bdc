// Api: routing, authentication, errors, and the small endpoints (health, models, tools,
// metrics). Chat completions are in chat.cpp, agent runs in agent_runs.cpp.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>

#include "agentrt/tools/schema.h"
#include "api_state.h"

namespace agentrt::server {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// Compares without returning early, so the time taken does not reveal a key's prefix.
bool same_secret(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= a[i] ^ b[i % (b.empty() ? 1 : b.size())];
  return diff == 0 && !b.empty();
}

HttpResponse json_response(int status, const json& body) {
  HttpResponse r;
  r.status = status;
  r.body = dump(body);
  return r;
}

// A route: its label for metrics, and what matched of the path.
struct Route {
  std::string label;                 // "/v1/tools/{name}/invoke"
  std::string param;                 // {name} or {id}
  std::vector<std::string> methods;  // allowed
};

std::optional<Route> match(std::string_view path) {
  auto starts = [&](std::string_view p) { return path.starts_with(p); };
  if (path == "/health") return Route{"/health", "", {"GET"}};
  if (path == "/metrics") return Route{"/metrics", "", {"GET"}};
  if (path == "/v1/models") return Route{"/v1/models", "", {"GET"}};
  if (path == "/v1/tools") return Route{"/v1/tools", "", {"GET"}};
  if (path == "/v1/chat/completions") return Route{"/v1/chat/completions", "", {"POST"}};
  if (path == "/v1/agent/runs") return Route{"/v1/agent/runs", "", {"POST"}};
  if (starts("/v1/agent/runs/")) {
    std::string_view id = path.substr(std::string_view("/v1/agent/runs/").size());
    if (!id.empty() && id.find('/') == std::string_view::npos)
      return Route{"/v1/agent/runs/{id}", std::string(id), {"GET"}};
  }
  if (starts("/v1/tools/") && path.ends_with("/invoke")) {
    const std::size_t begin = std::string_view("/v1/tools/").size();
    const std::size_t end = path.size() - std::string_view("/invoke").size();
    if (end > begin) {
      std::string_view name = path.substr(begin, end - begin);
      if (name.find('/') == std::string_view::npos)
        return Route{"/v1/tools/{name}/invoke", std::string(name), {"POST"}};
    }
  }
  return std::nullopt;
}

json tool_json(const tools::ToolSpec& spec) {
  return {
      {"type", "function"},
      {"function",
       {{"name", spec.name}, {"description", spec.description}, {"parameters", spec.parameters}}}};
}

HttpResponse invoke_tool(Api::State& st, const std::string& name, const json& body) {
  const tools::Tool* tool = st.registry.find(name);
  if (!tool)
    throw RequestError(404, "no tool called '" + name + "'", "invalid_request_error",
                       "tool_not_found");
  if (!body.is_object())
    throw RequestError(400, "the body must be a JSON object {\"arguments\": {...}}");
  json arguments = json::object();
  if (const json* a = field(body, "arguments")) {
    if (!a->is_object())
      throw RequestError(400, "'arguments' must be an object", "invalid_request_error", "",
                         "arguments");
    arguments = *a;
  }
  const auto deadline = std::chrono::milliseconds(
      int_field(body, "deadline_ms", st.dispatcher.options().deadline.count(), 1, 600000));
  const auto errors = tools::validate(tool->spec().parameters, arguments);
  if (!errors.empty())
    throw RequestError(400, "invalid arguments for " + name + ": " + tools::join_errors(errors),
                       "invalid_request_error", "invalid_arguments", "arguments");
  auto pending = std::make_shared<Pending>();
  st.submit_tool_work([&st, pending, name, arguments, deadline] {
    const auto start = Clock::now();
    tools::ToolResult result = st.dispatcher.call(name, arguments, {.deadline = deadline});
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    st.metrics.observe_tool(seconds);
    pending->respond([result = std::move(result), name, seconds] {
      json out = result;
      out["tool"] = name;
      out["ms"] = seconds * 1000.0;
      return json_response(200, out);
    });
  });
  HttpResponse r;
  r.pending = std::move(pending);
  return r;
}

}  // namespace

// ---- helpers shared by the handlers ----------------------------------------------------------

std::string dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string sse(const json& value) {
  return "data: " + dump(value) + "\n\n";
}

std::string random_hex(std::size_t n) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(n, '0');
  for (auto& c : out) c = kHex[rng() % 16];
  return out;
}

int64_t unix_time() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const json* field(const json& body, const char* key) {
  auto it = body.find(key);
  return it == body.end() || it->is_null() ? nullptr : &*it;
}

std::string string_field(const json& body, const char* key, std::string fallback) {
  const json* v = field(body, key);
  if (!v) return fallback;
  if (!v->is_string())
    throw RequestError(400, std::string("'") + key + "' must be a string", "invalid_request_error",
                       "invalid_type", key);
  return v->get<std::string>();
}

bool bool_field(const json& body, const char* key, bool fallback) {
  const json* v = field(body, key);
  if (!v) return fallback;
  if (!v->is_boolean())
    throw RequestError(400, std::string("'") + key + "' must be a boolean", "invalid_request_error",
                       "invalid_type", key);
  return v->get<bool>();
}

int64_t int_field(const json& body, const char* key, int64_t fallback, int64_t min, int64_t max) {
  const json* v = field(body, key);
  if (!v) return fallback;
  if (!v->is_number_integer())
    throw RequestError(400, std::string("'") + key + "' must be an integer",
                       "invalid_request_error", "invalid_type", key);
  const auto x =
      v->is_number_unsigned()
          ? static_cast<int64_t>(std::min<uint64_t>(v->get<uint64_t>(), uint64_t(INT64_MAX)))
          : v->get<int64_t>();
  if (x < min || x > max)
    throw RequestError(400,
                       std::string("'") + key + "' must be between " + std::to_string(min) +
                           " and " + std::to_string(max),
                       "invalid_request_error", "invalid_value", key);
  return x;
}

double number_field(const json& body, const char* key, double fallback, double min, double max) {
  const json* v = field(body, key);
  if (!v) return fallback;
  if (!v->is_number())
    throw RequestError(400, std::string("'") + key + "' must be a number", "invalid_request_error",
                       "invalid_type", key);
  const double x = v->get<double>();
  if (!(x >= min && x <= max)) {
    char range[96];
    std::snprintf(range, sizeof range, " must be between %g and %g", min, max);
    throw RequestError(400, std::string("'") + key + "'" + range, "invalid_request_error",
                       "invalid_value", key);
  }
  return x;
}

engine::SamplerParams sampling_fields(const json& body, const engine::SamplerParams& defaults) {
  engine::SamplerParams p = defaults;
  p.temperature = static_cast<float>(number_field(body, "temperature", p.temperature, 0.0, 2.0));
  p.top_p = static_cast<float>(number_field(body, "top_p", p.top_p, 0.0, 1.0));
  if (p.top_p <= 0.0f) p.top_p = 1e-6f;  // OpenAI allows 0: keep only the most likely token
  const json* seed = field(body, "seed");
  if (seed) {
    if (!seed->is_number_integer())
      throw RequestError(400, "'seed' must be an integer", "invalid_request_error", "invalid_type",
                         "seed");
    p.seed = seed->is_number_unsigned() ? seed->get<uint64_t>()
                                        : static_cast<uint64_t>(seed->get<int64_t>());
  } else if (p.temperature > 0.0f) {
    p.seed = std::random_device{}();
  }
  return p;
}

HttpResponse error_response(int status, std::string_view message, std::string_view type,
                            std::string_view code, std::string_view param) {
  json error = {{"message", message},
                {"type", type},
                {"param", param.empty() ? json(nullptr) : json(param)},
                {"code", code.empty() ? json(nullptr) : json(code)}};
  return json_response(status, {{"error", error}});
}

std::string HttpRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return v;
  return {};
}

// ---- Pending ---------------------------------------------------------------------------------

void Pending::notify_locked(std::unique_lock<std::mutex>& lock) {
  auto notify = notify_;
  lock.unlock();
  changed_.notify_all();
  if (notify) notify();
}

// Reports STATUS to on_status_ once. Called without the lock held.
void Pending::report_status(int status) {
  std::function<void(int)> f;
  {
    std::lock_guard lock(mutex_);
    if (status_) return;
    status_ = status;
    f = on_status_;
  }
  if (f) f(status);
}

void Pending::on_status(std::function<void(int)> f) {
  std::optional<int> known;
  {
    std::lock_guard lock(mutex_);
    on_status_ = f;
    known = status_;
  }
  if (known && f) f(*known);
}

void Pending::respond(HttpResponse response) {
  respond([r = std::move(response)] { return r; });
}

void Pending::respond(MakeResponse make) {
  std::unique_lock lock(mutex_);
  if (done_) return;
  if (stream_open_) {  // too late for a status: the body becomes the stream's last event
    chunks_.push_back([make = std::move(make)] { return "data: " + make().body + "\n\n"; });
  } else {
    response_ = std::move(make);
  }
  done_ = true;
  notify_locked(lock);
}

void Pending::open_stream() {
  {
    std::unique_lock lock(mutex_);
    stream_open_ = true;
    notify_locked(lock);
  }
  report_status(200);
}

void Pending::write(std::string chunk) {
  write([c = std::move(chunk)] { return c; });
}

void Pending::write(MakeChunk make) {
  std::unique_lock lock(mutex_);
  if (done_) return;
  chunks_.push_back(std::move(make));
  notify_locked(lock);
}

void Pending::close() {
  std::unique_lock lock(mutex_);
  done_ = true;
  notify_locked(lock);
}

bool Pending::cancelled() const {
  std::lock_guard lock(mutex_);
  return cancelled_;
}

void Pending::cancel() {
  std::lock_guard lock(mutex_);
  cancelled_ = true;
}

void Pending::set_notify(std::function<void()> notify) {
  std::lock_guard lock(mutex_);
  notify_ = std::move(notify);
}

Pending::Taken Pending::take() {
  MakeResponse make_response;
  std::vector<MakeChunk> chunks;
  Taken t;
  {
    std::lock_guard lock(mutex_);
    make_response = std::move(response_);
    response_ = nullptr;
    chunks.swap(chunks_);
    t.stream_open = stream_open_;
    t.done = done_;
  }
  // Outside the lock, on the consumer's thread: the closures write the JSON.
  for (const auto& make : chunks) t.chunks += make();
  if (make_response) {
    t.response = make_response();
    report_status(t.response->status);
  }
  return t;
}

HttpResponse Pending::wait(std::chrono::milliseconds timeout) {
  {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, timeout, [&] { return done_; });
  }
  Taken t = take();
  if (t.response) return std::move(*t.response);
  HttpResponse r;
  r.content_type = "text/event-stream";
  r.body = std::move(t.chunks);
  if (!t.done) r.status = 504;
  return r;
}

// ---- RawTurns --------------------------------------------------------------------------------

std::string RawTurns::key(const agent::Message& m) {
  std::string k = m.content;
  for (const auto& c : m.tool_calls)
    k += "\x1f" + c.id + "\x1e" + c.name + "\x1e" + dump(c.arguments);
  return k;
}

void RawTurns::remember(const agent::Message& assistant, std::string raw) {
  std::lock_guard lock(mutex_);
  std::string k = key(assistant);
  if (raw_.insert_or_assign(k, std::move(raw)).second) order_.push_back(std::move(k));
  while (order_.size() > kCapacity) {
    raw_.erase(order_.front());
    order_.pop_front();
  }
}

std::optional<std::string> RawTurns::find(const agent::Message& assistant) const {
  std::lock_guard lock(mutex_);
  auto it = raw_.find(key(assistant));
  if (it == raw_.end()) return std::nullopt;
  return it->second;
}

// ---- State -----------------------------------------------------------------------------------

Api::State::State(std::unique_ptr<ModelProvider> p, const tools::Registry& r, ApiOptions o)
    : options(std::move(o)),
      registry(r),
      provider(std::move(p)),
      dispatcher(r, options.dispatcher),
      tool_waiters(std::max<std::size_t>(options.tool_threads, 1), options.queue_capacity * 4),
      engine(1, options.queue_capacity) {
  traces = std::make_unique<agent::TraceDb>(
      options.trace_db.empty() ? std::filesystem::path(":memory:") : options.trace_db);
  metrics.set_queue_length([this] { return engine.size(); });
  json data = json::array();
  for (const tools::Tool* t : registry.list()) data.push_back(tool_json(t->spec()));
  tools_body = dump({{"object", "list"}, {"data", data}});
}

ContextSlot& Api::State::slot_for(std::string_view prompt) {
  if (slots.empty()) {
    for (std::size_t i = 0; i < std::max<std::size_t>(options.n_slots, 1); ++i)
      slots.push_back(provider->make_slot());
    last_used.assign(slots.size(), 0);
  }
  // A slot is worth reusing when the prompt shares most of its context (a continuation, or a
  // regenerated last turn); sharing only a system prompt's first lines is not worth evicting
  // another conversation for, so then the least recently used slot is taken.
  std::size_t best = slots.size(), best_shared = 0, lru = 0;
  std::vector<std::size_t> shared(slots.size(), 0);
  for (std::size_t i = 0; i < slots.size(); ++i) {
    const std::string& text = slots[i]->context().context();
    const std::size_t n = std::min(text.size(), prompt.size());
    while (shared[i] < n && text[shared[i]] == prompt[shared[i]]) ++shared[i];
    if (shared[i] > 0 && 2 * shared[i] >= text.size() && shared[i] > best_shared) {
      best = i;
      best_shared = shared[i];
    }
    if (last_used[i] < last_used[lru]) lru = i;
  }
  if (best == slots.size()) best = lru;
  last_used[best] = ++clock;
  agent::ModelContext& ctx = slots[best]->context();
  const std::size_t keep = std::min(shared[best], prompt.empty() ? 0 : prompt.size() - 1);
  if (keep < ctx.context().size()) ctx.rewind(keep);
  return *slots[best];
}

HttpResponse Api::State::defer_model_work(std::function<void(Pending&)> work) {
  auto pending = std::make_shared<Pending>();
  submit_model_work([pending, work = std::move(work)] {
    try {
      work(*pending);
    } catch (const std::exception& e) {
      pending->respond(
          error_response(500, std::string("internal error: ") + e.what(), "server_error"));
      pending->close();
    }
  });
  HttpResponse r;
  r.pending = std::move(pending);
  return r;
}

namespace {

// 429 when QUEUE is full, 503 when it no longer takes work.
void submit_or_throw(WorkQueue& queue, WorkQueue::Job job, const char* full_message) {
  switch (queue.submit(std::move(job))) {
    case WorkQueue::Submit::accepted:
      return;
    case WorkQueue::Submit::full:
      throw RequestError(429, full_message, "rate_limit_error", "queue_full");
    case WorkQueue::Submit::stopped:
      throw RequestError(503, "the server is shutting down", "server_error", "shutting_down");
  }
}

}  // namespace

void Api::State::submit_model_work(WorkQueue::Job job) {
  if (draining)
    throw RequestError(503, "the server is shutting down", "server_error", "shutting_down");
  submit_or_throw(engine, std::move(job), "the model queue is full; retry later");
}

void Api::State::submit_tool_work(WorkQueue::Job job) {
  if (draining)
    throw RequestError(503, "the server is shutting down", "server_error", "shutting_down");
  submit_or_throw(tool_waiters, std::move(job), "too many tool invocations in flight; retry later");
}

// ---- Api -------------------------------------------------------------------------------------

Api::Api(std::unique_ptr<ModelProvider> provider, const tools::Registry& registry,
         ApiOptions options)
    : state_(std::make_unique<State>(std::move(provider), registry, std::move(options))) {}

Api::~Api() {
  drain();
}

void Api::drain() {
  state_->draining = true;
  state_->engine.drain();
  state_->tool_waiters.drain();
}

std::string Api::model_id() const {
  return state_->provider->model_id();
}

std::string Api::metrics_text() const {
  return state_->metrics.render();
}

void Api::count(std::string_view route, int status) {
  state_->metrics.count_request(route, status);
}

bool Api::authorized(const HttpRequest& request) const {
  if (state_->options.api_keys.empty()) return true;
  const std::string auth = request.header("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (auth.size() <= kBearer.size() || !iequals(std::string_view(auth).substr(0, 7), kBearer))
    return false;
  const std::string_view key = std::string_view(auth).substr(kBearer.size());
  bool ok = false;
  for (const auto& k : state_->options.api_keys) ok |= same_secret(key, k);
  return ok;
}

HttpResponse Api::handle(const HttpRequest& request) {
  State& st = *state_;
  const std::string_view target = request.target;
  const std::string_view path = target.substr(0, target.find('?'));
  const auto route = match(path);
  const std::string label = route ? route->label : "other";
  HttpResponse response;
  try {
    if (route && route->label != "/health" && !authorized(request))
      throw RequestError(401, "a valid API key is required: Authorization: Bearer <key>",
                         "authentication_error", "invalid_api_key");
    if (!route)
      throw RequestError(404, "no route " + std::string(path), "invalid_request_error",
                         "not_found");
    if (std::find(route->methods.begin(), route->methods.end(), request.method) ==
        route->methods.end()) {
      response = error_response(405, request.method + " is not allowed on " + route->label,
                                "invalid_request_error", "method_not_allowed");
      response.headers.emplace_back("Allow", route->methods.front());
      st.metrics.count_request(label, response.status);
      return response;
    }
    json body;
    if (request.method == "POST") {
      body = json::parse(request.body, nullptr, /*allow_exceptions=*/false);
      if (body.is_discarded())
        throw RequestError(400, "the body is not valid JSON", "invalid_request_error",
                           "invalid_json");
      if (!body.is_object()) throw RequestError(400, "the body must be a JSON object");
    }
    if (label == "/health") {
      response = json_response(200, {{"status", st.draining ? "draining" : "ok"},
                                     {"model", st.provider->model_id()},
                                     {"queue", st.engine.size()}});
    } else if (label == "/metrics") {
      response.content_type = "text/plain; version=0.0.4";
      response.body = st.metrics.render();
    } else if (label == "/v1/models") {
      response = json_response(200, {{"object", "list"},
                                     {"data", json::array({{{"id", st.provider->model_id()},
                                                            {"object", "model"},
                                                            {"created", 0},
                                                            {"owned_by", "agentrt"}}})}});
    } else if (label == "/v1/tools") {
      response.body = st.tools_body;
    } else if (label == "/v1/tools/{name}/invoke") {
      response = invoke_tool(st, route->param, body);
    } else if (label == "/v1/chat/completions") {
      response = handle_chat_completions(st, body);
    } else if (label == "/v1/agent/runs") {
      response = handle_agent_run(st, body);
    } else if (label == "/v1/agent/runs/{id}") {
      response = handle_get_agent_run(st, route->param);
    }
  } catch (const RequestError& e) {
    response = error_response(e.status, e.what(), e.type, e.code, e.param);
  } catch (const std::exception& e) {
    response = error_response(500, std::string("internal error: ") + e.what(), "server_error");
  }
  if (response.pending) {
    response.pending->on_status(
        [&st, label](int status) { st.metrics.count_request(label, status); });
  } else {
    st.metrics.count_request(label, response.status);
  }
  return response;
}

}  // namespace agentrt::server
