-- By a Clerk subject, usually with a wallet.
\set s random(1, 30)
\set w random(0, 60)
\set p random(1, 3)
SELECT stress.try('external', jsonb_build_object('external', jsonb_build_object('clerk', 'user_' || :s::int), 'policy', stress.policy(:p::int)) || CASE WHEN :w::int > 0 THEN jsonb_build_object('wallets', jsonb_build_array(stress.w(:w::int))) ELSE '{}' END);
