-- By one wallet (in one of three spellings of the same address): username, email.
\set w random(1, 60)
\set s random(0, 2)
\set p random(1, 3)
\set x random(1, 1000)
SELECT stress.try('wallet', jsonb_build_object('wallets', jsonb_build_array(stress.w(:w::int, :s::int)), 'username', 'user' || :x::int, 'email', 'U' || :x::int || '@Example.com', 'policy', stress.policy(:p::int)));
