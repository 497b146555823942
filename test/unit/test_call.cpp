/*
 * test_call.cpp
 *	  The wire phases' answers: answer_call() and document_call() splice the
 *	  row's tokens instead of building a Json tree, so they are checked
 *	  against user_document(), the tree-built reference; ensure_answer() is
 *	  checked to step aside whenever plan_call() must decide.
 *
 * IDENTIFICATION
 *	  test/unit/test_call.cpp
 */
#define BOOST_TEST_MODULE call
#include <boost/test/unit_test.hpp>

#include "core/call.hpp"
#include "core/plan.hpp"
#include "support.hpp"

#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

using uu::core::Allocator;
using uu::core::IdentityRef;
using uu::core::Json;
using uu::core::TokenSpan;
using uu::test::J;

namespace {

/* Memory for the wire data of one test, freed with it. */
struct Arena {
	std::vector<std::unique_ptr<char[]>> blocks;

	static void *
	alloc(void *self, std::size_t size) {
		auto &blocks = static_cast<Arena *>(self)->blocks;
		blocks.emplace_back(new char[size ? size : 1]);
		return blocks.back().get();
	}

	Allocator
	allocator() {
		return Allocator{&Arena::alloc, this};
	}
};

const char *kRow = R"({"id": "0b6c6f0e-8d6a-4f0e-9a57-3f1d2c4b5a69", "kind": "human", "fid": 42, "primary_address": null,
  "agent_id": null, "email": "dan@example.com", "username": "dan", "display_name": null, "avatar_url": null,
  "attrs": {"plan": "pro", "flags": [1, {"beta": true}]}, "created_at": "2026-01-02T03:04:05+00:00",
  "updated_at": "2026-01-02T03:04:05+00:00", "observed_at": null, "version": 3, "merged_into": null,
  "deleted_at": null})";

const std::vector<IdentityRef> kIdentities = {
    {"wallet", "0xbb00000000000000000000000000000000000002"},
    {"fid", "42"},
    {"external", "github:dan"},
    {"wallet", "0xaa00000000000000000000000000000000000001"},
    {"external", "clerk:user_2abc"},
};

std::vector<uu::core::IdentityPair>
pairs_of(const std::vector<IdentityRef> &refs) {
	std::vector<uu::core::IdentityPair> out;
	for (const auto &r : refs)
		out.emplace_back(r.kind, r.value);
	return out;
}

TokenSpan
tokens_of(const Json &json, Arena &arena) {
	Allocator a = arena.allocator();
	return uu::core::json_to_tokens(json, a);
}

Json
json_of(TokenSpan tokens) {
	return uu::core::json_from_tokens(tokens, uu::core::kMaxStoredDepth);
}

} // namespace

BOOST_AUTO_TEST_CASE(document_matches_the_tree_built_document) {
	Arena arena;
	Allocator a = arena.allocator();
	Json row = J(kRow);
	TokenSpan doc = uu::core::document_call(tokens_of(row, arena), static_cast<std::uint32_t>(kIdentities.size()),
	                                        kIdentities.data(), a);
	Json expected = uu::core::user_document(row, pairs_of(kIdentities));
	BOOST_TEST((json_of(doc) == expected), json_of(doc).dump() << " != " << expected.dump());
	/* wallets sorted, external keyed by provider */
	BOOST_TEST((*json_of(doc).find("wallets") ==
	            J(R"(["0xaa00000000000000000000000000000000000001", "0xbb00000000000000000000000000000000000002"])")));
	BOOST_TEST((*json_of(doc).find("external") == J(R"({"clerk": "user_2abc", "github": "dan"})")));
}

BOOST_AUTO_TEST_CASE(document_of_a_user_without_identities_has_empty_lists) {
	Arena arena;
	Allocator a = arena.allocator();
	TokenSpan doc = uu::core::document_call(tokens_of(J(kRow), arena), 0, nullptr, a);
	BOOST_TEST((*json_of(doc).find("wallets") == J("[]")));
	BOOST_TEST((*json_of(doc).find("external") == J("{}")));
}

BOOST_AUTO_TEST_CASE(row_columns_named_like_the_lists_are_replaced_not_doubled) {
	Arena arena;
	Allocator a = arena.allocator();
	Json row = J(R"({"id": "x", "wallets": {"nested": [1, 2]}, "external": "old", "version": 1})");
	TokenSpan doc = uu::core::document_call(tokens_of(row, arena), static_cast<std::uint32_t>(kIdentities.size()),
	                                        kIdentities.data(), a);
	Json expected = uu::core::user_document(row, pairs_of(kIdentities));
	BOOST_TEST((json_of(doc) == expected), json_of(doc).dump() << " != " << expected.dump());
	BOOST_TEST(json_of(doc).members().size() == 4u);
}

BOOST_AUTO_TEST_CASE(two_subjects_of_one_provider_keep_the_last_as_the_tree_does) {
	Arena arena;
	Allocator a = arena.allocator();
	std::vector<IdentityRef> ids = {{"external", "clerk:user_b"}, {"external", "clerk:user_a"}};
	Json row = J(kRow);
	TokenSpan doc = uu::core::document_call(tokens_of(row, arena), 2, ids.data(), a);
	BOOST_TEST((json_of(doc) == uu::core::user_document(row, pairs_of(ids))));
	BOOST_TEST((*json_of(doc).find("external") == J(R"({"clerk": "user_b"})")));
}

BOOST_AUTO_TEST_CASE(answer_carries_action_merged_ids_and_skipped) {
	Arena arena;
	Allocator a = arena.allocator();
	uu::core::WritePlan plan{};
	plan.action = "merged";
	uu::core::MergeRecord merges[2]{};
	merges[0].loser_id = "11111111-1111-4111-8111-111111111111";
	merges[1].loser_id = "22222222-2222-4222-8222-222222222222";
	plan.nmerges = 2;
	plan.merges = merges;
	IdentityRef skipped[1] = {{"wallet", "0x0000000000000000000000000000000000000000"}};
	const char *reasons[1] = {"blocked"};
	plan.report_skipped = true;
	plan.nskipped = 1;
	plan.skipped = skipped;
	plan.skipped_reasons = reasons;
	Json row = J(kRow);
	TokenSpan answer = uu::core::answer_call(plan, tokens_of(row, arena), 1, kIdentities.data(), a);
	Json expected = Json::object();
	expected.set("action", Json::string("merged"));
	expected.set("user", uu::core::user_document(row, pairs_of({kIdentities[0]})));
	expected.set("merged_ids", J(R"(["11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"])"));
	expected.set("skipped", J(R"([{"kind": "wallet", "value": "0x0000000000000000000000000000000000000000",
	                               "reason": "blocked"}])"));
	BOOST_TEST((json_of(answer) == expected), json_of(answer).dump() << " != " << expected.dump());
}

BOOST_AUTO_TEST_CASE(answer_without_skip_reporting_has_no_skipped_key) {
	Arena arena;
	Allocator a = arena.allocator();
	uu::core::WritePlan plan{};
	plan.action = "updated";
	TokenSpan answer = uu::core::answer_call(plan, tokens_of(J(kRow), arena), 0, nullptr, a);
	Json result = json_of(answer);
	BOOST_TEST((result.find("skipped") == nullptr));
	BOOST_TEST((result.find("merged_ids") == nullptr));
	BOOST_TEST((*result.find("action") == Json::string("updated")));
}

BOOST_AUTO_TEST_CASE(a_row_that_is_not_an_object_is_an_internal_error) {
	Arena arena;
	Allocator a = arena.allocator();
	BOOST_CHECK_THROW(uu::core::document_call(tokens_of(J("[1, 2]"), arena), 0, nullptr, a), std::logic_error);
}

BOOST_AUTO_TEST_CASE(ensure_answer_is_unchanged_with_the_document) {
	Arena arena;
	Allocator a = arena.allocator();
	uu::core::Config config;
	uu::core::PreparedCall call = uu::core::prepare_call(tokens_of(J(R"({"fid": 42})"), arena), config, a);
	Json row = J(kRow);
	TokenSpan answer = uu::core::ensure_answer(call, tokens_of(row, arena),
	                                           static_cast<std::uint32_t>(kIdentities.size()), kIdentities.data(), a);
	Json expected = Json::object();
	expected.set("action", Json::string("unchanged"));
	expected.set("user", uu::core::user_document(row, pairs_of(kIdentities)));
	BOOST_TEST((json_of(answer) == expected));
}

BOOST_AUTO_TEST_CASE(ensure_answer_steps_aside_when_plan_call_must_decide) {
	Arena arena;
	Allocator a = arena.allocator();
	uu::core::Config config;
	for (const char *payload : {R"({"fid": 42, "observed_at": "2026-01-01T00:00:00Z"})",
	                            R"({"fid": 42, "conflicts": "skip"})"}) {
		uu::core::PreparedCall call = uu::core::prepare_call(tokens_of(J(payload), arena), config, a);
		TokenSpan answer = uu::core::ensure_answer(call, tokens_of(J(kRow), arena), 0, nullptr, a);
		BOOST_TEST(answer.count == 0u, payload);
	}
}

BOOST_AUTO_TEST_CASE(with_policy_replaces_or_adds_the_top_level_policy_only) {
	Arena arena;
	Allocator a = arena.allocator();
	auto rewritten = [&](const char *payload) {
		return json_of(uu::core::with_policy(tokens_of(J(payload), arena), "keep", a));
	};
	BOOST_TEST((rewritten(R"({"fid": 1, "policy": "merge"})") == J(R"({"fid": 1, "policy": "keep"})")));
	BOOST_TEST((rewritten(R"({"fid": 1})") == J(R"({"fid": 1, "policy": "keep"})")));
	BOOST_TEST((rewritten(R"({"policy": {"odd": [1, 2]}, "fid": 1})") == J(R"({"fid": 1, "policy": "keep"})")));
	BOOST_TEST((rewritten(R"({"attrs": {"policy": "merge"}, "policy": null})") ==
	            J(R"({"attrs": {"policy": "merge"}, "policy": "keep"})")));
	BOOST_TEST((rewritten("{}") == J(R"({"policy": "keep"})")));
	TokenSpan array = tokens_of(J("[1, 2]"), arena);
	BOOST_TEST(uu::core::with_policy(array, "keep", a).tokens == array.tokens);
}

BOOST_AUTO_TEST_CASE(event_id_is_a_ledger_key_or_refused_naming_it) {
	using uu::test::capture;
	for (const char *id : {"msg_2Lh9KRbNtNbVGLMJHXK0QavPzce", "1", "évènement 7"})
		BOOST_TEST(!capture([&] { uu::core::check_event_id(id); }).has_value(), id);
	BOOST_TEST(!capture([&] { uu::core::check_event_id(std::string(uu::core::kMaxEventIdBytes, 'x')); }).has_value());
	const std::string too_long(uu::core::kMaxEventIdBytes + 1, 'x');
	for (std::string_view id : {std::string_view(""), std::string_view(too_long), std::string_view("msg\n1"),
	                            std::string_view("msg\x7f"), std::string_view("msg\xc2\x85" "1")}) {
		auto e = capture([&] { uu::core::check_event_id(id); });
		BOOST_REQUIRE(e.has_value());
		BOOST_TEST((e->code == uu::core::Error::Code::InvalidParameter));
		BOOST_TEST(e->field == "event_id");
		BOOST_TEST(!e->detail.empty());
	}
}

BOOST_AUTO_TEST_CASE(user_deleted_event_must_say_deleted_true) {
	using uu::test::capture;
	Arena arena;
	Allocator a = arena.allocator();
	auto plan = [&](const char *data) {
		std::string event = std::string(R"({"type": "user.deleted", "timestamp": 1700000000000, "data": )") + data + "}";
		return uu::core::plan_event(tokens_of(J(event), arena), a);
	};
	for (const char *data : {R"({"id": "user_1", "deleted": true, "object": "user"})", R"({"id": "user_1"})"})
		BOOST_TEST((plan(data).kind == uu::core::EventKind::Delete), data);
	for (const char *data : {R"({"id": "user_1", "deleted": false})", R"({"id": "user_1", "deleted": null})",
	                         R"({"id": "user_1", "deleted": "true"})", R"({"id": "user_1", "deleted": 1})"}) {
		auto e = capture([&] { plan(data); });
		BOOST_REQUIRE(e.has_value());
		BOOST_TEST((e->code == uu::core::Error::Code::InvalidParameter));
		BOOST_TEST(e->field == "data.deleted", data);
	}
}

BOOST_AUTO_TEST_CASE(redelivery_is_the_same_event_or_refused_naming_event_id) {
	using uu::test::capture;
	Arena arena;
	Allocator a = arena.allocator();
	auto event = [&](const char *text) { return uu::core::plan_event(tokens_of(J(text), arena), a); };
	auto created_a = event(R"({"type": "user.created", "data": {"id": "user_a", "username": "a"}})");
	auto created_a_changed = event(R"({"type": "user.created", "data": {"id": "user_a", "username": "b"}})");
	auto deleted_b = event(R"({"type": "user.deleted", "data": {"id": "user_b", "deleted": true}})");
	auto created_b = event(R"({"type": "user.created", "data": {"id": "user_b"}})");
	auto ignored = event(R"({"type": "session.created", "data": {"id": "sess_1"}})");

	for (const auto *redelivered : {&created_a, &created_a_changed})
		BOOST_TEST(!capture([&] { uu::core::check_redelivery("evt_1", "user.created", "user_a", *redelivered); })
		                .has_value());
	BOOST_TEST(!capture([&] { uu::core::check_redelivery("evt_2", "session.created", nullptr, ignored); }).has_value());

	struct Case {
		const char *type;
		const char *subject;
		const uu::core::EventPlan *event;
	};
	for (const Case &c : {Case{"user.created", "user_a", &deleted_b}, Case{"user.created", "user_a", &created_b},
	                      Case{"session.created", nullptr, &created_a}, Case{"user.deleted", "user_b", &ignored}}) {
		auto e = capture([&] { uu::core::check_redelivery("evt_1", c.type, c.subject, *c.event); });
		BOOST_REQUIRE(e.has_value());
		BOOST_TEST((e->code == uu::core::Error::Code::InvalidParameter));
		BOOST_TEST(e->field == "event_id");
		BOOST_TEST(e->detail.find(c.type) != std::string::npos, e->detail);
	}
}

