// The simulate plugin: deterministic simulation of ODE systems written in the calculator's
// expression language, integrated with Boost.Odeint (Dormand–Prince 5(4), adaptive steps).
//
// - register_simulate() adds the `simulate` tool (free-form equations or a named preset).
// - sim::simulate() is the tool's numerical core without JSON, for programs and tests.
//
// Arguments, presets and their units are documented in plugins/simulate/README.md.
#pragma once

#include <cstddef>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "agentrt/plugins/calculator.h"
#include "agentrt/tools/config.h"
#include "agentrt/tools/registry.h"

namespace agentrt::plugins {

// Adds the `simulate` tool. Config keys: simulate.max_steps (upper bound of the max_steps
// argument, default 1000000), simulate.max_samples (upper bound of samples, default 1000).
// Throws tools::ConfigError for a non-positive limit, tools::RegistryError when the name is taken.
void register_simulate(tools::Registry& registry, const tools::Config& config);

namespace sim {

// A system of first-order ODEs d(name)/dt = rhs(t, state, parameters).
struct Problem {
  struct Observable {
    std::string name;
    std::string expression;  // over t, the state and the parameters
    std::string rate;        // its d/dt, optional; lets extrema be located between steps
  };
  std::vector<std::pair<std::string, std::string>> equations;  // state name -> right-hand side
  std::vector<std::pair<std::string, double>> initial;         // state name -> value at t0
  std::vector<std::pair<std::string, double>> parameters;      // constant name -> value
  std::vector<Observable> observables;  // derived quantities reported like the state
  // Stop condition: comparisons (< <= > >=, chains like 0 < x < 1) joined by `and` / `or`
  // (`and` binds tighter). Empty: run to t_end. The event is the first time it holds.
  std::string until;
  double t0 = 0.0;
  double t_end = std::numeric_limits<double>::infinity();  // may be infinite when until is set
};

struct Options {
  double abs_tol = 1e-10;
  double rel_tol = 1e-10;
  double max_step = 0.0;     // largest step; 0 means unlimited
  std::size_t samples = 21;  // trajectory points, evenly spaced from t0 to the stop time
  std::size_t max_steps = 100'000;
  std::function<bool()> should_stop;  // polled every step (deadline, cancellation); may be empty
};

struct Extremum {
  double min = 0.0;
  double t_min = 0.0;
  double max = 0.0;
  double t_max = 0.0;
  std::size_t n_maxima = 0;  // interior local maxima (where the rate turns from + to -)
  double first_max_t = 0.0;
  double last_max_t = 0.0;
};

struct Outcome {
  std::vector<std::string> names;  // state variables in the order given, then observables
  std::size_t n_state = 0;
  double t_final = 0.0;             // t_end, or the event time
  std::vector<double> final_state;  // per name, at t_final
  bool event = false;               // the until condition stopped the run at t_final
  std::vector<Extremum> extrema;    // per name, over [t0, t_final]
  std::vector<double> sample_t;
  std::vector<std::vector<double>> samples;  // (name, sample)
  std::size_t steps = 0;                     // accepted integrator steps
};

// Compiles and integrates PROBLEM. Never throws on user input: unknown names, missing initial
// values, malformed conditions, blow-up (non-finite state, step-size underflow), the step limit
// and should_stop() are Errors whose message says what happened and at which t.
// Thread-safety: reentrant; shares nothing between calls.
calc::Result<Outcome> simulate(const Problem& problem, const Options& options);

}  // namespace sim
}  // namespace agentrt::plugins
