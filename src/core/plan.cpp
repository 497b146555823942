/*
 * plan.cpp
 *	  Matching and the merge / fill / keep policies, field by field.
 *
 * IDENTIFICATION
 *	  src/core/plan.cpp
 */
#include "core/plan.hpp"

#include "core/error.hpp"
#include "core/normalize.hpp"

#include <algorithm>

#ifdef POSTGRES_H
#error "src/core must not include PostgreSQL headers"
#endif

namespace uu::core {

namespace {

[[noreturn]] void
conflict(std::string field, std::string message, std::string detail, std::string hint = {}) {
	throw Error(Error::Code::IdentityConflict, std::move(field), std::move(message), std::move(detail),
	            std::move(hint));
}

const StoredUser &
find_owner(const std::vector<StoredUser> &owners, const std::string &id) {
	for (const auto &u : owners)
		if (u.id() == id)
			return u;
	throw std::logic_error("owner " + id + " was not loaded");
}

std::string
external_provider(const std::string &value) {
	return value.substr(0, value.find(':'));
}

/* Applies a nullable text field under a policy. */
void
apply_text(std::optional<std::string> &stored, const TextField &field, Policy policy) {
	if (field.absent() || policy == Policy::Keep)
		return;
	if (policy == Policy::Merge) {
		if (field.is_null())
			stored.reset();
		else
			stored = field.value;
	} else if (field.has_value() && !stored)
		stored = field.value;
}

Json
apply_attrs(const Json &stored, const Payload &payload, Policy policy) {
	if (payload.attrs_state == Payload::Attrs::Absent || policy == Policy::Keep)
		return stored;
	if (policy == Policy::Merge)
		return payload.attrs_state == Payload::Attrs::Null ? Json::object() : merge_patch(stored, payload.attrs);
	/* fill: add top-level keys the stored attrs lack, skipping nulls */
	if (payload.attrs_state == Payload::Attrs::Null)
		return stored;
	Json result = stored.is_object() ? stored : Json::object();
	add_missing_members(result, payload.attrs, true);
	return result;
}

/*
 * Links the payload's identities to `user` under merge or fill: a second fid,
 * agent or subject of a provider is UU001, never an overwrite.
 */
std::vector<IdentityPair>
identities_to_link(const Payload &payload, const Config &config, const StoredUser *user, RowValues &row) {
	std::vector<IdentityPair> link;
	const std::string who = user ? "user " + user->id() : "the new user";
	if (payload.fid) {
		std::string value = std::to_string(*payload.fid);
		if (!row.fid) {
			row.fid = payload.fid;
			link.emplace_back("fid", value);
		} else if (*row.fid != *payload.fid)
			conflict("fid", "user already has a different fid",
			         "User " + (user ? user->id() : std::string()) + " has fid " + std::to_string(*row.fid) +
			             "; the payload gives fid " + value + ".",
			         "A user has at most one fid; unlink the old one first with DELETE on user_upsert.identities.");
	}
	for (const auto &[provider, subject] : payload.external) {
		std::string value = provider + ":" + subject;
		bool owned = false;
		if (user)
			for (const auto &[kind, stored] : user->identities)
				if (kind == "external" && external_provider(stored) == provider) {
					if (stored != value)
						conflict("external." + provider, "user already has a different subject for provider \"" +
						                                     provider + "\"",
						         "User " + user->id() + " has external identity " + stored +
						             "; the payload gives " + value + ".",
						         "A user has at most one subject per provider.");
					owned = true;
				}
		if (!owned)
			link.emplace_back("external", value);
	}
	if (payload.agent_id) {
		if (!row.agent_id) {
			row.agent_id = payload.agent_id;
			link.emplace_back("agent", *payload.agent_id);
		} else if (*row.agent_id != *payload.agent_id)
			conflict("agent_id", "user already has a different agent_id",
			         "User " + (user ? user->id() : std::string()) + " has agent_id " + *row.agent_id +
			             "; the payload gives " + *payload.agent_id + ".",
			         "A user has at most one agent_id.");
	}
	std::size_t wallets = user ? user->wallet_count() : 0;
	std::vector<std::string> gained;
	for (const auto &w : payload.all_wallets())
		if (!user || !user->owns("wallet", w)) {
			link.emplace_back("wallet", w);
			gained.push_back(w);
			wallets++;
		}
	if (wallets > static_cast<std::size_t>(config.max_wallets))
		conflict("wallets", "too many wallets for one user",
		         "The result would give " + who + " " + std::to_string(wallets) +
		             " wallets; user_upsert.max_wallets is " + std::to_string(config.max_wallets) + ".");

	/* primary_address, then the first gained wallet for a user without one */
	apply_text(row.primary_address, payload.primary_address, payload.policy);
	bool cleared = payload.policy == Policy::Merge && payload.primary_address.is_null();
	if (!row.primary_address && !cleared && !gained.empty()) {
		for (const auto &w : payload.wallets)
			if (std::find(gained.begin(), gained.end(), w) != gained.end()) {
				row.primary_address = w;
				break;
			}
		if (!row.primary_address)
			row.primary_address = gained.front();
	}
	return link;
}


/*
 * Applies a merge or fill payload to `user`: fills plan.row and plan.link,
 * returns whether anything would change.
 */
bool
apply_payload(const Payload &payload, const Config &config, const StoredUser &user, Plan &plan) {
	const RowValues before = RowValues::from(user);
	RowValues row = before;
	plan.link = identities_to_link(payload, config, &user, row);
	apply_text(row.email, payload.email, payload.policy);
	apply_text(row.username, payload.username, payload.policy);
	apply_text(row.display_name, payload.display_name, payload.policy);
	apply_text(row.avatar_url, payload.avatar_url, payload.policy);
	if (payload.policy == Policy::Merge && payload.kind)
		row.kind = *payload.kind;
	row.attrs = apply_attrs(before.attrs, payload, payload.policy);
	if (payload.observed_at && (!row.observed_at || *payload.observed_at > *row.observed_at))
		row.observed_at = payload.observed_at;
	plan.row = std::move(row);
	return !(plan.row == before) || !plan.link.empty();
}

/* Oldest first: created_at, then id. */
bool
older(const StoredUser *a, const StoredUser *b) {
	auto ta = a->timestamp("created_at"), tb = b->timestamp("created_at");
	if (ta != tb)
		return ta < tb;
	return a->id() < b->id();
}

std::string
user_list(const std::vector<const StoredUser *> &users) {
	std::string out;
	for (std::size_t i = 0; i < users.size(); i++)
		out += (i ? ", " : "") + users[i]->id();
	return out;
}

/* UU001 when two of the users hold different identities of a one-per-user kind (4.4). */
void
check_mergeable(const std::vector<const StoredUser *> &users) {
	auto single = [&](const char *kind, const char *label, auto key_of) {
		for (std::size_t i = 0; i < users.size(); i++)
			for (const auto &[k1, v1] : users[i]->identities) {
				if (k1 != kind)
					continue;
				for (std::size_t j = i + 1; j < users.size(); j++)
					for (const auto &[k2, v2] : users[j]->identities)
						if (k2 == kind && key_of(v1) == key_of(v2) && v1 != v2)
							conflict("", std::string("cannot merge users with different ") + label,
							         "User " + users[i]->id() + " has " + kind + " " + v1 + " and user " +
							             users[j]->id() + " has " + kind + " " + v2 + ".",
							         "Unlink one of them first with DELETE on user_upsert.identities.");
			}
	};
	single("fid", "fids", [](const std::string &) { return std::string(); });
	single("agent", "agent_ids", [](const std::string &) { return std::string(); });
	single("external", "subjects of one provider", external_provider);
}

template <typename T>
void
fill_null(std::optional<T> &into, const std::optional<T> &from) {
	if (!into && from)
		into = from;
}

/* 4.4: merge every owner into one survivor, then apply the payload to it. */
Plan
plan_merge(const Payload &payload, const Config &config, const IdLookup &id, const std::vector<Identity> &identities,
           const std::vector<IdentityOwner> &identity_owner, const std::vector<StoredUser> &owners,
           const std::vector<std::string> &order) {
	std::vector<const StoredUser *> users;
	for (const auto &owner : order)
		users.push_back(&find_owner(owners, owner));

	std::string detail = "The payload's identities belong to users " + user_list(users) + ":";
	for (std::size_t i = 0; i < identities.size(); i++)
		if (!identity_owner[i].owner.empty())
			detail += " (" + std::string(identity_kind_name(identities[i].kind)) + ", " + identities[i].value +
			          ") belongs to " + identity_owner[i].owner + ";";
	detail.back() = '.';
	if (!config.merge)
		conflict("", "payload identities belong to several users", detail,
		         "Merging is disabled by user_upsert.merge = off.");
	if (users.size() > static_cast<std::size_t>(config.max_merge))
		conflict("", "payload would merge more users than user_upsert.max_merge allows",
		         detail + " user_upsert.max_merge is " + std::to_string(config.max_merge) + ".");
	check_mergeable(users);

	const StoredUser *survivor = nullptr;
	if (id.state == IdLookup::State::Live)
		survivor = &find_owner(owners, id.owner);
	else
		survivor = *std::min_element(users.begin(), users.end(), older);
	std::vector<const StoredUser *> losers;
	for (const auto *u : users)
		if (u != survivor)
			losers.push_back(u);
	std::sort(losers.begin(), losers.end(), older);

	Plan plan;
	plan.action = Action::Merged;
	plan.user_id = survivor->id();
	plan.write_row = true;

	/* The survivor as the merge leaves it, before the payload applies. */
	StoredUser merged = *survivor;
	RowValues row = RowValues::from(*survivor);
	for (const auto *loser : losers) {
		RowValues from = RowValues::from(*loser);
		fill_null(row.fid, from.fid);
		fill_null(row.primary_address, from.primary_address);
		fill_null(row.agent_id, from.agent_id);
		fill_null(row.email, from.email);
		fill_null(row.username, from.username);
		fill_null(row.display_name, from.display_name);
		fill_null(row.avatar_url, from.avatar_url);
		if (from.observed_at && (!row.observed_at || *from.observed_at > *row.observed_at))
			row.observed_at = from.observed_at;
		if (from.attrs.is_object())
			add_missing_members(row.attrs, from.attrs, false);
		MergeStep step;
		step.loser_id = loser->id();
		step.snapshot = user_document(loser->row, loser->identities);
		step.moved = loser->identities;
		for (const auto &identity : loser->identities)
			merged.identities.push_back(identity);
		plan.merges.push_back(std::move(step));
	}
	merged.row.set("fid", row.fid ? Json::number(*row.fid) : Json::null());
	auto text_or_null = [](const std::optional<std::string> &s) { return s ? Json::string(*s) : Json::null(); };
	merged.row.set("primary_address", text_or_null(row.primary_address));
	merged.row.set("agent_id", text_or_null(row.agent_id));
	merged.row.set("email", text_or_null(row.email));
	merged.row.set("username", text_or_null(row.username));
	merged.row.set("display_name", text_or_null(row.display_name));
	merged.row.set("avatar_url", text_or_null(row.avatar_url));
	merged.row.set("observed_at", row.observed_at ? Json::string(format_iso8601_utc(*row.observed_at)) : Json::null());
	merged.row.set("attrs", row.attrs);

	Payload applied = payload;
	(void) apply_payload(applied, config, merged, plan);
	return plan;
}
} // namespace

const char *
action_name(Action action) {
	switch (action) {
	case Action::Inserted: return "inserted";
	case Action::Updated: return "updated";
	case Action::Unchanged: return "unchanged";
	case Action::Merged: return "merged";
	case Action::Stale: return "stale";
	}
	return "unknown";
}

std::string
StoredUser::id() const {
	return text("id").value_or(std::string());
}

std::optional<std::string>
StoredUser::text(const char *column) const {
	const Json *v = row.find(column);
	if (!v || v->is_null())
		return std::nullopt;
	return v->text();
}

std::optional<std::int64_t>
StoredUser::fid() const {
	const Json *v = row.find("fid");
	if (!v || v->is_null())
		return std::nullopt;
	return std::stoll(v->text());
}

std::optional<EpochMicros>
StoredUser::timestamp(const char *column) const {
	auto t = text(column);
	if (!t)
		return std::nullopt;
	return parse_iso8601(*t);
}

bool
StoredUser::owns(std::string_view kind, std::string_view value) const {
	for (const auto &[k, v] : identities)
		if (k == kind && v == value)
			return true;
	return false;
}

std::size_t
StoredUser::wallet_count() const {
	return static_cast<std::size_t>(std::count_if(identities.begin(), identities.end(),
	                                              [](const IdentityPair &p) { return p.first == "wallet"; }));
}

RowValues
RowValues::from(const StoredUser &user) {
	RowValues r;
	r.kind = user.text("kind").value_or("human");
	r.fid = user.fid();
	r.primary_address = user.text("primary_address");
	r.agent_id = user.text("agent_id");
	r.email = user.text("email");
	r.username = user.text("username");
	r.display_name = user.text("display_name");
	r.avatar_url = user.text("avatar_url");
	if (const Json *attrs = user.row.find("attrs"))
		r.attrs = *attrs;
	r.observed_at = user.timestamp("observed_at");
	return r;
}

bool
operator==(const RowValues &a, const RowValues &b) {
	return a.kind == b.kind && a.fid == b.fid && a.primary_address == b.primary_address && a.agent_id == b.agent_id &&
	       a.email == b.email && a.username == b.username && a.display_name == b.display_name &&
	       a.avatar_url == b.avatar_url && a.attrs == b.attrs && a.observed_at == b.observed_at;
}

namespace {

/* The decision for a payload whose every identity must be honoured. */
Plan
plan_exact(const Payload &payload, const Config &config, const IdLookup &id,
           const std::vector<IdentityOwner> &identity_owner, const std::vector<StoredUser> &owners) {
	const std::vector<Identity> identities = payload.identities();

	for (std::size_t i = 0; i < identities.size(); i++)
		if (!identity_owner[i].blocked.empty())
			throw Error(Error::Code::BlockedIdentity, identities[i].field,
			            "blocked identity in \"" + identities[i].field + "\"",
			            "Key (" + std::string(identity_kind_name(identities[i].kind)) + ", " + identities[i].value +
			                ") is listed in user_upsert.blocked_identities: " + identity_owner[i].blocked + ".");

	if (id.state == IdLookup::State::Deleted) {
		if (!id.owner.empty() && id.owner != *payload.id)
			conflict("id", "user " + *payload.id + " was merged into user " + id.owner + ", which is deleted",
			         "A deleted user cannot be written by user_upsert().");
		conflict("id", "user " + *payload.id + " is deleted", "A deleted user cannot be written by user_upsert().");
	}
	for (std::size_t i = 0; i < identities.size(); i++)
		if (identity_owner[i].deleted)
			conflict(identities[i].field, "identity belongs to a deleted user",
			         "Key (" + std::string(identity_kind_name(identities[i].kind)) + ", " + identities[i].value +
			             ") belongs to deleted user " + identity_owner[i].owner + ".");

	/* Distinct live owners in the order of 4.2: id, then the identities. */
	std::vector<std::string> order;
	auto add_owner = [&](const std::string &owner) {
		if (!owner.empty() && std::find(order.begin(), order.end(), owner) == order.end())
			order.push_back(owner);
	};
	if (id.state == IdLookup::State::Live)
		add_owner(id.owner);
	for (const auto &o : identity_owner)
		add_owner(o.owner);

	Plan plan;

	/* Stale protection comes before anything else. */
	if (payload.observed_at && !order.empty()) {
		std::optional<EpochMicros> newest;
		for (const auto &owner : order) {
			auto t = find_owner(owners, owner).timestamp("observed_at");
			if (t && (!newest || *t > *newest))
				newest = t;
		}
		if (newest && *payload.observed_at < *newest) {
			plan.action = Action::Stale;
			plan.user_id = order.front();
			return plan;
		}
	}

	if (order.empty()) {
		plan.action = Action::Inserted;
		plan.insert = plan.write_row = true;
		plan.user_id = payload.id.value_or(std::string());
		RowValues &row = plan.row;
		row.kind = payload.kind.value_or(payload.agent_id ? "agent" : "human");
		Policy policy = payload.policy == Policy::Keep ? Policy::Merge : payload.policy;
		Payload creating = payload;
		creating.policy = policy;
		plan.link = identities_to_link(creating, config, nullptr, row);
		apply_text(row.email, payload.email, policy);
		apply_text(row.username, payload.username, policy);
		apply_text(row.display_name, payload.display_name, policy);
		apply_text(row.avatar_url, payload.avatar_url, policy);
		row.attrs = apply_attrs(Json::object(), payload, policy);
		row.observed_at = payload.observed_at;
		return plan;
	}

	if (id.state == IdLookup::State::NoRow)
		conflict("id", "payload id names no user but its identities belong to user " + order.front(),
		         "Id " + *payload.id + " names no row, and the identities of the payload belong to user " +
		             order.front() + ".",
		         "Omit \"id\", or give the id of the user that owns the identities.");

	if (order.size() > 1) {
		if (payload.policy == Policy::Keep) {
			plan.action = Action::Unchanged;
			plan.user_id = order.front();
			return plan;
		}
		return plan_merge(payload, config, id, identities, identity_owner, owners, order);
	}

	const StoredUser &user = find_owner(owners, order.front());
	plan.user_id = order.front();
	if (payload.policy == Policy::Keep) {
		plan.action = Action::Unchanged;
		return plan;
	}
	if (apply_payload(payload, config, user, plan)) {
		plan.action = Action::Updated;
		plan.write_row = true;
	} else
		plan.action = Action::Unchanged;
	return plan;
}

/* The payload without the identities whose `drop` is set. */
Payload
without(const Payload &payload, const std::vector<Identity> &identities, const std::vector<bool> &drop) {
	Payload reduced = payload;
	reduced.wallets.clear();
	reduced.external.clear();
	auto dropped = [&](IdentityKind kind, const std::string &value) {
		for (std::size_t i = 0; i < identities.size(); i++)
			if (identities[i].kind == kind && identities[i].value == value)
				return static_cast<bool>(drop[i]);
		return false;
	};
	if (payload.fid && dropped(IdentityKind::Fid, std::to_string(*payload.fid)))
		reduced.fid.reset();
	if (payload.agent_id && dropped(IdentityKind::Agent, *payload.agent_id))
		reduced.agent_id.reset();
	for (const auto &[provider, subject] : payload.external)
		if (!dropped(IdentityKind::External, provider + ":" + subject))
			reduced.external.emplace_back(provider, subject);
	if (payload.primary_address.has_value() && dropped(IdentityKind::Wallet, payload.primary_address.value))
		reduced.primary_address = TextField{};
	for (const auto &w : payload.wallets)
		if (!dropped(IdentityKind::Wallet, w))
			reduced.wallets.push_back(w);
	return reduced;
}

/*
 * "conflicts": "skip": leaves out every identity whose linking would be
 * refused (blocked, owned by a deleted user, owned by a user that cannot be
 * merged in, a second fid / agent / subject, wallets past max_wallets),
 * then decides for what is left.
 */
Plan
plan_skipping(const Payload &payload, const Config &config, const IdLookup &id,
              const std::vector<IdentityOwner> &identity_owner, const std::vector<StoredUser> &owners) {
	const std::vector<Identity> identities = payload.identities();
	std::vector<bool> drop(identities.size(), false);
	std::vector<Skipped> skipped;
	Error::Code first_code = Error::Code::IdentityConflict;
	auto skip = [&](std::size_t i, std::string reason, Error::Code code) {
		if (skipped.empty())
			first_code = code;
		drop[i] = true;
		skipped.push_back(Skipped{identity_kind_name(identities[i].kind), identities[i].value, std::move(reason)});
	};

	for (std::size_t i = 0; i < identities.size(); i++) {
		if (!identity_owner[i].blocked.empty())
			skip(i, "blocked: " + identity_owner[i].blocked, Error::Code::BlockedIdentity);
		else if (identity_owner[i].deleted)
			skip(i, "belongs to deleted user " + identity_owner[i].owner, Error::Code::IdentityConflict);
	}

	/*
	 * In the order of 4.2, each identity either joins the user the call ends
	 * with or is skipped: an owner joins when it can be merged with the owners
	 * already in and holds no fid, agent or subject different from those
	 * claimed so far; an unowned fid, agent or subject is claimed unless a
	 * different one is already held.
	 */
	std::vector<const StoredUser *> accepted;
	std::vector<IdentityPair> claimed; /* one-per-user identities of the result */
	std::size_t wallets = 0;
	auto slot_of = [](const std::string &kind, const std::string &value) {
		return kind == "external" ? "external:" + external_provider(value) : kind;
	};
	auto claim_conflict = [&](const std::string &kind, const std::string &value) -> std::string {
		if (kind == "wallet")
			return {};
		for (const auto &[k, v] : claimed)
			if (slot_of(k, v) == slot_of(kind, value) && v != value)
				return k + " " + v;
		return {};
	};
	auto accept = [&](const StoredUser *user) {
		accepted.push_back(user);
		for (const auto &[k, v] : user->identities) {
			if (k == "wallet")
				wallets++;
			else if (claim_conflict(k, v).empty())
				claimed.emplace_back(k, v);
		}
	};
	if (id.state == IdLookup::State::Live)
		accept(&find_owner(owners, id.owner));
	const bool linking = payload.policy != Policy::Keep;
	for (std::size_t i = 0; i < identities.size(); i++) {
		if (drop[i])
			continue;
		const Identity &identity = identities[i];
		const std::string kind = identity_kind_name(identity.kind);
		const std::string &owner = identity_owner[i].owner;
		if (owner.empty()) {
			if (!linking)
				continue;
			if (identity.kind == IdentityKind::Wallet) {
				if (wallets + 1 > static_cast<std::size_t>(config.max_wallets))
					skip(i, "more wallets than user_upsert.max_wallets", Error::Code::IdentityConflict);
				else
					wallets++;
			} else if (std::string held = claim_conflict(kind, identity.value); !held.empty())
				skip(i, "the user already has " + held, Error::Code::IdentityConflict);
			else
				claimed.emplace_back(kind, identity.value);
			continue;
		}
		const StoredUser *user = &find_owner(owners, owner);
		if (std::find(accepted.begin(), accepted.end(), user) != accepted.end())
			continue;
		if (accepted.empty() && (!linking || claimed.empty())) {
			accept(user);
			continue;
		}
		std::string why;
		if (!linking)
			why = {};
		else if (!config.merge && !accepted.empty())
			why = "user_upsert.merge is off";
		else if (accepted.size() + 1 > static_cast<std::size_t>(config.max_merge))
			why = "more users than user_upsert.max_merge";
		else {
			for (const auto &[k, v] : user->identities)
				if (std::string held = claim_conflict(k, v); !held.empty()) {
					why = "it has " + k + " " + v + " and the result has " + held;
					break;
				}
			if (why.empty() && !accepted.empty()) {
				std::vector<const StoredUser *> candidate = accepted;
				candidate.push_back(user);
				try {
					check_mergeable(candidate);
				} catch (const Error &e) {
					why = e.message;
				}
			}
		}
		if (!linking && !accepted.empty())
			continue; /* keep answers the first owner and merges nothing */
		if (why.empty())
			accept(user);
		else
			skip(i, "belongs to user " + owner + ", which cannot be merged: " + why, Error::Code::IdentityConflict);
	}

	Payload reduced = without(payload, identities, drop);
	const std::vector<Identity> kept = reduced.identities();
	if (kept.empty() && !reduced.id) {
		const Skipped &first = skipped.front();
		throw Error(first_code, "", "every identity of the payload was refused",
		            "Key (" + first.kind + ", " + first.value + ") " + first.reason + ".");
	}
	std::vector<IdentityOwner> kept_owner;
	for (const auto &k : kept)
		for (std::size_t i = 0; i < identities.size(); i++)
			if (!drop[i] && identities[i].kind == k.kind && identities[i].value == k.value) {
				kept_owner.push_back(identity_owner[i]);
				break;
			}
	Plan plan = plan_exact(reduced, config, id, kept_owner, owners);
	plan.report_skipped = true;
	plan.skipped = std::move(skipped);
	return plan;
}

} // namespace

Plan
plan_upsert(const Payload &payload, const Config &config, const IdLookup &id,
            const std::vector<IdentityOwner> &identity_owner, const std::vector<StoredUser> &owners) {
	if (payload.skip_conflicts)
		return plan_skipping(payload, config, id, identity_owner, owners);
	return plan_exact(payload, config, id, identity_owner, owners);
}

Json
user_document(const Json &row, const std::vector<IdentityPair> &identities) {
	Json doc = row;
	std::vector<std::string> wallets;
	std::vector<IdentityPair> external;
	for (const auto &[kind, value] : identities) {
		if (kind == "wallet")
			wallets.push_back(value);
		else if (kind == "external") {
			auto colon = value.find(':');
			external.emplace_back(value.substr(0, colon), value.substr(colon + 1));
		}
	}
	std::sort(wallets.begin(), wallets.end());
	std::sort(external.begin(), external.end());
	Json wallet_array = Json::array();
	for (auto &w : wallets)
		wallet_array.push(Json::string(std::move(w)));
	Json external_object = Json::object();
	for (auto &[provider, subject] : external)
		external_object.set(std::move(provider), Json::string(std::move(subject)));
	doc.set("wallets", std::move(wallet_array));
	doc.set("external", std::move(external_object));
	return doc;
}

} // namespace uu::core
