-- Nulls under policy merge: clears primary_address (the wallet stays linked), email and attrs.
\set w random(1, 60)
SELECT stress.try('clear', jsonb_build_object('wallets', jsonb_build_array(stress.w(:w::int)), 'primary_address', NULL, 'email', NULL, 'attrs', NULL));
