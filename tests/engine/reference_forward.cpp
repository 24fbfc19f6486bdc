#include "reference_forward.h"

#include <cmath>
#include <string>

#include "agentrt/engine/gguf.h"

namespace agentrt::test {

namespace {

using Matrix = std::vector<double>;  // (rows, cols) row-major

struct Tensor {
  int64_t rows = 0, cols = 0;
  Matrix data;
};

Tensor load(const engine::GgufFile& f, const std::string& name) {
  const engine::GgufTensorInfo& t = f.require_tensor(name);
  Tensor out;
  out.cols = t.ne[0];
  out.rows = t.n_rows();
  out.data.resize(static_cast<size_t>(out.rows * out.cols));
  std::vector<float> row(static_cast<size_t>(out.cols));
  const size_t row_bytes = engine::row_size(t.type, out.cols);
  for (int64_t r = 0; r < out.rows; ++r) {
    engine::dequantize_row(t.type, static_cast<const uint8_t*>(t.data) + r * row_bytes, row.data(),
                           out.cols);
    for (int64_t c = 0; c < out.cols; ++c) out.data[r * out.cols + c] = row[c];
  }
  return out;
}

// y = W x for W (rows, cols), x (cols)
std::vector<double> matvec(const Tensor& w, const std::vector<double>& x) {
  std::vector<double> y(static_cast<size_t>(w.rows), 0.0);
  for (int64_t r = 0; r < w.rows; ++r) {
    double s = 0.0;
    for (int64_t c = 0; c < w.cols; ++c) s += w.data[r * w.cols + c] * x[c];
    y[r] = s;
  }
  return y;
}

std::vector<double> rmsnorm(const std::vector<double>& x, const Tensor& w, double eps) {
  double ss = 0.0;
  for (double v : x) ss += v * v;
  const double scale = 1.0 / std::sqrt(ss / x.size() + eps);
  std::vector<double> y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * scale * w.data[i];
  return y;
}

}  // namespace

std::vector<double> reference_logits(const std::filesystem::path& path,
                                     const std::vector<int>& tokens) {
  auto file = engine::GgufFile::open(path);
  const engine::GgufFile& f = *file;
  const int64_t n_embd = f.require_int("llama.embedding_length");
  const int64_t n_layer = f.require_int("llama.block_count");
  const int64_t n_head = f.require_int("llama.attention.head_count");
  const int64_t n_head_kv = f.get_int("llama.attention.head_count_kv", n_head);
  const double eps = f.get_float("llama.attention.layer_norm_rms_epsilon", 1e-5);
  const double base = f.get_float("llama.rope.freq_base", 10000.0);
  double pos_scale = 1.0;
  if (f.get_string("llama.rope.scaling.type", "") == "linear")
    pos_scale = 1.0 / f.get_float("llama.rope.scaling.factor", 1.0);
  const int64_t hd = n_embd / n_head;

  const Tensor embd = load(f, "token_embd.weight");
  const Tensor out_norm = load(f, "output_norm.weight");
  const Tensor output = f.find_tensor("output.weight") ? load(f, "output.weight") : embd;
  const int64_t n_vocab = embd.rows;
  const size_t n = tokens.size();

  std::vector<std::vector<double>> x(n);
  for (size_t t = 0; t < n; ++t)
    x[t].assign(embd.data.begin() + tokens[t] * n_embd,
                embd.data.begin() + (tokens[t] + 1) * n_embd);

  auto rotate = [&](std::vector<double>& v, int64_t heads, size_t pos) {
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < hd / 2; ++i) {
        const double theta = pos * pos_scale * std::pow(base, -2.0 * i / hd);
        double& a = v[h * hd + 2 * i];
        double& b = v[h * hd + 2 * i + 1];
        const double a0 = a, b0 = b;
        a = a0 * std::cos(theta) - b0 * std::sin(theta);
        b = a0 * std::sin(theta) + b0 * std::cos(theta);
      }
  };

  for (int64_t il = 0; il < n_layer; ++il) {
    const std::string p = "blk." + std::to_string(il) + ".";
    const Tensor attn_norm = load(f, p + "attn_norm.weight"),
                 ffn_norm = load(f, p + "ffn_norm.weight");
    const Tensor wq = load(f, p + "attn_q.weight"), wk = load(f, p + "attn_k.weight"),
                 wv = load(f, p + "attn_v.weight"), wo = load(f, p + "attn_output.weight");
    const Tensor w1 = load(f, p + "ffn_gate.weight"), w2 = load(f, p + "ffn_down.weight"),
                 w3 = load(f, p + "ffn_up.weight");
    std::vector<std::vector<double>> q(n), k(n), v(n);
    for (size_t t = 0; t < n; ++t) {
      const auto xn = rmsnorm(x[t], attn_norm, eps);
      q[t] = matvec(wq, xn);
      k[t] = matvec(wk, xn);
      v[t] = matvec(wv, xn);
      rotate(q[t], n_head, t);
      rotate(k[t], n_head_kv, t);
    }
    for (size_t t = 0; t < n; ++t) {
      std::vector<double> att(static_cast<size_t>(n_head * hd), 0.0);
      for (int64_t h = 0; h < n_head; ++h) {
        const int64_t kvh = h / (n_head / n_head_kv);
        std::vector<double> s(t + 1);
        double max = -1e300;
        for (size_t p2 = 0; p2 <= t; ++p2) {
          double d = 0.0;
          for (int64_t i = 0; i < hd; ++i) d += q[t][h * hd + i] * k[p2][kvh * hd + i];
          s[p2] = d / std::sqrt(static_cast<double>(hd));
          max = std::max(max, s[p2]);
        }
        double sum = 0.0;
        for (double& e : s) sum += (e = std::exp(e - max));
        for (size_t p2 = 0; p2 <= t; ++p2)
          for (int64_t i = 0; i < hd; ++i) att[h * hd + i] += s[p2] / sum * v[p2][kvh * hd + i];
      }
      const auto o = matvec(wo, att);
      for (int64_t i = 0; i < n_embd; ++i) x[t][i] += o[i];
      const auto xn = rmsnorm(x[t], ffn_norm, eps);
      auto g = matvec(w1, xn);
      const auto u = matvec(w3, xn);
      for (size_t i = 0; i < g.size(); ++i) g[i] = g[i] / (1.0 + std::exp(-g[i])) * u[i];
      const auto d = matvec(w2, g);
      for (int64_t i = 0; i < n_embd; ++i) x[t][i] += d[i];
    }
  }
  std::vector<double> logits;
  logits.reserve(n * static_cast<size_t>(n_vocab));
  for (size_t t = 0; t < n; ++t) {
    const auto l = matvec(output, rmsnorm(x[t], out_norm, eps));
    logits.insert(logits.end(), l.begin(), l.end());
  }
  return logits;
}

}  // namespace agentrt::test
