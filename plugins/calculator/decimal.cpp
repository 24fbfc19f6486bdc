#include "decimal.h"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <vector>

namespace agentrt::plugins::calc {
namespace {

namespace mp = boost::multiprecision;
constexpr std::uint32_t kBase = 1'000'000'000;  // 10^9: nine digits per step

// Schoolbook conversion for numbers of a few thousand digits: repeated division by 10^9.
std::string small_to_decimal(const Integer& magnitude) {
  std::vector<std::uint32_t> words;
  mp::export_bits(magnitude, std::back_inserter(words), 32, true);
  std::vector<std::uint32_t> chunks;  // base 10^9, least significant first
  std::size_t first = 0;
  while (first < words.size() && words[first] == 0) ++first;
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
  if (chunks.empty()) return "0";
  std::string out = std::to_string(chunks.back());
  for (std::size_t i = chunks.size() - 1; i-- > 0;) {
    const std::string part = std::to_string(chunks[i]);
    out.append(9 - part.size(), '0');
    out += part;
  }
  return out;
}

// Divide and conquer: split at 10^k with k about half the digits, convert both halves. Boost's
// division does the heavy lifting on long operands, which beats 9 digits per pass.
void append_decimal(const Integer& magnitude, std::size_t pad_to, std::string& out) {
  const std::size_t bits = magnitude == 0 ? 0 : mp::msb(magnitude) + 1;
  if (bits <= 20'000) {
    const std::string s = small_to_decimal(magnitude);
    if (s.size() < pad_to) out.append(pad_to - s.size(), '0');
    out += s;
    return;
  }
  const auto digits = static_cast<std::size_t>(static_cast<double>(bits) * 0.30103) + 1;
  const std::size_t k = digits / 2;
  const Integer p = mp::pow(Integer(10), static_cast<unsigned>(k));
  Integer q, r;
  mp::divide_qr(magnitude, p, q, r);
  append_decimal(q, pad_to > k ? pad_to - k : 0, out);
  append_decimal(r, k, out);
}

}  // namespace

std::string to_decimal(const Integer& n) {
  if (n == 0) return "0";
  std::string out = n < 0 ? "-" : "";
  append_decimal(mp::abs(n), 0, out);
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
