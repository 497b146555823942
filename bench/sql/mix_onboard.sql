\set n random(:base + 1, :base + :pool)
SELECT @FN@(jsonb_build_object('wallets', jsonb_build_array('0xab' || lpad(to_hex(:n::bigint), 38, '0')),
                               'display_name', 'Onboarded ' || :n));
