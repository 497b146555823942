-- The extension installs into its own schema, with the contract's tables,
-- and refuses a schema planted before it.
CREATE SCHEMA user_upsert;
CREATE EXTENSION user_upsert;
DROP SCHEMA user_upsert;
CREATE EXTENSION user_upsert;
SELECT extversion, extrelocatable FROM pg_extension WHERE extname = 'user_upsert';
SELECT n.nspname, pg_describe_object(d.classid, d.objid, d.objsubid) AS member
  FROM pg_depend d JOIN pg_namespace n ON d.classid = 'pg_namespace'::regclass AND d.objid = n.oid
 WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'user_upsert') AND d.deptype = 'e';
SELECT table_name, column_name, data_type, is_nullable, column_default
  FROM information_schema.columns WHERE table_schema = 'user_upsert'
 ORDER BY table_name, ordinal_position;
SELECT kind, value, reason FROM user_upsert.blocked_identities ORDER BY value;
SELECT name, setting, context FROM pg_settings WHERE name LIKE 'user_upsert.%' ORDER BY name;

SET client_min_messages = warning;
DROP EXTENSION user_upsert CASCADE;
RESET client_min_messages;
