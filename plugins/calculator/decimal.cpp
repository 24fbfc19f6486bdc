#include "decimal.h"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <vector>

namespace agentrt::plugins::calc {
namespace {

namespace mp = boost::multiprecision;
constexpr std::uint32_t kBase = 1'000'000'000;  // 10^9: nine digits per step

}  // namespace

std::string to_decimal(const Integer& n) {
  if (n == 0) return "0";
  // Magnitude as 32-bit words, most significant first; then repeated division by 10^9.
  std::vector<std::uint32_t> words;
  const Integer magnitude = mp::abs(n);
  mp::export_bits(magnitude, std::back_inserter(words), 32, true);
  std::vector<std::uint32_t> chunks;  // base 10^9, least significant first
  std::size_t first = 0;
  while (first < words.size()) {
    std::uint64_t rem = 0;
    for (std::size_t i = first; i < words.size(); ++i) {
      const std::uint64_t cur = (rem << 32) | words[i];
      words[i] = static_cast<std::uint32_t>(cur / kBase);
      rem = cur % kBase;
    }
    chunks.push_back(static_cast<std::uint32_t>(rem));
    while (first < words.size() && words[first] == 0) ++first;
  }
  std::string out = n < 0 ? "-" : "";
  out += std::to_string(chunks.back());
  for (std::size_t i = chunks.size() - 1; i-- > 0;) {
    const std::string part = std::to_string(chunks[i]);
    out.append(9 - part.size(), '0');
    out += part;
  }
  return out;
}

Integer from_decimal(std::string_view digits) {
  // Little-endian 32-bit words; multiply by 10^k and add each chunk of up to nine digits.
  std::vector<std::uint32_t> words;
  std::size_t i = 0;
  while (i < digits.size()) {
    const std::size_t len = std::min<std::size_t>(9, digits.size() - i);
    std::uint32_t chunk = 0, scale = 1;
    for (std::size_t k = 0; k < len; ++k) {
      chunk = chunk * 10 + static_cast<std::uint32_t>(digits[i + k] - '0');
      scale *= 10;
    }
    i += len;
    std::uint64_t carry = chunk;
    for (std::uint32_t& w : words) {
      const std::uint64_t cur = static_cast<std::uint64_t>(w) * scale + carry;
      w = static_cast<std::uint32_t>(cur);
      carry = cur >> 32;
    }
    if (carry) words.push_back(static_cast<std::uint32_t>(carry));
  }
  Integer n = 0;
  if (!words.empty()) mp::import_bits(n, words.rbegin(), words.rend(), 32, true);
  return n;
}

}  // namespace agentrt::plugins::calc
