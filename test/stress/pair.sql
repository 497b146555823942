-- Two wallets, the second as primary_address (uppercase spelling).
\set w1 random(1, 60)
\set w2 random(1, 60)
SELECT stress.try('pair', jsonb_build_object('wallets', jsonb_build_array(stress.w(:w1::int)), 'primary_address', stress.w(:w2::int, 1)));
