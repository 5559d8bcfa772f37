#!/usr/bin/perl
# Real-client check with Perl DBD::MariaDB using server-side prepared statements
# (mariadb_server_prepare=1, no fallback): COM_STMT_PREPARE / COM_STMT_EXECUTE with typed
# binary parameters (BLOB, DOUBLE, integers, NULL) and binary result rows.
#
# Connection from SP_HOST, SP_PORT, SP_USER, SP_PASSWORD, SP_DB; optional SP_DB2 is a second
# schema for the USE checks (default information_schema).
# Exits 0 when every check passes, 1 with a message naming the first mismatch otherwise.
use strict;
use warnings;
use utf8;
use DBI qw(:sql_types);
use Digest::SHA qw(sha256 sha256_hex);
use Time::HiRes qw(time);

$| = 1;
binmode STDOUT, ':encoding(UTF-8)';
binmode STDERR, ':encoding(UTF-8)';

sub fail { print STDERR "perl_dbd_test: FAIL: $_[0]\n"; exit 1; }
sub check { fail($_[1]) unless $_[0]; }
sub env {
    my ($name, $default) = @_;
    my $v = $ENV{$name} // $default;
    fail("environment variable $name is required") unless defined $v;
    return $v;
}

my $HOST = env('SP_HOST', '127.0.0.1');
my $PORT = env('SP_PORT');
my $USER = env('SP_USER', 'app');
my $PASSWORD = env('SP_PASSWORD', 'secret');
my $DB = env('SP_DB');
my $DB2 = env('SP_DB2', 'information_schema');
my $N_ROWS = 10000;

sub connect_db {
    my (%opt) = @_;
    my $db = exists $opt{db} ? $opt{db} : $DB;
    my $dsn = "DBI:MariaDB:host=$HOST;port=$PORT;mariadb_connect_timeout=10"
        . ";mariadb_server_prepare=1;mariadb_server_prepare_disable_fallback=1"
        . (defined $db ? ";database=$db" : '');
    my $dbh = DBI->connect($dsn, $USER, $PASSWORD,
        { RaiseError => 1, PrintError => 0, AutoCommit => 1 })
        or fail("connect to $HOST:$PORT as $USER: $DBI::errstr");
    return $dbh;
}

sub big_blob {
    my $out = '';
    my $seed = 'shardproxy';
    while (length($out) < 2 * 1024 * 1024 + 3) { $seed = sha256($seed); $out .= $seed; }
    return substr($out, 0, 2 * 1024 * 1024 + 3);
}
my $ALL_BYTES = join('', map { chr } 0 .. 255);
my $BIG = big_blob();

# Column name, SQL bind type, how to compare ('str' exact string, 'num' numeric ==, 'bin' bytes).
my @COLS = (
    [id => SQL_BIGINT, 'str'], [i => SQL_INTEGER, 'str'], [bi => SQL_BIGINT, 'str'],
    [ubi => SQL_BIGINT, 'str'], [dec30 => SQL_DECIMAL, 'str'], [dbl => SQL_VARCHAR, 'num'],
    [vc => SQL_VARCHAR, 'str'], [bl => SQL_BLOB, 'bin'], [d => SQL_VARCHAR, 'str'],
    [dt => SQL_VARCHAR, 'str'], [t => SQL_VARCHAR, 'str'], [t6 => SQL_VARCHAR, 'str'],
    [j => SQL_VARCHAR, 'str'],
);
my @NAMES = map { $_->[0] } @COLS;
my @ROWS = (
    [1, 42, '-1234567890123', '1234567890123', '12345.6789012345', 3.141592653589793,
     'héllo wörld 😀 日本語 中文 한국어 ∑', "\x00\x01\x02hello\xff\x00", '2024-02-29',
     '2024-02-29 23:59:59.123456', '12:34:56', '-01:02:03.000004',
     '{"a": 1, "b": [true, null, "x😀"], "c": {"d": 1.5e10}}'],
    [2, 2147483647, '9223372036854775807', '18446744073709551615',
     '99999999999999999999.9999999999', 1.7976931348623157e308,
     qq{it's "quoted" \\back\\slash\\ 'x' -- ; /* */ %_ \t tab \n newline \r\x1a ?},
     $ALL_BYTES, '9999-12-31', '9999-12-31 23:59:59.999999', '838:59:59', '838:59:59.999999',
     '[]'],
    [3, -2147483648, '-9223372036854775808', '0', '-99999999999999999999.9999999999',
     -2.2250738585072014e-308, '', '', '1000-01-01', '1000-01-01 00:00:00.000000',
     '-838:59:59', '00:00:00.000000', 'null'],
    [4, (undef) x 12],
    [5, 0, '-1', '9223372036854775808', '0.0000000001', 0.1,
     ('😀' x 200) . ('日本' x 27) . 'x', $BIG, '1970-01-01', '1970-01-01 00:00:00.000001',
     '00:00:00', '-838:59:59.999999', '{"k": "' . ('é' x 1000) . '"}'],
);

sub describe {
    my ($v) = @_;
    return 'undef' unless defined $v;
    return sprintf('<%d bytes sha256=%s>', length($v), substr(sha256_hex($v), 0, 16))
        if length($v) > 64 && !utf8::is_utf8($v);
    return length($v) > 80 ? '"' . substr($v, 0, 80) . '"...<' . length($v) . ' chars>' : "\"$v\"";
}

sub compare_row {
    my ($what, $got, $want) = @_;
    check(defined $got, "$what: no row");
    check(@$got == @$want, "$what: got " . scalar(@$got) . " columns");
    for my $k (0 .. $#COLS) {
        my ($name, undef, $how) = @{ $COLS[$k] };
        my ($g, $w) = ($got->[$k], $want->[$k]);
        my $same;
        if (!defined $w || !defined $g) { $same = !defined $w && !defined $g; }
        elsif ($how eq 'num') { $same = $g == $w; }
        elsif ($how eq 'bin') { $same = !utf8::is_utf8($g) && $g eq $w; }
        else { $same = "$g" eq "$w"; }
        fail("$what column $name: got " . describe($g) . ', want ' . describe($w)) unless $same;
    }
}

sub test_types {
    my ($dbh) = @_;
    my $T = 'it_perl_types';
    $dbh->do("DROP TABLE IF EXISTS $T");
    $dbh->do(qq{CREATE TABLE $T (
        id BIGINT NOT NULL PRIMARY KEY, i INT NULL, bi BIGINT NULL, ubi BIGINT UNSIGNED NULL,
        dec30 DECIMAL(30,10) NULL, dbl DOUBLE NULL,
        vc VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL, bl LONGBLOB NULL,
        d DATE NULL, dt DATETIME(6) NULL, t TIME NULL, t6 TIME(6) NULL, j JSON NULL
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4});
    my $ins = $dbh->prepare("INSERT INTO $T (" . join(',', @NAMES) . ') VALUES ('
        . join(',', ('?') x @NAMES) . ')');
    for my $row (@ROWS) {
        for my $k (0 .. $#COLS) {
            my $v = $row->[$k];
            # DBD::MariaDB 1.22 sends a number bound as SQL_DOUBLE (or untyped) as its Perl
            # stringification, 15 significant digits (1.7976931348623157e308 becomes the
            # out-of-range 1.79769313486232e+308), and SQL_FLOAT as a 4-byte FLOAT; so doubles
            # travel as exact text. Integer types go as binary LONGLONG, SQL_BLOB as BLOB.
            $v = sprintf('%.17g', $v) if defined $v && $COLS[$k][0] eq 'dbl';
            $ins->bind_param($k + 1, $v, $COLS[$k][1]);
        }
        my $n = $ins->execute;
        check($n == 1, "insert id=$row->[0] affected $n rows");
    }
    my $all = $dbh->selectall_arrayref('SELECT ' . join(',', @NAMES) . " FROM $T ORDER BY id");
    check(@$all == @ROWS, 'types: got ' . scalar(@$all) . ' rows');
    compare_row("types row id=$ROWS[$_][0]", $all->[$_], $ROWS[$_]) for 0 .. $#ROWS;
    my $pt = $dbh->prepare('SELECT ' . join(',', @NAMES) . " FROM $T WHERE id = ?");
    for my $w (@ROWS) {
        $pt->bind_param(1, $w->[0], SQL_INTEGER);
        $pt->execute;
        compare_row("point select id=$w->[0]", $pt->fetchrow_arrayref, $w);
        $pt->finish;
    }
    # The server's own view of the stored bytes.
    my $srv = $dbh->selectall_arrayref("SELECT LENGTH(bl), SHA2(bl, 256), HEX(vc), CHAR_LENGTH(vc)
        FROM $T WHERE id IN (2, 5) ORDER BY id");
    check($srv->[0][0] == 256 && $srv->[0][1] eq sha256_hex($ALL_BYTES),
        "server sees 256-byte blob as len=$srv->[0][0]");
    check($srv->[1][0] == length($BIG) && $srv->[1][1] eq sha256_hex($BIG),
        "server sees 2 MiB blob as len=$srv->[1][0]");
    my $hex = sub { my $s = shift; utf8::encode($s); uc unpack('H*', $s) };
    check($srv->[0][2] eq $hex->($ROWS[1][6]), 'server sees quoted varchar differently');
    check($srv->[1][2] eq $hex->($ROWS[4][6]) && $srv->[1][3] == 255,
        "server sees multibyte varchar differently (char_length $srv->[1][3])");
    # Re-execute one prepared UPDATE with a blob, then with NULLs.
    my $upd = $dbh->prepare("UPDATE $T SET bl = ?, vc = ? WHERE id = ?");
    $upd->bind_param(1, scalar reverse($ALL_BYTES), SQL_BLOB);
    $upd->bind_param(2, undef);
    $upd->bind_param(3, 3, SQL_INTEGER);
    check($upd->execute == 1, 'prepared update affected rows');
    my ($bl, $vc) = $dbh->selectrow_array("SELECT bl, vc FROM $T WHERE id = ?", undef, 3);
    check($bl eq reverse($ALL_BYTES) && !defined $vc, 'updated blob/NULL differ');
    $upd->bind_param(1, undef, SQL_BLOB);
    $upd->bind_param(2, 'back');
    $upd->bind_param(3, 3, SQL_INTEGER);
    $upd->execute;
    my $nulls = $dbh->selectcol_arrayref("SELECT id FROM $T WHERE bl IS NULL ORDER BY id");
    check("@$nulls" eq '3 4', "bl IS NULL rows: @$nulls");
    # Untyped binds (DBD decides) of a blob, NULL and UTF-8 text echoed by the server.
    my $echo = $dbh->selectrow_arrayref('SELECT ?, ?, ?, ? + 0', undef, "\x00\xff", undef, 'ü😀', 41.5);
    check($echo->[0] eq "\x00\xff" && !defined $echo->[1] && $echo->[2] eq 'ü😀' && $echo->[3] == 41.5,
        'parameter echo');
    # Column names from result metadata.
    my $sth = $dbh->prepare('SELECT ' . join(',', @NAMES) . " FROM $T WHERE id = 1");
    $sth->execute;
    check("@{$sth->{NAME}}" eq "@NAMES", "column names @{$sth->{NAME}}");
    $sth->finish;
}

sub test_many_rows {
    my ($dbh) = @_;
    my $T = 'it_perl_rows';
    $dbh->do("DROP TABLE IF EXISTS $T");
    $dbh->do("CREATE TABLE $T (id BIGINT NOT NULL PRIMARY KEY, v BIGINT NOT NULL,
        s VARCHAR(64) NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4");
    # 100-row prepared INSERT executed 100 times.
    my $per = 100;
    my $ins = $dbh->prepare("INSERT INTO $T (id, v, s) VALUES " . join(',', ('(?,?,?)') x $per));
    my $want_v = 0;
    $dbh->begin_work;
    for (my $start = 1; $start <= $N_ROWS; $start += $per) {
        my @args = map { ($_, $_ * 7 - 3, "row-$_-ü") } $start .. $start + $per - 1;
        $want_v += $_ * 7 - 3 for $start .. $start + $per - 1;
        check($ins->execute(@args) == $per, "batch insert at $start");
    }
    $dbh->commit;
    # Both reads store the whole result client-side: DBD::MariaDB refuses mariadb_use_result
    # with server-side prepare, and 1.22 (Debian 12) returns no rows at all with it
    # (DBD-MariaDB issue #173, fixed in 1.23). Streaming is covered by the PyMySQL and mysql2
    # tests. One read is binary (COM_STMT_EXECUTE), one text (COM_QUERY).
    for my $mode ('binary', 'text') {
        my $attr = $mode eq 'text' ? { mariadb_server_prepare => 0 } : {};
        my $sth = $dbh->prepare("SELECT id, v, s FROM $T WHERE id > ? ORDER BY id", $attr);
        $sth->execute(0);
        my ($count, $sum_id, $sum_v) = (0, 0, 0);
        while (my $r = $sth->fetchrow_arrayref) {
            $count++;
            $sum_id += $r->[0];
            $sum_v += $r->[1];
            fail("$mode row $count: id=$r->[0] s=$r->[2]")
                if $r->[0] != $count || $r->[2] ne "row-$r->[0]-ü";
        }
        check(!$sth->err, "$mode fetch error: " . ($sth->errstr // ''));
        check($count == $N_ROWS && $sum_id == $N_ROWS * ($N_ROWS + 1) / 2 && $sum_v == $want_v,
            "$mode count/sums $count/$sum_id/$sum_v");
    }
    my ($c, $si, $sv) = $dbh->selectrow_array("SELECT COUNT(*), SUM(id), SUM(v) FROM $T WHERE id <= ?",
        undef, $N_ROWS);
    check($c == $N_ROWS && $si == $N_ROWS * ($N_ROWS + 1) / 2 && $sv == $want_v, "aggregates $c $si $sv");
}

sub test_transactions {
    my ($dbh) = @_;
    my $T = 'it_perl_tx';
    $dbh->do("DROP TABLE IF EXISTS $T");
    $dbh->do("CREATE TABLE $T (id BIGINT NOT NULL PRIMARY KEY, v VARCHAR(20))
        ENGINE=InnoDB DEFAULT CHARSET=utf8mb4");
    my $other = connect_db();
    my $visible = sub {
        my ($h, $id) = @_;
        return ($h->selectrow_array("SELECT COUNT(*) FROM $T WHERE id = ?", undef, $id))[0];
    };
    $dbh->do('BEGIN');
    $dbh->do("INSERT INTO $T VALUES (?, ?)", undef, 1, 'rolled back');
    check($visible->($dbh, 1) == 1, 'own uncommitted insert not visible');
    check($visible->($other, 1) == 0, 'uncommitted insert visible from another connection');
    $dbh->do('ROLLBACK');
    check($visible->($dbh, 1) == 0, 'row present after ROLLBACK');

    $dbh->begin_work;    # DBI API: AutoCommit off until commit/rollback
    $dbh->do("INSERT INTO $T VALUES (?, ?)", undef, 2, 'committed');
    check($visible->($other, 2) == 0, 'uncommitted insert visible from another connection');
    $dbh->commit;
    check($visible->($other, 2) == 1, 'row absent after commit');

    $dbh->begin_work;
    $dbh->do("INSERT INTO $T VALUES (?, ?)", undef, 3, 'gone');
    $dbh->do("DELETE FROM $T WHERE id = ?", undef, 2);
    $dbh->rollback;
    check($visible->($other, 2) == 1 && $visible->($other, 3) == 0, 'rollback did not undo');
    $dbh->do("INSERT INTO $T VALUES (?, ?)", undef, 3, 'committed');
    $other->disconnect;
}

sub expect_error {
    my ($dbh, $code, $errno, $state, $what) = @_;
    my $ok = eval { $code->(); 1 };
    check(!$ok, "$what: no error, want errno $errno");
    check(($dbh->err // 0) == $errno, "$what: got errno " . ($dbh->err // 'none')
        . ' (' . ($dbh->errstr // '') . "), want $errno");
    check($dbh->state eq $state, "$what: got SQLSTATE " . $dbh->state . ", want $state");
}

sub test_errors {
    my ($dbh) = @_;
    $dbh->do("SET \@sp_marker = 'same session'");
    expect_error($dbh, sub { $dbh->do('SELEC 1') }, 1064, '42000', 'syntax error');
    check(($dbh->selectrow_array('SELECT ?', undef, 1))[0] == 1, 'unusable after syntax error');
    expect_error($dbh, sub { $dbh->prepare('SELEC ?') }, 1064, '42000', 'prepare syntax error');
    expect_error($dbh, sub { $dbh->do("INSERT INTO it_perl_tx VALUES (?, ?)", undef, 3, 'dup') },
        1062, '23000', 'duplicate key');
    expect_error($dbh, sub { $dbh->selectrow_array('SELECT * FROM it_perl_no_such_table WHERE id = ?', undef, 1) },
        1146, '42S02', 'missing table');
    check($dbh->ping, 'ping after errors');
    check(($dbh->selectrow_array('SELECT COUNT(*) FROM it_perl_tx'))[0] == 2, 'unusable after errors');
    check(($dbh->selectrow_array('SELECT @sp_marker'))[0] eq 'same session',
        'session variable lost after errors');
}

sub test_use {
    my ($dbh) = @_;
    $dbh->do("USE `$DB2`");
    check(($dbh->selectrow_array('SELECT DATABASE()'))[0] eq $DB2, "DATABASE() after USE $DB2");
    check(($dbh->selectrow_array("SELECT COUNT(*) FROM `$DB`.it_perl_tx"))[0] == 2,
        'qualified read from another schema');
    $dbh->do("USE `$DB`");
    check(($dbh->selectrow_array('SELECT DATABASE()'))[0] eq $DB, 'DATABASE() after USE back');
    check(($dbh->selectrow_array('SELECT COUNT(*) FROM it_perl_tx WHERE id > ?', undef, 0))[0] == 2,
        'unqualified read after USE back');
    my $nodb = connect_db(db => undef);
    check(!defined(($nodb->selectrow_array('SELECT DATABASE()'))[0]), 'DATABASE() without schema');
    $nodb->do("USE `$DB`");
    check(($nodb->selectrow_array('SELECT COUNT(*) FROM it_perl_tx'))[0] == 2, 'read after USE');
    $nodb->disconnect;
}

sub cleanup {
    my ($dbh) = @_;
    $dbh->do("DROP TABLE IF EXISTS $_") for qw(it_perl_types it_perl_rows it_perl_tx);
}

my $t0 = time;
my $dbh = connect_db();
for my $step (['types', \&test_types], ['many rows', \&test_many_rows],
    ['transactions', \&test_transactions], ['errors', \&test_errors], ['use', \&test_use],
    ['cleanup', \&cleanup]) {
    my $s = time;
    eval { $step->[1]->($dbh); 1 } or fail("$step->[0]: unexpected error: $@");
    printf "perl_dbd_test: ok %s (%.2fs)\n", $step->[0], time - $s;
}
$dbh->disconnect;
printf "perl_dbd_test: all checks passed (%.2fs)\n", time - $t0;
exit 0;
