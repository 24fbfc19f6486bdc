// The fork-join pool (engine/thread_pool.h): every task of every job runs exactly once, whichever
// thread claims it, also with more threads than cores and with tasks of uneven length, and the
// caller returns only when all of them are done.
#include "thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <vector>

namespace agentrt::engine {
namespace {

TEST(ThreadPool, EveryTaskRunsOnceAndRunReturnsAfterAll) {
  for (int n_threads : {1, 2, 3, 5}) {
    ThreadPool pool(n_threads);
    std::vector<std::atomic<int>> runs(static_cast<size_t>(n_threads));
    for (int job = 0; job < 2000; ++job) {
      for (auto& r : runs) r.store(0);
      std::atomic<int> finished{0};
      pool.run([&](int ith, int nth) {
        ASSERT_EQ(nth, n_threads);
        ASSERT_GE(ith, 0);
        ASSERT_LT(ith, nth);
        if (job % 97 == ith)  // now and then one task is slow
          std::this_thread::sleep_for(std::chrono::microseconds(200));
        runs[static_cast<size_t>(ith)].fetch_add(1);
        finished.fetch_add(1);
      });
      ASSERT_EQ(finished.load(), n_threads) << "run() returned early, job " << job;
      for (int i = 0; i < n_threads; ++i)
        ASSERT_EQ(runs[static_cast<size_t>(i)].load(), 1) << "task " << i << ", job " << job;
    }
  }
}

TEST(ThreadPool, SmallJobsRunOnTheCallerAlone) {
  ThreadPool pool(4);
  int calls = 0, nth_seen = 0;
  pool.run(
      [&](int, int nth) {
        ++calls;
        nth_seen = nth;
      },
      10);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(nth_seen, 1);
}

// Workers that went to sleep between jobs (after their spin) are woken for the next one.
TEST(ThreadPool, WorkersWakeAfterSleeping) {
  ThreadPool pool(3);
  for (int job = 0; job < 3; ++job) {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    std::atomic<int> finished{0};
    pool.run([&](int, int) { finished.fetch_add(1); });
    EXPECT_EQ(finished.load(), 3);
  }
}

}  // namespace
}  // namespace agentrt::engine
