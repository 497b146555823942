/*
 * test_payload.cpp
 *	  Unit tests of the user_upsert() payload (DESIGN.md 3, 4.1, 4.2, 4.5):
 *	  every key, every refusal with the field it names, null-means-absent,
 *	  wallet deduplication and max_wallets, external providers, the identity
 *	  order of 4.2, text attribute limits, uuids and advisory lock keys.
 *
 * IDENTIFICATION
 *	  test/unit/test_payload.cpp
 */
#define BOOST_TEST_MODULE payload
#include <boost/test/unit_test.hpp>

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
#include "support.hpp"

using uu::core::Error;
using uu::core::Json;
namespace core = uu::core;

using uu::test::J;
using uu::test::capture;
using uu::test::contains;

namespace {


core::Payload
P(std::string_view json, const core::Config &config = core::Config{}) {
	return core::parse_payload(J(json), config);
}

core::Config
max_wallets(int n) {
	core::Config c;
	c.max_wallets = n;
	return c;
}

/*
 * Asserts that `doc` is refused with 22023 naming `field`; the message names
 * `named` (the field itself unless told otherwise). Returns the error.
 */
Error
refused(const Json &doc, const std::string &field, const core::Config &config = core::Config{},
        std::optional<std::string> named = std::nullopt) {
	BOOST_TEST_CONTEXT("payload " << doc.dump()) {
		const auto e = capture([&] { (void) core::parse_payload(doc, config); });
		BOOST_TEST_REQUIRE(e.has_value(), "not refused");
		BOOST_TEST((e->code == Error::Code::InvalidParameter));
		BOOST_TEST(e->field == field);
		const std::string name = named.value_or(field);
		if (!name.empty())
			BOOST_TEST(contains(e->message, name), "message \"" << e->message << "\" does not name " << name);
		BOOST_TEST(!e->message.empty());
		return *e;
	}
	throw std::logic_error("unreachable");
}

Error
refused(std::string_view json, const std::string &field, const core::Config &config = core::Config{},
        std::optional<std::string> named = std::nullopt) {
	return refused(J(json), field, config, std::move(named));
}

/* A one-member payload {key: value} plus an identity, so only `key` can fail. */
Json
with_identity(const std::string &key, Json value) {
	Json doc = Json::object();
	doc.set("agent_id", Json::string("test-agent"));
	doc.set(key, std::move(value));
	return doc;
}

/* EIP-55 test vectors from the EIP (checksummed, lowercase and uppercase spellings). */
const std::string W1_SUM = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
const std::string W1_UP = "0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED";
const std::string W1 = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed";
const std::string W2_SUM = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359";
const std::string W2 = "0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359";
const std::string W3 = "0xdbf03b407c01e7cd3cbea99509d93f8dddc8c6fb";
const std::string W4 = "0xd1220a0cf47c7b9be7a2e6ba89f429762e7b9adb";
const std::string SOL = "So11111111111111111111111111111111111111112";

const std::string UUID = "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11";

/* 2026-01-01T00:00:00Z */
constexpr std::int64_t T2026 = 1767225600LL * 1000000;

std::string
quoted(const std::string &s) {
	return "\"" + s + "\"";
}

} // namespace

/* ------------------------------------------------------------------ shape */

BOOST_AUTO_TEST_CASE(payload_not_an_object) {
	for (const char *doc : {"[]", "[{\"fid\": 3}]", "\"fid\"", "3", "null", "true", "false"}) {
		BOOST_TEST_CONTEXT(doc) {
			const Error e = refused(doc, "");
			BOOST_TEST(contains(e.message, "payload must be a JSON object"), e.message);
		}
	}
}

BOOST_AUTO_TEST_CASE(no_identity_refused) {
	for (const char *doc : {
	         R"({})",
	         R"({"email": "a@b.co", "username": "u", "display_name": "d", "avatar_url": "x", "kind": "human",
	             "attrs": {"a": 1}, "policy": "merge", "observed_at": 0})",
	         R"({"id": null, "fid": null, "wallets": null, "agent_id": null, "external": null})",
	         R"({"wallets": []})",
	         R"({"external": {}})",
	         R"({"primary_address": null})",
	     }) {
		BOOST_TEST_CONTEXT(doc) {
			const Error e = refused(doc, "");
			BOOST_TEST(e.message == "payload has no identity");
			BOOST_TEST(contains(e.detail, "id, fid, wallets, primary_address, agent_id or external"), e.detail);
		}
	}
}

BOOST_AUTO_TEST_CASE(each_identity_alone_is_enough) {
	BOOST_TEST(P(R"({"id": ")" + UUID + R"("})").id.value() == UUID);
	BOOST_TEST(P(R"({"fid": 3})").fid.value() == 3);
	BOOST_TEST(P(R"({"wallets": [")" + W1 + R"("]})").wallets == std::vector<std::string>{W1});
	BOOST_TEST(P(R"({"primary_address": ")" + W1 + R"("})").primary_address.value == W1);
	BOOST_TEST(P(R"({"agent_id": "bot-1"})").agent_id.value() == "bot-1");
	BOOST_TEST(P(R"({"external": {"clerk": "user_1"}})").external.size() == 1u);
}

/* ------------------------------------------------------------------ unknown keys */

BOOST_AUTO_TEST_CASE(unknown_key_did_you_mean) {
	const std::vector<std::pair<std::string, std::string>> cases = {
	    {"fidd", "fid"},
	    {"displayname", "display_name"},
	    {"wallet", "wallets"},
	    {"Email", "email"},
	    {"primaryAddress", "primary_address"},
	    {"agentid", "agent_id"},
	    {"avatarurl", "avatar_url"},
	    {"polcy", "policy"},
	    {"observedAt", "observed_at"},
	    {"extenral", "external"},
	};
	for (const auto &[key, suggestion] : cases) {
		BOOST_TEST_CONTEXT(key) {
			Json doc = J(R"({"fid": 3})");
			doc.set(key, Json::string("x"));
			const Error e = refused(doc, key);
			BOOST_TEST(e.message == "unknown key \"" + key + "\" in payload");
			BOOST_TEST(contains(e.hint, quoted(suggestion)), "hint: " << e.hint);
			BOOST_TEST(e.hint == "Did you mean \"" + suggestion + "\"?");
		}
	}
}

BOOST_AUTO_TEST_CASE(unknown_key_lists_valid_keys) {
	for (const std::string &key :
	     {std::string("qqqqqqqqqqqqqqqqqqqq"), std::string("zebra_crossing_x"), std::string(200, 'z')}) {
		BOOST_TEST_CONTEXT(key.substr(0, 30)) {
			Json doc = J(R"({"fid": 3})");
			doc.set(key, Json::null());
			const Error e = refused(doc, key, core::Config{}, std::string("unknown key"));
			BOOST_TEST(!contains(e.hint, "Did you mean"), e.hint);
			for (const char *valid : {"id", "fid", "wallets", "primary_address", "agent_id", "external", "email",
			                          "username", "display_name", "avatar_url", "kind", "attrs", "policy",
			                          "observed_at"})
				BOOST_TEST(contains(e.hint, valid), "hint lacks " << valid << ": " << e.hint);
		}
	}
}

BOOST_AUTO_TEST_CASE(unknown_key_quoted_safely_in_message) {
	const std::string key = std::string("ev\"il\n") + std::string(100, 'k');
	Json doc = J(R"({"fid": 3})");
	doc.set(key, Json::number("1"));
	const Error e = refused(doc, key, core::Config{}, std::string("unknown key"));
	for (char c : e.message)
		BOOST_TEST((static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) != 0x7f));
	BOOST_TEST(e.message.size() < 120u, e.message);
}

BOOST_AUTO_TEST_CASE(unknown_key_refused_whatever_its_position) {
	refused(R"({"bogus": 1, "fid": 3})", "bogus", core::Config{}, std::string("bogus"));
	refused(R"({"fid": 3, "bogus": null})", "bogus", core::Config{}, std::string("bogus"));
	/* keys are case-sensitive */
	refused(R"({"FID": 3})", "FID", core::Config{}, std::string("FID"));
}

/* ------------------------------------------------------------------ id */

BOOST_AUTO_TEST_CASE(id_values) {
	BOOST_TEST(P(R"({"id": "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11"})").id.value() == UUID);
	BOOST_TEST(P(R"({"id": " a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11 ", "fid": 1})").id.value() == UUID);
	BOOST_TEST(!P(R"({"id": null, "fid": 1})").id.has_value());
	BOOST_TEST(!P(R"({"fid": 1})").id.has_value());
}

BOOST_AUTO_TEST_CASE(id_refused) {
	for (const char *v : {"3", "true", "[]", "{}"}) {
		BOOST_TEST_CONTEXT(v) {
			const Error e = refused(with_identity("id", J(v)), "id");
			BOOST_TEST(contains(e.message, "must be a string"), e.message);
		}
	}
	for (const char *v : {"\"\"", "\"not-a-uuid\"", "\"a0eebc999c0b4ef8bb6d6bb9bd380a11\"",
	                      "\"{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}\"", "\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1g\"",
	                      "\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a111\""}) {
		BOOST_TEST_CONTEXT(v) {
			const Error e = refused(with_identity("id", J(v)), "id");
			BOOST_TEST(e.message == "invalid uuid in \"id\"");
		}
	}
}

BOOST_AUTO_TEST_CASE(normalize_uuid_cases) {
	BOOST_TEST(core::normalize_uuid(UUID).value() == UUID);
	BOOST_TEST(core::normalize_uuid("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11").value() == UUID);
	BOOST_TEST(core::normalize_uuid("\t a0eeBC99-9c0b-4ef8-bb6d-6bb9bd380a11\n").value() == UUID);
	BOOST_TEST(core::normalize_uuid("00000000-0000-0000-0000-000000000000").value() ==
	           "00000000-0000-0000-0000-000000000000");
	for (const char *bad : {"", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a111",
	                        "a0eebc999c0b4ef8bb6d6bb9bd380a11", "a0eebc99_9c0b-4ef8-bb6d-6bb9bd380a11",
	                        "a0eebc99-9c0b-4ef8-bb6d6-bb9bd380a11", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1z",
	                        "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1}", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a\xc3\xa9"}) {
		BOOST_TEST_CONTEXT(bad) {
			BOOST_TEST(!core::normalize_uuid(bad).has_value());
		}
	}
}

/* ------------------------------------------------------------------ fid */

BOOST_AUTO_TEST_CASE(fid_values) {
	BOOST_TEST(P(R"({"fid": 3})").fid.value() == 3);
	BOOST_TEST(P(R"({"fid": "3"})").fid.value() == 3);
	BOOST_TEST(P(R"({"fid": " 42 "})").fid.value() == 42);
	BOOST_TEST(P(R"({"fid": 9223372036854775807})").fid.value() == INT64_MAX);
	BOOST_TEST(P(R"({"fid": "9223372036854775807"})").fid.value() == INT64_MAX);
}

BOOST_AUTO_TEST_CASE(fid_refused) {
	for (const char *v : {"true", "[3]", "{\"fid\": 3}"}) {
		BOOST_TEST_CONTEXT(v) {
			const Error e = refused(with_identity("fid", J(v)), "fid");
			BOOST_TEST(contains(e.message, "must be an integer or a string of digits"), e.message);
		}
	}
	for (const char *v : {"0", "-1", "3.0", "3.5", "9223372036854775808", "\"\"", "\"03\"", "\"+3\"", "\"-3\"",
	                      "\"3.0\"", "\"0x10\"", "\"9223372036854775808\"", "\"1 2\""})
		BOOST_TEST_CONTEXT(v) {
			refused(with_identity("fid", J(v)), "fid");
		}
}

/* ------------------------------------------------------------------ wallets */

BOOST_AUTO_TEST_CASE(wallets_values) {
	const auto p = P(R"({"wallets": [")" + W2_SUM + R"(", ")" + SOL + R"(", " )" + W1 + R"( "]})");
	BOOST_TEST(p.wallets == (std::vector<std::string>{W2, SOL, W1}));
	BOOST_TEST(!p.primary_address.has_value());
}

BOOST_AUTO_TEST_CASE(wallets_deduplicated_after_normalization) {
	/* three spellings of one address and a repeat of another count once each, first position kept */
	const auto p = P(R"({"wallets": [")" + W2 + R"(", ")" + W1_UP + R"(", ")" + W1 + R"(", ")" + W2_SUM +
	                 R"(", ")" + W1_SUM + R"(", ")" + SOL + R"(", ")" + SOL + R"("]})");
	BOOST_TEST(p.wallets == (std::vector<std::string>{W2, W1, SOL}));
	/* upper and lower case spelling of one address: one wallet, within max_wallets = 1 */
	const auto q = P(R"({"wallets": [")" + W1_UP + R"(", ")" + W1 + R"("]})", max_wallets(1));
	BOOST_TEST(q.wallets == std::vector<std::string>{W1});
}

BOOST_AUTO_TEST_CASE(wallets_refused) {
	for (const char *v : {"\"0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed\"", "3", "true", "{}"}) {
		BOOST_TEST_CONTEXT(v) {
			const Error e = refused(with_identity("wallets", J(v)), "wallets");
			BOOST_TEST(contains(e.message, "must be an array of strings"), e.message);
		}
	}
	/* an element of the wrong type names its position */
	refused(R"({"wallets": [")" + W1 + R"(", 3]})", "wallets[1]");
	refused(R"({"wallets": [null]})", "wallets[0]");
	refused(R"({"wallets": [[")" + W1 + R"("]]})", "wallets[0]");
	/* invalid addresses name their position */
	refused(R"({"wallets": [")" + W1 + R"(", "0x123"]})", "wallets[1]");
	refused(R"({"wallets": ["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"]})", "wallets[0]"); /* bad checksum */
	refused(R"({"wallets": [""]})", "wallets[0]");
	refused(R"({"wallets": ["not base58 0OIl"]})", "wallets[0]");
}

BOOST_AUTO_TEST_CASE(wallets_null_means_absent) {
	const auto p = P(R"({"fid": 1, "wallets": null})");
	BOOST_TEST(p.wallets.empty());
	BOOST_TEST(p.all_wallets().empty());
}

/* ------------------------------------------------------------------ primary_address */

BOOST_AUTO_TEST_CASE(primary_address_values) {
	auto p = P(R"({"primary_address": ")" + W1_SUM + R"("})");
	BOOST_TEST(p.primary_address.has_value());
	BOOST_TEST(p.primary_address.value == W1);
	p = P(R"({"fid": 1, "primary_address": null})");
	BOOST_TEST(p.primary_address.is_null());
	p = P(R"({"fid": 1})");
	BOOST_TEST(p.primary_address.absent());
}

BOOST_AUTO_TEST_CASE(primary_address_refused) {
	for (const char *v : {"3", "true", "[]", "{}"}) {
		BOOST_TEST_CONTEXT(v) {
			const Error e = refused(with_identity("primary_address", J(v)), "primary_address");
			BOOST_TEST(contains(e.message, "must be a string or null"), e.message);
		}
	}
	refused(with_identity("primary_address", Json::string("0x12")), "primary_address");
	refused(with_identity("primary_address", Json::string("")), "primary_address");
}

/* ------------------------------------------------------------------ max_wallets */

BOOST_AUTO_TEST_CASE(max_wallets_counts_distinct_wallets_with_primary) {
	const core::Config two = max_wallets(2);
	/* at the limit */
	BOOST_TEST(P(R"({"wallets": [")" + W1 + R"(", ")" + W2 + R"("]})", two).wallets.size() == 2u);
	/* the primary address among the wallets is not counted twice */
	BOOST_TEST(P(R"({"wallets": [")" + W1 + R"(", ")" + W2 + R"("], "primary_address": ")" + W2_SUM + R"("})", two)
	               .all_wallets()
	               .size() == 2u);
	/* duplicates after normalization count once */
	BOOST_TEST(P(R"({"wallets": [")" + W1 + R"(", ")" + W1_UP + R"(", ")" + W2 + R"(", ")" + W1_SUM + R"("]})", two)
	               .wallets.size() == 2u);
	/* one primary address and one wallet */
	BOOST_TEST(P(R"({"wallets": [")" + W1 + R"("], "primary_address": ")" + W2 + R"("})", two).all_wallets().size() ==
	           2u);

	/* over the limit */
	Error e = refused(R"({"wallets": [")" + W1 + R"(", ")" + W2 + R"(", ")" + W3 + R"("]})", "wallets", two);
	BOOST_TEST(contains(e.detail, "3"), e.detail);
	BOOST_TEST(contains(e.detail, "max_wallets"), e.detail);
	/* the primary address outside the wallets makes the third */
	refused(R"({"wallets": [")" + W1 + R"(", ")" + W2 + R"("], "primary_address": ")" + W3 + R"("})", "wallets", two);
	refused(R"({"primary_address": ")" + W3 + R"(", "wallets": [")" + W1 + R"(", ")" + W2_SUM + R"("]})", "wallets",
	        two);
	/* max_wallets = 0: any wallet is too many */
	refused(R"({"primary_address": ")" + W3 + R"("})", "wallets", max_wallets(0));
	BOOST_TEST(P(R"({"fid": 1})", max_wallets(0)).all_wallets().empty());
}

BOOST_AUTO_TEST_CASE(max_wallets_default_is_50) {
	/* distinct lowercase EVM addresses: 0x1, 37 zeros, two hex digits */
	auto evm = [](int n) {
		static const char hex[] = "0123456789abcdef";
		std::string s = "0x1" + std::string(37, '0');
		s += hex[(n >> 4) & 15];
		s += hex[n & 15];
		return s;
	};
	Json fifty = Json::array();
	for (int i = 1; i <= 50; i++)
		fifty.push(Json::string(evm(i)));
	Json doc = Json::object();
	doc.set("wallets", fifty);
	BOOST_TEST(core::parse_payload(doc, core::Config{}).wallets.size() == 50u);
	doc.set("primary_address", Json::string(evm(51)));
	refused(doc, "wallets");
	doc.set("primary_address", Json::string(evm(50)));
	BOOST_TEST(core::parse_payload(doc, core::Config{}).all_wallets().size() == 50u);
}

/* ------------------------------------------------------------------ agent_id */

BOOST_AUTO_TEST_CASE(agent_id_values) {
	BOOST_TEST(P(R"({"agent_id": " agent.v1:openai/gpt@x-y_z "})").agent_id.value() == "agent.v1:openai/gpt@x-y_z");
	BOOST_TEST(!P(R"({"fid": 1, "agent_id": null})").agent_id.has_value());
}

BOOST_AUTO_TEST_CASE(agent_id_refused) {
	for (const char *v : {"3", "true", "[]", "{}"}) {
		BOOST_TEST_CONTEXT(v) {
			Json doc = J(R"({"fid": 1})");
			doc.set("agent_id", J(v));
			const Error e = refused(doc, "agent_id");
			BOOST_TEST(contains(e.message, "must be a string"), e.message);
		}
	}
	for (const std::string &v : {std::string(""), std::string("a b"), std::string("bot!"), std::string(129, 'a')}) {
		Json doc = J(R"({"fid": 1})");
		doc.set("agent_id", Json::string(v));
		refused(doc, "agent_id");
	}
	Json doc = J(R"({"fid": 1})");
	doc.set("agent_id", Json::string(std::string(128, 'a')));
	BOOST_TEST(core::parse_payload(doc, core::Config{}).agent_id->size() == 128u);
}

/* ------------------------------------------------------------------ external */

BOOST_AUTO_TEST_CASE(external_values_sorted_by_provider) {
	const auto p = P(R"({"external": {"zeta": "z-1", "Alpha": " a|1 ", "mid_dle-x": "m:2"}})");
	const std::vector<std::pair<std::string, std::string>> expected = {
	    {"alpha", "a|1"}, {"mid_dle-x", "m:2"}, {"zeta", "z-1"}};
	BOOST_TEST((p.external == expected));
	BOOST_TEST(P(R"({"fid": 1, "external": null})").external.empty());
}

BOOST_AUTO_TEST_CASE(external_two_spellings_of_one_provider) {
	/* the same subject: one identity */
	auto p = P(R"({"external": {"clerk": "user_1", "Clerk": "user_1", "CLERK": " user_1"}})");
	BOOST_TEST(p.external.size() == 1u);
	BOOST_TEST(p.external[0].first == "clerk");
	BOOST_TEST(p.external[0].second == "user_1");
	BOOST_TEST(p.identities().size() == 1u);

	/* different subjects: 22023 */
	const Error e = refused(R"({"external": {"clerk": "user_1", "Clerk": "user_2"}})", "external.Clerk",
	                        core::Config{}, std::string("external"));
	BOOST_TEST(contains(e.message, "clerk"), e.message);
	refused(R"({"external": {"CLERK": "user_1", "github": "g", "clerk": "USER_1"}})", "external.clerk",
	        core::Config{}, std::string("external"));
}

BOOST_AUTO_TEST_CASE(external_refused) {
	for (const char *v : {"\"clerk:user_1\"", "3", "true", "[\"clerk\", \"user_1\"]"}) {
		BOOST_TEST_CONTEXT(v) {
			const Error e = refused(with_identity("external", J(v)), "external");
			BOOST_TEST(contains(e.message, "must be an object"), e.message);
		}
	}
	/* a subject that is not a string, including null, names the provider */
	for (const char *v : {"{\"clerk\": 3}", "{\"clerk\": null}", "{\"clerk\": [\"u\"]}", "{\"clerk\": {}}"})
		BOOST_TEST_CONTEXT(v) {
			refused(with_identity("external", J(v)), "external.clerk");
		}
	/* invalid subject */
	refused(R"({"external": {"clerk": ""}})", "external.clerk");
	refused(R"({"external": {"clerk": "user 1"}})", "external.clerk");
	refused(with_identity("external", J(R"({"clerk": ")" + std::string(256, 's') + R"("})")), "external.clerk");
	/* invalid provider */
	refused(R"({"external": {"": "u"}})", "external.");
	refused(R"({"external": {"cl.erk": "u"}})", "external.cl.erk");
	refused(with_identity("external", J(R"({")" + std::string(33, 'p') + R"(": "u"})")),
	        "external." + std::string(33, 'p'));
}

/* ------------------------------------------------------------------ text attributes */

BOOST_AUTO_TEST_CASE(text_attributes_values) {
	const auto p = P(R"({"fid": 1, "username": "Al", "display_name": " Al B\u00e9 ", "avatar_url": ""})");
	BOOST_TEST(p.username.has_value());
	BOOST_TEST(p.username.value == "Al");
	BOOST_TEST(p.display_name.value == " Al B\xc3\xa9 ");
	BOOST_TEST(p.avatar_url.has_value());
	BOOST_TEST(p.avatar_url.value == "");
	BOOST_TEST(p.email.absent());

	const auto q = P(R"({"fid": 1, "username": null, "display_name": null, "avatar_url": null, "email": null})");
	BOOST_TEST(q.username.is_null());
	BOOST_TEST(q.display_name.is_null());
	BOOST_TEST(q.avatar_url.is_null());
	BOOST_TEST(q.email.is_null());
}

BOOST_AUTO_TEST_CASE(text_attributes_refused) {
	for (const char *key : {"username", "display_name", "avatar_url", "email"})
		for (const char *v : {"3", "true", "[]", "{}"})
			BOOST_TEST_CONTEXT(key << " = " << v) {
				const Error e = refused(with_identity(key, J(v)), key);
				BOOST_TEST(contains(e.message, "must be a string or null"), e.message);
			}
}

BOOST_AUTO_TEST_CASE(text_attribute_limits) {
	for (const char *key : {"username", "display_name", "avatar_url"}) {
		BOOST_TEST_CONTEXT(key) {
			/* 4096 bytes, ASCII and two-byte UTF-8 */
			Json doc = with_identity(key, Json::string(std::string(core::kMaxTextAttribute, 'x')));
			BOOST_TEST(core::parse_payload(doc, core::Config{}).identities().size() == 1u);
			std::string e_acute;
			for (std::size_t i = 0; i < core::kMaxTextAttribute / 2; i++)
				e_acute += "\xc3\xa9";
			doc = with_identity(key, Json::string(e_acute));
			(void) core::parse_payload(doc, core::Config{});

			/* 4097 bytes */
			const Error e = refused(with_identity(key, Json::string(std::string(4097, 'x'))), key);
			BOOST_TEST(contains(e.detail, "4097"), e.detail);
			BOOST_TEST(contains(e.detail, "4096"), e.detail);
			refused(with_identity(key, Json::string(e_acute + "x")), key);

			/* control characters anywhere */
			for (const std::string &bad : {std::string("a\nb"), std::string("\t"), std::string("ab\r"),
			                              std::string("a\x7f"), std::string("\x01"), std::string("a\x1b[31m"),
			                              std::string("a\0b", 3), std::string("a\xc2\x85" "b"), std::string("\xc2\x9b" "31m")})
				BOOST_TEST_CONTEXT(Json::string(bad).dump()) {
					const Error c = refused(with_identity(key, Json::string(bad)), key);
					BOOST_TEST(contains(c.message, "control character"), c.message);
				}
		}
	}
	/* the limit is per attribute, not for the whole payload */
	Json doc = J(R"({"fid": 1})");
	doc.set("username", Json::string(std::string(4096, 'u')));
	doc.set("display_name", Json::string(std::string(4096, 'd')));
	doc.set("avatar_url", Json::string(std::string(4096, 'a')));
	(void) core::parse_payload(doc, core::Config{});
}

BOOST_AUTO_TEST_CASE(email_normalized) {
	BOOST_TEST(P(R"({"fid": 1, "email": "  Alice.B+Tag@Example.COM\n"})").email.value == "alice.b+tag@example.com");
	refused(R"({"fid": 1, "email": "no-at-sign"})", "email");
	refused(R"({"fid": 1, "email": "a@b@c"})", "email");
	refused(R"({"fid": 1, "email": "a b@c.d"})", "email");
	refused(R"({"fid": 1, "email": ""})", "email");
	refused(R"({"fid": 1, "email": "a@b\u0001c"})", "email");
	const std::string domain = "@example.com";
	refused(with_identity("email", Json::string(std::string(255 - domain.size(), 'a') + domain)), "email");
	BOOST_TEST(core::parse_payload(with_identity("email", Json::string(std::string(254 - domain.size(), 'A') + domain)),
	                               core::Config{})
	               .email.value == std::string(254 - domain.size(), 'a') + domain);
}

/* ------------------------------------------------------------------ kind */

BOOST_AUTO_TEST_CASE(kind_values) {
	BOOST_TEST(P(R"({"fid": 1, "kind": "human"})").kind.value() == "human");
	BOOST_TEST(P(R"({"fid": 1, "kind": "agent"})").kind.value() == "agent");
	BOOST_TEST(!P(R"({"fid": 1})").kind.has_value());
}

BOOST_AUTO_TEST_CASE(kind_refused) {
	const Error e = refused(R"({"fid": 1, "kind": null})", "kind");
	BOOST_TEST(contains(e.message, "must be a string, not null"), e.message);
	for (const char *v : {"3", "true", "[]", "{}"})
		BOOST_TEST_CONTEXT(v) {
			refused(with_identity("kind", J(v)), "kind");
		}
	for (const char *v : {"\"Human\"", "\"AGENT\"", "\"bot\"", "\"\"", "\" human\""})
		BOOST_TEST_CONTEXT(v) {
			const Error k = refused(with_identity("kind", J(v)), "kind");
			BOOST_TEST(contains(k.detail, "\"human\" or \"agent\""), k.detail);
		}
}

/* ------------------------------------------------------------------ attrs */

BOOST_AUTO_TEST_CASE(attrs_values) {
	auto p = P(R"({"fid": 1, "attrs": {"a": 1, "b": {"c": [true, null]}, "d": null}})");
	BOOST_TEST((p.attrs_state == core::Payload::Attrs::Patch));
	BOOST_TEST((p.attrs == J(R"({"a": 1, "b": {"c": [true, null]}, "d": null})")));
	p = P(R"({"fid": 1, "attrs": {}})");
	BOOST_TEST((p.attrs_state == core::Payload::Attrs::Patch));
	BOOST_TEST(p.attrs.is_object());
	BOOST_TEST(p.attrs.members().empty());
	p = P(R"({"fid": 1, "attrs": null})");
	BOOST_TEST((p.attrs_state == core::Payload::Attrs::Null));
	p = P(R"({"fid": 1})");
	BOOST_TEST((p.attrs_state == core::Payload::Attrs::Absent));
}

BOOST_AUTO_TEST_CASE(attrs_refused) {
	for (const char *v : {"[]", "[{\"a\": 1}]", "\"{}\"", "3", "true", "false"})
		BOOST_TEST_CONTEXT(v) {
			const Error e = refused(with_identity("attrs", J(v)), "attrs");
			BOOST_TEST(contains(e.message, "must be an object or null"), e.message);
		}
}

BOOST_AUTO_TEST_CASE(attrs_nesting_limit) {
	/* attrs itself is level 1; 32 levels accepted, 33 refused */
	auto nested = [](int levels) {
		Json v = Json::number("1");
		for (int i = 1; i < levels; i++) {
			Json o = Json::object();
			o.set("k", std::move(v));
			v = std::move(o);
		}
		return v;
	};
	Json inner = Json::object();
	inner.set("k", nested(31));
	(void) core::parse_payload(with_identity("attrs", inner), core::Config{});
	Json deeper = Json::object();
	deeper.set("k", nested(32));
	const Error e = refused(with_identity("attrs", deeper), "attrs");
	BOOST_TEST(contains(e.message, "nested too deeply"), e.message);
}

/* ------------------------------------------------------------------ policy */

BOOST_AUTO_TEST_CASE(policy_values) {
	BOOST_TEST((P(R"({"fid": 1})").policy == core::Policy::Merge));
	BOOST_TEST((P(R"({"fid": 1, "policy": null})").policy == core::Policy::Merge));
	BOOST_TEST((P(R"({"fid": 1, "policy": "merge"})").policy == core::Policy::Merge));
	BOOST_TEST((P(R"({"fid": 1, "policy": "fill"})").policy == core::Policy::Fill));
	BOOST_TEST((P(R"({"fid": 1, "policy": "keep"})").policy == core::Policy::Keep));
}

BOOST_AUTO_TEST_CASE(policy_refused) {
	for (const char *v : {"3", "true", "[]", "{}"})
		BOOST_TEST_CONTEXT(v) {
			refused(with_identity("policy", J(v)), "policy");
		}
	for (const char *v : {"\"Merge\"", "\"KEEP\"", "\"upsert\"", "\"\"", "\"keep \""})
		BOOST_TEST_CONTEXT(v) {
			const Error e = refused(with_identity("policy", J(v)), "policy");
			BOOST_TEST(contains(e.detail, "\"merge\", \"fill\" or \"keep\""), e.detail);
		}
}

/* ------------------------------------------------------------------ observed_at */

BOOST_AUTO_TEST_CASE(observed_at_values) {
	BOOST_TEST(P(R"({"fid": 1, "observed_at": "2026-01-01T00:00:00Z"})").observed_at.value() == T2026);
	BOOST_TEST(P(R"({"fid": 1, "observed_at": "2026-01-01T01:00:00+01:00"})").observed_at.value() == T2026);
	BOOST_TEST(P(R"({"fid": 1, "observed_at": " 2026-01-01 00:00:00.5+00 "})").observed_at.value() == T2026 + 500000);
	BOOST_TEST(P(R"({"fid": 1, "observed_at": 1767225600000})").observed_at.value() == T2026);
	BOOST_TEST(P(R"({"fid": 1, "observed_at": 1767225600001})").observed_at.value() == T2026 + 1000);
	BOOST_TEST(P(R"({"fid": 1, "observed_at": 0})").observed_at.value() == 0);
	BOOST_TEST(P(R"({"fid": 1, "observed_at": -1000})").observed_at.value() == -1000000);
	BOOST_TEST(!P(R"({"fid": 1, "observed_at": null})").observed_at.has_value());
	BOOST_TEST(!P(R"({"fid": 1})").observed_at.has_value());
}

BOOST_AUTO_TEST_CASE(observed_at_refused) {
	for (const char *v : {"true", "[]", "{}", "[1767225600000]"})
		BOOST_TEST_CONTEXT(v) {
			const Error e = refused(with_identity("observed_at", J(v)), "observed_at");
			BOOST_TEST(contains(e.message, "must be an ISO 8601 string or epoch milliseconds"), e.message);
		}
	for (const char *v : {"\"2026-01-01T00:00:00\"", "\"2026-01-01\"", "\"yesterday\"", "\"\"",
	                      "\"2026-02-30T00:00:00Z\"", "\"0000-01-01T00:00:00Z\"", "\"2026-01-01T00:00:00Zjunk\"",
	                      "\"1767225600000\"", "1767225600000.5", "1767225600000.0", "253402300800000",
	                      "-62135596800001"})
		BOOST_TEST_CONTEXT(v) {
			const Error e = refused(with_identity("observed_at", J(v)), "observed_at");
			BOOST_TEST(e.message == "invalid \"observed_at\"");
		}
}

/* ------------------------------------------------------------------ null means absent */

BOOST_AUTO_TEST_CASE(null_means_absent) {
	/* each of these keys set to null equals the payload without it */
	const auto base = P(R"({"agent_id": "bot", "wallets": [")" + W1 + R"("]})");
	for (const char *key : {"id", "fid", "external", "policy", "observed_at"}) {
		BOOST_TEST_CONTEXT(key) {
			Json doc = J(R"({"agent_id": "bot", "wallets": [")" + W1 + R"("]})");
			doc.set(key, Json::null());
			const auto p = core::parse_payload(doc, core::Config{});
			BOOST_TEST(!p.id.has_value());
			BOOST_TEST(!p.fid.has_value());
			BOOST_TEST(p.external.empty());
			BOOST_TEST((p.policy == core::Policy::Merge));
			BOOST_TEST(!p.observed_at.has_value());
			BOOST_TEST(p.identities().size() == base.identities().size());
		}
	}
	{
		const auto p = P(R"({"fid": 7, "wallets": null})");
		BOOST_TEST(p.wallets.empty());
		BOOST_TEST(p.identities().size() == 1u);
	}
	{
		const auto p = P(R"({"fid": 7, "agent_id": null})");
		BOOST_TEST(!p.agent_id.has_value());
		BOOST_TEST(p.identities().size() == 1u);
	}
	/* a null that means absent still leaves the payload without identity */
	for (const char *key : {"id", "fid", "wallets", "agent_id", "external"}) {
		Json doc = J(R"({"username": "u"})");
		doc.set(key, Json::null());
		BOOST_TEST_CONTEXT(key) {
			refused(doc, "");
		}
	}
}

/* ------------------------------------------------------------------ identities() */

BOOST_AUTO_TEST_CASE(identities_in_matching_order) {
	/* keys deliberately in another order than 4.2's */
	const auto p = P(R"({"wallets": [")" + W3 + R"(", ")" + W1_SUM + R"(", ")" + SOL + R"("],
	                     "primary_address": ")" + W1 + R"(",
	                     "agent_id": "bot",
	                     "external": {"zeta": "z", "alpha": "a"},
	                     "id": ")" + UUID + R"(",
	                     "fid": 7})");
	const auto ids = p.identities();
	struct Expected {
		core::IdentityKind kind;
		std::string value;
	};
	const std::vector<Expected> expected = {
	    {core::IdentityKind::Fid, "7"},
	    {core::IdentityKind::External, "alpha:a"},
	    {core::IdentityKind::External, "zeta:z"},
	    {core::IdentityKind::Agent, "bot"},
	    {core::IdentityKind::Wallet, W1},
	    {core::IdentityKind::Wallet, W3},
	    {core::IdentityKind::Wallet, SOL},
	};
	BOOST_TEST_REQUIRE(ids.size() == expected.size());
	for (std::size_t i = 0; i < ids.size(); i++)
		BOOST_TEST_CONTEXT("identity " << i) {
			BOOST_TEST((ids[i].kind == expected[i].kind));
			BOOST_TEST(ids[i].value == expected[i].value);
		}
	BOOST_TEST(ids[0].field == "fid");
	BOOST_TEST(ids[1].field == "external.alpha");
	BOOST_TEST(ids[3].field == "agent_id");
	BOOST_TEST(ids[4].field == "primary_address");
	BOOST_TEST(ids[5].field == "wallets[0]");
	BOOST_TEST(ids[6].field == "wallets[2]");
	/* the id is not an identity */
	for (const auto &i : ids)
		BOOST_TEST(i.value != UUID);
	/* kind names are those of user_upsert.identities */
	BOOST_TEST(std::string(core::identity_kind_name(core::IdentityKind::Fid)) == "fid");
	BOOST_TEST(std::string(core::identity_kind_name(core::IdentityKind::Wallet)) == "wallet");
	BOOST_TEST(std::string(core::identity_kind_name(core::IdentityKind::Agent)) == "agent");
	BOOST_TEST(std::string(core::identity_kind_name(core::IdentityKind::External)) == "external");
}

BOOST_AUTO_TEST_CASE(identities_primary_not_among_wallets) {
	const auto p = P(R"({"wallets": [")" + W1 + R"(", ")" + W2 + R"("], "primary_address": ")" + W3 + R"("})");
	const auto ids = p.identities();
	BOOST_TEST_REQUIRE(ids.size() == 3u);
	BOOST_TEST(ids[0].value == W3);
	BOOST_TEST(ids[1].value == W1);
	BOOST_TEST(ids[2].value == W2);
	/* primary_address null is no identity */
	const auto q = P(R"({"wallets": [")" + W1 + R"("], "primary_address": null})");
	BOOST_TEST(q.identities().size() == 1u);
}

BOOST_AUTO_TEST_CASE(all_wallets_order) {
	using V = std::vector<std::string>;
	BOOST_TEST(P(R"({"wallets": [")" + W2 + R"(", ")" + W1 + R"("], "primary_address": ")" + W3 + R"("})")
	               .all_wallets() == (V{W2, W1, W3}));
	BOOST_TEST(P(R"({"wallets": [")" + W2 + R"(", ")" + W1 + R"("], "primary_address": ")" + W1_UP + R"("})")
	               .all_wallets() == (V{W2, W1}));
	BOOST_TEST(P(R"({"primary_address": ")" + W1 + R"("})").all_wallets() == (V{W1}));
	BOOST_TEST(P(R"({"wallets": [")" + W2 + R"("], "primary_address": null})").all_wallets() == (V{W2}));
	BOOST_TEST(P(R"({"fid": 1})").all_wallets().empty());
}

/* ------------------------------------------------------------------ whole payload */

BOOST_AUTO_TEST_CASE(full_payload) {
	const auto p = P(R"({"id": "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", "fid": "12", "wallets": [")" + SOL + R"("],
	                     "primary_address": ")" + W2_SUM + R"(", "agent_id": "bot", "external": {"Clerk": "user_2x"},
	                     "email": "X@Y.Z", "username": "u", "display_name": "D", "avatar_url": "https://a/b.png",
	                     "kind": "agent", "attrs": {"plan": "pro"}, "policy": "fill",
	                     "observed_at": "2026-01-01T00:00:00Z"})");
	BOOST_TEST(p.id.value() == UUID);
	BOOST_TEST(p.fid.value() == 12);
	BOOST_TEST(p.wallets == std::vector<std::string>{SOL});
	BOOST_TEST(p.primary_address.value == W2);
	BOOST_TEST(p.agent_id.value() == "bot");
	BOOST_TEST_REQUIRE(p.external.size() == 1u);
	BOOST_TEST(p.external[0].first == "clerk");
	BOOST_TEST(p.external[0].second == "user_2x");
	BOOST_TEST(p.email.value == "x@y.z");
	BOOST_TEST(p.username.value == "u");
	BOOST_TEST(p.display_name.value == "D");
	BOOST_TEST(p.avatar_url.value == "https://a/b.png");
	BOOST_TEST(p.kind.value() == "agent");
	BOOST_TEST((p.attrs == J(R"({"plan": "pro"})")));
	BOOST_TEST((p.policy == core::Policy::Fill));
	BOOST_TEST(p.observed_at.value() == T2026);
	BOOST_TEST(p.identities().size() == 5u);
}

BOOST_AUTO_TEST_CASE(first_error_wins_and_nothing_is_partial) {
	/* a bad key after good ones still refuses the whole payload */
	refused(R"({"fid": 3, "wallets": [")" + W1 + R"("], "kind": "robot"})", "kind");
	/* the first offending key in document order is the one named */
	refused(R"({"fid": 0, "kind": "robot"})", "fid");
	refused(R"({"kind": "robot", "fid": 0})", "kind");
}

/* ------------------------------------------------------------------ lock keys */

BOOST_AUTO_TEST_CASE(identity_lock_key_stable) {
	BOOST_TEST(core::identity_lock_key("fid", "12") == core::identity_lock_key("fid", "12"));
	BOOST_TEST(core::identity_lock_key("wallet", W1) == core::identity_lock_key(std::string("wallet"), std::string(W1)));
	/* a fixed function of its input: the same value whatever the call order */
	const auto a = core::identity_lock_key("id", UUID);
	(void) core::identity_lock_key("fid", "1");
	BOOST_TEST(core::identity_lock_key("id", UUID) == a);
}

BOOST_AUTO_TEST_CASE(identity_lock_key_distinct) {
	/* the kind / value boundary is part of the key */
	BOOST_TEST(core::identity_lock_key("fid", "12") != core::identity_lock_key("fid1", "2"));
	BOOST_TEST(core::identity_lock_key("fid", "12") != core::identity_lock_key("fi", "d12"));
	BOOST_TEST(core::identity_lock_key("", "fid12") != core::identity_lock_key("fid12", ""));
	/* the kind is part of the key */
	BOOST_TEST(core::identity_lock_key("wallet", "x") != core::identity_lock_key("agent", "x"));
	BOOST_TEST(core::identity_lock_key("id", UUID) != core::identity_lock_key("agent", UUID));
	BOOST_TEST(core::identity_lock_key("external", "clerk:u") != core::identity_lock_key("agent", "clerk:u"));
	/* no collision among nearby values */
	std::set<std::uint64_t> seen;
	for (int i = 1; i <= 20000; i++)
		seen.insert(core::identity_lock_key("fid", std::to_string(i)));
	for (int i = 1; i <= 20000; i++)
		seen.insert(core::identity_lock_key("agent", std::to_string(i)));
	BOOST_TEST(seen.size() == 40000u);
}
