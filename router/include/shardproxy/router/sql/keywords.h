// Keywords of the MySQL dialect, recognised by the lexer so the grammar compares small integers.
// Place in the request flow: the Lexer tags every word token with its Kw (kNone for plain names);
// the grammar uses isReserved() to decide whether a word can be a name (an implicit alias, a
// column). Generated list: MySQL 8.0 reserved words (reference manual 11.3) and the non-reserved
// words this grammar looks for.
#pragma once

#include <cstdint>
#include <string_view>

namespace shardproxy::router::sql {

// X(enumerator, upper-case text, reserved)
#define SHARDPROXY_SQL_KEYWORDS(X)                                     \
  X(kAccessible, "ACCESSIBLE", true)                                   \
  X(kAction, "ACTION", false)                                          \
  X(kAdd, "ADD", true)                                                 \
  X(kAgainst, "AGAINST", false)                                        \
  X(kAlgorithm, "ALGORITHM", false)                                    \
  X(kAll, "ALL", true)                                                 \
  X(kAlter, "ALTER", true)                                             \
  X(kAnalyze, "ANALYZE", true)                                         \
  X(kAnd, "AND", true)                                                 \
  X(kAny, "ANY", false)                                                \
  X(kAs, "AS", true)                                                   \
  X(kAsc, "ASC", true)                                                 \
  X(kAsensitive, "ASENSITIVE", true)                                   \
  X(kAutocommit, "AUTOCOMMIT", false)                                  \
  X(kBefore, "BEFORE", true)                                           \
  X(kBegin, "BEGIN", false)                                            \
  X(kBetween, "BETWEEN", true)                                         \
  X(kBigint, "BIGINT", true)                                           \
  X(kBinary, "BINARY", true)                                           \
  X(kBlob, "BLOB", true)                                               \
  X(kBoolean, "BOOLEAN", false)                                        \
  X(kBoth, "BOTH", true)                                               \
  X(kBy, "BY", true)                                                   \
  X(kCall, "CALL", true)                                               \
  X(kCascade, "CASCADE", true)                                         \
  X(kCase, "CASE", true)                                               \
  X(kCast, "CAST", false)                                              \
  X(kChain, "CHAIN", false)                                            \
  X(kChange, "CHANGE", true)                                           \
  X(kChar, "CHAR", true)                                               \
  X(kCharacter, "CHARACTER", true)                                     \
  X(kCharset, "CHARSET", false)                                        \
  X(kCheck, "CHECK", true)                                             \
  X(kCollate, "COLLATE", true)                                         \
  X(kCollation, "COLLATION", false)                                    \
  X(kColumn, "COLUMN", true)                                           \
  X(kColumns, "COLUMNS", false)                                        \
  X(kCommit, "COMMIT", false)                                          \
  X(kCommitted, "COMMITTED", false)                                    \
  X(kCondition, "CONDITION", true)                                     \
  X(kConnection, "CONNECTION", false)                                  \
  X(kConsistent, "CONSISTENT", false)                                  \
  X(kConstraint, "CONSTRAINT", true)                                   \
  X(kContinue, "CONTINUE", true)                                       \
  X(kConvert, "CONVERT", true)                                         \
  X(kCreate, "CREATE", true)                                           \
  X(kCross, "CROSS", true)                                             \
  X(kCurrentDate, "CURRENT_DATE", true)                                \
  X(kCurrentTime, "CURRENT_TIME", true)                                \
  X(kCurrentTimestamp, "CURRENT_TIMESTAMP", true)                      \
  X(kCurrentUser, "CURRENT_USER", true)                                \
  X(kCursor, "CURSOR", true)                                           \
  X(kDatabase, "DATABASE", true)                                       \
  X(kDatabases, "DATABASES", true)                                     \
  X(kDate, "DATE", false)                                              \
  X(kDayHour, "DAY_HOUR", true)                                        \
  X(kDayMicrosecond, "DAY_MICROSECOND", true)                          \
  X(kDayMinute, "DAY_MINUTE", true)                                    \
  X(kDaySecond, "DAY_SECOND", true)                                    \
  X(kDec, "DEC", true)                                                 \
  X(kDecimal, "DECIMAL", true)                                         \
  X(kDeclare, "DECLARE", true)                                         \
  X(kDefault, "DEFAULT", true)                                         \
  X(kDelayed, "DELAYED", true)                                         \
  X(kDelete, "DELETE", true)                                           \
  X(kDesc, "DESC", true)                                               \
  X(kDescribe, "DESCRIBE", true)                                       \
  X(kDeterministic, "DETERMINISTIC", true)                             \
  X(kDisable, "DISABLE", false)                                        \
  X(kDistinct, "DISTINCT", true)                                       \
  X(kDistinctrow, "DISTINCTROW", true)                                 \
  X(kDiv, "DIV", true)                                                 \
  X(kDo, "DO", false)                                                  \
  X(kDouble, "DOUBLE", true)                                           \
  X(kDrop, "DROP", true)                                               \
  X(kDual, "DUAL", true)                                               \
  X(kDumpfile, "DUMPFILE", false)                                      \
  X(kDuplicate, "DUPLICATE", false)                                    \
  X(kEach, "EACH", true)                                               \
  X(kElse, "ELSE", true)                                               \
  X(kElseif, "ELSEIF", true)                                           \
  X(kEnable, "ENABLE", false)                                          \
  X(kEnclosed, "ENCLOSED", true)                                       \
  X(kEnd, "END", false)                                                \
  X(kEngine, "ENGINE", false)                                          \
  X(kEngines, "ENGINES", false)                                        \
  X(kErrors, "ERRORS", false)                                          \
  X(kEscape, "ESCAPE", false)                                          \
  X(kEscaped, "ESCAPED", true)                                         \
  X(kEvent, "EVENT", false)                                            \
  X(kExcept, "EXCEPT", true)                                           \
  X(kExists, "EXISTS", true)                                           \
  X(kExit, "EXIT", true)                                               \
  X(kExplain, "EXPLAIN", true)                                         \
  X(kExtended, "EXTENDED", false)                                      \
  X(kExtract, "EXTRACT", false)                                        \
  X(kFalse, "FALSE", true)                                             \
  X(kFetch, "FETCH", true)                                             \
  X(kFields, "FIELDS", false)                                          \
  X(kFirst, "FIRST", false)                                            \
  X(kFloat, "FLOAT", true)                                             \
  X(kFloat4, "FLOAT4", true)                                           \
  X(kFloat8, "FLOAT8", true)                                           \
  X(kFor, "FOR", true)                                                 \
  X(kForce, "FORCE", true)                                             \
  X(kForeign, "FOREIGN", true)                                         \
  X(kFormat, "FORMAT", false)                                          \
  X(kFrom, "FROM", true)                                               \
  X(kFull, "FULL", false)                                              \
  X(kFulltext, "FULLTEXT", true)                                       \
  X(kFunction, "FUNCTION", true)                                       \
  X(kGenerated, "GENERATED", true)                                     \
  X(kGet, "GET", true)                                                 \
  X(kGlobal, "GLOBAL", false)                                          \
  X(kGrant, "GRANT", true)                                             \
  X(kGrants, "GRANTS", false)                                          \
  X(kGroup, "GROUP", true)                                             \
  X(kGrouping, "GROUPING", true)                                       \
  X(kGroupConcat, "GROUP_CONCAT", false)                               \
  X(kHandler, "HANDLER", false)                                        \
  X(kHaving, "HAVING", true)                                           \
  X(kHighPriority, "HIGH_PRIORITY", true)                              \
  X(kHourMicrosecond, "HOUR_MICROSECOND", true)                        \
  X(kHourMinute, "HOUR_MINUTE", true)                                  \
  X(kHourSecond, "HOUR_SECOND", true)                                  \
  X(kIf, "IF", true)                                                   \
  X(kIgnore, "IGNORE", true)                                           \
  X(kIn, "IN", true)                                                   \
  X(kIndex, "INDEX", true)                                             \
  X(kIndexes, "INDEXES", false)                                        \
  X(kInfile, "INFILE", true)                                           \
  X(kInner, "INNER", true)                                             \
  X(kInout, "INOUT", true)                                             \
  X(kInsensitive, "INSENSITIVE", true)                                 \
  X(kInsert, "INSERT", true)                                           \
  X(kInt, "INT", true)                                                 \
  X(kInt1, "INT1", true)                                               \
  X(kInt2, "INT2", true)                                               \
  X(kInt3, "INT3", true)                                               \
  X(kInt4, "INT4", true)                                               \
  X(kInt8, "INT8", true)                                               \
  X(kInteger, "INTEGER", true)                                         \
  X(kIntersect, "INTERSECT", true)                                     \
  X(kInterval, "INTERVAL", true)                                       \
  X(kInto, "INTO", true)                                               \
  X(kIoAfterGtids, "IO_AFTER_GTIDS", true)                             \
  X(kIoBeforeGtids, "IO_BEFORE_GTIDS", true)                           \
  X(kIs, "IS", true)                                                   \
  X(kIsolation, "ISOLATION", false)                                    \
  X(kIterate, "ITERATE", true)                                         \
  X(kJoin, "JOIN", true)                                               \
  X(kKey, "KEY", true)                                                 \
  X(kKeys, "KEYS", true)                                               \
  X(kKill, "KILL", true)                                               \
  X(kLast, "LAST", false)                                              \
  X(kLateral, "LATERAL", false)                                        \
  X(kLeading, "LEADING", true)                                         \
  X(kLeave, "LEAVE", true)                                             \
  X(kLeft, "LEFT", true)                                               \
  X(kLevel, "LEVEL", false)                                            \
  X(kLike, "LIKE", true)                                               \
  X(kLimit, "LIMIT", true)                                             \
  X(kLinear, "LINEAR", true)                                           \
  X(kLines, "LINES", true)                                             \
  X(kLoad, "LOAD", true)                                               \
  X(kLocal, "LOCAL", false)                                            \
  X(kLocaltime, "LOCALTIME", true)                                     \
  X(kLocaltimestamp, "LOCALTIMESTAMP", true)                           \
  X(kLock, "LOCK", true)                                               \
  X(kLocked, "LOCKED", false)                                          \
  X(kLong, "LONG", true)                                               \
  X(kLongblob, "LONGBLOB", true)                                       \
  X(kLongtext, "LONGTEXT", true)                                       \
  X(kLoop, "LOOP", true)                                               \
  X(kLowPriority, "LOW_PRIORITY", true)                                \
  X(kMasterBind, "MASTER_BIND", true)                                  \
  X(kMasterSslVerifyServerCert, "MASTER_SSL_VERIFY_SERVER_CERT", true) \
  X(kMatch, "MATCH", true)                                             \
  X(kMaxvalue, "MAXVALUE", true)                                       \
  X(kMediumblob, "MEDIUMBLOB", true)                                   \
  X(kMediumint, "MEDIUMINT", true)                                     \
  X(kMediumtext, "MEDIUMTEXT", true)                                   \
  X(kMember, "MEMBER", false)                                          \
  X(kMid, "MID", false)                                                \
  X(kMiddleint, "MIDDLEINT", true)                                     \
  X(kMinuteMicrosecond, "MINUTE_MICROSECOND", true)                    \
  X(kMinuteSecond, "MINUTE_SECOND", true)                              \
  X(kMod, "MOD", true)                                                 \
  X(kMode, "MODE", false)                                              \
  X(kModifies, "MODIFIES", true)                                       \
  X(kNames, "NAMES", false)                                            \
  X(kNational, "NATIONAL", false)                                      \
  X(kNatural, "NATURAL", true)                                         \
  X(kNo, "NO", false)                                                  \
  X(kNot, "NOT", true)                                                 \
  X(kNowait, "NOWAIT", false)                                          \
  X(kNoWriteToBinlog, "NO_WRITE_TO_BINLOG", true)                      \
  X(kNull, "NULL", true)                                               \
  X(kNumeric, "NUMERIC", true)                                         \
  X(kOf, "OF", false)                                                  \
  X(kOffline, "OFFLINE", false)                                        \
  X(kOffset, "OFFSET", false)                                          \
  X(kOn, "ON", true)                                                   \
  X(kOnline, "ONLINE", false)                                          \
  X(kOnly, "ONLY", false)                                              \
  X(kOpen, "OPEN", false)                                              \
  X(kOptimize, "OPTIMIZE", true)                                       \
  X(kOptimizerCosts, "OPTIMIZER_COSTS", true)                          \
  X(kOption, "OPTION", true)                                           \
  X(kOptionally, "OPTIONALLY", true)                                   \
  X(kOr, "OR", true)                                                   \
  X(kOrder, "ORDER", true)                                             \
  X(kOut, "OUT", true)                                                 \
  X(kOuter, "OUTER", true)                                             \
  X(kOutfile, "OUTFILE", true)                                         \
  X(kOver, "OVER", true)                                               \
  X(kPartition, "PARTITION", true)                                     \
  X(kPartitions, "PARTITIONS", false)                                  \
  X(kPassword, "PASSWORD", false)                                      \
  X(kPersist, "PERSIST", false)                                        \
  X(kPersistOnly, "PERSIST_ONLY", false)                               \
  X(kPosition, "POSITION", false)                                      \
  X(kPrecision, "PRECISION", true)                                     \
  X(kPrepare, "PREPARE", false)                                        \
  X(kPrimary, "PRIMARY", true)                                         \
  X(kProcedure, "PROCEDURE", true)                                     \
  X(kProcesslist, "PROCESSLIST", false)                                \
  X(kPurge, "PURGE", true)                                             \
  X(kQuery, "QUERY", false)                                            \
  X(kQuick, "QUICK", false)                                            \
  X(kRange, "RANGE", true)                                             \
  X(kRead, "READ", true)                                               \
  X(kReads, "READS", true)                                             \
  X(kReadWrite, "READ_WRITE", true)                                    \
  X(kReal, "REAL", true)                                               \
  X(kRecursive, "RECURSIVE", true)                                     \
  X(kReferences, "REFERENCES", true)                                   \
  X(kRegexp, "REGEXP", true)                                           \
  X(kRelease, "RELEASE", true)                                         \
  X(kRename, "RENAME", true)                                           \
  X(kRepeat, "REPEAT", true)                                           \
  X(kRepeatable, "REPEATABLE", false)                                  \
  X(kReplace, "REPLACE", true)                                         \
  X(kRequire, "REQUIRE", true)                                         \
  X(kResignal, "RESIGNAL", true)                                       \
  X(kRestrict, "RESTRICT", true)                                       \
  X(kReturn, "RETURN", true)                                           \
  X(kRevoke, "REVOKE", true)                                           \
  X(kRight, "RIGHT", true)                                             \
  X(kRlike, "RLIKE", true)                                             \
  X(kRole, "ROLE", false)                                              \
  X(kRollback, "ROLLBACK", false)                                      \
  X(kRollup, "ROLLUP", false)                                          \
  X(kRoute, "ROUTE", false)                                            \
  X(kRow, "ROW", true)                                                 \
  X(kRows, "ROWS", true)                                               \
  X(kSavepoint, "SAVEPOINT", false)                                    \
  X(kSchema, "SCHEMA", true)                                           \
  X(kSchemas, "SCHEMAS", true)                                         \
  X(kSecondMicrosecond, "SECOND_MICROSECOND", true)                    \
  X(kSelect, "SELECT", true)                                           \
  X(kSensitive, "SENSITIVE", true)                                     \
  X(kSeparator, "SEPARATOR", true)                                     \
  X(kSerializable, "SERIALIZABLE", false)                              \
  X(kSession, "SESSION", false)                                        \
  X(kSet, "SET", true)                                                 \
  X(kShare, "SHARE", false)                                            \
  X(kShow, "SHOW", true)                                               \
  X(kSignal, "SIGNAL", true)                                           \
  X(kSkip, "SKIP", false)                                              \
  X(kSmallint, "SMALLINT", true)                                       \
  X(kSnapshot, "SNAPSHOT", false)                                      \
  X(kSome, "SOME", false)                                              \
  X(kSounds, "SOUNDS", false)                                          \
  X(kSpatial, "SPATIAL", true)                                         \
  X(kSpecific, "SPECIFIC", true)                                       \
  X(kSql, "SQL", true)                                                 \
  X(kSqlexception, "SQLEXCEPTION", true)                               \
  X(kSqlstate, "SQLSTATE", true)                                       \
  X(kSqlwarning, "SQLWARNING", true)                                   \
  X(kSqlBigResult, "SQL_BIG_RESULT", true)                             \
  X(kSqlBufferResult, "SQL_BUFFER_RESULT", false)                      \
  X(kSqlCache, "SQL_CACHE", false)                                     \
  X(kSqlCalcFoundRows, "SQL_CALC_FOUND_ROWS", true)                    \
  X(kSqlNoCache, "SQL_NO_CACHE", false)                                \
  X(kSqlSmallResult, "SQL_SMALL_RESULT", true)                         \
  X(kSsl, "SSL", true)                                                 \
  X(kStart, "START", false)                                            \
  X(kStarting, "STARTING", true)                                       \
  X(kStatement, "STATEMENT", false)                                    \
  X(kStatus, "STATUS", false)                                          \
  X(kStored, "STORED", true)                                           \
  X(kStraightJoin, "STRAIGHT_JOIN", true)                              \
  X(kSubstr, "SUBSTR", false)                                          \
  X(kSubstring, "SUBSTRING", false)                                    \
  X(kTable, "TABLE", true)                                             \
  X(kTables, "TABLES", false)                                          \
  X(kTemporary, "TEMPORARY", false)                                    \
  X(kTerminated, "TERMINATED", true)                                   \
  X(kThen, "THEN", true)                                               \
  X(kTime, "TIME", false)                                              \
  X(kTimestamp, "TIMESTAMP", false)                                    \
  X(kTinyblob, "TINYBLOB", true)                                       \
  X(kTinyint, "TINYINT", true)                                         \
  X(kTinytext, "TINYTEXT", true)                                       \
  X(kTo, "TO", true)                                                   \
  X(kTrailing, "TRAILING", true)                                       \
  X(kTransaction, "TRANSACTION", false)                                \
  X(kTrigger, "TRIGGER", true)                                         \
  X(kTriggers, "TRIGGERS", false)                                      \
  X(kTrim, "TRIM", false)                                              \
  X(kTrue, "TRUE", true)                                               \
  X(kTruncate, "TRUNCATE", false)                                      \
  X(kUncommitted, "UNCOMMITTED", false)                                \
  X(kUndo, "UNDO", true)                                               \
  X(kUnion, "UNION", true)                                             \
  X(kUnique, "UNIQUE", true)                                           \
  X(kUnknown, "UNKNOWN", false)                                        \
  X(kUnlock, "UNLOCK", true)                                           \
  X(kUnsigned, "UNSIGNED", true)                                       \
  X(kUpdate, "UPDATE", true)                                           \
  X(kUsage, "USAGE", true)                                             \
  X(kUse, "USE", true)                                                 \
  X(kUsing, "USING", true)                                             \
  X(kUtcDate, "UTC_DATE", true)                                        \
  X(kUtcTime, "UTC_TIME", true)                                        \
  X(kUtcTimestamp, "UTC_TIMESTAMP", true)                              \
  X(kValue, "VALUE", false)                                            \
  X(kValues, "VALUES", true)                                           \
  X(kVarbinary, "VARBINARY", true)                                     \
  X(kVarchar, "VARCHAR", true)                                         \
  X(kVarcharacter, "VARCHARACTER", true)                               \
  X(kVariables, "VARIABLES", false)                                    \
  X(kVarying, "VARYING", true)                                         \
  X(kView, "VIEW", false)                                              \
  X(kVirtual, "VIRTUAL", true)                                         \
  X(kWait, "WAIT", false)                                              \
  X(kWarnings, "WARNINGS", false)                                      \
  X(kWhen, "WHEN", true)                                               \
  X(kWhere, "WHERE", true)                                             \
  X(kWhile, "WHILE", true)                                             \
  X(kWindow, "WINDOW", true)                                           \
  X(kWith, "WITH", true)                                               \
  X(kWork, "WORK", false)                                              \
  X(kWrite, "WRITE", true)                                             \
  X(kXa, "XA", false)                                                  \
  X(kXor, "XOR", true)                                                 \
  X(kYearMonth, "YEAR_MONTH", true)                                    \
  X(kZerofill, "ZEROFILL", true)

enum class Kw : std::uint16_t {
  kNone,
#define SHARDPROXY_SQL_KEYWORD_ENUM(e, s, r) e,
  SHARDPROXY_SQL_KEYWORDS(SHARDPROXY_SQL_KEYWORD_ENUM)
#undef SHARDPROXY_SQL_KEYWORD_ENUM
      kCount
};

// Case-insensitive; kNone for a word that is no keyword.
Kw lookupKeyword(std::string_view word);

// The case-folding hash lookupKeyword() uses (FNV-1a over upper-case bytes), exposed so that the
// lexer computes it while it scans a word; then lookupKeyword(word, hash) skips the rehash.
constexpr std::uint32_t kKeywordHashSeed = 2166136261u;
constexpr std::uint32_t keywordHashStep(std::uint32_t h, char c) {
  auto u = static_cast<unsigned char>((c >= 'a' && c <= 'z') ? c - 32 : c);
  return (h ^ u) * 16777619u;
}
Kw lookupKeyword(std::string_view word, std::uint32_t hash);
bool isReserved(Kw kw);
// The upper-case spelling ("" for kNone).
std::string_view keywordText(Kw kw);

}  // namespace shardproxy::router::sql
