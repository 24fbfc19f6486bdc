// Search latency on a generated collection: builds an index of N synthetic documents (English-
// like words with a Zipf distribution, one in ten documents Chinese) and times Q queries.
//
//   bench_search [--docs 100000] [--queries 2000] [--k 5] [--seed 1] [--dir DIR]
//
// Prints the index build time and size, the time to open the index (the search tool does that
// per call), and p50 / p99 / mean query latency (SearchIndex::search, snippets included) overall
// and per language.
#include <agentrt/plugins/search.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Options {
  int docs = 100'000;
  int queries = 2000;
  int k = 5;
  uint64_t seed = 1;
  fs::path dir;
};

// Draws ranks 0..n-1 with probability proportional to 1/(rank+1).
class Zipf {
 public:
  explicit Zipf(size_t n) : cdf_(n) {
    double sum = 0;
    for (size_t i = 0; i < n; ++i) cdf_[i] = sum += 1.0 / static_cast<double>(i + 1);
    for (double& c : cdf_) c /= sum;
  }
  size_t operator()(std::mt19937_64& rng) const {
    const double u = std::uniform_real_distribution<double>(0, 1)(rng);
    return static_cast<size_t>(std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin());
  }

 private:
  std::vector<double> cdf_;
};

std::vector<std::string> make_vocabulary(size_t n, std::mt19937_64& rng) {
  static const char* syllables[] = {"ka",  "lo",  "mi", "ren", "sta", "vor", "ul",  "te", "bri",
                                    "dan", "sel", "qu", "ox",  "pe",  "zar", "hin", "ga", "mo"};
  std::vector<std::string> words;
  words.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    std::string w;
    const int parts = 1 + static_cast<int>(rng() % 3);
    for (int p = 0; p < parts; ++p) w += syllables[rng() % std::size(syllables)];
    words.push_back(w + std::to_string(i % 97));
  }
  return words;
}

std::string cjk_char(size_t index) {  // index < 3000: common ideographs from U+4E00
  const char32_t c = 0x4E00 + static_cast<char32_t>(index * 7 % 20000);
  std::string out;
  out += static_cast<char>(0xE0 | (c >> 12));
  out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
  out += static_cast<char>(0x80 | (c & 0x3F));
  return out;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

void report(const char* label, const std::vector<double>& ms) {
  double sum = 0;
  for (double x : ms) sum += x;
  std::printf("  %-8s %5zu queries  p50 %7.3f ms  p99 %7.3f ms  mean %7.3f ms\n", label, ms.size(),
              percentile(ms, 0.50), percentile(ms, 0.99), ms.empty() ? 0.0 : sum / ms.size());
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--docs") {
      o.docs = std::stoi(value());
    } else if (a == "--queries") {
      o.queries = std::stoi(value());
    } else if (a == "--k") {
      o.k = std::stoi(value());
    } else if (a == "--seed") {
      o.seed = std::stoull(value());
    } else if (a == "--dir") {
      o.dir = value();
    } else {
      throw std::runtime_error("unknown option " + a);
    }
  }
  if (o.dir.empty()) o.dir = fs::temp_directory_path() / "agentrt_bench_search";
  return o;
}

}  // namespace

int main(int argc, char** argv) try {
  const Options o = parse(argc, argv);
  std::mt19937_64 rng(o.seed);
  const auto vocab = make_vocabulary(20'000, rng);
  const Zipf zipf_words(vocab.size());
  const Zipf zipf_chars(3000);
  fs::create_directories(o.dir);
  const fs::path source = o.dir / "generated.jsonl";
  const fs::path index = o.dir / "generated.idx";

  std::vector<std::string> cjk_phrases;  // query material taken from the Chinese documents
  {
    std::ofstream out(source, std::ios::binary);
    for (int d = 0; d < o.docs; ++d) {
      std::string title, text;
      const int n_title = 2 + static_cast<int>(rng() % 4);
      for (int i = 0; i < n_title; ++i) title += (i ? " " : "") + vocab[zipf_words(rng)];
      if (d % 10 == 9) {
        const int n = 60 + static_cast<int>(rng() % 90);
        for (int i = 0; i < n; ++i) {
          text += cjk_char(zipf_chars(rng));
          if (rng() % 12 == 0) text += "，";
        }
        if (cjk_phrases.size() < 5000) {
          const size_t chars = (text.size()) / 3;
          const size_t at = rng() % (chars - 8);
          cjk_phrases.push_back(text.substr(at * 3, (2 + rng() % 4) * 3));
        }
      } else {
        const int n = 40 + static_cast<int>(rng() % 80);
        for (int i = 0; i < n; ++i) text += (i ? " " : "") + vocab[zipf_words(rng)];
      }
      out << nlohmann::json{{"id", std::to_string(d)}, {"title", title}, {"text", text}}.dump()
          << "\n";
    }
  }
  fs::remove(index);
  auto start = Clock::now();
  const auto stats = agentrt::plugins::search::build_index({source}, index);
  const double build_s = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("documents %lld, index built in %.1f s, %.1f MB\n",
              static_cast<long long>(stats.documents), build_s,
              static_cast<double>(fs::file_size(index)) / 1e6);

  // The search tool opens the index on every call: what that adds.
  std::vector<double> opens;
  for (int i = 0; i < 50; ++i) {
    start = Clock::now();
    agentrt::plugins::search::SearchIndex reopened(index);
    opens.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  std::printf("open (per tool call): p50 %.3f ms\n", percentile(opens, 0.5));

  agentrt::plugins::search::SearchIndex searcher(index);
  std::vector<double> all, english, chinese;
  size_t total_hits = 0;
  for (int q = 0; q < o.queries; ++q) {
    std::string query;
    const bool cjk = q % 5 == 4 && !cjk_phrases.empty();
    if (cjk) {
      query = cjk_phrases[rng() % cjk_phrases.size()];
    } else {
      const int n = 1 + static_cast<int>(rng() % 4);
      for (int i = 0; i < n; ++i) query += (i ? " " : "") + vocab[zipf_words(rng)];
    }
    start = Clock::now();
    total_hits += searcher.search(query, o.k).size();
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    all.push_back(ms);
    (cjk ? chinese : english).push_back(ms);
  }
  std::printf("k = %d, %.2f results per query on average\n", o.k,
              static_cast<double>(total_hits) / o.queries);
  report("all", all);
  report("english", english);
  report("chinese", chinese);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench_search: %s\n", e.what());
  return 1;
}
