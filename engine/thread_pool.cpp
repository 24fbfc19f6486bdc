#include "thread_pool.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define AGENTRT_CPU_RELAX() _mm_pause()
#else
#define AGENTRT_CPU_RELAX() std::this_thread::yield()
#endif

namespace agentrt::engine {

namespace {
// Spinning keeps a decode step's hundreds of short jobs cheap; yielding instead of pausing after
// a while keeps a busy (oversubscribed) machine from starving the thread everyone waits for.
constexpr int kPauseIterations = 2000;
constexpr int kYieldIterations = 200;
// Below this many multiply-adds a job runs on the caller: waking workers costs more.
constexpr int64_t kMinParallelWork = 32 * 1024;

void relax(int iteration) {
  if (iteration < kPauseIterations) {
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
  for (int i = 1; i < n_threads_; ++i) threads_.emplace_back([this, i] { worker(i); });
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

void ThreadPool::run(const std::function<void(int, int)>& fn, int64_t work) {
  if (n_threads_ == 1 || work < kMinParallelWork) {
    fn(0, 1);
    return;
  }
  {
    std::lock_guard lock(mutex_);
    job_ = &fn;
    pending_.store(n_threads_ - 1, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  fn(0, n_threads_);
  for (int i = 0; pending_.load(std::memory_order_acquire) != 0; ++i) relax(i);
}

void ThreadPool::worker(int ith) {
  uint64_t seen = 0;
  for (;;) {
    uint64_t gen = generation_.load(std::memory_order_acquire);
    for (int spin = 0; gen == seen && spin < kPauseIterations + kYieldIterations; ++spin) {
      relax(spin);
      gen = generation_.load(std::memory_order_acquire);
    }
    if (gen == seen) {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return generation_.load(std::memory_order_acquire) != seen; });
      gen = generation_.load(std::memory_order_acquire);
    }
    seen = gen;
    if (stop_.load()) return;
    const std::function<void(int, int)>* job;
    {
      std::lock_guard lock(mutex_);
      job = job_;
    }
    (*job)(ith, n_threads_);
    pending_.fetch_sub(1, std::memory_order_release);
  }
}

}  // namespace agentrt::engine
