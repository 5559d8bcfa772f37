#!/usr/bin/env bash
# Real-client check with the `mariadb` command-line client (COM_QUERY only; `use` is COM_INIT_DB).
#
# Connection from SP_HOST, SP_PORT, SP_USER, SP_PASSWORD, SP_DB; optional SP_DB2 is a second
# schema for the USE checks (default information_schema).
# Exits 0 when every check passes, 1 with a message naming the first mismatch otherwise.
set -uo pipefail
export LC_ALL=C.UTF-8

NAME=mariadb_cli
fail() { echo "$NAME: FAIL: $*" >&2; exit 1; }
[[ -n ${SP_PORT:-} ]] || fail "environment variable SP_PORT is required"
[[ -n ${SP_DB:-} ]] || fail "environment variable SP_DB is required"
HOST=${SP_HOST:-127.0.0.1}
USER_=${SP_USER:-app}
export MYSQL_PWD=${SP_PASSWORD-secret}   # read by libmariadb; keeps the password off argv
DB=$SP_DB
DB2=${SP_DB2:-information_schema}
command -v mariadb >/dev/null || fail "mariadb client not installed"

WORK=$(mktemp -d /tmp/sp-cli-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

BASE=(mariadb --no-defaults --protocol=TCP -h "$HOST" -P "$SP_PORT" -u "$USER_"
      --default-character-set=utf8mb4 --connect-timeout=10 --skip-reconnect)
# mdb ARGS... : run the client against $DB in batch mode (tab-separated, escaped) without headers.
mdb() { "${BASE[@]}" --batch --skip-column-names "$@" "$DB"; }
# sql TEXT : run TEXT; on any client error show it and fail.
sql() {
  local out
  out=$(mdb -e "$1" 2>"$WORK/err") || fail "statement failed: ${1:0:200}"$'\n'"$(cat "$WORK/err")"
  printf '%s' "$out"
}
# expect WHAT GOT WANT
expect() {
  [[ "$2" == "$3" ]] && return 0
  printf '%s: FAIL: %s\n--- got:\n%s\n--- want:\n%s\n' "$NAME" "$1" "${2:0:2000}" "${3:0:2000}" >&2
  exit 1
}
hex() { od -An -v -tx1 | tr -d ' \n' | tr a-f A-F; }
step_start() { STEP=$1; STEP_T0=$(date +%s.%N); }
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'; }
step_ok() { printf '%s: ok %s (%ss)\n' "$NAME" "$STEP" "$(since "$STEP_T0")"; }
T0=$(date +%s.%N)

"${BASE[@]}" -e "SELECT 1" "$DB" >/dev/null 2>"$WORK/err" ||
  fail "connect to $HOST:$SP_PORT as $USER_ db=$DB: $(cat "$WORK/err")"

# ---------------------------------------------------------------- types
step_start types
T=it_cli_types
repeat() { local s='' i; for ((i = 0; i < $2; i++)); do s+=$1; done; printf '%s' "$s"; }
VC1='héllo wörld 😀 日本語 中文 한국어 ∑'
VC2=$'it\'s "quoted" \\back\\slash\\ \'x\' -- ; /* */ %_ \t tab \n newline \r\x1a ?'
VC5="$(repeat 😀 200)$(repeat 日本 27)x"
J1='{"a": 1, "b": [true, null, "x😀"], "c": {"d": 1.5e10}}'
J5="{\"k\": \"$(repeat é 1000)\"}"
sql "DROP TABLE IF EXISTS $T; CREATE TABLE $T (
  id BIGINT NOT NULL PRIMARY KEY, i INT NULL, bi BIGINT NULL, ubi BIGINT UNSIGNED NULL,
  dec30 DECIMAL(30,10) NULL, dbl DOUBLE NULL,
  vc VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL, bl LONGBLOB NULL,
  d DATE NULL, dt DATETIME(6) NULL, t TIME NULL, t6 TIME(6) NULL, j JSON NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4" >/dev/null
# One -e with several statements: the client splits them and sends one COM_QUERY each.
sql "INSERT INTO $T VALUES (1, 42, -1234567890123, 1234567890123, '12345.6789012345',
  3.141592653589793e0, '$VC1', X'00010268656C6C6F', '2024-02-29', '2024-02-29 23:59:59.123456',
  '12:34:56', '-01:02:03.000004', '$J1');
INSERT INTO $T VALUES (3, -2147483648, -9223372036854775808, 0, '-99999999999999999999.9999999999',
  -2.2250738585072014e-308, '', '', '1000-01-01', '1000-01-01 00:00:00.000000', '-838:59:59',
  '00:00:00.000000', 'null');
INSERT INTO $T (id) VALUES (4)" >/dev/null
sql "UPDATE $T SET bl = CONCAT(bl, _binary 0xFF00) WHERE id = 1" >/dev/null
# Row 2: a string literal with every escape the server knows, and a blob literal holding all 256
# byte values, raw except for the bytes mysql_real_escape_string escapes. Sent through stdin
# with --binary-mode so the client passes the bytes through untouched.
{
  printf "INSERT INTO %s VALUES (2, 2147483647, 9223372036854775807, 18446744073709551615,\n" "$T"
  printf "'99999999999999999999.9999999999', 1.7976931348623157e308,\n"
  printf '%s' "'it\\'s \"quoted\" \\\\back\\\\slash\\\\ \\'x\\' -- ; /* */ %_ \\t tab \\n newline \\r\\Z ?'"
  printf ", _binary'"
  for ((b = 0; b < 256; b++)); do
    case $b in
      0) e='\0' ;; 10) e='\n' ;; 13) e='\r' ;; 26) e='\Z' ;; 34) e='\"' ;; 39) e="\\'" ;;
      92) e="\\\\" ;; *) e='' ;;
    esac
    if [[ -n $e ]]; then printf '%s' "$e"; else printf '%b' "\\x$(printf %02x "$b")"; fi
  done
  printf "', '9999-12-31', '9999-12-31 23:59:59.999999', '838:59:59', '838:59:59.999999', '[]');\n"
} >"$WORK/row2.sql"
mdb --binary-mode <"$WORK/row2.sql" 2>"$WORK/err" || fail "insert row 2: $(cat "$WORK/err")"
# Row 5: a 2 MiB blob as a hex literal (a 4 MiB statement).
head -c $((2 * 1024 * 1024 + 3)) /dev/urandom >"$WORK/big.bin"
BIG_SHA=$(sha256sum "$WORK/big.bin" | cut -d' ' -f1)
{
  printf "INSERT INTO %s VALUES (5, 0, -1, 9223372036854775808, '0.0000000001', 0.1e0, '%s', X'" "$T" "$VC5"
  od -An -v -tx1 "$WORK/big.bin" | tr -d ' \n'
  printf "', '1970-01-01', '1970-01-01 00:00:00.000001', '00:00:00', '-838:59:59.999999', '%s');\n" "$J5"
} >"$WORK/row5.sql"
mdb <"$WORK/row5.sql" 2>"$WORK/err" || fail "insert row 5: $(cat "$WORK/err")"

expect "scalar columns" "$(sql "SELECT id, i, bi, ubi, dec30, dbl, d, dt, t, t6, j FROM $T ORDER BY id")" \
"1	42	-1234567890123	1234567890123	12345.6789012345	3.141592653589793	2024-02-29	2024-02-29 23:59:59.123456	12:34:56	-01:02:03.000004	$J1
2	2147483647	9223372036854775807	18446744073709551615	99999999999999999999.9999999999	1.7976931348623157e308	9999-12-31	9999-12-31 23:59:59.999999	838:59:59	838:59:59.999999	[]
3	-2147483648	-9223372036854775808	0	-99999999999999999999.9999999999	-2.2250738585072014e-308	1000-01-01	1000-01-01 00:00:00.000000	-838:59:59	00:00:00.000000	null
4	NULL	NULL	NULL	NULL	NULL	NULL	NULL	NULL	NULL	NULL
5	0	-1	9223372036854775808	0.0000000001	0.1	1970-01-01	1970-01-01 00:00:00.000001	00:00:00	-838:59:59.999999	$J5"
# Text: exact bytes as the server stores them, then as --batch prints them (escaped) and as
# --raw prints them.
expect "varchar bytes" "$(sql "SELECT id, HEX(vc), CHAR_LENGTH(vc) FROM $T ORDER BY id")" \
"1	$(printf '%s' "$VC1" | hex)	${#VC1}
2	$(printf '%s' "$VC2" | hex)	${#VC2}
3		0
4	NULL	NULL
5	$(printf '%s' "$VC5" | hex)	255"
# --batch escapes backslash, tab, newline (and NUL) as \\ \t \n \0; CR and ^Z pass through.
VC2_BATCH="it's \"quoted\" \\\\back\\\\slash\\\\ 'x' -- ; /* */ %_ \\t tab \\n newline "$'\r\x1a'" ?"
expect "varchar batch output" "$(sql "SELECT vc FROM $T ORDER BY id")" \
  "$VC1"$'\n'"$VC2_BATCH"$'\n\nNULL\n'"$VC5"
mdb --raw -e "SELECT vc FROM $T WHERE id = 2" >"$WORK/vc2.raw" 2>"$WORK/err" || fail "$(cat "$WORK/err")"
printf '%s\n' "$VC2" | cmp -s - "$WORK/vc2.raw" || fail "--raw output of the quoted varchar differs"
# Blobs: server-side hex and hash, then the raw bytes through the client.
ALL_HEX=$(for ((b = 0; b < 256; b++)); do printf %02X $b; done)
expect "blob bytes" "$(sql "SELECT id, LENGTH(bl), HEX(bl) FROM $T WHERE id < 5 ORDER by id")" \
"1	10	00010268656C6C6FFF00
2	256	$ALL_HEX
3	0	
4	NULL	NULL"
expect "2 MiB blob on the server" "$(sql "SELECT LENGTH(bl), SHA2(bl, 256) FROM $T WHERE id = 5")" \
  "$((2 * 1024 * 1024 + 3))	$BIG_SHA"
mdb --raw -e "SELECT bl FROM $T WHERE id = 5" >"$WORK/big.out" 2>"$WORK/err" || fail "$(cat "$WORK/err")"
head -c $((2 * 1024 * 1024 + 3)) "$WORK/big.out" | cmp -s - "$WORK/big.bin" ||
  fail "2 MiB blob read back through the client differs"
mdb --raw -e "SELECT bl FROM $T WHERE id = 2" | head -c 256 | hex >"$WORK/all.hex"
expect "256-byte blob read back raw" "$(cat "$WORK/all.hex")" "$ALL_HEX"
expect "NULL vs empty" "$(sql "SELECT id FROM $T WHERE vc IS NULL; SELECT id FROM $T WHERE vc = '' AND bl = ''")" \
  $'4\n3'
step_ok

# ---------------------------------------------------------------- output formats
step_start "output formats"
expect "batch with headers" "$("${BASE[@]}" --batch -e "SELECT 1 AS a, NULL AS b, '' AS c, 'x y' AS d" "$DB")" \
  $'a\tb\tc\td\n1\tNULL\t\tx y'
expect "vertical" "$("${BASE[@]}" --batch -E -e "SELECT 1 AS a, 'é' AS bb" "$DB")" \
  $'*************************** 1. row ***************************\n a: 1\nbb: é'
expect "table" "$("${BASE[@]}" -t -e "SELECT 1 AS a, 'xyz' AS b" "$DB")" \
  $'+---+-----+\n| a | b   |\n+---+-----+\n| 1 | xyz |\n+---+-----+'
expect "column names" "$("${BASE[@]}" --batch -e "SELECT id, dec30 AS \`dé c\` FROM $T WHERE id = 1" "$DB")" \
  $'id\tdé c\n1\t12345.6789012345'
expect "empty result" "$("${BASE[@]}" --batch -e "SELECT id FROM $T WHERE id = -1" "$DB")" ""
step_ok

# ---------------------------------------------------------------- multi-statement
step_start "multi statements"
# -e "a; b; c": the client sends each statement on its own; several result sets in order.
expect "-e batch" "$(sql "SELECT 1; SELECT 'two', NULL; DO 0; SELECT COUNT(*) FROM $T")" \
  $'1\ntwo\tNULL\n5'
# With DELIMITER the client sends "a; b; c" as ONE COM_QUERY and the server returns several results.
printf 'DELIMITER //\nSELECT 1 AS a; SELECT %s AS b; UPDATE %s SET i = i WHERE id = 1; SELECT COUNT(*) AS n FROM %s //\n' \
  "'b😀'" "$T" "$T" | "${BASE[@]}" --batch "$DB" >"$WORK/ms.out" 2>"$WORK/err" ||
  fail "server-side multi-statement: $(cat "$WORK/err")"
expect "server-side multi-statement" "$(cat "$WORK/ms.out")" $'a\n1\nb\nb😀\nn\n5'
step_ok

# ---------------------------------------------------------------- many rows
step_start "many rows"
R=it_cli_rows
N=10000
sql "DROP TABLE IF EXISTS $R; CREATE TABLE $R (id BIGINT NOT NULL PRIMARY KEY, v BIGINT NOT NULL,
  s VARCHAR(64) NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4" >/dev/null
awk -v n=$N 'BEGIN { for (i = 1; i <= n; i++) {
  if (i % 1000 == 1) printf "INSERT INTO '"$R"' (id, v, s) VALUES ";
  printf "(%d,%d,\x27row-%d-ü\x27)%s", i, i * 7 - 3, i, (i % 1000 == 0 ? ";\n" : ",") } }' >"$WORK/rows.sql"
mdb <"$WORK/rows.sql" 2>"$WORK/err" || fail "bulk insert: $(cat "$WORK/err")"
# --quick: the client streams the result (mysql_use_result) instead of storing it.
mdb --quick -e "SELECT id, v, s FROM $R ORDER BY id" 2>"$WORK/err" >"$WORK/rows.out" || fail "$(cat "$WORK/err")"
got=$(awk -F'\t' '{ c++; si += $1; sv += $2; if ($1 != c || $3 != "row-" $1 "-ü") bad = bad " " NR }
  END { printf "%d %d %d%s", c, si, sv, bad }' "$WORK/rows.out")
expect "streamed rows count/sum(id)/sum(v)" "$got" "$N $((N * (N + 1) / 2)) $((7 * N * (N + 1) / 2 - 3 * N))"
expect "aggregates" "$(sql "SELECT COUNT(*), SUM(id), SUM(v), MIN(s), MAX(s) FROM $R")" \
  "$N	$((N * (N + 1) / 2))	$((7 * N * (N + 1) / 2 - 3 * N))	row-1-ü	row-9999-ü"
step_ok

# ---------------------------------------------------------------- transactions
step_start transactions
X=it_cli_tx
sql "DROP TABLE IF EXISTS $X; CREATE TABLE $X (id BIGINT NOT NULL PRIMARY KEY, v VARCHAR(20))
  ENGINE=InnoDB DEFAULT CHARSET=utf8mb4" >/dev/null
expect "rollback in one session" "$(sql "BEGIN; INSERT INTO $X VALUES (1, 'rb'); SELECT COUNT(*) FROM $X;
  ROLLBACK; SELECT COUNT(*) FROM $X")" $'1\n0'
expect "commit in one session" "$(sql "START TRANSACTION; INSERT INTO $X VALUES (2, 'c');
  INSERT INTO $X VALUES (3, 'c'); COMMIT")" ""
expect "committed rows seen by a new connection" "$(sql "SELECT id FROM $X ORDER BY id")" $'2\n3'
# One long-lived client session driven through a pipe, checked from other connections between
# its statements: uncommitted work is invisible elsewhere until COMMIT.
coproc SESSION { "${BASE[@]}" --batch --skip-column-names --unbuffered --force "$DB" 2>&1; }
# Bash unsets SESSION_PID as soon as it reaps the coprocess: keep our own copy for the wait.
session_pid=$SESSION_PID
say() { printf '%s\n' "$1" >&"${SESSION[1]}"; }
hear() { local line; read -r -t 20 line <&"${SESSION[0]}" || fail "session: no answer to $1"; expect "session: $1" "$line" "$2"; }
# With --force the client echoes a failed statement between dashes before the ERROR line.
hear_error() {
  local line
  while read -r -t 20 line <&"${SESSION[0]}"; do [[ $line == ERROR* ]] && break; done
  expect "session: $1" "$line" "$2"
}
say "SET @sp_marker = 'same session'; BEGIN; INSERT INTO $X VALUES (4, 'pending'); SELECT 'inserted';"
hear "insert in transaction" inserted
expect "uncommitted row invisible to another connection" "$(sql "SELECT COUNT(*) FROM $X WHERE id = 4")" 0
say "ROLLBACK; SELECT COUNT(*) FROM $X WHERE id = 4;"
hear "count after rollback" 0
say "BEGIN; INSERT INTO $X VALUES (5, 'later'); DELETE FROM $X WHERE id = 2; SELECT 'step2';"
hear "second transaction" step2
expect "before commit, other connection" "$(sql "SELECT id FROM $X ORDER BY id")" $'2\n3'
say "COMMIT; SELECT 'committed';"
hear "commit" committed
expect "after commit, other connection" "$(sql "SELECT id FROM $X ORDER BY id")" $'3\n5'
# Errors inside the session do not end it or the transaction.
say "BEGIN; INSERT INTO $X VALUES (6, 'x'); INSERT INTO $X VALUES (3, 'dup');"
hear_error "duplicate key inside a transaction" "ERROR 1062 (23000) at line 5: Duplicate entry '3' for key 'PRIMARY'"
say "COMMIT; SELECT COUNT(*), SUM(id) FROM $X;"
hear "session alive after error" "3	14"
say "SELECT @sp_marker;"
hear "session variable survives the errors" "same session"
fd=${SESSION[1]}
exec {fd}>&-
wait "$session_pid" 2>/dev/null || true
step_ok

# ---------------------------------------------------------------- errors
step_start errors
# expect_error WHAT SQL ERRNO SQLSTATE : the client exits 1 and prints "ERROR errno (state)".
expect_error() {
  local rc=0
  mdb -e "$2" >"$WORK/out" 2>"$WORK/err" || rc=$?
  [[ $rc -eq 1 ]] || fail "$1: client exit code $rc, want 1"
  grep -q "^ERROR $3 ($4) at line 1: " "$WORK/err" || fail "$1: stderr: $(cat "$WORK/err"), want ERROR $3 ($4)"
}
expect_error "syntax error" "SELEC 1" 1064 42000
expect_error "duplicate key" "INSERT INTO $X VALUES (3, 'dup')" 1062 23000
expect_error "missing table" "SELECT * FROM it_cli_no_such_table" 1146 42S02
# Without --force the batch stops at the first error. With --force, from stdin (with -e the
# client stops at the first error even with --force), the same connection goes on.
rc=0; mdb -e "INSERT INTO $X VALUES (10, 'a'); SELEC; INSERT INTO $X VALUES (11, 'b')" >/dev/null 2>&1 || rc=$?
expect "stop at first error (exit code)" "$rc" 1
expect "stop at first error (rows)" "$(sql "SELECT id FROM $X WHERE id >= 10 ORDER BY id")" 10
printf "%s\n" "SET @m = 1; SELEC 1; INSERT INTO $X VALUES (10, 'dup'); SELECT @m, 'alive';" \
  "INSERT INTO $X VALUES (11, 'b'); SELECT COUNT(*) FROM $X WHERE id >= 10;" |
  mdb --force >"$WORK/out" 2>"$WORK/err"
expect "--force output" "$(cat "$WORK/out")" $'1\talive\n2'
expect "--force errors" "$(grep ^ERROR "$WORK/err" | cut -c1-19)" $'ERROR 1064 (42000) \nERROR 1062 (23000) '
step_ok

# ---------------------------------------------------------------- use
step_start use
# The client turns `use` into COM_INIT_DB.
expect "use" "$(sql "use $DB2; SELECT DATABASE(); SELECT COUNT(*) FROM \`$DB\`.$X; use $DB; SELECT DATABASE(); SELECT COUNT(*) FROM $X")" \
  "$DB2"$'\n5\n'"$DB"$'\n5'
expect "no default schema" "$("${BASE[@]}" --batch --skip-column-names -e "SELECT DATABASE(); use $DB; SELECT DATABASE(), COUNT(*) FROM $X" 2>&1)" \
  "NULL"$'\n'"$DB"$'\t5'
expect "schema from the command line" "$("${BASE[@]}" --batch --skip-column-names -e "SELECT DATABASE()" "$DB2" 2>&1)" "$DB2"
step_ok

step_start cleanup
sql "DROP TABLE IF EXISTS $T; DROP TABLE IF EXISTS $R; DROP TABLE IF EXISTS $X" >/dev/null
step_ok
printf '%s: all checks passed (%ss)\n' "$NAME" "$(since "$T0")"
