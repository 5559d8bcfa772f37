// Decimal (merge/decimal.h): 128-bit fixed point with MySQL's rounding.
#include "shardproxy/proxy/merge/decimal.h"

#include <algorithm>

namespace shardproxy::proxy::merge {

namespace {

constexpr int kMaxDigits = 38;

__int128 pow10(int n) {
  __int128 p = 1;
  for (int i = 0; i < n; ++i)
    p *= 10;
  return p;
}

bool mul(__int128 a, __int128 b, __int128& out) {
  return !__builtin_mul_overflow(a, b, &out);
}

// Rounds q = n / d half away from zero.
__int128 divRound(__int128 n, __int128 d) {
  __int128 q = n / d;
  __int128 r = n % d;
  if (r < 0) r = -r;
  __int128 ad = d < 0 ? -d : d;
  if (2 * r >= ad) q += ((n < 0) != (d < 0)) ? -1 : 1;
  return q;
}

bool align(const Decimal& a, const Decimal& b, __int128& x, __int128& y, std::uint8_t& scale) {
  scale = std::max(a.scale, b.scale);
  return mul(a.value, pow10(scale - a.scale), x) && mul(b.value, pow10(scale - b.scale), y);
}

}  // namespace

std::optional<Decimal> Decimal::parse(std::string_view s) {
  while (!s.empty() && s.front() == ' ')
    s.remove_prefix(1);
  bool neg = false;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    neg = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  Decimal d;
  int digits = 0;
  bool point = false;
  bool any = false;
  for (char c : s) {
    if (c == '.' && !point) {
      point = true;
      continue;
    }
    if (c < '0' || c > '9') return std::nullopt;
    any = true;
    if (digits > 0 || c != '0') ++digits;
    if (digits > kMaxDigits) return std::nullopt;
    d.value = d.value * 10 + (c - '0');
    if (point) {
      if (d.scale == 255) return std::nullopt;
      ++d.scale;
    }
  }
  if (!any) return std::nullopt;
  if (neg) d.value = -d.value;
  return d;
}

std::optional<Decimal> Decimal::rescaled(std::uint8_t to) const {
  if (to == scale) return *this;
  if (to > scale) {
    if (to - scale > kMaxDigits) return std::nullopt;
    Decimal d{0, to};
    if (!mul(value, pow10(to - scale), d.value)) return std::nullopt;
    return d;
  }
  if (scale - to > kMaxDigits) return Decimal{0, to};
  return Decimal{divRound(value, pow10(scale - to)), to};
}

double Decimal::toDouble() const {
  return static_cast<double>(value) / static_cast<double>(pow10(scale));
}

void Decimal::appendTo(std::string& out) const {
  __int128 v = value;
  bool neg = v < 0;
  unsigned __int128 u =
      neg ? static_cast<unsigned __int128>(-(v + 1)) + 1 : static_cast<unsigned __int128>(v);
  char buf[64];
  int n = 0;
  do {
    buf[n++] = static_cast<char>('0' + static_cast<int>(u % 10));
    u /= 10;
  } while (u != 0);
  while (n <= scale)
    buf[n++] = '0';
  if (neg) out.push_back('-');
  for (int i = n - 1; i >= 0; --i) {
    out.push_back(buf[i]);
    if (i == scale && scale > 0) out.push_back('.');
  }
}

std::optional<Decimal> add(const Decimal& a, const Decimal& b) {
  __int128 x, y, r;
  std::uint8_t s;
  if (!align(a, b, x, y, s) || __builtin_add_overflow(x, y, &r)) return std::nullopt;
  if (r >= pow10(kMaxDigits) || r <= -pow10(kMaxDigits)) return std::nullopt;
  return Decimal{r, s};
}

std::optional<Decimal> subtract(const Decimal& a, const Decimal& b) {
  return add(a, Decimal{-b.value, b.scale});
}

std::optional<Decimal> multiply(const Decimal& a, const Decimal& b) {
  __int128 r;
  if (!mul(a.value, b.value, r) || a.scale + b.scale > kMaxDigits) return std::nullopt;
  if (r >= pow10(kMaxDigits) || r <= -pow10(kMaxDigits)) return std::nullopt;
  return Decimal{r, static_cast<std::uint8_t>(a.scale + b.scale)};
}

std::optional<Decimal> divide(const Decimal& a, const Decimal& b, std::uint8_t extraScale) {
  // MySQL's decimal_div keeps the quotient to whole 9-digit words past the operands' digits and
  // div_precision_increment, truncated; the value is rounded only when it is sent (to the
  // column's decimals). (a.v / 10^a.s) / (b.v / 10^b.s) at scale s = a.v * 10^(s - a.s + b.s) /
  // b.v.
  if (b.value == 0) return std::nullopt;
  int s = a.scale + b.scale + extraScale;
  s = (s + 8) / 9 * 9;
  if (s > kMaxDigits - 2) s = std::max<int>(a.scale + extraScale, kMaxDigits - 2);
  const int shift = s - a.scale + b.scale;
  __int128 n;
  if (shift < 0 || shift > kMaxDigits || !mul(a.value, pow10(shift), n)) {
    // Too many digits for 128 bits: the scale MySQL reports, rounded.
    if (b.scale + extraScale > kMaxDigits || !mul(a.value, pow10(b.scale + extraScale), n)) {
      return std::nullopt;
    }
    return Decimal{divRound(n, b.value), static_cast<std::uint8_t>(a.scale + extraScale)};
  }
  return Decimal{n / b.value, static_cast<std::uint8_t>(s)};
}

int compare(const Decimal& a, const Decimal& b) {
  __int128 x, y;
  std::uint8_t s;
  if (!align(a, b, x, y, s)) {
    double p = a.toDouble(), q = b.toDouble();
    return p < q ? -1 : p > q ? 1 : 0;
  }
  return x < y ? -1 : x > y ? 1 : 0;
}

}  // namespace shardproxy::proxy::merge
