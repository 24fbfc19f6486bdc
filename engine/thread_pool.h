// A persistent fork-join pool for the forward pass: run(fn) calls fn(ith, nth) on every thread
// (the caller is thread 0) and returns when all are done. Workers spin briefly between jobs, since
// a decode step issues hundreds of short jobs, then sleep.
#pragma once

#include <atomic>
#include <climits>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace agentrt::engine {

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);  // n_threads <= 0: hardware concurrency
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }
  // Not reentrant: one run() at a time, from one thread. `work` estimates the job's size in
  // multiply-adds: a job too small to repay waking the workers runs on the caller alone (nth 1).
  void run(const std::function<void(int ith, int nth)>& fn, int64_t work = INT64_MAX);

  // Splits [0, n) into nth nearly equal ranges; returns thread ith's [begin, end).
  static std::pair<int64_t, int64_t> split(int64_t n, int ith, int nth) {
    const int64_t per = n / nth, rest = n % nth;
    const int64_t begin = ith * per + (ith < rest ? ith : rest);
    return {begin, begin + per + (ith < rest ? 1 : 0)};
  }

 private:
  void worker(int ith);
  int n_threads_;
  std::vector<std::thread> threads_;
  const std::function<void(int, int)>* job_ = nullptr;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
};

}  // namespace agentrt::engine
