// Row values as the merge engine sees them: decoding a result row (text or binary protocol) into
// cells without copying, comparing two cells as the server orders them, and formatting numbers as
// the server prints them.
// Place in the request flow: merge/merger.h decodes each shard row it merges into cells and
// compares sort keys, group keys and MIN / MAX candidates with compareCells(). MySQL protocol
// "Text Resultset Row", "Binary Protocol Resultset Row", "Binary Protocol Value".
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "shardproxy/proxy/merge/decimal.h"
#include "shardproxy/proxy/protocol/messages.h"

namespace shardproxy::proxy::merge {

// MYSQL_TYPE_* and column flags (MySQL protocol "Column Definition", include/mysql_com.h).
namespace ftype {
inline constexpr std::uint8_t kDecimal = 0, kTiny = 1, kShort = 2, kLong = 3, kFloat = 4,
                              kDouble = 5, kNull = 6, kTimestamp = 7, kLongLong = 8, kInt24 = 9,
                              kDate = 10, kTime = 11, kDateTime = 12, kYear = 13, kNewDate = 14,
                              kVarchar = 15, kBit = 16, kJson = 245, kNewDecimal = 246, kEnum = 247,
                              kSet = 248, kTinyBlob = 249, kMediumBlob = 250, kLongBlob = 251,
                              kBlob = 252, kVarString = 253, kString = 254, kGeometry = 255;
}
namespace fflag {
inline constexpr std::uint16_t kNotNull = 1, kUnsigned = 32, kBinary = 128, kEnum = 256,
                               kSet = 2048, kGroup = 32768;
}
inline constexpr std::uint16_t kBinaryCharset = 63;

struct ColumnType {
  std::uint8_t type = ftype::kVarString;
  std::uint16_t flags = 0;
  std::uint16_t charset = kBinaryCharset;  // the collation id
  std::uint8_t decimals = 0;

  static ColumnType of(const protocol::ColumnDefinition& d) {
    return ColumnType{d.type, d.flags, d.charset, d.decimals};
  }
  bool isInteger() const;
  bool isDecimal() const { return type == ftype::kDecimal || type == ftype::kNewDecimal; }
  bool isFloating() const { return type == ftype::kFloat || type == ftype::kDouble; }
  bool isTemporal() const;
  // A character string compared by collation (not binary bytes, not a number or a date).
  bool isCollatedString() const;
  bool isUnsigned() const { return (flags & fflag::kUnsigned) != 0; }
};

// One value of a row: a view into the packet (text: the characters; binary: the value's bytes
// without a length prefix — fixed-width numbers little-endian, temporal fields as sent).
struct Cell {
  const std::uint8_t* data = nullptr;
  std::uint32_t size = 0;
  bool null = true;
  std::string_view view() const { return {reinterpret_cast<const char*>(data), size}; }
};

// Decodes `payload` into `out` (one cell per column). Text rows: `types` may be empty. Binary
// rows need the types (fixed widths). False on a malformed row.
// (Inline: once per merged row. A cell of 251 bytes or more, or NULL, takes decodeLongTextCell.)
bool decodeLongTextCell(const std::uint8_t*& pos, const std::uint8_t* end, Cell& out);
inline bool decodeTextRow(protocol::ByteView payload, std::span<Cell> out) {
  const std::uint8_t* pos = payload.data();
  const std::uint8_t* const end = pos + payload.size();
  for (Cell& c : out) {
    if (pos == end) return false;
    const std::uint32_t length = *pos;
    if (length < 0xfb) {
      ++pos;
      if (length > static_cast<std::size_t>(end - pos)) return false;
      c = Cell{pos, length, false};
      pos += length;
    } else if (!decodeLongTextCell(pos, end, c)) {
      return false;
    }
  }
  return pos == end;
}
bool decodeBinaryRow(protocol::ByteView payload, std::span<const ColumnType> types,
                     std::span<Cell> out);

// What compareCells needs besides the two values.
struct CompareContext {
  bool binaryProtocol = false;
};

enum class CompareError : std::uint8_t { kNone, kNeedsWeight, kEnum, kMalformed };

// The WEIGHT_STRING of one space under a PAD SPACE collation, by name ("utf8mb4_bin") or id;
// nullptr for NO PAD collations (and names this build does not know).
const std::string* padWeight(std::string_view collationName);
const std::string* padWeight(std::uint16_t collationId);

// <0, 0, >0 as the server orders the two values of a column of type `t` (NULL first). Strings
// under a collation compare by their WEIGHT_STRINGs `wa` / `wb`, the shorter one continued with
// `pad` (the collation's space weight; nullptr: NO PAD); without weights they cannot be
// compared (kNeedsWeight).
int compareCells(const ColumnType& t, bool binaryProtocol, const Cell& a, const Cell& b,
                 const Cell& wa, const Cell& wb, const std::string* pad, CompareError& error);

// A non-NULL value of an integer column as an unsigned number that orders as compareCells()
// orders the values (signed ones with the sign bit flipped): one integer comparison per pair.
std::uint64_t integerOrderKey(const ColumnType& t, bool binaryProtocol, const Cell& c);

// The weight bytes of a string with trailing space weights removed (equal keys for DISTINCT).
std::string_view trimPadding(const std::string* pad, std::string_view weight);

// A numeric cell as a number (integers, DECIMAL exactly; FLOAT / DOUBLE as double).
struct Number {
  enum class Kind : std::uint8_t { kNull, kExact, kDouble, kString } kind = Kind::kNull;
  Decimal exact;
  double dbl = 0;
  std::string_view str;
  std::uint8_t temporal = 0;  // the ftype of a date / time value given as its number in `exact`
};
Number numberOf(const ColumnType& t, bool binaryProtocol, const Cell& c);
// A string as MySQL reads it as a DOUBLE: leading spaces skipped, its longest numeric prefix
// (0 without one).
double stringToDouble(std::string_view s);

// merge/temporal.cpp. A DATE / DATETIME / TIMESTAMP / TIME value as MySQL reads it as a number
// (DATETIME + 0): YYYYMMDD, YYYYMMDDhhmmss[.ffffff], [-]hhmmss[.ffffff], with the column's
// fraction digits; nullopt for NULL or a value it cannot read.
std::optional<Decimal> temporalNumber(const ColumnType& t, bool binaryProtocol, const Cell& c);
// What MySQL compares a temporal value with, in one space at scale 6: a string read as a
// DATETIME (Y-M-D[ h:m[:s][.f]] with MySQL's delimiters, YYYYMMDD[hhmmss], YYMMDD[hhmmss]) or as a
// TIME ([-][D ]h:m[:s][.f], [[h]hmm]ss), a number read as a DATETIME (number_to_datetime's
// YYMMDD ... YYYYMMDDhhmmss); nullopt where MySQL would warn and compare something else.
std::optional<Decimal> datetimeFromString(std::string_view s);
std::optional<Decimal> timeFromString(std::string_view s);
std::optional<Decimal> datetimeFromNumber(const Decimal& n);

// A double as MariaDB prints it in the text protocol: the shortest digits that read back the
// same value, fixed notation unless the exponent is large (1e15, 1.2345678901234568e17, 1e-16).
// `decimals` < 31: fixed with that many digits (a DOUBLE(m,d) column).
void appendDouble(std::string& out, double v, bool isFloat, std::uint8_t decimals = 31);

}  // namespace shardproxy::proxy::merge
