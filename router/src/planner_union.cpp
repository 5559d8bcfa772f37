// The planner's merges of set operations (merge_spec.h, docs/merging.md): UNION and UNION ALL of
// sharded selects, and the end of every merge's per-shard SQL.
#include <fmt/format.h>

#include <algorithm>

#include "planner_internal.h"
#include "planner_merge.h"

namespace shardproxy::router::planning {

// UNION [ALL] of sharded selects with ORDER BY / LIMIT, or UNION (DISTINCT): every shard runs the
// whole union; the rows merge in the union's order, de-duplicated across shards for UNION.
bool Run::planUnionMerge(const SetOperation& op) {
  auto refuse = [&](std::string_view why) {
    return notSupported(
        fmt::format("{} over several shards of keyspace '{}' (not supported); "
                    "narrow it to one shard with the shard key",
                    why, ks_->name));
  };
  bool allAll = true, allDistinct = true;
  std::vector<const SelectBlock*> blocks;
  for (std::size_t i = 0; i < op.operands.size(); ++i) {
    const SetOperand* o = op.operands[i];
    if (i > 0) {
      if (o->op != SetOp::kUnion) return refuse("EXCEPT / INTERSECT");
      allAll = allAll && o->all;
      allDistinct = allDistinct && !o->all;
    }
    const auto* sb = o->query->as<SelectBlock>();
    if (sb == nullptr || !sb->orderBy.empty() || sb->limit != nullptr) {
      return refuse("A UNION branch with its own ORDER BY / LIMIT or nested set operation");
    }
    if (sb->hasAggregate || !sb->groupBy.empty() || sb->having != nullptr || sb->distinct ||
        sb->hasWindow || sb->calcFoundRows) {
      return refuse("A UNION branch that aggregates, groups or de-duplicates");
    }
    for (const SelectItem* item : sb->items)
      if (item->expr->kind == ExprKind::kStar) return refuse("SELECT * in a UNION");
    if (!blocks.empty() && sb->items.size() != blocks[0]->items.size()) {
      return refuse("UNION branches with different column counts");
    }
    blocks.push_back(sb);
  }
  if (!allAll && !allDistinct) return refuse("A mix of UNION and UNION ALL");
  const std::string_view text = plan_.text;
  auto offsetOf = [&](std::string_view part) {
    return static_cast<std::size_t>(part.data() - text.data());
  };
  plan_.merge = MergeSpec{};
  MergeSpec& spec = plan_.merge;
  const SelectBlock& first = *blocks[0];
  const std::size_t n = first.items.size();
  spec.visible.resize(n);
  spec.distinct = allDistinct;
  // Keys name the first branch's columns (by position, alias or name), as MySQL resolves them.
  std::vector<int> keyItem;
  for (const OrderItem* o : op.orderBy) {
    int item = -1;
    if (const auto* lit = o->expr->as<Literal>();
        lit != nullptr && lit->type == LiteralType::kInteger) {
      auto pos = lit->asUint64();
      if (pos && *pos >= 1 && *pos <= n) item = static_cast<int>(*pos - 1);
    } else {
      MergeBuild probe{first, spec, {}, {}, {}, false, {}, {}};
      item = matchItem(probe, o->expr, true);
    }
    if (item < 0) return refuse(fmt::format("ORDER BY {} naming no column of the UNION", o->text));
    keyItem.push_back(item);
  }
  std::vector<int> hiddenAt(n, -1);  // item -> its first hidden column (weight, then collation)
  auto need = [&](std::size_t item) {
    if (hiddenAt[item] < 0) {
      hiddenAt[item] = static_cast<int>(spec.hiddenColumns.size());
      spec.hiddenColumns.resize(spec.hiddenColumns.size() + 2);
    }
  };
  for (int item : keyItem)
    need(static_cast<std::size_t>(item));
  if (spec.distinct) {
    for (std::size_t i = 0; i < n; ++i)
      need(i);
  }
  auto weightRef = [&](std::size_t item) {
    return ColumnRef{static_cast<std::uint16_t>(hiddenAt[item]), true};
  };
  auto collationRef = [&](std::size_t item) {
    return ColumnRef{static_cast<std::uint16_t>(hiddenAt[item] + 1), true};
  };
  for (std::size_t k = 0; k < keyItem.size(); ++k) {
    SortKey key;
    const auto item = static_cast<std::size_t>(keyItem[k]);
    key.column = ColumnRef{static_cast<std::uint16_t>(item), false};
    key.weight = weightRef(item);
    key.collation = collationRef(item);
    key.desc = op.orderBy[k]->desc;
    spec.order.push_back(key);
  }
  spec.streamOrder = spec.order;
  if (spec.distinct) {
    for (std::size_t i = 0; i < n; ++i) {
      spec.distinctWeights.push_back(weightRef(i));
      spec.distinctCollations.push_back(collationRef(i));
    }
  }
  spec.hidden = static_cast<std::uint16_t>(spec.hiddenColumns.size());
  std::uint64_t count = 0, offset = 0;
  const bool limitUnknown =
      op.limit != nullptr && !in_.executing &&
      (op.limit->count->kind == ExprKind::kPlaceholder ||
       (op.limit->offset != nullptr && op.limit->offset->kind == ExprKind::kPlaceholder));
  if (op.limit != nullptr && !limitUnknown) {
    if (!limitValue(op.limit->count, count)) return false;
    if (op.limit->offset != nullptr && !limitValue(op.limit->offset, offset)) return false;
    spec.limit = count;
    spec.offset = offset;
  }
  // A column whose branches have different collations has the UNION's: a _bin one of the same
  // character set wins (MariaDB's collation aggregation; any other mix it refuses). The branches
  // weigh their values under it, or the merge could neither order nor de-duplicate them (and
  // refuses when rows under different collations meet: merge/merger.cpp).
  std::vector<std::string> unionCollation(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (hiddenAt[i] < 0) continue;
    std::vector<std::string_view> seen;
    bool known = true;
    for (const SelectBlock* sb : blocks) {
      MergeBuild probe{*sb, spec, {}, {}, {}, false, {}, {}};
      const TrackedColumn* col = trackedColumn(probe, sb->items[i]->expr);
      if (col == nullptr || col->collation.empty()) {
        known = false;
        break;
      }
      if (std::find(seen.begin(), seen.end(), col->collation) == seen.end())
        seen.push_back(col->collation);
    }
    if (!known || seen.size() < 2) continue;
    const std::string_view charset = seen[0].substr(0, seen[0].find('_'));
    std::string_view bin;
    int bins = 0;
    bool oneCharset = true;
    for (std::string_view c : seen) {
      oneCharset = oneCharset && c.substr(0, c.find('_')) == charset;
      if (c.size() > 4 && c.substr(c.size() - 4) == "_bin") {
        bin = c;
        ++bins;
      }
    }
    if (oneCharset && bins == 1) unionCollation[i] = std::string(bin);
  }
  // Each branch's hidden columns in the same positions.
  std::vector<std::string> hiddenSql(blocks.size());
  for (std::size_t bi = 0; bi < blocks.size(); ++bi) {
    std::vector<std::pair<int, std::size_t>> order;  // hidden position -> item
    for (std::size_t i = 0; i < n; ++i)
      if (hiddenAt[i] >= 0) order.emplace_back(hiddenAt[i], i);
    std::sort(order.begin(), order.end());
    for (const auto& [pos, item] : order) {
      std::string e(blocks[bi]->items[item]->expr->text);
      if (!unionCollation[item].empty()) e = fmt::format("{} COLLATE {}", e, unionCollation[item]);
      hiddenSql[bi] += fmt::format(", WEIGHT_STRING({0}), COLLATION({0})", e);
    }
    if (in_.executing && hasPlaceholder(hiddenSql[bi])) {
      return refuse("A placeholder in the select list of a prepared UNION");
    }
  }
  const std::size_t start = plan_.buffer.size();
  std::size_t pos = 0;
  for (std::size_t bi = 0; bi < blocks.size(); ++bi) {
    const SelectItem* last = blocks[bi]->items.back();
    std::size_t end = offsetOf(last->text) + last->text.size();
    plan_.buffer.append(text.substr(pos, end - pos));
    plan_.buffer.append(hiddenSql[bi]);
    pos = end;
  }
  // A shard's UNION (DISTINCT) over weights that tell apart values the merge calls equal ('a',
  // 'a ' under PAD SPACE) would fill its LIMIT with rows the merge then drops.
  bool weighted = false;
  for (std::size_t i = 0; i < n; ++i)
    weighted = weighted || hiddenAt[i] >= 0;
  const bool pushLimit = spec.limit.has_value() && !(spec.distinct && weighted);
  std::size_t cut = op.limit != nullptr ? offsetOf(op.limit->text) : text.size();
  std::size_t resume = op.limit != nullptr ? cut + op.limit->text.size() : text.size();
  plan_.buffer.append(text.substr(pos, cut - pos));
  if (in_.executing) {
    std::vector<std::size_t> at = placeholderOffsets(text);
    for (std::size_t i = 0; i < at.size(); ++i)
      if (at[i] >= cut && at[i] < resume)
        spec.droppedParams.push_back(static_cast<std::uint32_t>(i));
    spec.limitParam = pushLimit;
    spec.pushedLimit = count + offset;
  }
  finishMergeSql(start, pushLimit ? std::optional<std::uint64_t>(count + offset) : std::nullopt,
                 resume);
  return true;
}

// The end of every target's SQL (shared by all targets): the pushed-down LIMIT (a placeholder
// when the shards prepare it), whatever followed the client's clauses, and the plan kind.
void Run::finishMergeSql(std::size_t start, std::optional<std::uint64_t> pushedLimit,
                         std::size_t resume, std::uint64_t firstLimit) {
  const std::string_view text = plan_.text;
  const std::size_t limitAt = plan_.buffer.size();
  if (pushedLimit) {
    plan_.buffer.append(plan_.merge.limitParam ? std::string(" LIMIT ?")
                                               : fmt::format(" LIMIT {}", *pushedLimit));
  }
  if (resume < text.size()) plan_.buffer.append(" ").append(text.substr(resume));
  const std::size_t end = plan_.buffer.size();
  for (PlanTarget& t : plan_.targets) {
    t.offset = static_cast<std::uint32_t>(start);
    t.length = static_cast<std::uint32_t>(end - start);
  }
  plan_.firstAskOffset = plan_.firstAskLength = 0;
  if (firstLimit != 0 && pushedLimit && resume >= text.size()) {
    // The same statement with the first ask's LIMIT (MergeSpec::firstLimit).
    plan_.buffer.reserve(end + (limitAt - start) + 32);  // no reallocation while it copies itself
    plan_.buffer.append(plan_.buffer, start, limitAt - start);
    plan_.buffer.append(fmt::format(" LIMIT {}", firstLimit));
    plan_.firstAskOffset = static_cast<std::uint32_t>(end);
    plan_.firstAskLength = static_cast<std::uint32_t>(plan_.buffer.size() - end);
  }
  plan_.kind = PlanKind::kMerge;
}

}  // namespace shardproxy::router::planning
