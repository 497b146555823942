-- Stale protection: by fid with a random observed_at (epoch milliseconds).
\set fid random(1, 50)
\set t random(1, 100000)
SELECT stress.try('observed', jsonb_build_object('fid', :fid::bigint, 'observed_at', 1700000000000 + :t::bigint, 'avatar_url', 'https://example.com/' || :t::int, 'policy', 'fill'));
