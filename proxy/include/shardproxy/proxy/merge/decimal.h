// Exact decimals for merging SUM / AVG / expressions over aggregates as MySQL computes them.
// Place in the request flow: the merge engine (merge/merger.h) parses the shards' DECIMAL and
// integer values into Decimal, adds, divides and rounds them with MySQL's rules (a quotient has
// the dividend's scale + div_precision_increment (4) digits, rounded half away from zero), and
// prints them with the scale the column definition reports. 128-bit fixed point: 38 digits;
// anything larger reports overflow and the merge refuses rather than round.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace shardproxy::proxy::merge {

struct Decimal {
  __int128 value = 0;      // the number times 10^scale
  std::uint8_t scale = 0;  // digits after the point

  static std::optional<Decimal> parse(std::string_view text);  // "-12.50", "3", "1e3" refused
  static Decimal fromInt(std::int64_t v) { return Decimal{v, 0}; }
  static Decimal fromUint(std::uint64_t v) { return Decimal{static_cast<__int128>(v), 0}; }

  // The same number at another scale (rounded half away from zero when digits are dropped);
  // nullopt on overflow.
  std::optional<Decimal> rescaled(std::uint8_t to) const;
  double toDouble() const;
  // Digits as MySQL prints a DECIMAL of this scale: "-0.50", "12", "3.1416".
  void appendTo(std::string& out) const;
  std::string toString() const {
    std::string s;
    appendTo(s);
    return s;
  }
};

std::optional<Decimal> add(const Decimal& a, const Decimal& b);
std::optional<Decimal> subtract(const Decimal& a, const Decimal& b);
std::optional<Decimal> multiply(const Decimal& a, const Decimal& b);
// a / b as MySQL's decimal_div: digits to whole 9-digit words past a's and b's scale plus
// `extraScale` (div_precision_increment), truncated — the caller rounds to the column's decimals
// when it prints. nullopt on overflow; b == 0 is the caller's (MySQL answers NULL).
std::optional<Decimal> divide(const Decimal& a, const Decimal& b, std::uint8_t extraScale = 4);
int compare(const Decimal& a, const Decimal& b);

}  // namespace shardproxy::proxy::merge
