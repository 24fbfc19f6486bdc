// A sim::Problem compiled for integration: expressions bound to slots, the stop condition parsed.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "agentrt/plugins/simulate.h"

namespace agentrt::plugins::sim {

enum class Cmp { kLess, kLessEq, kGreater, kGreaterEq };

struct Comparison {
  calc::Expression lhs;
  calc::Expression rhs;
  Cmp op = Cmp::kLess;
};

// Disjunction of conjunctions of comparisons (the atoms). The integrator watches every atom, so
// a condition that holds only inside one step (4 < x < 9 crossed in a single step) is not missed.
struct Condition {
  std::vector<Comparison> atoms;
  std::vector<std::vector<std::size_t>> any_of;  // indices into atoms
  std::string text;
  bool empty() const { return any_of.empty(); }
  bool atom_holds(std::size_t i, std::span<const double> slots) const;
  // truths[i] = whether atoms[i] holds at SLOTS.
  void truths(std::span<const double> slots, std::vector<char>& out) const;
  bool holds(const std::vector<char>& truths) const;
  bool holds(std::span<const double> slots) const;
};

// Slot layout shared by every compiled expression: (t, state..., parameters..., observables...).
struct Model {
  std::vector<std::string> slot_names;
  std::size_t n_state = 0;
  std::size_t n_param = 0;
  std::size_t n_obs = 0;
  std::vector<calc::Expression> rhs;          // per state, over (t, state, parameters)
  std::vector<calc::Expression> observables;  // per observable, over (t, state, parameters)
  // Per reported quantity (state, then observables): its d/dt over every slot, when known.
  std::vector<std::optional<calc::Expression>> rates;
  Condition until;
  std::vector<double> x0;
  std::vector<double> parameters;
  double t0 = 0.0;
  double t_end = 0.0;

  std::size_t state_slot(std::size_t i) const { return 1 + i; }
  std::size_t obs_slot(std::size_t j) const { return 1 + n_state + n_param + j; }
  // Slots with the parameters filled in; the rest is set by fill().
  std::vector<double> make_slots() const;
  // Writes t and STATE into SLOTS and evaluates the observables.
  void fill(double t, std::span<const double> state, std::span<double> slots) const;
};

calc::Result<Model> compile_model(const Problem& problem);

// Parses an until condition over NAMES (the model's slot names).
calc::Result<Condition> parse_condition(const std::string& text,
                                        std::span<const std::string> names);

}  // namespace agentrt::plugins::sim
