/*
 * providers.cpp
 *	  Clerk and Farcaster (Neynar) profiles mapped to user_upsert() payloads.
 *
 *	  The mappings read a fixed list of fields and ignore everything else
 *	  (extra keys of any type, Clerk's private_metadata and unsafe_metadata,
 *	  Neynar's follower_count, profile, power_badge, ...). A field they read
 *	  must have the type the provider documents, or the call fails with
 *	  22023 naming the field's path in the profile. They copy values as
 *	  given: parse_payload() validates and normalizes the result, so a value
 *	  a provider should never send (an invalid address, say) is refused
 *	  there, under the payload key it was mapped to.
 *
 *	  Decisions the contract leaves open:
 *	  - null and empty strings give no payload key, so a profile never clears
 *	    a stored attribute (an upsert from a provider only adds knowledge);
 *	  - Clerk: the primary email is taken whatever its verification status
 *	    (email is an attribute, never a matching key: DESIGN.md 4.6); web3
 *	    wallets are taken only when verification.status is "verified"; the
 *	    wallet named by primary_web3_wallet_id, when verified, is listed
 *	    first so that it becomes the primary address of a user that has none;
 *	  - Clerk: display_name is first_name and last_name joined by one space,
 *	    parts that are null, empty or only whitespace left out;
 *	  - Farcaster: fid must be a JSON integer (Neynar never sends a string);
 *	    only primary.eth_address becomes primary_address;
 *	  - wallets are deduplicated here by exact text (EVM addresses ignoring
 *	    case); parse_payload() deduplicates again after normalization.
 *
 * IDENTIFICATION
 *	  src/core/providers.cpp
 */
#include "core/providers.hpp"

#include "core/error.hpp"
#include "core/normalize.hpp"
#include "core/timestamp.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#ifdef POSTGRES_H
#error "src/core must not include PostgreSQL headers"
#endif

namespace uu::core {

namespace {

[[noreturn]] void
wrong_type(const std::string &field, const char *expected, const Json &got, const char *shape) {
	throw_invalid(field, "\"" + field + "\" must be " + expected + ", not " + json_type_name(got.type()),
	              std::string("The profile does not have the shape of ") + shape + ".");
}

void
require_profile_object(const Json &profile, const char *shape) {
	if (!profile.is_object())
		throw_invalid("profile", "profile must be a JSON object",
		              std::string("The profile given is ") + json_type_name(profile.type()) + "; expected " + shape +
		                  ".");
}

/* Path of an array element: "email_addresses[1]". */
std::string
item_path(const std::string &array_field, std::size_t index) {
	return array_field + "[" + std::to_string(index) + "]";
}

/* Member `key` of `obj`, nullptr when absent or null. */
const Json *
member(const Json &obj, std::string_view key) {
	const Json *v = obj.find(key);
	return v == nullptr || v->is_null() ? nullptr : v;
}

/* A string member or null; nullptr when absent, null or empty. */
const std::string *
optional_string(const Json &obj, std::string_view key, const std::string &field, const char *shape) {
	const Json *v = member(obj, key);
	if (v == nullptr)
		return nullptr;
	if (!v->is_string())
		wrong_type(field, "a string or null", *v, shape);
	return v->text().empty() ? nullptr : &v->text();
}

/* An array member or null; nullptr when absent or null. */
const Json *
optional_array(const Json &obj, std::string_view key, const std::string &field, const char *shape) {
	const Json *v = member(obj, key);
	if (v != nullptr && !v->is_array())
		wrong_type(field, "an array or null", *v, shape);
	return v;
}

/* An object member or null; nullptr when absent or null. */
const Json *
optional_object(const Json &obj, std::string_view key, const std::string &field, const char *shape) {
	const Json *v = member(obj, key);
	if (v != nullptr && !v->is_object())
		wrong_type(field, "an object or null", *v, shape);
	return v;
}

/* Wallets in first-seen order; EVM spellings that differ only in case count once. */
class WalletList {
public:
	void
	add(const std::string &address) {
		std::string key = dedup_key(address);
		for (const auto &k : keys_)
			if (k == key)
				return;
		keys_.push_back(std::move(key));
		list_.push(Json::string(address));
	}

	bool empty() const { return keys_.empty(); }
	Json take() { return std::move(list_); }

private:
	static std::string
	dedup_key(const std::string &address) {
		std::string key = address;
		if (key.size() >= 2 && key[0] == '0' && (key[1] == 'x' || key[1] == 'X'))
			for (auto &c : key)
				if (c >= 'A' && c <= 'Z')
					c = static_cast<char>(c - 'A' + 'a');
		return key;
	}

	std::vector<std::string> keys_;
	Json list_ = Json::array();
};

constexpr const char *kClerkShape = "a Clerk User object";
constexpr const char *kFarcasterShape = "a Farcaster user as Neynar returns it";

void
map_clerk_email(const Json &user, Json &out) {
	const std::string *primary_id = nullptr;
	if (const Json *v = member(user, "primary_email_address_id")) {
		if (!v->is_string())
			wrong_type("primary_email_address_id", "a string or null", *v, kClerkShape);
		primary_id = &v->text();
	}

	const Json *addresses = optional_array(user, "email_addresses", "email_addresses", kClerkShape);
	if (addresses == nullptr)
		return;
	const std::string *email = nullptr;
	bool found = false;
	for (std::size_t i = 0; i < addresses->items().size(); i++) {
		const Json &item = addresses->items()[i];
		std::string path = item_path("email_addresses", i);
		if (!item.is_object())
			wrong_type(path, "an object", item, kClerkShape);
		const Json *id = item.find("id");
		if (id == nullptr || !id->is_string())
			wrong_type(path + ".id", "a string", id ? *id : Json::null(), kClerkShape);
		const std::string *address = optional_string(item, "email_address", path + ".email_address", kClerkShape);
		if (!found && primary_id != nullptr && id->text() == *primary_id) {
			found = true;
			email = address;
		}
	}
	if (email != nullptr)
		out.set("email", Json::string(*email));
}

/* first_name and last_name joined by one space; nothing when both are missing. */
void
map_clerk_name(const Json &user, Json &out) {
	std::string name;
	for (const char *key : {"first_name", "last_name"}) {
		const std::string *part = optional_string(user, key, key, kClerkShape);
		if (part == nullptr || trim_ascii(*part).empty())
			continue;
		if (!name.empty())
			name += ' ';
		name += *part;
	}
	if (!name.empty())
		out.set("display_name", Json::string(std::move(name)));
}

/* Verified web3 wallets, the primary one first. */
void
map_clerk_wallets(const Json &user, Json &out) {
	const std::string *primary_id = nullptr;
	if (const Json *v = member(user, "primary_web3_wallet_id")) {
		if (!v->is_string())
			wrong_type("primary_web3_wallet_id", "a string or null", *v, kClerkShape);
		primary_id = &v->text();
	}

	const Json *wallets = optional_array(user, "web3_wallets", "web3_wallets", kClerkShape);
	if (wallets == nullptr)
		return;
	std::vector<std::string> verified;
	std::size_t primary_index = SIZE_MAX;
	for (std::size_t i = 0; i < wallets->items().size(); i++) {
		const Json &item = wallets->items()[i];
		std::string path = item_path("web3_wallets", i);
		if (!item.is_object())
			wrong_type(path, "an object", item, kClerkShape);
		const Json *verification = optional_object(item, "verification", path + ".verification", kClerkShape);
		const std::string *status = nullptr;
		if (verification != nullptr)
			status = optional_string(*verification, "status", path + ".verification.status", kClerkShape);
		const std::string *id = optional_string(item, "id", path + ".id", kClerkShape);
		if (status == nullptr || *status != "verified")
			continue;
		const Json *address = item.find("web3_wallet");
		if (address == nullptr || !address->is_string())
			wrong_type(path + ".web3_wallet", "a string", address ? *address : Json::null(), kClerkShape);
		if (address->text().empty())
			continue;
		if (primary_index == SIZE_MAX && primary_id != nullptr && id != nullptr && *id == *primary_id)
			primary_index = verified.size();
		verified.push_back(address->text());
	}

	WalletList list;
	if (primary_index != SIZE_MAX)
		list.add(verified[primary_index]);
	for (const auto &address : verified)
		list.add(address);
	if (!list.empty())
		out.set("wallets", list.take());
}

} // namespace

Json
map_clerk_user(const Json &user) {
	require_profile_object(user, kClerkShape);
	Json out = Json::object();

	const Json *id = member(user, "id");
	if (id == nullptr)
		throw_invalid("id", "Clerk user has no \"id\"",
		              "A Clerk User object carries its user id in \"id\", e.g. \"user_2NNEqL2nrIRdJ194ndJqAHwEfxC\".");
	if (!id->is_string())
		wrong_type("id", "a string", *id, kClerkShape);
	normalize_subject(id->text(), "id"); /* refuse here, under the profile's name for it */
	Json external = Json::object();
	external.set("clerk", Json::string(id->text()));
	out.set("external", std::move(external));

	map_clerk_email(user, out);
	map_clerk_name(user, out);
	if (const std::string *username = optional_string(user, "username", "username", kClerkShape))
		out.set("username", Json::string(*username));
	if (const std::string *image = optional_string(user, "image_url", "image_url", kClerkShape))
		out.set("avatar_url", Json::string(*image));
	map_clerk_wallets(user, out);

	if (const Json *updated = member(user, "updated_at")) {
		if (!updated->is_number())
			wrong_type("updated_at", "an integer (epoch milliseconds) or null", *updated, kClerkShape);
		if (!parse_epoch_millis(updated->text()))
			throw_invalid("updated_at", "invalid \"updated_at\"",
			              "\"updated_at\" must be an integer number of epoch milliseconds (years 0001 to 9999).");
		out.set("observed_at", *updated);
	}

	/* public_metadata only: private_metadata and unsafe_metadata are never read. */
	if (const Json *metadata = optional_object(user, "public_metadata", "public_metadata", kClerkShape)) {
		Json attrs = Json::object();
		attrs.set("clerk_public_metadata", *metadata);
		out.set("attrs", std::move(attrs));
	}
	return out;
}

Json
map_farcaster_user(const Json &user) {
	require_profile_object(user, kFarcasterShape);
	Json out = Json::object();

	const Json *fid = member(user, "fid");
	if (fid == nullptr)
		throw_invalid("fid", "Farcaster user has no \"fid\"", "A Neynar user object carries its Farcaster id in \"fid\".");
	if (!fid->is_number())
		wrong_type("fid", "an integer", *fid, kFarcasterShape);
	normalize_fid_number(fid->text(), "fid");
	out.set("fid", *fid);

	if (const std::string *username = optional_string(user, "username", "username", kFarcasterShape))
		out.set("username", Json::string(*username));
	if (const std::string *name = optional_string(user, "display_name", "display_name", kFarcasterShape))
		out.set("display_name", Json::string(*name));
	if (const std::string *pfp = optional_string(user, "pfp_url", "pfp_url", kFarcasterShape))
		out.set("avatar_url", Json::string(*pfp));

	WalletList wallets;
	if (const std::string *custody = optional_string(user, "custody_address", "custody_address", kFarcasterShape))
		wallets.add(*custody);

	const std::string *primary = nullptr;
	if (const Json *verified =
	        optional_object(user, "verified_addresses", "verified_addresses", kFarcasterShape)) {
		for (const char *key : {"eth_addresses", "sol_addresses"}) {
			std::string field = std::string("verified_addresses.") + key;
			const Json *addresses = optional_array(*verified, key, field, kFarcasterShape);
			if (addresses == nullptr)
				continue;
			for (std::size_t i = 0; i < addresses->items().size(); i++) {
				const Json &address = addresses->items()[i];
				if (!address.is_string())
					wrong_type(item_path(field, i), "a string", address, kFarcasterShape);
				if (!address.text().empty())
					wallets.add(address.text());
			}
		}
		if (const Json *primaries = optional_object(*verified, "primary", "verified_addresses.primary",
		                                            kFarcasterShape))
			primary = optional_string(*primaries, "eth_address", "verified_addresses.primary.eth_address",
			                          kFarcasterShape);
	}
	if (!wallets.empty())
		out.set("wallets", wallets.take());
	if (primary != nullptr)
		out.set("primary_address", Json::string(*primary));

	/* A verified address can be verified by several fids: link what can be linked. */
	out.set("conflicts", Json::string("skip"));
	return out;
}

Json
map_provider_profile(std::string_view provider, const Json &profile) {
	auto is = [&](std::string_view name) {
		if (provider.size() != name.size())
			return false;
		for (std::size_t i = 0; i < name.size(); i++) {
			char c = provider[i];
			if (c >= 'A' && c <= 'Z')
				c = static_cast<char>(c - 'A' + 'a');
			if (c != name[i])
				return false;
		}
		return true;
	};
	if (is("clerk"))
		return map_clerk_user(profile);
	if (is("farcaster"))
		return map_farcaster_user(profile);
	throw_invalid("provider", "unknown provider \"" + escape_for_message(provider) + "\"", {},
	              "Known providers are \"clerk\" and \"farcaster\".");
}

} // namespace uu::core
