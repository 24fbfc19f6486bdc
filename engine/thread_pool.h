// A persistent fork-join pool for the forward pass: run(fn) calls fn(ith, nth) once for each ith
// in [0, nth), nth = size(), and returns when all are done. A decode step issues dozens of short
// jobs, so a job is published with two atomic stores, workers spin briefly between jobs and only
// then sleep, and run() neither allocates nor takes a lock unless a worker sleeps.
//
// The calls are tasks, not threads: the caller and the workers claim them one at a time, so when
// a worker is slow to come (its core is busy with another process) the caller runs its share
// instead of waiting a scheduler time slice for it. Jobs must not assume that ith names a thread.
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

  // Calls fn(ith, nth) for every ith < nth, on whichever threads claim them. Not reentrant: one
  // run() at a time, from one thread.
  // `work` estimates the job's size in multiply-adds: a job too small to repay waking the workers
  // runs on the caller alone (nth 1).
  template <class F>
  void run(F&& fn, int64_t work = INT64_MAX) {
    using Fn = std::remove_reference_t<F>;
    run_raw([](void* ctx, int ith, int nth) { (*static_cast<Fn*>(ctx))(ith, nth); },
            const_cast<void*>(static_cast<const void*>(std::addressof(fn))), work);
  }

  // Splits [0, n) into nth nearly equal ranges; returns task ith's [begin, end).
  static std::pair<int64_t, int64_t> split(int64_t n, int ith, int nth) {
    const int64_t per = n / nth, rest = n % nth;
    const int64_t begin = ith * per + (ith < rest ? ith : rest);
    return {begin, begin + per + (ith < rest ? 1 : 0)};
  }

 private:
  using JobFn = void (*)(void* ctx, int ith, int nth);
  void run_raw(JobFn fn, void* ctx, int64_t work);
  void worker();
  // Claims the next task of job `gen`: its index, or -1 when that job has none left (or is over).
  int claim(uint64_t gen);

  int n_threads_;
  std::vector<std::thread> threads_;
  // The current job; written by run() before it publishes the job's tickets, read by a worker
  // after it claims one (the job cannot end before that task is done).
  JobFn fn_ = nullptr;
  void* ctx_ = nullptr;
  std::atomic<uint64_t> generation_{0};  // the job's number: workers wait for it to change
  std::atomic<uint64_t> ticket_{0};      // generation << 16 | the next unclaimed task
  std::atomic<int> done_{0};             // tasks of the current job finished
  std::atomic<int> sleepers_{0};         // workers waiting on wake_
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
};

}  // namespace agentrt::engine
