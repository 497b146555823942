-- Invariant checks after the stress run. One row per check:
--   check | violations | example (the first offending rows)
-- A healthy run has violations = 0 everywhere. test/stress/run.sh fails on
-- any other count. The checks hold with merges too (tombstones, merges rows);
-- they assume identities are never unlinked during the run (no direct DELETE;
-- users touched by direct SQL in STRESS_DIRECT=1 runs are left out of the
-- checks that need every version of a user to be returned).

LOAD 'user_upsert';  -- defines the user_upsert.* settings in this session

WITH
live AS (SELECT * FROM user_upsert.users WHERE merged_into IS NULL AND deleted_at IS NULL),
-- Calls of user_upsert() that wrote a user, with the document they returned.
writes AS (SELECT * FROM stress.calls WHERE action IN ('inserted', 'updated', 'merged')),
returned AS (SELECT * FROM stress.calls WHERE sqlstate = '00000' AND doc IS NOT NULL),
-- Users a direct write touched (STRESS_DIRECT=1): not every version of theirs was returned.
touched AS (SELECT DISTINCT user_id FROM stress.calls WHERE action = 'direct' AND user_id IS NOT NULL),
checks (name, offenders) AS (
    -- DESIGN 5: every identity owned by exactly one live user (the primary
    -- key gives "exactly one"; the owner must be live).
    SELECT 'identity owner is live', array_agg(i.kind || ':' || i.value)
      FROM user_upsert.identities i JOIN user_upsert.users u ON u.id = i.user_id
     WHERE u.merged_into IS NOT NULL OR u.deleted_at IS NOT NULL
    UNION ALL
    -- DESIGN 2: users.fid / agent_id / primary_address mirror identities, both ways.
    SELECT 'fid identity mirrored in users.fid', array_agg(i.value || ' on ' || u.id)
      FROM user_upsert.identities i JOIN user_upsert.users u ON u.id = i.user_id
     WHERE i.kind = 'fid' AND u.fid IS DISTINCT FROM i.value::bigint
    UNION ALL
    SELECT 'users.fid has its identity', array_agg(u.fid || ' on ' || u.id)
      FROM user_upsert.users u
     WHERE u.fid IS NOT NULL AND NOT EXISTS (SELECT FROM user_upsert.identities i
                                              WHERE i.kind = 'fid' AND i.value = u.fid::text AND i.user_id = u.id)
    UNION ALL
    SELECT 'agent identity mirrored in users.agent_id', array_agg(i.value || ' on ' || u.id)
      FROM user_upsert.identities i JOIN user_upsert.users u ON u.id = i.user_id
     WHERE i.kind = 'agent' AND u.agent_id IS DISTINCT FROM i.value
    UNION ALL
    SELECT 'users.agent_id has its identity', array_agg(u.agent_id || ' on ' || u.id)
      FROM user_upsert.users u
     WHERE u.agent_id IS NOT NULL AND NOT EXISTS (SELECT FROM user_upsert.identities i
                                                   WHERE i.kind = 'agent' AND i.value = u.agent_id AND i.user_id = u.id)
    UNION ALL
    SELECT 'primary_address is one of the user''s wallets', array_agg(u.primary_address || ' on ' || u.id)
      FROM user_upsert.users u
     WHERE u.primary_address IS NOT NULL
       AND NOT EXISTS (SELECT FROM user_upsert.identities i
                        WHERE i.kind = 'wallet' AND i.value = u.primary_address AND i.user_id = u.id)
    UNION ALL
    -- DESIGN 4.3: at most one fid, one agent_id, one subject per provider per user.
    SELECT 'one identity of a one-per-user kind', array_agg(k || ' x' || n || ' on ' || user_id)
      FROM (SELECT i.user_id, CASE i.kind WHEN 'external' THEN 'external ' || split_part(i.value, ':', 1)
                                          ELSE i.kind END AS k, count(*) AS n
              FROM user_upsert.identities i WHERE i.kind IN ('fid', 'agent', 'external')
             GROUP BY 1, 2 HAVING count(*) > 1) d
    UNION ALL
    SELECT 'wallets per user <= max_wallets', array_agg(user_id || ' has ' || n)
      FROM (SELECT i.user_id, count(*) AS n FROM user_upsert.identities i WHERE i.kind = 'wallet'
             GROUP BY 1 HAVING count(*) > current_setting('user_upsert.max_wallets')::int) d
    UNION ALL
    -- DESIGN 4.4: a tombstone keeps no identity and no mirrored column.
    SELECT 'tombstones hold no identity', array_agg(u.id::text)
      FROM user_upsert.users u
     WHERE u.merged_into IS NOT NULL
       AND (u.fid IS NOT NULL OR u.primary_address IS NOT NULL OR u.agent_id IS NOT NULL
            OR EXISTS (SELECT FROM user_upsert.identities i WHERE i.user_id = u.id))
    UNION ALL
    -- No duplicate users: every stress payload names an identity, so a live
    -- user without any is a second row left behind for identities another
    -- user got; and each user was created by exactly one "inserted" call.
    SELECT 'every live user owns an identity', array_agg(u.id::text)
      FROM live u WHERE NOT EXISTS (SELECT FROM user_upsert.identities i WHERE i.user_id = u.id)
    UNION ALL
    SELECT 'one "inserted" call per user', array_agg(coalesce(u.id, c.user_id) || ': ' || coalesce(c.n, 0) || ' inserts')
      FROM user_upsert.users u
      FULL JOIN (SELECT user_id, count(*) AS n FROM stress.calls WHERE action = 'inserted' GROUP BY 1) c
        ON c.user_id = u.id
     WHERE c.n IS DISTINCT FROM 1
    UNION ALL
    SELECT 'version >= 1', array_agg(u.id || ' v' || u.version)
      FROM user_upsert.users u WHERE u.version IS NULL OR u.version < 1
    UNION ALL
    -- DESIGN 4.3 / 5: no lost update. Every write adds exactly 1 and returns
    -- its version: the versions returned for one user are distinct, and the
    -- row's version is the number of writes (+1 per time it lost a merge).
    SELECT 'returned versions of writes are unique', array_agg(user_id || ' v' || version || ' x' || n)
      FROM (SELECT user_id, version, count(*) AS n
              FROM stress.calls
             WHERE action IN ('inserted', 'updated', 'merged') OR (action = 'direct' AND version IS NOT NULL)
             GROUP BY 1, 2 HAVING count(*) > 1) d
    UNION ALL
    SELECT 'version = number of writes', array_agg(u.id || ' v' || u.version || ' after ' || coalesce(w.n, 0) || ' writes')
      FROM user_upsert.users u
      LEFT JOIN (SELECT user_id, count(*) AS n FROM writes GROUP BY 1) w ON w.user_id = u.id
      LEFT JOIN (SELECT merged_id, count(*) AS n FROM user_upsert.merges GROUP BY 1) m ON m.merged_id = u.id
     WHERE u.version <> coalesce(w.n, 0) + coalesce(m.n, 0)
       AND u.id NOT IN (SELECT user_id FROM touched)
    UNION ALL
    -- DESIGN 5, linearizability: the final row is what the last write returned.
    SELECT 'final row = document of the last write', array_agg(u.id::text)
      FROM live u
      JOIN LATERAL (SELECT doc FROM writes w WHERE w.user_id = u.id ORDER BY w.version DESC LIMIT 1) last ON true
     WHERE u.id NOT IN (SELECT user_id FROM touched) AND ((last.doc->>'version')::bigint <> u.version
        OR last.doc->'fid' IS DISTINCT FROM coalesce(to_jsonb(u.fid), 'null')
        OR last.doc->>'primary_address' IS DISTINCT FROM u.primary_address
        OR last.doc->>'agent_id' IS DISTINCT FROM u.agent_id
        OR last.doc->>'email' IS DISTINCT FROM u.email
        OR last.doc->>'username' IS DISTINCT FROM u.username
        OR last.doc->>'display_name' IS DISTINCT FROM u.display_name
        OR last.doc->>'avatar_url' IS DISTINCT FROM u.avatar_url
        OR last.doc->>'kind' IS DISTINCT FROM u.kind
        OR last.doc->'attrs' IS DISTINCT FROM u.attrs
        OR last.doc->'wallets' IS DISTINCT FROM
           (SELECT coalesce(jsonb_agg(i.value ORDER BY i.value COLLATE "C"), '[]')
              FROM user_upsert.identities i WHERE i.user_id = u.id AND i.kind = 'wallet')
        OR last.doc->'external' IS DISTINCT FROM
           (SELECT coalesce(jsonb_object_agg(split_part(i.value, ':', 1), substr(i.value, strpos(i.value, ':') + 1)), '{}')
              FROM user_upsert.identities i WHERE i.user_id = u.id AND i.kind = 'external'))
    UNION ALL
    -- user_upsert() never unlinks an identity, so the documents returned for
    -- one user, in version order, only gain wallets, external subjects and a
    -- fid; two documents of one version hold the same identities. (A direct
    -- UPDATE of users.agent_id or fid replaces the identity: touched users
    -- are left out.)
    SELECT 'returned documents only gain identities', array_agg(user_id || ' v' || prev_version || ' -> v' || version)
      FROM (SELECT user_id, version, doc,
                   lag(version) OVER w AS prev_version, lag(doc) OVER w AS prev
              FROM returned WINDOW w AS (PARTITION BY user_id ORDER BY version, seq)) d
     WHERE prev IS NOT NULL AND user_id NOT IN (SELECT user_id FROM touched)
       AND (NOT ((doc->'wallets') @> (prev->'wallets')) OR NOT ((doc->'external') @> (prev->'external'))
            OR ((prev->'fid') <> 'null' AND (doc->'fid') <> (prev->'fid'))
            OR ((prev->'agent_id') <> 'null' AND (doc->'agent_id') <> (prev->'agent_id'))
            OR (version = prev_version AND ((doc->'wallets') <> (prev->'wallets')
                                            OR (doc->'external') <> (prev->'external')
                                            OR (doc->'fid') <> (prev->'fid'))))
    UNION ALL
    -- Only the errors a payload deserves were caught by the wrappers.
    SELECT 'caught errors are UU001, UU002 (and 40001 in snapshot transactions)',
           array_agg(script || ': ' || sqlstate || ' ' || coalesce(message, ''))
      FROM stress.calls
     WHERE sqlstate NOT IN ('00000', 'UU001', 'UU002')
       AND NOT (sqlstate = '40001' AND script IN ('repeatable_read', 'serializable'))
    UNION ALL
    -- This UU001 means a write bypassed the identity locks: never from the extension's own paths.
    SELECT 'no identity linked behind the identity locks', array_agg(script || ': ' || message)
      FROM stress.calls WHERE sqlstate = 'UU001' AND message LIKE '%linked to another user concurrently%'
    -- (user_upsert.user_verify() is run by run.sh, after these checks.)
)
SELECT name AS check, coalesce(cardinality(offenders), 0) AS violations,
       coalesce(array_to_string(offenders[1:3], '; '), '') AS example
  FROM checks;
