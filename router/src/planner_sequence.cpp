// Generated keys (docs/routing.md, "Generated keys"): an INSERT into a sharded table with a global
// sequence that leaves the sequence's column to it — the column omitted from the column list or
// SET, or given NULL, DEFAULT or 0 (0 unless sql_mode has NO_AUTO_VALUE_ON_ZERO) — gets the
// sequence's next values written into its text, then is planned as if the client had sent them:
// rows are placed (and split per shard) by them when the column is the shard key. The rewritten
// text is parsed again by a parser of the planner's own, so every rule of planInsert applies to
// it unchanged. Nothing here allocates once the scratch buffers have grown.
#include <fmt/format.h>

#include <iterator>

#include "planner_internal.h"
#include "planner_merge.h"

namespace shardproxy::router::planning {

namespace {

void appendQuotedName(std::string& out, std::string_view name) {
  out += '`';
  for (char c : name) {
    if (c == '`') out += '`';
    out += c;
  }
  out += '`';
}

bool isZero(const BoundValue& v) {
  return (v.type == BoundValue::Type::kInt && v.i == 0) ||
         (v.type == BoundValue::Type::kUint && v.u == 0);
}

}  // namespace

// NULL, DEFAULT and (unless NO_AUTO_VALUE_ON_ZERO) 0 ask for a generated value, as they do of
// AUTO_INCREMENT. A `?` is known only at EXECUTE.
bool Run::needsGeneratedValue(const Expr* v, const catalog::Sequence&) {
  if (const auto* lit = v->as<Literal>()) {
    if (lit->type == LiteralType::kNull) return true;
    return lit->type == LiteralType::kInteger && lit->magnitude == 0 && !in_.noAutoValueOnZero;
  }
  if (const auto* w = v->as<Word>()) return iequals(w->word, "DEFAULT");
  if (const auto* p = v->as<Placeholder>()) {
    // insertParams_: after a prepared INSERT's rewrite, the rewritten statement's parameters.
    if (!in_.executing || p->index >= insertParams_.size()) return false;
    const BoundValue& b = insertParams_[p->index];
    return b.type == BoundValue::Type::kNull || (isZero(b) && !in_.noAutoValueOnZero);
  }
  return false;
}

const InsertStatement* Run::withSequenceValues(const InsertStatement& st,
                                               const catalog::Sequence& seq) {
  auto& edits = s_.edits;
  edits.clear();
  const std::string_view column = seq.column;
  auto end = [&](std::string_view part) { return st.offsetOf(part) + part.size(); };
  std::size_t count = 0;
  if (st.source == InsertSource::kSet) {
    const Assignment* given = nullptr;
    for (const Assignment* a : st.set)
      if (iequals(a->column->column.name, column)) given = a;
    if (given != nullptr) {
      if (!needsGeneratedValue(given->value, seq)) return nullptr;
      const std::size_t at = st.offsetOf(given->value->text);
      edits.push_back({at, at + given->value->text.size(), {}, {}, {}, true, 0, {}});
    } else if (!st.set.empty()) {
      const std::size_t at = end(st.set[st.set.size() - 1]->text);
      edits.push_back({at, at, ", ", column, " = ", true, 0, {}});
    }
    count = edits.size();
  } else if (st.source == InsertSource::kValues) {
    std::optional<std::size_t> index;
    for (std::size_t i = 0; i < st.columns.size(); ++i)
      if (iequals(st.columns[i]->column.name, column)) index = i;
    bool allEmpty = true;
    for (const InsertRow* row : st.rows)
      allEmpty = allEmpty && row->values.empty();
    if (st.columns.empty() && !allEmpty && in_.tracked != nullptr) {
      // No column list: the tracked columns say which value is the column (schema tracking).
      if (const TrackedTable* t = in_.tracked->table(ks_->name, st.table->name.name)) {
        index = t->position(column);
      }
    }
    if (index) {
      for (const InsertRow* row : st.rows) {
        if (*index >= row->values.size()) continue;  // planInsert reports the count mismatch
        const Expr* v = row->values[*index];
        if (!needsGeneratedValue(v, seq)) continue;
        const std::size_t at = st.offsetOf(v->text);
        edits.push_back({at, at + v->text.size(), {}, {}, {}, true, 0, {}});
        ++count;
      }
    } else if (!st.columns.empty() || allEmpty) {
      if (!st.columns.empty()) {
        const std::size_t at = end(st.columns[st.columns.size() - 1]->text);
        edits.push_back({at, at, ", ", column, {}, false, 0, {}});
      } else {
        // INSERT INTO t VALUES () or INSERT INTO t () VALUES (): the column becomes the list.
        const TableName& t = *st.table;
        std::size_t at = end(t.partitions.empty() ? t.text : t.partitions);
        const std::size_t rows = st.offsetOf(st.rowsText);
        const std::string_view src = st.Statement::source;  // InsertStatement::source is VALUES/SET
        std::size_t p = at;
        while (p < rows && (src[p] == ' ' || src[p] == '\t' || src[p] == '\n' || src[p] == '\r'))
          ++p;
        if (p < rows && src[p] == '(') {
          edits.push_back({p + 1, p + 1, {}, column, {}, false, 0, {}});
        } else {
          edits.push_back({at, at, " (", column, ")", false, 0, {}});
        }
      }
      for (const InsertRow* row : st.rows) {
        const std::size_t close = end(row->text) - 1;  // the row's ')'
        edits.push_back({close, close, row->values.empty() ? "" : ", ", {}, {}, true, 0, {}});
        ++count;
      }
    }
    // No column list, values given and the table not tracked: which value is the column is
    // unknown here (planInsert refuses it saying so).
  }
  if (count == 0) return nullptr;
  if (in_.prepared && !in_.executing) {
    // COM_STMT_PREPARE: the values are taken at each EXECUTE, which places the rows by them.
    sequenceDeferred_ = true;
    plan_.write = true;
    plan_.role = Role::kPrimary;
    plan_.deferred = true;
    plan_.reason = "generated keys: rows placed at EXECUTE";
    targetAll(PlanKind::kScatter);
    return nullptr;
  }
  if (!takeSequenceValues(seq, count)) return nullptr;
  std::size_t next = 0;
  for (auto& e : edits)
    if (e.hasValue) e.value = s_.sequenceValues[next++];
  if (in_.prepared) return applyPreparedSequenceEdits(st);
  return applySequenceEdits(st);
}

const InsertStatement* Run::applyPreparedSequenceEdits(const InsertStatement& st) {
  std::string& out = s_.sequenceText;
  out.clear();
  auto& params = plan_.executeParams;
  params.clear();
  const std::string_view src = st.Statement::source;
  const std::size_t base = st.offsetOf(st.text);
  std::size_t at = base;
  const std::size_t stop = base + st.text.size();
  // The client's placeholders, by offset, interleaved with the generated values' new ones.
  const std::vector<std::size_t> marks = placeholderOffsets(st.text);
  std::size_t ph = 0;
  auto clientBefore = [&](std::size_t offset) {
    for (; ph < marks.size() && base + marks[ph] < offset; ++ph)
      params.push_back({static_cast<std::int32_t>(ph), 0});
  };
  for (const auto& e : s_.edits) {
    clientBefore(e.begin);
    out.append(src.substr(at, e.begin - at));
    out.append(e.before);
    if (!e.column.empty()) appendQuotedName(out, e.column);
    out.append(e.between);
    if (e.hasValue) {
      // A `?` bound to NULL / 0 keeps its place and takes the value instead of the client's.
      if (ph < marks.size() && base + marks[ph] == e.begin) ++ph;
      params.push_back({-1, e.value});
      out += '?';
    }
    out.append(e.after);
    at = e.end;
  }
  clientBefore(stop + 1);
  out.append(src.substr(at, stop - at));
  auto& bound = s_.sequenceParams;
  bound.clear();
  for (const auto& p : params) {
    if (p.client >= 0 && static_cast<std::size_t>(p.client) < in_.params.size()) {
      bound.push_back(in_.params[static_cast<std::size_t>(p.client)]);
    } else {
      BoundValue v;
      v.type = BoundValue::Type::kInt;
      v.i = p.value;
      bound.push_back(v);
    }
  }
  insertParams_ = std::span<const BoundValue>(bound);
  return parseSequenceText();
}

bool Run::takeSequenceValues(const catalog::Sequence& seq, std::size_t count) {
  if (in_.sequences == nullptr) {
    notSupported(
        fmt::format("This INSERT needs generated values of the sequence of '{}.{}', which only an "
                    "application session can take (run it on the application port)",
                    seq.keyspace, seq.table));
    return false;
  }
  s_.sequenceValues.resize(count);
  if (in_.sequences->take(seq, std::span<std::int64_t>(s_.sequenceValues))) return true;
  plan_.sequenceShortfall = &seq;
  plan_.sequenceNeed = static_cast<std::uint32_t>(count);
  fail(ErrorCode::kInternal,
       fmt::format("The sequence of '{}.{}' has fewer than {} cached values; the proxy reserves "
                   "more before running the statement",
                   seq.keyspace, seq.table, count));
  return false;
}

const InsertStatement* Run::applySequenceEdits(const InsertStatement& st) {
  std::string& out = s_.sequenceText;
  out.clear();
  const std::string_view src = st.Statement::source;
  std::size_t at = st.offsetOf(st.text);
  const std::size_t stop = at + st.text.size();
  for (const auto& e : s_.edits) {
    out.append(src.substr(at, e.begin - at));
    out.append(e.before);
    if (!e.column.empty()) appendQuotedName(out, e.column);
    out.append(e.between);
    if (e.hasValue) fmt::format_to(std::back_inserter(out), "{}", e.value);
    out.append(e.after);
    at = e.end;
  }
  out.append(src.substr(at, stop - at));
  return parseSequenceText();
}

const InsertStatement* Run::parseSequenceText() {
  const std::string& out = s_.sequenceText;
  if (!s_.sequenceParser) s_.sequenceParser = std::make_unique<sql::Parser>();
  s_.sequenceParser->setOptions(in_.parseOptions != nullptr ? *in_.parseOptions
                                                            : sql::ParseOptions{});
  sql::ParseResult parsed = s_.sequenceParser->parse(out);
  const InsertStatement* rewritten = parsed ? parsed.statement().as<InsertStatement>() : nullptr;
  if (rewritten == nullptr) {
    fail(ErrorCode::kInternal,
         fmt::format("The INSERT with generated values does not parse: {}", out));
    return nullptr;
  }
  plan_.text = rewritten->text;
  return rewritten;
}

void Run::finishGeneratedPlan() {
  if (failed_ || plan_.kind == PlanKind::kError) return;
  plan_.generatedId = s_.sequenceValues.front();
  for (PlanTarget& t : plan_.targets) {
    if (t.length != 0) continue;
    t.offset = static_cast<std::uint32_t>(plan_.buffer.size());
    t.length = static_cast<std::uint32_t>(plan_.text.size());
    plan_.buffer.append(plan_.text);
  }
}

}  // namespace shardproxy::router::planning
