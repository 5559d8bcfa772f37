// Recursive descent over the admin grammar of docs/admin-sql.md. One token of lookahead, pulled
// from the lexer on demand, so a statement costs at most one pass over its text; every list is
// capped, and there is no nesting to cap.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <utility>

#include "admin_grammar.h"
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

class Parser final : public AdminCursor {
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
  // --- tokens and errors (AdminCursor, for the grammar in other files)
  const Token& token() const override { return tok_; }
  void setTrailingHint(std::string_view hint) override { trailingHint_ = hint; }
  void advance() override { tok_ = lexer_.next(); }

  bool accept(std::string_view keyword) override {
    if (!tok_.isWord(keyword)) return false;
    advance();
    return true;
  }

  bool expect(std::string_view keyword, std::string_view hint = {}) override {
    if (accept(keyword)) return true;
    return fail(hint.empty() ? "expected " + std::string(keyword) : std::string(hint));
  }

  bool expectSymbol(char c, std::string_view hint) override {
    if (!tok_.isSymbol(c)) return fail(std::string(hint));
    advance();
    return true;
  }

  // Records a syntax error at the current token (a lexer error names itself) and returns false.
  bool fail(std::string hint) override {
    if (tok_.kind == Kind::kError) hint = tok_.value;
    return failAt(tok_.begin, hint);
  }

  bool failAt(std::size_t position, std::string_view hint) override {
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
  bool name(std::string& out, std::string_view what, bool user = false) override {
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

  // keyspace '.' object (a shard name when `shard`).
  bool qualified(std::string& keyspace, std::string& object, std::string_view what,
                 bool shard = false) override {
    if (!name(keyspace, "keyspace name")) return false;
    if (!expectSymbol('.', "expected '.' and " + std::string(what) + " (write keyspace.name)")) {
      return false;
    }
    return shard ? shardName(object) : name(object, what);
  }

  bool optionalFrom(std::optional<std::string>& keyspace) override {
    trailingHint_ = "FROM keyspace or end of statement";
    if (!accept("FROM") && !accept("IN")) return true;
    trailingHint_ = {};
    return name(keyspace.emplace(), "keyspace name");
  }

  bool number(std::uint32_t& out, std::string_view what) override {
    if (tok_.kind != Kind::kNumber) return fail("expected " + std::string(what) + " (a number)");
    if (!parseUint32(tok_.raw, out)) {
      return fail(std::string(what) + " must be between 0 and 4294967295");
    }
    advance();
    return true;
  }

  bool address(catalog::Endpoint& out) override {
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
    if (accept("ALTER")) return alter(at);
    if (accept("DROP")) return drop(at);
    if (accept("ADD")) return addBackend();
    if (accept("SET")) return setBackend(at);
    if (accept("RESHARD")) return reshard();
    if (accept("SWITCHOVER")) return parseSwitchover(*this);
    if (auto action = migrationVerb()) return migrationCommand(*action);
    if (tok_.isWord("RESET")) {  // RESET QUERY DIGEST, else MySQL's RESET MASTER / SLAVE / ...
      advance();
      if (accept("QUERY")) return parseResetQueryDigest(*this);
      return notAdmin(at, "RESET");
    }
    if (isMysqlVerb(tok_)) return mysqlVerb(at);
    fail(tok_.kind == Kind::kEnd ? "empty statement"
                                 : "expected SHOW, CREATE, ALTER, DROP, ADD, SET, RESHARD, "
                                   "SWITCHOVER or a "
                                   "migration verb (PAUSE, RESUME, CANCEL, VERIFY, CUTOVER, "
                                   "REVERSE, COMPLETE)");
    return std::nullopt;
  }

  // A MySQL statement. `STOP MIGRATION 7` reads as MySQL's STOP too, but its author wants a
  // migration verb: say which ones there are.
  Statement mysqlVerb(std::size_t at) {
    std::string verb = upperText(tok_.raw);
    advance();
    if (!tok_.isWord("MIGRATION")) return notAdmin(at, verb);
    return notAdmin(at, verb + " MIGRATION",
                    "a migration takes PAUSE, RESUME, CANCEL, VERIFY, CUTOVER, REVERSE or "
                    "COMPLETE");
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
    if (!parsePositiveInt64(tok_.raw, out)) {
      return fail("migration id must be between 1 and 9223372036854775807");
    }
    advance();
    return true;
  }

  Statement migrationCommand(catalog::MigrationRequest action) {
    MigrationCommand s;
    s.action = action;
    if (!expect("MIGRATION", "expected MIGRATION and its id") || !migrationId(s.id)) {
      return std::nullopt;
    }
    // Only a switch holds writes, so only a switch has a pause budget.
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

  // Seconds with an optional fraction (2, 0.5, .5, 1.25) → milliseconds rounded half up, 1 ms to
  // one hour. The lexer gives digits, '.', digits: they must touch, "2 . 5" is no number.
  bool seconds(std::uint32_t& ms) override {
    constexpr std::uint64_t kMaxMs = std::uint64_t{3600} * 1000;
    const std::size_t at = tok_.begin;
    std::size_t end = at;
    std::string_view whole;
    std::string_view fraction;
    if (tok_.kind == Kind::kNumber) {
      whole = tok_.raw;
      end = tok_.end;
      advance();
    } else if (!tok_.isSymbol('.')) {
      return fail("expected the TIMEOUT in seconds (e.g. 2 or 0.5)");
    }
    if (tok_.isSymbol('.') && tok_.begin == end) {
      end = tok_.end;
      advance();
      if (tok_.kind != Kind::kNumber || tok_.begin != end) {
        return fail("expected digits after the decimal point");
      }
      fraction = tok_.raw;
      advance();
    }
    auto total = secondsToMs(whole, fraction);
    if (!total || *total < 1 || *total > kMaxMs) {
      return failAt(at, "TIMEOUT must be between 0.001 and 3600 seconds");
    }
    ms = static_cast<std::uint32_t>(*total);
    return true;
  }

  // A shard name: `-80`, a plain identifier, or a bare number (`0`: an unsharded keyspace's).
  bool shardName(std::string& out) {
    static constexpr std::string_view kBackquote =
        "expected shard name (backquote names like `-80` or `80-c0`)";
    if (tok_.kind == Kind::kSymbol) return fail(std::string(kBackquote));
    const std::size_t at = tok_.begin;
    const std::size_t end = tok_.end;
    const bool bare = tok_.kind != Kind::kQuotedIdent;
    if (tok_.kind != Kind::kNumber) {
      if (!name(out, "shard name")) return false;
    } else if (auto why = nameProblem(tok_.raw, kMaxIdentifierChars)) {
      return fail("invalid shard name: " + *why);
    } else {
      out = std::string(tok_.raw);
      advance();
    }
    // `80-` or `c0-` written bare lex as a name and a '-': point at the whole of it.
    if (bare && tok_.isSymbol('-') && tok_.begin == end) return failAt(at, kBackquote);
    return true;
  }

  // '(' shard {',' shard} ')': not empty, no name twice, none from `others` (the FROM list).
  bool shardList(std::vector<std::string>& out, std::string_view what,
                 const std::vector<std::string>& others = {}) {
    auto item = [&] {
      if (out.empty() && tok_.isSymbol(')')) {
        return fail("empty " + std::string(what) + " list: name at least one shard");
      }
      const std::size_t at = tok_.begin;
      std::string n;
      if (!shardName(n)) return false;
      if (std::find(out.begin(), out.end(), n) != out.end()) {
        return failAt(
            at, "shard " + quoted(n) + " is named twice in the " + std::string(what) + " list");
      }
      if (std::find(others.begin(), others.end(), n) != others.end()) {
        return failAt(at, "shard " + quoted(n) + " is both a source and a target");
      }
      out.push_back(std::move(n));
      return true;
    };
    return list("shard names", item);
  }

  static std::string quoted(std::string_view name) {
    std::string out = "`";
    for (char c : name)
      out += c == '`' ? std::string("``") : std::string(1, c);
    return out + "`";
  }

  Statement reshard() {
    Reshard s;
    if (!expect("KEYSPACE", "expected KEYSPACE after RESHARD") ||
        !name(s.keyspace, "keyspace name") || !expect("FROM", "expected FROM (source shards)") ||
        !shardList(s.from, "FROM") || !expect("TO", "expected TO (target shards)") ||
        !shardList(s.to, "TO", s.from)) {
      return std::nullopt;
    }
    for (;;) {
      trailingHint_ = "WITH AUTO CUTOVER, THROTTLE n ROWS or end of statement";
      std::size_t at = tok_.begin;
      if (accept("WITH")) {
        if (s.autoCutover) return duplicate(at, "WITH AUTO CUTOVER");
        if (!expect("AUTO", "expected AUTO CUTOVER after WITH") ||
            !expect("CUTOVER", "expected CUTOVER after WITH AUTO")) {
          return std::nullopt;
        }
        s.autoCutover = true;
      } else if (accept("THROTTLE")) {
        if (s.throttleRowsPerSecond) return duplicate(at, "THROTTLE");
        if (!throttle(s.throttleRowsPerSecond.emplace())) return std::nullopt;
      } else {
        return s;
      }
    }
  }

  // THROTTLE n ROWS: n rows per second, 1 to 4294967295.
  bool throttle(std::uint64_t& rowsPerSecond) {
    if (tok_.kind != Kind::kNumber) {
      return fail("expected THROTTLE n ROWS (n rows per second, a number)");
    }
    std::uint32_t rows = 0;
    if (!parseUint32(tok_.raw, rows) || rows == 0) {
      return fail("THROTTLE must be between 1 and 4294967295 rows per second");
    }
    advance();
    if (!expect("ROWS", "expected ROWS after the throttle (rows per second)")) return false;
    rowsPerSecond = rows;
    return true;
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
    if (accept("SEQUENCES")) return parseShowSequences(*this);
    if (accept("LOOKUP")) return parseShowLookupKeys(*this);
    if (accept("TRANSACTIONS")) return ShowTransactions{};
    if (accept("SCHEMA")) {
      if (!expect("DRIFT", "expected DRIFT after SHOW SCHEMA")) return std::nullopt;
      return from<ShowSchemaDrift>();
    }
    if (accept("MIGRATION")) {
      ShowMigration s;
      if (!migrationId(s.id)) return std::nullopt;
      return s;
    }
    if (accept("FAILOVERS")) {
      ShowFailovers s;
      trailingHint_ = "LIMIT or end of statement";
      if (accept("LIMIT")) {
        trailingHint_ = {};
        if (!number(s.limit.emplace(), "row count")) return std::nullopt;
      }
      return s;
    }
    if (accept("BUFFERS")) return ShowBuffers{};
    if (accept("QUERY")) return parseShowQueryDigest(*this);
    if (tok_.isWord("SHARD")) return parseShowShardKeyAdvice(*this);
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
        "expected KEYSPACES, SHARDS, BACKENDS, TABLE RULES, USERS, MIGRATIONS, MIGRATION n, "
        "SEQUENCES, TRANSACTIONS, SCHEMA DRIFT, FAILOVERS, BUFFERS, QUERY DIGEST, SHARD KEY "
        "ADVICE or CATALOG after SHOW");
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
    if (accept("SEQUENCE")) return parseCreateSequence(*this);
    if (accept("LOOKUP")) return parseCreateLookupKey(*this);
    if (tok_.isWord("TABLE")) {
      return notAdmin(at, "CREATE TABLE",
                      "table rules are CREATE SHARDED TABLE and CREATE REFERENCE TABLE");
    }
    if (isMysqlObjectType(tok_)) return notAdmin(at, "CREATE " + upperText(tok_.raw));
    fail(
        "expected KEYSPACE, SHARD, SHARDED TABLE, REFERENCE TABLE, USER or SEQUENCE after "
        "CREATE");
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

  // ALTER KEYSPACE only: other ALTERs are MySQL DDL, which goes to the application port.
  Statement alter(std::size_t at) {
    if (tok_.kind == Kind::kEnd) {
      fail("expected KEYSPACE after ALTER");
      return std::nullopt;
    }
    if (!accept("KEYSPACE")) {
      return notAdmin(at, "ALTER", "the admin port has ALTER KEYSPACE only");
    }
    return parseAlterKeyspace(*this);
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
    if (accept("SEQUENCE")) return parseDropSequence(*this);
    if (accept("LOOKUP")) return parseDropLookupKey(*this);
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
    fail("expected KEYSPACE, SHARD, BACKEND, TABLE RULE, USER or SEQUENCE after DROP");
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
    if (accept("KEYSPACE")) return parseSetKeyspace(*this);
    if (!accept("BACKEND")) {
      return notAdmin(at, "SET",
                      "the admin port has SET BACKEND and SET KEYSPACE ... AUTO FAILOVER only");
    }
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
