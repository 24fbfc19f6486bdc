// The server's metrics in Prometheus text format (version 0.0.4): requests by route and status,
// tokens prefilled and generated, the engine queue's length, and step and tool latency
// histograms.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace agentrt::server {

// Cumulative histogram of durations in seconds, with fixed bucket bounds.
class Histogram {
 public:
  static constexpr std::array<double, 12> kBounds = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                     0.25,  0.5,   1.0,  2.5,   5.0,  10.0};
  void observe(double seconds);
  // NAME_bucket{le=...}, NAME_sum, NAME_count lines.
  void render(std::string& out, std::string_view name) const;

 private:
  mutable std::mutex mutex_;
  std::array<uint64_t, kBounds.size() + 1> counts_{};  // the last one is +Inf
  double sum_ = 0;
  uint64_t count_ = 0;
};

class Metrics {
 public:
  void count_request(std::string_view route, int status);
  void add_tokens(int64_t prefilled, int64_t generated, int64_t cached);
  void observe_step(double seconds) { step_.observe(seconds); }
  void observe_tool(double seconds) { tool_.observe(seconds); }
  // Read when rendering (the engine queue's length).
  void set_queue_length(std::function<std::size_t()> f) { queue_length_ = std::move(f); }
  std::string render() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  int64_t prefilled_ = 0;
  int64_t generated_ = 0;
  int64_t cached_ = 0;
  Histogram step_;
  Histogram tool_;
  std::function<std::size_t()> queue_length_;
};

}  // namespace agentrt::server
