// Statements the SQL benchmarks share (parse_bench, plan_bench).
#pragma once

#include <string>

namespace bench {

// sysbench's bulk INSERT shape: `rows` rows of (id, k, c, pad), ids from 1000 up.
inline std::string multiRowInsert(int rows) {
  std::string sql = "INSERT INTO sbtest1 (id, k, c, pad) VALUES ";
  for (int i = 0; i < rows; ++i) {
    if (i > 0) sql += ", ";
    sql += '(';
    sql += std::to_string(1000 + i);
    sql += ", ";
    sql += std::to_string(5000 + i * 7);
    sql +=
        ", '83868641912-28773972837-60736120486-75162659906-27563526494-20381887404-"
        "41576422241-93426793964-56405065102-33518432330', "
        "'67847967377-48000963322-62604785301-91415491898-96926520291')";
  }
  return sql;
}

}  // namespace bench
