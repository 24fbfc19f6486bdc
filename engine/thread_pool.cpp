#include "thread_pool.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define AGENTRT_CPU_RELAX() _mm_pause()
#else
#define AGENTRT_CPU_RELAX() std::this_thread::yield()
#endif

namespace agentrt::engine {

namespace {
// Workers spin this many rounds for the next job before sleeping: a decode step's jobs come a
// few microseconds apart. Past kPauseRounds they yield instead of pausing, so that a busy
// (oversubscribed) machine does not starve the thread everyone waits for.
constexpr int kPauseRounds = 4000;
constexpr int kSpinRounds = 4400;
// Below this many multiply-adds a job runs on the caller: waking workers costs more.
constexpr int64_t kMinParallelWork = 32 * 1024;

void relax(int round) {
  if (round < kPauseRounds) {
    AGENTRT_CPU_RELAX();
  } else {
    std::this_thread::yield();
  }
}
}  // namespace

ThreadPool::ThreadPool(int n_threads) {
  if (n_threads <= 0) n_threads = static_cast<int>(std::thread::hardware_concurrency());
  n_threads_ = n_threads > 0 ? n_threads : 1;
  threads_.reserve(n_threads_ - 1);
  for (int i = 1; i < n_threads_; ++i) threads_.emplace_back([this] { worker(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(mutex_);
    stop_.store(true);
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
}

int ThreadPool::claim(uint64_t gen) {
  uint64_t t = ticket_.load(std::memory_order_acquire);
  for (;;) {
    if (t >> 16 != gen || static_cast<int>(t & 0xFFFF) >= n_threads_) return -1;
    if (ticket_.compare_exchange_weak(t, t + 1, std::memory_order_acq_rel,
                                      std::memory_order_acquire))
      return static_cast<int>(t & 0xFFFF);
  }
}

void ThreadPool::run_raw(JobFn fn, void* ctx, int64_t work) {
  if (n_threads_ == 1 || work < kMinParallelWork) {
    fn(ctx, 0, 1);
    return;
  }
  fn_ = fn;
  ctx_ = ctx;
  done_.store(0, std::memory_order_relaxed);
  const uint64_t gen = generation_.load(std::memory_order_relaxed) + 1;
  ticket_.store(gen << 16, std::memory_order_release);
  generation_.store(gen);  // seq_cst: publishes the job, ordered before reading sleepers_
  if (sleepers_.load() > 0) {
    std::lock_guard lock(mutex_);
    wake_.notify_all();
  }
  for (int task; (task = claim(gen)) >= 0;) {
    fn(ctx, task, n_threads_);
    done_.fetch_add(1, std::memory_order_release);
  }
  // Only tasks a worker has claimed are left; wait for them.
  for (int i = 0; done_.load(std::memory_order_acquire) != n_threads_; ++i) relax(i);
}

void ThreadPool::worker() {
  uint64_t seen = 0;
  for (;;) {
    uint64_t gen = generation_.load(std::memory_order_acquire);
    for (int round = 0; gen == seen; ++round) {
      if (round < kSpinRounds) {
        relax(round);
      } else {
        // seq_cst increment, then the predicate's load: either run() sees this sleeper or this
        // thread sees run()'s new generation.
        std::unique_lock lock(mutex_);
        sleepers_.fetch_add(1);
        wake_.wait(lock, [&] { return generation_.load() != seen; });
        sleepers_.fetch_sub(1);
      }
      gen = generation_.load(std::memory_order_acquire);
    }
    seen = gen;
    if (stop_.load()) return;
    for (int task; (task = claim(gen)) >= 0;) {
      fn_(ctx_, task, n_threads_);
      done_.fetch_add(1, std::memory_order_release);
    }
  }
}

}  // namespace agentrt::engine
