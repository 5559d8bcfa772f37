// fingerprint() (sql/digest.h).
#include "shardproxy/router/sql/digest.h"

#include <xxhash.h>

#include <algorithm>
#include <cctype>

#include "shardproxy/router/sql/analysis.h"
#include "shardproxy/router/sql/ast.h"
#include "shardproxy/router/sql/statement.h"

namespace shardproxy::router::sql {

namespace {

bool isLiteral(TokenKind k) {
  switch (k) {
    case TokenKind::kString:
    case TokenKind::kNationalString:
    case TokenKind::kHexString:
    case TokenKind::kBitString:
    case TokenKind::kHexNumber:
    case TokenKind::kBitNumber:
    case TokenKind::kInteger:
    case TokenKind::kDecimal:
    case TokenKind::kFloat:
    case TokenKind::kPlaceholder:
      return true;
    default:
      return false;
  }
}

bool isNumber(TokenKind k) {
  return k == TokenKind::kInteger || k == TokenKind::kDecimal || k == TokenKind::kFloat;
}

// A token after which a `-` starts a negative number rather than a subtraction.
bool startsOperand(const Token& prev) {
  switch (prev.kind) {
    case TokenKind::kWord:
      return prev.kw != Kw::kNone;  // a keyword (WHERE, AND, VALUES, ...), not an identifier
    case TokenKind::kQuotedIdent:
    case TokenKind::kRParen:
    case TokenKind::kUserVar:
      return false;
    default:
      return !isLiteral(prev.kind);
  }
}

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}
  // Appends `text` with a space before it unless `glue` (after '(' or '.', before ',' ')' '.').
  void put(std::string_view text, bool glue) {
    if (full_) return;
    // The space counts too: the text stays within kMaxDigestText before its "...".
    const bool space = !out_.empty() && !glue;
    if (out_.size() + (space ? 1 : 0) + text.size() > kMaxDigestText) {
      out_ += "...";
      full_ = true;
      return;
    }
    if (space) out_ += ' ';
    out_ += text;
  }
  void putUpper(std::string_view text, bool glue) {
    upper_.assign(text);
    for (char& c : upper_)
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    put(upper_, glue);
  }

 private:
  std::string& out_;
  std::string upper_;
  bool full_ = false;
};

// The parser's recorded tokens read like a Lexer (copyable, for the look-ahead probes below).
class TokenCursor {
 public:
  explicit TokenCursor(std::span<const Token> tokens)
      : at_(tokens.data()), end_(at_ + tokens.size()) {}
  Token next() { return at_ < end_ ? *at_++ : Token{}; }

 private:
  const Token* at_;
  const Token* end_;
};

// `lexer`: where the tokens come from (a Lexer over `sql`, or a TokenCursor).
template <typename Source>
std::uint64_t fingerprintFrom(Source lexer, std::string_view sql, std::string& out) {
  out.clear();
  Writer w(out);
  Token prev;  // kEnd at first
  bool glueNext = true;
  int depth = 0;         // parentheses open
  int valuesDepth = -1;  // the depth a VALUES list's rows open at; -1: not in one
  auto stop = [](const Token& x) {
    return x.is(TokenKind::kEnd) || x.is(TokenKind::kError) || x.is(TokenKind::kSemicolon);
  };
  for (Token t = lexer.next(); !stop(t); prev = t, t = lexer.next()) {
    // IN (literal, ...) → IN (...)
    if (t.is(Kw::kIn)) {
      Source probe = lexer;
      bool folded = false;
      if (probe.next().is(TokenKind::kLParen)) {
        for (Token v = probe.next();; v = probe.next()) {
          if (v.is(TokenKind::kMinus)) v = probe.next();
          if (!isLiteral(v.kind) && !v.is(Kw::kNull)) break;
          v = probe.next();
          if (v.is(TokenKind::kRParen)) {
            folded = true;
            break;
          }
          if (!v.is(TokenKind::kComma)) break;
        }
      }
      if (folded) {
        w.put("IN (...)", glueNext);
        glueNext = false;
        lexer = probe;
        t.kind = TokenKind::kRParen;  // what the text now ends with
        continue;
      }
    }
    // A '(' written against a name is a call (f(x), COUNT(*)) and stays against it.
    const bool call = t.is(TokenKind::kLParen) && prev.end == t.begin &&
                      (prev.is(TokenKind::kWord) || prev.is(TokenKind::kQuotedIdent));
    const bool glue = glueNext || call || t.is(TokenKind::kComma) || t.is(TokenKind::kRParen) ||
                      t.is(TokenKind::kDot);
    if (t.is(TokenKind::kMinus) && startsOperand(prev)) {
      Source probe = lexer;
      Token n = probe.next();
      if (isNumber(n.kind)) {  // -5 is one literal
        lexer = probe;
        t = n;
      }
    }
    if (isLiteral(t.kind)) {
      w.put("?", glue);
    } else if (t.is(TokenKind::kWord) && t.kw != Kw::kNone) {
      w.putUpper(t.text(sql), glue);
    } else {
      w.put(t.text(sql), glue);
    }
    glueNext = t.is(TokenKind::kLParen) || t.is(TokenKind::kDot);
    if (t.is(Kw::kValues) || t.is(Kw::kValue)) valuesDepth = depth;
    if (t.is(TokenKind::kLParen)) ++depth;
    if (t.is(TokenKind::kRParen) && --depth == valuesDepth) {
      // The first row of a VALUES list: the rows after it fold into ", ...".
      Source probe = lexer;
      bool skipped = false;
      while (true) {
        Source row = probe;
        if (!row.next().is(TokenKind::kComma) || !row.next().is(TokenKind::kLParen)) break;
        int d = 1;
        while (d > 0) {
          Token x = row.next();
          if (stop(x)) break;  // a row never runs past the statement's end
          if (x.is(TokenKind::kLParen)) ++d;
          if (x.is(TokenKind::kRParen)) --d;
        }
        if (d > 0) break;
        probe = row;
        skipped = true;
      }
      if (skipped) {
        w.put(",", true);
        w.put("...", false);
        lexer = probe;
      }
      valuesDepth = -1;
    }
  }
  return XXH3_64bits(out.data(), out.size());
}

}  // namespace

std::uint64_t fingerprint(std::string_view sql, const LexOptions& options, std::string& out) {
  return fingerprintFrom(Lexer(sql, options), sql, out);
}

std::uint64_t fingerprint(std::span<const Token> tokens, std::string_view sql, std::string& out) {
  return fingerprintFrom(TokenCursor(tokens), sql, out);
}

bool tokensComplete(std::span<const Token> tokens) {
  return !tokens.empty() &&
         (tokens.back().is(TokenKind::kEnd) || tokens.back().is(TokenKind::kSemicolon));
}

std::vector<EqualityColumn> equalityColumns(const Statement& statement) {
  const Expr* where = nullptr;
  if (const auto* s = statement.as<SelectStatement>()) {
    if (s->query != nullptr) {
      if (const auto* b = s->query->as<SelectBlock>()) where = b->where;
    }
  } else if (const auto* u = statement.as<UpdateStatement>()) {
    where = u->where;
  } else if (const auto* d = statement.as<DeleteStatement>()) {
    where = d->where;
  }
  std::vector<EqualityColumn> out;
  if (where == nullptr) return out;
  std::vector<KeyConjunct> conj;
  keyConjuncts(where, conj);
  for (const KeyConjunct& k : conj) {
    if (k.match == KeyMatch::kColumns || k.column == nullptr) continue;
    const TableName* t = resolveTable(statement.tables, *k.column);
    if (t == nullptr || t->cte) continue;
    EqualityColumn e{std::string(t->name.name), std::string(k.column->column.name)};
    if (std::find(out.begin(), out.end(), e) == out.end()) out.push_back(std::move(e));
  }
  return out;
}

}  // namespace shardproxy::router::sql
