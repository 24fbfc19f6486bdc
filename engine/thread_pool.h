// A persistent fork-join pool for the forward pass: run(fn) calls fn(ith, nth) on every thread
// (the caller is thread 0) and returns when all are done. A decode step issues dozens of short
// jobs, so a job is published with one atomic increment, workers spin briefly between jobs and
// only then sleep, and run() neither allocates nor takes a lock unless a worker sleeps.
#pragma once

#include <atomic>
#include <climits>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace agentrt::engine {

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);  // n_threads <= 0: hardware concurrency
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Calls fn(ith, nth) on every thread. Not reentrant: one run() at a time, from one thread.
  // `work` estimates the job's size in multiply-adds: a job too small to repay waking the workers
  // runs on the caller alone (nth 1).
  template <class F>
  void run(F&& fn, int64_t work = INT64_MAX) {
    using Fn = std::remove_reference_t<F>;
    run_raw([](void* ctx, int ith, int nth) { (*static_cast<Fn*>(ctx))(ith, nth); },
            const_cast<void*>(static_cast<const void*>(std::addressof(fn))), work);
  }

  // Splits [0, n) into nth nearly equal ranges; returns thread ith's [begin, end).
  static std::pair<int64_t, int64_t> split(int64_t n, int ith, int nth) {
    const int64_t per = n / nth, rest = n % nth;
    const int64_t begin = ith * per + (ith < rest ? ith : rest);
    return {begin, begin + per + (ith < rest ? 1 : 0)};
  }

 private:
  using JobFn = void (*)(void* ctx, int ith, int nth);
  void run_raw(JobFn fn, void* ctx, int64_t work);
  void worker(int ith);

  int n_threads_;
  std::vector<std::thread> threads_;
  // The current job; written by run() before generation_ is bumped, read by workers after.
  JobFn fn_ = nullptr;
  void* ctx_ = nullptr;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};   // workers still running the current job
  std::atomic<int> sleepers_{0};  // workers waiting on wake_
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
};

}  // namespace agentrt::engine
