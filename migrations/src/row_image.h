// Decodes the primary key of each row image in a binlog row event (MySQL/MariaDB row-based
// replication format, "Rows_event" and "Table_map_event" in the MariaDB binlog documentation),
// skipping every other column by its type and the table map's metadata. Connector/C's
// mariadb_rpl_extract_rows returns no rows at all for tables with a non-NULL CHAR column (seen
// with Connector/C 3.3 and MariaDB 10.11), which would lose those changes silently; this decoder
// reads only lengths and the key columns, and fails loudly on anything it cannot size.
// Pure: bytes in, literals out; tests/unit/migrations/row_image_test.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "binlog_reader.h"
#include "shardproxy/common/errors.h"

namespace shardproxy::migrations {

struct TableMapView {
  std::string_view columnTypes;  // one byte per column (enum_field_types)
  std::string_view metadata;     // the packed per-column metadata block
};

struct RowsView {
  std::uint32_t columnCount = 0;
  std::string_view presentBitmap;  // columns present in the (before) image
  std::string_view updateBitmap;   // UPDATE: columns present in the after image; empty otherwise
  std::string_view rowData;        // the row images, one after the other
};

// Appends one key (SQL literals, `key` order) per row image: two per row of an UPDATE.
Status decodeRowKeys(const TableMapView& map, const RowsView& rows, const KeyColumns& key,
                     std::vector<std::vector<std::string>>& out);

}  // namespace shardproxy::migrations
