/*
 * payload.hpp
 *	  The user_upsert() payload of DESIGN.md 4.1: parsed, validated and
 *	  normalized, or refused with an Error naming the field.
 *
 * IDENTIFICATION
 *	  src/core/payload.hpp
 */
#pragma once

#include "core/config.hpp"
#include "core/json.hpp"
#include "core/timestamp.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace uu::core {

enum class Policy { Merge, Fill, Keep };

enum class IdentityKind { Fid, Wallet, Agent, External };
const char *identity_kind_name(IdentityKind kind);

struct Identity {
	IdentityKind kind;
	std::string value; /* normalized; external: "provider:subject" */
	std::string field; /* where the payload gave it, for messages */
};

/* A nullable text attribute: absent, explicit null, or a value. */
struct TextField {
	enum class State { Absent, Null, Value };
	State state = State::Absent;
	std::string value;

	bool absent() const { return state == State::Absent; }
	bool is_null() const { return state == State::Null; }
	bool has_value() const { return state == State::Value; }
};

struct Payload {
	std::optional<std::string> id; /* lowercase canonical uuid */
	std::optional<std::int64_t> fid;
	std::vector<std::string> wallets; /* "wallets": distinct, normalized, payload order */
	std::vector<std::size_t> wallet_index; /* each wallet's index in the payload's array, for messages */
	TextField primary_address;        /* normalized wallet */
	std::optional<std::string> agent_id;
	std::vector<std::pair<std::string, std::string>> external; /* (provider, subject), sorted by provider */
	TextField email, username, display_name, avatar_url;
	std::optional<std::string> kind;
	enum class Attrs { Absent, Null, Patch } attrs_state = Attrs::Absent;
	Json attrs;
	Policy policy = Policy::Merge;
	std::optional<EpochMicros> observed_at;
	bool skip_conflicts = false; /* "conflicts": "skip" (DESIGN.md section 7) */

	/*
	 * Identities in the order DESIGN.md 4.2 uses to pick an owner: fid,
	 * external (by provider), agent, primary_address, wallets (payload order).
	 */
	std::vector<Identity> identities() const;
	/* Every wallet the payload links: wallets in payload order, then primary_address if not among them. */
	std::vector<std::string> all_wallets() const;
};

/* Validates `doc` against DESIGN.md 4.1; throws Error(InvalidParameter) naming the field. */
Payload parse_payload(const Json &doc, const Config &config);

/* Canonical lowercase uuid text, or nullopt. Accepts the 8-4-4-4-12 form, any case. */
std::optional<std::string> normalize_uuid(std::string_view text);

/* Stable 64-bit key of an identity (kind "id" for user ids) for advisory locks. */
std::uint64_t identity_lock_key(std::string_view kind, std::string_view value);

/* Longest text attribute (email excepted, which has its own limit), in bytes. */
constexpr std::size_t kMaxTextAttribute = 4096;

/* username, display_name, avatar_url: at most kMaxTextAttribute bytes, no control character; throws naming `field`. */
void check_text_attribute(std::string_view value, const std::string &field);

} // namespace uu::core
