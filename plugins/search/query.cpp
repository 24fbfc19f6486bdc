#include "query.h"

#include <agentrt/plugins/search.h>

#include <algorithm>
#include <set>

#include "sqlite_util.h"
#include "text_units.h"

namespace agentrt::plugins::search {
namespace {

bool is_ascii_alnum(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

struct Hit {
  size_t begin;
  size_t end;
  size_t term;
};

// Byte offset of the start of the code point containing `i`.
size_t char_start(std::string_view s, size_t i) {
  while (i > 0 && i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  return i;
}

}  // namespace

std::vector<std::string> query_terms(std::string_view query) {
  const std::string clean = sqlite::sanitize_utf8(query);
  std::vector<std::string> terms;
  std::set<std::string> seen;
  const auto add = [&](std::string_view term) {
    if (terms.size() < kMaxTerms && seen.insert(ascii_lower(term)).second) terms.emplace_back(term);
  };
  for (const TextUnit& unit : split_units(clean)) {
    if (unit.kind == UnitKind::kWord) {
      add(unit.text);
      continue;
    }
    std::vector<size_t> starts;
    for (size_t i = 0; i < unit.text.size();) {
      size_t n = 0;
      decode_utf8(unit.text, i, n);
      starts.push_back(i);
      i += n;
    }
    starts.push_back(unit.text.size());
    if (starts.size() == 2) {
      add(unit.text);
    } else {
      for (size_t k = 0; k + 2 < starts.size(); ++k)
        add(unit.text.substr(starts[k], starts[k + 2] - starts[k]));
    }
  }
  return terms;
}

std::string match_expression_of(const std::vector<std::string>& terms) {
  std::string expr;
  for (const std::string& term : terms) {
    if (!expr.empty()) expr += " OR ";
    expr += '"';
    for (char c : term) {
      if (c == '"') expr += '"';  // FTS5 strings escape a quote by doubling it
      expr += c;
    }
    expr += '"';
  }
  return expr;
}

std::string match_expression(std::string_view query) {
  return match_expression_of(query_terms(query));
}

std::string make_snippet(std::string_view text, const std::vector<std::string>& terms,
                         size_t max_bytes) {
  const std::string lower = ascii_lower(text);
  std::vector<Hit> hits;
  constexpr size_t kMaxHits = 200;
  for (size_t t = 0; t < terms.size(); ++t) {
    const std::string needle = ascii_lower(terms[t]);
    if (needle.empty()) continue;
    const bool word = is_ascii_alnum(needle.front());
    for (size_t pos = lower.find(needle); pos != std::string::npos && hits.size() < kMaxHits;
         pos = lower.find(needle, pos + 1)) {
      // Latin words match at a word start (the end may differ: "metre" finds "metres").
      if (word && pos > 0 && is_ascii_alnum(lower[pos - 1])) continue;
      if (word && needle.size() <= 2 && pos + needle.size() < lower.size() &&
          is_ascii_alnum(lower[pos + needle.size()]))
        continue;
      hits.push_back({pos, pos + needle.size(), t});
    }
  }
  std::sort(hits.begin(), hits.end(), [](const Hit& a, const Hit& b) { return a.begin < b.begin; });

  // The window with the most distinct terms wins; it starts a little before its first match.
  size_t begin = 0;
  if (!hits.empty() && text.size() > max_bytes) {
    size_t best_score = 0;
    const size_t lead = max_bytes / 5;
    for (size_t a = 0; a < hits.size(); ++a) {
      const size_t start = hits[a].begin > lead ? hits[a].begin - lead : 0;
      std::set<size_t> distinct;
      size_t count = 0;
      for (size_t b = a; b < hits.size() && hits[b].end <= start + max_bytes; ++b) {
        distinct.insert(hits[b].term);
        ++count;
      }
      const size_t score = distinct.size() * 1000 + count;
      if (score > best_score) {
        best_score = score;
        begin = start;
      }
    }
    begin = std::min(begin, text.size() - max_bytes);
    // Start at a word boundary when one is near.
    const size_t space = text.find(' ', begin);
    if (begin > 0 && space != std::string_view::npos && space - begin < 16) begin = space + 1;
  }
  begin = char_start(text, begin);
  size_t end = std::min(text.size(), begin + max_bytes);
  end = char_start(text, end);
  if (end < text.size() && end <= begin) end = text.size();

  std::string out;
  if (begin > 0) out += "…";
  size_t pos = begin;
  const auto append_plain = [&](size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) {
      const char c = text[i];
      const bool space = c == '\n' || c == '\r' || c == '\t' || c == ' ';
      if (space) {
        if (!out.empty() && out.back() != ' ') out += ' ';
      } else {
        out += c;
      }
    }
  };
  for (size_t h = 0; h < hits.size(); ++h) {
    size_t hb = std::max(hits[h].begin, pos);
    size_t he = std::min(hits[h].end, end);
    if (he <= hb) continue;
    // Overlapping and touching matches ("人工" "工智" "智能") become one highlighted stretch.
    while (h + 1 < hits.size() && hits[h + 1].begin <= he) {
      he = std::min(std::max(he, hits[h + 1].end), end);
      ++h;
    }
    append_plain(pos, hb);
    out += "**";
    append_plain(hb, he);
    out += "**";
    pos = he;
  }
  append_plain(pos, end);
  if (end < text.size()) out += "…";
  return out;
}

}  // namespace agentrt::plugins::search
