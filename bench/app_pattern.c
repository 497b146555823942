/*
 * app_pattern.c
 *	  The seeds' application pattern through a real client: N threads, each
 *	  with its own libpq connection over TCP, serving random requests of three
 *	  routes for random people of a pool (person n = fid n + wallet w(n)):
 *	    onboard   (wallet)        seed 001's onboard route
 *	    signin    (fid)           a Farcaster sign-in
 *	    register  (fid + wallet)  seed 001's register-by-wallet route
 *
 *	  Modes:
 *	    app      the seeds' code: select, then update by id or insert; on
 *	             23505 update by the conflicting key ("select, insert, catch
 *	             23505, update"), autocommit, on bench_app.users (a plain
 *	             table of user_upsert.users' shape)
 *	    uu       the same routes as one user_upsert.user_upsert() call each
 *	    plpgsql  the same routes as one bench_plpgsql.user_upsert() call each
 *	    copy     batches of BATCH update payloads: COPY into a temp table and
 *	             one INSERT ... ON CONFLICT (fid) DO UPDATE (needs --batch)
 *	    many     the same batches as one user_upsert.user_upsert_many() call
 *
 *	  Prints one line of key=value: requests, seconds, tps (requests/s; rows/s
 *	  for copy and many), p50_ms, p99_ms, errors (requests that ended in an
 *	  error the user sees), caught (23505 caught and handled by the app),
 *	  duplicates (people who got a register request, which links their fid
 *	  and wallet, and still have them on two rows / live users at the end:
 *	  two rows for one person) and the SQLSTATEs of the errors.
 *
 * Usage: app_pattern MODE CONNINFO THREADS SECONDS POOL_BASE POOL_SIZE [BATCH]
 *	  SECONDS 0: exactly one request per thread, its own time being the
 *	  elapsed time (so two lines compare the same amount of work).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

enum mode { MODE_APP, MODE_UU, MODE_PLPGSQL, MODE_COPY, MODE_MANY };

static enum mode mode;
static const char *conninfo;
static int nthreads;
static double seconds;
static long long pool_base, pool_size;
static int batch = 100;
static double deadline;
static int one_shot; /* SECONDS 0: one request per thread, timed from its start (no connection time) */
/* registered[i]: person pool_base + 1 + i got a register request */
static unsigned char *registered;

#define MAX_STATES 16
struct worker {
	pthread_t thread;
	int index;
	uint64_t rng;
	PGconn *conn;
	long long requests, rows, errors, caught;
	uint32_t *lat_us;
	size_t nlat, caplat;
	char states[MAX_STATES][6];
	long long state_count[MAX_STATES];
	int fatal;
};

static double
now_s(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t
next_rand(struct worker *w) {
	/* xorshift64* */
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return w->rng * 2685821657736338717ULL;
}

static void
wallet_of(long long n, char *out) {
	/* bench.wallet(n) in setup.sql: never the blocked zero or burn address */
	snprintf(out, 43, "0xab%038llx", n);
}

static void
note_error(struct worker *w, const char *state) {
	int i;
	w->errors++;
	if (!state)
		state = "?????";
	for (i = 0; i < MAX_STATES && w->states[i][0]; i++)
		if (strcmp(w->states[i], state) == 0)
			break;
	if (i == MAX_STATES)
		i = MAX_STATES - 1;
	if (!w->states[i][0])
		snprintf(w->states[i], sizeof w->states[i], "%s", state);
	w->state_count[i]++;
}

/* Result of one statement: 0 ok (sets *rows to cmdTuples/ntuples), 1 unique violation, -1 other error. */
static int
run(struct worker *w, const char *stmt, int nparams, const char *const *params, long *rows, char *state_out) {
	PGresult *r = PQexecPrepared(w->conn, stmt, nparams, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(r);
	int rc = 0;
	if (st == PGRES_TUPLES_OK) {
		if (rows)
			*rows = PQntuples(r);
	} else if (st == PGRES_COMMAND_OK) {
		if (rows)
			*rows = atol(PQcmdTuples(r));
	} else {
		const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		if (!state) {
			fprintf(stderr, "app_pattern: %s: %s", stmt, PQerrorMessage(w->conn));
			w->fatal = 1;
		}
		snprintf(state_out, 6, "%s", state ? state : "?????");
		rc = state && strcmp(state, "23505") == 0 ? 1 : -1;
	}
	PQclear(r);
	return rc;
}

static void
prepare(struct worker *w, const char *name, const char *sql, int nparams) {
	PGresult *r = PQprepare(w->conn, name, sql, nparams, NULL);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		fprintf(stderr, "app_pattern: prepare %s: %s", name, PQerrorMessage(w->conn));
		exit(2);
	}
	PQclear(r);
}

static void
exec_simple(PGconn *conn, const char *sql) {
	PGresult *r = PQexec(conn, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "app_pattern: %s: %s", sql, PQerrorMessage(conn));
		exit(2);
	}
	PQclear(r);
}

static void
prepare_app(struct worker *w) {
	const char *t = "bench_app.users";
	char sql[512];
#define PREP(name, n, ...)                                                                                             \
	do {                                                                                                               \
		snprintf(sql, sizeof sql, __VA_ARGS__);                                                                        \
		prepare(w, name, sql, n);                                                                                      \
	} while (0)
	PREP("sel_w", 1, "SELECT id FROM %s WHERE primary_address = $1", t);
	PREP("sel_f", 1, "SELECT id FROM %s WHERE fid = $1", t);
	PREP("sel_fw", 2, "SELECT id FROM %s WHERE fid = $1 OR primary_address = $2 LIMIT 1", t);
	PREP("ins_w", 2, "INSERT INTO %s (primary_address, display_name) VALUES ($1, $2)", t);
	PREP("ins_f", 2, "INSERT INTO %s (fid, username) VALUES ($1, $2)", t);
	PREP("ins_fw", 3, "INSERT INTO %s (fid, primary_address, username) VALUES ($1, $2, $3)", t);
	PREP("upd_display_id", 2,
	     "UPDATE %s SET display_name = $2, updated_at = now(), version = version + 1 WHERE id = $1", t);
	PREP("upd_display_w", 2,
	     "UPDATE %s SET display_name = $2, updated_at = now(), version = version + 1 WHERE primary_address = $1", t);
	PREP("upd_username_id", 2,
	     "UPDATE %s SET username = $2, updated_at = now(), version = version + 1 WHERE id = $1", t);
	PREP("upd_username_f", 2,
	     "UPDATE %s SET username = $2, updated_at = now(), version = version + 1 WHERE fid = $1", t);
	PREP("upd_reg_id", 4,
	     "UPDATE %s SET fid = $2, primary_address = $3, username = $4, updated_at = now(), version = version + 1 "
	     "WHERE id = $1",
	     t);
	PREP("upd_reg_f", 3,
	     "UPDATE %s SET primary_address = $2, username = $3, updated_at = now(), version = version + 1 WHERE fid = $1",
	     t);
	PREP("upd_reg_w", 3,
	     "UPDATE %s SET fid = $2, username = $3, updated_at = now(), version = version + 1 "
	     "WHERE primary_address = $1",
	     t);
#undef PREP
}

/* The seeds' "check": the id of the row a key finds, or "" (0), or -1 with state set. */
static int
select_id(struct worker *w, const char *statement, int nparams, const char *const *params, char *id, size_t idlen,
          char *state) {
	PGresult *r = PQexecPrepared(w->conn, statement, nparams, params, NULL, NULL, 0);
	int rc = 0;
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
		snprintf(id, idlen, "%s", PQgetvalue(r, 0, 0));
	else if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		snprintf(state, 6, "%s", PQresultErrorField(r, PG_DIAG_SQLSTATE) ?: "?????");
		rc = -1;
	}
	PQclear(r);
	return rc;
}

/*
 * A route with one conflict key (onboard by wallet, sign-in by fid): check,
 * then update by id or insert, and on 23505 update by the key.
 */
static int
single_key_route(struct worker *w, const char *key, const char *name, const char *select, const char *update_by_id,
                 const char *insert, const char *update_by_key, char *state) {
	char id[64] = "";
	long rows = 0;
	const char *sel[1] = {key};
	if (select_id(w, select, 1, sel, id, sizeof id, state) != 0)
		return -1;
	if (id[0]) {
		const char *p[2] = {id, name};
		return run(w, update_by_id, 2, p, &rows, state) != 0 ? -1 : 0;
	}
	const char *p[2] = {key, name};
	int rc = run(w, insert, 2, p, &rows, state);
	if (rc <= 0)
		return rc;
	w->caught++;
	return run(w, update_by_key, 2, p, &rows, state) != 0 ? -1 : 0;
}

/* One request of the application pattern; returns 0 ok, -1 error seen by the user. */
static int
app_request(struct worker *w, int route, long long n) {
	char fid[24], wallet[43], name[64], id[64] = "";
	char state[6] = "";
	long rows = 0;
	int rc;
	snprintf(fid, sizeof fid, "%lld", n);
	wallet_of(n, wallet);

	if (route == 0) { /* onboard: by wallet */
		snprintf(name, sizeof name, "Onboarded %lld", n);
		if (single_key_route(w, wallet, name, "sel_w", "upd_display_id", "ins_w", "upd_display_w", state) != 0)
			goto fail;
		return 0;
	}
	if (route == 1) { /* signin: by fid */
		snprintf(name, sizeof name, "user%lld", n);
		if (single_key_route(w, fid, name, "sel_f", "upd_username_id", "ins_f", "upd_username_f", state) != 0)
			goto fail;
		return 0;
	}
	/* register-by-wallet: fid + wallet */
	{
		const char *sel[2] = {fid, wallet};
		snprintf(name, sizeof name, "user%lld", n);
		if (select_id(w, "sel_fw", 2, sel, id, sizeof id, state) != 0)
			goto fail;
		if (id[0]) {
			const char *p[4] = {id, fid, wallet, name};
			if (run(w, "upd_reg_id", 4, p, &rows, state) != 0)
				goto fail; /* the other key is on another row: 23505 reaches the user */
			return 0;
		}
		const char *p[3] = {fid, wallet, name};
		rc = run(w, "ins_fw", 3, p, &rows, state);
		if (rc == 0)
			return 0;
		if (rc < 0)
			goto fail;
		w->caught++;
		const char *pf[3] = {fid, wallet, name};
		if (run(w, "upd_reg_f", 3, pf, &rows, state) != 0)
			goto fail;
		if (rows > 0)
			return 0;
		const char *pw[3] = {wallet, fid, name};
		if (run(w, "upd_reg_w", 3, pw, &rows, state) != 0)
			goto fail;
		return 0;
	}
fail:
	note_error(w, state);
	return -1;
}

/* One request as a single upsert call (modes uu, plpgsql). */
static int
call_request(struct worker *w, int route, long long n) {
	char payload[256], wallet[43], state[6] = "";
	wallet_of(n, wallet);
	if (route == 0)
		snprintf(payload, sizeof payload, "{\"wallets\": [\"%s\"], \"display_name\": \"Onboarded %lld\"}", wallet, n);
	else if (route == 1)
		snprintf(payload, sizeof payload, "{\"fid\": %lld, \"username\": \"user%lld\"}", n, n);
	else
		snprintf(payload, sizeof payload, "{\"fid\": %lld, \"wallets\": [\"%s\"], \"username\": \"user%lld\"}", n,
		         wallet, n);
	const char *p[1] = {payload};
	if (run(w, "upsert", 1, p, NULL, state) != 0) {
		note_error(w, state);
		return -1;
	}
	return 0;
}

/* One batch of `batch` update payloads for consecutive existing fids (modes copy, many). */
static int
batch_request(struct worker *w) {
	long long first = pool_base + 1 + (long long) (next_rand(w) % (uint64_t) (pool_size - batch + 1));
	uint32_t tag = (uint32_t) next_rand(w);
	char state[6] = "";
	size_t cap = (size_t) batch * 96 + 16, len = 0;
	char *buf = malloc(cap);
	if (mode == MODE_MANY) {
		len += snprintf(buf + len, cap - len, "[");
		for (int i = 0; i < batch; i++)
			len += snprintf(buf + len, cap - len, "%s{\"fid\": %lld, \"display_name\": \"name %u\"}", i ? "," : "",
			                first + i, tag);
		snprintf(buf + len, cap - len, "]");
		const char *p[1] = {buf};
		PGresult *r = PQexecPrepared(w->conn, "many", 1, p, NULL, NULL, 0);
		int ok = PQresultStatus(r) == PGRES_TUPLES_OK;
		if (ok) {
			long bad = atol(PQgetvalue(r, 0, 1));
			w->rows += atol(PQgetvalue(r, 0, 0)) - bad;
			for (long i = 0; i < bad; i++)
				note_error(w, "elem!");
		} else
			note_error(w, PQresultErrorField(r, PG_DIAG_SQLSTATE));
		PQclear(r);
		free(buf);
		return ok ? 0 : -1;
	}
	/* copy: BEGIN; COPY stage; INSERT ... SELECT ... ON CONFLICT; COMMIT */
	for (int i = 0; i < batch; i++)
		len += snprintf(buf + len, cap - len, "%lld\tname %u\n", first + i, tag);
	PGresult *r = PQexec(w->conn, "BEGIN");
	PQclear(r);
	r = PQexec(w->conn, "COPY bench_stage (fid, display_name) FROM STDIN");
	int ok = PQresultStatus(r) == PGRES_COPY_IN;
	PQclear(r);
	if (ok) {
		ok = PQputCopyData(w->conn, buf, (int) len) == 1 && PQputCopyEnd(w->conn, NULL) == 1;
		r = PQgetResult(w->conn);
		ok = ok && PQresultStatus(r) == PGRES_COMMAND_OK;
		PQclear(r);
		while ((r = PQgetResult(w->conn)) != NULL)
			PQclear(r);
	}
	if (ok) {
		long rows = 0;
		ok = run(w, "merge_stage", 0, NULL, &rows, state) == 0;
		if (ok)
			w->rows += rows;
	}
	r = PQexec(w->conn, ok ? "COMMIT" : "ROLLBACK");
	PQclear(r);
	if (!ok)
		note_error(w, state[0] ? state : NULL);
	free(buf);
	return ok ? 0 : -1;
}

static void *
work(void *arg) {
	struct worker *w = arg;
	w->conn = PQconnectdb(conninfo);
	if (PQstatus(w->conn) != CONNECTION_OK) {
		fprintf(stderr, "app_pattern: connect: %s", PQerrorMessage(w->conn));
		exit(2);
	}
	switch (mode) {
	case MODE_APP: prepare_app(w); break;
	case MODE_UU: prepare(w, "upsert", "SELECT user_upsert.user_upsert($1::jsonb)", 1); break;
	case MODE_PLPGSQL: prepare(w, "upsert", "SELECT bench_plpgsql.user_upsert($1::jsonb)", 1); break;
	case MODE_MANY:
		prepare(w, "many",
		        "SELECT count(*), count(*) FILTER (WHERE r ? 'error') FROM user_upsert.user_upsert_many($1::jsonb) r",
		        1);
		break;
	case MODE_COPY:
		exec_simple(w->conn, "CREATE TEMP TABLE bench_stage (fid bigint, display_name text) ON COMMIT DELETE ROWS");
		prepare(w, "merge_stage",
		        "INSERT INTO bench_native.users AS u (fid, display_name) SELECT s.fid, s.display_name FROM bench_stage s "
		        "ORDER BY s.fid ON CONFLICT (fid) DO UPDATE SET display_name = excluded.display_name, "
		        "updated_at = now(), version = u.version + 1",
		        0);
		break;
	}
	while (!w->fatal) {
		double t0 = now_s();
		if (!one_shot && t0 >= deadline)
			break;
		if (mode == MODE_COPY || mode == MODE_MANY)
			(void) batch_request(w);
		else {
			long long n = pool_base + 1 + (long long) (next_rand(w) % (uint64_t) pool_size);
			int route = (int) (next_rand(w) % 3);
			if (route == 2)
				__atomic_store_n(&registered[n - pool_base - 1], 1, __ATOMIC_RELAXED);
			if (mode == MODE_APP) {
				(void) app_request(w, route, n);
				w->rows++;
			} else {
				(void) call_request(w, route, n);
				w->rows++;
			}
		}
		double t1 = now_s();
		w->requests++;
		if (w->nlat == w->caplat) {
			w->caplat = w->caplat ? w->caplat * 2 : 65536;
			w->lat_us = realloc(w->lat_us, w->caplat * sizeof *w->lat_us);
		}
		w->lat_us[w->nlat++] = (uint32_t) ((t1 - t0) * 1e6);
		if (one_shot)
			break;
	}
	return NULL;
}

static int
cmp_u32(const void *a, const void *b) {
	uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
	return (x > y) - (x < y);
}

static long long
count_duplicates(void) {
	PGconn *conn = PQconnectdb(conninfo);
	char sql[1024];
	if (PQstatus(conn) != CONNECTION_OK)
		return -1;
	/* the registered people as a bigint[] literal */
	size_t cap = 16 + (size_t) pool_size * 21, len = 0;
	char *list = malloc(cap);
	list[len++] = '{';
	for (long long i = 0; i < pool_size; i++)
		if (registered[i])
			len += snprintf(list + len, cap - len, "%s%lld", len > 1 ? "," : "", pool_base + 1 + i);
	snprintf(list + len, cap - len, "}");
	if (mode == MODE_APP)
		snprintf(sql, sizeof sql,
		         "SELECT count(*) FROM unnest($1::bigint[]) n WHERE EXISTS ("
		         "  SELECT FROM bench_app.users f JOIN bench_app.users w"
		         "    ON w.primary_address = '0xab' || lpad(to_hex(n), 38, '0') AND w.id <> f.id"
		         "   WHERE f.fid = n)");
	else
		snprintf(sql, sizeof sql,
		         "SELECT count(*) FROM unnest($1::bigint[]) n"
		         "  JOIN %s.identities f ON f.kind = 'fid' AND f.value = n::text"
		         "  JOIN %s.identities w ON w.kind = 'wallet' AND w.value = '0xab' || lpad(to_hex(n), 38, '0')"
		         " WHERE w.user_id <> f.user_id",
		         mode == MODE_UU ? "user_upsert" : "bench_plpgsql", mode == MODE_UU ? "user_upsert" : "bench_plpgsql");
	const char *p[1] = {list};
	PGresult *r = PQexecParams(conn, sql, 1, NULL, p, NULL, NULL, 0);
	long long d = PQresultStatus(r) == PGRES_TUPLES_OK ? atoll(PQgetvalue(r, 0, 0)) : -1;
	if (d < 0)
		fprintf(stderr, "app_pattern: duplicates: %s", PQerrorMessage(conn));
	PQclear(r);
	PQfinish(conn);
	free(list);
	return d;
}

int
main(int argc, char **argv) {
	if (argc < 7) {
		fprintf(stderr, "usage: %s app|uu|plpgsql|copy|many CONNINFO THREADS SECONDS POOL_BASE POOL_SIZE [BATCH]\n",
		        argv[0]);
		return 2;
	}
	if (strcmp(argv[1], "app") == 0)
		mode = MODE_APP;
	else if (strcmp(argv[1], "uu") == 0)
		mode = MODE_UU;
	else if (strcmp(argv[1], "plpgsql") == 0)
		mode = MODE_PLPGSQL;
	else if (strcmp(argv[1], "copy") == 0)
		mode = MODE_COPY;
	else if (strcmp(argv[1], "many") == 0)
		mode = MODE_MANY;
	else {
		fprintf(stderr, "app_pattern: unknown mode %s\n", argv[1]);
		return 2;
	}
	conninfo = argv[2];
	nthreads = atoi(argv[3]);
	seconds = atof(argv[4]);
	pool_base = atoll(argv[5]);
	pool_size = atoll(argv[6]);
	if (argc > 7)
		batch = atoi(argv[7]);
	one_shot = seconds == 0;
	if (nthreads < 1 || seconds < 0 || pool_size < batch) {
		fprintf(stderr, "app_pattern: bad arguments\n");
		return 2;
	}

	registered = calloc((size_t) pool_size, 1);
	struct worker *workers = calloc((size_t) nthreads, sizeof *workers);
	double start = now_s();
	deadline = start + seconds;
	for (int i = 0; i < nthreads; i++) {
		workers[i].index = i;
		workers[i].rng = 0x9E3779B97F4A7C15ULL * (uint64_t) (i + 1) ^ (uint64_t) time(NULL) ^ (uint64_t) pool_base;
		if (pthread_create(&workers[i].thread, NULL, work, &workers[i]) != 0) {
			perror("pthread_create");
			return 2;
		}
	}
	long long requests = 0, rows = 0, errors = 0, caught = 0;
	size_t nlat = 0;
	int fatal = 0;
	for (int i = 0; i < nthreads; i++) {
		pthread_join(workers[i].thread, NULL);
		requests += workers[i].requests;
		rows += workers[i].rows;
		errors += workers[i].errors;
		caught += workers[i].caught;
		nlat += workers[i].nlat;
		fatal |= workers[i].fatal;
	}
	double elapsed = now_s() - start;
	uint32_t *all = malloc((nlat ? nlat : 1) * sizeof *all);
	size_t k = 0;
	for (int i = 0; i < nthreads; i++) {
		memcpy(all + k, workers[i].lat_us, workers[i].nlat * sizeof *all);
		k += workers[i].nlat;
	}
	qsort(all, nlat, sizeof *all, cmp_u32);
	if (one_shot && nlat)
		elapsed = all[nlat - 1] / 1e6; /* the slowest thread's one request */
	double p50 = nlat ? all[(size_t) (0.50 * (double) (nlat - 1))] / 1000.0 : 0;
	double p99 = nlat ? all[(size_t) (0.99 * (double) (nlat - 1))] / 1000.0 : 0;
	long long dups = (mode == MODE_COPY || mode == MODE_MANY) ? 0 : count_duplicates();

	printf("requests=%lld rows=%lld seconds=%.3f tps=%.1f p50_ms=%.3f p99_ms=%.3f errors=%lld caught=%lld "
	       "duplicates=%lld states=",
	       requests, rows, elapsed, (mode == MODE_COPY || mode == MODE_MANY ? rows : requests) / elapsed, p50, p99,
	       errors, caught, dups);
	/* SQLSTATE counts across workers */
	int printed = 0;
	for (int i = 0; i < nthreads; i++)
		for (int s = 0; s < MAX_STATES && workers[i].states[s][0]; s++) {
			int seen = 0;
			for (int j = 0; j < i && !seen; j++)
				for (int t = 0; t < MAX_STATES && workers[j].states[t][0]; t++)
					if (strcmp(workers[j].states[t], workers[i].states[s]) == 0)
						seen = 1;
			if (seen)
				continue;
			long long total = 0;
			for (int j = i; j < nthreads; j++)
				for (int t = 0; t < MAX_STATES && workers[j].states[t][0]; t++)
					if (strcmp(workers[j].states[t], workers[i].states[s]) == 0)
						total += workers[j].state_count[t];
			printf("%s%s:%lld", printed++ ? "," : "", workers[i].states[s], total);
		}
	printf("%s\n", printed ? "" : "none");
	return fatal ? 1 : 0;
}
