\set n random(1, :nusers)
SELECT jsonb_build_object('action', 'unchanged', 'user', to_jsonb(u) || jsonb_build_object(
           'wallets', coalesce(x.wallets, '[]'), 'external', coalesce(x.external, '{}')))
  FROM user_upsert.users u,
       LATERAL (SELECT jsonb_agg(i.value ORDER BY i.value COLLATE "C") FILTER (WHERE i.kind = 'wallet') AS wallets,
                       jsonb_object_agg(split_part(i.value, ':', 1), substr(i.value, strpos(i.value, ':') + 1))
                           FILTER (WHERE i.kind = 'external') AS external
                  FROM user_upsert.identities i WHERE i.user_id = u.id) x
 WHERE u.fid = :n;
