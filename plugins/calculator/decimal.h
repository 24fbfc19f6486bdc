// Decimal text <-> big integers in O(n^2) word operations with a small constant: Boost's own
// conversions take over 100 ms for 30,000 digits, beyond the calculator's time budget.
#pragma once

#include <string>
#include <string_view>

#include "agentrt/plugins/calculator/value.h"

namespace agentrt::plugins::calc {

// Decimal digits of N (with '-' when negative).
std::string to_decimal(const Integer& n);
// DIGITS must be ASCII digits only (no sign, no prefix); leading zeros are fine.
Integer from_decimal(std::string_view digits);

}  // namespace agentrt::plugins::calc
