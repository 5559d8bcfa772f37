// What a client session has changed about its connection state (USE, SET) and KILL parsing.
// Place in the request flow: the session asks analyzeSession() what a statement changes
// (USE, SET), applies it to SessionState once the backend accepted it, and replays that state on
// any backend connection it picks up (replayStatements()). Routing itself is the planner's
// (planner.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "shardproxy/catalog/snapshot.h"
#include "shardproxy/common/errors.h"

namespace shardproxy::router {

struct SessionChange {
  enum class Type : std::uint8_t { kUse, kSetSession, kSetUserVariable, kSetNames };
  Type type;
  std::string name;   // lower-cased variable name ("sql_mode", "@x", "names"), or the schema
  std::string value;  // the assignment's text to replay ("sql_mode = 'ANSI'")
};

// Splits a (multi-)statement text at top-level semicolons and reports the session changes of
// each statement in order. Statements that change nothing report nothing. Never throws; text
// it does not understand is treated as changing nothing.
void analyzeSession(std::string_view sql, std::vector<SessionChange>& out);

struct SessionState {
  std::string schema;
  std::uint8_t charset = 45;  // the handshake collation id
  bool autocommit = true;
  bool inTransaction = false;
  // Session-scope assignments in the order first set; the latest value of each name wins.
  std::vector<std::pair<std::string, std::string>> assignments;
  // Bumped whenever schema or assignments change, so a backend connection knows if it is in sync.
  std::uint64_t version = 1;

  void apply(const SessionChange& change);
  void setSchema(std::string_view s);
  // Statements that recreate every assignment on a fresh connection: one "SET a = x, b = y"
  // plus, separately, a SET SESSION TRANSACTION characteristic. Empty if nothing was set.
  std::vector<std::string> replayStatements() const;
  // The session's collation_connection (lower case: "utf8mb4_general_ci"): the handshake's, then
  // SET NAMES / collation_connection / character_set_connection. Empty when the proxy cannot
  // tell (a collation id or character set it has no name for, SET CHARACTER SET).
  std::string collationConnection() const;
};

// KILL [HARD | SOFT] [CONNECTION | QUERY [ID]] id — the id is a proxy connection id, which the
// proxy translates to the backend thread serving that session.
struct KillRequest {
  bool queryOnly = false;
  std::uint64_t id = 0;
};
std::optional<KillRequest> parseKill(std::string_view sql);

}  // namespace shardproxy::router
