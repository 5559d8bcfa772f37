// Dates and times as numbers (merge/cells.h): what MySQL reads a DATE, DATETIME, TIMESTAMP or
// TIME value as in arithmetic (YYYYMMDD, YYYYMMDDhhmmss.ffffff, hhmmss.ffffff), and the strings
// and numbers it reads as one when it compares them with a temporal value.
#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "shardproxy/proxy/merge/cells.h"

namespace shardproxy::proxy::merge {

namespace {

constexpr __int128 kMillion = 1000000;

struct Parts {
  std::int64_t year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, micro = 0;
  bool negative = false;
};

// n bytes little-endian (the binary protocol's DATE / TIME fields).
std::int64_t le(const std::uint8_t* p, int n) {
  std::int64_t v = 0;
  for (int i = n - 1; i >= 0; --i)
    v = v << 8 | p[i];
  return v;
}

bool digit(char c) {
  return c >= '0' && c <= '9';
}

std::int64_t twoDigitYear(std::int64_t y) {
  return y < 70 ? 2000 + y : 1900 + y;
}

bool leap(std::int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

// A real calendar date and time of day (the zero date 0000-00-00 too: MySQL compares with it).
bool valid(const Parts& p) {
  if (p.hour > 23 || p.minute > 59 || p.second > 59) return false;
  if (p.year == 0 && p.month == 0 && p.day == 0) return true;
  if (p.year > 9999 || p.month < 1 || p.month > 12 || p.day < 1) return false;
  static constexpr std::array<int, 12> kDays{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const std::int64_t days = p.month == 2 && leap(p.year) ? 29 : kDays[p.month - 1];
  return p.day <= days;
}

Decimal packDate(const Parts& p) {
  return Decimal{static_cast<__int128>(p.year * 10000 + p.month * 100 + p.day), 0};
}

Decimal packDatetime(const Parts& p) {
  __int128 v = static_cast<__int128>(p.year * 10000 + p.month * 100 + p.day) * kMillion +
               p.hour * 10000 + p.minute * 100 + p.second;
  return Decimal{v * kMillion + p.micro, 6};
}

Decimal packTime(const Parts& p) {
  __int128 v =
      (static_cast<__int128>(p.hour) * 10000 + p.minute * 100 + p.second) * kMillion + p.micro;
  return Decimal{p.negative ? -v : v, 6};
}

// Up to six fraction digits after a '.', as microseconds; false on anything else.
bool fraction(std::string_view& s, std::int64_t& micro) {
  micro = 0;
  if (s.empty() || s.front() != '.') return true;
  s.remove_prefix(1);
  int n = 0;
  while (!s.empty() && digit(s.front())) {
    if (n < 6) micro = micro * 10 + (s.front() - '0');
    ++n;
    s.remove_prefix(1);
  }
  for (; n < 6; ++n)
    micro *= 10;
  return true;
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

std::int64_t number(std::string_view s) {
  std::int64_t v = 0;
  for (char c : s)
    v = v * 10 + (c - '0');
  return v;
}

std::optional<Parts> parseDatetime(std::string_view s) {
  s = trimmed(s);
  Parts p;
  std::size_t run = 0;
  while (run < s.size() && digit(s[run]))
    ++run;
  if (run == s.size() || s[run] == '.') {
    // Digits only: YYYYMMDD[hhmmss], YYMMDD[hhmmss].
    std::string_view d = s.substr(0, run);
    std::string_view rest = s.substr(run);
    if (d.size() != 6 && d.size() != 8 && d.size() != 12 && d.size() != 14) return std::nullopt;
    const std::size_t y = d.size() == 6 || d.size() == 12 ? 2 : 4;
    p.year = number(d.substr(0, y));
    if (y == 2) p.year = twoDigitYear(p.year);
    p.month = number(d.substr(y, 2));
    p.day = number(d.substr(y + 2, 2));
    if (d.size() > 8 || (d.size() == 12 && y == 2)) {
      p.hour = number(d.substr(y + 4, 2));
      p.minute = number(d.substr(y + 6, 2));
      p.second = number(d.substr(y + 8, 2));
    }
    if (!fraction(rest, p.micro) || !rest.empty() || !valid(p)) return std::nullopt;
    return p;
  }
  // Delimited: Y-M-D[( |T)h:m[:s][.f]], any punctuation between the numbers.
  std::array<std::int64_t, 6> f{};
  int n = 0;
  std::size_t i = 0;
  int yearDigits = 0;
  while (n < 6) {
    std::size_t start = i;
    while (i < s.size() && digit(s[i]))
      ++i;
    if (i == start || i - start > (n == 0 ? 4 : 2)) return std::nullopt;
    if (n == 0) yearDigits = static_cast<int>(i - start);
    f[static_cast<std::size_t>(n++)] = number(s.substr(start, i - start));
    if (i == s.size() || s[i] == '.') break;
    const char sep = s[i];
    if (digit(sep)) return std::nullopt;
    if (n == 3 && sep != ' ' && sep != 'T') return std::nullopt;
    if (n != 3 && !(sep == '-' || sep == ':' || sep == '/' || sep == '.' || sep == '_')) {
      return std::nullopt;
    }
    ++i;
  }
  if (n != 3 && n < 5) return std::nullopt;  // a date, or a date with hours and minutes at least
  std::string_view rest = s.substr(i);
  if (n == 6 || !rest.empty()) {
    if (n < 6 && !rest.empty() && rest.front() == '.') return std::nullopt;
    if (!fraction(rest, p.micro) || !rest.empty()) return std::nullopt;
  }
  p.year = yearDigits <= 2 ? twoDigitYear(f[0]) : f[0];
  p.month = f[1];
  p.day = f[2];
  p.hour = f[3];
  p.minute = f[4];
  p.second = f[5];
  if (!valid(p)) return std::nullopt;
  return p;
}

std::optional<Parts> parseTime(std::string_view s) {
  s = trimmed(s);
  Parts p;
  if (!s.empty() && s.front() == '-') {
    p.negative = true;
    s.remove_prefix(1);
  }
  std::int64_t days = 0;
  if (auto sp = s.find(' '); sp != std::string_view::npos) {
    std::string_view d = s.substr(0, sp);
    for (char c : d)
      if (!digit(c)) return std::nullopt;
    if (d.empty() || d.size() > 2) return std::nullopt;
    days = number(d);
    s.remove_prefix(sp + 1);
  }
  std::size_t i = 0;
  while (i < s.size() && digit(s[i]))
    ++i;
  if (i == s.size() || s[i] == '.') {
    if (days != 0 || i == 0 || i > 7) return std::nullopt;
    // hhmmss, mmss, ss
    std::string_view d = s.substr(0, i);
    const std::size_t len = d.size();
    p.second = number(d.substr(len - std::min<std::size_t>(len, 2)));
    if (len > 2) {
      const std::size_t from = len - std::min<std::size_t>(len, 4);
      p.minute = number(d.substr(from, len - 2 - from));
    }
    if (len > 4) p.hour = number(d.substr(0, len - 4));
    s.remove_prefix(i);
  } else {
    std::array<std::int64_t, 3> f{};
    int n = 0;
    i = 0;
    while (n < 3) {
      std::size_t start = i;
      while (i < s.size() && digit(s[i]))
        ++i;
      if (i == start || (n > 0 && i - start > 2)) return std::nullopt;
      f[static_cast<std::size_t>(n++)] = number(s.substr(start, i - start));
      if (i == s.size() || s[i] != ':') break;
      ++i;
    }
    if (n < 2) return std::nullopt;
    p.hour = f[0];
    p.minute = f[1];
    p.second = f[2];
    s.remove_prefix(i);
  }
  p.hour += days * 24;
  if (!fraction(s, p.micro) || !s.empty()) return std::nullopt;
  if (p.minute > 59 || p.second > 59 || p.hour > 838) return std::nullopt;
  return p;
}

}  // namespace

std::optional<Decimal> temporalNumber(const ColumnType& t, bool binary, const Cell& c) {
  if (c.null) return std::nullopt;
  std::optional<Decimal> packed;
  if (t.type == ftype::kTime) {
    Parts p;
    if (binary) {
      if (c.size >= 8) {
        p.negative = c.data[0] != 0;
        p.hour = le(c.data + 1, 4) * 24 + c.data[5];
        p.minute = c.data[6];
        p.second = c.data[7];
      }
      if (c.size >= 12) {
        p.micro = le(c.data + 8, 4);
      }
    } else if (auto q = parseTime(c.view())) {
      p = *q;
    } else {
      return std::nullopt;
    }
    packed = packTime(p);
  } else {
    Parts p;
    if (binary) {
      if (c.size >= 4) {
        p.year = le(c.data, 2);
        p.month = c.data[2];
        p.day = c.data[3];
      }
      if (c.size >= 7) {
        p.hour = c.data[4];
        p.minute = c.data[5];
        p.second = c.data[6];
      }
      if (c.size >= 11) {
        p.micro = le(c.data + 7, 4);
      }
    } else if (auto q = parseDatetime(c.view())) {
      p = *q;
    } else {
      return std::nullopt;
    }
    if (t.type == ftype::kDate || t.type == ftype::kNewDate) return packDate(p);
    packed = packDatetime(p);
  }
  // As many fraction digits as the column shows (DATETIME(3): 20261228140000.123).
  return packed->rescaled(t.decimals <= 6 ? t.decimals : 0);
}

std::optional<Decimal> datetimeFromString(std::string_view s) {
  auto p = parseDatetime(s);
  if (!p) return std::nullopt;
  return packDatetime(*p);
}

std::optional<Decimal> timeFromString(std::string_view s) {
  auto p = parseTime(s);
  if (!p) return std::nullopt;
  return packTime(*p);
}

std::optional<Decimal> datetimeFromNumber(const Decimal& n) {
  if (n.value < 0) return std::nullopt;
  __int128 scale = 1;
  for (int i = 0; i < n.scale; ++i)
    scale *= 10;
  const __int128 whole = n.value / scale;
  __int128 frac = n.value % scale;  // to microseconds
  for (int i = n.scale; i < 6; ++i)
    frac *= 10;
  for (int i = 6; i < n.scale; ++i)
    frac /= 10;
  // MySQL's number_to_datetime: YYMMDD, YYYYMMDD, YYMMDDhhmmss, YYYYMMDDhhmmss.
  __int128 v = whole;
  if (v == 0) return Decimal{0, 6};
  if (v < 101) return std::nullopt;
  if (v <= 691231) {
    v = (v + 20000000) * kMillion;
  } else if (v < 700101) {
    return std::nullopt;
  } else if (v <= 991231) {
    v = (v + 19000000) * kMillion;
  } else if (v < 10000101) {
    return std::nullopt;
  } else if (v <= 99991231) {
    v = v * kMillion;
  } else if (v < 101000000) {
    return std::nullopt;
  } else if (v <= 691231235959) {
    v = v + static_cast<__int128>(20000000000000);
  } else if (v < 700101000000) {
    return std::nullopt;
  } else if (v <= 991231235959) {
    v = v + static_cast<__int128>(19000000000000);
  } else if (v < 10000101000000 || v > 99991231235959) {
    return std::nullopt;
  }
  Parts p;
  const auto date = static_cast<std::int64_t>(v / kMillion);
  const auto time = static_cast<std::int64_t>(v % kMillion);
  p.year = date / 10000;
  p.month = date / 100 % 100;
  p.day = date % 100;
  p.hour = time / 10000;
  p.minute = time / 100 % 100;
  p.second = time % 100;
  p.micro = static_cast<std::int64_t>(frac);
  if (!valid(p)) return std::nullopt;
  return packDatetime(p);
}

}  // namespace shardproxy::proxy::merge
