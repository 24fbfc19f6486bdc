// A one-line progress bar on stderr, drawn only when stderr is a terminal.
#pragma once

#include <string>

namespace agentrt::cli {

class ProgressBar {
 public:
  explicit ProgressBar(std::string label);
  ~ProgressBar();                // finishes the line if anything was drawn
  void update(double fraction);  // 0..1; redraws at most once per percent

 private:
  std::string label_;
  bool enabled_;
  int last_percent_ = -1;
};

}  // namespace agentrt::cli
