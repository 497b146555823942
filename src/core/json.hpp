/*
 * json.hpp
 *	  A small JSON value used at the core's edge: the glue converts Jsonb to and
 *	  from it, the core reads payloads and writes user documents with it.
 *	  Numbers are kept as the decimal text numeric_out prints, so the core checks
 *	  ranges exactly and never rounds.
 *
 * IDENTIFICATION
 *	  src/core/json.hpp
 */
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace uu::core {

class Json {
public:
	enum class Type { Null, Bool, Number, String, Array, Object };
	using Member = std::pair<std::string, Json>;

	Json() = default;
	static Json null() { return Json(); }
	static Json boolean(bool b) { Json j; j.type_ = Type::Bool; j.bool_ = b; return j; }
	static Json number(std::string text) { Json j; j.type_ = Type::Number; j.text_ = std::move(text); return j; }
	static Json number(std::int64_t n) { return number(std::to_string(n)); }
	static Json string(std::string s) { Json j; j.type_ = Type::String; j.text_ = std::move(s); return j; }
	static Json array() { Json j; j.type_ = Type::Array; return j; }
	static Json object() { Json j; j.type_ = Type::Object; return j; }

	Type type() const { return type_; }
	bool is_null() const { return type_ == Type::Null; }
	bool is_bool() const { return type_ == Type::Bool; }
	bool is_number() const { return type_ == Type::Number; }
	bool is_string() const { return type_ == Type::String; }
	bool is_array() const { return type_ == Type::Array; }
	bool is_object() const { return type_ == Type::Object; }

	bool as_bool() const { return bool_; }
	/* String value, or a number's decimal text. */
	const std::string &text() const { return text_; }
	const std::vector<Json> &items() const { return items_; }
	const std::vector<Member> &members() const { return members_; }
	std::vector<Json> &items() { return items_; }
	std::vector<Member> &members() { return members_; }

	/* Object member lookup; nullptr when absent. */
	const Json *find(std::string_view key) const;
	Json *find(std::string_view key);
	/* Sets or replaces an object member, keeping insertion order. */
	void set(std::string key, Json value);
	/* Removes an object member if present. */
	void erase(std::string_view key);
	void push(Json value) { items_.push_back(std::move(value)); }

	/* Deep equality with jsonb semantics: object member order is ignored and
	 * numbers compare by value (1.0 equals 1.00). */
	friend bool operator==(const Json &a, const Json &b);
	friend bool operator!=(const Json &a, const Json &b) { return !(a == b); }

	/* Compact JSON text (for messages and tests). */
	std::string dump() const;

private:
	Type type_ = Type::Null;
	bool bool_ = false;
	std::string text_;
	std::vector<Json> items_;
	std::vector<Member> members_;
};

/* RFC 7386 JSON Merge Patch: returns target patched by patch. */
Json merge_patch(const Json &target, const Json &patch);

/* Appends each member of object `from` whose key `object` lacks (not null ones when skip_nulls), in `from`'s order. */
void add_missing_members(Json &object, const Json &from, bool skip_nulls);

/* Name of a Json type as a user reads it in an error ("a string", "an array"). */
const char *json_type_name(Json::Type type);

} // namespace uu::core
