#define BOOST_TEST_MODULE providers
#include <boost/test/unit_test.hpp>
/*
 * test_providers.cpp
 *	  Unit tests of the provider mappings (DESIGN.md section 7,
 *	  user_upsert_from): Clerk User objects and Neynar Farcaster users, in the
 *	  shapes the providers send them (nested arrays, nulls, unverified
 *	  entries, fields the mappings must ignore), every mapped field, every
 *	  null, private data never copied, wallets filtered and deduplicated, the
 *	  output accepted by parse_payload(), and every refusal with its field.
 *
 * IDENTIFICATION
 *	  test/unit/test_providers.cpp
 */
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/json.hpp"
#include "core/payload.hpp"
#include "core/providers.hpp"
#include "support.hpp"

using uu::core::Error;
using uu::core::Json;
namespace core = uu::core;

using uu::test::J;
using uu::test::capture;
using uu::test::contains;

namespace {


/* `doc` with member `key` set to the JSON text `value` (replacing it, or appended). */
Json
with(Json doc, const std::string &key, std::string_view value) {
	doc.set(key, J(value));
	return doc;
}

/* `doc` without member `key`. */
Json
without(Json doc, std::string_view key) {
	doc.erase(key);
	return doc;
}

std::set<std::string>
keys_of(const Json &obj) {
	std::set<std::string> keys;
	for (const auto &m : obj.members())
		keys.insert(m.first);
	return keys;
}

#define CHECK_JSON(actual, expected_text)                                                                              \
	do {                                                                                                               \
		Json actual_ = (actual);                                                                                       \
		Json expected_ = J(expected_text);                                                                             \
		BOOST_CHECK_MESSAGE(actual_ == expected_, "got " << actual_.dump() << "\nexpected " << expected_.dump());      \
	} while (0)

/* The mapping must refuse with 22023 naming `expected_field`; returns the error for further checks. */
#define CHECK_REFUSED(expr, expected_field)                                                                            \
	[&]() {                                                                                                            \
		auto err_ = capture([&] { (void)(expr); });                                                                    \
		BOOST_REQUIRE_MESSAGE(err_.has_value(), "no error from " #expr);                                              \
		BOOST_CHECK(err_->code == Error::Code::InvalidParameter);                                                      \
		BOOST_CHECK_EQUAL(err_->field, std::string(expected_field));                                                   \
		BOOST_CHECK(!err_->message.empty());                                                                           \
		return *err_;                                                                                                  \
	}()

std::vector<std::string>
identity_strings(const core::Payload &p) {
	std::vector<std::string> out;
	for (const auto &id : p.identities())
		out.push_back(std::string(core::identity_kind_name(id.kind)) + ":" + id.value);
	return out;
}

/* ------------------------------------------------------------------------ */
/* Fixtures                                                                  */
/* ------------------------------------------------------------------------ */

/*
 * A Clerk User object as the Backend API (GET /v1/users/{id}) and the
 * user.created / user.updated webhooks send it: the primary email is the
 * second address, one web3 wallet of each verification state, metadata of
 * all three kinds, and the many fields the mapping ignores.
 */
const char *const kClerkUser = R"json({
  "id": "user_2NNEqL2nrIRdJ194ndJqAHwEfxC",
  "object": "user",
  "username": "jdoe",
  "first_name": "John",
  "last_name": "Doe",
  "image_url": "https://img.clerk.com/eyJ0eXBlIjoicHJveHkiLCJzcmMiOiJodHRwcyJ9",
  "profile_image_url": "https://images.clerk.dev/oauth_google/img_2NNEqL.png",
  "has_image": true,
  "primary_email_address_id": "idn_2NNEr9pQvxSwQh3Y4UKtsSkZSgE",
  "primary_phone_number_id": "idn_2NNEsQ1mXmLk3R0bXgPgqCwqT7w",
  "primary_web3_wallet_id": null,
  "password_enabled": true,
  "two_factor_enabled": false,
  "totp_enabled": false,
  "backup_code_enabled": false,
  "email_addresses": [
    {
      "id": "idn_2NNEqZ5uC9uZbHnwDi1GikQ0XnV",
      "object": "email_address",
      "email_address": "old.address@example.org",
      "reserved": false,
      "verification": {"status": "unverified", "strategy": "email_code", "attempts": 0, "expire_at": 1635977979774},
      "linked_to": []
    },
    {
      "id": "idn_2NNEr9pQvxSwQh3Y4UKtsSkZSgE",
      "object": "email_address",
      "email_address": "John.Doe@Example.com",
      "reserved": false,
      "verification": {"status": "verified", "strategy": "from_oauth_google", "attempts": null, "expire_at": null},
      "linked_to": [{"type": "oauth_google", "id": "idn_2NNEsf5ZPu7X5u5Vf6kEjYcJ8mD"}],
      "created_at": 1700690400000,
      "updated_at": 1700690400000
    }
  ],
  "phone_numbers": [
    {
      "id": "idn_2NNEsQ1mXmLk3R0bXgPgqCwqT7w",
      "object": "phone_number",
      "phone_number": "+15555550100",
      "reserved_for_second_factor": false,
      "default_second_factor": false,
      "verification": {"status": "verified", "strategy": "phone_code", "attempts": 1, "expire_at": 1700690999000},
      "linked_to": []
    }
  ],
  "web3_wallets": [
    {
      "id": "idn_2NNF0aVerified0000000000001",
      "object": "web3_wallet",
      "web3_wallet": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
      "verification": {"status": "verified", "strategy": "web3_metamask_signature", "attempts": 1, "expire_at": 1700690999000}
    },
    {
      "id": "idn_2NNF0bUnverified00000000002",
      "object": "web3_wallet",
      "web3_wallet": "0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359",
      "verification": {"status": "unverified", "strategy": "web3_metamask_signature", "attempts": 0, "expire_at": 1700690999000}
    },
    {
      "id": "idn_2NNF0cNoVerification000003",
      "object": "web3_wallet",
      "web3_wallet": "0xdbf03b407c01e7cd3cbea99509d93f8dddc8c6fb",
      "verification": null
    },
    {
      "id": "idn_2NNF0dFailed000000000000004",
      "object": "web3_wallet",
      "web3_wallet": "0xd1220a0cf47c7b9be7a2e6ba89f429762e7b9adb",
      "verification": {"status": "failed", "strategy": "web3_coinbase_wallet_signature", "attempts": 3, "expire_at": null}
    },
    {
      "id": "idn_2NNF0eSolana000000000000005",
      "object": "web3_wallet",
      "web3_wallet": "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM",
      "verification": {"status": "verified", "strategy": "web3_solana_signature", "attempts": 1, "expire_at": 1700690999000}
    }
  ],
  "passkeys": [],
  "external_accounts": [
    {
      "object": "google_account",
      "id": "idn_2NNEsf5ZPu7X5u5Vf6kEjYcJ8mD",
      "provider": "oauth_google",
      "provider_user_id": "113056123456789012345",
      "email_address": "john.doe@gmail.com",
      "approved_scopes": "email https://www.googleapis.com/auth/userinfo.email openid profile",
      "first_name": "Johnny",
      "last_name": "D",
      "username": null,
      "public_metadata": {"google_only": true},
      "label": null,
      "verification": {"status": "verified", "strategy": "oauth_google", "attempts": null, "expire_at": 1700691000000}
    }
  ],
  "saml_accounts": [],
  "enterprise_accounts": [],
  "public_metadata": {"plan": "pro", "seats": 5, "roles": ["admin", "billing"], "onboarding": {"done": true, "step": null}},
  "private_metadata": {"stripe_customer_id": "cus_SECRET_PRIVATE_9f8e7d", "internal_note": "PRIVATE-NOTE-DO-NOT-COPY"},
  "unsafe_metadata": {"theme": "UNSAFE-THEME-DO-NOT-COPY"},
  "external_id": "crm-000042",
  "last_sign_in_at": 1700690300000,
  "banned": false,
  "locked": false,
  "lockout_expires_in_seconds": null,
  "verification_attempts_remaining": 100,
  "created_at": 1700690000000,
  "updated_at": 1700690400000,
  "delete_self_enabled": true,
  "create_organization_enabled": true,
  "create_organizations_limit": null,
  "last_active_at": 1700690400000,
  "legal_accepted_at": null
})json";

/*
 * A Farcaster user as Neynar's v2 API returns it (user/bulk, user/by_username,
 * the user.created / user.updated webhooks): the custody address also among
 * the verified ones, an eth address repeated in another case, a Solana
 * address, a primary eth address, and many fields the mapping ignores.
 */
const char *const kNeynarUser = R"json({
  "object": "user",
  "fid": 3,
  "username": "dwr.eth",
  "display_name": "Dan Romero",
  "custody_address": "0x6b0bda3f2ffed5efc83fa8c024acff1dd45793f1",
  "pfp_url": "https://imagedelivery.net/BXluQx4ige9GuW0Ia56BHw/bc698287-5adc-4cc5-a503-de16963ed900/original",
  "profile": {
    "bio": {"text": "Working on Farcaster and Warpcast.", "mentioned_profiles": [], "mentioned_channels": []},
    "location": {"latitude": 34.05, "longitude": -118.24, "address": {"city": "Los Angeles", "state": "California", "country": "United States of America", "country_code": "us"}}
  },
  "follower_count": 489109,
  "following_count": 3485,
  "verifications": [
    "0xd7029bdea1c17493893aafe29aad69ef892b8ff2",
    "0xa14b4c95b5247199d74c5578531b4887ca5e4909"
  ],
  "verified_addresses": {
    "eth_addresses": [
      "0xd7029bdea1c17493893aafe29aad69ef892b8ff2",
      "0xa14b4c95b5247199d74c5578531b4887ca5e4909",
      "0x6b0bda3f2ffed5efc83fa8c024acff1dd45793f1",
      "0xD7029BDEA1C17493893AAFE29AAD69EF892B8FF2"
    ],
    "sol_addresses": [
      "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
    ],
    "primary": {
      "eth_address": "0xd7029bdea1c17493893aafe29aad69ef892b8ff2",
      "sol_address": "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
    }
  },
  "verified_accounts": [{"platform": "x", "username": "dwr"}, {"platform": "github", "username": "danromero"}],
  "power_badge": true,
  "experimental": {"neynar_user_score": 0.99, "deprecation_notice": ""},
  "score": 0.99,
  "viewer_context": {"following": false, "followed_by": false, "blocking": false, "blocked_by": false}
})json";

const std::set<std::string> kPayloadKeys = {
    "id",       "fid",          "wallets",    "primary_address", "agent_id", "external",   "email",
    "username", "display_name", "avatar_url", "kind",            "attrs",    "observed_at", "conflicts"};

} // namespace

/* ------------------------------------------------------------------------ */
/* Clerk                                                                     */
/* ------------------------------------------------------------------------ */

BOOST_AUTO_TEST_SUITE(clerk)

BOOST_AUTO_TEST_CASE(full_user_mapped_field_by_field) {
	CHECK_JSON(core::map_clerk_user(J(kClerkUser)), R"json({
	  "external": {"clerk": "user_2NNEqL2nrIRdJ194ndJqAHwEfxC"},
	  "email": "John.Doe@Example.com",
	  "display_name": "John Doe",
	  "username": "jdoe",
	  "avatar_url": "https://img.clerk.com/eyJ0eXBlIjoicHJveHkiLCJzcmMiOiJodHRwcyJ9",
	  "wallets": ["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM"],
	  "observed_at": 1700690400000,
	  "attrs": {"clerk_public_metadata": {"plan": "pro", "seats": 5, "roles": ["admin", "billing"], "onboarding": {"done": true, "step": null}}}
	})json");
}

BOOST_AUTO_TEST_CASE(output_uses_payload_keys_only_and_no_policy) {
	Json out = core::map_clerk_user(J(kClerkUser));
	for (const auto &key : keys_of(out))
		BOOST_CHECK_MESSAGE(kPayloadKeys.count(key) == 1, "unexpected payload key " << key);
	BOOST_CHECK(out.find("policy") == nullptr);
	BOOST_CHECK(out.find("conflicts") == nullptr);
	BOOST_CHECK(out.find("id") == nullptr); /* Clerk's id is external, never the users.id */
	BOOST_CHECK(out.find("kind") == nullptr);
}

BOOST_AUTO_TEST_CASE(observed_at_keeps_the_number_text) {
	Json out = core::map_clerk_user(J(kClerkUser));
	const Json *observed = out.find("observed_at");
	BOOST_REQUIRE(observed != nullptr);
	BOOST_CHECK(observed->is_number());
	BOOST_CHECK_EQUAL(observed->text(), "1700690400000");
}

BOOST_AUTO_TEST_CASE(private_and_unsafe_metadata_never_copied) {
	Json user = J(kClerkUser);
	for (const char *public_metadata : {R"({"plan": "pro"})", "null", "{}"}) {
		std::string dump = core::map_clerk_user(with(user, "public_metadata", public_metadata)).dump();
		BOOST_CHECK(!contains(dump, "PRIVATE"));
		BOOST_CHECK(!contains(dump, "cus_SECRET"));
		BOOST_CHECK(!contains(dump, "stripe_customer_id"));
		BOOST_CHECK(!contains(dump, "UNSAFE"));
		BOOST_CHECK(!contains(dump, "private_metadata"));
		BOOST_CHECK(!contains(dump, "unsafe_metadata"));
	}
	/* Even without public_metadata, the other two are not a fallback. */
	Json out = core::map_clerk_user(without(user, "public_metadata"));
	BOOST_CHECK(out.find("attrs") == nullptr);
	BOOST_CHECK(!contains(out.dump(), "PRIVATE"));
}

BOOST_AUTO_TEST_CASE(other_providers_data_not_copied) {
	/* external_accounts carry a name, an email and metadata of their own: none is used. */
	std::string dump = core::map_clerk_user(J(kClerkUser)).dump();
	BOOST_CHECK(!contains(dump, "gmail.com"));
	BOOST_CHECK(!contains(dump, "Johnny"));
	BOOST_CHECK(!contains(dump, "google_only"));
	BOOST_CHECK(!contains(dump, "+15555550100"));
	BOOST_CHECK(!contains(dump, "crm-000042"));
	BOOST_CHECK(!contains(dump, "images.clerk.dev")); /* profile_image_url (deprecated) is not image_url */
}

BOOST_AUTO_TEST_CASE(output_passes_parse_payload) {
	Json out = core::map_clerk_user(J(kClerkUser));
	core::Payload p = core::parse_payload(out, core::Config{});
	std::vector<std::string> expected = {
	    "external:clerk:user_2NNEqL2nrIRdJ194ndJqAHwEfxC",
	    "wallet:0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
	    "wallet:9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM",
	};
	BOOST_TEST(identity_strings(p) == expected, boost::test_tools::per_element());
	BOOST_CHECK(p.email.has_value());
	BOOST_CHECK_EQUAL(p.email.value, "john.doe@example.com");
	BOOST_CHECK_EQUAL(p.display_name.value, "John Doe");
	BOOST_CHECK_EQUAL(p.username.value, "jdoe");
	BOOST_CHECK(p.avatar_url.has_value());
	BOOST_REQUIRE(p.observed_at.has_value());
	BOOST_CHECK_EQUAL(*p.observed_at, 1700690400000LL * 1000);
	BOOST_CHECK(p.attrs_state == core::Payload::Attrs::Patch);
	BOOST_CHECK(p.policy == core::Policy::Merge);
	BOOST_CHECK(!p.skip_conflicts);
	BOOST_CHECK(!p.fid && !p.agent_id && !p.id && !p.kind);
	BOOST_CHECK(p.primary_address.absent());
}

BOOST_AUTO_TEST_CASE(caller_adds_the_policy) {
	Json out = core::map_clerk_user(J(kClerkUser));
	out.set("policy", Json::string("keep"));
	BOOST_CHECK(core::parse_payload(out, core::Config{}).policy == core::Policy::Keep);
}

BOOST_AUTO_TEST_CASE(minimal_user_gives_external_only) {
	Json out = core::map_clerk_user(J(R"({"id": "user_2abc"})"));
	CHECK_JSON(out, R"({"external": {"clerk": "user_2abc"}})");
	core::Payload p = core::parse_payload(out, core::Config{});
	BOOST_CHECK_EQUAL(identity_strings(p).at(0), "external:clerk:user_2abc");
}

BOOST_AUTO_TEST_CASE(every_null_gives_no_key) {
	/* A user who signed up by phone only: no email, no name, no wallets. */
	Json out = core::map_clerk_user(J(R"json({
	  "id": "user_2phoneOnly",
	  "object": "user",
	  "username": null,
	  "first_name": null,
	  "last_name": null,
	  "image_url": null,
	  "primary_email_address_id": null,
	  "primary_web3_wallet_id": null,
	  "email_addresses": null,
	  "web3_wallets": null,
	  "public_metadata": null,
	  "private_metadata": null,
	  "unsafe_metadata": null,
	  "updated_at": null
	})json"));
	CHECK_JSON(out, R"({"external": {"clerk": "user_2phoneOnly"}})");
}

BOOST_AUTO_TEST_CASE(empty_strings_and_arrays_give_no_key) {
	Json out = core::map_clerk_user(J(R"json({
	  "id": "user_2empty",
	  "username": "",
	  "first_name": "",
	  "last_name": "",
	  "image_url": "",
	  "primary_email_address_id": "idn_1",
	  "email_addresses": [{"id": "idn_1", "email_address": "", "verification": null}],
	  "web3_wallets": [],
	  "public_metadata": {"a": 1}
	})json"));
	CHECK_JSON(out, R"({"external": {"clerk": "user_2empty"}, "attrs": {"clerk_public_metadata": {"a": 1}}})");
}

BOOST_AUTO_TEST_CASE(primary_email_by_id) {
	Json user = J(kClerkUser);
	/* The first address is not primary; the second is. */
	BOOST_CHECK_EQUAL(core::map_clerk_user(user).find("email")->text(), "John.Doe@Example.com");
	/* Pointing at the first address picks it, whatever its verification status. */
	Json first = with(user, "primary_email_address_id", R"("idn_2NNEqZ5uC9uZbHnwDi1GikQ0XnV")");
	BOOST_CHECK_EQUAL(core::map_clerk_user(first).find("email")->text(), "old.address@example.org");
	/* Not found among the addresses: no email (never the first one by default). */
	Json missing = with(user, "primary_email_address_id", R"("idn_doesNotExist")");
	BOOST_CHECK(core::map_clerk_user(missing).find("email") == nullptr);
	/* null or absent: no email. */
	BOOST_CHECK(core::map_clerk_user(with(user, "primary_email_address_id", "null")).find("email") == nullptr);
	BOOST_CHECK(core::map_clerk_user(without(user, "primary_email_address_id")).find("email") == nullptr);
	/* Addresses absent, null or empty: no email. */
	BOOST_CHECK(core::map_clerk_user(without(user, "email_addresses")).find("email") == nullptr);
	BOOST_CHECK(core::map_clerk_user(with(user, "email_addresses", "null")).find("email") == nullptr);
	BOOST_CHECK(core::map_clerk_user(with(user, "email_addresses", "[]")).find("email") == nullptr);
	/* The primary's email_address null: no email. */
	Json null_address = with(user, "email_addresses", R"([{"id": "idn_2NNEr9pQvxSwQh3Y4UKtsSkZSgE", "email_address": null}])");
	BOOST_CHECK(core::map_clerk_user(null_address).find("email") == nullptr);
}

BOOST_AUTO_TEST_CASE(email_is_never_an_identity) {
	core::Payload p = core::parse_payload(core::map_clerk_user(J(kClerkUser)), core::Config{});
	for (const auto &id : p.identities())
		BOOST_CHECK(!contains(id.value, "@"));
}

BOOST_AUTO_TEST_CASE(display_name_from_first_and_last) {
	Json user = J(R"({"id": "user_2n"})");
	auto name = [&](std::string_view first, std::string_view last) -> std::string {
		Json u = with(with(user, "first_name", first), "last_name", last);
		Json out = core::map_clerk_user(u);
		const Json *v = out.find("display_name");
		return v ? v->text() : std::string("<none>");
	};
	BOOST_CHECK_EQUAL(name(R"("Ada")", R"("Lovelace")"), "Ada Lovelace");
	BOOST_CHECK_EQUAL(name(R"("Ada")", "null"), "Ada");
	BOOST_CHECK_EQUAL(name("null", R"("Lovelace")"), "Lovelace");
	BOOST_CHECK_EQUAL(name(R"("")", R"("Lovelace")"), "Lovelace");
	BOOST_CHECK_EQUAL(name(R"("Ada")", R"("")"), "Ada");
	BOOST_CHECK_EQUAL(name(R"("   ")", R"("Lovelace")"), "Lovelace");
	BOOST_CHECK_EQUAL(name("null", "null"), "<none>");
	BOOST_CHECK_EQUAL(name(R"("")", R"("")"), "<none>");
	BOOST_CHECK_EQUAL(name(R"("Jos\u00e9 Mar\u00eda")", R"("de la Cruz")"), "Jos\xc3\xa9 Mar\xc3\xad" "a de la Cruz");
	/* One key missing altogether. */
	BOOST_CHECK_EQUAL(core::map_clerk_user(with(user, "first_name", R"("Ada")")).find("display_name")->text(), "Ada");
	BOOST_CHECK(core::map_clerk_user(user).find("display_name") == nullptr);
}

BOOST_AUTO_TEST_CASE(username_and_image) {
	Json user = J(R"({"id": "user_2u", "username": "ada", "image_url": "https://img.clerk.com/abc"})");
	Json out = core::map_clerk_user(user);
	BOOST_CHECK_EQUAL(out.find("username")->text(), "ada");
	BOOST_CHECK_EQUAL(out.find("avatar_url")->text(), "https://img.clerk.com/abc");
	out = core::map_clerk_user(with(with(user, "username", "null"), "image_url", "null"));
	BOOST_CHECK(out.find("username") == nullptr);
	BOOST_CHECK(out.find("avatar_url") == nullptr);
	/* Values are copied as given, untrimmed: parse_payload decides. */
	out = core::map_clerk_user(with(user, "username", R"(" ada ")"));
	BOOST_CHECK_EQUAL(out.find("username")->text(), " ada ");
}

BOOST_AUTO_TEST_CASE(only_verified_wallets) {
	Json user = J(kClerkUser);
	Json out = core::map_clerk_user(user);
	std::string dump = out.dump();
	BOOST_CHECK(!contains(dump, "0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359")); /* unverified */
	BOOST_CHECK(!contains(dump, "0xdbf03b407c01e7cd3cbea99509d93f8dddc8c6fb")); /* verification null */
	BOOST_CHECK(!contains(dump, "0xd1220a0cf47c7b9be7a2e6ba89f429762e7b9adb")); /* failed */
	BOOST_CHECK_EQUAL(out.find("wallets")->items().size(), 2u);

	/* Every status other than "verified" is dropped, as is a missing one. */
	for (const char *verification :
	     {R"({"status": "unverified"})", R"({"status": "expired"})", R"({"status": "transferable"})",
	      R"({"status": "Verified"})", R"({"status": null})", R"({})", "null"}) {
		Json u = J(R"({"id": "user_2w"})");
		Json wallets = Json::array();
		Json w = J(R"({"id": "idn_w", "object": "web3_wallet", "web3_wallet": "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"})");
		w.set("verification", J(verification));
		wallets.push(std::move(w));
		u.set("web3_wallets", std::move(wallets));
		BOOST_CHECK_MESSAGE(core::map_clerk_user(u).find("wallets") == nullptr, verification);
	}
	/* A wallet without verification key at all. */
	Json u = J(R"({"id": "user_2w", "web3_wallets": [{"id": "idn_w", "web3_wallet": "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"}]})");
	BOOST_CHECK(core::map_clerk_user(u).find("wallets") == nullptr);
}

BOOST_AUTO_TEST_CASE(all_unverified_gives_no_wallets_key) {
	Json u = J(R"json({"id": "user_2w", "web3_wallets": [
	  {"id": "idn_a", "web3_wallet": "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", "verification": {"status": "unverified"}},
	  {"id": "idn_b", "web3_wallet": "0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359", "verification": {"status": "expired"}}]})json");
	CHECK_JSON(core::map_clerk_user(u), R"({"external": {"clerk": "user_2w"}})");
}

BOOST_AUTO_TEST_CASE(primary_web3_wallet_listed_first) {
	Json user = J(kClerkUser);
	/* The Solana wallet is primary: it comes first, so it becomes a new user's primary address. */
	Json out = core::map_clerk_user(with(user, "primary_web3_wallet_id", R"("idn_2NNF0eSolana000000000000005")"));
	CHECK_JSON(*out.find("wallets"),
	           R"(["9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"])");
	/* An unverified primary is not linked at all, and does not reorder. */
	out = core::map_clerk_user(with(user, "primary_web3_wallet_id", R"("idn_2NNF0bUnverified00000000002")"));
	CHECK_JSON(*out.find("wallets"),
	           R"(["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM"])");
	/* An unknown id changes nothing. */
	out = core::map_clerk_user(with(user, "primary_web3_wallet_id", R"("idn_unknown")"));
	CHECK_JSON(*out.find("wallets"),
	           R"(["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM"])");
	/* primary_address itself is never set by the Clerk mapping. */
	BOOST_CHECK(out.find("primary_address") == nullptr);
}

BOOST_AUTO_TEST_CASE(wallet_duplicates_removed) {
	Json u = J(R"json({"id": "user_2d", "primary_web3_wallet_id": "idn_c", "web3_wallets": [
	  {"id": "idn_a", "web3_wallet": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "verification": {"status": "verified"}},
	  {"id": "idn_b", "web3_wallet": "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", "verification": {"status": "verified"}},
	  {"id": "idn_c", "web3_wallet": "0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359", "verification": {"status": "verified"}},
	  {"id": "idn_d", "web3_wallet": "0xFB6916095CA1DF60BB79CE92CE3EA74C37C5D359", "verification": {"status": "verified"}},
	  {"id": "idn_e", "web3_wallet": "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM", "verification": {"status": "verified"}},
	  {"id": "idn_f", "web3_wallet": "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM", "verification": {"status": "verified"}},
	  {"id": "idn_g", "web3_wallet": "", "verification": {"status": "verified"}}]})json");
	Json out = core::map_clerk_user(u);
	CHECK_JSON(*out.find("wallets"), R"json(["0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359",
	  "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM"])json");
	core::Payload p = core::parse_payload(out, core::Config{});
	std::vector<std::string> expected = {"0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359",
	                                     "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
	                                     "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM"};
	BOOST_TEST(p.wallets == expected, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(public_metadata_to_attrs) {
	Json user = J(R"({"id": "user_2m"})");
	CHECK_JSON(*core::map_clerk_user(with(user, "public_metadata", "{}")).find("attrs"),
	           R"({"clerk_public_metadata": {}})");
	CHECK_JSON(*core::map_clerk_user(with(user, "public_metadata", R"({"tier": "gold", "flags": [1, 2, null]})"))
	                .find("attrs"),
	           R"({"clerk_public_metadata": {"tier": "gold", "flags": [1, 2, null]}})");
	BOOST_CHECK(core::map_clerk_user(with(user, "public_metadata", "null")).find("attrs") == nullptr);
	BOOST_CHECK(core::map_clerk_user(user).find("attrs") == nullptr);
	/* The attrs patch is accepted as such by the payload. */
	core::Payload p = core::parse_payload(core::map_clerk_user(with(user, "public_metadata", R"({"x": 1})")),
	                                      core::Config{});
	BOOST_CHECK(p.attrs_state == core::Payload::Attrs::Patch);
	CHECK_JSON(p.attrs, R"({"clerk_public_metadata": {"x": 1}})");
}

BOOST_AUTO_TEST_CASE(updated_at_to_observed_at) {
	Json user = J(R"({"id": "user_2t"})");
	BOOST_CHECK_EQUAL(core::map_clerk_user(with(user, "updated_at", "1")).find("observed_at")->text(), "1");
	BOOST_CHECK(core::map_clerk_user(with(user, "updated_at", "null")).find("observed_at") == nullptr);
	BOOST_CHECK(core::map_clerk_user(user).find("observed_at") == nullptr);
	core::Payload p = core::parse_payload(core::map_clerk_user(with(user, "updated_at", "1735689600000")), core::Config{});
	BOOST_CHECK_EQUAL(*p.observed_at, 1735689600000LL * 1000);
	/* created_at is not a fallback. */
	BOOST_CHECK(core::map_clerk_user(with(user, "created_at", "1700000000000")).find("observed_at") == nullptr);
}

BOOST_AUTO_TEST_CASE(deleted_user_webhook_data) {
	/* user.deleted carries only {id, object, deleted}. */
	CHECK_JSON(core::map_clerk_user(J(R"({"deleted": true, "id": "user_2gone", "object": "user"})")),
	           R"({"external": {"clerk": "user_2gone"}})");
}

BOOST_AUTO_TEST_CASE(unused_fields_of_any_type_ignored) {
	Json user = J(kClerkUser);
	for (const char *key : {"private_metadata", "unsafe_metadata", "external_accounts", "phone_numbers", "object",
	                        "created_at", "banned", "profile_image_url", "passkeys", "brand_new_field"})
		for (const char *value : {"null", "42", R"("text")", "[1, [2]]", R"({"k": {}})", "true"})
			BOOST_CHECK_NO_THROW(core::map_clerk_user(with(user, key, value)));
	/* Unused members of used elements are ignored too. */
	Json u = J(R"json({"id": "user_2x", "primary_email_address_id": "idn_1",
	  "email_addresses": [{"id": "idn_1", "email_address": "a@b.co", "verification": 17, "linked_to": "x", "reserved": "no"}],
	  "web3_wallets": [{"id": "idn_w", "web3_wallet": "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", "object": 5,
	                    "verification": {"status": "verified", "strategy": [], "attempts": "many", "expire_at": {}}}]})json");
	CHECK_JSON(core::map_clerk_user(u), R"json({"external": {"clerk": "user_2x"}, "email": "a@b.co",
	  "wallets": ["0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"]})json");
}

BOOST_AUTO_TEST_CASE(profile_not_an_object) {
	for (const char *text : {"[]", R"("user_2abc")", "null", "17", "true"}) {
		Error e = CHECK_REFUSED(core::map_clerk_user(J(text)), "profile");
		BOOST_CHECK_EQUAL(e.message, "profile must be a JSON object");
		BOOST_CHECK(!e.detail.empty());
	}
}

BOOST_AUTO_TEST_CASE(id_refused) {
	Json user = J(kClerkUser);
	Error e = CHECK_REFUSED(core::map_clerk_user(without(user, "id")), "id");
	BOOST_CHECK(contains(e.message, "\"id\""));
	CHECK_REFUSED(core::map_clerk_user(with(user, "id", "null")), "id");
	e = CHECK_REFUSED(core::map_clerk_user(with(user, "id", "12345")), "id");
	BOOST_CHECK_EQUAL(e.message, "\"id\" must be a string, not a number");
	CHECK_REFUSED(core::map_clerk_user(with(user, "id", R"({"id": "user_2"})")), "id");
	CHECK_REFUSED(core::map_clerk_user(with(user, "id", R"("")")), "id");
	CHECK_REFUSED(core::map_clerk_user(with(user, "id", R"("user 2abc")")), "id");
	CHECK_REFUSED(core::map_clerk_user(with(user, "id", R"("user_2\u0000")")), "id");
}

BOOST_AUTO_TEST_CASE(email_fields_refused) {
	Json user = J(kClerkUser);
	CHECK_REFUSED(core::map_clerk_user(with(user, "primary_email_address_id", "7")), "primary_email_address_id");
	Error e = CHECK_REFUSED(core::map_clerk_user(with(user, "email_addresses", R"({"id": "idn_1"})")),
	                        "email_addresses");
	BOOST_CHECK_EQUAL(e.message, "\"email_addresses\" must be an array or null, not an object");
	CHECK_REFUSED(core::map_clerk_user(with(user, "email_addresses", R"("a@b.co")")), "email_addresses");
	CHECK_REFUSED(core::map_clerk_user(with(user, "email_addresses", R"([{"id": "idn_0", "email_address": "a@b.co"}, "b@c.co"])")),
	              "email_addresses[1]");
	CHECK_REFUSED(core::map_clerk_user(with(user, "email_addresses", R"([{"id": "idn_0", "email_address": "a@b.co"}, null])")),
	              "email_addresses[1]");
	e = CHECK_REFUSED(core::map_clerk_user(with(user, "email_addresses",
	                                            R"([{"id": "idn_0", "email_address": "a@b.co"},
	                                                {"id": "idn_2NNEr9pQvxSwQh3Y4UKtsSkZSgE", "email_address": 42}])")),
	                  "email_addresses[1].email_address");
	BOOST_CHECK_EQUAL(e.message, "\"email_addresses[1].email_address\" must be a string or null, not a number");
	CHECK_REFUSED(core::map_clerk_user(with(user, "email_addresses", R"([{"email_address": "a@b.co"}])")),
	              "email_addresses[0].id");
	CHECK_REFUSED(core::map_clerk_user(with(user, "email_addresses", R"([{"id": null, "email_address": "a@b.co"}])")),
	              "email_addresses[0].id");
	CHECK_REFUSED(core::map_clerk_user(with(user, "email_addresses", R"([{"id": 1, "email_address": "a@b.co"}])")),
	              "email_addresses[0].id");
}

BOOST_AUTO_TEST_CASE(text_fields_refused) {
	Json user = J(kClerkUser);
	for (const char *key : {"first_name", "last_name", "username", "image_url"})
		for (const char *bad : {"1", "true", "[]", R"({"v": "x"})"}) {
			Error e = CHECK_REFUSED(core::map_clerk_user(with(user, key, bad)), key);
			BOOST_CHECK(contains(e.message, std::string("\"") + key + "\" must be a string or null"));
		}
}

BOOST_AUTO_TEST_CASE(wallet_fields_refused) {
	Json user = J(kClerkUser);
	CHECK_REFUSED(core::map_clerk_user(with(user, "web3_wallets", R"({"0": {}})")), "web3_wallets");
	CHECK_REFUSED(core::map_clerk_user(with(user, "primary_web3_wallet_id", "[]")), "primary_web3_wallet_id");
	auto one = [&](std::string_view wallet) {
		return with(user, "web3_wallets",
		            std::string(R"([{"id": "idn_a", "web3_wallet": "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", )"
		                        R"("verification": {"status": "verified"}}, )") +
		                std::string(wallet) + "]");
	};
	CHECK_REFUSED(core::map_clerk_user(one(R"("0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359")")), "web3_wallets[1]");
	CHECK_REFUSED(core::map_clerk_user(one(R"({"id": "idn_b", "web3_wallet": "0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359", "verification": "verified"})")),
	              "web3_wallets[1].verification");
	CHECK_REFUSED(core::map_clerk_user(one(R"({"id": "idn_b", "web3_wallet": "0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359", "verification": {"status": 1}})")),
	              "web3_wallets[1].verification.status");
	CHECK_REFUSED(core::map_clerk_user(one(R"({"id": 9, "web3_wallet": "0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359", "verification": {"status": "verified"}})")),
	              "web3_wallets[1].id");
	Error e = CHECK_REFUSED(core::map_clerk_user(one(R"({"id": "idn_b", "web3_wallet": null, "verification": {"status": "verified"}})")),
	                        "web3_wallets[1].web3_wallet");
	BOOST_CHECK_EQUAL(e.message, "\"web3_wallets[1].web3_wallet\" must be a string, not null");
	CHECK_REFUSED(core::map_clerk_user(one(R"({"id": "idn_b", "verification": {"status": "verified"}})")),
	              "web3_wallets[1].web3_wallet");
	CHECK_REFUSED(core::map_clerk_user(one(R"({"id": "idn_b", "web3_wallet": ["0x"], "verification": {"status": "verified"}})")),
	              "web3_wallets[1].web3_wallet");
	/* An unverified wallet's address is not read, so its type does not matter. */
	BOOST_CHECK_NO_THROW(core::map_clerk_user(one(R"({"id": "idn_b", "web3_wallet": 5, "verification": {"status": "unverified"}})")));
}

BOOST_AUTO_TEST_CASE(updated_at_and_metadata_refused) {
	Json user = J(kClerkUser);
	Error e = CHECK_REFUSED(core::map_clerk_user(with(user, "updated_at", R"("2024-01-01T00:00:00Z")")), "updated_at");
	BOOST_CHECK(contains(e.message, "epoch milliseconds"));
	CHECK_REFUSED(core::map_clerk_user(with(user, "updated_at", "1700690400000.5")), "updated_at");
	CHECK_REFUSED(core::map_clerk_user(with(user, "updated_at", "true")), "updated_at");
	CHECK_REFUSED(core::map_clerk_user(with(user, "public_metadata", "[]")), "public_metadata");
	CHECK_REFUSED(core::map_clerk_user(with(user, "public_metadata", R"("{}")")), "public_metadata");
}

BOOST_AUTO_TEST_CASE(invalid_values_left_to_parse_payload) {
	/* The mapping copies; the payload validates, naming the payload key. */
	Json u = J(R"json({"id": "user_2v", "primary_email_address_id": "idn_1",
	  "email_addresses": [{"id": "idn_1", "email_address": "not-an-email"}],
	  "web3_wallets": [{"id": "idn_w", "web3_wallet": "0x5AAEB6053f3e94c9b9a09f33669435e7ef1beaed", "verification": {"status": "verified"}}]})json");
	Json out = core::map_clerk_user(u);
	auto e = capture([&] { core::parse_payload(out, core::Config{}); });
	BOOST_REQUIRE(e.has_value());
	BOOST_CHECK_EQUAL(e->field, "email");
	out.erase("email");
	e = capture([&] { core::parse_payload(out, core::Config{}); });
	BOOST_REQUIRE(e.has_value());
	BOOST_CHECK_EQUAL(e->field, "wallets[0]");
}

BOOST_AUTO_TEST_SUITE_END()

/* ------------------------------------------------------------------------ */
/* Farcaster (Neynar)                                                        */
/* ------------------------------------------------------------------------ */

BOOST_AUTO_TEST_SUITE(farcaster)

BOOST_AUTO_TEST_CASE(full_user_mapped_field_by_field) {
	CHECK_JSON(core::map_farcaster_user(J(kNeynarUser)), R"json({
	  "fid": 3,
	  "username": "dwr.eth",
	  "display_name": "Dan Romero",
	  "avatar_url": "https://imagedelivery.net/BXluQx4ige9GuW0Ia56BHw/bc698287-5adc-4cc5-a503-de16963ed900/original",
	  "wallets": [
	    "0x6b0bda3f2ffed5efc83fa8c024acff1dd45793f1",
	    "0xd7029bdea1c17493893aafe29aad69ef892b8ff2",
	    "0xa14b4c95b5247199d74c5578531b4887ca5e4909",
	    "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"
	  ],
	  "primary_address": "0xd7029bdea1c17493893aafe29aad69ef892b8ff2",
	  "conflicts": "skip"
	})json");
}

BOOST_AUTO_TEST_CASE(wallet_order_custody_eth_sol) {
	Json out = core::map_farcaster_user(J(kNeynarUser));
	const auto &w = out.find("wallets")->items();
	BOOST_REQUIRE_EQUAL(w.size(), 4u);
	BOOST_CHECK_EQUAL(w[0].text(), "0x6b0bda3f2ffed5efc83fa8c024acff1dd45793f1"); /* custody first */
	BOOST_CHECK_EQUAL(w[3].text(), "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"); /* sol last */
}

BOOST_AUTO_TEST_CASE(output_uses_payload_keys_only_and_no_policy) {
	Json out = core::map_farcaster_user(J(kNeynarUser));
	for (const auto &key : keys_of(out))
		BOOST_CHECK_MESSAGE(kPayloadKeys.count(key) == 1, "unexpected payload key " << key);
	BOOST_CHECK(out.find("policy") == nullptr);
	BOOST_CHECK(out.find("email") == nullptr);
	BOOST_CHECK(out.find("attrs") == nullptr);
	std::string dump = out.dump();
	for (const char *ignored : {"Working on Farcaster", "Los Angeles", "489109", "danromero", "viewer_context",
	                            "power_badge", "0.99", "follower_count"})
		BOOST_CHECK_MESSAGE(!contains(dump, ignored), ignored);
}

BOOST_AUTO_TEST_CASE(output_passes_parse_payload) {
	Json out = core::map_farcaster_user(J(kNeynarUser));
	core::Payload p = core::parse_payload(out, core::Config{});
	std::vector<std::string> expected = {
	    "fid:3",
	    "wallet:0xd7029bdea1c17493893aafe29aad69ef892b8ff2", /* primary_address */
	    "wallet:0x6b0bda3f2ffed5efc83fa8c024acff1dd45793f1",
	    "wallet:0xa14b4c95b5247199d74c5578531b4887ca5e4909",
	    "wallet:EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v",
	};
	BOOST_TEST(identity_strings(p) == expected, boost::test_tools::per_element());
	BOOST_REQUIRE(p.fid.has_value());
	BOOST_CHECK_EQUAL(*p.fid, 3);
	BOOST_CHECK(p.skip_conflicts);
	BOOST_CHECK_EQUAL(p.primary_address.value, "0xd7029bdea1c17493893aafe29aad69ef892b8ff2");
	BOOST_CHECK_EQUAL(p.username.value, "dwr.eth");
	BOOST_CHECK_EQUAL(p.display_name.value, "Dan Romero");
	BOOST_CHECK(p.avatar_url.has_value());
	BOOST_CHECK(p.email.absent());
	BOOST_CHECK(p.attrs_state == core::Payload::Attrs::Absent);
	BOOST_CHECK(p.policy == core::Policy::Merge);
	BOOST_CHECK(!p.observed_at);
	BOOST_CHECK_EQUAL(p.all_wallets().size(), 4u);
}

BOOST_AUTO_TEST_CASE(caller_adds_the_policy) {
	Json out = core::map_farcaster_user(J(kNeynarUser));
	out.set("policy", Json::string("fill"));
	core::Payload p = core::parse_payload(out, core::Config{});
	BOOST_CHECK(p.policy == core::Policy::Fill);
	BOOST_CHECK(p.skip_conflicts);
}

BOOST_AUTO_TEST_CASE(minimal_user) {
	Json out = core::map_farcaster_user(J(R"({"fid": 194})"));
	CHECK_JSON(out, R"({"fid": 194, "conflicts": "skip"})");
	core::Payload p = core::parse_payload(out, core::Config{});
	BOOST_CHECK_EQUAL(*p.fid, 194);
	BOOST_CHECK(p.wallets.empty());
}

BOOST_AUTO_TEST_CASE(every_null_gives_no_key) {
	Json out = core::map_farcaster_user(J(R"json({
	  "object": "user", "fid": 1234, "username": null, "display_name": null, "pfp_url": null,
	  "custody_address": null, "verified_addresses": null, "profile": null, "follower_count": null
	})json"));
	CHECK_JSON(out, R"({"fid": 1234, "conflicts": "skip"})");

	out = core::map_farcaster_user(J(R"json({
	  "fid": 1234, "username": "", "display_name": "", "pfp_url": "", "custody_address": "",
	  "verified_addresses": {"eth_addresses": null, "sol_addresses": null, "primary": null}
	})json"));
	CHECK_JSON(out, R"({"fid": 1234, "conflicts": "skip"})");

	out = core::map_farcaster_user(J(R"json({
	  "fid": 1234, "verified_addresses": {"eth_addresses": [], "sol_addresses": [], "primary": {"eth_address": null, "sol_address": null}}
	})json"));
	CHECK_JSON(out, R"({"fid": 1234, "conflicts": "skip"})");

	out = core::map_farcaster_user(J(R"({"fid": 1234, "verified_addresses": {}})"));
	CHECK_JSON(out, R"({"fid": 1234, "conflicts": "skip"})");
}

BOOST_AUTO_TEST_CASE(each_text_field) {
	Json user = J(R"({"fid": 5})");
	BOOST_CHECK_EQUAL(core::map_farcaster_user(with(user, "username", R"("alice")")).find("username")->text(), "alice");
	BOOST_CHECK_EQUAL(core::map_farcaster_user(with(user, "display_name", R"("Alice \ud83d\ude80")"))
	                      .find("display_name")
	                      ->text(),
	                  "Alice \xf0\x9f\x9a\x80");
	BOOST_CHECK_EQUAL(core::map_farcaster_user(with(user, "pfp_url", R"("https://i.imgur.com/x.png")"))
	                      .find("avatar_url")
	                      ->text(),
	                  "https://i.imgur.com/x.png");
	/* pfp_url goes to avatar_url only, never under its own name. */
	BOOST_CHECK(core::map_farcaster_user(with(user, "pfp_url", R"("https://i.imgur.com/x.png")")).find("pfp_url") ==
	            nullptr);
}

BOOST_AUTO_TEST_CASE(custody_address_alone) {
	Json out = core::map_farcaster_user(J(R"({"fid": 7, "custody_address": "0x8773442740c17c9d0f0b87022c722f9a136206ed"})"));
	CHECK_JSON(out, R"({"fid": 7, "wallets": ["0x8773442740c17c9d0f0b87022c722f9a136206ed"], "conflicts": "skip"})");
	BOOST_CHECK(out.find("primary_address") == nullptr); /* the custody address is not the primary */
}

BOOST_AUTO_TEST_CASE(duplicates_removed) {
	Json out = core::map_farcaster_user(J(R"json({
	  "fid": 8,
	  "custody_address": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
	  "verified_addresses": {
	    "eth_addresses": ["0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", "0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359",
	                      "0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359", "", "0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED"],
	    "sol_addresses": ["9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM", "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM"],
	    "primary": {"eth_address": "0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359", "sol_address": null}
	  }
	})json"));
	CHECK_JSON(*out.find("wallets"), R"json(["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
	  "0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359", "9WzDXwBbmkg8ZTbNMqUxvQRAyrZzDsGYdLVL9zYtAWWM"])json");
	core::Payload p = core::parse_payload(out, core::Config{});
	BOOST_CHECK_EQUAL(p.wallets.size(), 3u);
	BOOST_CHECK_EQUAL(p.all_wallets().size(), 3u);
}

BOOST_AUTO_TEST_CASE(solana_addresses_keep_their_case) {
	/* Base58 is case-sensitive: two addresses differing only in case are two wallets. */
	Json out = core::map_farcaster_user(J(R"json({"fid": 9, "verified_addresses": {"sol_addresses": [
	  "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v", "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1V"]}})json"));
	BOOST_CHECK_EQUAL(out.find("wallets")->items().size(), 2u);
}

BOOST_AUTO_TEST_CASE(primary_present_or_absent) {
	Json user = J(kNeynarUser);
	auto primary_of = [](const Json &u) -> std::string {
		Json out = core::map_farcaster_user(u);
		const Json *v = out.find("primary_address");
		return v ? v->text() : std::string("<none>");
	};
	BOOST_CHECK_EQUAL(primary_of(user), "0xd7029bdea1c17493893aafe29aad69ef892b8ff2");

	auto with_primary = [&](std::string_view primary) {
		return with(user, "verified_addresses", std::string(R"({"eth_addresses": ["0xd7029bdea1c17493893aafe29aad69ef892b8ff2"], "primary": )") +
		                                            std::string(primary) + "}");
	};
	BOOST_CHECK_EQUAL(primary_of(with_primary("null")), "<none>");
	BOOST_CHECK_EQUAL(primary_of(with_primary("{}")), "<none>");
	BOOST_CHECK_EQUAL(primary_of(with_primary(R"({"eth_address": null, "sol_address": "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"})")),
	                  "<none>"); /* only the eth primary becomes primary_address */
	BOOST_CHECK_EQUAL(primary_of(with_primary(R"({"eth_address": ""})")), "<none>");
	BOOST_CHECK_EQUAL(primary_of(with(user, "verified_addresses", R"({"eth_addresses": []})")), "<none>");
	BOOST_CHECK_EQUAL(primary_of(without(user, "verified_addresses")), "<none>");

	/* A primary not among eth_addresses is still sent: the payload adds it to the wallets. */
	Json out = core::map_farcaster_user(with_primary(R"({"eth_address": "0xa14b4c95b5247199d74c5578531b4887ca5e4909"})"));
	BOOST_CHECK_EQUAL(out.find("primary_address")->text(), "0xa14b4c95b5247199d74c5578531b4887ca5e4909");
	core::Payload p = core::parse_payload(out, core::Config{});
	std::vector<std::string> expected = {"0xd7029bdea1c17493893aafe29aad69ef892b8ff2",
	                                     "0x6b0bda3f2ffed5efc83fa8c024acff1dd45793f1",
	                                     "0xa14b4c95b5247199d74c5578531b4887ca5e4909"};
	BOOST_CHECK_EQUAL(p.wallets.size(), 2u);
	std::vector<std::string> all = p.all_wallets();
	std::set<std::string> all_set(all.begin(), all.end());
	BOOST_CHECK(all_set == std::set<std::string>(expected.begin(), expected.end()));
}

BOOST_AUTO_TEST_CASE(legacy_verifications_array_ignored) {
	/* "verifications" duplicates eth_addresses in Neynar's v2 object; the mapping reads verified_addresses only. */
	Json out = core::map_farcaster_user(J(R"json({"fid": 10, "verifications": ["0xd7029bdea1c17493893aafe29aad69ef892b8ff2"]})json"));
	CHECK_JSON(out, R"({"fid": 10, "conflicts": "skip"})");
}

BOOST_AUTO_TEST_CASE(fid_number_text_kept) {
	Json out = core::map_farcaster_user(J(R"({"fid": 9223372036854775807})"));
	BOOST_CHECK_EQUAL(out.find("fid")->text(), "9223372036854775807");
	BOOST_CHECK_EQUAL(*core::parse_payload(out, core::Config{}).fid, INT64_MAX);
}

BOOST_AUTO_TEST_CASE(unused_fields_of_any_type_ignored) {
	Json user = J(kNeynarUser);
	for (const char *key : {"object", "profile", "follower_count", "following_count", "verifications",
	                        "verified_accounts", "power_badge", "experimental", "score", "viewer_context"})
		for (const char *value : {"null", "-1", R"("text")", "[[]]", R"({"bio": 5})", "false"})
			BOOST_CHECK_NO_THROW(core::map_farcaster_user(with(user, key, value)));
	/* primary.sol_address is not read, so its type does not matter. */
	BOOST_CHECK_NO_THROW(core::map_farcaster_user(
	    with(user, "verified_addresses", R"({"primary": {"eth_address": null, "sol_address": 12}, "extra": 1})")));
}

BOOST_AUTO_TEST_CASE(profile_not_an_object) {
	for (const char *text : {"[]", "3", "null", R"("dwr.eth")"}) {
		Error e = CHECK_REFUSED(core::map_farcaster_user(J(text)), "profile");
		BOOST_CHECK_EQUAL(e.message, "profile must be a JSON object");
	}
}

BOOST_AUTO_TEST_CASE(fid_refused) {
	Json user = J(kNeynarUser);
	Error e = CHECK_REFUSED(core::map_farcaster_user(without(user, "fid")), "fid");
	BOOST_CHECK(contains(e.message, "\"fid\""));
	CHECK_REFUSED(core::map_farcaster_user(with(user, "fid", "null")), "fid");
	e = CHECK_REFUSED(core::map_farcaster_user(with(user, "fid", R"("3")")), "fid");
	BOOST_CHECK_EQUAL(e.message, "\"fid\" must be an integer, not a string");
	CHECK_REFUSED(core::map_farcaster_user(with(user, "fid", "3.0")), "fid");
	CHECK_REFUSED(core::map_farcaster_user(with(user, "fid", "3.5")), "fid");
	CHECK_REFUSED(core::map_farcaster_user(with(user, "fid", "0")), "fid");
	CHECK_REFUSED(core::map_farcaster_user(with(user, "fid", "-3")), "fid");
	CHECK_REFUSED(core::map_farcaster_user(with(user, "fid", "9223372036854775808")), "fid");
	CHECK_REFUSED(core::map_farcaster_user(with(user, "fid", "[3]")), "fid");
}

BOOST_AUTO_TEST_CASE(text_fields_refused) {
	Json user = J(kNeynarUser);
	for (const char *key : {"username", "display_name", "pfp_url", "custody_address"})
		for (const char *bad : {"1", "false", R"(["x"])", "{}"}) {
			Error e = CHECK_REFUSED(core::map_farcaster_user(with(user, key, bad)), key);
			BOOST_CHECK(contains(e.message, std::string("\"") + key + "\" must be a string or null"));
		}
}

BOOST_AUTO_TEST_CASE(verified_addresses_refused) {
	Json user = J(kNeynarUser);
	Error e = CHECK_REFUSED(core::map_farcaster_user(with(user, "verified_addresses", R"(["0xd7029bdea1c17493893aafe29aad69ef892b8ff2"])")),
	                        "verified_addresses");
	BOOST_CHECK_EQUAL(e.message, "\"verified_addresses\" must be an object or null, not an array");
	CHECK_REFUSED(core::map_farcaster_user(with(user, "verified_addresses", R"({"eth_addresses": "0xd7029bdea1c17493893aafe29aad69ef892b8ff2"})")),
	              "verified_addresses.eth_addresses");
	CHECK_REFUSED(core::map_farcaster_user(with(user, "verified_addresses", R"({"sol_addresses": {}})")),
	              "verified_addresses.sol_addresses");
	e = CHECK_REFUSED(core::map_farcaster_user(with(user, "verified_addresses",
	                                                R"({"eth_addresses": ["0xd7029bdea1c17493893aafe29aad69ef892b8ff2",
	                                                                      "0xa14b4c95b5247199d74c5578531b4887ca5e4909", 42]})")),
	                  "verified_addresses.eth_addresses[2]");
	BOOST_CHECK_EQUAL(e.message, "\"verified_addresses.eth_addresses[2]\" must be a string, not a number");
	CHECK_REFUSED(core::map_farcaster_user(with(user, "verified_addresses", R"({"sol_addresses": [null]})")),
	              "verified_addresses.sol_addresses[0]");
	CHECK_REFUSED(core::map_farcaster_user(with(user, "verified_addresses", R"({"primary": "0xd7029bdea1c17493893aafe29aad69ef892b8ff2"})")),
	              "verified_addresses.primary");
	CHECK_REFUSED(core::map_farcaster_user(with(user, "verified_addresses", R"({"primary": {"eth_address": 1}})")),
	              "verified_addresses.primary.eth_address");
}

BOOST_AUTO_TEST_CASE(invalid_addresses_left_to_parse_payload) {
	Json out = core::map_farcaster_user(
	    J(R"({"fid": 11, "verified_addresses": {"eth_addresses": ["0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", "0x1234"]}})"));
	auto e = capture([&] { core::parse_payload(out, core::Config{}); });
	BOOST_REQUIRE(e.has_value());
	BOOST_CHECK_EQUAL(e->field, "wallets[1]");
}

BOOST_AUTO_TEST_SUITE_END()

/* ------------------------------------------------------------------------ */
/* Dispatch                                                                  */
/* ------------------------------------------------------------------------ */

BOOST_AUTO_TEST_SUITE(dispatch)

BOOST_AUTO_TEST_CASE(known_providers) {
	Json clerk = J(kClerkUser);
	Json neynar = J(kNeynarUser);
	BOOST_CHECK(core::map_provider_profile("clerk", clerk) == core::map_clerk_user(clerk));
	BOOST_CHECK(core::map_provider_profile("farcaster", neynar) == core::map_farcaster_user(neynar));
	BOOST_CHECK(core::map_provider_profile("Clerk", clerk) == core::map_clerk_user(clerk));
	BOOST_CHECK(core::map_provider_profile("FARCASTER", neynar) == core::map_farcaster_user(neynar));
}

BOOST_AUTO_TEST_CASE(profile_of_the_wrong_provider_refused) {
	/* A Neynar user given as clerk has no "id"; a Clerk user given as farcaster has no "fid". */
	CHECK_REFUSED(core::map_provider_profile("clerk", J(kNeynarUser)), "id");
	CHECK_REFUSED(core::map_provider_profile("farcaster", J(kClerkUser)), "fid");
}

BOOST_AUTO_TEST_CASE(unknown_provider) {
	for (std::string_view name : {"github", "", "clerk ", " clerk", "clerkk", "neynar", "farcaster\n"}) {
		Error e = CHECK_REFUSED(core::map_provider_profile(name, J(kClerkUser)), "provider");
		BOOST_CHECK(contains(e.message, "unknown provider"));
		BOOST_CHECK(contains(e.hint, "\"clerk\""));
		BOOST_CHECK(contains(e.hint, "\"farcaster\""));
	}
	Error e = CHECK_REFUSED(core::map_provider_profile(std::string_view("evil\x01\"name", 10), J("{}")), "provider");
	for (char c : e.message)
		BOOST_CHECK(static_cast<unsigned char>(c) >= 0x20);
	BOOST_CHECK(!contains(e.message, "l\"n"));
}

BOOST_AUTO_TEST_CASE(provider_checked_before_profile) {
	CHECK_REFUSED(core::map_provider_profile("github", J("[]")), "provider");
}

BOOST_AUTO_TEST_CASE(non_object_profile) {
	for (const char *provider : {"clerk", "farcaster"}) {
		Error e = CHECK_REFUSED(core::map_provider_profile(provider, J("[1, 2]")), "profile");
		BOOST_CHECK_EQUAL(e.message, "profile must be a JSON object");
	}
}

BOOST_AUTO_TEST_SUITE_END()
