// The named systems. Each is an ordinary Problem in the calculator's language, so presets and
// free-form equations share one integrator; what is preset-specific is the parameter table and
// the summary (closed forms where they exist, for the reader to compare against).
#include "presets.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

namespace agentrt::plugins::sim {
namespace {

constexpr double kNone = std::numeric_limits<double>::quiet_NaN();
constexpr double kG = 6.67430e-11;           // m^3 kg^-1 s^-2, CODATA 2018
constexpr double kEarthGM = 3.986004418e14;  // m^3/s^2
constexpr double kDeg = std::numbers::pi / 180.0;

using Params = std::map<std::string, double>;

double get(const Params& p, const std::string& name) {
  return p.at(name);
}
bool has(const Params& p, const std::string& name) {
  return !std::isnan(p.at(name));
}

calc::Error bad(const std::string& message) {
  return calc::Error{message, 0};
}

// Builds the preset's Problem from complete parameters; errors for values out of range.
calc::Result<Problem> build(std::string_view name, Params& p) {
  Problem pr;
  if (name == "projectile") {
    if (!(get(p, "v0") >= 0)) return bad("v0 must be >= 0 m/s");
    if (!(std::abs(get(p, "angle")) <= 90)) return bad("angle must be between -90 and 90 degrees");
    if (!(get(p, "height") >= 0)) return bad("height must be >= 0 m");
    if (!(get(p, "g") > 0)) return bad("g must be > 0 m/s^2 (or the projectile never lands)");
    if (!(get(p, "mass") > 0)) return bad("mass must be > 0 kg");
    if (!(get(p, "rho") >= 0)) return bad("rho must be >= 0 kg/m^3");
    double k = 0.0;
    if (has(p, "k") && (has(p, "cd") || has(p, "area"))) {
      return bad("give the drag either as k or as cd and area, not both");
    }
    if (has(p, "cd") != has(p, "area")) return bad("quadratic drag needs both cd and area");
    if (has(p, "k")) k = get(p, "k");
    if (has(p, "cd")) {
      if (!(get(p, "cd") >= 0) || !(get(p, "area") >= 0)) return bad("cd and area must be >= 0");
      k = 0.5 * get(p, "rho") * get(p, "cd") * get(p, "area");
    }
    if (!(k >= 0)) return bad("k must be >= 0 kg/m");
    const double v0 = get(p, "v0");
    const double th = get(p, "angle") * kDeg;
    pr.parameters = {{"g", get(p, "g")}, {"b", k / get(p, "mass")}};
    pr.equations = {{"x", "vx"},
                    {"y", "vy"},
                    {"vx", "-b*sqrt(vx^2+vy^2)*vx"},
                    {"vy", "-g - b*sqrt(vx^2+vy^2)*vy"}};
    pr.initial = {
        {"x", 0.0}, {"y", get(p, "height")}, {"vx", v0 * std::cos(th)}, {"vy", v0 * std::sin(th)}};
    pr.observables = {{"speed", "sqrt(vx^2+vy^2)", "-b*speed^2 - g*vy/speed"}};
    pr.until = "y < 0";
  } else if (name == "pendulum") {
    if (!(get(p, "length") > 0)) return bad("length must be > 0 m");
    if (!(get(p, "g") > 0)) return bad("g must be > 0 m/s^2");
    if (!(get(p, "damping") >= 0)) return bad("damping must be >= 0 1/s");
    pr.parameters = {
        {"g", get(p, "g")}, {"length", get(p, "length")}, {"damping", get(p, "damping")}};
    // In degrees throughout, the unit the caller used for the angle.
    pr.equations = {{"theta", "omega"},
                    {"omega", "-(g/length)*sin(theta*pi/180)*180/pi - damping*omega"}};
    pr.initial = {{"theta", get(p, "angle")}, {"omega", get(p, "omega0")}};
    const double period = 2 * std::numbers::pi * std::sqrt(get(p, "length") / get(p, "g"));
    pr.t_end = 5.5 * period;
  } else if (name == "spring") {
    if (!(get(p, "m") > 0)) return bad("m must be > 0 kg");
    if (!(get(p, "k") > 0)) return bad("k must be > 0 N/m");
    if (!(get(p, "c") >= 0)) return bad("c must be >= 0 N*s/m");
    pr.parameters = {{"m", get(p, "m")}, {"k", get(p, "k")}, {"c", get(p, "c")}};
    pr.equations = {{"x", "v"}, {"v", "-(k*x + c*v)/m"}};
    pr.initial = {{"x", get(p, "x0")}, {"v", get(p, "v0")}};
    pr.observables = {{"energy", "0.5*m*v^2 + 0.5*k*x^2", "-c*v^2"}};
    pr.t_end = 5.5 * 2 * std::numbers::pi * std::sqrt(get(p, "m") / get(p, "k"));
  } else if (name == "orbit") {
    if (has(p, "GM") && has(p, "M")) return bad("give the central body as GM or as M, not both");
    const double gm = has(p, "M") ? kG * get(p, "M") : has(p, "GM") ? get(p, "GM") : kEarthGM;
    if (!(gm > 0)) return bad("GM (or M) must be > 0");
    p["GM"] = gm;
    const double x = get(p, "x0");
    const double y = get(p, "y0");
    const double r = std::hypot(x, y);
    if (!(r > 0)) return bad("the initial position must not be the centre (x0 = y0 = 0)");
    if (!(get(p, "radius") >= 0)) return bad("radius must be >= 0 m");
    if (get(p, "radius") >= r) return bad("the initial position is inside the central body");
    if (!has(p, "vx0") && !has(p, "vy0")) {
      const double vc = std::sqrt(gm / r);  // circular speed, counter-clockwise
      p["vx0"] = 0.0 - vc * y / r;          // 0.0 - ...: no -0 in the output
      p["vy0"] = vc * x / r;
    }
    if (!has(p, "vx0")) p["vx0"] = 0.0;
    if (!has(p, "vy0")) p["vy0"] = 0.0;
    const double vx = get(p, "vx0");
    const double vy = get(p, "vy0");
    pr.parameters = {{"GM", gm}, {"radius", get(p, "radius")}};
    pr.equations = {
        {"x", "vx"}, {"y", "vy"}, {"vx", "-GM*x/(x^2+y^2)^1.5"}, {"vy", "-GM*y/(x^2+y^2)^1.5"}};
    pr.initial = {{"x", x}, {"y", y}, {"vx", vx}, {"vy", vy}};
    pr.observables = {{"r", "sqrt(x^2+y^2)", "(x*vx+y*vy)/r"},
                      {"energy", "(vx^2+vy^2)/2 - GM/sqrt(x^2+y^2)", ""}};
    if (get(p, "radius") > 0) pr.until = "r < radius";
    const double energy = (vx * vx + vy * vy) / 2 - gm / r;
    if (energy < 0) {
      const double a = -gm / (2 * energy);
      pr.t_end = 2 * std::numbers::pi * std::sqrt(a * a * a / gm);
    } else {
      pr.t_end = 10 * r / std::max(std::hypot(vx, vy), 1e-300);
    }
  } else if (name == "logistic" || name == "exponential") {
    const double rate = get(p, "r");
    if (name == "logistic") {
      if (!(get(p, "K") > 0)) return bad("K must be > 0");
      pr.parameters = {{"r", rate}, {"K", get(p, "K")}};
      pr.equations = {{"P", "r*P*(1 - P/K)"}};
    } else {
      pr.parameters = {{"r", rate}};
      pr.equations = {{"P", "r*P"}};
    }
    if (!(get(p, "P0") >= 0)) return bad("P0 must be >= 0");
    pr.initial = {{"P", get(p, "P0")}};
    pr.t_end = rate != 0 ? 10 / std::abs(rate) : 10.0;
  }
  return pr;
}

void add(std::vector<SummaryItem>& s, std::string key, std::string label, double value,
         std::string unit) {
  if (std::isfinite(value)) s.push_back({std::move(key), std::move(label), value, std::move(unit)});
}

std::size_t index_of(const Outcome& o, const std::string& name) {
  return static_cast<std::size_t>(std::find(o.names.begin(), o.names.end(), name) -
                                  o.names.begin());
}

double measured_period(const Extremum& e) {
  if (e.n_maxima < 2) return kNone;
  return (e.last_max_t - e.first_max_t) / static_cast<double>(e.n_maxima - 1);
}

}  // namespace

const std::vector<PresetSpec>& preset_specs() {
  static const std::vector<PresetSpec> specs = {
      {"projectile",
       "2-D flight from (0, height) with gravity and optional quadratic drag (force k*v^2); stops "
       "when it hits the ground (y < 0)",
       {{"v0", 10, "m/s", "launch speed"},
        {"angle", 45, "degrees", "launch angle above horizontal"},
        {"height", 0, "m", "launch height"},
        {"g", 9.81, "m/s^2", "gravity"},
        {"mass", 1, "kg", "mass"},
        {"k", kNone, "kg/m", "drag constant, force = k*v^2 (or give cd and area)"},
        {"cd", kNone, "", "drag coefficient"},
        {"area", kNone, "m^2", "cross-section area"},
        {"rho", 1.225, "kg/m^3", "air density"}}},
      {"pendulum",
       "simple pendulum theta'' = -(g/length) sin(theta) - damping*theta' (theta in degrees); "
       "runs 5.5 small-angle periods",
       {{"length", 1, "m", "length"},
        {"g", 9.81, "m/s^2", "gravity"},
        {"angle", 10, "degrees", "initial angle"},
        {"omega0", 0, "degrees/s", "initial angular velocity"},
        {"damping", 0, "1/s", "damping rate"}}},
      {"spring",
       "mass on a spring with viscous damping, m x'' = -k x - c x'; runs 5.5 natural periods",
       {{"m", 1, "kg", "mass"},
        {"k", 1, "N/m", "spring constant"},
        {"c", 0, "N*s/m", "damping coefficient"},
        {"x0", 1, "m", "initial displacement"},
        {"v0", 0, "m/s", "initial velocity"}}},
      {"orbit",
       "test body around a fixed central mass (2-D Kepler problem); runs one orbital period (or "
       "10 r0/v0 when unbound), stops on impact when radius > 0",
       {{"GM", kNone, "m^3/s^2", "gravitational parameter (default Earth's, 3.986004418e14)"},
        {"M", kNone, "kg", "central mass, instead of GM"},
        {"x0", 7e6, "m", "initial x"},
        {"y0", 0, "m", "initial y"},
        {"vx0", kNone, "m/s", "initial x velocity (default: circular orbit)"},
        {"vy0", kNone, "m/s", "initial y velocity (default: circular orbit)"},
        {"radius", 0, "m", "central body radius"}}},
      {"logistic",
       "logistic growth P' = r P (1 - P/K); runs 10/r time units",
       {{"r", 0.5, "1/time", "growth rate"},
        {"K", 100, "individuals", "carrying capacity"},
        {"P0", 10, "individuals", "initial population"}}},
      {"exponential",
       "exponential growth P' = r P; runs 10/|r| time units",
       {{"r", 0.1, "1/time", "growth rate (negative for decay)"},
        {"P0", 1, "individuals", "initial population"}}},
  };
  return specs;
}

const PresetSpec* find_preset(std::string_view name) {
  for (const PresetSpec& s : preset_specs()) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

calc::Result<PresetRun> make_preset(std::string_view name,
                                    const std::map<std::string, double>& given) {
  const PresetSpec* spec = find_preset(name);
  if (spec == nullptr) {
    std::string names;
    for (const PresetSpec& s : preset_specs())
      names += (names.empty() ? "" : ", ") + std::string(s.name);
    return bad("unknown preset '" + std::string(name) + "' (presets: " + names + ")");
  }
  PresetRun run;
  run.name = spec->name;
  for (const ParamSpec& ps : spec->params) run.params[std::string(ps.name)] = ps.fallback;
  for (const auto& [key, value] : given) {
    if (!run.params.contains(key)) {
      std::string names;
      for (const ParamSpec& ps : spec->params) {
        names += (names.empty() ? "" : "; ") + std::string(ps.name) + ": " + std::string(ps.about);
        if (!ps.unit.empty()) names += " (" + std::string(ps.unit) + ")";
      }
      return bad("preset " + run.name + " has no parameter '" + key + "'; its parameters are " +
                 names);
    }
    if (!std::isfinite(value)) return bad("parameter '" + key + "' is not finite");
    run.params[key] = value;
  }
  auto problem = build(name, run.params);
  if (!problem) return problem.error();
  run.problem = std::move(problem).value();
  std::erase_if(run.params, [](const auto& kv) { return std::isnan(kv.second); });
  return run;
}

std::vector<SummaryItem> summarize(const PresetRun& run, const Outcome& o) {
  std::vector<SummaryItem> s;
  const Params& p = run.params;
  auto final_of = [&](const std::string& n) { return o.final_state.at(index_of(o, n)); };
  auto ext = [&](const std::string& n) -> const Extremum& { return o.extrema.at(index_of(o, n)); };
  const double t = o.t_final - run.problem.t0;
  if (run.name == "projectile") {
    if (o.event && run.problem.until == "y < 0") {
      add(s, "flight_time", "flight time", t, "s");
      add(s, "range", "range", final_of("x"), "m");
      add(s, "impact_speed", "impact speed", final_of("speed"), "m/s");
      add(s, "impact_angle", "impact angle below horizontal",
          std::atan2(-final_of("vy"), final_of("vx")) / kDeg, "degrees");
    }
    add(s, "max_height", "maximum height", ext("y").max, "m");
    add(s, "t_max_height", "time of maximum height", ext("y").t_max, "s");
  } else if (run.name == "pendulum") {
    const double l = get(p, "length");
    const double g = get(p, "g");
    add(s, "small_angle_period", "small-angle period 2*pi*sqrt(length/g)",
        2 * std::numbers::pi * std::sqrt(l / g), "s");
    if (get(p, "damping") == 0) {
      // Amplitude from energy conservation, then T = 4 sqrt(L/g) K(sin(amplitude/2)).
      const double w = get(p, "omega0") * kDeg;
      const double c = std::cos(get(p, "angle") * kDeg) - w * w * l / (2 * g);
      if (c > -1 && c < 1) {
        const double amp = std::acos(c);
        add(s, "exact_period", "exact period for this amplitude (elliptic integral)",
            4 * std::sqrt(l / g) * std::comp_ellint_1(std::sin(amp / 2)), "s");
      }
    }
    add(s, "measured_period", "period measured between successive maxima",
        measured_period(ext("theta")), "s");
    add(s, "amplitude", "largest |angle|", std::max(-ext("theta").min, ext("theta").max),
        "degrees");
  } else if (run.name == "spring") {
    const double m = get(p, "m");
    const double k = get(p, "k");
    add(s, "natural_period", "natural period 2*pi*sqrt(m/k)",
        2 * std::numbers::pi * std::sqrt(m / k), "s");
    add(s, "damping_ratio", "damping ratio c/(2*sqrt(m*k))", get(p, "c") / (2 * std::sqrt(m * k)),
        "");
    add(s, "measured_period", "period measured between successive maxima",
        measured_period(ext("x")), "s");
    const double e0 = 0.5 * m * get(p, "v0") * get(p, "v0") + 0.5 * k * get(p, "x0") * get(p, "x0");
    add(s, "energy_initial", "initial energy", e0, "J");
    add(s, "energy_final", "final energy", final_of("energy"), "J");
  } else if (run.name == "orbit") {
    const double gm = get(p, "GM");
    const double x = get(p, "x0"), y = get(p, "y0"), vx = get(p, "vx0"), vy = get(p, "vy0");
    const double r = std::hypot(x, y);
    const double v2 = vx * vx + vy * vy;
    const double energy = v2 / 2 - gm / r;
    const double rv = x * vx + y * vy;
    const double ex = ((v2 - gm / r) * x - rv * vx) / gm;
    const double ey = ((v2 - gm / r) * y - rv * vy) / gm;
    const double ecc = std::hypot(ex, ey);
    const double h = x * vy - y * vx;
    add(s, "specific_energy", "specific orbital energy", energy, "J/kg");
    add(s, "eccentricity", "eccentricity", ecc, "");
    add(s, "periapsis", "periapsis distance (Kepler)", h * h / (gm * (1 + ecc)), "m");
    if (energy < 0) {
      const double a = -gm / (2 * energy);
      add(s, "semi_major_axis", "semi-major axis", a, "m");
      add(s, "apoapsis", "apoapsis distance (Kepler)", a * (1 + ecc), "m");
      add(s, "period", "orbital period 2*pi*sqrt(a^3/GM)",
          2 * std::numbers::pi * std::sqrt(a * a * a / gm), "s");
    }
    add(s, "min_r", "closest distance over the run", ext("r").min, "m");
    add(s, "max_r", "farthest distance over the run", ext("r").max, "m");
    add(s, "energy_drift", "relative energy drift over the run",
        (ext("energy").max - ext("energy").min) / std::abs(energy), "");
  } else if (run.name == "logistic") {
    const double r = get(p, "r"), k = get(p, "K"), p0 = get(p, "P0");
    if (p0 > 0) {
      add(s, "closed_form", "closed form K/(1+(K-P0)/P0*e^(-r*t)) at the end",
          k / (1 + (k - p0) / p0 * std::exp(-r * t)), "individuals");
      if (r > 0 && p0 < k / 2) {
        add(s, "t_half_K", "time to reach K/2", std::log((k - p0) / p0) / r, "time units");
      }
    }
  } else if (run.name == "exponential") {
    const double r = get(p, "r");
    add(s, "closed_form", "closed form P0*e^(r*t) at the end", get(p, "P0") * std::exp(r * t),
        "individuals");
    if (r > 0) add(s, "doubling_time", "doubling time ln(2)/r", std::log(2.0) / r, "time units");
    if (r < 0) add(s, "half_life", "half-life ln(2)/|r|", std::log(2.0) / -r, "time units");
  }
  return s;
}

}  // namespace agentrt::plugins::sim
