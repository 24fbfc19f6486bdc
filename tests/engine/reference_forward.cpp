#include "reference_forward.h"

#include <algorithm>
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
  const std::string arch = f.require_string("general.architecture");
  const bool gemma3 = arch == "gemma3";
  const std::string a = arch + ".";
  const int64_t n_embd = f.require_int(a + "embedding_length");
  const int64_t n_layer = f.require_int(a + "block_count");
  const int64_t n_head = f.require_int(a + "attention.head_count");
  const int64_t n_head_kv = f.get_int(a + "attention.head_count_kv", n_head);
  const double eps = f.get_float(a + "attention.layer_norm_rms_epsilon", gemma3 ? 1e-6 : 1e-5);
  const double base = f.get_float(a + "rope.freq_base", 10000.0);
  double pos_scale = 1.0;
  if (f.get_string(a + "rope.scaling.type", "") == "linear")
    pos_scale = 1.0 / f.get_float(a + "rope.scaling.factor", 1.0);
  const int64_t hd = f.get_int(a + "attention.key_length", n_embd / n_head);
  // Gemma 3 (as llama.cpp runs it): sliding-window layers (all but every period-th) with RoPE
  // base 10000 and no scaling, NeoX-layout RoPE, GeGLU, sqrt(n_embd)-scaled embeddings.
  const int64_t window = gemma3 ? f.get_int(a + "attention.sliding_window", 0) : 0;
  const int64_t period = f.get_int(a + "attention.sliding_window_pattern", 6);
  const double softcap = f.get_float(a + "final_logit_softcapping", 0.0);
  auto sliding = [&](int64_t il) { return window > 0 && il % period < period - 1; };

  const Tensor embd = load(f, "token_embd.weight");
  const Tensor out_norm = load(f, "output_norm.weight");
  const Tensor output = f.find_tensor("output.weight") ? load(f, "output.weight") : embd;
  const int64_t n_vocab = embd.rows;
  const size_t n = tokens.size();

  std::vector<std::vector<double>> x(n);
  for (size_t t = 0; t < n; ++t) {
    x[t].assign(embd.data.begin() + tokens[t] * n_embd,
                embd.data.begin() + (tokens[t] + 1) * n_embd);
    if (gemma3)
      for (double& e : x[t]) e *= std::sqrt(static_cast<double>(n_embd));
  }

  // Rotates element pairs of each head: (2i, 2i+1) for Llama, (i, i + hd/2) for Gemma.
  auto rotate = [&](std::vector<double>& v, int64_t heads, size_t pos, double b, double scale) {
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t i = 0; i < hd / 2; ++i) {
        const double theta = pos * scale * std::pow(b, -2.0 * i / hd);
        double& e0 = v[h * hd + (gemma3 ? i : 2 * i)];
        double& e1 = v[h * hd + (gemma3 ? i + hd / 2 : 2 * i + 1)];
        const double a0 = e0, b0 = e1;
        e0 = a0 * std::cos(theta) - b0 * std::sin(theta);
        e1 = a0 * std::sin(theta) + b0 * std::cos(theta);
      }
  };
  // RMSNorm of each head of v, in place.
  auto norm_heads = [&](std::vector<double>& v, int64_t heads, const Tensor& w) {
    for (int64_t h = 0; h < heads; ++h) {
      std::vector<double> head(v.begin() + h * hd, v.begin() + (h + 1) * hd);
      head = rmsnorm(head, w, eps);
      std::copy(head.begin(), head.end(), v.begin() + h * hd);
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
    Tensor q_norm, k_norm, post_attn_norm, post_ffn_norm;
    if (gemma3) {
      q_norm = load(f, p + "attn_q_norm.weight");
      k_norm = load(f, p + "attn_k_norm.weight");
      post_attn_norm = load(f, p + "post_attention_norm.weight");
      post_ffn_norm = load(f, p + "post_ffw_norm.weight");
    }
    const bool swa = sliding(il);
    const double layer_base = swa ? 10000.0 : base, layer_scale = swa ? 1.0 : pos_scale;
    std::vector<std::vector<double>> q(n), k(n), v(n);
    for (size_t t = 0; t < n; ++t) {
      const auto xn = rmsnorm(x[t], attn_norm, eps);
      q[t] = matvec(wq, xn);
      k[t] = matvec(wk, xn);
      v[t] = matvec(wv, xn);
      if (gemma3) {
        norm_heads(q[t], n_head, q_norm);
        norm_heads(k[t], n_head_kv, k_norm);
      }
      rotate(q[t], n_head, t, layer_base, layer_scale);
      rotate(k[t], n_head_kv, t, layer_base, layer_scale);
    }
    for (size_t t = 0; t < n; ++t) {
      const size_t first = swa && t + 1 > static_cast<size_t>(window) ? t + 1 - window : 0;
      std::vector<double> att(static_cast<size_t>(n_head * hd), 0.0);
      for (int64_t h = 0; h < n_head; ++h) {
        const int64_t kvh = h / (n_head / n_head_kv);
        std::vector<double> s(t + 1, 0.0);
        double max = -1e300;
        for (size_t p2 = first; p2 <= t; ++p2) {
          double d = 0.0;
          for (int64_t i = 0; i < hd; ++i) d += q[t][h * hd + i] * k[p2][kvh * hd + i];
          s[p2] = d / std::sqrt(static_cast<double>(hd));
          max = std::max(max, s[p2]);
        }
        double sum = 0.0;
        for (size_t p2 = first; p2 <= t; ++p2) sum += (s[p2] = std::exp(s[p2] - max));
        for (size_t p2 = first; p2 <= t; ++p2)
          for (int64_t i = 0; i < hd; ++i) att[h * hd + i] += s[p2] / sum * v[p2][kvh * hd + i];
      }
      auto o = matvec(wo, att);
      if (gemma3) o = rmsnorm(o, post_attn_norm, eps);
      for (int64_t i = 0; i < n_embd; ++i) x[t][i] += o[i];
      const auto xn = rmsnorm(x[t], ffn_norm, eps);
      auto g = matvec(w1, xn);
      const auto u = matvec(w3, xn);
      for (size_t i = 0; i < g.size(); ++i) {
        const double z = g[i];
        g[i] = gemma3
                   ? 0.5 * z * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (z + 0.044715 * z * z * z)))
                   : z / (1.0 + std::exp(-z));
        g[i] *= u[i];
      }
      auto d = matvec(w2, g);
      if (gemma3) d = rmsnorm(d, post_ffn_norm, eps);
      for (int64_t i = 0; i < n_embd; ++i) x[t][i] += d[i];
    }
  }
  std::vector<double> logits;
  logits.reserve(n * static_cast<size_t>(n_vocab));
  for (size_t t = 0; t < n; ++t) {
    auto l = matvec(output, rmsnorm(x[t], out_norm, eps));
    if (softcap > 0)
      for (double& e : l) e = softcap * std::tanh(e / softcap);
    logits.insert(logits.end(), l.begin(), l.end());
  }
  return logits;
}

}  // namespace agentrt::test
