/*
 * test_plan.cpp
 *	  Unit tests of plan_upsert() (DESIGN.md 4.2, 4.3, 4.5): insert, the
 *	  merge / fill / keep policies field by field, unchanged detection, stale
 *	  protection, UU001 refusals, the owner order of keep with several owners,
 *	  the primary_address rules, and merges of several owners (4.4): who
 *	  survives, what is refused, field and attrs outcomes.
 *
 *	  Stored users are built as to_jsonb(users row) objects; their identities
 *	  are (kind, value) pairs as in user_upsert.identities. The owner of each
 *	  payload identity is derived from those pairs, as the glue would find it.
 *
 * IDENTIFICATION
 *	  test/unit/test_plan.cpp
 */
#define BOOST_TEST_MODULE plan
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/json.hpp"
#include "core/payload.hpp"
#include "core/plan.hpp"
#include "core/timestamp.hpp"
#include "support.hpp"

using uu::core::Action;
using uu::core::Error;
using uu::core::IdentityPair;
using uu::core::IdLookup;
using uu::core::Json;
using uu::core::Plan;
using uu::core::StoredUser;
namespace core = uu::core;

using uu::test::J;
using uu::test::capture;

namespace {


const std::string U1 = "11111111-1111-4111-8111-111111111111";
const std::string U2 = "22222222-2222-4222-8222-222222222222";
const std::string U3 = "33333333-3333-4333-8333-333333333333";
const std::string U9 = "99999999-9999-4999-8999-999999999999"; /* names no row */
const std::string UD = "dddddddd-dddd-4ddd-8ddd-dddddddddddd"; /* a deleted user */

const std::string W1 = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed";
const std::string W2 = "0xfb6916095ca1df60bb79ce92ce3ea74c37c5d359";
const std::string W3 = "0xdbf03b407c01e7cd3cbea99509d93f8dddc8c6fb";
const std::string W4 = "0xd1220a0cf47c7b9be7a2e6ba89f429762e7b9adb";
const std::string W1_UP = "0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED";
const std::string SOL = "So11111111111111111111111111111111111111112";

const std::string T0 = "2026-01-01T00:00:00+00:00";
/* 2026-01-01T00:00:00Z in microseconds */
constexpr core::EpochMicros T0_US = 1767225600LL * 1000000;

/* A users row as to_jsonb() gives it, with `overrides` applied, and its identities. */
StoredUser
user(const std::string &id, std::string_view overrides, std::vector<IdentityPair> identities) {
	Json row = J(R"({"id": null, "kind": "human", "fid": null, "primary_address": null, "agent_id": null,
	                 "email": null, "username": null, "display_name": null, "avatar_url": null, "attrs": {},
	                 "created_at": "2026-01-01T00:00:00+00:00", "updated_at": "2026-01-01T00:00:00+00:00",
	                 "observed_at": null, "version": 1, "merged_into": null, "deleted_at": null})");
	row.set("id", Json::string(id));
	const Json changes = J(overrides);
	for (const auto &[key, value] : changes.members())
		row.set(key, value);
	return StoredUser{std::move(row), std::move(identities)};
}

IdLookup
live(const std::string &owner) {
	IdLookup id;
	id.state = IdLookup::State::Live;
	id.owner = owner;
	return id;
}

IdLookup
no_row() {
	IdLookup id;
	id.state = IdLookup::State::NoRow;
	return id;
}

IdLookup
deleted_row() {
	IdLookup id;
	id.state = IdLookup::State::Deleted;
	return id;
}

core::Config
max_wallets(int n) {
	core::Config c;
	c.max_wallets = n;
	return c;
}

/* An identity owned by a deleted user. */
struct DeletedIdentity {
	std::string kind, value, owner;
};

/*
 * Parses the payload and plans it against `users`: each payload identity's
 * owner is the user whose identities hold it (or a deleted owner from
 * `deleted`); `owners` are the distinct live owners, payload id first, then
 * identity order, as the glue passes them.
 */
Plan
run(std::string_view payload_json, const std::vector<StoredUser> &users, const IdLookup &id = IdLookup{},
    const core::Config &config = core::Config{}, const std::vector<DeletedIdentity> &deleted = {}) {
	const core::Payload payload = core::parse_payload(J(payload_json), config);
	std::vector<core::IdentityOwner> identity_owner;
	std::vector<StoredUser> owners;
	auto add_owner = [&](const std::string &owner) {
		for (const auto &o : owners)
			if (o.id() == owner)
				return;
		for (const auto &u : users)
			if (u.id() == owner) {
				owners.push_back(u);
				return;
			}
		throw std::logic_error("test: no user " + owner);
	};
	if (id.state == IdLookup::State::Live)
		add_owner(id.owner);
	for (const auto &identity : payload.identities()) {
		core::IdentityOwner o;
		const std::string kind = core::identity_kind_name(identity.kind);
		for (const auto &d : deleted)
			if (d.kind == kind && d.value == identity.value) {
				o.owner = d.owner;
				o.deleted = true;
			}
		if (!o.deleted)
			for (const auto &u : users)
				if (u.owns(kind, identity.value))
					o.owner = u.id();
		if (!o.owner.empty() && !o.deleted)
			add_owner(o.owner);
		identity_owner.push_back(o);
	}
	return core::plan_upsert(payload, config, id, identity_owner, owners);
}

std::vector<IdentityPair>
sorted(std::vector<IdentityPair> v) {
	std::sort(v.begin(), v.end());
	return v;
}

std::string
show(const std::vector<IdentityPair> &v) {
	std::ostringstream out;
	out << "[";
	for (std::size_t i = 0; i < v.size(); i++)
		out << (i ? ", " : "") << "(" << v[i].first << ", " << v[i].second << ")";
	out << "]";
	return out.str();
}

std::string
show(const std::optional<std::string> &s) {
	return s ? "\"" + *s + "\"" : std::string("null");
}

#define CHECK_LINKS(plan, ...)                                                                                      \
	do {                                                                                                            \
		const std::vector<IdentityPair> want_ = sorted(std::vector<IdentityPair>{__VA_ARGS__});                    \
		const std::vector<IdentityPair> got_ = sorted((plan).link);                                                 \
		BOOST_TEST((got_ == want_), "link " << show(got_) << " != " << show(want_));                               \
	} while (0)

#define CHECK_OPT(actual, expected)                                                                                 \
	do {                                                                                                            \
		const std::optional<std::string> a_ = (actual);                                                             \
		const std::optional<std::string> e_ = (expected);                                                           \
		BOOST_TEST((a_ == e_), #actual " is " << show(a_) << ", expected " << show(e_));                           \
	} while (0)

#define CHECK_ACTION(plan, expected)                                                                                \
	BOOST_TEST((plan.action == (expected)),                                                                         \
	           "action " << core::action_name(plan.action) << ", expected " << core::action_name(expected))

/* Asserts that `expr` throws UU001 naming `fld`; evaluates to nothing. */
#define CHECK_UU001(expr, fld)                                                                                      \
	do {                                                                                                            \
		const std::optional<Error> e_ = capture([&] { (void) (expr); });                                            \
		BOOST_TEST(e_.has_value(), #expr " did not throw");                                                         \
		if (e_) {                                                                                                   \
			BOOST_TEST((e_->code == Error::Code::IdentityConflict), "code is not UU001: " << e_->message);           \
			BOOST_TEST(e_->field == std::string(fld));                                                              \
			BOOST_TEST(!e_->message.empty());                                                                       \
			BOOST_TEST(!e_->detail.empty());                                                                        \
		}                                                                                                           \
	} while (0)

/* A plan that writes nothing: unchanged (or stale), answering `who`. */
#define CHECK_NO_WRITE(plan, action_, who)                                                                          \
	do {                                                                                                            \
		CHECK_ACTION(plan, action_);                                                                                \
		BOOST_TEST(plan.user_id == (who));                                                                          \
		BOOST_TEST(!plan.write_row);                                                                                \
		BOOST_TEST(!plan.insert);                                                                                   \
		BOOST_TEST(plan.link.empty(), "link " << show(plan.link));                                                  \
		BOOST_TEST(plan.merges.empty());                                                                            \
	} while (0)

/* The usual existing user: fid 3, a wallet, some attributes. */
StoredUser
alice() {
	return user(U1,
	            R"({"fid": 3, "primary_address": ")" + W1 + R"(", "email": "old@x.io", "username": "old",
	                "avatar_url": "https://a/1.png", "attrs": {"a": 1, "b": {"c": 2, "d": 3}}})",
	            {{"fid", "3"}, {"wallet", W1}});
}

} // namespace

/* ================================================================== insert */

BOOST_AUTO_TEST_CASE(insert_with_every_identity) {
	const Plan p = run(R"({"fid": 3, "wallets": [")" + W2 + R"(", ")" + SOL + R"("], "agent_id": "bot",
	                       "external": {"zeta": "z", "Clerk": "u1"}, "email": "A@B.co", "username": "al",
	                       "display_name": "Al", "avatar_url": "https://x", "attrs": {"a": 1, "n": null, "o": {"p": null}},
	                       "observed_at": "2026-01-01T00:00:00Z"})",
	                   {});
	CHECK_ACTION(p, Action::Inserted);
	BOOST_TEST(p.insert);
	BOOST_TEST(p.write_row);
	BOOST_TEST(p.user_id.empty());
	BOOST_TEST(p.merges.empty());
	CHECK_LINKS(p, {"fid", "3"}, {"external", "clerk:u1"}, {"external", "zeta:z"}, {"agent", "bot"}, {"wallet", W2},
	            {"wallet", SOL});
	BOOST_TEST(p.row.kind == "agent");
	BOOST_TEST(p.row.fid.value_or(0) == 3);
	CHECK_OPT(p.row.agent_id, std::string("bot"));
	CHECK_OPT(p.row.primary_address, W2);
	CHECK_OPT(p.row.email, std::string("a@b.co"));
	CHECK_OPT(p.row.username, std::string("al"));
	CHECK_OPT(p.row.display_name, std::string("Al"));
	CHECK_OPT(p.row.avatar_url, std::string("https://x"));
	/* a merge patch applied to {}: nulls remove nothing and are not stored */
	BOOST_TEST((p.row.attrs == J(R"({"a": 1, "o": {}})")), p.row.attrs.dump());
	BOOST_TEST(p.row.observed_at.value_or(0) == T0_US);
}

BOOST_AUTO_TEST_CASE(insert_kind) {
	BOOST_TEST(run(R"({"fid": 3})", {}).row.kind == "human");
	BOOST_TEST(run(R"({"agent_id": "bot"})", {}).row.kind == "agent");
	BOOST_TEST(run(R"({"fid": 3, "kind": "agent"})", {}).row.kind == "agent");
	BOOST_TEST(run(R"({"fid": 3, "agent_id": "bot", "kind": "agent"})", {}).row.kind == "agent");
}

BOOST_AUTO_TEST_CASE(insert_minimal_row) {
	const Plan p = run(R"({"external": {"clerk": "u1"}})", {});
	CHECK_ACTION(p, Action::Inserted);
	CHECK_LINKS(p, {"external", "clerk:u1"});
	BOOST_TEST(!p.row.fid.has_value());
	CHECK_OPT(p.row.primary_address, std::nullopt);
	CHECK_OPT(p.row.agent_id, std::nullopt);
	CHECK_OPT(p.row.email, std::nullopt);
	CHECK_OPT(p.row.username, std::nullopt);
	BOOST_TEST((p.row.attrs == Json::object()));
	BOOST_TEST(!p.row.observed_at.has_value());
}

BOOST_AUTO_TEST_CASE(insert_primary_address) {
	/* the first wallet in payload order */
	Plan p = run(R"({"wallets": [")" + SOL + R"(", ")" + W1 + R"("]})", {});
	CHECK_OPT(p.row.primary_address, SOL);
	CHECK_LINKS(p, {"wallet", SOL}, {"wallet", W1});
	/* an explicit primary address among the wallets */
	p = run(R"({"wallets": [")" + W1 + R"(", ")" + W2 + R"("], "primary_address": ")" + W2 + R"("})", {});
	CHECK_OPT(p.row.primary_address, W2);
	CHECK_LINKS(p, {"wallet", W1}, {"wallet", W2});
	/* an explicit primary address not among the wallets is added to them */
	p = run(R"({"wallets": [")" + W1 + R"("], "primary_address": ")" + W3 + R"("})", {});
	CHECK_OPT(p.row.primary_address, W3);
	CHECK_LINKS(p, {"wallet", W1}, {"wallet", W3});
	p = run(R"({"primary_address": ")" + W1_UP + R"("})", {});
	CHECK_OPT(p.row.primary_address, W1);
	CHECK_LINKS(p, {"wallet", W1});
	/* repeated spellings link once */
	p = run(R"({"wallets": [")" + W1_UP + R"(", ")" + W1 + R"("], "primary_address": ")" + W1 + R"("})", {});
	CHECK_LINKS(p, {"wallet", W1});
}

BOOST_AUTO_TEST_CASE(insert_with_explicit_id) {
	const Plan p = run(R"({"id": "99999999-9999-4999-8999-999999999999", "fid": 3})", {}, no_row());
	CHECK_ACTION(p, Action::Inserted);
	BOOST_TEST(p.insert);
	BOOST_TEST(p.user_id == U9);
	CHECK_LINKS(p, {"fid", "3"});
	/* upper case id: the new row takes the canonical lowercase spelling */
	const Plan q = run(R"({"id": "DDDDDDDD-DDDD-4DDD-8DDD-DDDDDDDDDDDD"})", {}, no_row());
	CHECK_ACTION(q, Action::Inserted);
	BOOST_TEST(q.user_id == UD);
	BOOST_TEST(q.link.empty());
}

BOOST_AUTO_TEST_CASE(insert_under_every_policy) {
	for (const char *policy : {"merge", "fill", "keep"}) {
		BOOST_TEST_CONTEXT(policy) {
			const Plan p = run(R"({"fid": 3, "wallets": [")" + W1 + R"("], "username": "u", "email": null,
			                       "attrs": {"a": 1}, "kind": "agent", "policy": ")" +
			                       std::string(policy) + R"("})",
			                   {});
			CHECK_ACTION(p, Action::Inserted);
			BOOST_TEST(p.insert);
			BOOST_TEST(p.write_row);
			CHECK_LINKS(p, {"fid", "3"}, {"wallet", W1});
			CHECK_OPT(p.row.username, std::string("u"));
			CHECK_OPT(p.row.email, std::nullopt);
			CHECK_OPT(p.row.primary_address, W1);
			BOOST_TEST((p.row.attrs == J(R"({"a": 1})")));
			BOOST_TEST(p.row.kind == "agent");
		}
	}
}

/* ================================================================== one owner: text fields */

BOOST_AUTO_TEST_CASE(merge_absent_fields_unchanged) {
	const Plan p = run(R"({"fid": 3})", {alice()});
	CHECK_NO_WRITE(p, Action::Unchanged, U1);
	const Plan q = run(R"({"wallets": [")" + W1_UP + R"("], "fid": "3"})", {alice()});
	CHECK_NO_WRITE(q, Action::Unchanged, U1);
}

BOOST_AUTO_TEST_CASE(merge_null_clears) {
	const Plan p = run(R"({"fid": 3, "email": null, "username": null, "display_name": null, "avatar_url": null})",
	                   {alice()});
	CHECK_ACTION(p, Action::Updated);
	BOOST_TEST(p.user_id == U1);
	BOOST_TEST(p.write_row);
	BOOST_TEST(!p.insert);
	BOOST_TEST(p.link.empty());
	CHECK_OPT(p.row.email, std::nullopt);
	CHECK_OPT(p.row.username, std::nullopt);
	CHECK_OPT(p.row.display_name, std::nullopt);
	CHECK_OPT(p.row.avatar_url, std::nullopt);
	/* untouched columns keep their values */
	BOOST_TEST(p.row.fid.value_or(0) == 3);
	CHECK_OPT(p.row.primary_address, W1);
	BOOST_TEST((p.row.attrs == J(R"({"a": 1, "b": {"c": 2, "d": 3}})")));
	BOOST_TEST(p.row.kind == "human");
}

BOOST_AUTO_TEST_CASE(merge_value_sets) {
	const Plan p = run(R"({"fid": 3, "email": "NEW@x.io", "username": "new", "display_name": "D"})", {alice()});
	CHECK_ACTION(p, Action::Updated);
	BOOST_TEST(p.write_row);
	CHECK_OPT(p.row.email, std::string("new@x.io"));
	CHECK_OPT(p.row.username, std::string("new"));
	CHECK_OPT(p.row.display_name, std::string("D"));
	CHECK_OPT(p.row.avatar_url, std::string("https://a/1.png"));
}

BOOST_AUTO_TEST_CASE(merge_same_values_unchanged) {
	/* the same values (email after normalization): nothing would change */
	const Plan p = run(R"({"fid": 3, "wallets": [")" + W1 + R"("], "email": " OLD@X.IO ", "username": "old",
	                       "avatar_url": "https://a/1.png", "kind": "human", "attrs": {"a": 1.0, "b": {"c": 2}},
	                       "primary_address": ")" + W1 + R"("})",
	                   {alice()});
	CHECK_NO_WRITE(p, Action::Unchanged, U1);
	/* clearing what is already null */
	const Plan q = run(R"({"fid": 3, "display_name": null})", {alice()});
	CHECK_NO_WRITE(q, Action::Unchanged, U1);
}

BOOST_AUTO_TEST_CASE(fill_sets_only_nulls) {
	const Plan p = run(R"({"fid": 3, "policy": "fill", "email": "new@x.io", "username": null, "display_name": "D",
	                       "avatar_url": null})",
	                   {alice()});
	CHECK_ACTION(p, Action::Updated);
	BOOST_TEST(p.write_row);
	CHECK_OPT(p.row.email, std::string("old@x.io"));
	CHECK_OPT(p.row.username, std::string("old"));
	CHECK_OPT(p.row.display_name, std::string("D"));
	CHECK_OPT(p.row.avatar_url, std::string("https://a/1.png"));
}

BOOST_AUTO_TEST_CASE(fill_nothing_to_fill_unchanged) {
	const Plan p = run(R"({"fid": 3, "policy": "fill", "email": "new@x.io", "username": "new", "display_name": null,
	                       "avatar_url": null, "kind": "agent", "primary_address": ")" + W1 + R"("})",
	                   {alice()});
	CHECK_NO_WRITE(p, Action::Unchanged, U1);
}

BOOST_AUTO_TEST_CASE(keep_changes_nothing) {
	const Plan p = run(R"({"fid": 3, "policy": "keep", "email": null, "username": "new", "display_name": "D",
	                       "kind": "agent", "attrs": null, "wallets": [")" + W2 + R"("], "agent_id": "bot",
	                       "external": {"clerk": "u1"}, "primary_address": ")" + W3 + R"(",
	                       "observed_at": "2027-01-01T00:00:00Z"})",
	                   {alice()});
	CHECK_NO_WRITE(p, Action::Unchanged, U1);
	/* reached through a wallet */
	const Plan q = run(R"({"wallets": [")" + W1 + R"("], "policy": "keep", "fid": 4})", {alice()});
	CHECK_NO_WRITE(q, Action::Unchanged, U1);
}

BOOST_AUTO_TEST_CASE(kind_per_policy) {
	Plan p = run(R"({"fid": 3, "kind": "agent"})", {alice()});
	CHECK_ACTION(p, Action::Updated);
	BOOST_TEST(p.row.kind == "agent");
	p = run(R"({"fid": 3, "kind": "agent", "policy": "fill"})", {alice()});
	CHECK_NO_WRITE(p, Action::Unchanged, U1);
	p = run(R"({"fid": 3, "kind": "agent", "policy": "keep"})", {alice()});
	CHECK_NO_WRITE(p, Action::Unchanged, U1);
	/* an agent set back to human under merge */
	const StoredUser bot = user(U2, R"({"kind": "agent", "agent_id": "bot"})", {{"agent", "bot"}});
	p = run(R"({"agent_id": "bot", "kind": "human"})", {bot});
	CHECK_ACTION(p, Action::Updated);
	BOOST_TEST(p.row.kind == "human");
}

BOOST_AUTO_TEST_CASE(linking_agent_keeps_kind) {
	for (const char *policy : {"merge", "fill"}) {
		BOOST_TEST_CONTEXT(policy) {
			const Plan p = run(R"({"fid": 3, "agent_id": "bot", "policy": ")" + std::string(policy) + R"("})",
			                   {alice()});
			CHECK_ACTION(p, Action::Updated);
			BOOST_TEST(p.row.kind == "human");
			CHECK_OPT(p.row.agent_id, std::string("bot"));
			CHECK_LINKS(p, {"agent", "bot"});
		}
	}
}

/* ================================================================== one owner: identities */

BOOST_AUTO_TEST_CASE(new_identities_linked_under_merge_and_fill) {
	for (const char *policy : {"merge", "fill"}) {
		BOOST_TEST_CONTEXT(policy) {
			const StoredUser bare = user(U2, R"({})", {{"external", "clerk:u1"}});
			const Plan p = run(R"({"external": {"clerk": "u1", "github": "g1"}, "fid": 9, "agent_id": "bot",
			                       "wallets": [")" + W2 + R"("], "policy": ")" +
			                       std::string(policy) + R"("})",
			                   {bare});
			CHECK_ACTION(p, Action::Updated);
			BOOST_TEST(p.user_id == U2);
			BOOST_TEST(p.write_row);
			BOOST_TEST(!p.insert);
			CHECK_LINKS(p, {"external", "github:g1"}, {"fid", "9"}, {"agent", "bot"}, {"wallet", W2});
			BOOST_TEST(p.row.fid.value_or(0) == 9);
			CHECK_OPT(p.row.agent_id, std::string("bot"));
			CHECK_OPT(p.row.primary_address, W2);
		}
	}
}

BOOST_AUTO_TEST_CASE(explicit_live_id) {
	/* the id alone reaches the user */
	Plan p = run(R"({"id": ")" + U1 + R"(", "username": "x"})", {alice()}, live(U1));
	CHECK_ACTION(p, Action::Updated);
	BOOST_TEST(p.user_id == U1);
	CHECK_OPT(p.row.username, std::string("x"));
	/* id and an identity of the same user */
	p = run(R"({"id": ")" + U1 + R"(", "fid": 3})", {alice()}, live(U1));
	CHECK_NO_WRITE(p, Action::Unchanged, U1);
	/* id with unowned identities: linked to it */
	p = run(R"({"id": ")" + U1 + R"(", "wallets": [")" + W2 + R"("], "external": {"clerk": "u1"}})", {alice()},
	        live(U1));
	CHECK_ACTION(p, Action::Updated);
	BOOST_TEST(p.user_id == U1);
	CHECK_LINKS(p, {"wallet", W2}, {"external", "clerk:u1"});
	CHECK_OPT(p.row.primary_address, W1);
	/* an id that resolves (through a tombstone) to another live user: that user is answered */
	p = run(R"({"id": ")" + U3 + R"(", "fid": 3})", {alice()}, live(U1));
	CHECK_NO_WRITE(p, Action::Unchanged, U1);
}

/* ================================================================== attrs */

BOOST_AUTO_TEST_CASE(attrs_merge_patch) {
	const Plan p = run(R"({"fid": 3, "attrs": {"a": null, "b": {"c": 5, "d": null, "e": {"f": 1}}, "g": [1, null]}})",
	                   {alice()});
	CHECK_ACTION(p, Action::Updated);
	BOOST_TEST((p.row.attrs == J(R"({"b": {"c": 5, "e": {"f": 1}}, "g": [1, null]})")), p.row.attrs.dump());
}

BOOST_AUTO_TEST_CASE(attrs_merge_patch_without_change_unchanged) {
	/* removing an absent key and setting equal values changes nothing */
	const Plan p = run(R"({"fid": 3, "attrs": {"zz": null, "a": 1.00, "b": {"d": 3}}})", {alice()});
	CHECK_NO_WRITE(p, Action::Unchanged, U1);
	const Plan q = run(R"({"fid": 3, "attrs": {}})", {alice()});
	CHECK_NO_WRITE(q, Action::Unchanged, U1);
}

BOOST_AUTO_TEST_CASE(attrs_null_resets) {
	const Plan p = run(R"({"fid": 3, "attrs": null})", {alice()});
	CHECK_ACTION(p, Action::Updated);
	BOOST_TEST((p.row.attrs == Json::object()), p.row.attrs.dump());
	/* already empty: unchanged */
	const StoredUser empty = user(U2, R"({"fid": 4})", {{"fid", "4"}});
	const Plan q = run(R"({"fid": 4, "attrs": null})", {empty});
	CHECK_NO_WRITE(q, Action::Unchanged, U2);
}

BOOST_AUTO_TEST_CASE(attrs_fill_adds_absent_keys) {
	const StoredUser u = user(U1, R"({"fid": 3, "attrs": {"a": 1, "n": null, "o": {"x": 1}}})", {{"fid", "3"}});
	const Plan p = run(R"({"fid": 3, "policy": "fill",
	                       "attrs": {"a": 2, "n": 5, "o": {"y": 2}, "new": {"deep": null}, "skip": null}})",
	                   {u});
	CHECK_ACTION(p, Action::Updated);
	/* top-level keys only: present keys (even holding null) keep their value, null values are skipped */
	BOOST_TEST((p.row.attrs == J(R"({"a": 1, "n": null, "o": {"x": 1}, "new": {"deep": null}})")), p.row.attrs.dump());
	/* nothing absent to add */
	const Plan q = run(R"({"fid": 3, "policy": "fill", "attrs": {"a": 2, "skip": null}})", {u});
	CHECK_NO_WRITE(q, Action::Unchanged, U1);
	/* null under fill: unchanged */
	const Plan r = run(R"({"fid": 3, "policy": "fill", "attrs": null})", {u});
	CHECK_NO_WRITE(r, Action::Unchanged, U1);
}

BOOST_AUTO_TEST_CASE(attrs_keep_unchanged) {
	const Plan p = run(R"({"fid": 3, "policy": "keep", "attrs": {"a": 2}})", {alice()});
	CHECK_NO_WRITE(p, Action::Unchanged, U1);
}

/* ================================================================== observed_at */

BOOST_AUTO_TEST_CASE(observed_at_older_is_stale) {
	const StoredUser u = user(U1, R"({"fid": 3, "username": "old", "observed_at": ")" + T0 + R"("})", {{"fid", "3"}});
	for (const char *policy : {"merge", "fill", "keep"}) {
		BOOST_TEST_CONTEXT(policy) {
			const Plan p = run(R"({"fid": 3, "username": "new", "wallets": [")" + W2 + R"("],
			                       "observed_at": "2025-12-31T23:59:59.999999Z", "policy": ")" +
			                       std::string(policy) + R"("})",
			                   {u});
			CHECK_NO_WRITE(p, Action::Stale, U1);
		}
	}
	/* epoch milliseconds, one millisecond older */
	const Plan q = run(R"({"fid": 3, "username": "new", "observed_at": 1767225599999})", {u});
	CHECK_NO_WRITE(q, Action::Stale, U1);
}

BOOST_AUTO_TEST_CASE(observed_at_stale_before_conflicts) {
	/* older: stale, even though the payload would otherwise be refused (second fid) */
	const StoredUser u = user(U1, R"({"fid": 3, "primary_address": ")" + W1 + R"(", "observed_at": ")" + T0 + R"("})",
	                          {{"fid", "3"}, {"wallet", W1}});
	const Plan p = run(R"({"wallets": [")" + W1 + R"("], "fid": 4, "observed_at": "2025-01-01T00:00:00Z"})", {u});
	CHECK_NO_WRITE(p, Action::Stale, U1);
}

BOOST_AUTO_TEST_CASE(observed_at_equal_applies) {
	const StoredUser u = user(U1, R"({"fid": 3, "username": "old", "observed_at": ")" + T0 + R"("})", {{"fid", "3"}});
	/* equal, given in another zone, with a change: applied, observed_at unchanged */
	Plan p = run(R"({"fid": 3, "username": "new", "observed_at": "2026-01-01T01:00:00+01:00"})", {u});
	CHECK_ACTION(p, Action::Updated);
	CHECK_OPT(p.row.username, std::string("new"));
	BOOST_TEST(p.row.observed_at.value_or(0) == T0_US);
	/* equal and nothing else: unchanged */
	p = run(R"({"fid": 3, "observed_at": 1767225600000})", {u});
	CHECK_NO_WRITE(p, Action::Unchanged, U1);
}

BOOST_AUTO_TEST_CASE(observed_at_newer_alone_is_a_change) {
	const StoredUser u = user(U1, R"({"fid": 3, "observed_at": "2026-01-01T00:00:00.5+00:00"})", {{"fid", "3"}});
	for (const char *policy : {"merge", "fill"}) {
		BOOST_TEST_CONTEXT(policy) {
			const Plan p = run(R"({"fid": 3, "observed_at": "2026-01-01T00:00:00.500001Z", "policy": ")" +
			                       std::string(policy) + R"("})",
			                   {u});
			CHECK_ACTION(p, Action::Updated);
			BOOST_TEST(p.write_row);
			BOOST_TEST(p.link.empty());
			BOOST_TEST(p.row.observed_at.value_or(0) == T0_US + 500001);
		}
	}
	/* keep stores nothing */
	const Plan k = run(R"({"fid": 3, "observed_at": "2027-01-01T00:00:00Z", "policy": "keep"})", {u});
	CHECK_NO_WRITE(k, Action::Unchanged, U1);
}

BOOST_AUTO_TEST_CASE(observed_at_null_on_either_side_applies) {
	/* stored null: the payload's is applied and stored */
	const StoredUser u = user(U1, R"({"fid": 3})", {{"fid", "3"}});
	Plan p = run(R"({"fid": 3, "observed_at": "1970-01-01T00:00:00Z"})", {u});
	CHECK_ACTION(p, Action::Updated);
	BOOST_TEST(p.row.observed_at.value_or(-1) == 0);
	/* payload without observed_at: applied, stored value kept */
	const StoredUser v = user(U1, R"({"fid": 3, "observed_at": "2030-01-01T00:00:00+00:00"})", {{"fid", "3"}});
	p = run(R"({"fid": 3, "username": "x"})", {v});
	CHECK_ACTION(p, Action::Updated);
	BOOST_TEST(p.row.observed_at.has_value());
	BOOST_TEST(p.row.observed_at.value_or(0) == core::parse_iso8601("2030-01-01T00:00:00Z").value());
}

BOOST_AUTO_TEST_CASE(observed_at_stored_in_other_time_zone) {
	/* to_jsonb renders timestamptz in the session time zone */
	const StoredUser u = user(U1, R"({"fid": 3, "observed_at": "2026-01-01T05:30:00+05:30"})", {{"fid", "3"}});
	CHECK_NO_WRITE(run(R"({"fid": 3, "username": "x", "observed_at": "2025-12-31T23:59:59Z"})", {u}), Action::Stale,
	               U1);
	CHECK_NO_WRITE(run(R"({"fid": 3, "observed_at": "2026-01-01T00:00:00Z"})", {u}), Action::Unchanged, U1);
}

BOOST_AUTO_TEST_CASE(observed_at_stale_with_several_owners) {
	/* the newest observed_at of the live owners decides; the answer is the first owner in 4.2's order */
	const StoredUser a = user(U1, R"({"fid": 3, "observed_at": ")" + T0 + R"("})", {{"fid", "3"}});
	const StoredUser b = user(U2, R"({"primary_address": ")" + W1 + R"(", "observed_at": "2026-06-01T00:00:00+00:00"})",
	                          {{"wallet", W1}});
	const StoredUser c = user(U3, R"({"agent_id": "bot"})", {{"agent", "bot"}});
	/* payload newer than a, older than b */
	CHECK_NO_WRITE(run(R"({"wallets": [")" + W1 + R"("], "fid": 3, "observed_at": "2026-03-01T00:00:00Z"})", {a, b}),
	               Action::Stale, U1);
	CHECK_NO_WRITE(run(R"({"wallets": [")" + W1 + R"("], "agent_id": "bot", "observed_at": "2026-03-01T00:00:00Z",
	                       "policy": "keep"})",
	                   {b, c}),
	               Action::Stale, U3);
	/* the payload id comes first */
	CHECK_NO_WRITE(run(R"({"id": ")" + U2 + R"(", "fid": 3, "observed_at": "2026-03-01T00:00:00Z"})", {a, b}, live(U2)),
	               Action::Stale, U2);
	/* external before agent */
	const StoredUser d = user(U1, R"({})", {{"external", "clerk:u1"}});
	const StoredUser e = user(U2, R"({"agent_id": "bot", "observed_at": ")" + T0 + R"("})", {{"agent", "bot"}});
	CHECK_NO_WRITE(run(R"({"agent_id": "bot", "external": {"clerk": "u1"}, "observed_at": "2025-01-01T00:00:00Z"})",
	                   {d, e}),
	               Action::Stale, U1);
}

/* ================================================================== UU001 */

BOOST_AUTO_TEST_CASE(second_fid_refused) {
	for (const char *policy : {"merge", "fill"})
		BOOST_TEST_CONTEXT(policy) {
			CHECK_UU001(run(R"({"wallets": [")" + W1 + R"("], "fid": 4, "policy": ")" + std::string(policy) + R"("})",
			                {alice()}),
			            "fid");
		}
	/* keep links nothing, so nothing is refused */
	CHECK_NO_WRITE(run(R"({"wallets": [")" + W1 + R"("], "fid": 4, "policy": "keep"})", {alice()}), Action::Unchanged,
	               U1);
}

BOOST_AUTO_TEST_CASE(second_agent_refused) {
	const StoredUser u = user(U1, R"({"agent_id": "a1", "kind": "agent", "primary_address": ")" + W1 + R"("})",
	                          {{"agent", "a1"}, {"wallet", W1}});
	for (const char *policy : {"merge", "fill"})
		BOOST_TEST_CONTEXT(policy) {
			CHECK_UU001(
			    run(R"({"wallets": [")" + W1 + R"("], "agent_id": "a2", "policy": ")" + std::string(policy) + R"("})", {u}),
			    "agent_id");
		}
	CHECK_NO_WRITE(run(R"({"wallets": [")" + W1 + R"("], "agent_id": "a1"})", {u}), Action::Unchanged, U1);
	CHECK_NO_WRITE(run(R"({"wallets": [")" + W1 + R"("], "agent_id": "a2", "policy": "keep"})", {u}), Action::Unchanged,
	               U1);
}

BOOST_AUTO_TEST_CASE(second_subject_of_provider_refused) {
	const StoredUser u = user(U1, R"({"primary_address": ")" + W1 + R"("})", {{"external", "clerk:u1"}, {"wallet", W1}});
	for (const char *policy : {"merge", "fill"})
		BOOST_TEST_CONTEXT(policy) {
			CHECK_UU001(run(R"({"wallets": [")" + W1 + R"("], "external": {"Clerk": "u2"}, "policy": ")" +
			                    std::string(policy) + R"("})",
			                {u}),
			            "external.clerk");
		}
	/* the same subject, or another provider, is fine */
	CHECK_NO_WRITE(run(R"({"wallets": [")" + W1 + R"("], "external": {"clerk": "u1"}})", {u}), Action::Unchanged, U1);
	const Plan p = run(R"({"wallets": [")" + W1 + R"("], "external": {"github": "u2"}})", {u});
	CHECK_ACTION(p, Action::Updated);
	CHECK_LINKS(p, {"external", "github:u2"});
	/* a subject is case-sensitive: "U1" is another subject */
	CHECK_UU001(run(R"({"wallets": [")" + W1 + R"("], "external": {"clerk": "U1"}})", {u}), "external.clerk");
}

BOOST_AUTO_TEST_CASE(id_no_row_with_owned_identities_refused) {
	for (const char *policy : {"merge", "fill", "keep"})
		BOOST_TEST_CONTEXT(policy) {
			CHECK_UU001(run(R"({"id": ")" + U9 + R"(", "fid": 3, "policy": ")" + std::string(policy) + R"("})",
			                {alice()}, no_row()),
			            "id");
			/* the owned identity is not the first one */
			CHECK_UU001(run(R"({"id": ")" + U9 + R"(", "fid": 77, "wallets": [")" + W2 + R"(", ")" + W1 +
			                    R"("], "policy": ")" + std::string(policy) + R"("})",
			                {alice()}, no_row()),
			            "id");
		}
}

BOOST_AUTO_TEST_CASE(too_many_wallets_for_the_user) {
	const StoredUser u = user(U1, R"({"fid": 3, "primary_address": ")" + W1 + R"("})",
	                          {{"fid", "3"}, {"wallet", W1}, {"wallet", W2}});
	for (const char *policy : {"merge", "fill"})
		BOOST_TEST_CONTEXT(policy) {
			CHECK_UU001(run(R"({"fid": 3, "wallets": [")" + W3 + R"("], "policy": ")" + std::string(policy) + R"("})",
			                {u}, IdLookup{}, max_wallets(2)),
			            "wallets");
			CHECK_UU001(run(R"({"fid": 3, "primary_address": ")" + W3 + R"(", "policy": ")" + std::string(policy) +
			                    R"("})",
			                {u}, IdLookup{}, max_wallets(2)),
			            "wallets");
		}
	/* wallets the user already has do not count again */
	CHECK_NO_WRITE(run(R"({"fid": 3, "wallets": [")" + W2 + R"(", ")" + W1 + R"("]})", {u}, IdLookup{}, max_wallets(2)),
	               Action::Unchanged, U1);
	/* at the limit */
	const Plan p = run(R"({"fid": 3, "wallets": [")" + W3 + R"("]})", {u}, IdLookup{}, max_wallets(3));
	CHECK_ACTION(p, Action::Updated);
	CHECK_LINKS(p, {"wallet", W3});
	/* keep links nothing */
	CHECK_NO_WRITE(run(R"({"fid": 3, "wallets": [")" + W3 + R"("], "policy": "keep"})", {u}, IdLookup{}, max_wallets(2)),
	               Action::Unchanged, U1);
}

BOOST_AUTO_TEST_CASE(deleted_owner_refused) {
	const std::vector<DeletedIdentity> gone = {{"wallet", W2, UD}};
	CHECK_UU001(run(R"({"wallets": [")" + W2 + R"("]})", {}, IdLookup{}, core::Config{}, gone), "wallets[0]");
	CHECK_UU001(run(R"({"fid": 3, "wallets": [")" + W1 + R"(", ")" + W2 + R"("]})", {alice()}, IdLookup{},
	                core::Config{}, gone),
	            "wallets[1]");
	CHECK_UU001(run(R"({"primary_address": ")" + W2 + R"("})", {}, IdLookup{}, core::Config{}, gone),
	            "primary_address");
	const std::vector<DeletedIdentity> gone_fid = {{"fid", "5", UD}};
	CHECK_UU001(run(R"({"fid": 5, "username": "x"})", {}, IdLookup{}, core::Config{}, gone_fid), "fid");
}

BOOST_AUTO_TEST_CASE(deleted_id_names_the_deleted_user_it_was_merged_into) {
	IdLookup merged_into_deleted = deleted_row();
	merged_into_deleted.owner = U3;
	std::optional<Error> e = capture([&] { (void) run(R"({"id": ")" + UD + R"("})", {}, merged_into_deleted); });
	BOOST_REQUIRE(e.has_value());
	BOOST_TEST(e->message == "user " + UD + " was merged into user " + U3 + ", which is deleted");
	IdLookup deleted_itself = deleted_row();
	deleted_itself.owner = UD;
	e = capture([&] { (void) run(R"({"id": ")" + UD + R"("})", {}, deleted_itself); });
	BOOST_REQUIRE(e.has_value());
	BOOST_TEST(e->message == "user " + UD + " is deleted");
}

BOOST_AUTO_TEST_CASE(deleted_id_refused) {
	for (const char *policy : {"merge", "fill", "keep"})
		BOOST_TEST_CONTEXT(policy) {
			CHECK_UU001(run(R"({"id": ")" + UD + R"(", "policy": ")" + std::string(policy) + R"("})", {}, deleted_row()),
			            "id");
			CHECK_UU001(run(R"({"id": ")" + UD + R"(", "fid": 3, "policy": ")" + std::string(policy) + R"("})",
			                {alice()}, deleted_row()),
			            "id");
		}
}

/* ================================================================== keep with several owners */

BOOST_AUTO_TEST_CASE(keep_several_owners_answers_first_in_order) {
	const StoredUser by_fid = user(U1, R"({"fid": 3})", {{"fid", "3"}});
	const StoredUser by_wallet = user(U2, R"({"primary_address": ")" + W1 + R"("})", {{"wallet", W1}});
	const StoredUser by_agent = user(U3, R"({"agent_id": "bot", "kind": "agent"})", {{"agent", "bot"}});

	/* fid before wallets, whatever the key order of the payload */
	CHECK_NO_WRITE(run(R"({"wallets": [")" + W1 + R"("], "fid": 3, "policy": "keep"})", {by_fid, by_wallet}),
	               Action::Unchanged, U1);
	/* the payload id before everything */
	CHECK_NO_WRITE(run(R"({"fid": 3, "id": ")" + U2 + R"(", "policy": "keep"})", {by_fid, by_wallet}, live(U2)),
	               Action::Unchanged, U2);
	/* agent before wallets */
	CHECK_NO_WRITE(run(R"({"wallets": [")" + W1 + R"("], "agent_id": "bot", "policy": "keep"})", {by_wallet, by_agent}),
	               Action::Unchanged, U3);
	/* fid before agent */
	CHECK_NO_WRITE(run(R"({"agent_id": "bot", "fid": 3, "policy": "keep"})", {by_fid, by_agent}), Action::Unchanged, U1);
}

BOOST_AUTO_TEST_CASE(keep_several_owners_external_by_provider) {
	const StoredUser zeta = user(U1, R"({})", {{"external", "zeta:z"}});
	const StoredUser alpha = user(U2, R"({})", {{"external", "alpha:a"}});
	const StoredUser agent = user(U3, R"({"agent_id": "bot"})", {{"agent", "bot"}});
	/* external by provider name, then agent */
	CHECK_NO_WRITE(run(R"({"agent_id": "bot", "external": {"zeta": "z", "Alpha": "a"}, "policy": "keep"})",
	                   {zeta, alpha, agent}),
	               Action::Unchanged, U2);
	CHECK_NO_WRITE(run(R"({"agent_id": "bot", "external": {"zeta": "z"}, "policy": "keep"})", {zeta, agent}),
	               Action::Unchanged, U1);
}

BOOST_AUTO_TEST_CASE(keep_several_owners_primary_then_wallets_in_payload_order) {
	const StoredUser a = user(U1, R"({})", {{"wallet", W1}});
	const StoredUser b = user(U2, R"({})", {{"wallet", W2}});
	const StoredUser c = user(U3, R"({})", {{"wallet", W3}});
	/* wallets in payload order */
	CHECK_NO_WRITE(run(R"({"wallets": [")" + W2 + R"(", ")" + W1 + R"("], "policy": "keep"})", {a, b}),
	               Action::Unchanged, U2);
	CHECK_NO_WRITE(run(R"({"wallets": [")" + W4 + R"(", ")" + W1 + R"(", ")" + W2 + R"("], "policy": "keep"})", {a, b}),
	               Action::Unchanged, U1);
	/* primary_address before the wallets, even when listed last among them */
	CHECK_NO_WRITE(run(R"({"wallets": [")" + W1 + R"(", ")" + W2 + R"(", ")" + W3 + R"("], "primary_address": ")" + W3 +
	                       R"(", "policy": "keep"})",
	                   {a, b, c}),
	               Action::Unchanged, U3);
}

/* ================================================================== primary_address */

BOOST_AUTO_TEST_CASE(user_without_primary_gains_first_gained_wallet) {
	const StoredUser u = user(U1, R"({"fid": 3})", {{"fid", "3"}});
	for (const char *policy : {"merge", "fill"}) {
		BOOST_TEST_CONTEXT(policy) {
			const Plan p = run(R"({"fid": 3, "wallets": [")" + SOL + R"(", ")" + W2 + R"("], "policy": ")" +
			                       std::string(policy) + R"("})",
			                   {u});
			CHECK_ACTION(p, Action::Updated);
			CHECK_OPT(p.row.primary_address, SOL);
			CHECK_LINKS(p, {"wallet", SOL}, {"wallet", W2});
		}
	}
	/* a wallet the user already owns (its primary address was cleared) is not gained */
	const StoredUser v = user(U1, R"({"fid": 3})", {{"fid", "3"}, {"wallet", W1}});
	const Plan p = run(R"({"fid": 3, "wallets": [")" + W1 + R"(", ")" + W3 + R"(", ")" + W2 + R"("]})", {v});
	CHECK_ACTION(p, Action::Updated);
	CHECK_OPT(p.row.primary_address, W3);
	CHECK_LINKS(p, {"wallet", W3}, {"wallet", W2});
	/* no wallet gained: stays without one */
	const Plan q = run(R"({"fid": 3, "wallets": [")" + W1 + R"("]})", {v});
	CHECK_NO_WRITE(q, Action::Unchanged, U1);
}

BOOST_AUTO_TEST_CASE(null_primary_and_gained_wallets) {
	/* fill ignores the null: a user without primary address gets the first gained wallet */
	const StoredUser u = user(U1, R"({"fid": 3})", {{"fid", "3"}});
	Plan p = run(R"({"fid": 3, "primary_address": null, "wallets": [")" + W2 + R"(", ")" + W1 + R"("], "policy": "fill"})",
	             {u});
	CHECK_ACTION(p, Action::Updated);
	CHECK_OPT(p.row.primary_address, W2);
	/* README: on insert under merge an explicit null keeps the new user without a primary address */
	p = run(R"({"primary_address": null, "wallets": [")" + W2 + R"(", ")" + W1 + R"("]})", {});
	CHECK_ACTION(p, Action::Inserted);
	CHECK_OPT(p.row.primary_address, std::nullopt);
	CHECK_LINKS(p, {"wallet", W2}, {"wallet", W1});
	/* ... otherwise the first wallet in payload order becomes it */
	p = run(R"({"primary_address": null, "wallets": [")" + W2 + R"(", ")" + W1 + R"("], "policy": "fill"})", {});
	CHECK_OPT(p.row.primary_address, W2);
}

BOOST_AUTO_TEST_CASE(user_with_primary_keeps_it_when_gaining_wallets) {
	const Plan p = run(R"({"fid": 3, "wallets": [")" + W2 + R"(", ")" + W3 + R"("]})", {alice()});
	CHECK_ACTION(p, Action::Updated);
	CHECK_OPT(p.row.primary_address, W1);
	CHECK_LINKS(p, {"wallet", W2}, {"wallet", W3});
}

BOOST_AUTO_TEST_CASE(merge_null_primary_clears_but_keeps_wallet) {
	const Plan p = run(R"({"fid": 3, "primary_address": null})", {alice()});
	CHECK_ACTION(p, Action::Updated);
	BOOST_TEST(p.write_row);
	CHECK_OPT(p.row.primary_address, std::nullopt);
	/* nothing is unlinked: a plan only links */
	BOOST_TEST(p.link.empty());
	/* fill and keep ignore the null */
	CHECK_NO_WRITE(run(R"({"fid": 3, "primary_address": null, "policy": "fill"})", {alice()}), Action::Unchanged, U1);
	CHECK_NO_WRITE(run(R"({"fid": 3, "primary_address": null, "policy": "keep"})", {alice()}), Action::Unchanged, U1);
}

BOOST_AUTO_TEST_CASE(merge_value_primary_sets) {
	/* a new wallet: linked and made primary; the old one stays linked */
	Plan p = run(R"({"fid": 3, "primary_address": ")" + W2 + R"("})", {alice()});
	CHECK_ACTION(p, Action::Updated);
	CHECK_OPT(p.row.primary_address, W2);
	CHECK_LINKS(p, {"wallet", W2});
	/* a wallet the user already owns */
	const StoredUser u = user(U1, R"({"fid": 3, "primary_address": ")" + W1 + R"("})",
	                          {{"fid", "3"}, {"wallet", W1}, {"wallet", W2}});
	p = run(R"({"fid": 3, "primary_address": ")" + W2 + R"("})", {u});
	CHECK_ACTION(p, Action::Updated);
	CHECK_OPT(p.row.primary_address, W2);
	BOOST_TEST(p.link.empty());
	/* explicit primary wins over the first gained wallet */
	const StoredUser bare = user(U2, R"({"fid": 4})", {{"fid", "4"}});
	p = run(R"({"fid": 4, "wallets": [")" + W1 + R"("], "primary_address": ")" + W2 + R"("})", {bare});
	CHECK_OPT(p.row.primary_address, W2);
	CHECK_LINKS(p, {"wallet", W1}, {"wallet", W2});
}

BOOST_AUTO_TEST_CASE(fill_value_primary_only_when_null) {
	/* stored primary: unchanged, but the wallet is linked */
	Plan p = run(R"({"fid": 3, "primary_address": ")" + W2 + R"(", "policy": "fill"})", {alice()});
	CHECK_ACTION(p, Action::Updated);
	CHECK_OPT(p.row.primary_address, W1);
	CHECK_LINKS(p, {"wallet", W2});
	/* no stored primary: set */
	const StoredUser u = user(U1, R"({"fid": 3})", {{"fid", "3"}, {"wallet", W1}});
	p = run(R"({"fid": 3, "primary_address": ")" + W1 + R"(", "policy": "fill"})", {u});
	CHECK_ACTION(p, Action::Updated);
	CHECK_OPT(p.row.primary_address, W1);
	BOOST_TEST(p.link.empty());
	p = run(R"({"fid": 3, "wallets": [")" + W3 + R"("], "primary_address": ")" + W2 + R"(", "policy": "fill"})", {u});
	CHECK_OPT(p.row.primary_address, W2);
	CHECK_LINKS(p, {"wallet", W3}, {"wallet", W2});
}

/* ================================================================== misc */

BOOST_AUTO_TEST_CASE(action_names) {
	BOOST_TEST(std::string(core::action_name(Action::Inserted)) == "inserted");
	BOOST_TEST(std::string(core::action_name(Action::Updated)) == "updated");
	BOOST_TEST(std::string(core::action_name(Action::Unchanged)) == "unchanged");
	BOOST_TEST(std::string(core::action_name(Action::Merged)) == "merged");
	BOOST_TEST(std::string(core::action_name(Action::Stale)) == "stale");
}

BOOST_AUTO_TEST_CASE(stored_user_accessors) {
	const StoredUser u = alice();
	BOOST_TEST(u.id() == U1);
	BOOST_TEST(u.fid().value_or(0) == 3);
	CHECK_OPT(u.text("email"), std::string("old@x.io"));
	CHECK_OPT(u.text("display_name"), std::nullopt);
	BOOST_TEST(u.timestamp("created_at").value_or(0) == T0_US);
	BOOST_TEST(!u.timestamp("observed_at").has_value());
	BOOST_TEST(u.owns("wallet", W1));
	BOOST_TEST(!u.owns("agent", W1));
	BOOST_TEST(u.wallet_count() == 1u);
	const core::RowValues r = core::RowValues::from(u);
	BOOST_TEST(r.kind == "human");
	CHECK_OPT(r.primary_address, W1);
	BOOST_TEST((r == core::RowValues::from(alice())));
}

BOOST_AUTO_TEST_CASE(user_document_shape) {
	const StoredUser u = user(U1, R"({"fid": 3})",
	                          {{"fid", "3"}, {"wallet", W2}, {"external", "github:g:1"}, {"wallet", SOL},
	                           {"wallet", W1}, {"agent", "bot"}, {"external", "clerk:c"}});
	const Json doc = core::user_document(u.row, u.identities);
	for (const auto &[key, value] : u.row.members())
		BOOST_TEST_CONTEXT(key) {
			const Json *got = doc.find(key);
			BOOST_TEST_REQUIRE(got != nullptr);
			BOOST_TEST((*got == value));
		}
	/* wallets in byte order ("0x..." before "So..."), external as {provider: subject} */
	BOOST_TEST(doc.find("wallets")->dump() == "[\"" + W1 + "\", \"" + W2 + "\", \"" + SOL + "\"]");
	BOOST_TEST((*doc.find("external") == J(R"({"clerk": "c", "github": "g:1"})")));
	BOOST_TEST(doc.find("external")->dump() == R"({"clerk": "c", "github": "g:1"})");
	const Json none = core::user_document(user(U2, "{}", {}).row, {});
	BOOST_TEST(none.find("wallets")->dump() == "[]");
	BOOST_TEST(none.find("external")->dump() == "{}");
}

/* ================================================================== merges (4.4) */

namespace {

/* Three users created in order U1 (oldest), U2, U3. */
StoredUser
wallet_user() {
	return user(U1,
	            R"({"primary_address": ")" + W1 + R"(", "username": "wally", "email": "w@x.io",
	                "attrs": {"theme": "dark", "plan": "free"}, "created_at": "2025-01-01T00:00:00+00:00"})",
	            {{"wallet", W1}});
}

StoredUser
fid_user() {
	return user(U2,
	            R"({"fid": 3, "display_name": "Dan", "avatar_url": "https://a/x.png",
	                "attrs": {"plan": "pro", "lang": "en"}, "observed_at": "2026-06-01T00:00:00+00:00",
	                "created_at": "2025-02-01T00:00:00+00:00"})",
	            {{"fid", "3"}});
}

StoredUser
agent_user() {
	return user(U3, R"({"agent_id": "bot", "kind": "agent", "username": "botty", "attrs": {"lang": "fr", "x": 1},
	                    "created_at": "2025-03-01T00:00:00+00:00"})",
	            {{"agent", "bot"}, {"external", "clerk:u3"}});
}

} // namespace

BOOST_AUTO_TEST_CASE(merge_two_users_into_the_oldest) {
	const Plan p = run(R"({"fid": 3, "wallets": [")" + W1 + R"("]})", {wallet_user(), fid_user()});
	CHECK_ACTION(p, Action::Merged);
	BOOST_TEST(p.user_id == U1);
	BOOST_TEST(p.write_row);
	BOOST_TEST(!p.insert);
	BOOST_REQUIRE(p.merges.size() == 1u);
	BOOST_TEST(p.merges[0].loser_id == U2);
	BOOST_TEST(p.merges[0].moved == (std::vector<IdentityPair>{{"fid", "3"}}), "moved " << show(p.merges[0].moved));
	BOOST_TEST(p.merges[0].snapshot.find("display_name")->text() == "Dan");
	BOOST_TEST(p.link.empty(), "link " << show(p.link));
	/* null fields filled from the loser, the survivor's values kept */
	BOOST_TEST((p.row.fid == std::optional<std::int64_t>(3)));
	BOOST_TEST(*p.row.display_name == "Dan");
	BOOST_TEST(*p.row.avatar_url == "https://a/x.png");
	BOOST_TEST(*p.row.username == "wally");
	BOOST_TEST(*p.row.primary_address == W1);
	/* attrs by top-level key, the survivor winning */
	BOOST_TEST((p.row.attrs == J(R"({"theme": "dark", "plan": "free", "lang": "en"})")), p.row.attrs.dump());
	/* the newest observed_at survives, so stale protection still holds */
	BOOST_TEST((p.row.observed_at == core::parse_iso8601("2026-06-01T00:00:00Z")));
}

BOOST_AUTO_TEST_CASE(merge_three_users_losers_oldest_first_and_payload_applied) {
	const Plan p = run(R"({"agent_id": "bot", "fid": 3, "wallets": [")" + W1 + R"("], "username": "merged",
	                       "attrs": {"theme": null}})",
	                   {wallet_user(), fid_user(), agent_user()});
	CHECK_ACTION(p, Action::Merged);
	BOOST_TEST(p.user_id == U1);
	BOOST_REQUIRE(p.merges.size() == 2u);
	BOOST_TEST(p.merges[0].loser_id == U2);
	BOOST_TEST(p.merges[1].loser_id == U3);
	BOOST_TEST(*p.row.username == "merged");          /* the payload, applied after the merge */
	BOOST_TEST(*p.row.agent_id == "bot");
	BOOST_TEST(p.row.kind == "human");                /* linking an agent keeps the survivor's kind */
	/* survivor wins, then the oldest loser (U2 "en" over U3 "fr"); the payload's patch last */
	BOOST_TEST((p.row.attrs == J(R"({"plan": "free", "lang": "en", "x": 1})")), p.row.attrs.dump());
}

BOOST_AUTO_TEST_CASE(merge_survivor_is_the_payload_id) {
	const Plan p = run(R"({"id": ")" + U3 + R"(", "wallets": [")" + W1 + R"("]})", {wallet_user(), agent_user()},
	                   live(U3));
	CHECK_ACTION(p, Action::Merged);
	BOOST_TEST(p.user_id == U3);
	BOOST_REQUIRE(p.merges.size() == 1u);
	BOOST_TEST(p.merges[0].loser_id == U1);
	BOOST_TEST(*p.row.primary_address == W1); /* filled from the loser */
	BOOST_TEST(*p.row.username == "botty");   /* the survivor's own value */
}

BOOST_AUTO_TEST_CASE(merge_ties_on_created_at_break_by_id) {
	StoredUser a = user(U2, R"({"created_at": "2025-01-01T00:00:00+00:00"})", {{"wallet", W2}});
	StoredUser b = user(U1, R"({"created_at": "2025-01-01T00:00:00+00:00"})", {{"wallet", W3}});
	const Plan p = run(R"({"wallets": [")" + W2 + R"(", ")" + W3 + R"("]})", {a, b});
	BOOST_TEST(p.user_id == U1);
}

BOOST_AUTO_TEST_CASE(merge_refusals_write_nothing) {
	StoredUser other_fid = user(U3, R"({"fid": 4, "created_at": "2025-03-01T00:00:00+00:00"})", {{"fid", "4"}});
	auto e = capture([&] { run(R"({"fid": 4, "wallets": [")" + W1 + R"("]})", {wallet_user(), fid_user(), other_fid}); });
	/* W1 and fid 4 only: U1 and U3 */
	BOOST_TEST(!e.has_value());
	e = capture([&] {
		run(R"({"fid": 3, "agent_id": "bot2", "wallets": [")" + W1 + R"("]})",
		    {wallet_user(), fid_user(), user(U3, R"({"agent_id": "bot2"})", {{"agent", "bot2"}, {"fid", "9"}})});
	});
	BOOST_REQUIRE(e.has_value());
	BOOST_TEST((e->code == Error::Code::IdentityConflict));
	BOOST_TEST(e->message == "cannot merge users with different fids");
	BOOST_TEST(e->detail.find(U2) != std::string::npos);
	BOOST_TEST(e->detail.find(U3) != std::string::npos);

	e = capture([&] {
		run(R"({"agent_id": "bot", "external": {"clerk": "u9"}, "wallets": [")" + W1 + R"("]})",
		    {wallet_user(), agent_user(), user(U2, R"({})", {{"external", "clerk:u9"}})});
	});
	BOOST_REQUIRE(e.has_value());
	BOOST_TEST(e->message == "cannot merge users with different subjects of one provider");

	core::Config off;
	off.merge = false;
	e = capture([&] { run(R"({"fid": 3, "wallets": [")" + W1 + R"("]})", {wallet_user(), fid_user()}, {}, off); });
	BOOST_REQUIRE(e.has_value());
	BOOST_TEST((e->code == Error::Code::IdentityConflict));
	BOOST_TEST(e->hint.find("user_upsert.merge") != std::string::npos);

	core::Config two;
	two.max_merge = 2;
	e = capture([&] {
		run(R"({"agent_id": "bot", "fid": 3, "wallets": [")" + W1 + R"("]})", {wallet_user(), fid_user(), agent_user()},
		    {}, two);
	});
	BOOST_REQUIRE(e.has_value());
	BOOST_TEST(e->message == "payload would merge more users than user_upsert.max_merge allows");

	e = capture([&] {
		run(R"({"fid": 3, "wallets": [")" + W1 + R"(", ")" + W2 + R"("]})", {wallet_user(), fid_user()}, {},
		    max_wallets(1));
	});
	BOOST_REQUIRE(e.has_value());
}

BOOST_AUTO_TEST_CASE(merge_never_under_keep_and_never_when_stale) {
	Plan p = run(R"({"policy": "keep", "wallets": [")" + W1 + R"("], "fid": 3})", {wallet_user(), fid_user()});
	CHECK_ACTION(p, Action::Unchanged);
	BOOST_TEST(p.user_id == U2); /* fid comes before wallets */
	BOOST_TEST(p.merges.empty());
	p = run(R"({"observed_at": "2026-01-01T00:00:00Z", "wallets": [")" + W1 + R"("], "fid": 3})",
	        {wallet_user(), fid_user()});
	CHECK_ACTION(p, Action::Stale);
	BOOST_TEST(p.merges.empty());
}
