/*
 * normalize.cpp
 *	  Identity normalization of DESIGN.md section 3: fid, wallet (EVM with
 *	  EIP-55, Solana base58), agent id, external provider and subject, email.
 *
 *	  Every function trims surrounding ASCII whitespace, then either returns
 *	  the stored form or throws uu::core::Error (InvalidParameter) whose
 *	  primary message names the field, e.g. `invalid wallet address in
 *	  "wallets[1]"`, and whose detail says exactly what is wrong. Details
 *	  never echo the input: they name the offending byte (printable ASCII in
 *	  quotes, anything else as \xNN) and its position, counted in bytes from 1
 *	  in the trimmed value.
 *
 *	  Decisions the contract leaves open:
 *	  - an EVM address must start with a lowercase "0x"; "0X..." is refused
 *	    as an invalid EVM address (not tried as Solana), as is anything else
 *	    starting with "0x";
 *	  - the 254 limit on an email address counts bytes (octets, as in
 *	    RFC 5321), so a non-ASCII address may hold fewer than 254 characters;
 *	  - in "provider:subject" neither part is trimmed separately: spaces
 *	    around the ':' are refused, not dropped.
 *
 *	  This is the hot path of every call: no regex, no streams, one
 *	  allocation for the result and none on success otherwise.
 *
 * IDENTIFICATION
 *	  src/core/normalize.cpp
 */
#include "core/normalize.hpp"

#include <array>
#include <cstring>

#include "core/error.hpp"
#include "core/keccak.hpp"

#ifdef POSTGRES_H
#error "src/core must not include PostgreSQL headers"
#endif

namespace uu::core {

namespace {

constexpr std::size_t evm_hex_digits = 40;
constexpr std::size_t solana_max_chars = 44; /* 32 bytes of 0xff encode to 44 base58 chars */
constexpr std::size_t solana_bytes = 32;
constexpr std::size_t agent_max_chars = 128;
constexpr std::size_t provider_max_chars = 32;
constexpr std::size_t subject_max_chars = 255;
constexpr std::size_t email_max_bytes = 254;

constexpr std::string_view fid_max_text = "9223372036854775807";
constexpr std::string_view fid_range_sentence = "A fid must be an integer between 1 and 9223372036854775807";

constexpr const char base58_alphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

constexpr std::array<std::int8_t, 256>
make_base58_table() {
	std::array<std::int8_t, 256> table{};
	for (auto &v : table)
		v = -1;
	for (int i = 0; i < 58; i++)
		table[static_cast<unsigned char>(base58_alphabet[i])] = static_cast<std::int8_t>(i);
	return table;
}

constexpr std::array<std::int8_t, 256> base58_table = make_base58_table();

inline bool
is_ascii_space(unsigned char c) {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

inline bool
is_control(unsigned char c) {
	return c < 0x20 || c == 0x7f;
}

inline unsigned char
byte_at(std::string_view s, std::size_t i) {
	return i < s.size() ? static_cast<unsigned char>(s[i]) : 0;
}

inline bool
is_digit(unsigned char c) {
	return c >= '0' && c <= '9';
}

inline bool
is_alnum(unsigned char c) {
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

inline char
ascii_lower(char c) {
	return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

/* Value of a hex digit, or -1. */
inline int
hex_value(unsigned char c) {
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void
append_hex_byte(std::string &out, unsigned char c) {
	static const char digits[] = "0123456789ABCDEF";
	out += "\\x";
	out += digits[c >> 4];
	out += digits[c & 0xf];
}

/* Names one offending byte for a detail sentence, without echoing raw input. */
std::string
describe_byte(unsigned char c) {
	std::string out;
	if (c == ' ')
		out = "a space";
	else if (is_control(c)) {
		out = "the control character ";
		append_hex_byte(out, c);
	} else if (c >= 0x80) {
		out = "the non-ASCII byte ";
		append_hex_byte(out, c);
	} else if (c == '\'') {
		out = "\"'\"";
	} else {
		out = "'";
		out += static_cast<char>(c);
		out += "'";
	}
	return out;
}

/* "invalid fid" + ` in "fid"`: the primary message naming the field. */
std::string
message_for(const char *what, const std::string &field) {
	std::string msg(what);
	if (!field.empty()) {
		msg += " in \"";
		msg += escape_for_message(field);
		msg += "\"";
	}
	return msg;
}

/* `prefix` + "; found <byte> at position <pos>." where pos counts from 1. */
std::string
found_at(std::string_view prefix, unsigned char c, std::size_t index) {
	std::string detail(prefix);
	detail += "; found ";
	detail += describe_byte(c);
	detail += " at position ";
	detail += std::to_string(index + 1);
	detail += ".";
	return detail;
}

/* "<noun> must not contain control characters; found ... at position N." */
[[noreturn]] void
throw_control(const std::string &field, const char *what, std::string_view noun, unsigned char c, std::size_t index) {
	std::string prefix(noun);
	prefix += " must not contain control characters";
	throw_invalid(field, message_for(what, field), found_at(prefix, c, index));
}

[[noreturn]] void
throw_empty(const std::string &field, const char *what, std::string_view noun) {
	std::string detail(noun);
	detail += " must not be empty.";
	throw_invalid(field, message_for(what, field), std::move(detail));
}

[[noreturn]] void
throw_too_long(const std::string &field, const char *what, std::string_view noun, std::size_t max,
               std::size_t actual, const char *unit = "characters") {
	std::string detail(noun);
	detail += " must be at most ";
	detail += std::to_string(max);
	detail += " ";
	detail += unit;
	detail += " long; this one has ";
	detail += std::to_string(actual);
	detail += ".";
	throw_invalid(field, message_for(what, field), std::move(detail));
}

/* ---------------------------------------------------------------- fid */

constexpr const char fid_what[] = "invalid fid";

[[noreturn]] void
throw_fid(const std::string &field, std::string detail, std::string hint = {}) {
	throw_invalid(field, message_for(fid_what, field), std::move(detail), std::move(hint));
}

[[noreturn]] void
throw_fid_range(const std::string &field, const char *why) {
	std::string detail(fid_range_sentence);
	detail += "; ";
	detail += why;
	throw_fid(field, std::move(detail));
}

/*
 * Shared by the JSON number and the JSON string forms. `s` is trimmed. The
 * number form only differs in how it explains a '-' (a negative number) and
 * an exponent (which numeric_out never prints, but which is refused plainly).
 */
std::int64_t
parse_fid(std::string_view s, const std::string &field, bool from_number) {
	if (s.empty())
		throw_empty(field, fid_what, "A fid");

	std::size_t k = 0;
	while (k < s.size() && is_digit(static_cast<unsigned char>(s[k])))
		k++;

	if (k < s.size()) {
		unsigned char c = static_cast<unsigned char>(s[k]);
		if (k == 0 && c == '-' && from_number)
			throw_fid_range(field, "negative numbers are refused.");
		if (k == 0 && (c == '-' || c == '+'))
			throw_fid(field, "A fid must be written as digits only, without a sign.");
		if (c == '.')
			throw_fid(field, "A fid must be an integer; a number with a fractional part, even \".0\", is refused.",
			          "Write the fid as a whole number without a decimal point.");
		if (from_number && (c == 'e' || c == 'E'))
			throw_fid(field, "A fid must be written as plain decimal digits, without an exponent.");
		if (is_control(c))
			throw_control(field, fid_what, "A fid", c, k);
		throw_fid(field, found_at("A fid must be written as decimal digits only", c, k));
	}

	if (s[0] == '0') {
		if (s.size() == 1)
			throw_fid_range(field, "0 is not a valid fid.");
		throw_fid(field, "A fid must not have leading zeros.");
	}
	if (s.size() > fid_max_text.size() || (s.size() == fid_max_text.size() && s > fid_max_text))
		throw_fid_range(field, "this number is larger.");

	/* at most 19 digits and <= INT64_MAX: cannot overflow */
	std::uint64_t v = 0;
	for (char c : s)
		v = v * 10 + static_cast<std::uint64_t>(c - '0');
	return static_cast<std::int64_t>(v);
}

/* ---------------------------------------------------------------- wallets */

constexpr const char wallet_what[] = "invalid wallet address";

[[noreturn]] void
throw_wallet(const std::string &field, std::string detail, std::string hint = {}) {
	throw_invalid(field, message_for(wallet_what, field), std::move(detail), std::move(hint));
}

/*
 * Writes the EIP-55 spelling of 40 lowercase hex digits into `out` (40
 * chars): a letter is uppercased when the matching nibble of
 * keccak256(lowercase hex text) is >= 8.
 */
void
eip55_apply(const char *lower_hex, char *out) {
	const auto hash = keccak256(reinterpret_cast<const std::uint8_t *>(lower_hex), evm_hex_digits);
	for (std::size_t i = 0; i < evm_hex_digits; i++) {
		char c = lower_hex[i];
		unsigned nibble = (i % 2 == 0) ? (hash[i / 2] >> 4) : (hash[i / 2] & 0x0f);
		if (c >= 'a' && c <= 'f' && nibble >= 8)
			c = static_cast<char>(c - 'a' + 'A');
		out[i] = c;
	}
}

std::string
normalize_evm(std::string_view s, const std::string &field) {
	if (s[1] != 'x')
		throw_wallet(field, "An EVM address must start with a lowercase \"0x\".", "Write the prefix as \"0x\".");

	const std::string_view digits = s.substr(2);
	if (digits.size() != evm_hex_digits) {
		std::string detail = "An EVM address must be \"0x\" followed by exactly 40 hex digits; this one has ";
		detail += std::to_string(digits.size());
		detail += digits.size() == 1 ? " character" : " characters";
		detail += " after \"0x\".";
		throw_wallet(field, std::move(detail));
	}

	std::string out;
	out.resize(2 + evm_hex_digits);
	out[0] = '0';
	out[1] = 'x';
	bool has_lower = false;
	bool has_upper = false;
	for (std::size_t i = 0; i < evm_hex_digits; i++) {
		unsigned char c = static_cast<unsigned char>(digits[i]);
		if (hex_value(c) < 0) {
			if (is_control(c))
				throw_control(field, wallet_what, "An EVM address", c, i + 2);
			throw_wallet(field, found_at("An EVM address must have only hex digits (0-9, a-f, A-F) after \"0x\"", c,
			                             i + 2));
		}
		if (c >= 'a' && c <= 'f')
			has_lower = true;
		else if (c >= 'A' && c <= 'F')
			has_upper = true;
		out[2 + i] = ascii_lower(static_cast<char>(c));
	}

	if (has_lower && has_upper) {
		char expected[evm_hex_digits];
		eip55_apply(out.data() + 2, expected);
		if (std::memcmp(expected, digits.data(), evm_hex_digits) != 0)
			throw_wallet(field, "A mixed-case EVM address must pass the EIP-55 checksum.",
			             "Copy the address exactly as the wallet shows it, or write it in all lowercase.");
	}
	return out;
}

std::string
normalize_solana(std::string_view s, const std::string &field) {
	/* bound first: a huge input is refused without being decoded */
	if (s.size() > solana_max_chars) {
		std::string detail = "A wallet address that does not start with \"0x\" must be a base58 Solana address of at "
		                     "most 44 characters; this one has ";
		detail += std::to_string(s.size());
		detail += ".";
		throw_wallet(field, std::move(detail));
	}

	/*
	 * Big-endian base-256 accumulator. 44 base58 digits are < 58^44 < 256^33,
	 * so 33 bytes always hold the value and the final carry is always 0.
	 */
	std::uint8_t acc[33] = {};
	std::size_t leading_ones = 0;
	bool in_leading = true;
	for (std::size_t i = 0; i < s.size(); i++) {
		unsigned char c = static_cast<unsigned char>(s[i]);
		int digit = base58_table[c];
		if (digit < 0) {
			if (is_control(c))
				throw_control(field, wallet_what, "A wallet address", c, i);
			std::string detail = found_at("A wallet address must be an EVM address (\"0x\" followed by 40 hex digits) or "
			                              "a base58 Solana address",
			                              c, i);
			detail.pop_back();
			detail += ", which is not a base58 character.";
			throw_wallet(field, std::move(detail),
			             (c == '0' || c == 'O' || c == 'I' || c == 'l')
			                 ? "The base58 alphabet leaves out 0, O, I and l."
			                 : std::string());
		}
		if (in_leading && digit == 0) {
			leading_ones++;
			continue;
		}
		in_leading = false;
		unsigned carry = static_cast<unsigned>(digit);
		for (std::size_t k = sizeof(acc); k-- > 0;) {
			carry += 58u * acc[k];
			acc[k] = static_cast<std::uint8_t>(carry & 0xff);
			carry >>= 8;
		}
	}

	std::size_t first = 0;
	while (first < sizeof(acc) && acc[first] == 0)
		first++;
	const std::size_t decoded = leading_ones + (sizeof(acc) - first);
	if (decoded != solana_bytes) {
		std::string detail = "A Solana address must decode to exactly 32 bytes; this one decodes to ";
		detail += std::to_string(decoded);
		detail += decoded == 1 ? " byte." : " bytes.";
		throw_wallet(field, std::move(detail));
	}
	return std::string(s);
}

/* ---------------------------------------------------------------- external */

constexpr const char provider_what[] = "invalid external provider";
constexpr const char subject_what[] = "invalid external subject";
constexpr const char external_what[] = "invalid external identity";

/*
 * Appends the lowercased provider to `out`. `offset` is the position of `p`
 * in the value the caller was given, so positions in details refer to it.
 */
void
append_provider(std::string &out, std::string_view p, std::size_t offset, const std::string &field) {
	if (p.empty())
		throw_empty(field, provider_what, "An external provider name");
	if (p.size() > provider_max_chars)
		throw_too_long(field, provider_what, "An external provider name", provider_max_chars, p.size());
	for (std::size_t i = 0; i < p.size(); i++) {
		unsigned char c = static_cast<unsigned char>(p[i]);
		if (!is_alnum(c) && c != '_' && c != '-') {
			if (is_control(c))
				throw_control(field, provider_what, "An external provider name", c, offset + i);
			throw_invalid(field, message_for(provider_what, field),
			              found_at("An external provider name may contain only ASCII letters, digits, '_' and '-'", c,
			                       offset + i));
		}
	}
	const std::size_t start = out.size();
	out.append(p);
	for (std::size_t i = start; i < out.size(); i++)
		out[i] = ascii_lower(out[i]);
}

void
append_subject(std::string &out, std::string_view s, std::size_t offset, const std::string &field) {
	if (s.empty())
		throw_empty(field, subject_what, "An external subject");
	if (s.size() > subject_max_chars)
		throw_too_long(field, subject_what, "An external subject", subject_max_chars, s.size());
	for (std::size_t i = 0; i < s.size(); i++) {
		unsigned char c = static_cast<unsigned char>(s[i]);
		if (c < 0x21 || c > 0x7e) {
			if (is_control(c))
				throw_control(field, subject_what, "An external subject", c, offset + i);
			throw_invalid(field, message_for(subject_what, field),
			              found_at("An external subject may contain only printable ASCII characters other than space "
			                       "(0x21 to 0x7E)",
			                       c, offset + i));
		}
	}
	out.append(s);
}

} // namespace

std::string
escape_for_message(std::string_view s, std::size_t max_len) {
	std::string out;
	const std::size_t n = s.size() < max_len ? s.size() : max_len;
	out.reserve(n + 8);
	for (std::size_t i = 0; i < n; i++) {
		unsigned char c = static_cast<unsigned char>(s[i]);
		if (c == '"' || c == '\\') {
			out += '\\';
			out += static_cast<char>(c);
		} else if (c >= 0x20 && c < 0x7f)
			out += static_cast<char>(c);
		else
			append_hex_byte(out, c);
	}
	if (s.size() > n)
		out += "...";
	return out;
}

std::string_view
trim_ascii(std::string_view s) {
	std::size_t b = 0;
	std::size_t e = s.size();
	while (b < e && is_ascii_space(static_cast<unsigned char>(s[b])))
		b++;
	while (e > b && is_ascii_space(static_cast<unsigned char>(s[e - 1])))
		e--;
	return s.substr(b, e - b);
}

std::int64_t
normalize_fid_number(std::string_view numeric_text, const std::string &field) {
	return parse_fid(trim_ascii(numeric_text), field, true);
}

std::int64_t
normalize_fid_text(std::string_view text, const std::string &field) {
	return parse_fid(trim_ascii(text), field, false);
}

std::string
normalize_wallet(std::string_view text, const std::string &field) {
	const std::string_view s = trim_ascii(text);
	if (s.empty())
		throw_empty(field, wallet_what, "A wallet address");
	if (s.size() >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		return normalize_evm(s, field);
	return normalize_solana(s, field);
}

bool
is_evm_address(std::string_view normalized) {
	if (normalized.size() != 2 + evm_hex_digits || normalized[0] != '0' || normalized[1] != 'x')
		return false;
	for (std::size_t i = 2; i < normalized.size(); i++) {
		char c = normalized[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	return true;
}

std::string
eip55_checksum(std::string_view lowercase_address) {
	/* Tolerates uppercase digits (they are lowercased first); anything else is a caller bug. */
	const std::string_view s = lowercase_address;
	if (s.size() != 2 + evm_hex_digits || s[0] != '0' || s[1] != 'x')
		throw_invalid({}, "invalid EVM address", "An EVM address must be \"0x\" followed by exactly 40 hex digits.");
	char lower[evm_hex_digits];
	for (std::size_t i = 0; i < evm_hex_digits; i++) {
		unsigned char c = static_cast<unsigned char>(s[2 + i]);
		if (hex_value(c) < 0)
			throw_invalid({}, "invalid EVM address",
			              found_at("An EVM address must have only hex digits after \"0x\"", c, i + 2));
		lower[i] = ascii_lower(static_cast<char>(c));
	}
	std::string out(2 + evm_hex_digits, '0');
	out[1] = 'x';
	eip55_apply(lower, out.data() + 2);
	return out;
}

std::string
normalize_agent(std::string_view text, const std::string &field) {
	static constexpr char what[] = "invalid agent id";
	const std::string_view s = trim_ascii(text);
	if (s.empty())
		throw_empty(field, what, "An agent id");
	if (s.size() > agent_max_chars)
		throw_too_long(field, what, "An agent id", agent_max_chars, s.size());
	for (std::size_t i = 0; i < s.size(); i++) {
		unsigned char c = static_cast<unsigned char>(s[i]);
		if (is_alnum(c) || c == '.' || c == '_' || c == ':' || c == '@' || c == '/' || c == '-')
			continue;
		if (is_control(c))
			throw_control(field, what, "An agent id", c, i);
		throw_invalid(field, message_for(what, field),
		              found_at("An agent id may contain only ASCII letters, digits and the characters . _ : @ / -", c,
		                       i));
	}
	return std::string(s);
}

std::string
normalize_provider(std::string_view provider, const std::string &field) {
	std::string out;
	append_provider(out, trim_ascii(provider), 0, field);
	return out;
}

std::string
normalize_subject(std::string_view subject, const std::string &field) {
	std::string out;
	append_subject(out, trim_ascii(subject), 0, field);
	return out;
}

std::string
normalize_external(std::string_view provider_colon_subject, const std::string &field) {
	const std::string_view s = trim_ascii(provider_colon_subject);
	if (s.empty())
		throw_empty(field, external_what, "An external identity");
	const std::size_t colon = s.find(':');
	if (colon == std::string_view::npos)
		throw_invalid(field, message_for(external_what, field),
		              "An external identity must be written as \"provider:subject\".");
	std::string out;
	out.reserve(s.size());
	append_provider(out, s.substr(0, colon), 0, field);
	out += ':';
	append_subject(out, s.substr(colon + 1), colon + 1, field);
	return out;
}

std::size_t
control_character_length(std::string_view s, std::size_t i) {
	const unsigned char c = byte_at(s, i);
	if (i < s.size() && is_control(c))
		return 1;
	if (c == 0xC2 && byte_at(s, i + 1) >= 0x80 && byte_at(s, i + 1) <= 0x9F)
		return 2;
	return 0;
}

std::size_t
whitespace_length(std::string_view s, std::size_t i) {
	const unsigned char c = byte_at(s, i), c1 = byte_at(s, i + 1), c2 = byte_at(s, i + 2);
	if (i < s.size() && is_ascii_space(c))
		return 1;
	if (c == 0xC2 && (c1 == 0x85 || c1 == 0xA0)) /* NEL, no-break space */
		return 2;
	if (c == 0xE1 && c1 == 0x9A && c2 == 0x80) /* ogham space mark */
		return 3;
	if (c == 0xE2 && c1 == 0x80 && ((c2 >= 0x80 && c2 <= 0x8A) || c2 == 0xA8 || c2 == 0xA9 || c2 == 0xAF))
		return 3; /* U+2000..U+200A, line and paragraph separators, narrow no-break space */
	if (c == 0xE2 && c1 == 0x81 && c2 == 0x9F) /* medium mathematical space */
		return 3;
	if (c == 0xE3 && c1 == 0x80 && c2 == 0x80) /* ideographic space */
		return 3;
	return 0;
}

std::string
normalize_email(std::string_view text, const std::string &field) {
	static constexpr char what[] = "invalid email address";
	const std::string_view s = trim_ascii(text);
	if (s.empty())
		throw_empty(field, what, "An email address");
	if (s.size() > email_max_bytes)
		throw_too_long(field, what, "An email address", email_max_bytes, s.size(), "bytes");

	std::size_t at = std::string_view::npos;
	std::size_t at_count = 0;
	for (std::size_t i = 0; i < s.size(); i++) {
		unsigned char c = static_cast<unsigned char>(s[i]);
		if (is_control(c))
			throw_control(field, what, "An email address", c, i);
		if (c == ' ')
			throw_invalid(field, message_for(what, field), found_at("An email address must not contain whitespace", c, i));
		if (control_character_length(s, i) > 0 || whitespace_length(s, i) > 0)
			throw_invalid(field, message_for(what, field),
			              "An email address must not contain whitespace or control characters; found one at byte " +
			                  std::to_string(i + 1) + ".");
		if (c == '@') {
			if (at_count == 0)
				at = i;
			at_count++;
		}
	}
	if (at_count == 0)
		throw_invalid(field, message_for(what, field), "An email address must contain an \"@\".");
	if (at_count > 1) {
		std::string detail = "An email address must contain exactly one \"@\"; this one has ";
		detail += std::to_string(at_count);
		detail += ".";
		throw_invalid(field, message_for(what, field), std::move(detail));
	}
	if (at == 0)
		throw_invalid(field, message_for(what, field), "An email address must have a non-empty part before the \"@\".");
	if (at == s.size() - 1)
		throw_invalid(field, message_for(what, field), "An email address must have a non-empty domain after the \"@\".");

	std::string out(s);
	for (char &c : out)
		c = ascii_lower(c);
	return out;
}

} // namespace uu::core
