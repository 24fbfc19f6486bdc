// From free text to what FTS5 runs, and from a matching document back to a snippet.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace agentrt::plugins::search {

// The terms of a query, as the index sees them: words, and CJK runs cut into bigrams (a single
// CJK character stays whole). Deduplicated, at most kMaxTerms, in query order.
inline constexpr size_t kMaxTerms = 64;
std::vector<std::string> query_terms(std::string_view query);

// The MATCH expression for these terms: each quoted, joined by OR. Empty for no terms.
std::string match_expression_of(const std::vector<std::string>& terms);

// A passage of at most about `max_bytes` of `text` around the densest cluster of `terms`
// (ASCII-case-insensitive), with each match wrapped in ** and "…" where text was cut. Starts at
// the beginning of the text when no term is found literally (a stemmed or accent-folded match).
std::string make_snippet(std::string_view text, const std::vector<std::string>& terms,
                         size_t max_bytes);

}  // namespace agentrt::plugins::search
