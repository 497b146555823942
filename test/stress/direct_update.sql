-- STRESS_DIRECT=1 only. A plain UPDATE of users by fid: display_name, and
-- sometimes agent_id (an identity column: the trigger links it or refuses it).
\set fid random(1, 50)
\set x random(1, 1000)
\set a random(0, 60)
SELECT stress.direct_update('direct_update', :fid::bigint, 'direct ' || :x::int, CASE WHEN :a::int > 30 THEN 0 ELSE :a::int END);
