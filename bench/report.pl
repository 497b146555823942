#!/usr/bin/perl
# Turns bench/run.sh's results.tsv (sync, clients, run, line, tps, p50, p99,
# errors, notes) into markdown tables: one per configuration, medians over
# runs with min-max, ratios computed within each run and then summarized;
# then the targets of issue #3 and the backend-memory check.
# Usage: report.pl RESULTS.tsv "ANON VM EPOCH ..." RSS_CALLS WARMUP_CALLS VERIFY_PROBLEMS
# (readings at start, after the warm-up, after each segment of the memory check)
# Exit status 1 when a correctness check fails (errors on a user_upsert()
# line, user_verify() problems, memory growth over the limit).
use strict;
use warnings;

my ($file, $rss, $rss_calls, $warmup, $problems) = @ARGV;
open(my $fh, '<', $file) or die "report.pl: $file: $!";
my (%data, @configs, %seen_config);
while (<$fh>) {
	chomp;
	my ($sync, $clients, $run, $line, $tps, $p50, $p99, $errors, $notes) = split /\t/, $_, -1;
	my $config = "$sync\t$clients";
	push @configs, $config unless $seen_config{$config}++;
	$data{$config}{$line}{$run} = {tps => $tps, p50 => $p50, p99 => $p99, errors => $errors, notes => $notes // ''};
}
close $fh;

my @lines = (
	[floor              => 'floor: `SELECT 1`'],
	[native_update      => 'native `INSERT … ON CONFLICT (fid) DO UPDATE`, update path'],
	[native_insert      => 'native `INSERT … ON CONFLICT (fid) DO UPDATE`, insert path'],
	[user_upsert_update    => '`user_upsert()` update path (one field changes)'],
	[user_upsert_insert    => '`user_upsert()` insert path (new fid)'],
	[user_upsert_unchanged => '`user_upsert()` unchanged path (repeated payload)'],
	[user_upsert_mix       => '`user_upsert()` merge mix (onboard / sign-in / register)'],
	[plpgsql_update     => 'PL/pgSQL update path'],
	[plpgsql_insert     => 'PL/pgSQL insert path'],
	[plpgsql_unchanged  => 'PL/pgSQL unchanged path'],
	[plpgsql_mix        => 'PL/pgSQL merge mix'],
	[app_pattern        => 'application pattern, libpq over TCP: select, insert, catch 23505, update'],
	[app_user_upsert    => 'same routes, one `user_upsert()` call each, libpq over TCP'],
	[app_plpgsql        => 'same routes, one PL/pgSQL call each, libpq over TCP'],
	[native_select      => 'plain indexed `SELECT` by fid'],
	[sql_document       => 'the same document by one SQL `SELECT` (row + identities, `user_upsert` tables)'],
	[user_ensure_hit    => '`user_ensure()` hit path'],
	[native_copy_batch  => '`COPY` + one `INSERT … ON CONFLICT`, batches of 100 (rows/s)'],
	[user_upsert_many   => '`user_upsert_many()`, batches of 100 (rows/s)'],
	[native_copy_all    => '`COPY` of every person + one `INSERT … ON CONFLICT`, one transaction, 1 client (rows/s)'],
	[user_upsert_many_all => 'one `user_upsert_many()` of every person, 1 client (rows/s)'],
);
my %counterpart = (
	user_upsert_update => 'plpgsql_update', user_upsert_insert => 'plpgsql_insert',
	user_upsert_unchanged => 'plpgsql_unchanged', user_upsert_mix => 'plpgsql_mix',
	app_user_upsert => 'app_plpgsql',
);
my %reference = (user_ensure_hit => 'native_select', user_upsert_many => 'native_copy_batch',
                 user_upsert_many_all => 'native_copy_all');
# A second yardstick shown in the notes: the same work done in plain SQL.
my %same_work = (user_ensure_hit => 'sql_document');
my %static_note = (floor => 'pgbench logs 0 µs for part of these very short transactions: its percentiles are lower bounds');

sub median {
	my @v = sort { $a <=> $b } @_;
	return undef unless @v;
	return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}

sub numeric { grep { defined && /^[0-9.]+$/ } @_ }

# Per-run ratio line/reference, then median (min-max) over the runs.
sub ratios {
	my ($config, $line, $ref) = @_;
	my $l = $data{$config}{$line} or return;
	my $r = $data{$config}{$ref} or return;
	my @v;
	for my $run (keys %$l) {
		next unless $r->{$run} && $r->{$run}{tps} > 0;
		push @v, $l->{$run}{tps} / $r->{$run}{tps};
	}
	return @v;
}

sub fmt_ratio {
	my @v = @_;
	return '' unless @v;
	my $m = median(@v);
	return sprintf('%.2f×', $m) if @v == 1;
	my @s = sort { $a <=> $b } @v;
	return sprintf('%.2f× (%.2f-%.2f)', $m, $s[0], $s[-1]);
}

sub fmt_tps {
	my @v = sort { $a <=> $b } @_;
	my $m = median(@v);
	return sprintf('%.0f', $m) if @v == 1;
	return sprintf('%.0f (%.0f-%.0f)', $m, $v[0], $v[-1]);
}

my $failed = 0;
my @uu_error_lines;
for my $config (@configs) {
	my ($sync, $clients) = split /\t/, $config;
	my $nruns = scalar keys %{$data{$config}{native_update} // {}};
	print "## synchronous_commit = $sync, $clients clients\n\n";
	print "Median of $nruns run(s) (min-max); ratios are taken within each run, then summarized the same way.\n\n";
	print "| line | tps | p50 ms | p99 ms | errors | × native update | × native insert | × PL/pgSQL | notes |\n";
	print "|---|---|---|---|---|---|---|---|---|\n";
	for my $entry (@lines) {
		my ($line, $label) = @$entry;
		my $runs = $data{$config}{$line} or next;
		my @r = map { $runs->{$_} } sort keys %$runs;
		my $errors = 0;
		$errors += $_->{errors} for @r;
		if ($errors > 0 && $line =~ /^(user_upsert|app_user_upsert|user_ensure)/) {
			push @uu_error_lines, "$line ($sync, $clients clients): $errors";
		}
		my $vs_insert = $line =~ /insert$/ && $line ne 'native_insert' ? fmt_ratio(ratios($config, $line, 'native_insert')) : '';
		my $vs_pl = $counterpart{$line} ? fmt_ratio(ratios($config, $line, $counterpart{$line})) : '';
		my @notes = grep { length } map { $_->{notes} } @r;
		if ($reference{$line}) {
			unshift @notes, fmt_ratio(ratios($config, $line, $reference{$line})) . " $reference{$line}";
		}
		if ($same_work{$line} && $data{$config}{$same_work{$line}}) {
			push @notes, fmt_ratio(ratios($config, $line, $same_work{$line})) . " $same_work{$line}";
		}
		push @notes, $static_note{$line} if $static_note{$line};
		my %uniq;
		@notes = grep { !$uniq{$_}++ } @notes;
		printf "| %s | %s | %s | %s | %d | %s | %s | %s | %s |\n", $label, fmt_tps(map { $_->{tps} } @r),
		    (defined median(numeric(map { $_->{p50} } @r)) ? sprintf('%.2f', median(numeric(map { $_->{p50} } @r))) : '-'),
		    (defined median(numeric(map { $_->{p99} } @r)) ? sprintf('%.2f', median(numeric(map { $_->{p99} } @r))) : '-'),
		    $errors, $line eq 'native_update' ? '1.00×' : $line =~ /many|copy/ ? '' : fmt_ratio(ratios($config, $line, 'native_update')),
		    $vs_insert, $vs_pl, join(' / ', @notes);
	}
	if (!$data{$config}{user_ensure_hit}) {
		print "| `user_ensure()` hit path vs plain `SELECT` | not run: user_upsert.user_ensure(jsonb) does not exist yet | | | | | | | |\n";
	}
	if (!$data{$config}{user_upsert_many}) {
		print "| `user_upsert_many()` vs `COPY` + `INSERT … ON CONFLICT` | not run: user_upsert.user_upsert_many(jsonb) does not exist yet | | | | | | | |\n";
	}
	print "\n";
}

# Targets: ratios within one run, with synchronous_commit = off.
print "## Targets (synchronous_commit = off; ratios within one run, median (min-max) over runs)\n\n";
print "| target | configuration | measured | status |\n|---|---|---|---|\n";
my @off = grep { /^off\t/ } @configs;
print "| (no synchronous_commit = off configuration was measured) | | | |\n" unless @off;
for my $config (@off) {
	my (undef, $clients) = split /\t/, $config;
	my @checks = (
		['`user_upsert()` update ≥ 0.8× native update', 'user_upsert_update', 'native_update', 0.8],
		['`user_upsert()` unchanged ≥ 1.0× native update', 'user_upsert_unchanged', 'native_update', 1.0],
		['`user_upsert()` update ≥ 2× PL/pgSQL', 'user_upsert_update', 'plpgsql_update', 2],
		['`user_upsert()` insert ≥ 2× PL/pgSQL', 'user_upsert_insert', 'plpgsql_insert', 2],
		['`user_upsert()` unchanged ≥ 2× PL/pgSQL', 'user_upsert_unchanged', 'plpgsql_unchanged', 2],
		['`user_upsert()` merge mix ≥ 2× PL/pgSQL', 'user_upsert_mix', 'plpgsql_mix', 2],
		['`user_ensure()` hit ≥ 0.8× plain indexed `SELECT`', 'user_ensure_hit', 'native_select', 0.8],
		['one `user_upsert_many()` of every person ≥ 0.5× `COPY` + `INSERT … ON CONFLICT`', 'user_upsert_many_all',
		 'native_copy_all', 0.5],
	);
	for my $c (@checks) {
		my ($what, $line, $ref, $target) = @$c;
		my @v = ratios($config, $line, $ref);
		next unless @v;
		my $m = median(@v);
		my $status = $m >= $target ? 'met' : sprintf('MISSED by %.0f%% (%.2f× short of %.1f×)', 100 * (1 - $m / $target),
		                                             $target - $m, $target);
		printf "| %s | %s clients | %s | %s |\n", $what, $clients, fmt_ratio(@v), $status;
	}
}
printf "| zero errors on every `user_upsert()` line | all | %s | %s |\n",
    @uu_error_lines ? join('; ', @uu_error_lines) : '0 errors', @uu_error_lines ? 'MISSED' : 'met';
$failed = 1 if @uu_error_lines;
for my $config (@configs) {
	my ($sync, $clients) = split /\t/, $config;
	my $runs = $data{$config}{app_pattern} or next;
	my $errors = 0;
	$errors += $_->{errors} for values %$runs;
	printf "| application pattern's errors reported | sync %s, %s clients | %d errors over %d run(s) | reported |\n",
	    $sync, $clients, $errors, scalar keys %$runs;
}

# Backend memory: readings (RssAnon kB, VmRSS kB, epoch) at start, after the warm-up, after each segment.
my @readings;
my @f = split ' ', $rss // '';
push @readings, [splice(@f, 0, 3)] while @f >= 3;
if (@readings >= 3) {
	my ($after_warmup, $last) = ($readings[1], $readings[-1]);
	my $growth = $last->[0] - $after_warmup->[0];
	my $limit = 5 * 1024 * $rss_calls / 1e6;
	my $ok = $growth <= $limit;
	$failed = 1 unless $ok;
	printf "| backend memory: RssAnon growth < 5 MB per 1M calls | 1 backend | %+d kB over %d calls (%+.2f MB per 1M); VmRSS %+d kB (shared buffers touched) | %s |\n",
	    $growth, $rss_calls, $growth / 1024 * 1e6 / $rss_calls, $last->[1] - $after_warmup->[1],
	    $ok ? sprintf('met (limit %.0f kB for %d calls)', $limit, $rss_calls) : sprintf('FAILED (limit %.0f kB)', $limit);
	printf "\nMemory check: RssAnon %d kB at start, %d kB after %d warm-up calls, then after each fifth of %d calls: %s kB (%.0f calls/s, server-side loop, one transaction per call).\n",
	    $readings[0][0], $after_warmup->[0], $warmup, $rss_calls, join(', ', map { $_->[0] } @readings[2 .. $#readings]),
	    $rss_calls / ($last->[2] - $after_warmup->[2]);
} else {
	print "| backend memory | 1 backend | the check did not run | FAILED |\n";
	$failed = 1;
}
printf "\n`user_upsert.user_verify()` after the runs: %s problem(s).\n", $problems // '?';
$failed = 1 if ($problems // 1) ne '0';
exit $failed;
