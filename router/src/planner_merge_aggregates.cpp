// The planner's merges of aggregate calls (merge_spec.h, docs/merging.md): which aggregates merge
// and from what each shard is asked for besides them (AVG's SUM and COUNT, a variance's partial
// moments), their DISTINCT forms grouped on the shards, and an aggregate's merged column.
#include <fmt/format.h>

#include <string>
#include <string_view>

#include "planner_internal.h"
#include "planner_merge.h"

namespace shardproxy::router::planning {

bool isMergeableAggregate(const Function& f, MergeAgg& agg) {
  std::string_view n = f.name.name;
  if (iequals(n, "count")) {
    agg = MergeAgg::kCount;
  } else if (iequals(n, "sum")) {
    agg = MergeAgg::kSum;
  } else if (iequals(n, "min")) {
    agg = MergeAgg::kMin;
  } else if (iequals(n, "max")) {
    agg = MergeAgg::kMax;
  } else if (iequals(n, "avg")) {
    agg = MergeAgg::kAvg;
  } else if (iequals(n, "bit_and") || iequals(n, "bit_or") || iequals(n, "bit_xor")) {
    agg = iequals(n, "bit_and")  ? MergeAgg::kBitAnd
          : iequals(n, "bit_or") ? MergeAgg::kBitOr
                                 : MergeAgg::kBitXor;
    return !f.distinct && f.args.size() == 1;
  } else if (iequals(n, "var_pop") || iequals(n, "variance")) {
    agg = MergeAgg::kVarPop;
    return !f.distinct && f.args.size() == 1;
  } else if (iequals(n, "var_samp")) {
    agg = MergeAgg::kVarSamp;
    return !f.distinct && f.args.size() == 1;
  } else if (iequals(n, "std") || iequals(n, "stddev") || iequals(n, "stddev_pop")) {
    agg = MergeAgg::kStdPop;
    return !f.distinct && f.args.size() == 1;
  } else if (iequals(n, "stddev_samp")) {
    agg = MergeAgg::kStdSamp;
    return !f.distinct && f.args.size() == 1;
  } else if (iequals(n, "json_arrayagg")) {
    // Unordered only: the shards' elements are not split apart again.
    agg = MergeAgg::kConcat;
    return !f.distinct && f.orderBy.empty() && f.limit == nullptr && f.args.size() == 1;
  } else if (iequals(n, "json_objectagg")) {
    // The shards' members joined (one server's order of them is its reading order).
    agg = MergeAgg::kConcat;
    return !f.distinct && f.args.size() == 2;
  } else if (iequals(n, "group_concat")) {
    // A SEPARATOR must be a string written out; DISTINCT only ordered by its values (or not at
    // all): the shards' rows arrive sorted by what they are grouped by (concatColumn()).
    agg = MergeAgg::kConcat;
    const auto* sep = f.separator == nullptr ? nullptr : f.separator->as<Literal>();
    bool orderedByValues = f.orderBy.empty() || f.orderBy.size() == f.args.size();
    for (std::size_t i = 0; i < f.orderBy.size() && orderedByValues; ++i)
      orderedByValues = sameText(f.orderBy[i]->expr->text, f.args[i]->text);
    return !f.args.empty() && (!f.distinct || orderedByValues) && f.limit == nullptr &&
           (f.separator == nullptr || (sep != nullptr && sep->type == LiteralType::kString));
  } else {
    return false;
  }
  // MIN / MAX of the distinct values are the MIN / MAX of all values; COUNT / SUM / AVG of them
  // merge through distinctColumn() (COUNT of several: of their tuples).
  return !f.distinct || agg == MergeAgg::kMin || agg == MergeAgg::kMax || f.args.size() == 1 ||
         (agg == MergeAgg::kCount && !f.args.empty() && !f.star);
}

MergeColumn aggColumn(MergeAgg agg) {
  MergeColumn c;
  c.agg = agg;
  return c;
}

void addAggregateInputs(MergeBuild& m, const Function& f, MergeColumn& c) {
  const std::string_view arg = f.args.empty() ? std::string_view("*") : f.args[0]->text;
  switch (c.agg) {
    case MergeAgg::kAvg:
      c.sum = addHiddenOwned(m, fmt::format("SUM({})", arg), aggColumn(MergeAgg::kSum));
      c.count = addHiddenOwned(m, fmt::format("COUNT({})", arg), aggColumn(MergeAgg::kCount));
      break;
    case MergeAgg::kVarPop:
    case MergeAgg::kVarSamp:
    case MergeAgg::kStdPop:
    case MergeAgg::kStdSamp:
      // Read row by row by the variance's own merge (shared with an AVG's). VAR_POP is a DOUBLE
      // the text protocol prints with the argument's decimals + 4 (302269.044295 for a
      // DECIMAL(10,2)); CAST AS DOUBLE prints every digit.
      c.count = addHiddenOwned(m, fmt::format("COUNT({})", arg), aggColumn(MergeAgg::kCount));
      c.sum = addHiddenOwned(m, fmt::format("SUM({})", arg), aggColumn(MergeAgg::kSum));
      c.var = addHiddenOwned(m, fmt::format("CAST(VAR_POP({}) AS DOUBLE)", arg), MergeColumn{});
      break;
    case MergeAgg::kConcat:
      c.jsonObject = iequals(f.name.name, "json_objectagg");
      if (c.jsonObject) break;  // (never cut: group_concat_max_len does not apply)
      c.maxLength = addHidden(m, "@@group_concat_max_len", MergeColumn{});
      c.jsonArray = iequals(f.name.name, "json_arrayagg");
      if (const auto* sep = f.separator == nullptr ? nullptr : f.separator->as<Literal>()) {
        m.spec.literals.emplace_back(sep->value);
        c.separator = m.spec.literals.back();
      }
      break;
    default:
      break;
  }
}

namespace {

// A call's arguments as written, "a, b": the shards' GROUP BY and ORDER BY take them so.
std::string_view argumentsText(const Function& f) {
  const std::string_view first = f.args.front()->text, last = f.args.back()->text;
  return {first.data(), static_cast<std::size_t>(last.data() + last.size() - first.data())};
}

// The select-list item that is the call `f` merged as `agg`, or -1.
int selectedCall(const MergeBuild& m, const Function& f, MergeAgg agg) {
  for (std::size_t i = 0; i < m.block.items.size() && !m.star; ++i) {
    if (m.block.items[i]->expr->kind == ExprKind::kFunction &&
        sameText(m.block.items[i]->expr->text, f.text) && m.spec.visible[i].agg == agg) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

}  // namespace

// A key the shards also group by (a DISTINCT argument, a GROUP_CONCAT's ORDER BY key), merged
// as MySQL compares it: by collation weight, an ENUM / SET by its member's number.
SortKey Run::extraGroupKey(MergeBuild& m, const Expr* x, bool desc) {
  SortKey k;
  k.desc = desc;
  if (ordersByIndex(m, x)) {
    k.column = memberNumberOf(m, x->text);
  } else {
    k.column = addHidden(m, x->text, MergeColumn{});
    k.weight = weightOf(m, x->text);
    k.collation = collationOf(m, x->text);
  }
  return k;
}

bool containsBitAggregate(const Expr* e) {
  if (e == nullptr) return false;
  if (const auto* f = e->as<Function>(); f != nullptr && f->aggregate) {
    MergeAgg agg;
    return isMergeableAggregate(*f, agg) &&
           (agg == MergeAgg::kBitAnd || agg == MergeAgg::kBitOr || agg == MergeAgg::kBitXor);
  }
  bool found = false;
  forEachChildExpr(e, [&](const Expr* c) { found = found || containsBitAggregate(c); });
  return found;
}

// GROUP_CONCAT(x ...): the separator and @@group_concat_max_len; with ORDER BY or DISTINCT the
// shards also group by the ORDER BY keys (for DISTINCT: the values) and, without DISTINCT, the
// values' bytes — so 'a' and 'A' stay apart — and send those bytes (`piece`) and their rows'
// COUNT(*): the merge joins the pieces in the keys' order. Shares the one list of extra group
// keys a query may have with COUNT(DISTINCT ...).
void appendEdited(std::string& out, std::string_view text, std::size_t from, std::size_t to,
                  const std::vector<std::pair<std::size_t, std::string>>& edits) {
  for (const auto& [at, insert] : edits) {
    if (at <= from || at > to) continue;
    out.append(text.substr(from, at - from)).append(insert);
    from = at;
  }
  out.append(text.substr(from, to - from));
}

bool Run::concatColumn(MergeBuild& m, const Function& f, const SelectItem& item, MergeColumn& c) {
  c = aggColumn(MergeAgg::kConcat);
  addAggregateInputs(m, f, c);
  if (!f.distinct && f.orderBy.empty()) return true;
  const std::string pieceText = fmt::format("CAST(CONCAT({}) AS BINARY)", argumentsText(f));
  std::vector<const Expr*> keys;
  std::vector<bool> desc;
  std::string text;
  for (const OrderItem* o : f.orderBy) {
    if (const auto* lit = o->expr->as<Literal>(); lit != nullptr) {
      return notSupported(
          "GROUP_CONCAT(... ORDER BY a position or a constant) over several shards");
    }
    keys.push_back(o->expr);
    desc.push_back(o->desc);
  }
  if (keys.empty()) {  // DISTINCT without ORDER BY: grouped (so sorted) by the values
    for (const Expr* x : f.args) {
      keys.push_back(x);
      desc.push_back(false);
    }
  }
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (!text.empty()) text.append(", ");
    text.append(keys[i]->text);
    if (desc[i]) text.append(" DESC");
  }
  if (!f.distinct) text.append(", ").append(pieceText);
  // (The same list — COUNT(DISTINCT x) beside GROUP_CONCAT(DISTINCT x) — is shared.)
  const bool shared = !m.distinctArgText.empty() && sameText(m.distinctArgText, text);
  if (!m.distinctArgText.empty() && !shared) {
    if (m.concatList || m.distinctSetTexts.size() >= 8) {
      return notSupported(
          "GROUP_CONCAT(... ORDER BY / DISTINCT) beside a GROUP_CONCAT ordered otherwise, over "
          "several shards");
    }
    // The pieces must arrive in order, next to each other: the list already there (an earlier
    // COUNT / SUM / AVG(DISTINCT ...)) becomes one the merge keeps a set of.
    const auto set = static_cast<std::uint8_t>(m.distinctSetTexts.size() + 1);
    m.distinctSetTexts.push_back(m.distinctArgText);
    m.spec.distinctSets.push_back(std::move(m.spec.distinctArgs));
    m.spec.distinctArgs.clear();
    m.distinctArgText = {};
    for (auto* columns : {&m.spec.visible, &m.spec.hiddenColumns}) {
      for (MergeColumn& d : *columns) {
        if ((d.agg == MergeAgg::kCountDistinct || d.agg == MergeAgg::kSumDistinct) &&
            d.distinctSet == 0) {
          d.distinctSet = set;
        }
      }
    }
  }
  m.concatList = true;
  c.piece = addHiddenOwned(m, pieceText, MergeColumn{});
  c.distinctPieces = f.distinct;
  // The shards' own GROUP_CONCAT is not read: sent with LIMIT 0 (MergeBuild::edits), named as
  // the server names it unaliased, by its text (a long text is left as it is).
  if (!in_.executing && !f.text.empty() && f.text.back() == ')' &&
      (!item.alias.empty() || (item.text == f.text && f.text.size() <= 64))) {
    auto offsetOf = [&](std::string_view part) {
      return static_cast<std::size_t>(part.data() - plan_.text.data());
    };
    m.edits.emplace_back(offsetOf(f.text) + f.text.size() - 1, " LIMIT 0");
    if (item.alias.empty()) {
      std::string name = " AS `";
      for (char ch : item.text)
        name.append(ch == '`' ? 2 : 1, ch);
      m.edits.emplace_back(offsetOf(item.text) + item.text.size(), name + "`");
    }
  }
  if (!f.distinct) c.count = addHidden(m, "COUNT(*)", aggColumn(MergeAgg::kCount));
  if (shared) return true;
  m.ownedTexts.push_back(text);
  m.distinctArgText = m.ownedTexts.back();
  for (std::size_t i = 0; i < keys.size(); ++i)
    m.spec.distinctArgs.push_back(extraGroupKey(m, keys[i], desc[i]));
  if (!f.distinct) {
    SortKey bytes;
    bytes.column = c.piece;
    m.spec.distinctArgs.push_back(bytes);
  }
  return true;
}

void appendDistinctLists(std::string& out, const MergeBuild& m) {
  out.append(m.distinctArgText);
  for (std::string_view set : m.distinctSetTexts)
    out.append(", ").append(set);
}

// COUNT / SUM / AVG(DISTINCT x), COUNT(DISTINCT a, b): the shards group by x (a, b) as well
// (planMerge), the merge counts or adds each value once per group. A further list (a different x):
// a set per group (MergeSpec::distinctSets).
bool Run::distinctColumn(MergeBuild& m, const Function& f, MergeAgg agg, MergeColumn& c) {
  const std::string_view arg = argumentsText(f);
  std::uint8_t set = 0;
  if (m.distinctArgText.empty()) {
    m.distinctArgText = arg;
    // (An ENUM / SET argument: the shards sort by the member's number, which SUM / AVG add too.)
    for (const Expr* x : f.args)
      m.spec.distinctArgs.push_back(extraGroupKey(m, x, false));
  } else if (!sameText(m.distinctArgText, arg)) {
    // Another list: the shards group by it too; the merge keeps each group's set of its values.
    std::size_t i = 0;
    while (i < m.distinctSetTexts.size() && !sameText(m.distinctSetTexts[i], arg))
      ++i;
    if (i == m.distinctSetTexts.size()) {
      if (i >= 8) return notSupported("Aggregates of DISTINCT values of more than 9 lists");
      m.distinctSetTexts.push_back(arg);
      m.spec.distinctSets.emplace_back();
      for (const Expr* x : f.args)
        m.spec.distinctSets.back().push_back(extraGroupKey(m, x, false));
    }
    set = static_cast<std::uint8_t>(i + 1);
  }
  auto distinctAgg = [&](MergeAgg a) {
    MergeColumn d = aggColumn(a);
    d.distinctSet = set;
    return d;
  };
  if (agg == MergeAgg::kCount) {
    c = distinctAgg(MergeAgg::kCountDistinct);
  } else if (agg == MergeAgg::kSum) {
    c = distinctAgg(MergeAgg::kSumDistinct);
  } else {
    c = MergeColumn{};
    c.agg = MergeAgg::kAvg;
    c.sum = addHiddenOwned(m, fmt::format("SUM(DISTINCT {})", arg),
                           distinctAgg(MergeAgg::kSumDistinct));
    c.count = addHiddenOwned(m, fmt::format("COUNT(DISTINCT {})", arg),
                             distinctAgg(MergeAgg::kCountDistinct));
  }
  return true;
}

// An aggregate call's merged column: a select-list item that is that call, or a hidden one.
bool Run::aggregateColumn(MergeBuild& m, const Function& f, ColumnRef& out, ColumnRef& count) {
  MergeAgg agg;
  if (!isMergeableAggregate(f, agg)) {
    return notSupported(fmt::format(
        "{}{} in a query that reads several shards cannot be merged from the shards' answers; "
        "narrow it to one shard with the shard key",
        f.name.name, f.distinct ? "(DISTINCT ...)" : "()"));
  }
  if (agg == MergeAgg::kConcat) {
    // (A merged GROUP_CONCAT has no weight: it is neither sorted nor compared.)
    const int item = selectedCall(m, f, agg);
    if (item < 0)
      return notSupported("A GROUP_CONCAT(...) inside an expression over several shards");
    out = ColumnRef{static_cast<std::uint16_t>(item), false};
    return true;
  }
  MergeColumn distinct;
  const bool isDistinct = f.distinct && agg != MergeAgg::kMin && agg != MergeAgg::kMax;
  if (isDistinct) {
    if (!distinctColumn(m, f, agg, distinct)) return false;
    agg = distinct.agg;
  }
  if (const int item = selectedCall(m, f, agg); item >= 0) {
    const auto i = static_cast<std::size_t>(item);
    out = ColumnRef{static_cast<std::uint16_t>(i), false};
    if (agg == MergeAgg::kAvg) {
      out = m.spec.visible[i].sum;
      count = m.spec.visible[i].count;
    }
    return true;
  }
  if (isDistinct) {
    if (distinct.agg == MergeAgg::kAvg) {
      out = distinct.sum;
      count = distinct.count;
      return true;
    }
    out = addHidden(m, f.text, distinct);
    return true;
  }
  MergeColumn c = aggColumn(agg);
  addAggregateInputs(m, f, c);
  if (agg == MergeAgg::kAvg) {
    out = c.sum;
    count = c.count;
    return true;
  }
  if (agg == MergeAgg::kMin || agg == MergeAgg::kMax) {
    c.weight = weightOf(m, f.text);
    c.collation = collationOf(m, f.text);
  }
  out = addHidden(m, f.text, c);
  return true;
}

}  // namespace shardproxy::router::planning
