/*
 * test_normalize.cpp
 *	  Unit tests of identity normalization (DESIGN.md section 3): accepted
 *	  spellings and their stored form, edge lengths and values, and for every
 *	  refusal the field named in the message and the reason in the detail.
 *
 *	  EIP-55 vectors are the ones published in the EIP. Solana edge values were
 *	  derived by base58-encoding chosen byte strings (32 bytes of 0xff, 2^256,
 *	  31 bytes of 0xff, ...); "So11111111111111111111111111111111111111112" is
 *	  the wrapped-SOL mint.
 *
 * IDENTIFICATION
 *	  test/unit/test_normalize.cpp
 */
#define BOOST_TEST_MODULE normalize
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/normalize.hpp"
#include "support.hpp"

using uu::core::Error;
namespace core = uu::core;

using uu::test::capture;
using uu::test::contains;

namespace {

/* Flips the case of the hex letter at index i (which must be a letter). */
std::string
flip_case(std::string s, std::size_t i) {
	char c = s[i];
	if (c >= 'a' && c <= 'f')
		s[i] = static_cast<char>(c - 'a' + 'A');
	else if (c >= 'A' && c <= 'F')
		s[i] = static_cast<char>(c - 'A' + 'a');
	else
		throw std::logic_error("flip_case: not a hex letter");
	return s;
}

std::string
lower(std::string s) {
	for (char &c : s)
		if (c >= 'A' && c <= 'Z')
			c = static_cast<char>(c - 'A' + 'a');
	return s;
}

std::string
upper_digits(std::string s) {
	for (std::size_t i = 2; i < s.size(); i++)
		if (s[i] >= 'a' && s[i] <= 'z')
			s[i] = static_cast<char>(s[i] - 'a' + 'A');
	return s;
}

} // namespace

/*
 * Asserts that `expr` throws an InvalidParameter Error for field `fld`, whose
 * primary message names the field in double quotes and follows the style
 * guide, and whose detail is a sentence containing `part`.
 */
#define CHECK_INVALID(expr, fld, part)                                                                              \
	do {                                                                                                            \
		const std::optional<Error> e_ = capture([&] { (void)(expr); });                                             \
		BOOST_TEST(e_.has_value(), #expr " did not throw");                                                         \
		if (e_) {                                                                                                   \
			BOOST_TEST((e_->code == Error::Code::InvalidParameter));                                                \
			BOOST_TEST(e_->field == std::string(fld));                                                              \
			BOOST_TEST(contains(e_->message, std::string(" in \"") + (fld) + "\""), "message: " << e_->message);   \
			BOOST_TEST(!e_->message.empty());                                                                       \
			BOOST_TEST(!(e_->message.front() >= 'A' && e_->message.front() <= 'Z'), "message: " << e_->message);   \
			BOOST_TEST(e_->message.back() != '.', "message: " << e_->message);                                      \
			BOOST_TEST(contains(e_->detail, part), "detail: " << e_->detail);                                      \
			BOOST_TEST((!e_->detail.empty() && e_->detail.front() >= 'A' && e_->detail.front() <= 'Z'),            \
			           "detail: " << e_->detail);                                                                   \
			BOOST_TEST((!e_->detail.empty() && e_->detail.back() == '.'), "detail: " << e_->detail);                \
		}                                                                                                           \
	} while (0)

/* Same, and the primary message starts with `msg`. */
#define CHECK_INVALID_MSG(expr, fld, msg, part)                                                                     \
	do {                                                                                                            \
		CHECK_INVALID(expr, fld, part);                                                                             \
		const std::optional<Error> m_ = capture([&] { (void)(expr); });                                             \
		if (m_)                                                                                                     \
			BOOST_TEST(m_->message.rfind(msg, 0) == 0, "message: " << m_->message);                               \
	} while (0)

const std::string F = "field";

/* ------------------------------------------------------------------ trim */

BOOST_AUTO_TEST_CASE(trim_ascii_whitespace) {
	BOOST_TEST(core::trim_ascii("") == "");
	BOOST_TEST(core::trim_ascii(" \t\n\v\f\r") == "");
	BOOST_TEST(core::trim_ascii(" \t a b \r\n") == "a b");
	BOOST_TEST(core::trim_ascii("abc") == "abc");
	/* NUL and non-ASCII spaces are not trimmed */
	BOOST_TEST(core::trim_ascii(std::string_view("\0a", 2)).size() == 2u);
	BOOST_TEST(core::trim_ascii("\xc2\xa0x") == "\xc2\xa0x");
}

/* ------------------------------------------------------------------ fid */

BOOST_AUTO_TEST_CASE(fid_number_accepted) {
	BOOST_TEST(core::normalize_fid_number("1", F) == 1);
	BOOST_TEST(core::normalize_fid_number("3", F) == 3);
	BOOST_TEST(core::normalize_fid_number("9223372036854775807", F) == std::numeric_limits<std::int64_t>::max());
	BOOST_TEST(core::normalize_fid_number("9223372036854775806", F) == std::numeric_limits<std::int64_t>::max() - 1);
	BOOST_TEST(core::normalize_fid_number(" 7 ", F) == 7);
	BOOST_TEST(core::normalize_fid_number("1000000000000000000", F) == 1000000000000000000LL);
}

BOOST_AUTO_TEST_CASE(fid_number_refused) {
	const std::string range = "A fid must be an integer between 1 and 9223372036854775807";
	CHECK_INVALID_MSG(core::normalize_fid_number("0", "fid"), "fid", "invalid fid in \"fid\"", range);
	CHECK_INVALID(core::normalize_fid_number("0", "fid"), "fid", "0 is not a valid fid");
	CHECK_INVALID(core::normalize_fid_number("9223372036854775808", "fid"), "fid", range);
	CHECK_INVALID(core::normalize_fid_number("9999999999999999999", "fid"), "fid", range);
	CHECK_INVALID(core::normalize_fid_number("10000000000000000000", "fid"), "fid", range);
	CHECK_INVALID(core::normalize_fid_number("18446744073709551617", "fid"), "fid", range);
	CHECK_INVALID(core::normalize_fid_number("-1", "fid"), "fid", "negative");
	CHECK_INVALID(core::normalize_fid_number("-5", "fid"), "fid", range);
	CHECK_INVALID(core::normalize_fid_number("-9223372036854775808", "fid"), "fid", "negative");
	CHECK_INVALID(core::normalize_fid_number("3.0", "fid"), "fid", "fractional part");
	CHECK_INVALID(core::normalize_fid_number("3.00000", "fid"), "fid", "fractional part");
	CHECK_INVALID(core::normalize_fid_number("1.5", "fid"), "fid", "fractional part");
	CHECK_INVALID(core::normalize_fid_number("0.5", "fid"), "fid", "fractional part");
	CHECK_INVALID(core::normalize_fid_number("+1", "fid"), "fid", "without a sign");
	CHECK_INVALID(core::normalize_fid_number("01", "fid"), "fid", "leading zeros");
	CHECK_INVALID(core::normalize_fid_number("1e+20", "fid"), "fid", "exponent");
	CHECK_INVALID(core::normalize_fid_number("NaN", "fid"), "fid", "found 'N' at position 1");
	CHECK_INVALID(core::normalize_fid_number("", "fid"), "fid", "must not be empty");
	CHECK_INVALID(core::normalize_fid_number(" \t", "fid"), "fid", "must not be empty");
	CHECK_INVALID(core::normalize_fid_number(std::string_view("12\0", 3), "fid"), "fid",
	              "control character \\x00 at position 3");
}

BOOST_AUTO_TEST_CASE(fid_text_accepted) {
	BOOST_TEST(core::normalize_fid_text("1", F) == 1);
	BOOST_TEST(core::normalize_fid_text("9223372036854775807", F) == std::numeric_limits<std::int64_t>::max());
	BOOST_TEST(core::normalize_fid_text(" 7 ", F) == 7);
	BOOST_TEST(core::normalize_fid_text("\t42\r\n", F) == 42);
	BOOST_TEST(core::normalize_fid_text("1234567890", F) == 1234567890);
}

BOOST_AUTO_TEST_CASE(fid_text_refused) {
	const std::string range = "A fid must be an integer between 1 and 9223372036854775807";
	CHECK_INVALID_MSG(core::normalize_fid_text("0", "fid"), "fid", "invalid fid", range);
	CHECK_INVALID(core::normalize_fid_text("9223372036854775808", "fid"), "fid", range);
	CHECK_INVALID(core::normalize_fid_text("18446744073709551616", "fid"), "fid", range);
	CHECK_INVALID(core::normalize_fid_text(std::string(1000, '9'), "fid"), "fid", range);
	CHECK_INVALID(core::normalize_fid_text("01", "fid"), "fid", "leading zeros");
	CHECK_INVALID(core::normalize_fid_text("00", "fid"), "fid", "leading zeros");
	CHECK_INVALID(core::normalize_fid_text("+1", "fid"), "fid", "without a sign");
	CHECK_INVALID(core::normalize_fid_text("-1", "fid"), "fid", "without a sign");
	CHECK_INVALID(core::normalize_fid_text("1.5", "fid"), "fid", "fractional part");
	CHECK_INVALID(core::normalize_fid_text("3.0", "fid"), "fid", "fractional part");
	CHECK_INVALID(core::normalize_fid_text("", "fid"), "fid", "must not be empty");
	CHECK_INVALID(core::normalize_fid_text("   ", "fid"), "fid", "must not be empty");
	CHECK_INVALID(core::normalize_fid_text("1 2", "fid"), "fid", "found a space at position 2");
	CHECK_INVALID(core::normalize_fid_text("12a", "fid"), "fid", "found 'a' at position 3");
	CHECK_INVALID(core::normalize_fid_text("1e3", "fid"), "fid", "found 'e' at position 2");
	CHECK_INVALID(core::normalize_fid_text("0x10", "fid"), "fid", "found 'x' at position 2");
	CHECK_INVALID(core::normalize_fid_text("\xd9\xa3", "fid"), "fid", "non-ASCII byte \\xD9 at position 1");
	CHECK_INVALID(core::normalize_fid_text(std::string_view("7\0", 2), "fid"), "fid", "control character \\x00");
	CHECK_INVALID(core::normalize_fid_text("7\x1b", "fid"), "fid", "control character \\x1B at position 2");
}

/* ------------------------------------------------------------------ EVM */

namespace {

/* Published in EIP-55: each is its own correct checksummed spelling. */
const std::vector<std::string> eip55_all_caps = {
	"0x52908400098527886E0F7030069857D2E4169EE7",
	"0x8617E340B3D01FA5F11F306F4090FD50E238070D",
};
const std::vector<std::string> eip55_all_lower = {
	"0xde709f2102306220921060314715629080e2fb77",
	"0x27b1fdb04752bbc536007a920d24acb045561c26",
};
const std::vector<std::string> eip55_mixed = {
	"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
	"0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
	"0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
	"0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
};

std::vector<std::string>
all_eip55_vectors() {
	std::vector<std::string> v = eip55_all_caps;
	v.insert(v.end(), eip55_all_lower.begin(), eip55_all_lower.end());
	v.insert(v.end(), eip55_mixed.begin(), eip55_mixed.end());
	return v;
}

std::vector<std::size_t>
letter_positions(const std::string &addr) {
	std::vector<std::size_t> out;
	for (std::size_t i = 2; i < addr.size(); i++)
		if ((addr[i] >= 'a' && addr[i] <= 'f') || (addr[i] >= 'A' && addr[i] <= 'F'))
			out.push_back(i);
	return out;
}

} // namespace

BOOST_AUTO_TEST_CASE(eip55_vectors_accepted_and_stored_lowercase) {
	for (const auto &addr : all_eip55_vectors()) {
		BOOST_TEST_CONTEXT(addr) {
			const std::string stored = core::normalize_wallet(addr, F);
			BOOST_TEST(stored == lower(addr));
			BOOST_TEST(core::is_evm_address(stored));
		}
	}
}

BOOST_AUTO_TEST_CASE(eip55_checksum_reproduces_vectors) {
	for (const auto &addr : all_eip55_vectors()) {
		BOOST_TEST_CONTEXT(addr) {
			BOOST_TEST(core::eip55_checksum(lower(addr)) == addr);
			/* uppercase hex digits in the argument are tolerated */
			BOOST_TEST(core::eip55_checksum(upper_digits(addr)) == addr);
		}
	}
}

BOOST_AUTO_TEST_CASE(eip55_one_case_flip_refused) {
	/* every single-letter case flip of a mixed-case vector breaks the checksum */
	for (const auto &addr : eip55_mixed) {
		for (std::size_t i : letter_positions(addr)) {
			BOOST_TEST_CONTEXT(addr << " flipped at " << i) {
				CHECK_INVALID_MSG(core::normalize_wallet(flip_case(addr, i), "wallets[1]"), "wallets[1]",
				                  "invalid wallet address in \"wallets[1]\"",
				                  "A mixed-case EVM address must pass the EIP-55 checksum.");
			}
		}
	}
	/* an all-caps or all-lower vector with one letter flipped is mixed case and fails */
	for (const auto &addr : eip55_all_caps) {
		for (std::size_t i : letter_positions(addr))
			CHECK_INVALID(core::normalize_wallet(flip_case(addr, i), "w"), "w", "EIP-55");
	}
	for (const auto &addr : eip55_all_lower) {
		for (std::size_t i : letter_positions(addr))
			CHECK_INVALID(core::normalize_wallet(flip_case(addr, i), "w"), "w", "EIP-55");
	}
}

BOOST_AUTO_TEST_CASE(evm_single_case_accepted_without_checksum) {
	for (const auto &addr : eip55_mixed) {
		BOOST_TEST(core::normalize_wallet(lower(addr), F) == lower(addr));
		/* all-upper digits are accepted although they are not the checksummed spelling */
		BOOST_TEST(core::normalize_wallet(upper_digits(addr), F) == lower(addr));
	}
	BOOST_TEST(core::normalize_wallet("0x0000000000000000000000000000000000000000", F) ==
	           "0x0000000000000000000000000000000000000000");
	BOOST_TEST(core::normalize_wallet("0x000000000000000000000000000000000000dEaD", F) ==
	           "0x000000000000000000000000000000000000dead");
	BOOST_TEST(core::eip55_checksum("0x000000000000000000000000000000000000dead") ==
	           "0x000000000000000000000000000000000000dEaD");
}

BOOST_AUTO_TEST_CASE(evm_trimmed) {
	BOOST_TEST(core::normalize_wallet("  0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\n", F) ==
	           "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed");
	BOOST_TEST(core::normalize_wallet("\t0x5AAEB6053F3E94C9B9A09F33669435E7EF1BEAED \r", F) ==
	           "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed");
}

BOOST_AUTO_TEST_CASE(evm_refused) {
	const std::string good = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
	CHECK_INVALID(core::normalize_wallet("0X5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "w"), "w",
	              "must start with a lowercase \"0x\"");
	CHECK_INVALID(core::normalize_wallet("0X5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", "w"), "w",
	              "must start with a lowercase \"0x\"");
	CHECK_INVALID(core::normalize_wallet("0x", "w"), "w", "this one has 0 characters after \"0x\"");
	CHECK_INVALID(core::normalize_wallet(good.substr(0, 41), "w"), "w", "this one has 39 characters");
	CHECK_INVALID(core::normalize_wallet(good + "a", "w"), "w", "this one has 41 characters");
	CHECK_INVALID(core::normalize_wallet("0x" + std::string(1 << 20, 'a'), "w"), "w", "exactly 40 hex digits");
	CHECK_INVALID(core::normalize_wallet("0xg000000000000000000000000000000000000000", "w"), "w",
	              "found 'g' at position 3");
	CHECK_INVALID(core::normalize_wallet("0x00000000000000000000 0000000000000000000", "w"), "w",
	              "found a space at position 23");
	CHECK_INVALID(core::normalize_wallet(std::string("0x000000000000000000000000000000000000000") + '\0', "w"),
	              "w", "control character \\x00 at position 42");
	CHECK_INVALID(core::normalize_wallet("0x00000000000000000000000000000000000000\xc3\xa9", "w"), "w",
	              "non-ASCII byte \\xC3 at position 41");
	/* starts with 0x: an EVM error even though the rest might look like base58 */
	CHECK_INVALID(core::normalize_wallet("0xSo11111111111111111111111111111111111111", "w"), "w",
	              "only hex digits");
}

BOOST_AUTO_TEST_CASE(is_evm_address_cases) {
	BOOST_TEST(core::is_evm_address("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"));
	BOOST_TEST(!core::is_evm_address("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"));
	BOOST_TEST(!core::is_evm_address("0X5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"));
	BOOST_TEST(!core::is_evm_address("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beae"));
	BOOST_TEST(!core::is_evm_address("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaedd"));
	BOOST_TEST(!core::is_evm_address("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaeg"));
	BOOST_TEST(!core::is_evm_address("So11111111111111111111111111111111111111112"));
	BOOST_TEST(!core::is_evm_address(""));
}

BOOST_AUTO_TEST_CASE(eip55_checksum_rejects_non_addresses) {
	BOOST_CHECK_THROW(core::eip55_checksum(""), Error);
	BOOST_CHECK_THROW(core::eip55_checksum("0x123"), Error);
	BOOST_CHECK_THROW(core::eip55_checksum("5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"), Error);
	BOOST_CHECK_THROW(core::eip55_checksum("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaeg"), Error);
}

/* ------------------------------------------------------------------ Solana */

BOOST_AUTO_TEST_CASE(solana_accepted_as_given) {
	const std::vector<std::string> good = {
		"So11111111111111111111111111111111111111112",  /* wrapped SOL mint */
		"TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",  /* SPL token program */
		"11111111111111111111111111111111",             /* 32 zero bytes: the shortest */
		"JEKNVnkbo3jma5nREBBJCDoXFVeKkD56V3xKrvRmWxFG", /* 32 bytes of 0xff: the longest, 44 chars */
		"4uQeVj5tqViQh7yWWGStvkEG1Zmhx6uasJtWCJziofM",  /* 2^248: 0x01 then 31 zero bytes */
		"14uQeVj5tqViQh7yWWGStvkEG1Zmhx6uasJtWCJziofL", /* 0x00 then 31 bytes of 0xff */
	};
	for (const auto &addr : good) {
		BOOST_TEST_CONTEXT(addr) {
			const std::string stored = core::normalize_wallet(addr, F);
			BOOST_TEST(stored == addr);
			BOOST_TEST(!core::is_evm_address(stored));
		}
	}
	BOOST_TEST(core::normalize_wallet(" \tSo11111111111111111111111111111111111111112\n ", F) ==
	           "So11111111111111111111111111111111111111112");
}

BOOST_AUTO_TEST_CASE(solana_wrong_decoded_length) {
	CHECK_INVALID_MSG(core::normalize_wallet(std::string(31, '1'), "wallets[0]"), "wallets[0]",
	                  "invalid wallet address in \"wallets[0]\"", "decodes to 31 bytes");
	CHECK_INVALID(core::normalize_wallet(std::string(33, '1'), "w"), "w", "decodes to 33 bytes");
	/* 31 bytes of 0xff */
	CHECK_INVALID(core::normalize_wallet("4uQeVj5tqViQh7yWWGStvkEG1Zmhx6uasJtWCJziofL", "w"), "w",
	              "must decode to exactly 32 bytes; this one decodes to 31 bytes.");
	/* 2^256 (0x01 then 32 zero bytes): 44 chars but 33 bytes */
	CHECK_INVALID(core::normalize_wallet("JEKNVnkbo3jma5nREBBJCDoXFVeKkD56V3xKrvRmWxFH", "w"), "w",
	              "decodes to 33 bytes");
	CHECK_INVALID(core::normalize_wallet(std::string(44, 'z'), "w"), "w", "decodes to 33 bytes");
	CHECK_INVALID(core::normalize_wallet("2", "w"), "w", "decodes to 1 byte.");
	CHECK_INVALID(core::normalize_wallet("So1111111111111111111111111111111111111111", "w"), "w",
	              "exactly 32 bytes");
}

BOOST_AUTO_TEST_CASE(solana_bad_characters) {
	const std::string base = "So11111111111111111111111111111111111111112";
	for (char bad : {'0', 'O', 'I', 'l'}) {
		std::string s = base;
		s[5] = bad;
		BOOST_TEST_CONTEXT(s) {
			CHECK_INVALID(core::normalize_wallet(s, "w"), "w",
			              std::string("found '") + bad + "' at position 6, which is not a base58 character.");
			const auto e = capture([&] { core::normalize_wallet(s, "w"); });
			BOOST_TEST((e && contains(e->hint, "0, O, I and l")));
		}
	}
	CHECK_INVALID(core::normalize_wallet("So111111111111111111111111111111111111111+2", "w"), "w",
	              "found '+' at position 42");
	CHECK_INVALID(core::normalize_wallet("So11111111111111111111 11111111111111111112", "w"), "w",
	              "found a space at position 23");
	CHECK_INVALID(core::normalize_wallet(std::string("So1111111111111111111111111111111111111111") + '\0', "w"),
	              "w", "control character \\x00 at position 43");
	CHECK_INVALID(core::normalize_wallet("So1111111111111111111111111111111111111111\xff", "w"), "w",
	              "non-ASCII byte \\xFF at position 43");
	CHECK_INVALID(core::normalize_wallet("not-a-wallet", "w"), "w", "EVM address");
}

BOOST_AUTO_TEST_CASE(solana_too_long_refused_before_decoding) {
	CHECK_INVALID(core::normalize_wallet(std::string(45, '2'), "w"), "w", "at most 44 characters; this one has 45.");
	/* a 45-char string that is otherwise valid base58 (a leading '1' on the 44-char maximum) */
	CHECK_INVALID(core::normalize_wallet("1JEKNVnkbo3jma5nREBBJCDoXFVeKkD56V3xKrvRmWxFG", "w"), "w", "at most 44");
	/* a huge input is refused by its length, whatever it holds */
	CHECK_INVALID(core::normalize_wallet(std::string(1 << 22, 'z'), "w"), "w", "at most 44 characters");
}

BOOST_AUTO_TEST_CASE(wallet_empty) {
	CHECK_INVALID_MSG(core::normalize_wallet("", "primary_address"), "primary_address",
	                  "invalid wallet address in \"primary_address\"", "must not be empty");
	CHECK_INVALID(core::normalize_wallet(" \n\t", "w"), "w", "must not be empty");
}

/* ------------------------------------------------------------------ agent */

BOOST_AUTO_TEST_CASE(agent_accepted) {
	BOOST_TEST(core::normalize_agent("a", F) == "a");
	BOOST_TEST(core::normalize_agent(std::string(128, 'x'), F) == std::string(128, 'x'));
	BOOST_TEST(core::normalize_agent("Bot.v2_beta:eu@host/path-9", F) == "Bot.v2_beta:eu@host/path-9");
	BOOST_TEST(core::normalize_agent("  agent-1 \n", F) == "agent-1");
	/* 128 after trimming */
	BOOST_TEST(core::normalize_agent(" " + std::string(128, 'y') + " ", F) == std::string(128, 'y'));
	/* every allowed character */
	const std::string all = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:@/-";
	BOOST_TEST(core::normalize_agent(all, F) == all);
}

BOOST_AUTO_TEST_CASE(agent_refused) {
	CHECK_INVALID_MSG(core::normalize_agent(std::string(129, 'x'), "agent_id"), "agent_id",
	                  "invalid agent id in \"agent_id\"", "at most 128 characters long; this one has 129.");
	CHECK_INVALID(core::normalize_agent(std::string(1 << 20, 'x'), "agent_id"), "agent_id", "at most 128");
	CHECK_INVALID(core::normalize_agent("", "agent_id"), "agent_id", "must not be empty");
	CHECK_INVALID(core::normalize_agent("  ", "agent_id"), "agent_id", "must not be empty");
	CHECK_INVALID(core::normalize_agent("my agent", "agent_id"), "agent_id", "found a space at position 3");
	CHECK_INVALID(core::normalize_agent("a#b", "agent_id"), "agent_id", "found '#' at position 2");
	CHECK_INVALID(core::normalize_agent("a'b", "agent_id"), "agent_id", "found \"'\" at position 2");
	CHECK_INVALID(core::normalize_agent("a\\b", "agent_id"), "agent_id", "found '\\' at position 2");
	CHECK_INVALID(core::normalize_agent("ab+", "agent_id"), "agent_id", "found '+' at position 3");
	CHECK_INVALID(core::normalize_agent(std::string_view("a\0b", 3), "agent_id"), "agent_id",
	              "must not contain control characters; found the control character \\x00 at position 2.");
	CHECK_INVALID(core::normalize_agent("a\x7f", "agent_id"), "agent_id", "control character \\x7F");
	CHECK_INVALID(core::normalize_agent("a\tb", "agent_id"), "agent_id", "control character \\x09 at position 2");
	CHECK_INVALID(core::normalize_agent("caf\xc3\xa9", "agent_id"), "agent_id", "non-ASCII byte \\xC3 at position 4");
}

/* ------------------------------------------------------------------ external */

BOOST_AUTO_TEST_CASE(provider_cases) {
	BOOST_TEST(core::normalize_provider("clerk", F) == "clerk");
	BOOST_TEST(core::normalize_provider("Clerk", F) == "clerk");
	BOOST_TEST(core::normalize_provider(" My_Provider-1\t", F) == "my_provider-1");
	BOOST_TEST(core::normalize_provider(std::string(32, 'P'), F) == std::string(32, 'p'));
	CHECK_INVALID_MSG(core::normalize_provider(std::string(33, 'p'), "external"), "external",
	                  "invalid external provider in \"external\"", "at most 32 characters long; this one has 33.");
	CHECK_INVALID(core::normalize_provider("", "external"), "external", "must not be empty");
	CHECK_INVALID(core::normalize_provider("cl.erk", "external"), "external", "found '.' at position 3");
	CHECK_INVALID(core::normalize_provider("cl erk", "external"), "external", "found a space at position 3");
	CHECK_INVALID(core::normalize_provider("clerk:", "external"), "external", "found ':' at position 6");
	CHECK_INVALID(core::normalize_provider(std::string_view("c\0", 2), "external"), "external",
	              "control character \\x00");
}

BOOST_AUTO_TEST_CASE(subject_cases) {
	BOOST_TEST(core::normalize_subject("user_2AbC", F) == "user_2AbC");
	BOOST_TEST(core::normalize_subject(" a:b:c ", F) == "a:b:c");
	BOOST_TEST(core::normalize_subject("!~", F) == "!~");
	BOOST_TEST(core::normalize_subject(std::string(255, 'S'), F) == std::string(255, 'S'));
	CHECK_INVALID_MSG(core::normalize_subject(std::string(256, 'S'), "external.clerk"), "external.clerk",
	                  "invalid external subject in \"external.clerk\"", "at most 255 characters long; this one has 256.");
	CHECK_INVALID(core::normalize_subject("", "external.clerk"), "external.clerk", "must not be empty");
	CHECK_INVALID(core::normalize_subject("a b", "external.clerk"), "external.clerk", "found a space at position 2");
	CHECK_INVALID(core::normalize_subject("a\x7f", "external.clerk"), "external.clerk",
	              "control character \\x7F at position 2");
	CHECK_INVALID(core::normalize_subject("\xe2\x82\xac", "external.clerk"), "external.clerk",
	              "non-ASCII byte \\xE2 at position 1");
}

BOOST_AUTO_TEST_CASE(external_cases) {
	BOOST_TEST(core::normalize_external("clerk:user_2AbC", F) == "clerk:user_2AbC");
	BOOST_TEST(core::normalize_external("Clerk:user_2AbC", F) == "clerk:user_2AbC");
	BOOST_TEST(core::normalize_external("  GitHub:a:b:c \n", F) == "github:a:b:c");
	BOOST_TEST(core::normalize_external(std::string(32, 'Q') + ":" + std::string(255, 's'), F) ==
	           std::string(32, 'q') + ":" + std::string(255, 's'));
	CHECK_INVALID_MSG(core::normalize_external("clerk", "value"), "value", "invalid external identity in \"value\"",
	                  "\"provider:subject\"");
	CHECK_INVALID(core::normalize_external("", "value"), "value", "must not be empty");
	CHECK_INVALID_MSG(core::normalize_external(":abc", "value"), "value", "invalid external provider",
	                  "must not be empty");
	CHECK_INVALID_MSG(core::normalize_external("clerk:", "value"), "value", "invalid external subject",
	                  "must not be empty");
	/* parts are not trimmed on their own; positions count in the whole value */
	CHECK_INVALID(core::normalize_external("clerk :abc", "value"), "value", "found a space at position 6");
	CHECK_INVALID(core::normalize_external("clerk: abc", "value"), "value", "found a space at position 7");
	CHECK_INVALID(core::normalize_external(std::string(33, 'q') + ":s", "value"), "value", "at most 32");
	CHECK_INVALID(core::normalize_external("q:" + std::string(256, 's'), "value"), "value", "at most 255");
	CHECK_INVALID(core::normalize_external("cl.erk:abc", "value"), "value", "found '.' at position 3");
}

/* ------------------------------------------------------------------ email */

BOOST_AUTO_TEST_CASE(email_accepted) {
	BOOST_TEST(core::normalize_email("  Foo.Bar+Tag@Example.COM \n", F) == "foo.bar+tag@example.com");
	BOOST_TEST(core::normalize_email("a@b", F) == "a@b");
	/* non-ASCII kept as is; only ASCII letters are lowercased */
	BOOST_TEST(core::normalize_email("\xc3\x9cNI@Ex\xc3\x84mple.COM", F) == "\xc3\x9cni@ex\xc3\x84mple.com");
	const std::string domain = "@example.com";
	const std::string at_limit = std::string(254 - domain.size(), 'A') + domain;
	BOOST_TEST(at_limit.size() == 254u);
	BOOST_TEST(core::normalize_email(at_limit, F) == std::string(254 - domain.size(), 'a') + domain);
	BOOST_TEST(core::normalize_email(" " + at_limit + " ", F).size() == 254u);
}

BOOST_AUTO_TEST_CASE(email_refused) {
	const std::string domain = "@example.com";
	CHECK_INVALID_MSG(core::normalize_email(std::string(255 - domain.size(), 'a') + domain, "email"), "email",
	                  "invalid email address in \"email\"", "at most 254 bytes long; this one has 255.");
	CHECK_INVALID(core::normalize_email("", "email"), "email", "must not be empty");
	CHECK_INVALID(core::normalize_email(" \t ", "email"), "email", "must not be empty");
	CHECK_INVALID(core::normalize_email("foo.example.com", "email"), "email", "must contain an \"@\"");
	CHECK_INVALID(core::normalize_email("a@b@c", "email"), "email", "exactly one \"@\"; this one has 2.");
	CHECK_INVALID(core::normalize_email("@example.com", "email"), "email", "non-empty part before");
	CHECK_INVALID(core::normalize_email("foo@", "email"), "email", "non-empty domain after");
	CHECK_INVALID(core::normalize_email("foo bar@example.com", "email"), "email",
	              "must not contain whitespace; found a space at position 4");
	CHECK_INVALID(core::normalize_email("foo\tbar@example.com", "email"), "email",
	              "control character \\x09 at position 4");
	CHECK_INVALID(core::normalize_email(std::string("foo@example.com") + '\0' + "x", "email"), "email",
	              "control character \\x00 at position 16");
	CHECK_INVALID(core::normalize_email("foo@exa\nmple.com", "email"), "email", "control character \\x0A");
	/* Unicode whitespace and C1 controls too: no-break space, NEL, ideographic space, line separator */
	for (const char *spaced : {"a@b\xc2\xa0" "c", "a@b\xc2\x85" "c", "a\xe3\x80\x80" "b@c", "a@b\xe2\x80\xa8" "c",
	                           "a@b\xc2\x9b" "c"})
		CHECK_INVALID(core::normalize_email(spaced, "email"), "email", "must not contain whitespace or control characters");
	/* other non-ASCII letters stay accepted */
	BOOST_TEST(core::normalize_email("\xe3\x81\x82@b\xc2\xa1" "c", "email") == "\xe3\x81\x82@b\xc2\xa1" "c");
}

BOOST_AUTO_TEST_CASE(control_and_whitespace_lengths) {
	BOOST_TEST(core::control_character_length("a\x01", 1) == 1u);
	BOOST_TEST(core::control_character_length("\x7f", 0) == 1u);
	BOOST_TEST(core::control_character_length("\xc2\x80", 0) == 2u);
	BOOST_TEST(core::control_character_length("\xc2\x9f", 0) == 2u);
	BOOST_TEST(core::control_character_length("\xc2\xa0", 0) == 0u); /* no-break space: whitespace, not control */
	BOOST_TEST(core::control_character_length("\xc2", 0) == 0u);       /* truncated: not read past the end */
	BOOST_TEST(core::control_character_length("\xc3\xa9", 0) == 0u);
	BOOST_TEST(core::whitespace_length(" ", 0) == 1u);
	BOOST_TEST(core::whitespace_length("\xc2\xa0", 0) == 2u);
	BOOST_TEST(core::whitespace_length("\xe2\x80\x8a", 0) == 3u);
	BOOST_TEST(core::whitespace_length("\xe2\x80\x8b", 0) == 0u); /* zero width space is not White_Space */
	BOOST_TEST(core::whitespace_length("\xe2\x80", 0) == 0u);
	BOOST_TEST(core::whitespace_length("\xe3\x80\x80", 0) == 3u);
}

/* ------------------------------------------------------------------ messages */

BOOST_AUTO_TEST_CASE(escape_for_message_cases) {
	BOOST_TEST(core::escape_for_message("plain text") == "plain text");
	BOOST_TEST(core::escape_for_message(std::string_view("a\"b\\c\x01\xff\0", 8)) == "a\\\"b\\\\c\\x01\\xFF\\x00");
	BOOST_TEST(core::escape_for_message(std::string(100, 'x')) == std::string(64, 'x') + "...");
	BOOST_TEST(core::escape_for_message(std::string(64, 'x')) == std::string(64, 'x'));
	BOOST_TEST(core::escape_for_message("abcdef", 3) == "abc...");
}

BOOST_AUTO_TEST_CASE(hostile_field_is_escaped_in_message) {
	const std::string field = std::string("external.ev\x01l\"") + "\xff";
	const auto e = capture([&] { core::normalize_subject("", field); });
	BOOST_TEST_REQUIRE(e.has_value());
	BOOST_TEST(e->field == field);
	BOOST_TEST(e->message == "invalid external subject in \"external.ev\\x01l\\\"\\xFF\"");
	for (char c : e->message)
		BOOST_TEST((static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f));
}

BOOST_AUTO_TEST_CASE(empty_field_gives_bare_message) {
	const auto e = capture([&] { core::normalize_agent("", ""); });
	BOOST_TEST_REQUIRE(e.has_value());
	BOOST_TEST(e->message == "invalid agent id");
}

BOOST_AUTO_TEST_CASE(details_never_echo_the_input) {
	/* a long hostile value: the detail names one byte, never the whole value */
	const std::string hostile = "<script>" + std::string(500, 'A') + "\x1b[31m";
	for (auto fn : {&core::normalize_agent, &core::normalize_wallet, &core::normalize_email,
	                &core::normalize_provider, &core::normalize_subject, &core::normalize_external}) {
		const auto e = capture([&] { fn(hostile, "f"); });
		BOOST_TEST_REQUIRE(e.has_value());
		BOOST_TEST(!contains(e->detail, "AAAAAAAA"), "detail: " << e->detail);
		BOOST_TEST(!contains(e->message, "AAAAAAAA"), "message: " << e->message);
		BOOST_TEST(!contains(e->detail, "\x1b"));
	}
}
