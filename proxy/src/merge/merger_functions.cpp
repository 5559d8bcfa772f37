// Merger's functions of merged values (merge/merger.h): COALESCE / IFNULL, ROUND / TRUNCATE / ABS
// with MySQL's rounding of DECIMAL and DOUBLE, and the operands of bit operations as the server's
// Item_func_bit reads them.
#include <algorithm>
#include <cmath>

#include "shardproxy/proxy/merge/merger.h"

namespace shardproxy::proxy::merge {

using router::OpCode;

namespace {

// MariaDB's my_double_round: rint (half to even) or floor / ceil of value * 10^dec.
double doubleRound(double value, std::int64_t dec, bool truncate) {
  const std::uint64_t absDec = dec < 0 ? static_cast<std::uint64_t>(-dec) : dec;
  const double tmp = std::pow(10.0, static_cast<double>(absDec));
  volatile double divTmp = value / tmp;
  volatile double mulTmp = value * tmp;
  if (dec < 0 && std::isinf(tmp)) return 0.0;
  if (dec >= 0 && std::isinf(mulTmp)) return value;
  if (truncate) {
    if (value >= 0.0) return dec < 0 ? std::floor(divTmp) * tmp : std::floor(mulTmp) / tmp;
    return dec < 0 ? std::ceil(divTmp) * tmp : std::ceil(mulTmp) / tmp;
  }
  return dec < 0 ? std::rint(divTmp) * tmp : std::rint(mulTmp) / tmp;
}

__int128 pow10(int n) {
  __int128 p = 1;
  for (int i = 0; i < n; ++i)
    p *= 10;
  return p;
}

// DECIMAL ROUND (half away from zero) / TRUNCATE (toward zero) to `dec` digits after the point
// (before it when negative), as MySQL's decimal_round.
std::optional<Decimal> decimalRound(const Decimal& x, std::int64_t dec, bool truncate) {
  if (dec >= x.scale) return x;
  if (dec >= 0) {
    if (!truncate) return x.rescaled(static_cast<std::uint8_t>(dec));
    return Decimal{x.value / pow10(x.scale - static_cast<int>(dec)),
                   static_cast<std::uint8_t>(dec)};
  }
  const std::int64_t digits = x.scale - dec;  // dropped: the fraction and -dec whole digits
  if (digits > 38) return Decimal{0, 0};      // |x| < 10^38: less than half of 10^-dec
  const __int128 factor = pow10(static_cast<int>(digits));
  __int128 q = x.value / factor;
  const __int128 rem = x.value % factor;
  if (!truncate && (rem < 0 ? -rem : rem) * 2 >= factor) q += x.value < 0 ? -1 : 1;
  const __int128 unit = pow10(static_cast<int>(-dec));
  if (q != 0 && (q > pow10(38) / unit || q < -pow10(38) / unit)) return std::nullopt;
  return Decimal{q * unit, 0};
}

}  // namespace

bool Merger::applyFunction(const router::Instruction& in, std::vector<Value>& st) {
  if (st.size() < in.count || in.count == 0) return false;
  const std::size_t base = st.size() - in.count;
  if (in.op == OpCode::kCoalesce) {
    Value r;
    for (std::size_t i = base; i < st.size() && r.kind == Value::Kind::kNull; ++i)
      r = st[i];
    st.resize(base);
    if (r.temporal != 0) {
      fail(1235, "42000",
           "COALESCE / IFNULL of a date or time over several shards (not supported yet); narrow "
           "the query to one shard");
      return false;
    }
    st.push_back(r);
    return true;
  }
  Value x = st[base];
  std::int64_t dec = 0;
  bool nullDigits = false;
  if (in.count == 2) {
    const Value& d = st[base + 1];
    if (d.kind == Value::Kind::kNull) {
      nullDigits = true;
    } else if (d.kind == Value::Kind::kExact && d.exact.scale == 0 && d.temporal == 0) {
      dec = static_cast<std::int64_t>(
          std::max<__int128>(-100, std::min<__int128>(100, d.exact.value)));
    } else {
      fail(1235, "42000",
           "ROUND / TRUNCATE of an aggregate over several shards to a number of digits that is "
           "not an integer (not supported)");
      return false;
    }
  }
  st.resize(base);
  if (x.kind == Value::Kind::kNull || nullDigits) {
    st.push_back(Value{});
    return true;
  }
  if (x.temporal != 0) {
    fail(1235, "42000",
         "ROUND / TRUNCATE / ABS of a date or time over several shards (not supported); narrow "
         "the query to one shard");
    return false;
  }
  const bool truncate = in.op == OpCode::kTruncate;
  if (x.kind == Value::Kind::kExact) {
    if (in.op == OpCode::kAbs) {
      if (x.exact.value < 0) x.exact.value = -x.exact.value;
    } else {
      auto r = decimalRound(x.exact, dec, truncate);
      if (!r) {
        fail(1235, "42000", "ROUND / TRUNCATE over several shards exceeds 38 digits");
        return false;
      }
      x.exact = *r;
    }
  } else {
    double v = x.kind == Value::Kind::kDouble ? x.dbl : stringToDouble(x.str);
    x = Value{};
    x.kind = Value::Kind::kDouble;
    x.dbl = in.op == OpCode::kAbs ? std::fabs(v) : doubleRound(v, dec, truncate);
    if (x.dbl == 0) x.dbl = 0.0;  // ROUND(-0.4e0) prints 0, not -0
  }
  st.push_back(x);
  return true;
}

// An operand of | & ^ << >> ~ as the server's Item_func_bit reads it: rounded half away from
// zero, a negative as its two's complement, past BIGINT UNSIGNED's range clamped (a DECIMAL or
// DOUBLE above it to 18446744073709551615, below BIGINT's to -2^63). Strings and dates: refused.
std::optional<std::uint64_t> Merger::bitOperand(const Value& v) {
  constexpr std::uint64_t kMin = std::uint64_t{1} << 63;  // -2^63 as two's complement
  if (v.kind == Value::Kind::kExact && v.temporal == 0) {
    auto r = v.exact.rescaled(0);
    if (!r) return std::nullopt;
    if (r->value > static_cast<__int128>(~std::uint64_t{0})) return ~std::uint64_t{0};
    if (r->value < -static_cast<__int128>(kMin)) return kMin;
    return static_cast<std::uint64_t>(r->value);
  }
  if (v.kind == Value::Kind::kDouble) {
    const double d = std::round(v.dbl);
    if (d >= 18446744073709551616.0) return ~std::uint64_t{0};
    if (d < -9223372036854775808.0) return kMin;
    return d < 0 ? static_cast<std::uint64_t>(static_cast<std::int64_t>(d))
                 : static_cast<std::uint64_t>(d);
  }
  fail(1235, "42000",
       "A bit operation (| & ^ << >> ~) over several shards' aggregates on a string or a date "
       "(not supported); narrow the query to one shard");
  return std::nullopt;
}

Merger::Value Merger::unsignedValue(std::uint64_t bits) {
  Value v;
  v.kind = Value::Kind::kExact;
  v.exact = Decimal::fromUint(bits);
  return v;
}

}  // namespace shardproxy::proxy::merge
