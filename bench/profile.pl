#!/usr/bin/perl
# Summarizes `callgrind_annotate --inclusive=yes --tree=calling` of a
# single-user backend that ran CALLS user_upsert() statements: instructions
# per call, grouped. Inclusive costs: a group contains what its functions call.
# Usage: profile.pl TREE_FILE CALLS
use strict;
use warnings;

my ($file, $calls) = @ARGV;
open(my $fh, '<', $file) or die "profile.pl: $file: $!";
my (%incl, %children, $current);

sub name_of {
	my ($s) = @_;
	$s =~ s/ \[[^\]]*\]\s*$//;          # [object]
	$s =~ s/ \([\d,]+x\)\s*$//;         # (Nx)
	$s =~ s/^(?:\?\?\?|[^ :]+\.\w+):// ; # file:
	return $s;
}

sub short {
	my ($s) = @_;
	$s =~ s/\(anonymous namespace\):://g;
	$s =~ s/\(.*$//;                     # arguments
	$s =~ s/.*:://;                      # namespaces
	return $s;
}

# The extension's functions can be listed twice, under the source's absolute and
# relative paths (name_of() drops both): the same function, so its largest cost
# is kept rather than the sum.
while (<$fh>) {
	chomp;
	if (/^\s*([\d,]+) \(\s*[\d.]+%\)\s+\*\s+(.*)$/) {
		my ($cost, $name) = ($1, name_of($2));
		$cost =~ tr/,//d;
		$current = $name;
		$incl{$name} = $cost if !defined $incl{$name} || $cost > $incl{$name};
	} elsif (/^\s*([\d,]+) \(\s*[\d.]+%\)\s+>\s+(.*)$/ && defined $current) {
		my ($cost, $name) = ($1, name_of($2));
		$cost =~ tr/,//d;
		$children{$current}{$name} = $cost
		    if !defined $children{$current}{$name} || $cost > $children{$current}{$name};
	}
}
close $fh;

# Inclusive cost of every function whose short name matches, recursion levels ('2...) left out.
sub cost_of {
	my ($re) = @_;
	my $sum = 0;
	for my $name (keys %incl) {
		next if $name =~ /'\d+/;
		$sum += $incl{$name} if short($name) =~ $re;
	}
	return $sum;
}

# Like cost_of, counting only outermost functions of the set (none of the set calls them).
sub outer_cost_of {
	my ($re) = @_;
	my %set = map { $_ => 1 } grep { !/'\d+/ && short($_) =~ $re } keys %incl;
	my %inner;
	for my $parent (keys %set) {
		$inner{$_} = 1 for grep { $set{$_} } keys %{$children{$parent} // {}};
	}
	my $sum = 0;
	$sum += $incl{$_} for grep { !$inner{$_} } keys %set;
	return $sum;
}

# debugtup: single-user mode's printing of result rows, which a real backend does not do.
my $statement = cost_of(qr/^(PortalRun|CommitTransactionCommand)$/) - cost_of(qr/^debugtup$/);
my $call = cost_of(qr/^user_upsert_user_upsert_1_0$/);
my $definer = cost_of(qr/^fmgr_security_definer$/);
my ($run_upsert) = grep { short($_) eq 'run_upsert' && !/'\d/ } keys %incl;
unless ($call && $run_upsert) {
	# a reference path: only the statement's total
	printf "| part | instructions per call |\n|---|---|\n| whole statement (`EXECUTE` of the prepared statement, commit included, printing of the result excluded) | %s |\n",
	    commify(int($statement / $calls));
	printf "| of which PL/pgSQL function body | %s |\n", commify(int(cost_of(qr/^plpgsql_call_handler$/) / $calls))
	    if cost_of(qr/^plpgsql_call_handler$/);
	exit 0;
}

my $per = sub { $_[0] / $calls };
my @rows;
push @rows, ['whole statement (`EXECUTE` of a prepared `SELECT user_upsert($1)`, commit included, printing of the result excluded)', $statement];
push @rows, ['`user_upsert()` call', $call];
push @rows, ['function entry with `SET search_path` (fmgr_security_definer minus the call)', $definer - $call] if $definer;
push @rows, ['commit (CommitTransactionCommand)', cost_of(qr/^CommitTransactionCommand$/)];
# Functions with SET options called inside the call (the extension's triggers): recursion level 2 of
# fmgr_security_definer; includes the trigger bodies.
my $nested = 0;
$nested += $incl{$_} for grep { /fmgr_security_definer'2$/ } keys %incl;
push @rows, ['trigger functions entered through `SET search_path` (nested fmgr_security_definer, bodies included)', $nested];
push @rows, ['parsing: jsonb_to_tokens + json_from_tokens + parse_payload (includes normalization)',
             cost_of(qr/^(jsonb_to_tokens|json_from_tokens|parse_payload)$/)];
push @rows, ['normalization: normalize_*, keccak256 (outermost calls)', outer_cost_of(qr/^(normalize_\w+|keccak256|eip55_\w+)$/)];
push @rows, ['locking: identity locks (lock_identities)', cost_of(qr/^lock_identities$/)];
push @rows, ['locking: row locks (heap_lock_tuple, inside the LockUser statement)', cost_of(qr/^heap_lock_tuple$/)];
push @rows, ['SPI: all statements (execute)', cost_of(qr/^execute$/) ];
push @rows, ['SPI: of which planning (GetCachedPlan)', cost_of(qr/^GetCachedPlan$/)];
push @rows, ['SPI: of which executor start / end', cost_of(qr/^(ExecutorStart|ExecutorEnd)$/)];
push @rows, ['writing: heap_update + heap_insert + index inserts', cost_of(qr/^(heap_update|heap_insert|ExecInsertIndexTuples)$/)];
push @rows, ['writing: triggers fired by the writes', outer_cost_of(qr/^(ExecBR\w+Triggers|ExecAR\w+Triggers|AfterTriggerEndQuery|ExecCallTriggerFunc)$/)];
push @rows, ['writing: WAL records (XLogInsert)', cost_of(qr/^XLogInsert$/)];
push @rows, ['result building: to_jsonb of rows (inside statements)', cost_of(qr/^to_jsonb$/)];
push @rows, ['result building: answer_call + tokens_to_jsonb', cost_of(qr/^(answer_call|tokens_to_jsonb)$/)];

print "| part (inclusive; parts overlap where one calls another) | instructions per call | % of the call |\n|---|---|---|\n";
for my $r (@rows) {
	printf "| %s | %s | %.1f%% |\n", $r->[0], commify(int($per->($r->[1]))), 100 * $r->[1] / $call;
}

# The SPI statements by the function that runs them, and run_upsert's own phases.
print "\nSPI statements by caller (execute() called from):\n\n| caller | instructions per call | % of the call |\n|---|---|---|\n";
my %by_caller;
for my $parent (keys %children) {
	for my $child (keys %{$children{$parent}}) {
		next unless short($child) eq 'execute' && $child =~ /Statement/;
		$by_caller{short($parent)} += $children{$parent}{$child};
	}
}
for my $caller (sort { $by_caller{$b} <=> $by_caller{$a} } keys %by_caller) {
	printf "| %s | %s | %.1f%% |\n", $caller, commify(int($per->($by_caller{$caller}))), 100 * $by_caller{$caller} / $call;
}
# Descend from run_upsert through wrappers (a callee holding 90% of the cost) to the phases.
my $node = $run_upsert;
for (;;) {
	my $kids = $children{$node} // {};
	my ($big) = grep { $kids->{$_} >= 0.9 * $call && short($_) ne 'execute' } keys %$kids;
	last unless $big && $children{$big};
	$node = $big;
}
printf "\nPhases of the call (callees of %s):\n\n| callee | instructions per call | %% of the call |\n|---|---|---|\n", short($node);
my $kids = $children{$node};
for my $child (sort { $kids->{$b} <=> $kids->{$a} } keys %$kids) {
	next if $kids->{$child} < $call * 0.005;
	printf "| %s | %s | %.1f%% |\n", short($child), commify(int($per->($kids->{$child}))), 100 * $kids->{$child} / $call;
}

sub commify {
	my $n = reverse shift;
	$n =~ s/(\d{3})(?=\d)/$1,/g;
	return scalar reverse $n;
}
