// describe(MergeSpec): the merge as one line for EXPLAIN ROUTE and the golden plan files.
#include "shardproxy/router/merge_spec.h"

#include <fmt/format.h>

#include <cmath>

namespace shardproxy::router {

namespace {

std::string ref(ColumnRef r) {
  if (!r.valid()) return "-";
  return fmt::format("{}{}", r.hidden ? 'h' : 'v', r.index);
}

std::string_view aggName(MergeAgg a) {
  switch (a) {
    case MergeAgg::kAny:
      return "any";
    case MergeAgg::kCount:
      return "count";
    case MergeAgg::kSum:
      return "sum";
    case MergeAgg::kMin:
      return "min";
    case MergeAgg::kMax:
      return "max";
    case MergeAgg::kAvg:
      return "avg";
    case MergeAgg::kExpr:
      return "expr";
    case MergeAgg::kCountDistinct:
      return "count-distinct";
    case MergeAgg::kSumDistinct:
      return "sum-distinct";
    case MergeAgg::kBitAnd:
      return "bit-and";
    case MergeAgg::kBitOr:
      return "bit-or";
    case MergeAgg::kBitXor:
      return "bit-xor";
    case MergeAgg::kVarPop:
      return "var-pop";
    case MergeAgg::kVarSamp:
      return "var-samp";
    case MergeAgg::kStdPop:
      return "std-pop";
    case MergeAgg::kStdSamp:
      return "std-samp";
    case MergeAgg::kConcat:
      return "concat";
  }
  return "?";
}

std::string column(const MergeColumn& c) {
  switch (c.agg) {
    case MergeAgg::kAvg:
      return fmt::format("avg({}/{})", ref(c.sum), ref(c.count));
    case MergeAgg::kExpr:
      return fmt::format("expr#{}", c.program);
    case MergeAgg::kVarPop:
    case MergeAgg::kVarSamp:
    case MergeAgg::kStdPop:
    case MergeAgg::kStdSamp:
      return fmt::format("{}({}/{}/{})", aggName(c.agg), ref(c.count), ref(c.sum), ref(c.var));
    case MergeAgg::kMin:
    case MergeAgg::kMax:
      return fmt::format("{}~{}@{}", aggName(c.agg), ref(c.weight), ref(c.collation));
    case MergeAgg::kConcat:
      if (c.jsonArray) return fmt::format("json-array(max {})", ref(c.maxLength));
      if (c.jsonObject) return "json-object";
      if (!c.piece.valid())
        return fmt::format("concat('{}' max {})", c.separator, ref(c.maxLength));
      return fmt::format("concat('{}' max {} {} {}{})", c.separator, ref(c.maxLength),
                         c.distinctPieces ? "distinct" : "pieces", ref(c.piece),
                         c.distinctPieces ? std::string() : " x " + ref(c.count));
    case MergeAgg::kCountDistinct:
    case MergeAgg::kSumDistinct:
      if (c.distinctSet != 0) return fmt::format("{}#{}", aggName(c.agg), c.distinctSet);
      return std::string(aggName(c.agg));
    default:
      return std::string(aggName(c.agg));
  }
}

void keys(std::string& out, std::string_view name, const std::vector<SortKey>& ks) {
  if (ks.empty()) return;
  out += fmt::format(" | {}:", name);
  for (const SortKey& k : ks) {
    out += " " + ref(k.column);
    if (k.weight.valid()) out += "~" + ref(k.weight);
    if (k.collation.valid()) out += "@" + ref(k.collation);
    if (k.desc) out += " desc";
  }
}

std::string_view opName(OpCode op) {
  switch (op) {
    case OpCode::kColumn:
      return "col";
    case OpCode::kInteger:
      return "int";
    case OpCode::kDecimal:
      return "dec";
    case OpCode::kDouble:
      return "dbl";
    case OpCode::kString:
      return "str";
    case OpCode::kNull:
      return "null";
    case OpCode::kAvg:
      return "avg";
    case OpCode::kNeg:
      return "neg";
    case OpCode::kNot:
      return "not";
    case OpCode::kIsNull:
      return "isnull";
    case OpCode::kIsNotNull:
      return "isnotnull";
    case OpCode::kAdd:
      return "+";
    case OpCode::kSub:
      return "-";
    case OpCode::kMul:
      return "*";
    case OpCode::kDiv:
      return "/";
    case OpCode::kIntDiv:
      return "div";
    case OpCode::kMod:
      return "mod";
    case OpCode::kEq:
      return "=";
    case OpCode::kNullSafeEq:
      return "<=>";
    case OpCode::kNe:
      return "<>";
    case OpCode::kLt:
      return "<";
    case OpCode::kLe:
      return "<=";
    case OpCode::kGt:
      return ">";
    case OpCode::kGe:
      return ">=";
    case OpCode::kAnd:
      return "and";
    case OpCode::kOr:
      return "or";
    case OpCode::kXor:
      return "xor";
    case OpCode::kCoalesce:
      return "coalesce";
    case OpCode::kRound:
      return "round";
    case OpCode::kTruncate:
      return "truncate";
    case OpCode::kAbs:
      return "abs";
    case OpCode::kBitAnd:
      return "&";
    case OpCode::kBitOr:
      return "|";
    case OpCode::kBitXor:
      return "^";
    case OpCode::kShiftLeft:
      return "<<";
    case OpCode::kShiftRight:
      return ">>";
    case OpCode::kBitNot:
      return "~";
  }
  return "?";
}

std::string program(const Program& p) {
  std::string out;
  for (const Instruction& in : p.code) {
    if (!out.empty()) out += ' ';
    switch (in.op) {
      case OpCode::kColumn:
        out += ref(in.column);
        break;
      case OpCode::kAvg:
        out += fmt::format("avg({}/{})", ref(in.column), ref(in.other));
        break;
      case OpCode::kInteger:
      case OpCode::kDecimal:
      case OpCode::kDouble:
        out += in.text;
        break;
      case OpCode::kString:
        out += fmt::format("'{}'", in.text);
        break;
      case OpCode::kAnd:
      case OpCode::kOr:
      case OpCode::kCoalesce:
      case OpCode::kRound:
        out += fmt::format("{}/{}", opName(in.op), in.count);
        break;
      default:
        out += opName(in.op);
    }
  }
  return out;
}

}  // namespace

std::string describe(const MergeSpec& spec) {
  std::string out;
  if (spec.aggregate) {
    out += spec.scalar ? "aggregate:" : "group-aggregate:";
    for (std::size_t i = 0; i < spec.visible.size(); ++i)
      out += fmt::format(" v{}={}", i, column(spec.visible[i]));
    for (std::size_t i = 0; i < spec.hiddenColumns.size(); ++i)
      if (spec.hiddenColumns[i].agg != MergeAgg::kAny)
        out += fmt::format(" h{}={}", i, column(spec.hiddenColumns[i]));
  } else {
    out += "rows";
  }
  out += fmt::format(" (hidden {})", spec.hidden);
  keys(out, "group", spec.group);
  if (spec.rollup) {
    out += " with rollup";
    std::string last;
    for (std::size_t i = 0; i < spec.visible.size(); ++i)
      if (spec.visible[i].fromLastGroup) last += fmt::format(" v{}", i);
    for (std::size_t i = 0; i < spec.hiddenColumns.size(); ++i)
      if (spec.hiddenColumns[i].fromLastGroup) last += fmt::format(" h{}", i);
    if (!last.empty()) out += " (last group's:" + last + ")";
  }
  keys(out, "distinct-arg", spec.distinctArgs);
  for (std::size_t i = 0; i < spec.distinctSets.size(); ++i)
    keys(out, fmt::format("distinct-set#{}", i + 1), spec.distinctSets[i]);
  keys(out, "merge", spec.streamOrder);
  if (spec.sortGroups) keys(out, "sort", spec.order);
  if (spec.having >= 0) {
    out += " | having: " + program(spec.programs[static_cast<std::size_t>(spec.having)]);
  }
  for (std::size_t i = 0; i < spec.programs.size(); ++i) {
    if (static_cast<int>(i) == spec.having) continue;
    out += fmt::format(" | expr#{}: {}", i, program(spec.programs[i]));
  }
  if (spec.distinct) {
    out += " | distinct:";
    for (std::size_t i = 0; i < spec.distinctWeights.size(); ++i) {
      if (i < spec.distinctFixed.size() && spec.distinctFixed[i] != 0) {
        out += " fixed";
        continue;
      }
      out += " " + ref(spec.distinctWeights[i]);
      if (i < spec.distinctCollations.size()) out += "@" + ref(spec.distinctCollations[i]);
    }
  }
  if (spec.limit) out += fmt::format(" | limit: {} offset {}", *spec.limit, spec.offset);
  if (spec.firstLimit != 0) out += fmt::format(" | first ask: {} per shard", spec.firstLimit);
  if (spec.calcFoundRows) out += " | found rows: summed";
  return out;
}

std::uint64_t firstAskLimit(std::uint64_t needed, std::size_t shards) {
  if (shards < 3 || needed < 32 || needed > 10000) return 0;
  const double n = static_cast<double>(needed);
  const double p = 1.0 / static_cast<double>(shards);
  const auto limit =
      static_cast<std::uint64_t>(std::ceil(n * p + 5.0 * std::sqrt(n * p * (1 - p))));
  return limit * 3 <= needed * 2 ? limit : 0;
}

}  // namespace shardproxy::router
