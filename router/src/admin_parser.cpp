// Recursive descent over the admin grammar of docs/admin-sql.md. One token of lookahead, pulled
// from the lexer on demand, so a statement costs at most one pass over its text; every list is
// capped, and there is no nesting to cap.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "admin_lexer.h"
#include "admin_terms.h"
#include "shardproxy/router/admin_statement.h"

namespace shardproxy::router::admin {
namespace {

constexpr std::size_t kMaxStatementBytes = std::size_t{1} << 20;
constexpr std::size_t kMaxListLength = 1024;
constexpr std::string_view kSeeDocs = "; see docs/admin-sql.md";

using Kind = Token::Kind;
using Statement = std::optional<AdminStatement>;

class Parser {
 public:
  explicit Parser(std::string_view sql) : sql_(sql), lexer_(sql) {}

  std::variant<AdminStatement, AdminParseError> run() {
    // Checked before the first token: lexing cannot run away on an oversized text.
    if (sql_.size() > kMaxStatementBytes) {
      failAt(0, "statement longer than " + std::to_string(kMaxStatementBytes) + " bytes");
      return std::move(*error_);
    }
    advance();
    Statement st = statement();
    if (st && !tok_.isSymbol(';') && tok_.kind != Kind::kEnd) {
      fail(trailingHint_.empty() ? "expected end of statement"
                                 : "expected " + std::string(trailingHint_));
      st.reset();
    }
    if (st && tok_.isSymbol(';')) {
      advance();
      if (tok_.kind != Kind::kEnd) {
        fail("expected end of statement (one statement at a time)");
        st.reset();
      }
    }
    if (!st) return std::move(*error_);
    return std::move(*st);
  }

 private:
  // --- tokens and errors
  void advance() { tok_ = lexer_.next(); }

  bool accept(std::string_view keyword) {
    if (!tok_.isWord(keyword)) return false;
    advance();
    return true;
  }

  bool expect(std::string_view keyword, std::string_view hint = {}) {
    if (accept(keyword)) return true;
    return fail(hint.empty() ? "expected " + std::string(keyword) : std::string(hint));
  }

  bool expectSymbol(char c, std::string_view hint) {
    if (!tok_.isSymbol(c)) return fail(std::string(hint));
    advance();
    return true;
  }

  // Records a syntax error at the current token (a lexer error names itself) and returns false.
  bool fail(std::string hint) {
    if (tok_.kind == Kind::kError) hint = tok_.value;
    return failAt(tok_.begin, hint);
  }

  bool failAt(std::size_t position, std::string_view hint) {
    if (!error_) {
      error_ = AdminParseError{AdminParseError::Kind::kSyntax, position,
                               syntaxErrorMessage(sql_, position, hint)};
    }
    return false;
  }

  Statement notSupported(std::size_t position, std::string message) {
    error_ = AdminParseError{AdminParseError::Kind::kNotSupported, position, std::move(message)};
    return std::nullopt;
  }

  Statement notAdmin(std::size_t position, std::string_view phrase, std::string_view note = {}) {
    std::string msg = "'" + std::string(phrase) + "' is not an admin statement";
    if (!note.empty()) msg += " (" + std::string(note) + ")";
    return notSupported(position, msg + std::string(kSeeDocs));
  }

  // --- terms
  // A plain or backquoted identifier; user names may also be strings ('app').
  bool name(std::string& out, std::string_view what, bool user = false) {
    bool quoted = tok_.kind == Kind::kQuotedIdent || (user && tok_.kind == Kind::kString);
    if (tok_.kind != Kind::kWord && !quoted) return fail("expected " + std::string(what));
    std::string value = quoted ? tok_.value : std::string(tok_.raw);
    if (auto why = nameProblem(value, user ? kMaxUserNameChars : kMaxIdentifierChars)) {
      return fail("invalid " + std::string(what) + ": " + *why);
    }
    out = std::move(value);
    advance();
    return true;
  }

  // keyspace '.' object; a shard name may also be a number (`shop.0`, as Vitess names the
  // single shard of an unsharded keyspace).
  bool qualified(std::string& keyspace, std::string& object, std::string_view what,
                 bool shard = false) {
    if (!name(keyspace, "keyspace name")) return false;
    if (!expectSymbol('.', "expected '.' and " + std::string(what) + " (write keyspace.name)")) {
      return false;
    }
    if (shard && tok_.kind == Kind::kNumber) {
      object = std::string(tok_.raw);
      advance();
      return true;
    }
    if (shard && tok_.kind == Kind::kSymbol) {
      return fail("expected shard name (backquote names like `-80` or `80-c0`)");
    }
    return name(object, what);
  }

  bool optionalFrom(std::optional<std::string>& keyspace) {
    trailingHint_ = "FROM keyspace or end of statement";
    if (!accept("FROM") && !accept("IN")) return true;
    trailingHint_ = {};
    return name(keyspace.emplace(), "keyspace name");
  }

  bool number(std::uint32_t& out, std::string_view what) {
    if (tok_.kind != Kind::kNumber) return fail("expected " + std::string(what) + " (a number)");
    if (!parseUint32(tok_.raw, out)) {
      return fail(std::string(what) + " must be between 0 and 4294967295");
    }
    advance();
    return true;
  }

  bool address(catalog::Endpoint& out) {
    if (tok_.kind != Kind::kString) return fail("expected a quoted 'host:port' address");
    if (auto why = parseEndpoint(tok_.value, out)) return fail("invalid address: " + *why);
    advance();
    return true;
  }

  // '(' item {',' item} ')' with at most kMaxListLength items.
  template <typename Item>
  bool list(std::string_view what, Item item) {
    if (!expectSymbol('(', "expected '(' and a list of " + std::string(what))) return false;
    for (std::size_t n = 0;; ++n) {
      if (n == kMaxListLength) {
        return fail("too many " + std::string(what) + " (at most " +
                    std::to_string(kMaxListLength) + ")");
      }
      if (!item()) return false;
      if (tok_.isSymbol(')')) break;
      if (!expectSymbol(',', "expected ',' or ')'")) return false;
    }
    advance();
    return true;
  }

  // 'app', app, `app` or "app", optionally @'%'. Users are not bound to hosts.
  bool userName(std::string& out) {
    if (!name(out, "user name", /*user=*/true)) return false;
    if (!tok_.isSymbol('@')) return true;
    advance();
    std::size_t hostAt = tok_.begin;
    bool quoted = tok_.kind == Kind::kString || tok_.kind == Kind::kQuotedIdent;
    if (!quoted && tok_.kind != Kind::kWord) return fail("expected a host after '@'");
    if ((quoted ? tok_.value : std::string(tok_.raw)) != "%") {
      notSupported(hostAt,
                   "users bound to a host are not supported: shardproxy users may connect "
                   "from any host; write 'name' or 'name'@'%'" +
                       std::string(kSeeDocs));
      return false;
    }
    advance();
    return true;
  }

  // --- statements
  Statement statement() {
    std::size_t at = tok_.begin;
    if (accept("SHOW")) return show(at);
    if (accept("CREATE")) return create(at);
    if (accept("DROP")) return drop(at);
    if (accept("ADD")) return addBackend();
    if (accept("SET")) return setBackend(at);
    if (accept("RESHARD")) return reshard();
    if (auto action = migrationVerb()) return migrationCommand(*action);
    if (isMysqlVerb(tok_)) return notAdmin(at, upperText(tok_.raw));
    fail(tok_.kind == Kind::kEnd ? "empty statement"
                                 : "expected SHOW, CREATE, DROP, ADD, SET, RESHARD or a "
                                   "migration verb (PAUSE, RESUME, CANCEL, VERIFY, CUTOVER, "
                                   "REVERSE, COMPLETE)");
    return std::nullopt;
  }

  // --- resharding (docs/resharding.md)
  // PAUSE | RESUME | CANCEL | VERIFY | CUTOVER | REVERSE | COMPLETE (then MIGRATION n).
  std::optional<catalog::MigrationRequest> migrationVerb() {
    using R = catalog::MigrationRequest;
    static constexpr std::pair<std::string_view, R> kVerbs[] = {
        {"PAUSE", R::kPause},      {"RESUME", R::kResume},   {"CANCEL", R::kCancel},
        {"VERIFY", R::kVerify},    {"CUTOVER", R::kCutover}, {"REVERSE", R::kReverse},
        {"COMPLETE", R::kComplete}};
    for (const auto& [word, action] : kVerbs) {
      if (accept(word)) return action;
    }
    return std::nullopt;
  }

  // A migration id: a positive integer that fits int64.
  bool migrationId(std::int64_t& out) {
    if (tok_.kind != Kind::kNumber) return fail("expected the migration id (a number)");
    std::uint64_t v = 0;
    for (char c : tok_.raw) {
      if (v > (static_cast<std::uint64_t>(INT64_MAX) - static_cast<std::uint64_t>(c - '0')) / 10) {
        return fail("migration id out of range");
      }
      v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (v == 0) return fail("migration ids start at 1");
    out = static_cast<std::int64_t>(v);
    advance();
    return true;
  }

  Statement migrationCommand(catalog::MigrationRequest action) {
    MigrationCommand s;
    s.action = action;
    if (!expect("MIGRATION", "expected MIGRATION and its id") || !migrationId(s.id)) {
      return std::nullopt;
    }
    if (action != catalog::MigrationRequest::kCutover &&
        action != catalog::MigrationRequest::kReverse) {
      return s;
    }
    trailingHint_ = "TIMEOUT seconds or end of statement";
    if (!accept("TIMEOUT")) return s;
    trailingHint_ = {};
    if (!seconds(s.timeoutMs.emplace())) return std::nullopt;
    return s;
  }

  // Seconds with an optional fraction (0.5, 2, 1.25) → milliseconds, 1 ms to one hour.
  bool seconds(std::uint32_t& ms) {
    if (tok_.kind != Kind::kNumber)
      return fail("expected the pause budget in seconds (e.g. 2 or 0.5)");
    std::size_t at = tok_.begin;
    std::uint32_t whole = 0;
    if (tok_.raw.size() > 4 || !parseUint32(tok_.raw, whole) || whole > 3600) {
      return failAt(at, "TIMEOUT must be at most 3600 seconds");
    }
    advance();
    std::uint64_t frac = 0, scale = 1000;
    if (tok_.isSymbol('.')) {
      advance();
      if (tok_.kind != Kind::kNumber) return fail("expected digits after the decimal point");
      for (char c : tok_.raw) {
        if (scale > 1) {
          scale /= 10;
          frac += static_cast<std::uint64_t>(c - '0') * scale;
        }
      }
      advance();
    }
    const std::uint64_t total = std::uint64_t{whole} * 1000 + frac;
    if (total < 1 || total > 3600 * 1000) {
      return failAt(at, "TIMEOUT must be between 0.001 and 3600 seconds");
    }
    ms = static_cast<std::uint32_t>(total);
    return true;
  }

  // A shard name in a RESHARD list: `-80`, 0, plain names.
  bool shardName(std::string& out) {
    if (tok_.kind == Kind::kNumber) {
      out = std::string(tok_.raw);
      advance();
      return true;
    }
    if (tok_.kind == Kind::kSymbol) {
      return fail("expected shard name (backquote names like `-80` or `80-c0`)");
    }
    return name(out, "shard name");
  }

  bool shardList(std::vector<std::string>& out, std::string_view what) {
    auto item = [&] {
      std::size_t at = tok_.begin;
      std::string n;
      if (!shardName(n)) return false;
      if (std::find(out.begin(), out.end(), n) != out.end()) {
        return failAt(at, "shard " + n + " is named twice in the " + std::string(what) + " list");
      }
      out.push_back(std::move(n));
      return true;
    };
    return list("shard names", item);
  }

  Statement reshard() {
    Reshard s;
    if (!expect("KEYSPACE", "expected KEYSPACE after RESHARD") ||
        !name(s.keyspace, "keyspace name") || !expect("FROM", "expected FROM (source shards)") ||
        !shardList(s.from, "FROM")) {
      return std::nullopt;
    }
    std::size_t toAt = tok_.begin;
    if (!expect("TO", "expected TO (target shards)") || !shardList(s.to, "TO")) {
      return std::nullopt;
    }
    for (const auto& n : s.to) {
      if (std::find(s.from.begin(), s.from.end(), n) != s.from.end()) {
        failAt(toAt, "shard " + n + " is both a source and a target");
        return std::nullopt;
      }
    }
    bool autoCutover = false;
    for (;;) {
      trailingHint_ = "WITH AUTO CUTOVER, THROTTLE n ROWS or end of statement";
      std::size_t at = tok_.begin;
      if (accept("WITH")) {
        if (std::exchange(autoCutover, true)) return duplicate(at, "WITH AUTO CUTOVER");
        if (!expect("AUTO", "expected AUTO CUTOVER after WITH") ||
            !expect("CUTOVER", "expected CUTOVER after WITH AUTO")) {
          return std::nullopt;
        }
        s.autoCutover = true;
      } else if (accept("THROTTLE")) {
        if (s.throttleRowsPerSecond) return duplicate(at, "THROTTLE");
        std::uint32_t rows = 0;
        if (tok_.kind != Kind::kNumber || !parseUint32(tok_.raw, rows) || rows == 0) {
          fail(
              "expected THROTTLE n ROWS with n a positive number of rows per second (at most "
              "4294967295)");
          return std::nullopt;
        }
        advance();
        if (!expect("ROWS", "expected ROWS after the throttle (rows per second)")) {
          return std::nullopt;
        }
        s.throttleRowsPerSecond = rows;
      } else {
        return s;
      }
    }
  }

  Statement show(std::size_t at) {
    if (accept("KEYSPACES")) return ShowKeyspaces{};
    if (accept("USERS")) return ShowUsers{};
    if (accept("SHARDS")) return from<ShowShards>();
    if (accept("BACKENDS")) return from<ShowBackends>();
    if (tok_.isWord("TABLE")) {
      advance();
      if (accept("RULES")) return from<ShowTableRules>();
      if (tok_.isWord("STATUS")) return notAdmin(at, "SHOW TABLE STATUS");
      fail("expected RULES after SHOW TABLE");
      return std::nullopt;
    }
    if (accept("MIGRATIONS")) return from<ShowMigrations>();
    if (accept("MIGRATION")) {
      ShowMigration s;
      if (!migrationId(s.id)) return std::nullopt;
      return s;
    }
    if (accept("CATALOG")) {
      if (accept("VERSION")) return ShowCatalogVersion{};
      if (!expect("CHANGES", "expected VERSION or CHANGES after SHOW CATALOG")) return std::nullopt;
      ShowCatalogChanges s;
      trailingHint_ = "LIMIT or end of statement";
      if (accept("LIMIT")) {
        trailingHint_ = {};
        if (!number(s.limit.emplace(), "row count")) return std::nullopt;
      }
      return s;
    }
    if (isMysqlShowTarget(tok_)) return notAdmin(at, "SHOW " + upperText(tok_.raw));
    fail(
        "expected KEYSPACES, SHARDS, BACKENDS, TABLE RULES, USERS, MIGRATIONS, MIGRATION n or "
        "CATALOG after SHOW");
    return std::nullopt;
  }

  template <typename Show>
  Statement from() {
    Show s;
    if (!optionalFrom(s.keyspace)) return std::nullopt;
    return s;
  }

  Statement create(std::size_t at) {
    if (accept("KEYSPACE")) {
      CreateKeyspace s;
      if (!name(s.name, "keyspace name")) return std::nullopt;
      trailingHint_ = "SHARDED or end of statement";
      s.sharded = accept("SHARDED");
      if (s.sharded) trailingHint_ = {};
      return s;
    }
    if (accept("SHARD")) return createShard();
    if (accept("SHARDED")) return createTableRule(catalog::TableKind::kSharded);
    if (accept("REFERENCE")) return createTableRule(catalog::TableKind::kReference);
    if (accept("USER")) return createUser();
    if (tok_.isWord("TABLE")) {
      return notAdmin(at, "CREATE TABLE",
                      "table rules are CREATE SHARDED TABLE and CREATE REFERENCE TABLE");
    }
    if (isMysqlObjectType(tok_)) return notAdmin(at, "CREATE " + upperText(tok_.raw));
    fail("expected KEYSPACE, SHARD, SHARDED TABLE, REFERENCE TABLE or USER after CREATE");
    return std::nullopt;
  }

  Statement createShard() {
    CreateShard s;
    if (!qualified(s.keyspace, s.shard, "shard name", true)) return std::nullopt;
    if (!expect("PRIMARY", "expected PRIMARY 'host:port'") || !address(s.primary)) {
      return std::nullopt;
    }
    bool replicas = false;
    bool notServing = false;
    for (;;) {
      trailingHint_ = "REPLICAS, NOT SERVING or end of statement";
      std::size_t at = tok_.begin;
      if (accept("REPLICAS")) {
        if (std::exchange(replicas, true)) return duplicate(at, "REPLICAS");
        auto item = [&] { return address(s.replicas.emplace_back()); };
        if (!list("replica addresses", item)) return std::nullopt;
      } else if (accept("NOT")) {
        if (std::exchange(notServing, true)) return duplicate(at, "NOT SERVING");
        if (!expect("SERVING", "expected SERVING after NOT")) return std::nullopt;
        s.serving = false;
      } else {
        return s;
      }
    }
  }

  Statement createTableRule(catalog::TableKind kind) {
    CreateTableRule s;
    s.kind = kind;
    if (!expect("TABLE") || !qualified(s.keyspace, s.table, "table name")) return std::nullopt;
    if (kind == catalog::TableKind::kReference) return s;
    if (!expect("SHARD", "expected SHARD KEY (column)") ||
        !expect("KEY", "expected SHARD KEY (column)") ||
        !expectSymbol('(', "expected '(' and the shard key column") ||
        !name(s.shardKey, "shard key column") ||
        !expectSymbol(')', "expected ')' (a shard key is one column)")) {
      return std::nullopt;
    }
    trailingHint_ = "USING xxh3 | xxh3_ci | xxh3_bin or end of statement";
    if (accept("USING")) {
      std::string f;
      if (!name(f, "hash function (xxh3, xxh3_ci or xxh3_bin)")) return std::nullopt;
      for (auto& ch : f)
        ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      s.hashFunction = f;
    }
    return s;
  }

  Statement createUser() {
    CreateUser s;
    if (!userName(s.name)) return std::nullopt;
    if (tok_.isWord("IDENTIFIED")) {
      advance();
      if (tok_.isWord("WITH")) {
        return notSupported(tok_.begin,
                            "IDENTIFIED WITH is not supported: shardproxy stores the "
                            "mysql_native_password and caching_sha2_password hashes itself; write "
                            "IDENTIFIED BY 'password'" +
                                std::string(kSeeDocs));
      }
      if (!expect("BY", "expected BY 'password'")) return std::nullopt;
    } else {
      fail("expected IDENTIFIED BY 'password'");
      return std::nullopt;
    }
    if (tok_.kind != Kind::kString) {
      fail("expected the password as a quoted string");
      return std::nullopt;
    }
    s.password = tok_.value;
    s.passwordBegin = tok_.begin;
    s.passwordEnd = tok_.end;
    advance();
    trailingHint_ = "KEYSPACES (...) or end of statement";
    if (accept("KEYSPACES")) {
      trailingHint_ = {};
      auto item = [&] { return name(s.keyspaces.emplace_back(), "keyspace name"); };
      if (!list("keyspace names", item)) return std::nullopt;
    }
    return s;
  }

  Statement drop(std::size_t at) {
    if (accept("KEYSPACE")) {
      DropKeyspace s;
      if (!name(s.name, "keyspace name")) return std::nullopt;
      return s;
    }
    if (accept("SHARD")) {
      DropShard s;
      if (!qualified(s.keyspace, s.shard, "shard name", true)) return std::nullopt;
      return s;
    }
    if (accept("BACKEND")) {
      DropBackend s;
      if (!address(s.address)) return std::nullopt;
      return s;
    }
    if (accept("USER")) {
      DropUser s;
      if (!userName(s.name)) return std::nullopt;
      return s;
    }
    if (tok_.isWord("TABLE")) {
      advance();
      if (tok_.kind == Kind::kEnd) {
        fail("expected RULE after DROP TABLE");
        return std::nullopt;
      }
      if (!tok_.isWord("RULE")) {
        return notAdmin(at, "DROP TABLE", "a table rule is dropped with DROP TABLE RULE ks.table");
      }
      advance();
      DropTableRule s;
      if (!qualified(s.keyspace, s.table, "table name")) return std::nullopt;
      return s;
    }
    if (isMysqlObjectType(tok_)) return notAdmin(at, "DROP " + upperText(tok_.raw));
    fail("expected KEYSPACE, SHARD, BACKEND, TABLE RULE or USER after DROP");
    return std::nullopt;
  }

  Statement addBackend() {
    AddBackend s;
    if (!expect("BACKEND", "expected BACKEND after ADD") || !address(s.address) ||
        !expect("TO", "expected TO SHARD keyspace.shard") ||
        !expect("SHARD", "expected TO SHARD keyspace.shard") ||
        !qualified(s.keyspace, s.shard, "shard name", true)) {
      return std::nullopt;
    }
    bool role = false;
    for (;;) {
      trailingHint_ = "AS PRIMARY, AS REPLICA, WEIGHT, MAX LAG or end of statement";
      std::size_t at = tok_.begin;
      if (accept("AS")) {
        if (std::exchange(role, true)) return duplicate(at, "AS");
        if (accept("PRIMARY")) {
          s.role = catalog::BackendRole::kPrimary;
        } else if (!expect("REPLICA", "expected PRIMARY or REPLICA after AS")) {
          return std::nullopt;
        }
      } else if (accept("WEIGHT")) {
        if (s.weight) return duplicate(at, "WEIGHT");
        if (!number(s.weight.emplace(), "weight")) return std::nullopt;
      } else if (accept("MAX")) {
        if (s.maxLagSeconds) return duplicate(at, "MAX LAG");
        if (!expect("LAG", "expected LAG after MAX") ||
            !number(s.maxLagSeconds.emplace(), "lag in seconds")) {
          return std::nullopt;
        }
      } else {
        return s;
      }
    }
  }

  Statement setBackend(std::size_t at) {
    if (tok_.kind == Kind::kEnd) {
      fail("expected BACKEND after SET");
      return std::nullopt;
    }
    if (!accept("BACKEND")) return notAdmin(at, "SET", "the admin port has SET BACKEND only");
    SetBackendState s;
    if (!address(s.address)) return std::nullopt;
    if (accept("ONLINE")) {
      s.state = catalog::BackendState::kOnline;
    } else if (accept("OFFLINE")) {
      s.state = catalog::BackendState::kOffline;
    } else if (accept("DRAINING")) {
      s.state = catalog::BackendState::kDraining;
    } else {
      fail("expected ONLINE, OFFLINE or DRAINING");
      return std::nullopt;
    }
    return s;
  }

  Statement duplicate(std::size_t at, std::string_view clause) {
    failAt(at, "duplicate " + std::string(clause) + " clause");
    return std::nullopt;
  }

  std::string_view sql_;
  Lexer lexer_;
  Token tok_;
  std::string_view trailingHint_;  // what may follow where the statement could end
  std::optional<AdminParseError> error_;
};

}  // namespace

std::variant<AdminStatement, AdminParseError> parseAdmin(std::string_view sql) {
  return Parser(sql).run();
}

std::string redactPassword(std::string_view sql, const AdminStatement& statement) {
  const auto* user = std::get_if<CreateUser>(&statement);
  if (!user || user->passwordEnd <= user->passwordBegin || user->passwordEnd > sql.size()) {
    return std::string(sql);
  }
  std::string out(sql.substr(0, user->passwordBegin));
  out += "'<redacted>'";
  out += sql.substr(user->passwordEnd);
  return out;
}

}  // namespace shardproxy::router::admin
