// What the session's routing files (session_backends / session_routing / session_statements .cpp)
// share: the names they use unqualified and small text helpers. Private to proxy/src.
#pragma once

#include <algorithm>
#include <cctype>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "shardproxy/proxy/channel.h"
#include "shardproxy/proxy/protocol/constants.h"
#include "shardproxy/proxy/protocol/response_scanner.h"
#include "shardproxy/proxy/protocol/wire.h"
#include "shardproxy/router/planner.h"

namespace shardproxy::proxy::detail {

// SHOW COUNT(*) WARNINGS / ERRORS, or a SELECT of nothing but @@[session.]warning_count /
// @@error_count: per column, whether it counts warnings; nullopt for any other statement
// (session_processlist.cpp).
std::optional<std::vector<bool>> diagnosticsCounts(const router::sql::Statement& statement);

// EXPLAIN ROUTE of a join across shards (both ports): the outer side's query, then the inner
// side's per batch of keys; columns plan, shard, role, backend, sql, reason.
inline std::vector<std::vector<std::optional<std::string>>> explainJoinRows(
    const router::Plan& plan) {
  const router::Plan::JoinPlan& j = *plan.join;
  return {{std::string("nested loop: outer"), std::string("-"), std::string("proxy"),
           std::string("-"), j.outerSql, std::string(plan.reason)},
          {std::string("nested loop: inner"), std::string("-"), std::string("proxy"),
           std::string("-"), j.innerPrefix + "<keys>" + j.innerSuffix,
           std::string(j.left ? "per batch of outer keys; LEFT JOIN" : "per batch of outer keys")}};
}

inline bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

inline bool startsWithCi(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// True when `sql` holds at least one comment (`/* */`, `/*! */`, `-- `, `#`) and otherwise only
// whitespace and at most one `;` with nothing but whitespace after it: the server answers such a
// query with OK (and one with no comment with 1065, "Query was empty").
inline bool onlyComments(std::string_view sql) {
  bool comment = false, semicolon = false;
  for (std::size_t i = 0; i < sql.size();) {
    const char c = sql[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
      ++i;
    } else if (semicolon) {
      return false;
    } else if (c == ';') {
      semicolon = true;
      ++i;
    } else if (c == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
      const std::size_t end = sql.find("*/", i + 2);
      if (end == std::string_view::npos) return false;
      comment = true;
      i = end + 2;
    } else if (c == '#' || (c == '-' && sql.substr(i, 2) == "--" &&
                            (i + 2 == sql.size() || sql[i + 2] == ' ' || sql[i + 2] == '\t' ||
                             sql[i + 2] == '\n' || sql[i + 2] == '\r'))) {
      const std::size_t end = sql.find('\n', i);
      comment = true;
      i = end == std::string_view::npos ? sql.size() : end + 1;
    } else {
      return false;
    }
  }
  return comment;
}

// A statement's text runs from its first token to its last, so when it ends inside a version
// comment (`START TRANSACTION /*!40100 WITH CONSISTENT SNAPSHOT */`, as mariadb-dump
// --single-transaction sends it) the comment's close is not part of it: put it back before the
// text is sent on its own.
inline void closeOpenComment(std::string& sql) {
  char quote = 0;
  for (std::size_t i = 0; i < sql.size(); ++i) {
    const char c = sql[i];
    if (quote != 0) {
      if (c == '\\' && quote != '`') {
        ++i;
      } else if (c == quote) {
        quote = 0;
      }
    } else if (c == '\'' || c == '"' || c == '`') {
      quote = c;
    } else if (c == '/' && i + 1 < sql.size() && sql[i + 1] == '*') {
      const std::size_t end = sql.find("*/", i + 2);
      if (end == std::string::npos) {
        sql.append(" */");
        return;
      }
      i = end + 1;
    }
  }
}

// A MySQL string literal, quotes and backslashes escaped with a backslash ('it\'s').
inline std::string quoteString(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

// The COM_STMT_EXECUTE payload for a merge's own prepared statement (router::MergeSpec): the
// client's parameters minus spec.droppedParams, then the pushed-down LIMIT when spec.limitParam,
// with their types always sent (backend statement id 0: the caller writes it). `types` are the
// client's parameter types (from the last execute that sent them). False on a malformed payload.
bool mergeExecutePayload(protocol::ByteView payload, std::uint16_t count, protocol::ByteView types,
                         const router::MergeSpec& spec, protocol::Bytes& out);

// The COM_STMT_EXECUTE payload of a prepared INSERT's own statement given generated keys: its
// parameters as `params` lists them (the client's, by index, or a generated BIGINT), types always
// sent (backend statement id 0: the caller writes it). False on a malformed payload.
bool generatedExecutePayload(protocol::ByteView payload, std::uint16_t count,
                             protocol::ByteView types,
                             std::span<const router::Plan::ExecuteParam> params,
                             protocol::Bytes& out);

// `SELECT FOUND_ROWS() [AS name]` or `SELECT ROW_COUNT() [AS name]`: which, and the column name
// the server would give it; else nullopt.
struct CountQuery {
  std::string_view name;
  bool rowCount = false;  // ROW_COUNT(), else FOUND_ROWS()
};
std::optional<CountQuery> countQuery(const router::sql::Statement& st);

// A command packet `cmd` + `text` built in `storage` (which must outlive it), with the sequence
// ids of the client's packet `like`: a statement the proxy rewrote before running it.
inline Packet rewrittenPacket(protocol::Command cmd, std::string_view text, const Packet& like,
                              protocol::Bytes& storage) {
  storage.clear();
  storage.push_back(static_cast<std::uint8_t>(cmd));
  storage.insert(storage.end(), text.begin(), text.end());
  Packet p;
  p.payload = protocol::ByteView(storage);
  p.seq = like.seq;
  p.lastSeq = like.lastSeq;
  return p;
}

}  // namespace shardproxy::proxy::detail

namespace shardproxy::proxy {

using detail::iequals;
using detail::quoteString;
using detail::rewrittenPacket;
using detail::startsWithCi;
using protocol::Command;
using protocol::ResponseKind;
using router::Plan;
using router::PlanKind;
using router::Role;

}  // namespace shardproxy::proxy
