/*
 * payload.cpp
 *	  Payload validation: every refusal names the payload field that caused it.
 *
 * IDENTIFICATION
 *	  src/core/payload.cpp
 */
#include "core/payload.hpp"

#include "core/error.hpp"
#include "core/normalize.hpp"

#include <algorithm>
#include <array>
#include <string_view>

#ifdef POSTGRES_H
#error "src/core must not include PostgreSQL headers"
#endif

namespace uu::core {

namespace {

constexpr std::array<std::string_view, 15> kPayloadKeys = {
    "id",       "fid",          "wallets",    "primary_address", "agent_id", "external",    "email",
    "username", "display_name", "avatar_url", "kind",            "attrs",    "policy",      "observed_at",
    "conflicts"};

/* More providers than this in "external" are refused. */
constexpr std::size_t kMaxExternalProviders = 32;

/* Wallet arrays longer than this are refused before any normalization work. */
constexpr std::size_t kMaxWalletArray = 10000;

std::size_t
edit_distance(std::string_view a, std::string_view b) {
	std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
	for (std::size_t j = 0; j <= b.size(); j++)
		prev[j] = j;
	for (std::size_t i = 1; i <= a.size(); i++) {
		cur[0] = i;
		for (std::size_t j = 1; j <= b.size(); j++) {
			std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
		}
		std::swap(prev, cur);
	}
	return prev[b.size()];
}

[[noreturn]] void
unknown_key(const std::string &key) {
	std::string_view best;
	std::size_t best_distance = SIZE_MAX;
	for (auto candidate : kPayloadKeys) {
		std::size_t d = edit_distance(key.size() > 64 ? std::string_view(key).substr(0, 64) : key, candidate);
		if (d < best_distance) {
			best_distance = d;
			best = candidate;
		}
	}
	std::string hint;
	if (!key.empty() && best_distance < key.size() && best_distance <= std::max<std::size_t>(2, best.size() / 3))
		hint = "Did you mean \"" + std::string(best) + "\"?";
	else
		hint = "Valid keys are id, fid, wallets, primary_address, agent_id, external, email, username, "
		       "display_name, avatar_url, kind, attrs, policy, observed_at and conflicts.";
	throw_invalid(key, "unknown key \"" + escape_for_message(key) + "\" in payload", {}, hint);
}

[[noreturn]] void
wrong_type(const std::string &field, const char *expected, const Json &got) {
	throw_invalid(field, "\"" + escape_for_message(field) + "\" must be " + expected + ", not " + json_type_name(got.type()));
}

const std::string &
require_string(const std::string &field, const Json &value, const char *expected = "a string") {
	if (!value.is_string())
		wrong_type(field, expected, value);
	return value.text();
}

std::int64_t
parse_fid(const std::string &field, const Json &value) {
	if (value.is_number())
		return normalize_fid_number(value.text(), field);
	if (value.is_string())
		return normalize_fid_text(value.text(), field);
	wrong_type(field, "an integer or a string of digits", value);
}

std::string
parse_text_attribute(const std::string &field, const Json &value) {
	const std::string &s = require_string(field, value, "a string or null");
	check_text_attribute(s, field);
	return s;
}

TextField
parse_text_field(const std::string &field, const Json &value, bool is_email) {
	TextField out;
	if (value.is_null()) {
		out.state = TextField::State::Null;
		return out;
	}
	out.state = TextField::State::Value;
	out.value = is_email ? normalize_email(require_string(field, value, "a string or null"), field)
	                     : parse_text_attribute(field, value);
	return out;
}

void
check_depth(const Json &value, const std::string &field, int depth) {
	if (depth > 32)
		throw_invalid(field, "\"" + field + "\" is nested too deeply", "The limit is 32 levels of nesting.");
	if (value.is_array())
		for (const auto &item : value.items())
			check_depth(item, field, depth + 1);
	else if (value.is_object())
		for (const auto &m : value.members())
			check_depth(m.second, field, depth + 1);
}

} // namespace

void
check_text_attribute(std::string_view s, const std::string &field) {
	if (s.size() > kMaxTextAttribute)
		throw_invalid(field, "\"" + field + "\" is too long",
		              "The value has " + std::to_string(s.size()) + " bytes; the limit is " +
		                  std::to_string(kMaxTextAttribute) + ".");
	for (std::size_t i = 0; i < s.size(); i++)
		if (control_character_length(s, i) > 0)
			throw_invalid(field, "\"" + field + "\" contains a control character",
			              "The byte at position " + std::to_string(i + 1) + " starts a control character.");
}

const char *
identity_kind_name(IdentityKind kind) {
	switch (kind) {
	case IdentityKind::Fid: return "fid";
	case IdentityKind::Wallet: return "wallet";
	case IdentityKind::Agent: return "agent";
	case IdentityKind::External: return "external";
	}
	return "unknown";
}

std::optional<std::string>
normalize_uuid(std::string_view text) {
	text = trim_ascii(text);
	if (text.size() != 36)
		return std::nullopt;
	std::string out(text);
	for (std::size_t i = 0; i < out.size(); i++) {
		char c = out[i];
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return std::nullopt;
		} else if (c >= '0' && c <= '9') {
		} else if (c >= 'a' && c <= 'f') {
		} else if (c >= 'A' && c <= 'F')
			out[i] = static_cast<char>(c - 'A' + 'a');
		else
			return std::nullopt;
	}
	return out;
}

std::uint64_t
identity_lock_key(std::string_view kind, std::string_view value) {
	/* FNV-1a, 64 bit, then a murmur finalizer so nearby values spread out. */
	std::uint64_t h = 1469598103934665603ULL;
	auto feed = [&](unsigned char c) {
		h ^= c;
		h *= 1099511628211ULL;
	};
	for (unsigned char c : kind)
		feed(c);
	feed(0);
	for (unsigned char c : value)
		feed(c);
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

std::vector<Identity>
Payload::identities() const {
	std::vector<Identity> out;
	if (fid)
		out.push_back({IdentityKind::Fid, std::to_string(*fid), "fid"});
	for (const auto &[provider, subject] : external)
		out.push_back({IdentityKind::External, provider + ":" + subject, "external." + provider});
	if (agent_id)
		out.push_back({IdentityKind::Agent, *agent_id, "agent_id"});
	if (primary_address.has_value())
		out.push_back({IdentityKind::Wallet, primary_address.value, "primary_address"});
	for (std::size_t i = 0; i < wallets.size(); i++)
		if (!(primary_address.has_value() && wallets[i] == primary_address.value))
			out.push_back({IdentityKind::Wallet, wallets[i],
			               "wallets[" + std::to_string(i < wallet_index.size() ? wallet_index[i] : i) + "]"});
	return out;
}

std::vector<std::string>
Payload::all_wallets() const {
	std::vector<std::string> out = wallets;
	if (primary_address.has_value() && std::find(out.begin(), out.end(), primary_address.value) == out.end())
		out.push_back(primary_address.value);
	return out;
}

Payload
parse_payload(const Json &doc, const Config &config) {
	if (!doc.is_object())
		throw_invalid("", std::string("payload must be a JSON object, not ") + json_type_name(doc.type()));

	Payload p;
	std::vector<std::string> listed_wallets;
	for (const auto &[key, value] : doc.members()) {
		const std::string_view name = key; /* compares the length first */
		if (name == "id") {
			if (value.is_null())
				continue;
			auto id = normalize_uuid(require_string(key, value));
			if (!id)
				throw_invalid(key, "invalid uuid in \"id\"",
				              "\"" + escape_for_message(value.text()) + "\" is not a uuid in the 8-4-4-4-12 form.");
			p.id = *id;
		} else if (name == "fid") {
			if (!value.is_null())
				p.fid = parse_fid(key, value);
		} else if (name == "wallets") {
			if (value.is_null())
				continue;
			if (!value.is_array())
				wrong_type(key, "an array of strings", value);
			if (value.items().size() > kMaxWalletArray)
				throw_invalid(key, "too many wallets in \"wallets\"",
				              "The payload lists " + std::to_string(value.items().size()) + " wallets; at most " +
				                  std::to_string(kMaxWalletArray) + " entries are read.");
			for (std::size_t i = 0; i < value.items().size(); i++) {
				std::string field = "wallets[" + std::to_string(i) + "]";
				std::string w = normalize_wallet(require_string(field, value.items()[i]), field);
				if (std::find(listed_wallets.begin(), listed_wallets.end(), w) == listed_wallets.end()) {
					listed_wallets.push_back(std::move(w));
					p.wallet_index.push_back(i);
				}
			}
		} else if (name == "primary_address") {
			if (value.is_null())
				p.primary_address.state = TextField::State::Null;
			else {
				p.primary_address.state = TextField::State::Value;
				p.primary_address.value =
				    normalize_wallet(require_string(key, value, "a string or null"), key);
			}
		} else if (name == "agent_id") {
			if (!value.is_null())
				p.agent_id = normalize_agent(require_string(key, value), key);
		} else if (name == "external") {
			if (value.is_null())
				continue;
			if (!value.is_object())
				wrong_type(key, "an object of provider: subject", value);
			if (value.members().size() > kMaxExternalProviders)
				throw_invalid(key, "too many providers in \"external\"",
				              "The payload names " + std::to_string(value.members().size()) +
				                  " providers; the limit is " + std::to_string(kMaxExternalProviders) + ".");
			for (const auto &[provider_raw, subject_raw] : value.members()) {
				std::string field = "external." + provider_raw;
				std::string provider = normalize_provider(provider_raw, field);
				std::string subject = normalize_subject(require_string(field, subject_raw), field);
				auto same = std::find_if(p.external.begin(), p.external.end(),
				                         [&](const auto &e) { return e.first == provider; });
				if (same == p.external.end())
					p.external.emplace_back(provider, subject);
				else if (same->second != subject)
					throw_invalid(field, "provider \"" + escape_for_message(provider) + "\" is given twice in \"external\"",
					              "Two spellings of provider \"" + provider + "\" name different subjects.");
			}
			std::sort(p.external.begin(), p.external.end());
		} else if (name == "email") {
			p.email = parse_text_field(key, value, true);
		} else if (name == "username") {
			p.username = parse_text_field(key, value, false);
		} else if (name == "display_name") {
			p.display_name = parse_text_field(key, value, false);
		} else if (name == "avatar_url") {
			p.avatar_url = parse_text_field(key, value, false);
		} else if (name == "kind") {
			const std::string &k = require_string(key, value);
			if (k != "human" && k != "agent")
				throw_invalid(key, "invalid \"kind\"", "\"kind\" must be \"human\" or \"agent\".");
			p.kind = k;
		} else if (name == "attrs") {
			if (value.is_null())
				p.attrs_state = Payload::Attrs::Null;
			else if (value.is_object()) {
				check_depth(value, key, 1);
				p.attrs_state = Payload::Attrs::Patch;
				p.attrs = value;
			} else
				wrong_type(key, "an object or null", value);
		} else if (name == "policy") {
			if (value.is_null())
				continue;
			const std::string &pol = require_string(key, value);
			if (pol == "merge")
				p.policy = Policy::Merge;
			else if (pol == "fill")
				p.policy = Policy::Fill;
			else if (pol == "keep")
				p.policy = Policy::Keep;
			else
				throw_invalid(key, "invalid \"policy\"", "\"policy\" must be \"merge\", \"fill\" or \"keep\".");
		} else if (name == "conflicts") {
			if (value.is_null())
				continue;
			const std::string &mode = require_string(key, value);
			if (mode == "skip")
				p.skip_conflicts = true;
			else if (mode != "error")
				throw_invalid(key, "invalid \"conflicts\"", "\"conflicts\" must be \"error\" or \"skip\".");
		} else if (name == "observed_at") {
			if (value.is_null())
				continue;
			std::optional<EpochMicros> t;
			if (value.is_string())
				t = parse_iso8601(trim_ascii(value.text()));
			else if (value.is_number())
				t = parse_epoch_millis(value.text());
			else
				wrong_type(key, "an ISO 8601 string or epoch milliseconds", value);
			if (!t)
				throw_invalid(key, "invalid \"observed_at\"",
				              "\"observed_at\" must be ISO 8601 text with a time zone (years 0001 to 9999) "
				              "or an integer number of epoch milliseconds.");
			p.observed_at = t;
		} else
			unknown_key(key);
	}

	p.wallets = std::move(listed_wallets);
	std::size_t distinct = p.all_wallets().size();
	if (distinct > static_cast<std::size_t>(config.max_wallets))
		throw_invalid("wallets", "too many wallets in \"wallets\"",
		              "The payload names " + std::to_string(distinct) +
		                  " distinct wallets; user_upsert.max_wallets is " + std::to_string(config.max_wallets) + ".");

	if (!p.id && !p.fid && p.wallets.empty() && !p.primary_address.has_value() && !p.agent_id && p.external.empty())
		throw_invalid("", "payload has no identity",
		              "At least one of id, fid, wallets, primary_address, agent_id or external must be given.");
	return p;
}

} // namespace uu::core
