// The grammar of keyspace settings on the admin port (docs/admin-sql.md, "ALTER KEYSPACE"):
//   ALTER KEYSPACE name SET setting = value [, setting = value]
// with scatter_writes = allow | deny and transaction_mode = single | multi | twopc, each at most
// once, the value bare or quoted, in any case.
#include <cctype>

#include "admin_grammar.h"
#include "admin_terms.h"

namespace shardproxy::router::admin {
namespace {

using Kind = Token::Kind;

// The current token as a setting's value: a word or a string, upper-cased; empty otherwise.
std::string settingValue(AdminCursor& c) {
  const Token& t = c.token();
  if (t.kind != Kind::kWord && t.kind != Kind::kString) return {};
  return upperText(t.kind == Kind::kString ? t.value : t.raw);
}

bool scatterWrites(AdminCursor& c, catalog::ScatterWrites& out) {
  const std::string value = settingValue(c);
  if (value == "ALLOW") {
    out = catalog::ScatterWrites::kAllow;
  } else if (value == "DENY") {
    out = catalog::ScatterWrites::kDeny;
  } else {
    return c.fail("expected allow or deny (scatter_writes = allow | deny)");
  }
  c.advance();
  return true;
}

bool transactionMode(AdminCursor& c, catalog::TransactionMode& out) {
  std::string value = settingValue(c);
  for (auto& ch : value)
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  auto mode = value.empty() ? std::nullopt : catalog::parseTransactionMode(value);
  if (!mode) return c.fail("expected single, multi or twopc (transaction_mode = ...)");
  out = *mode;
  c.advance();
  return true;
}

}  // namespace

std::optional<AdminStatement> parseAlterKeyspace(AdminCursor& c) {
  AlterKeyspace s;
  if (!c.name(s.keyspace, "keyspace name") ||
      !c.expect("SET",
                "expected SET and a setting (scatter_writes = allow | deny, "
                "transaction_mode = single | multi | twopc)")) {
    return std::nullopt;
  }
  for (;;) {
    const std::size_t settingAt = c.token().begin;
    if (c.accept("SCATTER_WRITES")) {
      if (s.scatterWrites) {
        c.failAt(settingAt, "scatter_writes is set twice");
        return std::nullopt;
      }
      if (!c.expectSymbol('=', "expected '=' after scatter_writes") ||
          !scatterWrites(c, s.scatterWrites.emplace())) {
        return std::nullopt;
      }
    } else if (c.accept("TRANSACTION_MODE")) {
      if (s.transactionMode) {
        c.failAt(settingAt, "transaction_mode is set twice");
        return std::nullopt;
      }
      if (!c.expectSymbol('=', "expected '=' after transaction_mode") ||
          !transactionMode(c, s.transactionMode.emplace())) {
        return std::nullopt;
      }
    } else if (c.accept("AUTO_FAILOVER")) {
      if (s.autoFailover) {
        c.failAt(settingAt, "auto_failover is set twice");
        return std::nullopt;
      }
      if (!c.expectSymbol('=', "expected '=' after auto_failover")) return std::nullopt;
      const std::string value = settingValue(c);
      if (value == "ON" || value == "1" || value == "TRUE") {
        s.autoFailover = true;
      } else if (value == "OFF" || value == "0" || value == "FALSE") {
        s.autoFailover = false;
      } else {
        c.fail("expected on or off (auto_failover = on | off)");
        return std::nullopt;
      }
      c.advance();
    } else {
      c.fail("expected a keyspace setting (scatter_writes, transaction_mode, auto_failover)");
      return std::nullopt;
    }
    c.setTrailingHint("',' and another setting, or end of statement");
    if (!c.token().isSymbol(',')) return s;
    c.advance();
    c.setTrailingHint({});
  }
}

}  // namespace shardproxy::router::admin
