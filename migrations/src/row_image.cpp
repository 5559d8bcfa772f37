#include "row_image.h"

#include <fmt/format.h>

#include <algorithm>

#include "shardproxy/migrations/blocking_client.h"

namespace shardproxy::migrations {
namespace {

// enum_field_types values (mysql_com.h), kept here so the decoder stays free of client headers.
enum : std::uint8_t {
  kDecimal = 0,
  kTiny = 1,
  kShort = 2,
  kLong = 3,
  kFloat = 4,
  kDouble = 5,
  kNull = 6,
  kTimestamp = 7,
  kLongLong = 8,
  kInt24 = 9,
  kDate = 10,
  kTime = 11,
  kDateTime = 12,
  kYear = 13,
  kNewDate = 14,
  kVarchar = 15,
  kBit = 16,
  kTimestamp2 = 17,
  kDateTime2 = 18,
  kTime2 = 19,
  kJson = 245,
  kNewDecimal = 246,
  kEnum = 247,
  kSet = 248,
  kTinyBlob = 249,
  kMediumBlob = 250,
  kLongBlob = 251,
  kBlob = 252,
  kVarString = 253,
  kString = 254,
  kGeometry = 255,
};

Error malformed(std::string what) {
  return Error::make(ErrorCode::kBackendProtocol, "binlog row event: " + std::move(what));
}

// The type as stored and its metadata, per column.
struct ColumnType {
  std::uint8_t type = 0;
  std::uint16_t meta = 0;  // meaning depends on the type
};

Result<std::vector<ColumnType>> columnTypes(const TableMapView& map) {
  std::vector<ColumnType> out;
  std::size_t m = 0;
  auto take = [&](std::size_t n) -> std::uint16_t {
    std::uint16_t v = 0;
    for (std::size_t i = 0; i < n && m + i < map.metadata.size(); ++i)
      v |= static_cast<std::uint16_t>(static_cast<std::uint8_t>(map.metadata[m + i]) << (8 * i));
    m += n;
    return v;
  };
  for (char c : map.columnTypes) {
    ColumnType t{static_cast<std::uint8_t>(c), 0};
    switch (t.type) {
      case kFloat:
      case kDouble:
      case kTinyBlob:
      case kMediumBlob:
      case kLongBlob:
      case kBlob:
      case kGeometry:
      case kJson:
      case kTimestamp2:
      case kDateTime2:
      case kTime2:
        t.meta = take(1);
        break;
      case kVarchar:
      case kVarString:
      case kBit:
      case kNewDecimal:
        t.meta = take(2);
        break;
      case kString:
      case kEnum:
      case kSet: {
        // Big-endian here: the real type, then the length (its top bits folded into the type).
        const std::uint16_t raw = take(2);
        t.meta = static_cast<std::uint16_t>(((raw & 0xff) << 8) | (raw >> 8));
        break;
      }
      default:
        break;
    }
    out.push_back(t);
  }
  if (m > map.metadata.size()) return malformed("table map metadata is shorter than its columns");
  return out;
}

constexpr std::uint8_t kDigitBytes[10] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 4};

std::size_t decimalBytes(unsigned precision, unsigned scale) {
  const unsigned intg = precision - std::min(precision, scale);
  return (intg / 9) * 4 + kDigitBytes[intg % 9] + (scale / 9) * 4 + kDigitBytes[scale % 9];
}

std::uint32_t littleEndian(const unsigned char* p, std::size_t n) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < n; ++i)
    v |= static_cast<std::uint32_t>(p[i]) << (8 * i);
  return v;
}

// CHAR/BINARY/ENUM/SET: the real type and the declared byte length.
void stringType(std::uint16_t meta, std::uint8_t& real, std::uint32_t& length) {
  real = static_cast<std::uint8_t>(meta >> 8);
  length = meta & 0xff;
  if ((real & 0x30) != 0x30) {  // lengths over 255 keep two more bits in the type byte
    length |= static_cast<std::uint32_t>(((real & 0x30) ^ 0x30) << 4);
    real |= 0x30;
  }
}

// Bytes of one stored value starting at p (which has `left` bytes); `data`/`dataLen` is the value
// proper for strings (after their length prefix).
Result<std::size_t> valueLength(const ColumnType& t, const unsigned char* p, std::size_t left,
                                std::size_t& dataOffset) {
  dataOffset = 0;
  auto prefixed = [&](std::size_t prefix) -> Result<std::size_t> {
    if (left < prefix) return malformed("value cut short");
    dataOffset = prefix;
    return prefix + littleEndian(p, prefix);
  };
  switch (t.type) {
    case kTiny:
    case kYear:
      return std::size_t{1};
    case kShort:
      return std::size_t{2};
    case kInt24:
    case kDate:
    case kNewDate:
    case kTime:
      return std::size_t{3};
    case kLong:
    case kTimestamp:
      return std::size_t{4};
    case kLongLong:
    case kDateTime:
      return std::size_t{8};
    case kFloat:
      return std::size_t{4};
    case kDouble:
      return std::size_t{8};
    case kNull:
      return std::size_t{0};
    case kTimestamp2:
      return std::size_t{4} + (t.meta + 1) / 2;
    case kDateTime2:
      return std::size_t{5} + (t.meta + 1) / 2;
    case kTime2:
      return std::size_t{3} + (t.meta + 1) / 2;
    case kNewDecimal:
      return decimalBytes(t.meta & 0xff, t.meta >> 8);
    case kBit:
      return static_cast<std::size_t>((t.meta >> 8) + ((t.meta & 0xff) != 0 ? 1 : 0));
    case kVarchar:
    case kVarString:
      return prefixed(t.meta < 256 ? 1 : 2);
    case kTinyBlob:
    case kMediumBlob:
    case kLongBlob:
    case kBlob:
    case kGeometry:
    case kJson:
      return prefixed(t.meta);
    case kString:
    case kEnum:
    case kSet: {
      std::uint8_t real = 0;
      std::uint32_t length = 0;
      stringType(t.meta, real, length);
      if (real == kEnum || real == kSet) return static_cast<std::size_t>(length);
      return prefixed(length < 256 ? 1 : 2);
    }
    default:
      return malformed(fmt::format("column type {} cannot be sized", t.type));
  }
}

std::string keyLiteral(const ColumnType& t, const KeyColumns::Column& col, const unsigned char* p,
                       std::size_t len, std::size_t dataOffset) {
  switch (t.type) {
    case kTiny:
    case kShort:
    case kInt24:
    case kLong:
    case kLongLong: {
      std::uint64_t raw = 0;
      for (std::size_t i = 0; i < len; ++i)
        raw |= static_cast<std::uint64_t>(p[i]) << (8 * i);
      if (col.isUnsigned || len == 8) {
        if (col.isUnsigned) return std::to_string(raw);
        return std::to_string(static_cast<std::int64_t>(raw));
      }
      const unsigned bits = static_cast<unsigned>(len * 8);
      if ((raw >> (bits - 1)) != 0) raw |= ~std::uint64_t{0} << bits;
      return std::to_string(static_cast<std::int64_t>(raw));
    }
    default:
      return hexLiteral(
          std::string_view(reinterpret_cast<const char*>(p) + dataOffset, len - dataOffset),
          col.charset);
  }
}

bool bit(std::string_view bitmap, std::size_t i) {
  return i / 8 < bitmap.size() && (static_cast<std::uint8_t>(bitmap[i / 8]) >> (i % 8)) & 1;
}

}  // namespace

Status decodeRowKeys(const TableMapView& map, const RowsView& rows, const KeyColumns& key,
                     std::vector<std::vector<std::string>>& out) {
  auto types = columnTypes(map);
  if (!types) return types.takeError();
  if (rows.columnCount > types->size()) {
    return malformed(
        fmt::format("row event has {} columns, its table map {}", rows.columnCount, types->size()));
  }
  const auto* p = reinterpret_cast<const unsigned char*>(rows.rowData.data());
  const auto* end = p + rows.rowData.size();
  auto image = [&](std::string_view present) -> Status {
    std::size_t presentCount = 0;
    for (std::size_t c = 0; c < rows.columnCount; ++c)
      presentCount += bit(present, c) ? 1 : 0;
    const std::size_t nullBytes = (presentCount + 7) / 8;
    if (static_cast<std::size_t>(end - p) < nullBytes) return malformed("null bitmap cut short");
    std::string_view nulls(reinterpret_cast<const char*>(p), nullBytes);
    p += nullBytes;
    std::vector<std::string> values(key.columns.size());
    std::vector<bool> seen(key.columns.size(), false);
    std::size_t index = 0;
    for (std::size_t c = 0; c < rows.columnCount; ++c) {
      if (!bit(present, c)) continue;
      const bool isNull = bit(nulls, index++);
      auto want = std::find_if(key.columns.begin(), key.columns.end(),
                               [&](const KeyColumns::Column& k) { return k.position == c; });
      const std::size_t k = static_cast<std::size_t>(want - key.columns.begin());
      if (isNull) {
        if (want != key.columns.end()) {
          values[k] = "NULL";
          seen[k] = true;
        }
        continue;
      }
      std::size_t dataOffset = 0;
      auto len = valueLength((*types)[c], p, static_cast<std::size_t>(end - p), dataOffset);
      if (!len) return len.takeError();
      if (*len > static_cast<std::size_t>(end - p)) return malformed("value runs past the event");
      if (want != key.columns.end()) {
        values[k] = keyLiteral((*types)[c], *want, p, *len, dataOffset);
        seen[k] = true;
      }
      p += *len;
    }
    for (std::size_t k = 0; k < seen.size(); ++k) {
      if (!seen[k]) {
        return malformed(
            fmt::format("the row image lacks primary key column {} (binlog_row_image "
                        "must be FULL)",
                        key.columns[k].position + 1));
      }
    }
    out.push_back(std::move(values));
    return {};
  };
  while (p < end) {
    if (Status s = image(rows.presentBitmap); !s) return s;
    if (!rows.updateBitmap.empty()) {
      if (Status s = image(rows.updateBitmap); !s) return s;
    }
  }
  return {};
}

}  // namespace shardproxy::migrations
