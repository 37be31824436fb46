#pragma once

#include <map>
#include <memory>
#include <string>

#include "actors/interfaces.hpp"
#include "storage/store.hpp"

namespace shelfsync {

/// State of a SHOP actor: the shop's outbox of views still to deliver.
struct shop_state {
  std::string id;
  config_ptr conf;
  std::shared_ptr<store> db;
  /// Views still to deliver, by product; the latest value wins.
  std::map<std::string, view_change> outbox;
  static inline const char* name = "shop";

  /// Returns this shop's config (always present while the actor lives).
  const shop_config& shop() const { return *conf->find_shop(id); }

  /// Merges `changes` into the outbox; an older view never replaces a newer.
  void enqueue(std::vector<view_change>&& changes);

  /// Describes the shop for `GET /v1/shops/{id}`.
  shop_status status() const;
};

/// The behaviour of a SHOP actor holding the outbox; it loads the outbox
/// from the store on start.
shop_actor::behavior_type shop(shop_actor::stateful_pointer<shop_state> self,
                               std::string id, config_ptr conf,
                               std::shared_ptr<store> db);

} // namespace shelfsync
