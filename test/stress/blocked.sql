-- A blocked wallet next to a fid: always UU002, nothing written.
\set fid random(1, 50)
SELECT stress.try('blocked', jsonb_build_object('fid', :fid::bigint, 'wallets', jsonb_build_array('0x000000000000000000000000000000000000DEAD')));
