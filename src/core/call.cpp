/*
 * call.cpp
 *	  Wire adapters around payload.cpp and plan.cpp.
 *
 * IDENTIFICATION
 *	  src/core/call.cpp
 */
#include "core/call.hpp"

#include "core/error.hpp"
#include "core/normalize.hpp"
#include "core/payload.hpp"
#include "core/plan.hpp"
#include "core/providers.hpp"
#include "core/timestamp.hpp"

#include <algorithm>
#include <stdexcept>
#include <string_view>
#include <vector>

#ifdef POSTGRES_H
#error "src/core must not include PostgreSQL headers"
#endif

namespace uu::core {

namespace {

Payload
read_payload(TokenSpan tokens, const Config &config) {
	return parse_payload(json_from_tokens(tokens, kMaxPayloadDepth), config);
}

std::vector<IdentityPair>
pairs(std::uint32_t n, const IdentityRef *refs) {
	std::vector<IdentityPair> out;
	out.reserve(n);
	for (std::uint32_t i = 0; i < n; i++)
		out.emplace_back(refs[i].kind, refs[i].value);
	return out;
}

const char *
copy_optional(const std::optional<std::string> &s, Allocator &allocator) {
	return s ? allocator.copy(*s) : nullptr;
}

/*
 * Answers are spliced at the token level, without a Json tree: the row's
 * tokens are copied and the identities appended (the same document as
 * user_document()). Output tokens point into `row` and `identities`.
 */
class TokenWriter {
  public:
	explicit TokenWriter(std::size_t expected) { tokens_.reserve(expected); }

	void
	mark(TokenType type) {
		tokens_.push_back(Token{type, 0, nullptr});
	}

	void
	text(TokenType type, std::string_view s) {
		tokens_.push_back(Token{type, static_cast<std::uint32_t>(s.size()), s.data()});
	}

	void
	copy(const Token *from, const Token *to) {
		tokens_.insert(tokens_.end(), from, to);
	}

	TokenSpan
	finish(Allocator &allocator) const {
		Token *out = allocator.array<Token>(tokens_.size());
		std::copy(tokens_.begin(), tokens_.end(), out);
		return TokenSpan{out, static_cast<std::uint32_t>(tokens_.size())};
	}

  private:
	std::vector<Token> tokens_;
};

/* jsonb's order of object keys: shorter first, then bytewise. */
bool
jsonb_key_before(std::string_view a, std::string_view b) {
	return a.size() != b.size() ? a.size() < b.size() : a < b;
}

void
write_document(TokenWriter &out, TokenSpan row, std::uint32_t nidentities, const IdentityRef *identities) {
	if (row.count < 2 || row.tokens[0].type != TokenType::ObjectBegin)
		throw std::logic_error("a users row is not a JSON object");
	std::vector<std::string_view> wallets;
	std::vector<std::pair<std::string_view, std::string_view>> external;
	for (std::uint32_t i = 0; i < nidentities; i++) {
		std::string_view kind = identities[i].kind, value = identities[i].value;
		if (kind == "wallet")
			wallets.push_back(value);
		else if (kind == "external") {
			auto colon = std::min(value.find(':'), value.size());
			external.emplace_back(value.substr(0, colon), value.substr(std::min(colon + 1, value.size())));
		}
	}
	std::sort(wallets.begin(), wallets.end());
	std::sort(external.begin(), external.end());
	auto write_wallets = [&] {
		out.text(TokenType::Key, "wallets");
		out.mark(TokenType::ArrayBegin);
		for (auto wallet : wallets)
			out.text(TokenType::String, wallet);
		out.mark(TokenType::ArrayEnd);
	};
	auto write_external = [&] {
		/* Two subjects of one provider: the last in order wins, as Json::set() would leave it. */
		out.text(TokenType::Key, "external");
		out.mark(TokenType::ObjectBegin);
		for (std::size_t i = 0; i < external.size(); i++) {
			if (i + 1 < external.size() && external[i + 1].first == external[i].first)
				continue;
			out.text(TokenType::Key, external[i].first);
			out.text(TokenType::String, external[i].second);
		}
		out.mark(TokenType::ObjectEnd);
	};
	/* Members in the order the row gives them, the two lists where jsonb's key order puts them in a row given in it. */
	out.mark(TokenType::ObjectBegin);
	bool wallets_written = false, external_written = false;
	for (std::uint32_t i = 1; i + 1 < row.count;) {
		std::string_view key(row.tokens[i].str, row.tokens[i].len);
		std::uint32_t end = value_end(row, i + 1);
		if (!wallets_written && jsonb_key_before("wallets", key)) {
			write_wallets();
			wallets_written = true;
		}
		if (!external_written && jsonb_key_before("external", key)) {
			write_external();
			external_written = true;
		}
		if (key != "wallets" && key != "external")
			out.copy(row.tokens + i, row.tokens + end);
		i = end;
	}
	if (!wallets_written)
		write_wallets();
	if (!external_written)
		write_external();
	out.mark(TokenType::ObjectEnd);
}

} // namespace

const char *
normalize_identity_value(std::string_view kind, std::string_view value, const char *field, Allocator &allocator) {
	if (kind == "fid")
		return allocator.copy(std::to_string(normalize_fid_text(value, field)));
	if (kind == "wallet")
		return allocator.copy(normalize_wallet(value, field));
	if (kind == "agent")
		return allocator.copy(normalize_agent(value, field));
	if (kind == "external")
		return allocator.copy(normalize_external(value, field));
	throw_invalid(field, "unknown identity kind \"" + escape_for_message(kind) + "\"", {},
	              "Valid kinds are fid, wallet, agent and external.");
}

IdentityRef
prepare_lookup(std::string_view kind, std::string_view value, Allocator &allocator) {
	std::string normalized;
	const char *stored_kind;
	if (kind == "id") {
		auto id = normalize_uuid(value);
		if (!id)
			throw_invalid("value", "invalid uuid for kind \"id\"", "The value is not a uuid in the 8-4-4-4-12 form.");
		normalized = *id;
		stored_kind = "id";
	} else if (kind == "fid") {
		normalized = std::to_string(normalize_fid_text(value, "value"));
		stored_kind = "fid";
	} else if (kind == "wallet") {
		normalized = normalize_wallet(value, "value");
		stored_kind = "wallet";
	} else if (kind == "agent") {
		normalized = normalize_agent(value, "value");
		stored_kind = "agent";
	} else if (kind == "external") {
		normalized = normalize_external(value, "value");
		stored_kind = "external";
	} else
		throw_invalid("kind", "unknown identity kind \"" + escape_for_message(kind) + "\"", {},
		              "Valid kinds are id, fid, wallet, agent and external.");
	return IdentityRef{stored_kind, allocator.copy(normalized)};
}

TokenSpan
document_call(TokenSpan row, std::uint32_t nidentities, const IdentityRef *identities, Allocator &allocator) {
	TokenWriter out(row.count + nidentities + 8);
	write_document(out, row, nidentities, identities);
	return out.finish(allocator);
}

TokenSpan
from_profile(std::string_view provider, TokenSpan profile, std::string_view policy, Allocator &allocator) {
	if (policy != "merge" && policy != "fill" && policy != "keep")
		throw_invalid("policy", "invalid \"policy\"", "\"policy\" must be \"merge\", \"fill\" or \"keep\".");
	Json payload = map_provider_profile(provider, json_from_tokens(profile, kMaxPayloadDepth));
	payload.set("policy", Json::string(std::string(policy)));
	return json_to_tokens(payload, allocator);
}

EventPlan
plan_event(TokenSpan tokens, Allocator &allocator) {
	const Json event = json_from_tokens(tokens, kMaxPayloadDepth);
	if (!event.is_object())
		throw_invalid("", std::string("event must be a JSON object, not ") + json_type_name(event.type()));
	const Json *type = event.find("type");
	if (!type || !type->is_string())
		throw_invalid("type", "event \"type\" must be a string");
	EventPlan plan{};
	plan.type = allocator.copy(type->text());
	if (type->text() != "user.created" && type->text() != "user.updated" && type->text() != "user.deleted") {
		plan.kind = EventKind::Ignore;
		return plan;
	}
	const Json *data = event.find("data");
	if (!data || !data->is_object())
		throw_invalid("data", "event \"data\" must be an object");
	const Json *id = data->find("id");
	if (!id || !id->is_string() || id->text().empty())
		throw_invalid("data.id", "event \"data.id\" must be a non-empty string");
	plan.clerk_id = allocator.copy(normalize_subject(id->text(), "data.id"));
	if (const Json *ts = event.find("timestamp"); ts && !ts->is_null()) {
		std::optional<EpochMicros> t = ts->is_number() ? parse_epoch_millis(ts->text()) : std::nullopt;
		if (!t)
			throw_invalid("timestamp", "event \"timestamp\" must be integer epoch milliseconds");
		plan.has_timestamp = true;
		plan.timestamp = *t;
	}
	if (type->text() == "user.deleted") {
		/* Clerk sends "deleted": true; anything else contradicts the type, and erasing is not undone. */
		if (const Json *deleted = data->find("deleted"); deleted && !(deleted->is_bool() && deleted->as_bool()))
			throw_invalid("data.deleted", "event \"data.deleted\" must be true in a user.deleted event",
			              "Clerk's user.deleted data is {\"id\", \"deleted\": true}; nothing was erased.");
		plan.kind = EventKind::Delete;
		return plan;
	}
	plan.kind = EventKind::Upsert;
	Json payload = map_clerk_user(*data);
	payload.set("policy", Json::string("merge"));
	plan.payload = json_to_tokens(payload, allocator);
	return plan;
}

void
check_event_id(std::string_view event_id) {
	if (event_id.empty())
		throw_invalid("event_id", "invalid \"event_id\"",
		              "\"event_id\" must not be empty; pass NULL to apply an event without recording it.");
	if (event_id.size() > kMaxEventIdBytes)
		throw_invalid("event_id", "invalid \"event_id\"",
		              "\"event_id\" has " + std::to_string(event_id.size()) + " bytes; the limit is " +
		                  std::to_string(kMaxEventIdBytes) + ".");
	for (std::size_t i = 0; i < event_id.size(); i++)
		if (control_character_length(event_id, i) > 0)
			throw_invalid("event_id", "invalid \"event_id\"",
			              "\"event_id\" has a control character at byte " + std::to_string(i + 1) + ".");
}

void
check_redelivery(std::string_view event_id, std::string_view recorded_type, const char *recorded_subject,
                 const EventPlan &event) {
	bool same_subject = !recorded_subject || !event.clerk_id || std::string_view(recorded_subject) == event.clerk_id;
	if (recorded_type == event.type && same_subject)
		return;
	auto spelled = [](std::string_view type, const char *subject) {
		std::string s = "a " + escape_for_message(type) + " event";
		if (subject)
			s += " of Clerk user " + escape_for_message(subject);
		return s;
	};
	throw_invalid("event_id", "event_id \"" + escape_for_message(event_id) + "\" was recorded for another event",
	              "The ledger holds " + spelled(recorded_type, recorded_subject) + " under this id; this is " +
	                  spelled(event.type, event.clerk_id) + ".",
	              "Pass each delivery's own id (the svix-id header): a redelivery sends the same event.");
}

TokenSpan
event_answer(const char *action, TokenSpan row, std::uint32_t nidentities, const IdentityRef *identities,
             const char *reason, Allocator &allocator) {
	Json result = Json::object();
	result.set("action", Json::string(action));
	if (row.count > 0)
		result.set("user", user_document(json_from_tokens(row, kMaxStoredDepth), pairs(nidentities, identities)));
	if (reason)
		result.set("reason", Json::string(reason));
	return json_to_tokens(result, allocator);
}

bool
is_older_than_user(std::int64_t timestamp, TokenSpan row) {
	StoredUser user{json_from_tokens(row, kMaxStoredDepth), {}};
	std::optional<EpochMicros> stored = user.timestamp("observed_at");
	return stored && timestamp < *stored;
}

TokenSpan
duplicate_answer(TokenSpan first, Allocator &allocator) {
	Json result = Json::object();
	result.set("action", Json::string("duplicate"));
	result.set("result", json_from_tokens(first, kMaxStoredDepth));
	return json_to_tokens(result, allocator);
}

TokenSpan
with_policy(TokenSpan tokens, const char *policy, Allocator &allocator) {
	if (tokens.count < 2 || tokens.tokens[0].type != TokenType::ObjectBegin)
		return tokens;
	/* The members but "policy", then "policy": a splice of the tokens, no Json tree. */
	TokenWriter out(tokens.count + 2);
	out.mark(TokenType::ObjectBegin);
	for (std::uint32_t i = 1; i + 1 < tokens.count;) {
		std::uint32_t end = value_end(tokens, i + 1);
		if (std::string_view(tokens.tokens[i].str, tokens.tokens[i].len) != "policy")
			out.copy(tokens.tokens + i, tokens.tokens + end);
		i = end;
	}
	out.text(TokenType::Key, "policy");
	out.text(TokenType::String, policy);
	out.mark(TokenType::ObjectEnd);
	return out.finish(allocator);
}

PreparedCall
prepare_call(TokenSpan tokens, const Config &config, Allocator &allocator) {
	const Payload payload = read_payload(tokens, config);
	const std::vector<Identity> identities = payload.identities();

	std::vector<std::uint64_t> keys;
	keys.reserve(identities.size() + 1);
	for (const auto &identity : identities)
		keys.push_back(identity_lock_key(identity_kind_name(identity.kind), identity.value));
	if (payload.id)
		keys.push_back(identity_lock_key("id", *payload.id));
	std::sort(keys.begin(), keys.end());
	keys.erase(std::unique(keys.begin(), keys.end()), keys.end());

	PreparedCall call{};
	call.nlocks = static_cast<std::uint32_t>(keys.size());
	call.lock_keys = allocator.array<std::uint64_t>(keys.size());
	std::copy(keys.begin(), keys.end(), call.lock_keys);
	call.nidentities = static_cast<std::uint32_t>(identities.size());
	call.identities = allocator.array<PayloadIdentity>(identities.size());
	for (std::size_t i = 0; i < identities.size(); i++)
		call.identities[i] = PayloadIdentity{identity_kind_name(identities[i].kind),
		                                     allocator.copy(identities[i].value), allocator.copy(identities[i].field)};
	call.id = payload.id ? allocator.copy(*payload.id) : nullptr;
	call.skip_conflicts = payload.skip_conflicts;
	call.has_observed_at = payload.observed_at.has_value();
	return call;
}

WritePlan
plan_call(TokenSpan tokens, const Config &config, const Lookup &lookup, Allocator &allocator) {
	const Payload payload = read_payload(tokens, config);
	const std::size_t nidentities = payload.identities().size();

	IdLookup id;
	id.state = static_cast<IdLookup::State>(lookup.id_state);
	if (lookup.id_owner)
		id.owner = lookup.id_owner;
	std::vector<IdentityOwner> owner_of(nidentities);
	for (std::size_t i = 0; i < nidentities; i++) {
		if (lookup.identity_owner[i])
			owner_of[i].owner = lookup.identity_owner[i];
		owner_of[i].deleted = lookup.identity_owner_deleted[i];
		if (lookup.identity_blocked && lookup.identity_blocked[i])
			owner_of[i].blocked = lookup.identity_blocked[i];
	}
	std::vector<StoredUser> owners;
	for (std::uint32_t i = 0; i < lookup.nowners; i++)
		owners.push_back(StoredUser{json_from_tokens(lookup.owners[i].row, kMaxStoredDepth),
		                            pairs(lookup.owners[i].nidentities, lookup.owners[i].identities)});

	const Plan plan = plan_upsert(payload, config, id, owner_of, owners);

	WritePlan out{};
	out.action = action_name(plan.action);
	out.user_id = plan.user_id.empty() ? nullptr : allocator.copy(plan.user_id);
	out.write_row = plan.write_row;
	out.insert = plan.insert;
	if (plan.write_row) {
		const RowValues &row = plan.row;
		out.kind = allocator.copy(row.kind);
		out.has_fid = row.fid.has_value();
		out.fid = row.fid.value_or(0);
		out.primary_address = copy_optional(row.primary_address, allocator);
		out.agent_id = copy_optional(row.agent_id, allocator);
		out.email = copy_optional(row.email, allocator);
		out.username = copy_optional(row.username, allocator);
		out.display_name = copy_optional(row.display_name, allocator);
		out.avatar_url = copy_optional(row.avatar_url, allocator);
		out.attrs = json_to_tokens(row.attrs, allocator);
		out.has_observed_at = row.observed_at.has_value();
		out.observed_at = row.observed_at.value_or(0);
	}
	out.nmerges = static_cast<std::uint32_t>(plan.merges.size());
	out.merges = allocator.array<MergeRecord>(plan.merges.size());
	for (std::size_t i = 0; i < plan.merges.size(); i++) {
		const MergeStep &step = plan.merges[i];
		MergeRecord &record = out.merges[i];
		record.loser_id = allocator.copy(step.loser_id);
		record.snapshot = json_to_tokens(step.snapshot, allocator);
		Json moved = Json::array();
		record.nmoved = static_cast<std::uint32_t>(step.moved.size());
		record.moved_identities = allocator.array<IdentityRef>(step.moved.size());
		for (std::size_t j = 0; j < step.moved.size(); j++) {
			Json entry = Json::object();
			entry.set("kind", Json::string(step.moved[j].first));
			entry.set("value", Json::string(step.moved[j].second));
			moved.push(std::move(entry));
			record.moved_identities[j] =
			    IdentityRef{allocator.copy(step.moved[j].first), allocator.copy(step.moved[j].second)};
		}
		record.moved = json_to_tokens(moved, allocator);
	}
	out.report_skipped = plan.report_skipped;
	out.nskipped = static_cast<std::uint32_t>(plan.skipped.size());
	out.skipped = allocator.array<IdentityRef>(plan.skipped.size());
	out.skipped_reasons = allocator.array<const char *>(plan.skipped.size());
	for (std::size_t i = 0; i < plan.skipped.size(); i++) {
		out.skipped[i] = IdentityRef{allocator.copy(plan.skipped[i].kind), allocator.copy(plan.skipped[i].value)};
		out.skipped_reasons[i] = allocator.copy(plan.skipped[i].reason);
	}
	out.nlink = static_cast<std::uint32_t>(plan.link.size());
	out.link = allocator.array<IdentityRef>(plan.link.size());
	for (std::size_t i = 0; i < plan.link.size(); i++)
		out.link[i] = IdentityRef{allocator.copy(plan.link[i].first), allocator.copy(plan.link[i].second)};
	return out;
}

TokenSpan
answer_call(const WritePlan &plan, TokenSpan row, std::uint32_t nidentities, const IdentityRef *identities,
            Allocator &allocator) {
	TokenWriter out(row.count + nidentities + plan.nmerges + 8 * plan.nskipped + 16);
	out.mark(TokenType::ObjectBegin);
	out.text(TokenType::Key, "action");
	out.text(TokenType::String, plan.action);
	out.text(TokenType::Key, "user");
	write_document(out, row, nidentities, identities);
	if (plan.nmerges > 0) {
		out.text(TokenType::Key, "merged_ids");
		out.mark(TokenType::ArrayBegin);
		for (std::uint32_t i = 0; i < plan.nmerges; i++)
			out.text(TokenType::String, plan.merges[i].loser_id);
		out.mark(TokenType::ArrayEnd);
	}
	if (plan.report_skipped) {
		out.text(TokenType::Key, "skipped");
		out.mark(TokenType::ArrayBegin);
		for (std::uint32_t i = 0; i < plan.nskipped; i++) {
			out.mark(TokenType::ObjectBegin);
			out.text(TokenType::Key, "kind");
			out.text(TokenType::String, plan.skipped[i].kind);
			out.text(TokenType::Key, "value");
			out.text(TokenType::String, plan.skipped[i].value);
			out.text(TokenType::Key, "reason");
			out.text(TokenType::String, plan.skipped_reasons[i]);
			out.mark(TokenType::ObjectEnd);
		}
		out.mark(TokenType::ArrayEnd);
	}
	out.mark(TokenType::ObjectEnd);
	return out.finish(allocator);
}

TokenSpan
ensure_answer(const PreparedCall &call, TokenSpan row, std::uint32_t nidentities, const IdentityRef *identities,
              Allocator &allocator) {
	if (call.has_observed_at || call.skip_conflicts)
		return TokenSpan{nullptr, 0};
	WritePlan unchanged{};
	unchanged.action = action_name(Action::Unchanged);
	return answer_call(unchanged, row, nidentities, identities, allocator);
}

} // namespace uu::core
