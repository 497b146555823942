-- By agent_id, sometimes with a wallet; an attrs patch that also deletes a key.
\set a random(1, 30)
\set w random(0, 60)
\set p random(1, 3)
\set x random(1, 1000)
SELECT stress.try('agent', jsonb_build_object('agent_id', 'agent-' || :a::int, 'attrs', jsonb_build_object('n', :x::int, 'k' || (:x::int % 5), NULL), 'policy', stress.policy(:p::int)) || CASE WHEN :w::int > 0 THEN jsonb_build_object('wallets', jsonb_build_array(stress.w(:w::int))) ELSE '{}' END);
