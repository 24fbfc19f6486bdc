#include "agentrt/tools/dispatcher.h"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <unordered_set>

#include "agentrt/tools/schema.h"
#include "text.h"

namespace agentrt::tools {
namespace {

using Clock = std::chrono::steady_clock;
using detail::in_quotes;

constexpr int kMaxArgumentDepth = 64;

// Replaces invalid UTF-8 with U+FFFD so results can always be serialized as JSON.
void sanitize_utf8(std::string& s) {
  auto valid_at = [&](std::size_t i, std::size_t& len) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) return len = 1, true;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0)
      len = 2, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0)
      len = 3, cp = c & 0x0F;
    else if ((c & 0xF8) == 0xF0)
      len = 4, cp = c & 0x07;
    else
      return false;
    if (i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    return cp >= kMin[len] && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
  };
  std::size_t len = 0;
  std::size_t i = 0;
  while (i < s.size() && valid_at(i, len)) i += len;
  if (i == s.size()) return;
  std::string out = s.substr(0, i);
  while (i < s.size()) {
    if (valid_at(i, len)) {
      out.append(s, i, len);
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  s = std::move(out);
}

// True when V nests deeper than LIMIT; stops descending at the limit, so hostile input cannot
// exhaust the stack here (or later, in the recursive dump a plugin call does).
bool nests_deeper_than(const nlohmann::json& v, int limit) {
  if (!v.is_structured()) return false;
  if (limit == 0) return true;
  for (const auto& child : v) {
    if (nests_deeper_than(child, limit - 1)) return true;
  }
  return false;
}

std::size_t positive(const Config& config, std::string_view key, std::size_t fallback) {
  int64_t v = config.get_int(key, static_cast<int64_t>(fallback));
  if (v <= 0) {
    throw ConfigError("config " + std::string(key) + ": must be positive, got " +
                      std::to_string(v));
  }
  return static_cast<std::size_t>(v);
}

}  // namespace

DispatcherOptions DispatcherOptions::from_config(const Config& config) {
  DispatcherOptions o;
  o.threads = positive(config, "tools.threads", o.threads);
  o.max_threads = std::max(o.threads, positive(config, "tools.max_threads", o.max_threads));
  o.deadline = std::chrono::milliseconds(
      positive(config, "tools.deadline_ms", static_cast<std::size_t>(o.deadline.count())));
  o.max_output_bytes = positive(config, "tools.max_output_bytes", o.max_output_bytes);
  o.max_data_bytes = positive(config, "tools.max_data_bytes", o.max_data_bytes);
  return o;
}

bool truncate_output(std::string& text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return false;
  std::size_t total = text.size();
  std::size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  text.resize(cut);
  text += "\n[output truncated: showing the first " + std::to_string(cut) + " of " +
          std::to_string(total) + " bytes]";
  return true;
}

// One call, shared by its caller and the worker running it.
struct Dispatcher::Pending {
  std::shared_ptr<const Tool> tool;
  nlohmann::json arguments;
  Clock::time_point deadline;
  std::chrono::milliseconds budget{0};
  bool queued = false;  // false: result was decided up front (unknown tool, bad arguments)
  std::size_t max_output_bytes = 0;
  std::size_t max_data_bytes = 0;
  std::atomic<bool> cancel{false};     // read by the tool through ToolContext
  std::atomic<bool> abandoned{false};  // the caller stopped waiting

  std::mutex mutex;
  std::condition_variable cv;
  std::optional<ToolResult> result;  // guarded by mutex

  // Guarded by Pool::mutex.
  bool running = false;
  bool ran = false;
  bool counted_stuck = false;

  void wake() {
    { std::lock_guard lock(mutex); }
    cv.notify_all();
  }
};

// The worker pool. Workers are detached and each holds a shared_ptr to the pool, so the pool
// outlives a Dispatcher whose workers are stuck in hung tools.
struct Dispatcher::Pool : std::enable_shared_from_this<Dispatcher::Pool> {
  std::mutex mutex;
  std::condition_variable work_cv;
  std::condition_variable exit_cv;
  std::deque<std::shared_ptr<Pending>> queue;
  std::unordered_set<Pending*> in_flight;  // calls whose caller is waiting
  std::size_t target = 0;
  std::size_t max_threads = 0;
  std::size_t live = 0;   // worker threads alive
  std::size_t stuck = 0;  // of those, running a call whose caller gave up
  bool stopping = false;

  std::size_t available() const { return live - stuck; }

  // Caller holds mutex.
  void spawn() {
    ++live;
    try {
      std::thread([self = shared_from_this()] { self->work(); }).detach();
    } catch (const std::system_error&) {
      --live;  // out of threads: the queued calls wait for a worker and time out at worst
    }
  }

  // Caller holds mutex. Keeps `target` workers that are not stuck, within max_threads.
  void top_up() {
    while (!stopping && available() < target && live < max_threads) {
      std::size_t before = live;
      spawn();
      if (live == before) break;
    }
  }

  void work() {
    std::unique_lock lock(mutex);
    while (true) {
      work_cv.wait(lock, [&] { return stopping || !queue.empty() || available() > target; });
      if (stopping || (queue.empty() && available() > target)) break;
      auto job = std::move(queue.front());
      queue.pop_front();
      if (job->abandoned.load()) continue;
      job->running = true;
      lock.unlock();
      run(*job);
      lock.lock();
      job->ran = true;
      if (job->counted_stuck) --stuck;
      if (available() > target) break;  // a replacement took this worker's place
    }
    --live;
    exit_cv.notify_all();
  }

  static void run(Pending& job) {
    ToolContext ctx(job.deadline, &job.cancel);
    const std::string& name = job.tool->spec().name;
    ToolResult result;
    try {
      result = job.tool->invoke(job.arguments, ctx);
    } catch (const std::exception& e) {
      result = ToolResult::failure("tool " + in_quotes(name) + " failed: " + e.what());
    } catch (...) {
      result = ToolResult::failure("tool " + in_quotes(name) + " failed with an unknown exception");
    }
    if (!result.ok && result.text.empty()) {
      result.text = "tool " + in_quotes(name) + " failed without a message";
    }
    if (job.abandoned.load()) return;  // nobody will read it
    sanitize_utf8(result.text);
    if (truncate_output(result.text, job.max_output_bytes)) result.truncated = true;
    if (!result.data.is_null()) {
      std::size_t size =
          result.data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).size();
      if (size > job.max_data_bytes) {
        result.data = nullptr;
        result.truncated = true;
        result.text += "\n[structured data dropped: " + std::to_string(size) +
                       " bytes exceed the " + std::to_string(job.max_data_bytes) + "-byte cap]";
      }
    }
    {
      std::lock_guard lock(job.mutex);
      job.result = std::move(result);
    }
    job.cv.notify_all();
  }
};

Dispatcher::Dispatcher(const Registry& registry, DispatcherOptions options)
    : registry_(registry), options_(options), pool_(std::make_shared<Pool>()) {
  options_.threads = std::max<std::size_t>(options_.threads, 1);
  options_.max_threads = std::max(options_.max_threads, options_.threads);
  std::lock_guard lock(pool_->mutex);
  pool_->target = options_.threads;
  pool_->max_threads = options_.max_threads;
  pool_->top_up();
}

Dispatcher::~Dispatcher() {
  std::unique_lock lock(pool_->mutex);
  pool_->stopping = true;
  for (Pending* p : pool_->in_flight) {
    p->cancel = true;
    p->wake();
  }
  for (auto& job : pool_->queue) job->abandoned = true;
  pool_->queue.clear();
  pool_->work_cv.notify_all();
  // Idle workers leave at once; stuck ones are left to finish on their own (they own the pool).
  pool_->exit_cv.wait_for(lock, options_.shutdown_grace,
                          [&] { return pool_->live == pool_->stuck; });
}

std::shared_ptr<Dispatcher::Pending> Dispatcher::start(const CallRequest& request,
                                                       Clock::time_point deadline,
                                                       std::chrono::milliseconds budget) {
  auto pending = std::make_shared<Pending>();
  pending->deadline = deadline;
  pending->budget = budget;
  pending->max_output_bytes = options_.max_output_bytes;
  pending->max_data_bytes = options_.max_data_bytes;
  pending->tool = registry_.find_shared(request.name);
  if (!pending->tool) {
    std::string available;
    for (const auto& n : registry_.names()) available += (available.empty() ? "" : ", ") + n;
    pending->result =
        ToolResult::failure("unknown tool " + in_quotes(request.name) + "; available tools: " +
                            (available.empty() ? std::string("(none)") : available));
    return pending;
  }
  const nlohmann::json& schema = pending->tool->spec().parameters;
  auto errors = validate(schema, request.arguments);
  if (nests_deeper_than(request.arguments, kMaxArgumentDepth)) {
    errors.push_back("arguments: nested deeper than " + std::to_string(kMaxArgumentDepth) +
                     " levels");
  }
  if (errors.empty() && !request.arguments.is_object()) {
    errors.push_back(std::string("arguments: expected object, got ") +
                     request.arguments.type_name());
  }
  if (!errors.empty()) {
    pending->result = ToolResult::failure("invalid arguments for tool " + in_quotes(request.name) +
                                          ": " + join_errors(errors));
    return pending;
  }
  pending->arguments = fill_defaults(schema, request.arguments);
  std::lock_guard lock(pool_->mutex);
  if (pool_->stopping) {
    pending->result = ToolResult::failure("the dispatcher is shutting down");
    return pending;
  }
  pending->queued = true;
  pool_->in_flight.insert(pending.get());
  pool_->queue.push_back(pending);
  pool_->work_cv.notify_one();
  return pending;
}

ToolResult Dispatcher::finish(Pending& pending, const std::stop_token& stop) {
  {
    std::lock_guard lock(pending.mutex);
    if (!pending.queued) return std::move(*pending.result);  // failed before it ran
  }
  {
    std::stop_callback on_stop(stop, [&pending] {
      pending.cancel = true;
      pending.wake();
    });
    std::unique_lock lock(pending.mutex);
    pending.cv.wait_until(lock, pending.deadline,
                          [&] { return pending.result.has_value() || pending.cancel.load(); });
  }
  std::optional<ToolResult> result;
  {
    std::lock_guard lock(pending.mutex);
    if (pending.result) {
      result = std::move(*pending.result);
    } else {
      pending.abandoned = true;
      pending.cancel = true;  // a cooperative tool stops; a hung one is left behind
    }
  }
  bool cancelled = pending.cancel.load();
  bool late = Clock::now() >= pending.deadline;
  std::lock_guard lock(pool_->mutex);
  pool_->in_flight.erase(&pending);
  // A failure from a tool that stopped because it was cancelled or ran out of time is reported
  // as that, not as whatever the tool said on its way out.
  if (result && (result->ok || (!cancelled && !late))) return std::move(*result);
  if (!result && pending.running && !pending.ran && !pending.counted_stuck) {
    pending.counted_stuck = true;
    ++pool_->stuck;
    pool_->top_up();
  }
  const std::string& name = pending.tool->spec().name;
  if (!cancelled || late) {
    return ToolResult::failure("tool " + in_quotes(name) + " timed out after " +
                               std::to_string(pending.budget.count()) + " ms");
  }
  return ToolResult::failure("tool " + in_quotes(name) + " was cancelled");
}

ToolResult Dispatcher::call(const std::string& name, const nlohmann::json& arguments,
                            const CallOptions& options) {
  auto results = call_many({CallRequest{name, arguments}}, options);
  return std::move(results.front());
}

std::vector<ToolResult> Dispatcher::call_many(const std::vector<CallRequest>& requests,
                                              const CallOptions& options) {
  auto budget = options.deadline.count() > 0 ? options.deadline : options_.deadline;
  auto deadline = Clock::now() + budget;
  std::vector<std::shared_ptr<Pending>> pending;
  pending.reserve(requests.size());
  for (const auto& r : requests) pending.push_back(start(r, deadline, budget));
  std::vector<ToolResult> results;
  results.reserve(requests.size());
  for (auto& p : pending) results.push_back(finish(*p, options.stop));
  return results;
}

void Dispatcher::cancel_all() {
  std::lock_guard lock(pool_->mutex);
  for (Pending* p : pool_->in_flight) {
    p->cancel = true;
    p->wake();
  }
}

std::size_t Dispatcher::worker_count() const {
  std::lock_guard lock(pool_->mutex);
  return pool_->live;
}

}  // namespace agentrt::tools
