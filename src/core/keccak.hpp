/*
 * keccak.hpp
 *	  Keccak-256 (the pre-standard padding 0x01 used by Ethereum, not SHA3-256).
 *
 * IDENTIFICATION
 *	  src/core/keccak.hpp
 */
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace uu::core {

std::array<std::uint8_t, 32> keccak256(const std::uint8_t *data, std::size_t len);

inline std::array<std::uint8_t, 32>
keccak256(std::string_view s) {
	return keccak256(reinterpret_cast<const std::uint8_t *>(s.data()), s.size());
}

} // namespace uu::core
