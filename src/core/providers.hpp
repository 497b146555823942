/*
 * providers.hpp
 *	  Provider profiles mapped to user_upsert() payloads (DESIGN.md section 7,
 *	  user_upsert_from): a Clerk User object and a Farcaster user as Neynar
 *	  returns it.
 *
 *	  A mapping only picks fields and checks their JSON types; it returns a
 *	  payload object (keys of DESIGN.md 4.1, plus "conflicts" for farcaster)
 *	  that the caller completes with "policy" and then validates and
 *	  normalizes with parse_payload(). Values are copied as given (no
 *	  trimming, no normalization); empty strings and nulls give no key, so a
 *	  profile never clears a stored attribute. Fields the mapping does not
 *	  use are ignored whatever their type; a used field of the wrong type is
 *	  Error(InvalidParameter) naming its path in the profile, e.g.
 *	  "email_addresses[1].email_address".
 *
 * IDENTIFICATION
 *	  src/core/providers.hpp
 */
#pragma once

#include "core/json.hpp"

#include <string_view>

namespace uu::core {

/*
 * A Clerk User object (Backend API, or the "data" of a user.* webhook event)
 * mapped to a payload: "external": {"clerk": id}, the primary email, the
 * name, username and image, verified web3 wallets only (the primary web3
 * wallet first), "observed_at" from updated_at and public_metadata as
 * attrs.clerk_public_metadata. private_metadata and unsafe_metadata are never
 * read.
 */
Json map_clerk_user(const Json &user);

/*
 * A Farcaster user as Neynar's v2 API returns it mapped to a payload: fid,
 * username, display_name, pfp_url, the custody address and every verified
 * address as wallets, the primary eth address as primary_address, and
 * "conflicts": "skip" (one address can be verified by several fids).
 */
Json map_farcaster_user(const Json &user);

/*
 * Dispatch by provider name, "clerk" or "farcaster" (ASCII case ignored);
 * any other name is Error(InvalidParameter) on field "provider".
 */
Json map_provider_profile(std::string_view provider, const Json &profile);

} // namespace uu::core
