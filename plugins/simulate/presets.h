// Named systems (projectile, pendulum, spring, orbit, logistic, exponential): their parameters
// with units and defaults, the Problem each builds, and the quantities each reports afterwards.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "agentrt/plugins/simulate.h"

namespace agentrt::plugins::sim {

struct ParamSpec {
  std::string_view name;
  double fallback;  // NaN: optional, no default (derived or unused when absent)
  std::string_view unit;
  std::string_view about;
};

struct PresetSpec {
  std::string_view name;
  std::string_view about;  // one line: the model and its default stop rule
  std::vector<ParamSpec> params;
};

const std::vector<PresetSpec>& preset_specs();
const PresetSpec* find_preset(std::string_view name);

struct PresetRun {
  std::string name;
  std::map<std::string, double> params;  // every parameter after defaults
  Problem problem;
};

// Builds NAME with GIVEN parameters (unknown names and out-of-range values are Errors).
calc::Result<PresetRun> make_preset(std::string_view name,
                                    const std::map<std::string, double>& given);

struct SummaryItem {
  std::string key;    // snake_case, for the structured data
  std::string label;  // for the text
  double value;
  std::string unit;
};

// The preset's own results: range and flight time, periods, orbital elements, closed forms.
std::vector<SummaryItem> summarize(const PresetRun& run, const Outcome& outcome);

}  // namespace agentrt::plugins::sim
