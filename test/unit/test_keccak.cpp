/*
 * test_keccak.cpp
 *	  Unit tests of Keccak-256 (Ethereum padding).
 *
 *	  Expected digests other than the two published ones ("" and "abc") were
 *	  computed with the js-sha3 package's keccak256 (npm js-sha3 0.9.3), an
 *	  implementation independent of ours; the quick-brown-fox digest is also
 *	  the widely published one. Lengths 135/136/137 and 271/272/273 straddle
 *	  the 136-byte rate, where the padding byte 0x01 and the final 0x80 fall
 *	  into the same byte (135), a block of their own (136), or the next block.
 *
 * IDENTIFICATION
 *	  test/unit/test_keccak.cpp
 */
#define BOOST_TEST_MODULE keccak
#include <boost/test/unit_test.hpp>

#include <set>
#include <string>
#include <vector>

#include "core/keccak.hpp"

namespace {

std::string
to_hex(const std::array<std::uint8_t, 32> &digest) {
	static const char digits[] = "0123456789abcdef";
	std::string out;
	for (std::uint8_t b : digest) {
		out += digits[b >> 4];
		out += digits[b & 0xf];
	}
	return out;
}

std::string
hex_of(std::string_view s) {
	return to_hex(uu::core::keccak256(s));
}

/* bytes 0, 1, 2, ... 255, 0, 1, ... */
std::vector<std::uint8_t>
pattern(std::size_t n) {
	std::vector<std::uint8_t> v(n);
	for (std::size_t i = 0; i < n; i++)
		v[i] = static_cast<std::uint8_t>(i & 0xff);
	return v;
}

std::string
hex_of_pattern(std::size_t n) {
	auto v = pattern(n);
	return to_hex(uu::core::keccak256(v.data(), v.size()));
}

} // namespace

BOOST_AUTO_TEST_CASE(published_vectors) {
	BOOST_TEST(hex_of("") == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
	BOOST_TEST(hex_of("abc") == "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
	BOOST_TEST(hex_of("The quick brown fox jumps over the lazy dog") ==
	           "4d741b6f1eb29cb2a9b9911c82f56fa8d73b04959d3d9d222895df6c0b28aa15");
}

BOOST_AUTO_TEST_CASE(not_sha3_padding) {
	/* SHA3-256("") is a7ffc6f8...; getting it would mean the 0x06 padding slipped in */
	BOOST_TEST(hex_of("") != "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a");
}

BOOST_AUTO_TEST_CASE(one_byte) {
	BOOST_TEST(hex_of("a") == "3ac225168df54212a25c1c01fd35bebfea408fdac2e31ddd6f80a4bbf9a5f1cb");
}

BOOST_AUTO_TEST_CASE(rate_boundary_one_block) {
	BOOST_TEST(hex_of(std::string(135, 'a')) == "34367dc248bbd832f4e3e69dfaac2f92638bd0bbd18f2912ba4ef454919cf446");
	BOOST_TEST(hex_of(std::string(136, 'a')) == "a6c4d403279fe3e0af03729caada8374b5ca54d8065329a3ebcaeb4b60aa386e");
	BOOST_TEST(hex_of(std::string(137, 'a')) == "d869f639c7046b4929fc92a4d988a8b22c55fbadb802c0c66ebcd484f1915f39");
}

BOOST_AUTO_TEST_CASE(rate_boundary_two_blocks) {
	BOOST_TEST(hex_of(std::string(271, 'a')) == "132f47effd6c8b1b299efa53fe68aece77ec8ae4eb2e294f668eec94f76001e1");
	BOOST_TEST(hex_of(std::string(272, 'a')) == "cf7fcd4f705ee749930d19ca84561a9bf62516bd90a471545fa2f49fdc7e63c8");
	BOOST_TEST(hex_of(std::string(273, 'a')) == "5a7b8187d2778e614097fac3097573de1fee4d972304d3360796a857029bb176");
}

BOOST_AUTO_TEST_CASE(binary_inputs_crossing_the_rate) {
	/* every byte value, including 0x00 and 0x80, so no byte is treated as text */
	BOOST_TEST(hex_of_pattern(200) == "bfb0aa97863e797943cf7c33bb7e880bb4543f3d2703c0923c6901c2af57b890");
	BOOST_TEST(hex_of_pattern(256) == "dc924469b334aed2a19fac7252e9961aea41f8d91996366029dbe0884229bf36");
	BOOST_TEST(hex_of_pattern(1000) == "aca79e4146e30eb1c733f6d6060d72471c36ea4e01ebf45d7f4916249c2bbd82");
}

BOOST_AUTO_TEST_CASE(long_input) {
	BOOST_TEST(hex_of(std::string(1000000, 'a')) ==
	           "fadae6b49f129bbb812be8407b7b2894f34aecf6dbd1f9b0f0c7e9853098fc96");
}

BOOST_AUTO_TEST_CASE(pointer_and_string_view_agree) {
	auto v = pattern(300);
	std::string s(v.begin(), v.end());
	BOOST_TEST(to_hex(uu::core::keccak256(v.data(), v.size())) == hex_of(s));
	/* a null pointer with length 0 is the empty message */
	BOOST_TEST(to_hex(uu::core::keccak256(nullptr, 0)) == hex_of(""));
}

BOOST_AUTO_TEST_CASE(every_length_differs) {
	/* a padding bug often makes neighbouring lengths collide */
	std::set<std::string> seen;
	for (std::size_t n = 0; n <= 300; n++)
		BOOST_TEST(seen.insert(hex_of(std::string(n, '\0'))).second, "digest of length " << n << " repeats");
}
