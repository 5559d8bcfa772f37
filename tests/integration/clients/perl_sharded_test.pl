#!/usr/bin/perl
# DBD::MariaDB with server-side prepared statements against a sharded keyspace
# (tests/integration/sharded_test.sh): one prepared statement executed with shard keys of both
# shards, binary-protocol rows back, a batch of rows inserted through one statement handle.
# Connection from SP_PORT (user app/secret, database shop). Exits 0 when every check passes.
use strict;
use warnings;
use DBI qw(:sql_types);

my $port = $ENV{SP_PORT} or die "SP_PORT is required\n";
my $dbh = DBI->connect("DBI:MariaDB:database=shop;host=127.0.0.1;port=$port;mariadb_server_prepare=1;mariadb_server_prepare_disable_fallback=1",
  'app', 'secret',
  { RaiseError => 1, PrintError => 0, AutoCommit => 1, mariadb_server_prepare => 1 });
sub fail { print STDERR "perl_sharded_test: FAIL: $_[0]\n"; exit 1; }
# Reads go to replicas: causal reads make them wait until this session's writes are there.
$dbh->do('SET shardproxy_causal_reads = ON');

my @ids = map { 7500000 + $_ } 0 .. 29;
my $ins = $dbh->prepare('INSERT INTO customers (id, name) VALUES (?, ?)');
$ins->execute($_, "perl-$_") for @ids;
my $sel = $dbh->prepare('SELECT id, name FROM customers WHERE id = ?');
for my $id (@ids) {
  $sel->bind_param(1, $id, SQL_BIGINT);
  $sel->execute;
  my $rows = $sel->fetchall_arrayref;
  fail("select $id: " . scalar(@$rows) . " rows") unless @$rows == 1 && $rows->[0][1] eq "perl-$id";
}
my $placeholders = join(', ', ('?') x @ids);
my $in = $dbh->selectall_arrayref("SELECT id FROM customers WHERE id IN ($placeholders)", {}, @ids);
fail('prepared IN list over both shards: ' . scalar(@$in)) unless @$in == @ids;
# Merged across both shards in the binary protocol: COUNT and an ORDER BY ... LIMIT.
my ($count) = $dbh->selectrow_array("SELECT COUNT(*) FROM customers WHERE id IN ($placeholders)", {}, @ids);
fail("prepared COUNT(*) over both shards: $count") unless $count == @ids;
my @sorted = sort { $b <=> $a } @ids;
my $top = $dbh->selectcol_arrayref(
  "SELECT id FROM customers WHERE id IN ($placeholders) ORDER BY id DESC LIMIT ?", {}, @ids, 3);
fail("prepared ORDER BY id DESC LIMIT 3: @$top") unless "@$top" eq "@sorted[0..2]";
my $err = eval { $dbh->selectall_arrayref('SELECT id, ROW_NUMBER() OVER (ORDER BY id) FROM customers'); 1 } ? undef : $dbh->err;
fail("a window function over shards: want 1235, got " . ($err // 'success')) unless defined $err && $err == 1235;
my $del = $dbh->prepare('DELETE FROM customers WHERE id = ?');
my $n = 0;
$n += $del->execute($_) for @ids;
fail("deleted $n rows") unless $n == @ids;
$dbh->disconnect;
print "perl_sharded_test: ok\n";
