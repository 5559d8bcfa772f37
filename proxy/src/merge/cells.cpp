// Cells (merge/cells.h): row decoding, comparison by type and collation, number formatting.
#include "shardproxy/proxy/merge/cells.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "shardproxy/proxy/protocol/wire.h"

namespace shardproxy::proxy::merge {

namespace {

struct PadEntry {
  int id;
  const char* spaceHex;
  const char* name;
};
constexpr PadEntry kPad[] = {
#include "collation_pad.inc"
};

struct PadTables {
  std::vector<std::string> byId;
  std::vector<std::pair<std::string_view, std::size_t>> byName;  // sorted by name
};

const PadTables& padTables() {
  static const PadTables t = [] {
    PadTables p;
    p.byId.resize(4096);
    for (const PadEntry& e : kPad) {
      std::string bytes;
      for (const char* c = e.spaceHex; c[0] != 0 && c[1] != 0; c += 2) {
        auto nib = [](char ch) { return ch <= '9' ? ch - '0' : ch - 'A' + 10; };
        bytes.push_back(static_cast<char>(nib(c[0]) * 16 + nib(c[1])));
      }
      if (e.id >= 0 && e.id < 4096) {
        p.byId[static_cast<std::size_t>(e.id)] = bytes;
        p.byName.emplace_back(e.name, static_cast<std::size_t>(e.id));
      }
    }
    std::sort(p.byName.begin(), p.byName.end());
    return p;
  }();
  return t;
}

int memcmpLex(std::string_view a, std::string_view b) {
  int c = std::memcmp(a.data(), b.data(), std::min(a.size(), b.size()));
  if (c != 0) return c < 0 ? -1 : 1;
  return a.size() < b.size() ? -1 : a.size() > b.size() ? 1 : 0;
}

int compareWeights(const std::string* sp, std::string_view a, std::string_view b) {
  const std::size_t n = std::min(a.size(), b.size());
  int c = std::memcmp(a.data(), b.data(), n);
  if (c != 0) return c < 0 ? -1 : 1;
  if (a.size() == b.size()) return 0;
  if (sp == nullptr || sp->empty()) return a.size() < b.size() ? -1 : 1;
  // PAD SPACE: the shorter one continues with spaces.
  const bool aLonger = a.size() > b.size();
  std::string_view rest = (aLonger ? a : b).substr(n);
  for (std::size_t i = 0; i < rest.size(); ++i) {
    auto x = static_cast<unsigned char>(rest[i]);
    auto y = static_cast<unsigned char>((*sp)[i % sp->size()]);
    if (x != y) return (x > y) == aLonger ? 1 : -1;
  }
  return 0;
}

template <typename T>
T readLe(const std::uint8_t* p, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n; ++i)
    v |= std::uint64_t{p[i]} << (8 * i);
  return static_cast<T>(v);
}

std::int64_t signedLe(const Cell& c) {
  switch (c.size) {
    case 1:
      return static_cast<std::int8_t>(c.data[0]);
    case 2:
      return readLe<std::int16_t>(c.data, 2);
    case 4:
      return readLe<std::int32_t>(c.data, 4);
    default:
      return readLe<std::int64_t>(c.data, 8);
  }
}

std::uint64_t unsignedLe(const Cell& c) {
  return readLe<std::uint64_t>(c.data, c.size);
}

// An integer column's value in the text protocol (what std::from_chars reads, 0 when it cannot):
// up to 18 digits inline, the rest through from_chars.
std::uint64_t textUnsigned(const Cell& c) {
  if (c.size > 0 && c.size <= 18) {
    std::uint64_t v = 0;
    for (std::uint32_t i = 0; i < c.size; ++i) {
      const unsigned d = static_cast<unsigned>(c.data[i]) - '0';
      if (d > 9) return 0;
      v = v * 10 + d;
    }
    return v;
  }
  std::uint64_t x = 0;
  const char* p = reinterpret_cast<const char*>(c.data);
  std::from_chars(p, p + c.size, x);
  return x;
}

std::int64_t textSigned(const Cell& c) {
  const bool negative = c.size > 1 && c.data[0] == '-';
  if (c.size > 0 && c.size <= 18 + (negative ? 1u : 0u)) {
    std::int64_t v = 0;
    for (std::uint32_t i = negative ? 1 : 0; i < c.size; ++i) {
      const unsigned d = static_cast<unsigned>(c.data[i]) - '0';
      if (d > 9) return 0;
      v = v * 10 + d;
    }
    return negative ? -v : v;
  }
  std::int64_t x = 0;
  const char* p = reinterpret_cast<const char*>(c.data);
  std::from_chars(p, p + c.size, x);
  return x;
}

double doubleOf(const ColumnType& t, bool binary, const Cell& c) {
  if (binary) {
    if (t.type == ftype::kFloat && c.size == 4) {
      float f;
      std::memcpy(&f, c.data, 4);
      return f;
    }
    if (c.size == 8) {
      double d;
      std::memcpy(&d, c.data, 8);
      return d;
    }
    return 0;
  }
  double d = 0;
  std::from_chars(reinterpret_cast<const char*>(c.data),
                  reinterpret_cast<const char*>(c.data) + c.size, d);
  return d;
}

// Microseconds of a TIME value (text "[-]HHH:MM:SS[.ffffff]" or binary).
std::int64_t timeMicros(bool binary, const Cell& c) {
  if (binary) {
    if (c.size < 8) return 0;
    std::int64_t days = readLe<std::uint32_t>(c.data + 1, 4);
    std::int64_t s = days * 86400 + c.data[5] * 3600 + c.data[6] * 60 + c.data[7];
    std::int64_t us = s * 1000000 + (c.size >= 12 ? readLe<std::uint32_t>(c.data + 8, 4) : 0);
    return c.data[0] != 0 ? -us : us;
  }
  std::string_view v = c.view();
  bool neg = !v.empty() && v[0] == '-';
  if (neg) v.remove_prefix(1);
  std::int64_t parts[3] = {0, 0, 0};
  int idx = 0;
  std::int64_t frac = 0;
  int fracDigits = 0;
  bool inFrac = false;
  for (char ch : v) {
    if (ch == ':' && idx < 2) {
      ++idx;
    } else if (ch == '.') {
      inFrac = true;
    } else if (ch >= '0' && ch <= '9') {
      if (inFrac) {
        if (fracDigits < 6) frac = frac * 10 + (ch - '0'), ++fracDigits;
      } else {
        parts[idx] = parts[idx] * 10 + (ch - '0');
      }
    }
  }
  while (fracDigits++ < 6)
    frac *= 10;
  std::int64_t us = ((parts[0] * 3600 + parts[1] * 60 + parts[2]) * 1000000) + frac;
  return neg ? -us : us;
}

// Binary DATE / DATETIME / TIMESTAMP as a sortable tuple.
std::array<std::uint32_t, 7> dateParts(const Cell& c) {
  std::array<std::uint32_t, 7> p{};
  if (c.size >= 4) {
    p[0] = readLe<std::uint16_t>(c.data, 2);
    p[1] = c.data[2];
    p[2] = c.data[3];
  }
  if (c.size >= 7) {
    p[3] = c.data[4];
    p[4] = c.data[5];
    p[5] = c.data[6];
  }
  if (c.size >= 11) p[6] = readLe<std::uint32_t>(c.data + 7, 4);
  return p;
}

template <typename T>
int cmp(T a, T b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

}  // namespace

bool ColumnType::isInteger() const {
  switch (type) {
    case ftype::kTiny:
    case ftype::kShort:
    case ftype::kLong:
    case ftype::kLongLong:
    case ftype::kInt24:
    case ftype::kYear:
      return true;
    default:
      return false;
  }
}

bool ColumnType::isTemporal() const {
  switch (type) {
    case ftype::kTimestamp:
    case ftype::kDate:
    case ftype::kTime:
    case ftype::kDateTime:
    case ftype::kNewDate:
      return true;
    default:
      return false;
  }
}

bool ColumnType::isCollatedString() const {
  if (charset == kBinaryCharset) return false;
  switch (type) {
    case ftype::kVarchar:
    case ftype::kVarString:
    case ftype::kString:
    case ftype::kTinyBlob:
    case ftype::kMediumBlob:
    case ftype::kLongBlob:
    case ftype::kBlob:
    case ftype::kEnum:
    case ftype::kSet:
    case ftype::kJson:
      return true;
    default:
      return false;
  }
}

bool decodeLongTextCell(const std::uint8_t*& pos, const std::uint8_t* end, Cell& out) {
  const std::size_t left = static_cast<std::size_t>(end - pos);
  const std::uint8_t b = *pos;
  if (b == 0xfb) {
    out = Cell{};
    ++pos;
    return true;
  }
  std::uint64_t length;
  std::size_t header;
  if (b == 0xfc && left >= 3) {
    length = readLe<std::uint64_t>(pos + 1, 2);
    header = 3;
  } else if (b == 0xfd && left >= 4) {
    length = readLe<std::uint64_t>(pos + 1, 3);
    header = 4;
  } else if (b == 0xfe && left >= 9) {
    length = readLe<std::uint64_t>(pos + 1, 8);
    header = 9;
  } else {
    return false;
  }
  if (length > left - header) return false;
  out = Cell{pos + header, static_cast<std::uint32_t>(length), false};
  pos += header + length;
  return true;
}

bool decodeBinaryRow(protocol::ByteView payload, std::span<const ColumnType> types,
                     std::span<Cell> out) {
  const std::size_t cols = out.size();
  const std::size_t bitmap = (cols + 7 + 2) / 8;
  if (types.size() < cols || payload.size() < 1 + bitmap || payload[0] != 0) return false;
  std::size_t pos = 1 + bitmap;
  const std::size_t n = payload.size();
  for (std::size_t i = 0; i < cols; ++i) {
    const std::size_t bit = i + 2;
    if (payload[1 + bit / 8] & (1u << (bit % 8))) {
      out[i] = Cell{};
      continue;
    }
    std::size_t len;
    std::size_t skip = 0;
    switch (types[i].type) {
      case ftype::kTiny:
        len = 1;
        break;
      case ftype::kShort:
      case ftype::kYear:
        len = 2;
        break;
      case ftype::kLong:
      case ftype::kInt24:
      case ftype::kFloat:
        len = 4;
        break;
      case ftype::kLongLong:
      case ftype::kDouble:
        len = 8;
        break;
      case ftype::kDate:
      case ftype::kDateTime:
      case ftype::kTimestamp:
      case ftype::kNewDate:
      case ftype::kTime:
        if (pos >= n) return false;
        len = payload[pos];
        skip = 1;
        break;
      default: {
        protocol::ByteReader r(payload.subspan(pos));
        auto l = r.lenenc();
        if (!l || r.failed()) return false;
        skip = r.position();
        len = static_cast<std::size_t>(*l);
        break;
      }
    }
    pos += skip;
    if (len > n - pos) return false;
    out[i] = Cell{payload.data() + pos, static_cast<std::uint32_t>(len), false};
    pos += len;
  }
  return pos == n;
}

const std::string* padWeight(std::uint16_t collationId) {
  const PadTables& t = padTables();
  if (collationId >= t.byId.size() || t.byId[collationId].empty()) return nullptr;
  return &t.byId[collationId];
}

const std::string* padWeight(std::string_view name) {
  const PadTables& t = padTables();
  auto it = std::lower_bound(t.byName.begin(), t.byName.end(), name,
                             [](const auto& e, std::string_view n) { return e.first < n; });
  if (it == t.byName.end() || it->first != name) return nullptr;
  return &t.byId[it->second];
}

int compareCells(const ColumnType& t, bool binary, const Cell& a, const Cell& b, const Cell& wa,
                 const Cell& wb, const std::string* pad, CompareError& error) {
  if (a.null || b.null) return a.null == b.null ? 0 : a.null ? -1 : 1;
  if (t.isInteger()) {
    if (binary) {
      if (t.isUnsigned()) return cmp(unsignedLe(a), unsignedLe(b));
      return cmp(signedLe(a), signedLe(b));
    }
    if (t.isUnsigned()) return cmp(textUnsigned(a), textUnsigned(b));
    return cmp(textSigned(a), textSigned(b));
  }
  if (t.isDecimal()) {
    auto x = Decimal::parse(a.view());
    auto y = Decimal::parse(b.view());
    if (x && y) return compare(*x, *y);
    error = CompareError::kMalformed;
    return 0;
  }
  if (t.isFloating()) return cmp(doubleOf(t, binary, a), doubleOf(t, binary, b));
  if (t.type == ftype::kTime) return cmp(timeMicros(binary, a), timeMicros(binary, b));
  if (t.isTemporal()) {
    if (binary) {
      auto x = dateParts(a), y = dateParts(b);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    return memcmpLex(a.view(), b.view());
  }
  if ((t.flags & (fflag::kEnum | fflag::kSet)) != 0 || t.type == ftype::kEnum ||
      t.type == ftype::kSet) {
    error = CompareError::kEnum;
    return 0;
  }
  if (!t.isCollatedString()) return memcmpLex(a.view(), b.view());
  if (wa.null || wb.null) {
    error = CompareError::kNeedsWeight;
    return 0;
  }
  return compareWeights(pad, wa.view(), wb.view());
}

std::uint64_t integerOrderKey(const ColumnType& t, bool binary, const Cell& c) {
  constexpr std::uint64_t kSign = std::uint64_t{1} << 63;
  if (binary) {
    return t.isUnsigned() ? unsignedLe(c) : static_cast<std::uint64_t>(signedLe(c)) ^ kSign;
  }
  if (t.isUnsigned()) return textUnsigned(c);
  return static_cast<std::uint64_t>(textSigned(c)) ^ kSign;
}

std::string_view trimPadding(const std::string* sp, std::string_view w) {
  if (sp == nullptr || sp->empty()) return w;
  while (w.size() >= sp->size() && w.substr(w.size() - sp->size()) == *sp)
    w.remove_suffix(sp->size());
  return w;
}

Number numberOf(const ColumnType& t, bool binary, const Cell& c) {
  Number n;
  if (c.null) return n;
  if (t.isInteger()) {
    n.kind = Number::Kind::kExact;
    if (binary) {
      n.exact = t.isUnsigned() ? Decimal::fromUint(unsignedLe(c)) : Decimal::fromInt(signedLe(c));
    } else if (auto d = Decimal::parse(c.view())) {
      n.exact = *d;
    }
    return n;
  }
  if (t.isDecimal()) {
    if (auto d = Decimal::parse(c.view())) {
      n.kind = Number::Kind::kExact;
      n.exact = *d;
      return n;
    }
    n.kind = Number::Kind::kDouble;
    n.dbl = doubleOf(ColumnType{ftype::kDouble, 0, kBinaryCharset, 31}, false, c);
    return n;
  }
  if (t.isFloating()) {
    n.kind = Number::Kind::kDouble;
    n.dbl = doubleOf(t, binary, c);
    return n;
  }
  if (t.isTemporal()) {
    if (auto packed = temporalNumber(t, binary, c)) {
      n.kind = Number::Kind::kExact;
      n.exact = *packed;
      n.temporal = t.type == ftype::kNewDate     ? ftype::kDate
                   : t.type == ftype::kTimestamp ? ftype::kDateTime
                                                 : t.type;
      return n;
    }
  }
  n.kind = Number::Kind::kString;
  n.str = c.view();
  return n;
}

double stringToDouble(std::string_view s) {
  while (!s.empty() && s.front() == ' ')
    s.remove_prefix(1);
  double d = 0;
  std::from_chars(s.data(), s.data() + s.size(), d);
  return d;
}

namespace {

// A double's shortest round-trip digits (no leading zeros) and how many of them stand before the
// point (negative: zeros after it first).
struct Shortest {
  bool neg = false;
  std::string digits;
  int decpt = 0;
};

Shortest shortestDigits(double v, bool isFloat) {
  char buf[64];
  auto r = isFloat ? std::to_chars(buf, buf + sizeof buf, static_cast<float>(v),
                                   std::chars_format::scientific)
                   : std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string_view s(buf, static_cast<std::size_t>(r.ptr - buf));
  Shortest out;
  out.neg = s[0] == '-';
  if (out.neg) s.remove_prefix(1);
  const std::size_t e = s.find('e');
  for (char ch : s.substr(0, e))
    if (ch != '.') out.digits.push_back(ch);
  int exp = 0;
  std::string_view es = s.substr(e + 1);
  if (!es.empty() && es[0] == '+') es.remove_prefix(1);
  std::from_chars(es.data(), es.data() + es.size(), exp);
  out.decpt = exp + 1;
  return out;
}

// The digits around the point, without an exponent: 0.000ddd, ddd000, dd.ddd.
void appendPositional(std::string& out, const Shortest& s) {
  const int len = static_cast<int>(s.digits.size());
  if (s.decpt <= 0) {
    out.append("0.").append(static_cast<std::size_t>(-s.decpt), '0').append(s.digits);
  } else if (s.decpt >= len) {
    out.append(s.digits).append(static_cast<std::size_t>(s.decpt - len), '0');
  } else {
    out.append(s.digits, 0, static_cast<std::size_t>(s.decpt))
        .append(".")
        .append(s.digits, static_cast<std::size_t>(s.decpt));
  }
}

}  // namespace

void appendDouble(std::string& out, double v, bool isFloat, std::uint8_t decimals) {
  if (decimals < 31) {
    // MariaDB's my_fcvt: rounded to `decimals` places where the value's shortest round-trip
    // digits reach past them; where they do not, those digits padded with zeros — never more
    // digits than they (1e37 / 3 with 4 decimals is 33333333333333334000...0.0000, not the
    // binary value's exact expansion that %f would print).
    const Shortest sd = shortestDigits(v, false);
    const int frac = std::max(0, static_cast<int>(sd.digits.size()) - sd.decpt);
    if (v == 0 || frac > static_cast<int>(decimals)) {
      // Rounded inside the shortest digits: correctly, from the exact value (as dtoa's mode 3),
      // which needs at most 17 + 31 significant digits here.
      char buf[64];
      int n = std::snprintf(buf, sizeof buf, "%.*f", static_cast<int>(decimals), v);
      out.append(buf, static_cast<std::size_t>(std::min(n, static_cast<int>(sizeof buf) - 1)));
      return;
    }
    if (sd.neg) out.push_back('-');
    appendPositional(out, sd);
    if (decimals > 0) {
      if (frac == 0) out.push_back('.');
      out.append(static_cast<std::size_t>(static_cast<int>(decimals) - frac), '0');
    }
    return;
  }
  if (v == 0) {
    out.append(std::signbit(v) ? "-0" : "0");
    return;
  }
  const Shortest sd = shortestDigits(v, isFloat);
  const int len = static_cast<int>(sd.digits.size());
  if (sd.neg) out.push_back('-');
  if (sd.decpt < 0 ? sd.decpt < -14 : (sd.decpt > 15 && sd.decpt > len)) {
    out.push_back(sd.digits[0]);
    if (len > 1) out.append(".").append(sd.digits, 1);
    out.append("e").append(std::to_string(sd.decpt - 1));
    return;
  }
  appendPositional(out, sd);
}

}  // namespace shardproxy::proxy::merge
