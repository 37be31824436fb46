#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

/// The fault suite's own model of what shelfsync must do with events, built
/// from the contract (PRODUCT.md §1, §2 rules 1, 7 and 11, §3) and not from
/// shelfsync's code, so that a test can tell what every shop must hold.
namespace shelfsync::tests {

/// One stock event as a test sends it.
struct event_spec {
  std::string id;
  std::string product;
  std::string warehouse;
  std::optional<int64_t> on_hand;
  std::optional<int64_t> delta;
  std::optional<int64_t> reserved;
  std::optional<int64_t> version;

  /// The event as POST /v1/stock/events takes it.
  nlohmann::json to_json() const;
};

/// A shop's stock rules (rule 11), each optional.
struct rules_spec {
  std::optional<int64_t> buffer;
  std::optional<int64_t> percent;
  std::optional<int64_t> max;

  /// The shop's value for `available`.
  int64_t apply(int64_t available) const;
};

/// One shop as the oracle sees it.
struct shop_spec {
  std::string id;
  /// Shopify: the enabled warehouses mapped to locations, each its own
  /// entry. Amazon: the enabled warehouses (location ""), summed into one.
  std::map<std::string, std::string> location_of_warehouse;
  bool sums_warehouses = false;
  rules_spec rules;
};

/// Applies accepted events in log order and records, per shop entry
/// (shop, product, location), the view after every event of the product.
class stock_oracle {
 public:
  explicit stock_oracle(std::vector<shop_spec> shops);

  /// Applies a batch the engine acknowledged, in order. Ids seen before
  /// (earlier, or earlier in the batch) change nothing. Returns how many
  /// events were new.
  size_t accept(const std::vector<event_spec>& batch);

  /// The views the entry took, one per event of its product, oldest first;
  /// empty when the product had no event.
  const std::vector<int64_t>& views(const std::string& shop,
                                    const std::string& product,
                                    const std::string& location) const;

  /// on_hand and reserved of `product` in every warehouse an event named.
  std::map<std::string, std::pair<int64_t, int64_t>>
  stock(const std::string& product) const;

  /// Products that had at least one accepted event.
  const std::set<std::string>& products() const { return products_; }

  /// Distinct events accepted so far.
  size_t accepted() const { return seen_.size(); }

  /// Events that changed nothing because their version was not newer.
  size_t stale() const { return stale_; }

 private:
  struct level {
    int64_t on_hand = 0;
    int64_t reserved = 0;
    std::optional<int64_t> version;
  };
  void apply(const event_spec& e);

  std::vector<shop_spec> shops_;
  std::set<std::string> seen_;
  std::set<std::string> products_;
  std::map<std::string, std::map<std::string, level>> stock_;
  std::map<std::string, std::vector<int64_t>> views_;
  size_t stale_ = 0;
};

/// Checks that a channel's `history` (the values it applied to one entry,
/// oldest first) never went backwards against `views` (the values the log
/// implies, in log order): each history value must equal views[t] for a
/// non-decreasing sequence of t (matched greedily). Returns "" when it
/// holds, else what went wrong.
std::string check_history(const std::vector<int64_t>& views,
                          const std::vector<int64_t>& history);

} // namespace shelfsync::tests
