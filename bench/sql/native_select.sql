\set n random(1, :nusers)
SELECT * FROM bench_native.users WHERE fid = :n;
