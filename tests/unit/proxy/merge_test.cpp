// The merge core (proxy/merge/): MySQL decimal arithmetic, cell decoding and ordering by type and
// collation weight, double formatting as the server prints it, and Merger over rows built in
// memory — k-way order, groups with every aggregate, HAVING, DISTINCT, LIMIT / OFFSET, hidden
// columns removed, binary-protocol rows.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "shardproxy/proxy/merge/cells.h"
#include "shardproxy/proxy/merge/decimal.h"
#include "shardproxy/proxy/merge/merger.h"
#include "shardproxy/proxy/protocol/messages.h"

namespace shardproxy::proxy::merge {
namespace {

using router::ColumnRef;
using router::MergeAgg;
using router::MergeSpec;

std::string dec(std::string_view s) {
  return Decimal::parse(s)->toString();
}

TEST(MergeDecimal, ParsesAndPrintsAtItsScale) {
  EXPECT_EQ(dec("12.50"), "12.50");
  EXPECT_EQ(dec("-0.05"), "-0.05");
  EXPECT_EQ(dec("7"), "7");
  EXPECT_FALSE(Decimal::parse("1e3"));
  EXPECT_FALSE(Decimal::parse(""));
  EXPECT_FALSE(Decimal::parse("-"));
}

TEST(MergeDecimal, DividesAsMySqlThenRoundsHalfAwayFromZero) {
  auto two = *Decimal::parse("2"), three = *Decimal::parse("3");
  EXPECT_EQ(divide(two, three)->rescaled(4)->toString(), "0.6667");  // SELECT 2/3
  auto third = *divide(*Decimal::parse("1"), three);
  EXPECT_EQ(multiply(third, three)->rescaled(4)->toString(), "1.0000");  // SELECT 1/3*3
  EXPECT_EQ(Decimal::parse("-2.5")->rescaled(0)->toString(), "-3");
  EXPECT_EQ(Decimal::parse("2.449")->rescaled(1)->toString(), "2.4");
  EXPECT_EQ(add(*Decimal::parse("1.5"), *Decimal::parse("2.25"))->toString(), "3.75");
  EXPECT_FALSE(divide(two, *Decimal::parse("0")));
}

TEST(MergeDecimal, OverflowIsReportedNotWrapped) {
  auto big = *Decimal::parse("99999999999999999999999999999999999999");
  EXPECT_FALSE(add(big, big));
  EXPECT_FALSE(multiply(big, big));
}

TEST(MergeCells, DoublesPrintAsTheServerDoes) {
  auto fmt = [](double v) {
    std::string s;
    appendDouble(s, v, false);
    return s;
  };
  EXPECT_EQ(fmt(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(fmt(1e20), "1e20");
  EXPECT_EQ(fmt(1e15), "1e15");
  EXPECT_EQ(fmt(1e14), "100000000000000");
  EXPECT_EQ(fmt(1234567890123456.7), "1234567890123456.8");
  EXPECT_EQ(fmt(123456789012345678.0), "1.2345678901234568e17");
  EXPECT_EQ(fmt(1e-15), "0.000000000000001");
  EXPECT_EQ(fmt(1e-16), "1e-16");
  EXPECT_EQ(fmt(-2.5), "-2.5");
  EXPECT_EQ(fmt(100), "100");
  std::string f;
  appendDouble(f, 0.1f, true);
  EXPECT_EQ(f, "0.1");
}

TEST(MergeCells, DoublesWithFixedDecimalsPrintAsTheServerDoes) {
  // A DOUBLE of fewer than 31 decimals (STD(int) has 4): MariaDB's my_fcvt, checked on 10.11
  // with SELECT ROUND(<value>, <decimals>) — the shortest digits, padded, never more than they.
  auto fmt = [](double v, std::uint8_t decimals) {
    std::string s;
    appendDouble(s, v, false, decimals);
    return s;
  };
  EXPECT_EQ(fmt(1e37 / 3, 4), "3333333333333333400000000000000000000.0000");
  EXPECT_EQ(fmt(123456789012345.678, 4), "123456789012345.6700");
  EXPECT_EQ(fmt(0.1 + 0.2, 20), "0.30000000000000004000");
  EXPECT_EQ(fmt(1.0 / 3, 25), "0.3333333333333333000000000");
  EXPECT_EQ(fmt(1e16 + 2, 3), "10000000000000002.000");
  EXPECT_EQ(fmt(159.87449876, 4), "159.8745");
  EXPECT_EQ(fmt(330888.7292966696, 6), "330888.729297");
  EXPECT_EQ(fmt(-2.5, 2), "-2.50");
  EXPECT_EQ(fmt(42, 0), "42");
  EXPECT_EQ(fmt(0, 2), "0.00");
  EXPECT_EQ(fmt(1e-20, 4), "0.0000");
  EXPECT_EQ(fmt(1e300 / 7, 2).size(), 303u);  // 1428...6 and 283 zeros, .00: no buffer's limit
}

// A text row: each value lenenc, NULL as 0xfb.
protocol::Bytes textRow(std::vector<std::optional<std::string>> values) {
  protocol::Bytes out;
  protocol::ByteWriter w(out);
  for (auto& v : values) {
    if (!v) {
      w.u8(0xfb);
    } else {
      w.lenencStr(*v);
    }
  }
  return out;
}

TEST(MergeCells, DecodesTextRowsAndRejectsTruncatedOnes) {
  auto row = textRow({"1", std::nullopt, ""});
  std::vector<Cell> cells(3);
  ASSERT_TRUE(decodeTextRow(row, cells));
  EXPECT_EQ(cells[0].view(), "1");
  EXPECT_TRUE(cells[1].null);
  EXPECT_FALSE(cells[2].null);
  EXPECT_EQ(cells[2].size, 0u);
  row.pop_back();
  EXPECT_FALSE(decodeTextRow(row, cells));
}

Cell cell(const std::string& s) {
  return Cell{reinterpret_cast<const std::uint8_t*>(s.data()), static_cast<std::uint32_t>(s.size()),
              false};
}

TEST(MergeCells, OrdersByTypeNotByText) {
  CompareError e = CompareError::kNone;
  ColumnType i{ftype::kLong, 0, kBinaryCharset, 0};
  std::string nine = "9", ten = "10", minus = "-5";
  EXPECT_LT(compareCells(i, false, cell(nine), cell(ten), {}, {}, nullptr, e), 0);
  EXPECT_LT(compareCells(i, false, cell(minus), cell(nine), {}, {}, nullptr, e), 0);
  ColumnType d{ftype::kNewDecimal, 0, kBinaryCharset, 2};
  std::string a = "-10.50", b = "2.00";
  EXPECT_LT(compareCells(d, false, cell(a), cell(b), {}, {}, nullptr, e), 0);
  ColumnType t{ftype::kTime, 0, kBinaryCharset, 0};
  std::string t1 = "-01:00:00", t2 = "100:00:00", t3 = "99:59:59";
  EXPECT_LT(compareCells(t, false, cell(t1), cell(t3), {}, {}, nullptr, e), 0);
  EXPECT_GT(compareCells(t, false, cell(t2), cell(t3), {}, {}, nullptr, e), 0);
  EXPECT_LT(compareCells(i, false, Cell{}, cell(minus), {}, {}, nullptr, e), 0);  // NULL first
  EXPECT_EQ(e, CompareError::kNone);
}

TEST(MergeCells, IntegerOrderKeysOrderAsCompareCells) {
  // The merge engine compares these instead of the cells: they must agree on every pair, signed
  // and unsigned, text and binary, at the edges of the range.
  std::vector<std::int64_t> values = {
      INT64_MIN, INT64_MIN + 1, -1000000,      -2,       -1, 0, 1, 2, 9, 10, 99, 100,
      65535,     4294967296LL,  INT64_MAX - 1, INT64_MAX};
  std::uint64_t seed = 7;
  for (int i = 0; i < 200; ++i) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    values.push_back(static_cast<std::int64_t>(seed) >> (seed % 60));
  }
  for (bool isUnsigned : {false, true}) {
    ColumnType t{ftype::kLongLong, static_cast<std::uint16_t>(isUnsigned ? fflag::kUnsigned : 0),
                 kBinaryCharset, 0};
    for (bool binary : {false, true}) {
      std::vector<std::string> enc;
      for (std::int64_t v : values) {
        if (binary) {
          std::string b(8, '\0');
          for (int k = 0; k < 8; ++k)
            b[static_cast<std::size_t>(k)] =
                static_cast<char>(static_cast<std::uint64_t>(v) >> (8 * k));
          enc.push_back(b);
        } else {
          enc.push_back(isUnsigned ? std::to_string(static_cast<std::uint64_t>(v))
                                   : std::to_string(v));
        }
      }
      for (std::size_t a = 0; a < enc.size(); ++a)
        for (std::size_t b = 0; b < enc.size(); ++b) {
          CompareError e = CompareError::kNone;
          int c = compareCells(t, binary, cell(enc[a]), cell(enc[b]), {}, {}, nullptr, e);
          std::uint64_t ka = integerOrderKey(t, binary, cell(enc[a]));
          std::uint64_t kb = integerOrderKey(t, binary, cell(enc[b]));
          int k = ka < kb ? -1 : ka > kb ? 1 : 0;
          ASSERT_EQ((c > 0) - (c < 0), k)
              << enc[a] << " vs " << enc[b] << " unsigned " << isUnsigned << " binary " << binary;
        }
    }
  }
}

TEST(MergeCells, TextIntegersParseAtEveryLength) {
  // Digit by digit below 19 digits, from_chars above: every length, both signs.
  constexpr std::uint64_t kSign = std::uint64_t{1} << 63;
  ColumnType s{ftype::kLongLong, 0, kBinaryCharset, 0};
  ColumnType u{ftype::kLongLong, static_cast<std::uint16_t>(fflag::kUnsigned), kBinaryCharset, 0};
  std::uint64_t v = 0;
  for (int digits = 1; digits <= 20; ++digits) {
    v = v * 10 + static_cast<std::uint64_t>(digits % 10);  // 1, 12, 123, ... 12345678901234567890
    const std::string text = std::to_string(v);
    EXPECT_EQ(integerOrderKey(u, false, cell(text)), v) << text;
    if (v <= static_cast<std::uint64_t>(INT64_MAX)) {
      const auto sv = static_cast<std::int64_t>(v);
      EXPECT_EQ(integerOrderKey(s, false, cell(text)), static_cast<std::uint64_t>(sv) ^ kSign);
      const std::string negative = "-" + text;
      EXPECT_EQ(integerOrderKey(s, false, cell(negative)), static_cast<std::uint64_t>(-sv) ^ kSign)
          << negative;
    }
  }
  // Not an integer's digits (a malformed row): 0, as from_chars leaves it.
  for (std::string bad : {"1x", "x1", "12:4", "-", "1-2", "/9"}) {
    EXPECT_EQ(integerOrderKey(u, false, cell(bad)), 0u) << bad;
    EXPECT_EQ(integerOrderKey(s, false, cell(bad)), kSign) << bad;
  }
}

TEST(MergeCells, StringsCompareByWeightWithTheCollationsPadRule) {
  CompareError e = CompareError::kNone;
  ColumnType s{ftype::kVarString, 0, 46, 0};  // utf8mb4_bin, PAD SPACE
  const std::string* pad = padWeight("utf8mb4_bin");
  ASSERT_NE(pad, nullptr);
  EXPECT_EQ(padWeight("utf8mb4_nopad_bin"), nullptr);
  std::string b = "b", bs = "b ", tab = "b\t", empty;
  std::string wb("\0\0b", 3), wbs("\0\0b\0\0 ", 6), wtab("\0\0b\0\0\t", 6), wempty;
  EXPECT_EQ(compareCells(s, false, cell(b), cell(bs), cell(wb), cell(wbs), pad, e), 0);
  EXPECT_GT(compareCells(s, false, cell(b), cell(tab), cell(wb), cell(wtab), pad, e), 0);
  EXPECT_LT(compareCells(s, false, cell(empty), cell(b), cell(wempty), cell(wb), pad, e), 0);
  // NO PAD: the longer one is greater.
  EXPECT_LT(compareCells(s, false, cell(b), cell(bs), cell(wb), cell(wbs), nullptr, e), 0);
  EXPECT_EQ(e, CompareError::kNone);
  EXPECT_EQ(trimPadding(pad, wbs), wb);
  compareCells(s, false, cell(b), cell(bs), {}, {}, pad, e);
  EXPECT_EQ(e, CompareError::kNeedsWeight);
}

// --- Merger over in-memory rows -----------------------------------------------------------

struct Harness {
  MergeSpec spec;
  Merger merger;
  protocol::Bytes out;
  std::uint8_t seq = 0;

  void init(std::vector<ColumnType> types, std::size_t setLimit = 1000) {
    ASSERT_TRUE(merger.init(spec, std::move(types), false, setLimit));
  }
  bool add(std::vector<std::optional<std::string>> values) {
    auto row = textRow(values);
    std::vector<Cell> cells(merger.columns());
    EXPECT_TRUE(merger.decode(row, cells));
    return merger.add(cells.data(), row, out, seq);
  }
  // The client's rows, decoded back.
  std::vector<std::vector<std::optional<std::string>>> rows() {
    merger.finish(out, seq);
    std::vector<std::vector<std::optional<std::string>>> result;
    std::size_t pos = 0;
    while (pos + 4 <= out.size()) {
      std::size_t len = out[pos] | (out[pos + 1] << 8) | (out[pos + 2] << 16);
      protocol::ByteView payload(out.data() + pos + 4, len);
      std::vector<Cell> cells(merger.visible());
      EXPECT_TRUE(decodeTextRow(payload, cells));
      std::vector<std::optional<std::string>> r;
      for (auto& c : cells)
        r.push_back(c.null ? std::nullopt : std::optional<std::string>(std::string(c.view())));
      result.push_back(r);
      pos += 4 + len;
    }
    return result;
  }
};

const ColumnType kInt{ftype::kLongLong, 0, kBinaryCharset, 0};
const ColumnType kDec{ftype::kNewDecimal, 0, kBinaryCharset, 2};
const ColumnType kAvgDec{ftype::kNewDecimal, 0, kBinaryCharset, 6};
const ColumnType kBin{ftype::kVarString, 0, kBinaryCharset, 0};

using Row = std::vector<std::optional<std::string>>;

TEST(Merger, ScalarAggregatesCombineWithMySqlsNullRules) {
  // SELECT COUNT(*), SUM(p), AVG(p), MIN(p), MAX(p) + hidden SUM(p), COUNT(p)
  Harness h;
  h.spec.aggregate = h.spec.scalar = true;
  h.spec.hidden = 2;
  h.spec.visible.resize(5);
  h.spec.visible[0].agg = MergeAgg::kCount;
  h.spec.visible[1].agg = MergeAgg::kSum;
  h.spec.visible[2].agg = MergeAgg::kAvg;
  h.spec.visible[2].sum = ColumnRef{0, true};
  h.spec.visible[2].count = ColumnRef{1, true};
  h.spec.visible[3].agg = MergeAgg::kMin;
  h.spec.visible[4].agg = MergeAgg::kMax;
  h.spec.hiddenColumns.resize(2);
  h.spec.hiddenColumns[0].agg = MergeAgg::kSum;
  h.spec.hiddenColumns[1].agg = MergeAgg::kCount;
  h.init({kInt, kDec, kAvgDec, kDec, kDec, kDec, kInt});
  EXPECT_TRUE(h.add({"2", "3.50", "1.750000", "1.00", "2.50", "3.50", "2"}));
  EXPECT_TRUE(
      h.add({"0", std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt, "0"}));
  EXPECT_TRUE(h.add({"1", "-1.00", "-1.000000", "-1.00", "-1.00", "-1.00", "1"}));
  EXPECT_EQ(h.rows(), (std::vector<Row>{{"3", "2.50", "0.833333", "-1.00", "2.50"}}));
}

const ColumnType kUnsigned{ftype::kLongLong, fflag::kUnsigned, kBinaryCharset, 0};
const ColumnType kDouble4{ftype::kDouble, 0, kBinaryCharset, 4};

TEST(Merger, BitAggregatesCombineTheShardsPartials) {
  // SELECT BIT_AND(x), BIT_OR(x), BIT_XOR(x): a shard with no rows answers each identity.
  Harness h;
  h.spec.aggregate = h.spec.scalar = true;
  h.spec.visible.resize(3);
  h.spec.visible[0].agg = MergeAgg::kBitAnd;
  h.spec.visible[1].agg = MergeAgg::kBitOr;
  h.spec.visible[2].agg = MergeAgg::kBitXor;
  h.init({kUnsigned, kUnsigned, kUnsigned});
  h.add({"14", "14", "14"});                                     // 0b1110
  h.add({"18446744073709551615", "0", "0"});                     // no rows
  h.add({"18446744073709551611", "18446744073709551611", "9"});  // ~4; 0b1001
  EXPECT_EQ(h.rows(), (std::vector<Row>{{"10", "18446744073709551615", "7"}}));
  // No shard row at all (grouped by a DISTINCT argument too, no shard had one): the identities.
  Harness none;
  none.spec = h.spec;
  none.init({kUnsigned, kUnsigned, kUnsigned});
  EXPECT_EQ(none.rows(), (std::vector<Row>{{"18446744073709551615", "0", "0"}}));
}

TEST(Merger, VariancesCombineTheShardsMoments) {
  // SELECT VAR_POP(x), VAR_SAMP(x), STD(x), STDDEV_SAMP(x) + hidden COUNT(x), SUM(x),
  // CAST(VAR_POP(x) AS DOUBLE), over x = 1, 2, 3, 4 | 10, 20 | (none): one server answers
  // 43.8889, 52.6667, 6.6249, 7.2572 (sum of squares 530, mean 20/3).
  Harness h;
  h.spec.aggregate = h.spec.scalar = true;
  h.spec.hidden = 3;
  h.spec.visible.resize(4);
  const MergeAgg aggs[] = {MergeAgg::kVarPop, MergeAgg::kVarSamp, MergeAgg::kStdPop,
                           MergeAgg::kStdSamp};
  for (std::size_t i = 0; i < 4; ++i) {
    h.spec.visible[i].agg = aggs[i];
    h.spec.visible[i].count = ColumnRef{0, true};
    h.spec.visible[i].sum = ColumnRef{1, true};
    h.spec.visible[i].var = ColumnRef{2, true};
  }
  h.spec.hiddenColumns.resize(3);
  const ColumnType dbl{ftype::kDouble, 0, kBinaryCharset, 31};
  h.init({kDouble4, kDouble4, kDouble4, kDouble4, kInt, kDec, dbl});
  // (A shard's own VAR_POP etc. in the visible columns is ignored: "0".)
  h.add({"0", "0", "0", "0", "4", "10.00", "1.25"});
  h.add({"0", "0", "0", "0", "0", std::nullopt, std::nullopt});
  h.add({"0", "0", "0", "0", "2", "30.00", "25"});
  EXPECT_EQ(h.rows(), (std::vector<Row>{{"43.8889", "52.6667", "6.6249", "7.2572"}}));

  // One row: the population's variance is 0, a sample's is NULL; no rows: NULL.
  Harness one;
  one.spec = h.spec;
  one.init({kDouble4, kDouble4, kDouble4, kDouble4, kInt, kDec, dbl});
  one.add({"0", "0", "0", "0", "1", "7.00", "0"});
  one.add({"0", "0", "0", "0", "0", std::nullopt, std::nullopt});
  EXPECT_EQ(one.rows(), (std::vector<Row>{{"0.0000", std::nullopt, "0.0000", std::nullopt}}));
  Harness none;
  none.spec = h.spec;
  none.init({kDouble4, kDouble4, kDouble4, kDouble4, kInt, kDec, dbl});
  none.add({"0", "0", "0", "0", "0", std::nullopt, std::nullopt});
  EXPECT_EQ(none.rows(),
            (std::vector<Row>{{std::nullopt, std::nullopt, std::nullopt, std::nullopt}}));
}

TEST(Merger, GroupConcatJoinsTheShardsStringsAndCutsOnAWholeCharacter) {
  // SELECT g, GROUP_CONCAT(x SEPARATOR '; ') + hidden @@group_concat_max_len, GROUP BY g.
  const ColumnType utf8{ftype::kBlob, 0, 45, 0};
  auto make = [&](Harness& h) {
    h.spec.aggregate = true;
    h.spec.hidden = 1;
    h.spec.visible.resize(2);
    h.spec.visible[1].agg = MergeAgg::kConcat;
    h.spec.visible[1].separator = "; ";
    h.spec.visible[1].maxLength = ColumnRef{0, true};
    h.spec.hiddenColumns.resize(1);
    router::SortKey g;
    g.column = ColumnRef{0, false};
    h.spec.group.push_back(g);
    h.spec.streamOrder.push_back(g);
    h.init({kBin, utf8, kInt});
  };
  Harness h;
  make(h);
  h.add({"a", "1; 2", "1024"});
  h.add({"a", std::nullopt, "1024"});  // a shard whose values were all NULL
  h.add({"a", "3", "1024"});
  h.add({"b", std::nullopt, "1024"});
  EXPECT_EQ(h.rows(), (std::vector<Row>{{"a", "1; 2; 3"}, {"b", std::nullopt}}));
  // Past group_concat_max_len (9 bytes): cut before a character it would split ("é" is 2 bytes).
  Harness cut;
  make(cut);
  cut.add({"a", "abcdef", "9"});
  cut.add({"a", "\xc3\xa9z", "9"});
  cut.add({"a", "more", "9"});
  EXPECT_EQ(cut.rows(), (std::vector<Row>{{"a", "abcdef; "}}));
}

TEST(Merger, OrderedGroupConcatJoinsPiecesInTheShardsMergedOrder) {
  // GROUP_CONCAT(x ORDER BY x): the shards group by x and its bytes, and send the bytes (piece)
  // and COUNT(*); rows arrive merged by x. A piece repeats for its rows; NULL ones are skipped.
  Harness h;
  h.spec.aggregate = h.spec.scalar = true;
  h.spec.hidden = 4;  // @@group_concat_max_len, piece, COUNT(*), x
  h.spec.visible.resize(1);
  router::MergeColumn& c = h.spec.visible[0];
  c.agg = MergeAgg::kConcat;
  c.maxLength = ColumnRef{0, true};
  c.piece = ColumnRef{1, true};
  c.count = ColumnRef{2, true};
  h.spec.hiddenColumns.resize(4);
  router::SortKey x, bytes;
  x.column = ColumnRef{3, true};
  bytes.column = ColumnRef{1, true};
  h.spec.distinctArgs = {x, bytes};
  h.spec.streamOrder = {x, bytes};
  h.init({kBin, kInt, kBin, kInt, kInt});
  h.add({"-", "1024", std::nullopt, "3", std::nullopt});
  h.add({"-", "1024", "1", "2", "1"});
  h.add({"-", "1024", "2", "1", "2"});
  h.add({"-", "1024", "2", "1", "2"});  // another shard's row of the same value
  EXPECT_EQ(h.rows(), (std::vector<Row>{{"1,1,2,2"}}));
  // DISTINCT: each new value once.
  Harness d;
  d.spec = h.spec;
  d.spec.visible[0].distinctPieces = true;
  d.spec.visible[0].count = ColumnRef{};
  d.spec.distinctArgs = {x};
  d.spec.streamOrder = {x};
  d.init({kBin, kInt, kBin, kInt, kInt});
  d.add({"-", "1024", "1", "2", "1"});
  d.add({"-", "1024", "2", "1", "2"});
  d.add({"-", "1024", "2", "4", "2"});
  EXPECT_EQ(d.rows(), (std::vector<Row>{{"1,2"}}));
}

TEST(Merger, JsonArraysJoinTheShardsElements) {
  // SELECT JSON_ARRAYAGG(x) + hidden @@group_concat_max_len: the elements' text is cut at it (as
  // the server: "[70,n]" at 4), then bracketed; a shard with no rows answers NULL.
  const ColumnType text{ftype::kBlob, 0, 45, 0};
  auto make = [&](Harness& h) {
    h.spec.aggregate = h.spec.scalar = true;
    h.spec.hidden = 1;
    h.spec.visible.resize(1);
    h.spec.visible[0].agg = MergeAgg::kConcat;
    h.spec.visible[0].jsonArray = true;
    h.spec.visible[0].maxLength = ColumnRef{0, true};
    h.spec.hiddenColumns.resize(1);
    h.init({text, kInt});
  };
  Harness h;
  make(h);
  h.add({"[70,null]", "1024"});
  h.add({std::nullopt, "1024"});
  h.add({"[\"a\",1.50]", "1024"});
  EXPECT_EQ(h.rows(), (std::vector<Row>{{"[70,null,\"a\",1.50]"}}));
  Harness cut;
  make(cut);
  cut.add({"[70]", "4"});
  cut.add({"[null,3]", "4"});
  EXPECT_EQ(cut.rows(), (std::vector<Row>{{"[70,n]"}}));
  Harness none;
  make(none);
  none.add({std::nullopt, "1024"});
  EXPECT_EQ(none.rows(), (std::vector<Row>{{std::nullopt}}));
}

TEST(Merger, JsonObjectsJoinTheShardsMembersUncut) {
  // SELECT JSON_OBJECTAGG(k, v): members joined by ", ", braced again; NULL from a shard without
  // a pair; never cut (no @@group_concat_max_len asked).
  Harness h;
  h.spec.aggregate = h.spec.scalar = true;
  h.spec.visible.resize(1);
  h.spec.visible[0].agg = MergeAgg::kConcat;
  h.spec.visible[0].jsonObject = true;
  h.init({ColumnType{ftype::kBlob, 0, 45, 0}});
  h.add({"{\"1\":1.50, \"2\":null}"});
  h.add({std::nullopt});
  h.add({"{\"5\":\"a, b\"}"});
  EXPECT_EQ(h.rows(), (std::vector<Row>{{"{\"1\":1.50, \"2\":null, \"5\":\"a, b\"}"}}));
}

TEST(Merger, FurtherDistinctListsCountThroughTheGroupsSet) {
  // SELECT COUNT(DISTINCT a), COUNT(DISTINCT b), SUM(DISTINCT b) + hidden a, b: the shards group
  // by a, b and sort by a; b's values repeat across a's, so the group keeps the set of them.
  auto make = [](Harness& h, std::size_t setLimit) {
    h.spec.aggregate = h.spec.scalar = true;
    h.spec.hidden = 2;
    h.spec.visible.resize(3);
    h.spec.visible[0].agg = MergeAgg::kCountDistinct;
    h.spec.visible[1].agg = MergeAgg::kCountDistinct;
    h.spec.visible[1].distinctSet = 1;
    h.spec.visible[2].agg = MergeAgg::kSumDistinct;
    h.spec.visible[2].distinctSet = 1;
    h.spec.hiddenColumns.resize(2);
    router::SortKey a, b;
    a.column = ColumnRef{0, true};
    b.column = ColumnRef{1, true};
    h.spec.distinctArgs = {a};
    h.spec.distinctSets = {{b}};
    h.spec.streamOrder = {a};
    h.init({kInt, kInt, kInt, kInt, kInt}, setLimit);
  };
  Harness h;
  make(h, 10);
  for (Row r : std::vector<Row>{{"1", "1", "5", "1", "5"},
                                {"1", "1", "7", "1", "7"},
                                {"1", "1", "5", "2", "5"},  // 5 again, under another a
                                {"1", "0", std::nullopt, "2", std::nullopt}})
    EXPECT_TRUE(h.add(r));
  EXPECT_EQ(h.rows(), (std::vector<Row>{{"2", "2", "12"}}));
  Harness small;
  make(small, 1);
  small.add({"1", "1", "5", "1", "5"});
  small.add({"1", "1", "7", "1", "7"});
  small.rows();
  ASSERT_TRUE(small.merger.error().has_value());
  EXPECT_EQ(small.merger.error()->mysqlErrno, 1038);
}

TEST(Merger, AllNullSumIsNullAndCountIsZero) {
  Harness h;
  h.spec.aggregate = h.spec.scalar = true;
  h.spec.visible.resize(2);
  h.spec.visible[0].agg = MergeAgg::kCount;
  h.spec.visible[1].agg = MergeAgg::kSum;
  h.init({kInt, kDec});
  h.add({"0", std::nullopt});
  h.add({"0", std::nullopt});
  EXPECT_EQ(h.rows(), (std::vector<Row>{{"0", std::nullopt}}));
}

TEST(Merger, GroupsMeetInKeyOrderAndHavingRunsAfterTheMerge) {
  // SELECT k, COUNT(*) ... GROUP BY k HAVING COUNT(*) > 2, shards sorted by k (binary string).
  Harness h;
  h.spec.aggregate = true;
  h.spec.visible.resize(2);
  h.spec.visible[1].agg = MergeAgg::kCount;
  router::SortKey k;
  k.column = ColumnRef{0, false};
  h.spec.group = {k};
  h.spec.streamOrder = {k};
  h.spec.order = {k};
  router::Program having;
  router::Instruction col, lit, gt;
  col.op = router::OpCode::kColumn;
  col.column = ColumnRef{1, false};
  lit.op = router::OpCode::kInteger;
  lit.text = "2";
  gt.op = router::OpCode::kGt;
  having.code = {col, lit, gt};
  h.spec.programs.push_back(having);
  h.spec.having = 0;
  h.init({kBin, kInt});
  // The merged stream: a(1) a(2) b(1) c(2) c(1).
  for (Row r : std::vector<Row>{{"a", "1"}, {"a", "2"}, {"b", "1"}, {"c", "2"}, {"c", "1"}})
    EXPECT_TRUE(h.add(r));
  EXPECT_EQ(h.rows(), (std::vector<Row>{{"a", "3"}, {"c", "3"}}));
}

// GROUP BY a, b WITH ROLLUP over two shards, each returning its groups and its super-aggregate
// rows; the merge reads the levels from each shard's order and merges equal rows of equal level.
struct RollupShards {
  Harness h;
  std::vector<std::vector<protocol::Bytes>> packets;  // per shard, its rows in its order
  std::vector<std::vector<std::uint16_t>> levels;

  explicit RollupShards(std::vector<std::vector<Row>> shards) {
    // SELECT a, b, COUNT(*), a (a repeat of the key: the last group's value when rolled up)
    h.spec.aggregate = true;
    h.spec.rollup = true;
    h.spec.visible.resize(4);
    h.spec.visible[2].agg = MergeAgg::kCount;
    h.spec.visible[3].fromLastGroup = true;
    router::SortKey a, b;
    a.column = ColumnRef{0, false};
    b.column = ColumnRef{1, false};
    h.spec.group = {a, b};
    h.spec.streamOrder = h.spec.group;
    h.spec.order = h.spec.group;
    h.init({kBin, kInt, kInt, kBin});
    for (std::size_t s = 0; s < shards.size(); ++s) {
      packets.emplace_back();
      levels.emplace_back();
      for (const Row& r : shards[s]) {
        packets[s].push_back(textRow(r));
        std::vector<Cell> cells(h.merger.columns());
        EXPECT_TRUE(h.merger.decode(packets[s].back(), cells));
        levels[s].push_back(h.merger.rollupLevel(s, cells.data()));
      }
    }
  }
  // The k-way merge of the shards' rows, as the engine runs it.
  std::vector<Row> merged() {
    std::vector<std::size_t> at(packets.size(), 0);
    const std::size_t n = h.merger.columns();
    std::vector<std::vector<Cell>> heads(packets.size(), std::vector<Cell>(n));
    for (;;) {
      std::size_t best = packets.size();
      for (std::size_t s = 0; s < packets.size(); ++s) {
        if (at[s] == packets[s].size()) continue;
        EXPECT_TRUE(h.merger.decode(packets[s][at[s]], heads[s]));
        if (best == packets.size() ||
            h.merger.compareRollup(heads[s].data(), levels[s][at[s]], heads[best].data(),
                                   levels[best][at[best]]) < 0) {
          best = s;
        }
      }
      if (best == packets.size()) break;
      h.merger.setRowLevel(levels[best][at[best]]);
      if (!h.merger.add(heads[best].data(), packets[best][at[best]], h.out, h.seq)) break;
      ++at[best];
    }
    return h.rows();
  }
};

TEST(Merger, RollupRowsMergeByLevelAfterTheGroupsTheySumUp) {
  const std::optional<std::string> null;
  RollupShards r({{{"p", "1", "2", "p"},
                   {"p", "2", "1", "p"},
                   {"p", null, "3", "p"},
                   {"q", null, "1", "q"},  // a group whose key b is NULL
                   {"q", null, "1", "q"},  // and q's super-aggregate row: equal, one level up
                   {null, null, "4", "q"}},
                  {{"p", "2", "1", "p"},
                   {"p", null, "1", "p"},
                   {"r", "5", "2", "r"},
                   {"r", null, "2", "r"},
                   {null, null, "3", "r"}}});
  EXPECT_EQ(r.levels[0], (std::vector<std::uint16_t>{2, 2, 1, 2, 1, 0}));
  EXPECT_EQ(r.levels[1], (std::vector<std::uint16_t>{2, 1, 2, 1, 0}));
  EXPECT_EQ(r.merged(), (std::vector<Row>{{"p", "1", "2", "p"},
                                          {"p", "2", "2", "p"},
                                          {"p", null, "4", "p"},
                                          {"q", null, "1", "q"},
                                          {"q", null, "1", "q"},
                                          {"r", "5", "2", "r"},
                                          {"r", null, "2", "r"},
                                          // the last group's a (r), not the first shard's (q)
                                          {null, null, "7", "r"}}));
}

TEST(Merger, RowAfterTheGrandTotalIsAnError) {
  const std::optional<std::string> null;
  RollupShards r({{{"p", "1", "1", "p"},
                   {"p", null, "1", "p"},
                   {null, null, "1", "p"},
                   {null, null, "1", "p"}}});
  EXPECT_EQ(r.levels[0][2], 0);
  // A second grand total cannot be read: the error is latched for the merge to answer.
  ASSERT_TRUE(r.h.merger.error().has_value());
  EXPECT_EQ(r.h.merger.error()->mysqlErrno, 1105);
}

TEST(Merger, GroupsSortedByAnAggregateAreBufferedThenLimited) {
  // ... GROUP BY k ORDER BY COUNT(*) DESC LIMIT 2
  Harness h;
  h.spec.aggregate = true;
  h.spec.visible.resize(2);
  h.spec.visible[1].agg = MergeAgg::kCount;
  router::SortKey k, byCount;
  k.column = ColumnRef{0, false};
  byCount.column = ColumnRef{1, false};
  byCount.desc = true;
  h.spec.group = {k};
  h.spec.streamOrder = {k};
  h.spec.order = {byCount};
  h.spec.sortGroups = true;
  h.spec.limit = 2;
  h.init({kBin, kInt});
  for (Row r : std::vector<Row>{{"a", "1"}, {"b", "5"}, {"b", "1"}, {"c", "2"}, {"d", "4"}})
    EXPECT_TRUE(h.add(r));
  EXPECT_EQ(h.rows(), (std::vector<Row>{{"b", "6"}, {"d", "4"}}));
}

TEST(Merger, StreamRanksNeverContradictTheRowOrder) {
  // The engine picks the next shard by rank and compares rows only where ranks tie: a lower
  // rank must always be a row that sorts first, NULLs (first ascending, last descending) and the
  // ends of the range included; ended shards (kEndRank) after every row.
  const std::vector<std::optional<std::string>> texts = {
      std::nullopt, "-9223372036854775808", "-9223372036854775807", "-1", "0", "1",
      "7",          "9223372036854775806",  "9223372036854775807"};
  const std::vector<std::optional<std::string>> unsignedTexts = {
      std::nullopt,          "0", "1", "9223372036854775808", "18446744073709551614",
      "18446744073709551615"};
  for (bool isUnsigned : {false, true}) {
    for (bool desc : {false, true}) {
      Harness h;
      router::SortKey key;
      key.column = ColumnRef{0, false};
      key.desc = desc;
      h.spec.streamOrder = {key};
      h.init({ColumnType{ftype::kLongLong,
                         static_cast<std::uint16_t>(isUnsigned ? fflag::kUnsigned : 0),
                         kBinaryCharset, 0}});
      ASSERT_TRUE(h.merger.hasStreamRank());
      const auto& values = isUnsigned ? unsignedTexts : texts;
      for (const auto& a : values) {
        for (const auto& b : values) {
          auto ra = textRow({a}), rb = textRow({b});
          Cell ca, cb;
          ASSERT_TRUE(h.merger.decode(ra, std::span<Cell>(&ca, 1)));
          ASSERT_TRUE(h.merger.decode(rb, std::span<Cell>(&cb, 1)));
          const std::uint64_t ka = h.merger.streamRank(&ca), kb = h.merger.streamRank(&cb);
          const int c = h.merger.compareStream(&ca, &cb);
          if (ka < kb) {
            EXPECT_LT(c, 0) << a.value_or("NULL") << " vs " << b.value_or("NULL");
          }
          if (ka > kb) {
            EXPECT_GT(c, 0) << a.value_or("NULL") << " vs " << b.value_or("NULL");
          }
          EXPECT_LE(ka, Merger::kEndRank);
        }
      }
    }
  }
}

TEST(Merger, RowsPassedWholeKeepTheirBytesAndTakeTheClientsSequence) {
  Harness h;
  h.spec.visible.resize(2);
  h.init({kInt, kBin});
  protocol::Bytes packet = {0, 0, 0, 42};  // as a shard framed it, sequence id 42
  const auto payload = textRow({"5", "five"});
  packet[0] = static_cast<std::uint8_t>(payload.size());
  packet.insert(packet.end(), payload.begin(), payload.end());
  std::vector<Cell> cells(2);
  const protocol::ByteView body(packet.data() + 4, payload.size());
  ASSERT_TRUE(h.merger.decode(body, cells));
  h.seq = 3;
  EXPECT_TRUE(h.merger.add(cells.data(), body, h.out, h.seq, packet));
  EXPECT_EQ(h.seq, 4);
  ASSERT_EQ(h.out.size(), packet.size());
  EXPECT_EQ(h.out[3], 3);
  EXPECT_TRUE(std::equal(h.out.begin() + 4, h.out.end(), payload.begin()));
  EXPECT_EQ(h.rows(), (std::vector<Row>{{"5", "five"}}));
}

TEST(Merger, RowsLoseTheirHiddenColumnsAndRespectOffsetAndLimit) {
  Harness h;
  h.spec.hidden = 1;
  h.spec.visible.resize(1);
  h.spec.hiddenColumns.resize(1);
  h.spec.limit = 2;
  h.spec.offset = 1;
  h.init({kInt, kBin});
  EXPECT_TRUE(h.add({"1", "x"}));
  EXPECT_TRUE(h.add({"2", "y"}));
  EXPECT_FALSE(h.add({"3", "z"}));  // the limit is reached: stop reading
  EXPECT_EQ(h.rows(), (std::vector<Row>{{"2"}, {"3"}}));
}

// SELECT DISTINCT name[, qty], WEIGHT_STRING(name): `visible` columns, the first a string of
// utf8mb4_general_ci compared by the hidden weight.
const ColumnType kGeneralCi{ftype::kVarString, 0, 45, 0};
void distinctByWeight(Harness& h, std::size_t visible) {
  h.spec.distinct = true;
  h.spec.hidden = 1;
  h.spec.visible.resize(visible);
  h.spec.hiddenColumns.resize(1);
  h.spec.distinctWeights.assign(visible, ColumnRef{});
  h.spec.distinctWeights[0] = ColumnRef{0, true};
}

TEST(Merger, DistinctUsesWeightsAndIsBoundedBySetLimit) {
  Harness h;
  distinctByWeight(h, 1);
  h.init({kGeneralCi, kBin}, 2);
  EXPECT_TRUE(h.add({"Alpha", "ALPHA"}));
  EXPECT_TRUE(h.add({"alpha", "ALPHA"}));  // the same under the collation
  EXPECT_TRUE(h.add({"beta", "BETA"}));
  EXPECT_FALSE(h.add({"gamma", "GAMMA"}));  // a third distinct value: over the limit
  ASSERT_TRUE(h.merger.error());
  EXPECT_EQ(h.merger.error()->mysqlErrno, 1038);
}

// ORDER BY every column DISTINCT compares: the shards' sorted streams put duplicates next to each
// other, so the merge keeps only the previous row's key, and merge_buffer_rows does not apply.
TEST(Merger, DistinctOrderedByEveryColumnNeedsNoSet) {
  Harness h;
  distinctByWeight(h, 2);
  router::SortKey byName, byQty;
  byName.column = ColumnRef{0, false};
  byName.weight = ColumnRef{0, true};
  byQty.column = ColumnRef{1, false};
  byQty.desc = true;
  h.spec.order = h.spec.streamOrder = {byName, byQty};
  h.init({kGeneralCi, kInt, kBin}, 2);
  EXPECT_TRUE(h.add({"Alpha", "2", "ALPHA"}));
  EXPECT_TRUE(h.add({"alpha", "2", "ALPHA"}));  // the same under the collation, next to it
  EXPECT_TRUE(h.add({"alpha", "1", "ALPHA"}));
  EXPECT_TRUE(h.add({"beta", "1", "BETA"}));
  EXPECT_TRUE(h.add({"delta", std::nullopt, "DELTA"}));
  EXPECT_TRUE(h.add({"Delta", std::nullopt, "DELTA"}));
  EXPECT_TRUE(h.add({"gamma", "7", "GAMMA"}));  // past the set limit of 2: no set is kept
  EXPECT_FALSE(h.merger.error());
  EXPECT_EQ(
      h.rows(),
      (std::vector<Row>{
          {"Alpha", "2"}, {"alpha", "1"}, {"beta", "1"}, {"delta", std::nullopt}, {"gamma", "7"}}));
  // Ordered by only some of the columns: duplicates may be apart, so the set is kept.
  Harness partial;
  partial.spec = h.spec;
  partial.spec.order = partial.spec.streamOrder = {byName};
  partial.init({kGeneralCi, kInt, kBin}, 2);
  EXPECT_TRUE(partial.add({"alpha", "1", "ALPHA"}));
  EXPECT_TRUE(partial.add({"alpha", "2", "ALPHA"}));
  EXPECT_FALSE(partial.add({"beta", "1", "BETA"}));  // a third distinct row: over the limit
  ASSERT_TRUE(partial.merger.error());
  EXPECT_EQ(partial.merger.error()->mysqlErrno, 1038);
}

TEST(Merger, ExpressionsOverAggregatesUseDecimalRules) {
  // SELECT SUM(q) / COUNT(*) with hidden SUM(q), COUNT(*)
  Harness h;
  h.spec.aggregate = h.spec.scalar = true;
  h.spec.hidden = 2;
  h.spec.visible.resize(1);
  h.spec.visible[0].agg = MergeAgg::kExpr;
  h.spec.hiddenColumns.resize(2);
  h.spec.hiddenColumns[0].agg = MergeAgg::kSum;
  h.spec.hiddenColumns[1].agg = MergeAgg::kCount;
  router::Instruction a, b, div;
  a.op = router::OpCode::kColumn;
  a.column = ColumnRef{0, true};
  b.op = router::OpCode::kColumn;
  b.column = ColumnRef{1, true};
  div.op = router::OpCode::kDiv;
  h.spec.programs.push_back(router::Program{{a, b, div}});
  ColumnType out{ftype::kNewDecimal, 0, kBinaryCharset, 4};
  ColumnType sum{ftype::kNewDecimal, 0, kBinaryCharset, 0};
  h.init({out, sum, kInt});
  h.add({"9.0000", "1", "1"});
  h.add({"0.5000", "1", "2"});
  EXPECT_EQ(h.rows(), (std::vector<Row>{{"0.6667"}}));
}

TEST(Merger, RowsUnderTwoCollationsAreRefusedNotMisordered) {
  // SELECT s FROM a UNION SELECT s FROM b ORDER BY 1, with hidden WEIGHT_STRING(s), COLLATION(s)
  // that differ between the branches: no comparison of weights across collations.
  Harness h;
  h.spec.distinct = true;
  h.spec.hidden = 2;
  h.spec.visible.resize(1);
  h.spec.hiddenColumns.resize(2);
  router::SortKey k;
  k.column = ColumnRef{0, false};
  k.weight = ColumnRef{0, true};
  k.collation = ColumnRef{1, true};
  h.spec.order = h.spec.streamOrder = {k};
  h.spec.distinctWeights = {k.weight};
  h.spec.distinctCollations = {k.collation};
  const ColumnType text{ftype::kVarString, 0, 45, 0};
  h.init({text, kBin, kBin});
  EXPECT_TRUE(h.add({"a", "A", "utf8mb4_general_ci"}));
  EXPECT_FALSE(h.add({"a", "a", "utf8mb4_bin"}));
  ASSERT_TRUE(h.merger.error());
  EXPECT_EQ(h.merger.error()->mysqlErrno, 1235);
}

// SELECT f(SUM(x), d) over shards' partial sums: ROUND half away from zero for DECIMAL (to the
// left of the point too), half to even for DOUBLE (rint, as MariaDB's my_double_round), TRUNCATE
// toward zero, COALESCE the first non-NULL.
std::string applied(router::OpCode op, std::vector<std::optional<std::string>> parts,
                    const ColumnType& type, std::optional<std::string> digits) {
  Harness h;
  h.spec.aggregate = h.spec.scalar = true;
  h.spec.hidden = 1;
  h.spec.visible.resize(1);
  h.spec.visible[0].agg = MergeAgg::kExpr;
  h.spec.hiddenColumns.resize(1);
  h.spec.hiddenColumns[0].agg = MergeAgg::kSum;
  router::Instruction sum, d, f;
  sum.op = router::OpCode::kColumn;
  sum.column = ColumnRef{0, true};
  d.op = digits ? router::OpCode::kInteger : router::OpCode::kNull;
  if (digits) d.text = *digits;
  f.op = op;
  f.count = 2;
  h.spec.programs.push_back(router::Program{{sum, d, f}});
  h.init({type, type});
  for (auto& p : parts)
    h.add({p, p});
  auto rows = h.rows();
  return rows.size() == 1 && rows[0][0] ? *rows[0][0] : "NULL";
}

TEST(Merger, FunctionsOfAggregatesRoundAsMySql) {
  using router::OpCode;
  const ColumnType dec2{ftype::kNewDecimal, 0, kBinaryCharset, 2};
  const ColumnType dec0{ftype::kNewDecimal, 0, kBinaryCharset, 0};
  const ColumnType dbl{ftype::kDouble, 0, kBinaryCharset, 31};
  EXPECT_EQ(applied(OpCode::kRound, {"1.20", "1.05"}, dec2, "1"), "2.30");  // 2.25 -> 2.3
  EXPECT_EQ(applied(OpCode::kRound, {"-1.20", "-1.05"}, dec2, "1"), "-2.30");
  EXPECT_EQ(applied(OpCode::kRound, {"10", "4.5"}, dec0, "-1"), "10");  // 14.5 -> 10, not 20
  EXPECT_EQ(applied(OpCode::kRound, {"10", "5"}, dec0, "-1"), "20");
  EXPECT_EQ(applied(OpCode::kRound, {"999", "1"}, dec0, "-5"), "0");
  EXPECT_EQ(applied(OpCode::kTruncate, {"1.20", "1.09"}, dec2, "1"), "2.20");
  EXPECT_EQ(applied(OpCode::kTruncate, {"-19", "-0.99"}, dec0, "-1"), "-10");
  EXPECT_EQ(applied(OpCode::kRound, {"0.125", "0"}, dbl, "2"), "0.12");  // rint: half to even
  EXPECT_EQ(applied(OpCode::kRound, {"2.5", "0"}, dbl, "0"), "2");
  EXPECT_EQ(applied(OpCode::kRound, {"1.20", "1.05"}, dec2, std::nullopt), "NULL");
  EXPECT_EQ(applied(OpCode::kCoalesce, {std::nullopt, std::nullopt}, dec2, "7"), "7.00");
  EXPECT_EQ(applied(OpCode::kCoalesce, {"1.50", std::nullopt}, dec2, "7"), "1.50");
}

std::string asNumber(std::uint8_t type, std::uint8_t decimals, std::string_view text,
                     bool binary = false) {
  const Cell c{reinterpret_cast<const std::uint8_t*>(text.data()),
               static_cast<std::uint32_t>(text.size()), false};
  auto n = temporalNumber(ColumnType{type, 0, kBinaryCharset, decimals}, binary, c);
  return n ? n->toString() : "none";
}

std::string str(std::optional<Decimal> d) {
  return d ? d->toString() : "none";
}

TEST(MergeTemporal, DatesAndTimesReadAsMySqlsNumbers) {
  // SELECT d + 0, dt + 0, dt6 + 0, tm3 + 0: what arithmetic over MIN / MAX of them starts from.
  EXPECT_EQ(asNumber(ftype::kDate, 0, "2025-01-02"), "20250102");
  EXPECT_EQ(asNumber(ftype::kDateTime, 0, "2026-12-28 14:00:00"), "20261228140000");
  EXPECT_EQ(asNumber(ftype::kDateTime, 6, "2026-12-28 14:00:00.123456"), "20261228140000.123456");
  EXPECT_EQ(asNumber(ftype::kTimestamp, 0, "2026-12-28 14:00:00"), "20261228140000");
  EXPECT_EQ(asNumber(ftype::kTime, 3, "-100:02:03.500"), "-1000203.500");
  EXPECT_EQ(asNumber(ftype::kTime, 0, "838:59:59"), "8385959");
  // Binary protocol: length-less cells as the row decoder leaves them.
  const std::string dt{"\xea\x07\x0c\x1c\x0e\x00\x00", 7};  // 2026-12-28 14:00:00
  EXPECT_EQ(asNumber(ftype::kDateTime, 0, dt, true), "20261228140000");
  const std::string tm{"\x01\x01\x00\x00\x00\x02\x03\x04", 8};  // -26:03:04
  EXPECT_EQ(asNumber(ftype::kTime, 0, tm, true), "-260304");
}

TEST(MergeTemporal, StringsAndNumbersReadAsDatesWhereMySqlWould) {
  EXPECT_EQ(str(datetimeFromString("2026-06-01")), "20260601000000.000000");
  EXPECT_EQ(str(datetimeFromString(" 2026-6-1 7:05")), "20260601070500.000000");
  EXPECT_EQ(str(datetimeFromString("2026/06/01T10:20:30.5")), "20260601102030.500000");
  EXPECT_EQ(str(datetimeFromString("20260601")), "20260601000000.000000");
  EXPECT_EQ(str(datetimeFromString("260601101112")), "20260601101112.000000");
  EXPECT_EQ(str(datetimeFromString("99-01-01")), "19990101000000.000000");
  EXPECT_EQ(str(datetimeFromString("2024-02-29")), "20240229000000.000000");
  for (std::string_view bad : {"2025-02-29", "2026-13-01", "garbage", "2026-06-01 25:00", "2026",
                               "2026-06-01 10", "1234567"}) {
    EXPECT_FALSE(datetimeFromString(bad)) << bad;
  }
  EXPECT_EQ(str(datetimeFromNumber(*Decimal::parse("20250102"))), "20250102000000.000000");
  EXPECT_EQ(str(datetimeFromNumber(*Decimal::parse("250102"))), "20250102000000.000000");
  EXPECT_EQ(str(datetimeFromNumber(*Decimal::parse("700101"))), "19700101000000.000000");
  EXPECT_EQ(str(datetimeFromNumber(*Decimal::parse("20261228140000.25"))), "20261228140000.250000");
  EXPECT_FALSE(datetimeFromNumber(*Decimal::parse("5")));
  EXPECT_FALSE(datetimeFromNumber(*Decimal::parse("20251301")));
  EXPECT_EQ(str(timeFromString("199:00")), "1990000.000000");
  EXPECT_EQ(str(timeFromString("1234")), "1234.000000");  // 00:12:34
  EXPECT_EQ(str(timeFromString("-1 02:00:00.25")), "-260000.250000");
  EXPECT_FALSE(timeFromString("12:61:00"));
}

TEST(Merger, HavingComparesDatesAsDates) {
  // SELECT MAX(d) ... HAVING MAX(d) > '2025-1-2' AND MAX(d) + 0 < 20260101 over two shards.
  Harness h;
  h.spec.aggregate = h.spec.scalar = true;
  h.spec.visible.resize(1);
  h.spec.visible[0].agg = MergeAgg::kMax;
  router::Instruction col, lit, gt, zero, add, num, lt, both;
  col.op = router::OpCode::kColumn;
  col.column = ColumnRef{0, false};
  lit.op = router::OpCode::kString;
  lit.text = "2025-1-2";
  gt.op = router::OpCode::kGt;
  zero.op = router::OpCode::kInteger;
  zero.text = "0";
  add.op = router::OpCode::kAdd;
  num.op = router::OpCode::kInteger;
  num.text = "20260101";
  lt.op = router::OpCode::kLt;
  both.op = router::OpCode::kAnd;
  both.count = 2;
  h.spec.programs.push_back(router::Program{{col, lit, gt, col, zero, add, num, lt, both}});
  h.spec.having = 0;
  const ColumnType date{ftype::kDate, 0, kBinaryCharset, 0};
  h.init({date});
  h.add({"2025-01-02"});
  h.add({"2025-01-10"});
  EXPECT_EQ(h.rows(), (std::vector<Row>{{"2025-01-10"}}));
  Harness late;  // the same HAVING over a maximum past 2026-01-01: no row
  late.spec = h.spec;
  late.init({date});
  late.add({"2026-03-01"});
  EXPECT_TRUE(late.rows().empty());
}

}  // namespace
}  // namespace shardproxy::proxy::merge
