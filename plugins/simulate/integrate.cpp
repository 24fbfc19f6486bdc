// sim::simulate(): adaptive Dormand–Prince 5(4) integration (Dormand & Prince 1980, through
// Boost.Odeint's runge_kutta_dopri5 with dense output), events and extrema located by bisection
// on the continuous extension between steps. The only file that includes Odeint (it compiles
// slowly).
#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>
#include <vector>

#include <boost/numeric/odeint.hpp>

#include "model.h"

namespace agentrt::plugins::sim {
namespace {

namespace odeint = boost::numeric::odeint;
using State = std::vector<double>;
using Stepper = odeint::dense_output_runge_kutta<
    odeint::controlled_runge_kutta<odeint::runge_kutta_dopri5<State>>>;

std::string num(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

// The right-hand side as Odeint calls it. Odeint copies the functor, so it borrows its scratch.
struct Rhs {
  const Model* model;
  std::vector<double>* slots;
  void operator()(const State& x, State& dxdt, double t) const {
    std::vector<double>& s = *slots;
    s[0] = t;
    std::copy(x.begin(), x.end(), s.begin() + 1);
    for (std::size_t i = 0; i < x.size(); ++i) dxdt[i] = model->rhs[i].evaluate(s);
  }
};

class Integrator {
 public:
  Integrator(const Model& model, const Options& options)
      : model_(model),
        options_(options),
        rhs_slots_(model.make_slots()),
        slots_(model.make_slots()),
        x_(model.n_state) {}

  calc::Result<Outcome> run() {
    const std::size_t n_q = model_.n_state + model_.n_obs;
    out_.names.assign(model_.slot_names.begin() + 1,
                      model_.slot_names.begin() + 1 + static_cast<std::ptrdiff_t>(model_.n_state));
    for (std::size_t j = 0; j < model_.n_obs; ++j) {
      out_.names.push_back(model_.slot_names[model_.obs_slot(j)]);
    }
    out_.n_state = model_.n_state;
    out_.extrema.assign(n_q, Extremum{});
    rate_prev_.assign(n_q, 0.0);

    model_.fill(model_.t0, model_.x0, slots_);
    for (std::size_t q = 0; q < n_q; ++q) {
      const double v = quantity(q);
      if (!std::isfinite(v)) {
        return calc::Error{"'" + out_.names[q] + "' is not finite at t0 = " + num(model_.t0), 0};
      }
      out_.extrema[q] = Extremum{v, model_.t0, v, model_.t0, 0, 0.0, 0.0};
      rate_prev_[q] = rate(q);
    }
    value_prev_.assign(n_q, 0.0);
    for (std::size_t q = 0; q < n_q; ++q) value_prev_[q] = quantity(q);
    model_.until.truths(slots_, truths_prev_);
    if (!model_.until.empty() && model_.until.holds(truths_prev_)) {
      out_.event = true;
      t_stop_ = model_.t0;
      record_final();
      out_.sample_t = {model_.t0};
      out_.samples.assign(n_q, {});
      for (std::size_t q = 0; q < n_q; ++q) out_.samples[q].push_back(quantity(q));
      return std::move(out_);
    }

    // Pass 1 finds where the run stops; when an event stops it before the planned end, pass 2
    // repeats the identical steps to sample the trajectory on a grid that ends at the event.
    const bool grid_known = std::isfinite(model_.t_end);
    plan_grid(grid_known ? model_.t_end : model_.t0);
    if (auto r = pass(true, grid_known); !r) return r.error();
    if (!grid_known || t_stop_ < model_.t_end) {
      plan_grid(t_stop_);
      if (auto r = pass(false, true); !r) return r.error();
    }
    return std::move(out_);
  }

 private:
  double quantity(std::size_t q) const {
    return q < model_.n_state ? slots_[model_.state_slot(q)]
                              : slots_[model_.obs_slot(q - model_.n_state)];
  }
  double rate(std::size_t q) const {
    const auto& r = model_.rates[q];
    return r ? r->evaluate(slots_) : 0.0;
  }
  // Fills slots_ at T from the dense output of the current step.
  void at(const Stepper& st, double t) {
    if (t == st.current_time()) {
      model_.fill(t, st.current_state(), slots_);
      return;
    }
    st.calc_state(t, x_);
    model_.fill(t, x_, slots_);
  }

  void plan_grid(double t_last) {
    const std::size_t n = t_last > model_.t0 ? std::max<std::size_t>(options_.samples, 2) : 1;
    out_.sample_t.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
      out_.sample_t[i] = i + 1 == n ? t_last
                                    : model_.t0 + (t_last - model_.t0) * static_cast<double>(i) /
                                                      static_cast<double>(n - 1);
    }
    out_.samples.assign(model_.n_state + model_.n_obs, {});
    next_sample_ = 0;
  }

  void take_samples(const Stepper& st, double upto) {
    while (next_sample_ < out_.sample_t.size() && out_.sample_t[next_sample_] <= upto) {
      at(st, out_.sample_t[next_sample_++]);
      for (std::size_t q = 0; q < out_.samples.size(); ++q) out_.samples[q].push_back(quantity(q));
    }
  }

  // Call with slots_ filled at t_stop_.
  void record_final() {
    out_.t_final = t_stop_;
    out_.final_state.clear();
    for (std::size_t q = 0; q < model_.n_state + model_.n_obs; ++q) {
      out_.final_state.push_back(quantity(q));
    }
  }

  double initial_dt() const {
    if (std::isfinite(model_.t_end)) return (model_.t_end - model_.t0) / 1000.0;
    return 1e-3 * std::max(1.0, std::abs(model_.t0) * 1e-6);
  }

  // One integration from t0. FIRST: the pass that finds events and extrema; SAMPLE: collect the
  // grid (in pass 1 only when the grid is already known).
  calc::Result<bool> pass(bool first, bool sample) {
    Stepper st = odeint::make_dense_output(options_.abs_tol, options_.rel_tol, options_.max_step,
                                           odeint::runge_kutta_dopri5<State>());
    st.initialize(model_.x0, model_.t0, initial_dt());
    const Rhs rhs{&model_, &rhs_slots_};
    const double t_target = first ? model_.t_end : t_stop_;
    std::size_t steps = 0;
    if (sample) {
      model_.fill(model_.t0, model_.x0, slots_);
      for (std::size_t q = 0; q < out_.samples.size(); ++q) out_.samples[q].push_back(quantity(q));
      next_sample_ = 1;
    }
    while (true) {
      if (steps >= options_.max_steps) {
        return calc::Error{"stopped at the step limit (" + std::to_string(options_.max_steps) +
                               " steps) at t = " + num(st.current_time()) + limit_hint(),
                           0};
      }
      if (options_.should_stop && options_.should_stop()) {
        return calc::Error{"stopped at the time limit (deadline or cancellation) at t = " +
                               num(st.current_time()) + " after " + std::to_string(steps) +
                               " steps",
                           0};
      }
      double a = 0.0;
      double b = 0.0;
      try {
        std::tie(a, b) = st.do_step(rhs);
      } catch (const std::exception&) {
        return calc::Error{
            "the integrator found no usable step size near t = " + num(st.current_time()) +
                ": the system is probably stiff or singular there",
            0};
      }
      ++steps;
      if (!std::isfinite(b) || std::abs(b) > 1e300) {
        // Steps grow without bound when the solution is smooth enough (y' = 1).
        return calc::Error{"t ran away to " + num(a) + " without the until condition '" +
                               model_.until.text + "' holding; check that it can become true",
                           0};
      }
      const State& xb = st.current_state();
      if (!std::isfinite(b) ||
          !std::all_of(xb.begin(), xb.end(), [](double v) { return std::isfinite(v); })) {
        return calc::Error{"the solution blew up (a value became infinite or NaN) near t = " +
                               num(a) + "; the system may be singular there",
                           0};
      }
      if (b - a <= 1e-14 * std::max(std::abs(a), std::abs(b))) {
        return calc::Error{"the step size fell below the resolution of t near t = " + num(a) +
                               ": the solution is probably singular (blow-up) there or the "
                               "system is very stiff",
                           0};
      }
      bool stop = b >= t_target;
      double c = std::min(b, t_target);
      if (first) {
        if (!model_.until.empty()) {
          if (const auto t_event = find_event(st, a, c)) {
            c = *t_event;
            stop = true;
            out_.event = true;
          }
        }
        if (auto r = track_extrema(st, a, c); !r) return r.error();
      }
      if (sample) take_samples(st, c);
      if (stop) {
        t_stop_ = c;
        if (first) {
          at(st, c);
          out_.steps = steps;
          record_final();
        }
        return true;
      }
    }
  }

  std::string limit_hint() const {
    std::string hint = " before reaching ";
    hint += std::isfinite(model_.t_end) ? "t_end = " + num(model_.t_end)
                                        : "the until condition '" + model_.until.text + "'";
    return hint +
           "; raise max_steps, shorten the duration, or loosen the tolerances (the "
           "system may be stiff)";
  }

  // The first time in (lo, hi] where CHANGED() (read from slots_) is true, given that it is false
  // at lo and true at hi: bisection on the dense output down to adjacent doubles.
  template <class Pred>
  double bisect(const Stepper& st, double lo, double hi, Pred changed) {
    while (true) {
      const double mid = lo + (hi - lo) / 2;
      if (mid <= lo || mid >= hi) return hi;
      at(st, mid);
      (changed() ? hi : lo) = mid;
    }
  }

  // First time in (a, c] where the condition holds, given that it fails at a. Its truth can only
  // change where one of its comparisons flips, so each flipping comparison is located by
  // bisection and the condition is tested at
  // those times in order. A comparison that flips twice within one step goes unseen: max_step
  // bounds that.
  std::optional<double> find_event(const Stepper& st, double a, double c) {
    const Condition& until = model_.until;
    at(st, c);
    until.truths(slots_, truths_now_);
    flips_.clear();
    for (std::size_t i = 0; i < until.atoms.size(); ++i) {
      if (truths_now_[i] == truths_prev_[i]) continue;
      const bool before = truths_prev_[i] != 0;
      flips_.push_back(bisect(st, a, c, [&] { return until.atom_holds(i, slots_) != before; }));
    }
    std::sort(flips_.begin(), flips_.end());
    for (const double t : flips_) {
      at(st, t);
      if (until.holds(slots_)) return t;
    }
    truths_prev_ = truths_now_;
    return std::nullopt;
  }

  // Updates the extrema over the step [a, c]: the endpoint values, and interior turning points
  // where a known rate changes sign (located by bisection on the dense output). Quantities with
  // no known rate are probed inside the step instead (see probe_turning_points).
  calc::Result<bool> track_extrema(const Stepper& st, double a, double c) {
    const std::size_t n_q = model_.n_state + model_.n_obs;
    at(st, c);
    rate_now_.resize(n_q);
    value_now_.resize(n_q);
    for (std::size_t q = 0; q < n_q; ++q) {
      const double v = quantity(q);
      if (!std::isfinite(v)) {
        return calc::Error{"'" + out_.names[q] + "' is not finite near t = " + num(c), 0};
      }
      update(q, v, c);
      rate_now_[q] = rate(q);
      value_now_[q] = v;
    }
    for (std::size_t q = 0; q < n_q; ++q) {
      if (!model_.rates[q]) probe_turning_points(st, q, a, c);
      const double ra = rate_prev_[q];
      const double rc = rate_now_[q];
      if (!model_.rates[q] || ra == 0.0 || !(ra * rc <= 0.0)) continue;
      const double t_turn =
          rc == 0.0 ? c : bisect(st, a, c, [&] { return (ra > 0) != (rate(q) > 0); });
      at(st, t_turn);
      update(q, quantity(q), t_turn);
      if (ra > 0) {
        Extremum& e = out_.extrema[q];
        if (e.n_maxima++ == 0) e.first_max_t = t_turn;
        e.last_max_t = t_turn;
      }
    }
    rate_prev_ = rate_now_;
    value_prev_ = value_now_;
    return true;
  }

  // A turning point of a quantity without a known rate shows as an interior maximum or minimum
  // among a few dense-output points of the step; golden-section search (Kiefer 1953) on the
  // bracket around it refines it. A turning point right at a step boundary keeps the boundary
  // value.
  void probe_turning_points(const Stepper& st, std::size_t q, double a, double c) {
    constexpr std::size_t kParts = 4;
    std::array<double, kParts + 1> ts{};
    std::array<double, kParts + 1> vs{};
    for (std::size_t k = 0; k <= kParts; ++k) {
      ts[k] = k == kParts ? c : a + (c - a) * static_cast<double>(k) / kParts;
    }
    vs[0] = value_prev_[q];
    vs[kParts] = value_now_[q];
    for (std::size_t k = 1; k < kParts; ++k) {
      at(st, ts[k]);
      vs[k] = quantity(q);
      update(q, vs[k], ts[k]);
    }
    for (const double sign : {1.0, -1.0}) {
      std::size_t best = 0;
      for (std::size_t k = 1; k <= kParts; ++k) {
        if (sign * vs[k] > sign * vs[best]) best = k;
      }
      if (best == 0 || best == kParts) continue;
      double scale = 0.0;
      for (const double v : vs) scale = std::max(scale, std::abs(v));
      // A flat quantity (a conserved energy) peaks at rounding noise: nothing to refine.
      if (sign * vs[best] - std::max(sign * vs[0], sign * vs[kParts]) <= 1e-13 * scale) continue;
      auto f = [&](double t) {
        at(st, t);
        return sign * quantity(q);
      };
      const double g = (std::sqrt(5.0) - 1) / 2;
      double lo = ts[best - 1];
      double hi = ts[best + 1];
      double x1 = hi - g * (hi - lo);
      double x2 = lo + g * (hi - lo);
      double f1 = f(x1);
      double f2 = f(x2);
      for (int i = 0; i < 100 && x1 < x2; ++i) {
        if (f1 >= f2) {
          hi = x2;
          x2 = x1;
          f2 = f1;
          x1 = hi - g * (hi - lo);
          f1 = f(x1);
        } else {
          lo = x1;
          x1 = x2;
          f1 = f2;
          x2 = lo + g * (hi - lo);
          f2 = f(x2);
        }
      }
      if (std::isfinite(f1)) update(q, sign * f1, x1);
      if (std::isfinite(f2)) update(q, sign * f2, x2);
    }
  }

  void update(std::size_t q, double v, double t) {
    Extremum& e = out_.extrema[q];
    if (v < e.min) {
      e.min = v;
      e.t_min = t;
    }
    if (v > e.max) {
      e.max = v;
      e.t_max = t;
    }
  }

  const Model& model_;
  const Options& options_;
  std::vector<double> rhs_slots_;  // scratch of the right-hand side
  std::vector<double> slots_;      // scratch of everything else
  State x_;                        // dense-output state
  std::vector<double> rate_prev_;  // (quantity) rates at the start of the current step
  std::vector<double> rate_now_;
  std::vector<double> value_prev_;  // (quantity) values at the start of the current step
  std::vector<double> value_now_;
  std::vector<char> truths_prev_;  // (atom) the until comparisons at the start of the step
  std::vector<char> truths_now_;
  std::vector<double> flips_;  // times in the step where a comparison flips
  std::size_t next_sample_ = 0;
  double t_stop_ = 0.0;
  Outcome out_;
};

}  // namespace

calc::Result<Outcome> simulate(const Problem& problem, const Options& options) {
  if (!(options.abs_tol > 0) || !(options.rel_tol > 0) || options.abs_tol > 1 ||
      options.rel_tol > 1) {
    return calc::Error{"abs_tol and rel_tol must be in (0, 1]", 0};
  }
  if (!(options.max_step >= 0) || !std::isfinite(options.max_step)) {
    return calc::Error{"max_step must be a positive number (or 0 for no limit)", 0};
  }
  if (options.max_steps == 0) return calc::Error{"max_steps must be at least 1", 0};
  auto model = compile_model(problem);
  if (!model) return model.error();
  Integrator integrator(model.value(), options);
  return integrator.run();
}

}  // namespace agentrt::plugins::sim
