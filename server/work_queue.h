// A fixed set of worker threads fed by a bounded queue: the engine thread (one worker) and the
// pool that waits on tool invocations. A full queue refuses work instead of growing.
//
// Thread-safety: submit(), size() and drain() may be called from any thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace agentrt::server {

class WorkQueue {
 public:
  using Job = std::function<void()>;

  // CAPACITY jobs may wait; N_THREADS run them.
  WorkQueue(std::size_t n_threads, std::size_t capacity) : capacity_(capacity) {
    for (std::size_t i = 0; i < n_threads; ++i) threads_.emplace_back([this] { work(); });
  }
  ~WorkQueue() { drain(); }
  WorkQueue(const WorkQueue&) = delete;
  WorkQueue& operator=(const WorkQueue&) = delete;

  enum class Submit { accepted, full, stopped };
  Submit submit(Job job) {
    std::lock_guard lock(mutex_);
    if (stopping_) return Submit::stopped;
    if (jobs_.size() >= capacity_) return Submit::full;
    jobs_.push_back(std::move(job));
    ready_.notify_one();
    return Submit::accepted;
  }

  std::size_t size() const {  // jobs waiting, not counting the ones running
    std::lock_guard lock(mutex_);
    return jobs_.size();
  }

  // Refuses new jobs, runs the queued ones, joins the threads. Idempotent.
  void drain() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      ready_.notify_all();
    }
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }

 private:
  void work() {
    for (;;) {
      Job job;
      {
        std::unique_lock lock(mutex_);
        ready_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
        if (jobs_.empty()) return;  // stopping and nothing left
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();  // jobs catch their own exceptions (they answer the request with a 500)
    }
  }

  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Job> jobs_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace agentrt::server
