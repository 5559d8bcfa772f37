// libFuzzer target: the SQL lexer and parser on arbitrary text, then the planner's questions, the
// planner itself (a 2-shard and an unsharded keyspace, as a text query and as an execute with
// bound values) and the AST dump over whatever parsed. Crashes found here become regression tests
// in tests/unit/router/sql_errors_test.cpp (SqlFuzzRegressions). Build and run: see
// docs/sql-parser.md.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "shardproxy/router/planner.h"
#include "shardproxy/router/sql/analysis.h"
#include "shardproxy/router/sql/digest.h"
#include "shardproxy/router/sql/dump.h"
#include "shardproxy/router/sql/parser.h"

using namespace shardproxy::router::sql;

namespace {

void check(bool ok) {
  if (!ok) std::abort();
}

bool inside(std::string_view part, std::string_view whole) {
  return part.empty() ||
         (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

void lexAll(std::string_view sql, const LexOptions& options) {
  Lexer lexer(sql, options);
  std::uint32_t last = 0;
  for (;;) {
    Token t = lexer.next();
    check(t.begin <= t.end && t.end <= sql.size());
    // An unterminated version comment is reported at its start, before tokens lexed inside it.
    if (t.is(TokenKind::kError)) return;
    check(t.begin >= last);
    if (t.is(TokenKind::kEnd)) return;
    last = t.end;
  }
}

shardproxy::catalog::Snapshot makeSnapshot() {
  namespace catalog = shardproxy::catalog;
  catalog::Snapshot s;
  s.version = 1;
  auto addKeyspace = [&](const char* name, bool sharded, std::vector<const char*> shards) {
    catalog::Keyspace ks;
    ks.name = name;
    ks.sharded = sharded;
    for (const char* shardName : shards) {
      catalog::Shard shard;
      shard.keyspace = name;
      shard.name = shardName;
      shard.range = sharded ? *catalog::KeyRange::parse(shardName) : catalog::KeyRange{};
      for (int r = 0; r < 2; ++r) {
        catalog::Backend b;
        b.id = static_cast<std::int64_t>(s.backends.size() + 1);
        b.address = {"127.0.0.1", static_cast<std::uint16_t>(3306 + s.backends.size())};
        b.keyspace = name;
        b.shard = shardName;
        b.role = r == 0 ? catalog::BackendRole::kPrimary : catalog::BackendRole::kReplica;
        shard.backends.push_back(s.backends.size());
        if (r == 0) shard.primary = s.backends.size();
        s.backends.push_back(b);
      }
      ks.shards.push_back(s.shards.size());
      s.shards.push_back(shard);
    }
    s.keyspaces.push_back(ks);
  };
  addKeyspace("main", false, {"0"});
  addKeyspace("shop", true, {"-80", "80-"});
  s.tables.push_back({"shop", "t", catalog::TableKind::kSharded, "id", "xxh3"});
  s.tables.push_back({"shop", "u", catalog::TableKind::kSharded, "k", "xxh3_ci"});
  s.tables.push_back({"shop", "r", catalog::TableKind::kReference, "", "xxh3"});
  return s;
}

void planAll(const Statement& st) {
  using namespace shardproxy::router;
  static const shardproxy::catalog::Snapshot snap = makeSnapshot();
  static Planner planner;
  static std::vector<BoundValue> params;
  params.assign(st.placeholderCount, BoundValue{});
  for (std::size_t i = 0; i < params.size(); ++i) {
    params[i].type = i % 3 == 0
                         ? BoundValue::Type::kInt
                         : (i % 3 == 1 ? BoundValue::Type::kString : BoundValue::Type::kNull);
    params[i].i = static_cast<std::int64_t>(i * 7919);
    params[i].s = "abc";
  }
  for (const char* schema : {"shop", "main", ""}) {
    for (int executing = 0; executing < 2; ++executing) {
      PlanInput in;
      in.snapshot = &snap;
      in.schema = schema;
      in.inTransaction = executing == 1;
      in.executing = executing == 1;
      if (executing == 1) in.params = params;
      const Plan& p = planner.plan(st, in);
      if (p.kind == PlanKind::kError) {
        check(!p.error.message.empty() && p.targets.empty());
        continue;
      }
      for (std::size_t i = 0; i < p.targets.size(); ++i) {
        check(p.targets[i].shard < snap.shards.size());
        const PlanTarget& t = p.targets[i];
        check(t.length == 0 || t.offset + t.length <= p.buffer.size());
        (void)p.sqlFor(i);
      }
    }
  }
}

const Expr* whereOf(const Statement& st) {
  if (const auto* s = st.as<SelectStatement>()) {
    const auto* b = s->query->as<SelectBlock>();
    return b != nullptr ? b->where : nullptr;
  }
  if (const auto* u = st.as<UpdateStatement>()) return u->where;
  if (const auto* d = st.as<DeleteStatement>()) return d->where;
  return nullptr;
}

void parseAll(Parser& parser, std::string_view sql) {
  static std::vector<KeyConjunct> conjuncts;
  static std::vector<Token> tokens;
  std::size_t at = 0;
  for (int i = 0; i < 8 && at < sql.size(); ++i) {
    ParseResult r = parser.parse(sql, at, &tokens);
    if (!r.ok()) {
      check(r.error().position <= sql.size() && !r.error().message.empty());
      return;
    }
    const Statement& st = r.statement();
    check(inside(st.text, sql) && !st.text.empty() && st.source.data() == sql.data());
    for (const TableName* t : st.tables)
      check(inside(t->text, sql) && inside(t->name.text, sql));
    for (const Hint* h : st.hints)
      check(inside(h->text, sql));
    check(!dump(st).empty());
    (void)shapeOf(st);
    (void)routingHints(st);
    if (const auto* s = st.as<SelectStatement>(); s != nullptr && s->query->as<SelectBlock>()) {
      static std::vector<const TableName*> own;
      own.clear();
      tablesIn(s->query->as<SelectBlock>()->from, own);
      for (const TableName* t : own)
        check(inside(t->text, sql));
    }
    // Query digests: the fingerprint of the statement's text (bounded, ends) and the advisor's
    // columns (names from the text).
    static std::string digestText, fromTokens;
    (void)fingerprint(st.text, parser.options().lex, digestText);
    check(digestText.size() <= kMaxDigestText + 3);
    // The parser's recorded tokens give the fingerprint of lexing the text again from where the
    // parse started (not of st.text alone: cut there, a trailing "--" reads as a comment).
    if (tokensComplete(tokens)) {
      static std::string fromText;
      const std::uint64_t again = fingerprint(sql.substr(at), parser.options().lex, fromText);
      check(fingerprint(tokens, sql, fromTokens) == again && fromTokens == fromText);
    } else {
      check(tokens.empty());  // only past the cap: a statement it parsed was recorded whole
    }
    for (const EqualityColumn& e : equalityColumns(st))
      check(!e.column.empty());
    keyConjuncts(whereOf(st), conjuncts);
    for (const KeyConjunct& k : conjuncts) {
      check(k.column != nullptr && inside(k.column->text, sql));
      if (k.match != KeyMatch::kColumns) check(!k.values.empty());
      (void)resolveTable(st.tables, *k.column);
    }
    planAll(st);
    check(r.next() > at && r.next() <= sql.size());
    at = r.next();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view sql(reinterpret_cast<const char*>(data), size);
  // Parsers live across inputs, as they do in a session: the arena is reused.
  static Parser defaults;
  static Parser modes([] {
    ParseOptions o;
    o.lex.serverVersion = 50700;
    o.lex.mariadb = false;
    o.lex.ansiQuotes = true;
    o.lex.noBackslashEscapes = true;
    o.pipesAsConcat = true;
    o.maxDepth = 40;
    o.maxHeight = 100;
    return o;
  }());
  // The multibyte character sets read strings character by character (sjis, cp932, big5, gbk):
  // one parser per set, the set chosen by the input's first byte.
  static Parser multibyte[4] = {
      Parser([] {
        ParseOptions o;
        o.lex.charset = MultibyteCharset::kSjis;
        return o;
      }()),
      Parser([] {
        ParseOptions o;
        o.lex.charset = MultibyteCharset::kCp932;
        return o;
      }()),
      Parser([] {
        ParseOptions o;
        o.lex.charset = MultibyteCharset::kBig5;
        return o;
      }()),
      Parser([] {
        ParseOptions o;
        o.lex.charset = MultibyteCharset::kGbk;
        return o;
      }()),
  };
  lexAll(sql, defaults.options().lex);
  {
    // A statement the parser refuses is still digested, from its raw text.
    static std::string raw;
    (void)fingerprint(sql, defaults.options().lex, raw);
    check(raw.size() <= kMaxDigestText + 3);
  }
  parseAll(defaults, sql);
  parseAll(modes, sql);
  // SHARDPROXY_FUZZ_CHARSET=sjis|cp932|big5|gbk pins one set (a run per set, docs/sql-parser.md).
  static const int pinned = [] {
    const char* v = std::getenv("SHARDPROXY_FUZZ_CHARSET");
    if (v == nullptr) return -1;
    switch (multibyteCharsetNamed(v)) {
      case MultibyteCharset::kSjis:
        return 0;
      case MultibyteCharset::kCp932:
        return 1;
      case MultibyteCharset::kBig5:
        return 2;
      case MultibyteCharset::kGbk:
        return 3;
      case MultibyteCharset::kNone:
        break;
    }
    std::abort();  // a name the fuzz target does not know: fail loudly, not fuzz the defaults
  }();
  if (size > 0) {
    Parser& mb = multibyte[pinned >= 0 ? pinned : data[0] % 4];
    lexAll(sql, mb.options().lex);
    parseAll(mb, sql);
  }
  return 0;
}
