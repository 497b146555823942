-- A user_upsert_many() batch of 2 to 40 payloads from the shared pools: its
-- elements meet each other (deferred to the per-element path) and the other
-- scripts' calls (set-based chunks racing single calls and direct writes).
\set n random(2, 40)
SELECT stress.try_many('many', (SELECT jsonb_agg(stress.random_payload()) FROM generate_series(1, :n)));
