/*
 * plan.hpp
 *	  The decision of DESIGN.md 4.2-4.4: given a payload and the live owners of
 *	  its identities (locked by the glue), what to write and what to answer.
 *
 * IDENTIFICATION
 *	  src/core/plan.hpp
 */
#pragma once

#include "core/config.hpp"
#include "core/json.hpp"
#include "core/payload.hpp"
#include "core/timestamp.hpp"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace uu::core {

enum class Action { Inserted, Updated, Unchanged, Merged, Stale };
const char *action_name(Action action);

using IdentityPair = std::pair<std::string, std::string>; /* (kind, value) as in user_upsert.identities */

/* A users row as to_jsonb() gives it, with the identities the user owns. */
struct StoredUser {
	Json row;
	std::vector<IdentityPair> identities;

	std::string id() const;
	std::optional<std::string> text(const char *column) const;
	std::optional<std::int64_t> fid() const;
	std::optional<EpochMicros> timestamp(const char *column) const;
	bool owns(std::string_view kind, std::string_view value) const;
	std::size_t wallet_count() const;
};

/* The writable columns of a users row. */
struct RowValues {
	std::string kind = "human";
	std::optional<std::int64_t> fid;
	std::optional<std::string> primary_address, agent_id, email, username, display_name, avatar_url;
	Json attrs = Json::object();
	std::optional<EpochMicros> observed_at;

	static RowValues from(const StoredUser &user);
	friend bool operator==(const RowValues &a, const RowValues &b);
	friend bool operator!=(const RowValues &a, const RowValues &b) { return !(a == b); }
};

/* What the glue found for the payload's "id". */
struct IdLookup {
	enum class State { Absent, NoRow, Live, Deleted };
	State state = State::Absent;
	std::string owner; /* Live: the live user the id resolves to (through merges); Deleted: the deleted one */
};

/* What the glue found for one payload identity. */
struct IdentityOwner {
	std::string owner; /* empty: nobody owns it */
	bool deleted = false;
	std::string blocked; /* non-empty: blocked, with this reason (the glue refuses it unless skipping) */
};

/* An identity left out under "conflicts": "skip". */
struct Skipped {
	std::string kind, value, reason;
};

/* One loser of a merge: tombstoned into the survivor, its identities moved. */
struct MergeStep {
	std::string loser_id;
	Json snapshot;                   /* the loser's user document before the merge */
	std::vector<IdentityPair> moved; /* identities moved to the survivor */
};

struct Plan {
	Action action = Action::Unchanged;
	std::vector<MergeStep> merges; /* Merged: losers, oldest first */
	std::string user_id;  /* the user answered; for an insert the payload id or empty */
	bool write_row = false;
	bool insert = false;
	RowValues row;
	std::vector<IdentityPair> link; /* identities to link to user_id */
	bool report_skipped = false;    /* the payload asked for "conflicts": "skip" */
	std::vector<Skipped> skipped;
};

/*
 * Decides the call. `identity_owner` is parallel to payload.identities();
 * `owners` holds every distinct live owner (payload id first, then identity
 * order), each locked by the glue. Throws Error on UU001 refusals.
 */
Plan plan_upsert(const Payload &payload, const Config &config, const IdLookup &id,
                 const std::vector<IdentityOwner> &identity_owner, const std::vector<StoredUser> &owners);

/* The user document of 4.5: every column of `row` plus "wallets" (byte order) and "external". */
Json user_document(const Json &row, const std::vector<IdentityPair> &identities);

} // namespace uu::core
