/*
 * keccak.cpp
 *	  Keccak-256 as Ethereum uses it: the Keccak[c=512] sponge over
 *	  Keccak-f[1600] with the original multi-rate padding (0x01 ... 0x80),
 *	  not the FIPS 202 SHA3-256 padding (0x06 ... 0x80).
 *
 *	  The state is 25 little-endian 64-bit lanes; the rate is 136 bytes
 *	  (17 lanes) and the first 32 bytes of the state are the digest. Lanes are
 *	  loaded and stored byte by byte, so the code is independent of the host's
 *	  endianness and alignment. It only serves EIP-55 checksums of 40-byte
 *	  inputs, so it favours clarity over unrolling.
 *
 * IDENTIFICATION
 *	  src/core/keccak.cpp
 */
#include "core/keccak.hpp"

#include <cstring>

#ifdef POSTGRES_H
#error "src/core must not include PostgreSQL headers"
#endif

namespace uu::core {

namespace {

constexpr std::size_t rate_bytes = 136; /* (1600 - 2 * 256) / 8 */

constexpr std::uint64_t round_constants[24] = {
	0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
	0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
	0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
	0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
	0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
	0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

/* rho offsets and pi lane order, walked along the pi permutation's single cycle starting at lane 1 */
constexpr unsigned rho_offsets[24] = {
	1, 3, 6, 10, 15, 21, 28, 36, 45, 55, 2, 14, 27, 41, 56, 8, 25, 43, 62, 18, 39, 61, 20, 44,
};
constexpr unsigned pi_lanes[24] = {
	10, 7, 11, 17, 18, 3, 5, 16, 8, 21, 24, 4, 15, 23, 19, 13, 12, 2, 20, 14, 22, 9, 6, 1,
};

inline std::uint64_t
rotl64(std::uint64_t x, unsigned n) {
	/* every offset above is in 1..63, so neither shift is by 64 */
	return (x << n) | (x >> (64 - n));
}

void
keccak_f1600(std::uint64_t st[25]) {
	std::uint64_t bc[5];

	for (int round = 0; round < 24; round++) {
		/* theta */
		for (int i = 0; i < 5; i++)
			bc[i] = st[i] ^ st[i + 5] ^ st[i + 10] ^ st[i + 15] ^ st[i + 20];
		for (int i = 0; i < 5; i++) {
			std::uint64_t t = bc[(i + 4) % 5] ^ rotl64(bc[(i + 1) % 5], 1);
			for (int j = 0; j < 25; j += 5)
				st[j + i] ^= t;
		}

		/* rho and pi */
		std::uint64_t carry = st[1];
		for (int i = 0; i < 24; i++) {
			unsigned j = pi_lanes[i];
			std::uint64_t next = st[j];
			st[j] = rotl64(carry, rho_offsets[i]);
			carry = next;
		}

		/* chi */
		for (int j = 0; j < 25; j += 5) {
			for (int i = 0; i < 5; i++)
				bc[i] = st[j + i];
			for (int i = 0; i < 5; i++)
				st[j + i] ^= (~bc[(i + 1) % 5]) & bc[(i + 2) % 5];
		}

		/* iota */
		st[0] ^= round_constants[round];
	}
}

inline std::uint64_t
load_le64(const std::uint8_t *p) {
	std::uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* XORs one full rate block into the state and permutes. */
inline void
absorb_block(std::uint64_t st[25], const std::uint8_t *block) {
	for (std::size_t i = 0; i < rate_bytes / 8; i++)
		st[i] ^= load_le64(block + 8 * i);
	keccak_f1600(st);
}

} // namespace

std::array<std::uint8_t, 32>
keccak256(const std::uint8_t *data, std::size_t len) {
	std::uint64_t st[25] = {};

	while (len >= rate_bytes) {
		absorb_block(st, data);
		data += rate_bytes;
		len -= rate_bytes;
	}

	/*
	 * Last, partial block (possibly empty): pad10*1 with Keccak's domain bit,
	 * i.e. 0x01 right after the message and 0x80 in the block's last byte;
	 * when exactly one byte is left they combine into 0x81.
	 */
	std::uint8_t last[rate_bytes] = {};
	if (len > 0)
		std::memcpy(last, data, len);
	last[len] ^= 0x01;
	last[rate_bytes - 1] ^= 0x80;
	absorb_block(st, last);

	std::array<std::uint8_t, 32> out;
	for (std::size_t i = 0; i < out.size(); i++)
		out[i] = static_cast<std::uint8_t>(st[i / 8] >> (8 * (i % 8)));
	return out;
}

} // namespace uu::core
