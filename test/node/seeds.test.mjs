// Real-client test of user_upsert: the seeds' flows (../../../shared/seeds/)
// replayed through node-postgres (`pg`), the way a web application calls the
// database, with a pool of concurrent connections over TCP.
//
//   1. seed 002: three simultaneous creates of one client (get-or-create)
//   2. seed 001: register-by-wallet races onboard (wallet, then fid)
//   3. seed 003: Clerk sign-up whose webhook arrives late and is redelivered,
//      while the middleware ensures the user on every request
//   4. the applications' own pattern (select, insert, catch 23505) on plain
//      tables with the same concurrency, for contrast: counted, never failed
//
// Tests 1-3 assert zero errors, one user per person and user_verify() empty.
// Run by run.sh against a throwaway cluster; by hand:
//   PGHOST=127.0.0.1 PGPORT=5432 node --test seeds.test.mjs
// Environment: PGHOST, PGPORT, PGUSER, PGDATABASE (defaults 127.0.0.1, 5432,
// postgres, postgres); UU_NODE_POOL (pool size, default 16, at least 10);
// UU_NODE_SEED (seed of the random schedule, printed).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

const POOL_SIZE = Number(process.env.UU_NODE_POOL ?? 16);
const SEED = Number(process.env.UU_NODE_SEED ?? crypto.randomInt(1, 2 ** 31));
// Identities of this run carry a tag, so that a rerun against the same
// database never meets the previous run's users.
const RUN = crypto.randomInt(1, 2 ** 24);

// mulberry32: the schedule (delays, orders, who is late) comes from SEED.
let prngState = SEED >>> 0;
function random() {
	prngState = (prngState + 0x6d2b79f5) >>> 0;
	let t = prngState;
	t = Math.imul(t ^ (t >>> 15), t | 1);
	t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
	return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const randInt = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));
const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const randomBase62 = (n) => Array.from({ length: n }, () => BASE62[randInt(0, 61)]).join('');
function shuffle(a) {
	for (let i = a.length - 1; i > 0; i--) {
		const j = randInt(0, i);
		[a[i], a[j]] = [a[j], a[i]];
	}
	return a;
}

// A name-based (version 5 layout) uuid: the client id of seed 002 as the app derives it.
function uuidFrom(name) {
	const h = crypto.createHash('sha1').update(name).digest();
	h[6] = (h[6] & 0x0f) | 0x50;
	h[8] = (h[8] & 0x3f) | 0x80;
	const x = h.subarray(0, 16).toString('hex');
	return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}
// An EVM address unique to (test, run, person): 40 hex digits, lowercase.
const wallet = (tag, i) =>
	'0x' + tag.toString(16).padStart(4, '0') + RUN.toString(16).padStart(8, '0') + i.toString(16).padStart(28, '0');

let pool;
let maxConnections = 0;

before(async () => {
	pool = new pg.Pool({
		host: process.env.PGHOST ?? '127.0.0.1',
		port: Number(process.env.PGPORT ?? 5432),
		user: process.env.PGUSER ?? 'postgres',
		database: process.env.PGDATABASE ?? 'postgres',
		max: POOL_SIZE,
		connectionTimeoutMillis: 20000,
		application_name: 'user_upsert node test',
	});
	pool.on('error', (e) => console.error('idle pool client error:', e.message));
	pool.on('connect', () => {
		maxConnections = Math.max(maxConnections, pool.totalCount);
	});
	const { rows } = await pool.query(
		"SELECT extversion, inet_server_addr() IS NOT NULL AS tcp FROM pg_extension WHERE extname = 'user_upsert'");
	assert.equal(rows.length, 1, 'the user_upsert extension is installed in the database');
	console.log(`pool of ${POOL_SIZE} connections over ${rows[0].tcp ? 'TCP' : 'a Unix socket'}, ` +
		`user_upsert ${rows[0].extversion}, schedule seed ${SEED} (UU_NODE_SEED=${SEED} repeats it), run tag ${RUN}`);
});

after(async () => {
	await pool?.end();
});

// Every call of the application goes through here: it records errors instead
// of stopping, so a failing test lists all of them.
class Calls {
	constructor() {
		this.count = 0;
		this.errors = [];
	}
	async query(sql, params, what) {
		this.count++;
		try {
			return (await pool.query(sql, params)).rows[0];
		} catch (e) {
			this.errors.push({ what, code: e.code, message: e.message, detail: e.detail });
			return undefined;
		}
	}
	// One parameterized call of a jsonb function, as an app does it; returns its jsonb result.
	async fn(name, payload, what, extra = []) {
		const args = ['$1::jsonb', ...extra.map((_, k) => `$${k + 2}`)].join(', ');
		const row = await this.query(`SELECT user_upsert.${name}(${args}) AS r`, [JSON.stringify(payload), ...extra], what);
		return row?.r;
	}
	assertNone() {
		if (this.errors.length === 0) return;
		const byKind = new Map();
		for (const e of this.errors) {
			const k = `${e.code} ${e.message.replace(/[0-9a-f]{8}-[0-9a-f-]{27}|0x[0-9a-f]{40}|\d+/g, '#')}`;
			byKind.set(k, (byKind.get(k) ?? 0) + 1);
		}
		const kinds = [...byKind].map(([k, n]) => `  ${n} x ${k}`).join('\n');
		const first = this.errors.slice(0, 5).map((e) =>
			`  ${e.what}: ${e.code} ${e.message}${e.detail ? ` (DETAIL: ${e.detail})` : ''}`).join('\n');
		assert.fail(`${this.errors.length} of ${this.count} calls failed:\n${kinds}\nfirst ones:\n${first}`);
	}
}

async function one(sql, params = []) {
	return (await pool.query(sql, params)).rows[0];
}
const liveUsers = async () =>
	Number((await one('SELECT count(*) AS n FROM user_upsert.users WHERE merged_into IS NULL AND deleted_at IS NULL')).n);
async function assertVerifyEmpty() {
	const { rows } = await pool.query('SELECT problem, user_id, detail FROM user_upsert.user_verify()');
	assert.deepEqual(rows, [], 'user_upsert.user_verify() reports no broken invariant');
}
const tally = (xs) => {
	const m = {};
	for (const x of xs) m[x] = (m[x] ?? 0) + 1;
	return JSON.stringify(m);
};
const elapsed = (t0) => `${((performance.now() - t0) / 1000).toFixed(2)} s`;

test('seed 002: three simultaneous creates of one client, for 200 clients', { timeout: 60000 }, async () => {
	const t0 = performance.now();
	const calls = new Calls();
	const users0 = await liveUsers();
	const clients = Array.from({ length: 200 }, (_, i) => ({
		key: `qg2X${RUN}c${i}`,
		id: uuidFrom(`client:${RUN}:${i}`),
		name: `Acme ${i}`,
	}));
	// The three requests of one client are queued together, so they run at the
	// same time on three connections of the pool.
	const results = await Promise.all(clients.flatMap((c) => [1, 2, 3].map(async (k) => ({
		c,
		r: await calls.fn('user_ensure', { id: c.id, display_name: c.name }, `client ${c.key} request ${k}`),
	}))));
	calls.assertNone();
	assert.equal(calls.count, 600);

	const actions = new Map(clients.map((c) => [c.id, []]));
	for (const { c, r } of results) {
		assert.equal(r.user.id, c.id, `client ${c.key}: every call returns the client's own user`);
		assert.equal(r.user.display_name, c.name);
		actions.get(c.id).push(r.action);
	}
	for (const c of clients) {
		assert.deepEqual(actions.get(c.id).sort(), ['inserted', 'unchanged', 'unchanged'],
			`client ${c.key}: one call creates, the two others get the existing user`);
	}
	const { n } = await one(
		'SELECT count(*) AS n FROM user_upsert.users WHERE id = ANY($1::uuid[]) AND merged_into IS NULL AND deleted_at IS NULL',
		[clients.map((c) => c.id)]);
	assert.equal(Number(n), 200, 'one user per client');
	assert.equal(await liveUsers() - users0, 200, 'no other user was created');
	await assertVerifyEmpty();
	assert.ok(maxConnections >= 10, `the pool opened ${maxConnections} connections (at least 10)`);
	console.log(`seed 002: ${calls.count} calls on ${maxConnections} connections in ${elapsed(t0)}, 0 errors, ` +
		`200 users for 200 clients, actions ${tally(results.map((x) => x.r.action))}`);
});

test('seed 001: register-by-wallet races onboard, for 200 people', { timeout: 60000 }, async () => {
	const t0 = performance.now();
	const calls = new Calls();
	const users0 = await liveUsers();
	const people = Array.from({ length: 200 }, (_, i) => ({
		i,
		fid: RUN * 1000 + i + 1,
		addr: wallet(0x1001, i),
		returned: [],
	}));
	const actions = [];
	const note = (p, r) => {
		if (r) {
			p.returned.push(r.user.id);
			actions.push(r.action);
		}
	};
	// register-by-wallet sends the address upper-cased (as a wallet may),
	// onboard lower-cased: both normalize to one identity.
	const register = async (p) => {
		await sleep(randInt(0, 150));
		note(p, await calls.fn('user_upsert',
			{ fid: p.fid, wallets: ['0x' + p.addr.slice(2).toUpperCase()], username: `user${p.i}` },
			`person ${p.i} register-by-wallet`));
	};
	const onboard = async (p) => {
		await sleep(randInt(0, 150));
		note(p, await calls.fn('user_upsert',
			{ wallets: [p.addr], display_name: `Onboarded ${p.i}` }, `person ${p.i} onboard (wallet)`));
		await sleep(randInt(0, 20));
		note(p, await calls.fn('user_upsert',
			{ fid: p.fid, attrs: { onboarded: true } }, `person ${p.i} onboard (fid)`));
	};
	await Promise.all(shuffle(people.flatMap((p) => [() => register(p), () => onboard(p)])).map((f) => f()));
	calls.assertNone();
	assert.equal(calls.count, 600);

	const { rows } = await pool.query(`
		SELECT p.i, user_upsert.user_lookup('fid', p.fid) AS by_fid, user_upsert.user_lookup('wallet', p.addr) AS by_wallet
		  FROM unnest($1::int[], $2::text[], $3::text[]) AS p(i, fid, addr)`,
	[people.map((p) => p.i), people.map((p) => String(p.fid)), people.map((p) => p.addr)]);
	assert.equal(rows.length, 200);
	// Where each returned user id leads now (a merged user leads to its survivor).
	const { rows: resolved } = await pool.query(`
		SELECT r::text AS id, user_upsert.user_lookup('id', r::text)->>'id' AS now
		  FROM unnest($1::uuid[]) AS r`, [[...new Set(people.flatMap((p) => p.returned))]]);
	const leadsTo = new Map(resolved.map((r) => [r.id, r.now]));
	for (const row of rows) {
		const p = people[row.i];
		const u = row.by_fid;
		assert.ok(u, `person ${p.i}: a user holds fid ${p.fid}`);
		assert.equal(row.by_wallet?.id, u.id, `person ${p.i}: the fid and the wallet belong to one user`);
		assert.equal(u.fid, p.fid);
		assert.deepEqual(u.wallets, [p.addr]);
		assert.equal(u.primary_address, p.addr);
		assert.equal(u.username, `user${p.i}`, `person ${p.i}: register's username kept`);
		assert.equal(u.display_name, `Onboarded ${p.i}`, `person ${p.i}: onboard's display name kept`);
		assert.deepEqual(u.attrs, { onboarded: true }, `person ${p.i}: onboard's attrs kept`);
		assert.equal(u.merged_into, null);
		assert.equal(p.returned.length, 3);
		for (const id of p.returned) {
			assert.equal(leadsTo.get(id), u.id, `person ${p.i}: every call returned this user or one merged into it`);
		}
	}
	const { n: owners } = await one(`
		SELECT count(DISTINCT user_id) AS n FROM user_upsert.identities
		 WHERE (kind = 'fid' AND value = ANY($1::text[])) OR (kind = 'wallet' AND value = ANY($2::text[]))`,
	[people.map((p) => String(p.fid)), people.map((p) => p.addr)]);
	assert.equal(Number(owners), 200, 'the 400 identities belong to 200 users');
	assert.equal(await liveUsers() - users0, 200, 'one live user per person');
	await assertVerifyEmpty();
	const { n: merges } = await one(
		'SELECT count(*) AS n FROM user_upsert.merges WHERE survivor_id = ANY($1::uuid[])', [rows.map((r) => r.by_fid.id)]);
	console.log(`seed 001: ${calls.count} calls in ${elapsed(t0)}, 0 errors, 200 users for 200 people ` +
		`(${merges} merges along the way), actions ${tally(actions)}`);
});

test('seed 003: Clerk webhook late and redelivered, middleware ensures on every request, for 100 users',
	{ timeout: 60000 }, async () => {
		const t0 = performance.now();
		const calls = new Calls();
		const users0 = await liveUsers();
		const now = Date.now();
		const users = Array.from({ length: 100 }, (_, i) => {
			const clerkId = `user_2${randomBase62(26)}`;
			const created = now - randInt(1000, 60000);
			return {
				i,
				clerkId,
				svixId: `msg_2${randomBase62(26)}`,
				email: `Ada.Lovelace${RUN}.${i}@Example.COM`,
				first: 'Ada',
				last: `Lovelace ${i}`,
				addr: wallet(0x3003, i),
				lateAfterWave: randInt(0, 3),
				created,
				ensure: [],
				webhook: [],
			};
		});
		// A user.created event as Clerk sends it (svix delivers the body; the
		// svix-id header is the event id).
		const event = (u) => ({
			data: {
				id: u.clerkId,
				object: 'user',
				username: null,
				first_name: u.first,
				last_name: u.last,
				image_url: `https://img.clerk.com/${u.clerkId}.png`,
				has_image: false,
				primary_email_address_id: `idn_${u.clerkId.slice(5)}e`,
				primary_phone_number_id: null,
				primary_web3_wallet_id: `idn_${u.clerkId.slice(5)}w`,
				email_addresses: [{
					id: `idn_${u.clerkId.slice(5)}e`,
					object: 'email_address',
					email_address: u.email,
					linked_to: [],
					verification: { status: 'verified', strategy: 'email_code', attempts: 1, expire_at: u.created + 600000 },
				}],
				phone_numbers: [],
				web3_wallets: [{
					id: `idn_${u.clerkId.slice(5)}w`,
					object: 'web3_wallet',
					web3_wallet: u.addr,
					verification: { status: 'verified', strategy: 'web3_metamask_signature', attempts: 1, expire_at: null },
				}],
				external_accounts: [],
				public_metadata: {},
				private_metadata: {},
				unsafe_metadata: {},
				external_id: null,
				password_enabled: false,
				two_factor_enabled: false,
				last_sign_in_at: null,
				created_at: u.created,
				updated_at: u.created,
			},
			event_attributes: { http_request: { client_ip: '203.0.113.7', user_agent: 'Mozilla/5.0' } },
			instance_id: 'ins_2node',
			object: 'event',
			timestamp: u.created + 5,
			type: 'user.created',
		});
		const deliver = async (u, n) => {
			u.webhook.push(await calls.fn('user_apply_event', event(u), `${u.clerkId} webhook delivery ${n}`, [u.svixId]));
		};
		const middleware = async (u, k) => {
			u.ensure.push(await calls.fn('user_ensure', { external: { clerk: u.clerkId } }, `${u.clerkId} request ${k}`));
		};
		// Each signed-in browser sends 20 requests, in 4 waves of 5 at once; the
		// webhook comes after 1 to 3 waves, delivered twice at the same time
		// while the next wave runs, and once more at the end. For about a
		// quarter of the users (wave 0) it races the very first requests.
		const session = async (u) => {
			await sleep(randInt(0, 100));
			let k = 0;
			for (let wave = 0; wave < 4; wave++) {
				const work = Array.from({ length: 5 }, () => middleware(u, ++k));
				if (wave === u.lateAfterWave) work.push(deliver(u, 1), deliver(u, 2));
				await Promise.all(work);
			}
			await deliver(u, 3);
		};
		await Promise.all(users.map(session));
		calls.assertNone();
		assert.equal(calls.count, 100 * 23);

		const { rows } = await pool.query(`
			SELECT c.i, user_upsert.user_lookup('external', 'clerk:' || c.clerk_id) AS u
			  FROM unnest($1::int[], $2::text[]) AS c(i, clerk_id)`,
		[users.map((u) => u.i), users.map((u) => u.clerkId)]);
		const webhookActions = [];
		const ledgerWanted = new Map();
		for (const { i, u: doc } of rows) {
			const u = users[i];
			assert.ok(doc, `${u.clerkId}: a user exists`);
			assert.equal(u.ensure.length, 20);
			for (const r of u.ensure) assert.equal(r.user.id, doc.id, `${u.clerkId}: every request sees the same user`);
			const [a, b, late] = u.webhook;
			webhookActions.push(a.action, b.action);
			const applied = a.action === 'duplicate' ? b : a;
			const dup = a.action === 'duplicate' ? a : b;
			assert.equal(dup.action, 'duplicate',
				`${u.clerkId}: of two simultaneous deliveries one is a duplicate (got ${a.action}, ${b.action})`);
			assert.ok(['inserted', 'updated'].includes(applied.action),
				`${u.clerkId}: of two simultaneous deliveries one applies (got ${a.action}, ${b.action})`);
			if (u.lateAfterWave > 0) assert.equal(applied.action, 'updated', `${u.clerkId}: a late webhook updates`);
			ledgerWanted.set(u.svixId, applied.action);
			assert.equal([...u.ensure, applied].filter((r) => r.action === 'inserted').length, 1,
				`${u.clerkId}: the user was created once (middleware ${tally(u.ensure.map((r) => r.action))}, ` +
				`webhook ${applied.action})`);
			assert.equal(applied.user.id, doc.id, `${u.clerkId}: the webhook reached the middleware's user`);
			assert.equal(dup.result?.action, applied.action, `${u.clerkId}: the duplicate answer carries the first result`);
			assert.equal(late.action, 'duplicate', `${u.clerkId}: a later redelivery is a duplicate`);
			assert.equal(doc.email, u.email.toLowerCase(), `${u.clerkId}: the webhook's email is stored`);
			assert.equal(doc.display_name, `${u.first} ${u.last}`, `${u.clerkId}: the webhook's name is stored`);
			assert.deepEqual(doc.wallets, [u.addr], `${u.clerkId}: the webhook's verified wallet is linked`);
			assert.deepEqual(doc.external, { clerk: u.clerkId });
		}
		const { rows: ledger } = await pool.query(
			"SELECT event_id, type, result->>'action' AS action FROM user_upsert.events WHERE event_id = ANY($1::text[])",
			[users.map((u) => u.svixId)]);
		assert.equal(ledger.length, 100, 'the ledger holds one row per event id');
		for (const e of ledger) {
			assert.equal(e.type, 'user.created');
			assert.equal(e.action, ledgerWanted.get(e.event_id), `ledger row of ${e.event_id} holds the applied result`);
		}
		assert.equal(await liveUsers() - users0, 100, 'one live user per Clerk id');
		await assertVerifyEmpty();
		console.log(`seed 003: ${calls.count} calls (2000 middleware ensures, 300 webhook deliveries) in ${elapsed(t0)}, ` +
			`0 errors, 100 users for 100 Clerk ids, 100 ledger rows, simultaneous deliveries ${tally(webhookActions)} ` +
			`(webhook after 0/1/2/3 waves: ${[0, 1, 2, 3].map((w) => users.filter((u) => u.lateAfterWave === w).length).join('/')})`);
	});

test("contrast: the seeds' own pattern (select, insert, catch 23505) on plain tables", { timeout: 60000 }, async () => {
	const t0 = performance.now();
	await pool.query(`
		DROP TABLE IF EXISTS naive_clients, naive_users;
		CREATE TABLE naive_clients (id text PRIMARY KEY, name text);
		CREATE TABLE naive_users (
			id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
			clerk_id text UNIQUE, fid bigint UNIQUE, primary_address text UNIQUE,
			email text, username text, display_name text, onboarded boolean)`);
	const outcome = { calls: 0, dup: 0, other: {} };
	// Runs one request handler; counts a 23505 caught anywhere in it, or any other error.
	const request = async (handler) => {
		outcome.calls++;
		try {
			await handler();
		} catch (e) {
			if (e.code === '23505') outcome.dup++;
			else outcome.other[e.code] = (outcome.other[e.code] ?? 0) + 1;
		}
	};
	const q = async (sql, params) => (await pool.query(sql, params)).rows;

	// seed 002: three requests create one client (check, then insert).
	await Promise.all(Array.from({ length: 200 }, (_, i) => `qg2X${i}`).flatMap((id) => [1, 2, 3].map(() => request(async () => {
		if ((await q('SELECT id FROM naive_clients WHERE id = $1', [id])).length) return;
		await q('INSERT INTO naive_clients (id, name) VALUES ($1, $2)', [id, 'Acme']);
	}))));
	const dup002 = outcome.dup;
	const t002 = elapsed(t0);

	// seed 001: register-by-wallet (keyed by fid or address) against onboard (keyed by the row it found).
	const people = Array.from({ length: 200 }, (_, i) => ({ i, fid: 1000 + i, addr: wallet(0x4001, i) }));
	await Promise.all(shuffle(people.flatMap((p) => [
		() => request(async () => {
			await sleep(randInt(0, 150));
			const found = await q('SELECT id FROM naive_users WHERE fid = $1 OR primary_address = $2', [p.fid, p.addr]);
			if (found.length) {
				await q('UPDATE naive_users SET fid = $1, primary_address = $2, username = $3 WHERE fid = $1 OR primary_address = $2',
					[p.fid, p.addr, `user${p.i}`]);
				return;
			}
			try {
				await q('INSERT INTO naive_users (fid, primary_address, username) VALUES ($1, $2, $3)', [p.fid, p.addr, `user${p.i}`]);
			} catch (e) {
				if (e.code !== '23505') throw e;
				outcome.dup++;
				await q('UPDATE naive_users SET fid = $1, primary_address = $2, username = $3 WHERE fid = $1 OR primary_address = $2',
					[p.fid, p.addr, `user${p.i}`]);
			}
		}),
		() => request(async () => {
			await sleep(randInt(0, 150));
			const found = await q('SELECT id FROM naive_users WHERE primary_address = $1', [p.addr]);
			if (found.length) {
				await q('UPDATE naive_users SET display_name = $2 WHERE id = $1', [found[0].id, `Onboarded ${p.i}`]);
			} else {
				try {
					await q('INSERT INTO naive_users (primary_address, display_name) VALUES ($1, $2)', [p.addr, `Onboarded ${p.i}`]);
				} catch (e) {
					if (e.code !== '23505') throw e;
					outcome.dup++;
					const again = await q('SELECT id FROM naive_users WHERE primary_address = $1', [p.addr]);
					await q('UPDATE naive_users SET display_name = $2 WHERE id = $1', [again[0].id, `Onboarded ${p.i}`]);
				}
			}
			await sleep(randInt(0, 20));
			const byFid = await q('SELECT id FROM naive_users WHERE fid = $1', [p.fid]);
			if (byFid.length) await q('UPDATE naive_users SET onboarded = true WHERE id = $1', [byFid[0].id]);
			else await q('INSERT INTO naive_users (fid, onboarded) VALUES ($1, true)', [p.fid]);
		}),
	])).map((f) => f()));
	const dup001 = outcome.dup - dup002;
	const t1 = performance.now();
	const { split } = (await q(`
		SELECT count(*) AS split FROM unnest($1::bigint[], $2::text[]) AS p(fid, addr)
		 WHERE NOT EXISTS (SELECT FROM naive_users u WHERE u.fid = p.fid AND u.primary_address = p.addr AND u.onboarded)`,
	[people.map((p) => p.fid), people.map((p) => p.addr)]))[0];

	// seed 003: middleware creates the user when missing (check, insert, catch 23505, read again).
	const clerkIds = Array.from({ length: 100 }, () => `user_2${randomBase62(26)}`);
	await Promise.all(clerkIds.map(async (clerkId) => {
		await sleep(randInt(0, 100));
		for (let wave = 0; wave < 4; wave++) {
			await Promise.all(Array.from({ length: 5 }, () => request(async () => {
				if ((await q('SELECT id FROM naive_users WHERE clerk_id = $1', [clerkId])).length) return;
				try {
					await q('INSERT INTO naive_users (clerk_id) VALUES ($1)', [clerkId]);
				} catch (e) {
					if (e.code !== '23505') throw e;
					outcome.dup++;
					await q('SELECT id FROM naive_users WHERE clerk_id = $1', [clerkId]);
				}
			})));
		}
	}));
	const dup003 = outcome.dup - dup002 - dup001;
	const t003 = elapsed(t1);
	console.log(`contrast (no assertion): the applications' pattern hit 23505 ${outcome.dup} times in ` +
		`${outcome.calls} requests (seed 002: ${dup002} of 600 requests, ${t002}; seed 001: ${dup001} of 400 flows, ` +
		`${split} of 200 people not on one onboarded row; seed 003: ${dup003} of 2000 middleware requests, ${t003}), ` +
		`other errors ${JSON.stringify(outcome.other)}, in ${elapsed(t0)}; user_upsert: 0`);
	await pool.query('DROP TABLE naive_clients, naive_users');
});
