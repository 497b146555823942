/*
 * call.hpp
 *	  The C++ phases of one user_upsert() call, as functions of wire data:
 *	  prepare (payload -> what to lock and look up), plan (payload + what the
 *	  glue found -> what to write), answer (written row -> result document).
 *
 * IDENTIFICATION
 *	  src/core/call.hpp
 */
#pragma once

#include "core/config.hpp"
#include "core/wire.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace uu::core {

struct PayloadIdentity {
	const char *kind;
	const char *value;
	const char *field;
};

struct PreparedCall {
	std::uint32_t nlocks;
	std::uint64_t *lock_keys; /* sorted, distinct: identities and "id" */
	std::uint32_t nidentities;
	PayloadIdentity *identities; /* in the order of DESIGN.md 4.2 */
	const char *id;              /* normalized payload id or nullptr */
	bool skip_conflicts;         /* "conflicts": "skip": blocked identities are skipped, not refused */
	bool has_observed_at;        /* the payload gives "observed_at" (stale protection needs the rows) */
};

struct OwnerRecord {
	TokenSpan row; /* to_jsonb() of the locked users row */
	std::uint32_t nidentities;
	IdentityRef *identities;
};

enum class IdState : std::uint8_t { Absent, NoRow, Live, Deleted };

struct Lookup {
	const char **identity_owner; /* parallel to PreparedCall::identities; nullptr: unowned */
	bool *identity_owner_deleted;
	const char **identity_blocked; /* parallel; reason, or nullptr */
	IdState id_state;
	const char *id_owner; /* IdState::Live: the live user the id resolves to; IdState::Deleted: the deleted one */
	std::uint32_t nowners;
	OwnerRecord *owners; /* every distinct live owner, locked */
};

struct MergeRecord {
	const char *loser_id;
	TokenSpan snapshot; /* the loser's user document before the merge */
	TokenSpan moved;    /* [{"kind": …, "value": …}] */
	std::uint32_t nmoved;
	IdentityRef *moved_identities;
};

struct WritePlan {
	const char *action;  /* "inserted", "updated", ... */
	const char *user_id; /* nullptr: insert with a generated id */
	bool write_row;
	bool insert;
	/* column values; nullptr is SQL NULL */
	const char *kind;
	bool has_fid;
	std::int64_t fid;
	const char *primary_address, *agent_id, *email, *username, *display_name, *avatar_url;
	TokenSpan attrs;
	bool has_observed_at;
	std::int64_t observed_at; /* microseconds since the Unix epoch */
	std::uint32_t nlink;
	IdentityRef *link;
	std::uint32_t nmerges;
	MergeRecord *merges; /* losers, oldest first */
	bool report_skipped;
	std::uint32_t nskipped;
	IdentityRef *skipped;         /* kind, value */
	const char **skipped_reasons; /* parallel to skipped */
};

static_assert(std::is_trivially_destructible_v<PreparedCall>);
static_assert(std::is_trivially_destructible_v<Lookup>);
static_assert(std::is_trivially_destructible_v<WritePlan>);

/*
 * user_lookup(kind, value): the identity to look up, normalized as in
 * section 3 ("id" for a user id). Throws Error(InvalidParameter).
 */
IdentityRef prepare_lookup(std::string_view kind, std::string_view value, Allocator &allocator);

/*
 * A value of an identities row or a users identity column, normalized for
 * `kind` (fid, wallet, agent, external); errors name `field`.
 */
const char *normalize_identity_value(std::string_view kind, std::string_view value, const char *field,
                                     Allocator &allocator);

/* The user document of `row` with its identities (pointing into both, as answer_call's). */
TokenSpan document_call(TokenSpan row, std::uint32_t nidentities, const IdentityRef *identities,
                        Allocator &allocator);

/* user_upsert_from(): a provider's profile mapped to a payload with `policy`. */
TokenSpan from_profile(std::string_view provider, TokenSpan profile, std::string_view policy, Allocator &allocator);

/* A Clerk webhook event, classified (user_apply_event). */
enum class EventKind : std::uint8_t { Upsert, Delete, Ignore };
struct EventPlan {
	const char *type;
	EventKind kind;
	const char *clerk_id;   /* data.id for user.* events */
	TokenSpan payload;      /* Upsert: the mapped payload, policy merge */
	bool has_timestamp;     /* the envelope "timestamp" */
	std::int64_t timestamp; /* microseconds since the Unix epoch */
};
static_assert(std::is_trivially_destructible_v<EventPlan>);
EventPlan plan_event(TokenSpan event, Allocator &allocator);

/*
 * user_apply_event()'s event_id, the ledger's key: 22023 unless 1 to
 * kMaxEventIdBytes bytes without control characters (an empty id would make
 * every later id-less delivery a "duplicate" of the first).
 */
constexpr std::size_t kMaxEventIdBytes = 255;
void check_event_id(std::string_view event_id);

/*
 * A delivery whose event_id the ledger already holds is a redelivery only
 * when it is the same kind of event about the same Clerk user as the one
 * recorded (`recorded_subject`: the Clerk id of its answer's user, nullptr
 * when it answered none); otherwise 22023, before anything is applied.
 */
void check_redelivery(std::string_view event_id, std::string_view recorded_type, const char *recorded_subject,
                      const EventPlan &event);

/* {"action": action[, "user": document][, "reason": reason]}; row.count == 0 means no user. */
TokenSpan event_answer(const char *action, TokenSpan row, std::uint32_t nidentities, const IdentityRef *identities,
                       const char *reason, Allocator &allocator);

/* True when `timestamp` is older than the observed_at of `row` (a to_jsonb users row). */
bool is_older_than_user(std::int64_t timestamp, TokenSpan row);

/* {"action": "duplicate", "result": first} */
TokenSpan duplicate_answer(TokenSpan first, Allocator &allocator);

/*
 * The payload with "policy" replaced (a non-object payload is returned as is,
 * for prepare_call to refuse); the result points into `payload` and `policy`.
 */
TokenSpan with_policy(TokenSpan payload, const char *policy, Allocator &allocator);

PreparedCall prepare_call(TokenSpan payload, const Config &config, Allocator &allocator);

WritePlan plan_call(TokenSpan payload, const Config &config, const Lookup &lookup, Allocator &allocator);

/*
 * user_ensure() (policy keep) when every identity it found, and its id, lead
 * to one live user and none is blocked: plan_call's answer, "unchanged",
 * without its parsing. An empty span when plan_call must decide (the payload
 * gives observed_at, or "conflicts": "skip", whose answer lists skipped
 * identities).
 */
TokenSpan ensure_answer(const PreparedCall &call, TokenSpan row, std::uint32_t nidentities,
                        const IdentityRef *identities, Allocator &allocator);

/*
 * {"action": action, "user": document of row + identities, "merged_ids": [...] when merged};
 * the answer's strings point into `row`, `identities` and `plan`, which must outlive it.
 */
TokenSpan answer_call(const WritePlan &plan, TokenSpan row, std::uint32_t nidentities, const IdentityRef *identities,
                      Allocator &allocator);

} // namespace uu::core
