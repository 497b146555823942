/*
 * json.cpp
 *	  The core's JSON value: lookup, jsonb-compatible equality, merge patch.
 *
 * IDENTIFICATION
 *	  src/core/json.cpp
 */
#include "core/json.hpp"

#include <algorithm>
#include <cstdio>
#include <unordered_map>
#include <unordered_set>

#ifdef POSTGRES_H
#error "src/core must not include PostgreSQL headers"
#endif

namespace uu::core {

const Json *
Json::find(std::string_view key) const {
	for (const auto &m : members_)
		if (m.first == key)
			return &m.second;
	return nullptr;
}

Json *
Json::find(std::string_view key) {
	for (auto &m : members_)
		if (m.first == key)
			return &m.second;
	return nullptr;
}

void
Json::set(std::string key, Json value) {
	if (Json *existing = find(key))
		*existing = std::move(value);
	else
		members_.emplace_back(std::move(key), std::move(value));
}

void
Json::erase(std::string_view key) {
	members_.erase(std::remove_if(members_.begin(), members_.end(),
	                              [&](const Member &m) { return m.first == key; }),
	               members_.end());
}

/* Canonical decimal text: no trailing fractional zeros, no "-0". */
static std::string
canonical_number(const std::string &text) {
	std::string s = text;
	if (s.find('.') != std::string::npos) {
		while (!s.empty() && s.back() == '0')
			s.pop_back();
		if (!s.empty() && s.back() == '.')
			s.pop_back();
	}
	if (s == "-0")
		s = "0";
	return s;
}

bool
operator==(const Json &a, const Json &b) {
	if (a.type_ != b.type_)
		return false;
	switch (a.type_) {
	case Json::Type::Null:
		return true;
	case Json::Type::Bool:
		return a.bool_ == b.bool_;
	case Json::Type::Number:
		return a.text_ == b.text_ || canonical_number(a.text_) == canonical_number(b.text_);
	case Json::Type::String:
		return a.text_ == b.text_;
	case Json::Type::Array:
		return a.items_ == b.items_;
	case Json::Type::Object: {
		const std::size_t n = a.members_.size();
		if (n != b.members_.size())
			return false;
		std::size_t i = 0; /* members in the same order (both read from jsonb, say) compare pairwise */
		while (i < n && a.members_[i].first == b.members_[i].first)
			i++;
		if (i == n) {
			for (std::size_t k = 0; k < n; k++)
				if (!(a.members_[k].second == b.members_[k].second))
					return false;
			return true;
		}
		std::unordered_map<std::string_view, const Json *> by_key(n);
		for (const auto &m : b.members_)
			by_key.emplace(m.first, &m.second);
		for (const auto &m : a.members_) {
			auto other = by_key.find(m.first);
			if (other == by_key.end() || !(*other->second == m.second))
				return false;
		}
		return true;
	}
	}
	return false;
}

static void
dump_string(std::string &out, const std::string &s) {
	out += '"';
	for (unsigned char c : s) {
		switch (c) {
		case '"': out += "\\\""; break;
		case '\\': out += "\\\\"; break;
		case '\n': out += "\\n"; break;
		case '\r': out += "\\r"; break;
		case '\t': out += "\\t"; break;
		default:
			if (c < 0x20) {
				char buf[8];
				std::snprintf(buf, sizeof buf, "\\u%04x", c);
				out += buf;
			} else
				out += static_cast<char>(c);
		}
	}
	out += '"';
}

static void
dump_into(std::string &out, const Json &j) {
	switch (j.type()) {
	case Json::Type::Null: out += "null"; break;
	case Json::Type::Bool: out += j.as_bool() ? "true" : "false"; break;
	case Json::Type::Number: out += j.text(); break;
	case Json::Type::String: dump_string(out, j.text()); break;
	case Json::Type::Array:
		out += '[';
		for (std::size_t i = 0; i < j.items().size(); i++) {
			if (i)
				out += ", ";
			dump_into(out, j.items()[i]);
		}
		out += ']';
		break;
	case Json::Type::Object:
		out += '{';
		for (std::size_t i = 0; i < j.members().size(); i++) {
			if (i)
				out += ", ";
			dump_string(out, j.members()[i].first);
			out += ": ";
			dump_into(out, j.members()[i].second);
		}
		out += '}';
		break;
	}
}

std::string
Json::dump() const {
	std::string out;
	dump_into(out, *this);
	return out;
}

/*
 * One index of the target's keys for the whole patch: finding each patch key
 * by a scan made a large attrs object quadratic (200,000 keys: 81 s).
 */
Json
merge_patch(const Json &target, const Json &patch) {
	if (!patch.is_object())
		return patch;
	Json result = target.is_object() ? target : Json::object();
	std::vector<Json::Member> &members = result.members();
	members.reserve(members.size() + patch.members().size()); /* no reallocation: the index's views stay valid */
	std::unordered_map<std::string_view, std::size_t> position(members.size() + patch.members().size());
	for (std::size_t i = 0; i < members.size(); i++)
		position.emplace(members[i].first, i);
	std::vector<bool> erased(members.size() + patch.members().size(), false);
	for (const auto &m : patch.members()) {
		auto at = position.find(m.first);
		if (m.second.is_null()) {
			if (at != position.end()) {
				erased[at->second] = true;
				position.erase(at);
			}
		} else if (at != position.end())
			members[at->second].second = merge_patch(members[at->second].second, m.second);
		else {
			members.emplace_back(m.first, merge_patch(Json::null(), m.second));
			position.emplace(members.back().first, members.size() - 1);
		}
	}
	std::size_t kept = 0;
	for (std::size_t i = 0; i < members.size(); i++)
		if (!erased[i]) {
			if (kept != i)
				members[kept] = std::move(members[i]);
			kept++;
		}
	members.resize(kept);
	return result;
}

void
add_missing_members(Json &object, const Json &from, bool skip_nulls) {
	std::unordered_set<std::string> present;
	present.reserve(object.members().size() + from.members().size());
	for (const auto &m : object.members())
		present.insert(m.first);
	for (const auto &m : from.members())
		if (!(skip_nulls && m.second.is_null()) && present.insert(m.first).second)
			object.members().emplace_back(m.first, m.second);
}

const char *
json_type_name(Json::Type type) {
	switch (type) {
	case Json::Type::Null: return "null";
	case Json::Type::Bool: return "a boolean";
	case Json::Type::Number: return "a number";
	case Json::Type::String: return "a string";
	case Json::Type::Array: return "an array";
	case Json::Type::Object: return "an object";
	}
	return "unknown";
}

} // namespace uu::core
