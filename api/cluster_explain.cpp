#include "api/cluster_explain.hpp"

#include "api/explanation.hpp"
#include "cluster/history.hpp"
#include "cluster/shop_state.hpp"
#include "core/shop_view.hpp"

namespace shelfsync {

namespace {

/// The cluster's delivery record of a product as one node keeps it.
delivery_record delivery_of(const cluster::delivery_record& kept) {
  delivery_record out;
  for (auto& [location, l] : kept.locations) {
    auto& d = out[location];
    d.has_confirmed = l.confirmed.has_value();
    d.confirmed = l.confirmed.value_or(0);
    if (l.pending) {
      d.state = delivery_state::in_flight;
      d.sent = *l.pending;
      d.request = l.key;
    } else if (!l.failed.empty()) {
      d.state = delivery_state::failed;
      d.error_code = "refused";
      d.error_message = l.failed;
      d.permanent = true;
    } else if (l.confirmed) {
      d.state = delivery_state::confirmed;
      d.sent = *l.confirmed;
    }
  }
  return out;
}

} // namespace

cluster::outcome<nlohmann::json>
explain_in_cluster(cluster::jetstream& js, uint32_t slots, const config& conf,
                   const shop_config& shop, const std::string& code,
                   const cluster::product_state& state) {
  auto history = cluster::read_cluster_history(js, slots, code);
  if (!history) return history.err();
  product_record rec = state.record;
  rec.applied_seq = state.applied_seq;
  if (auto view = compute_view(shop, rec)) rec.views[shop.id] = *view;
  // The latest events the cluster had applied, as the product keeps them on
  // one node.
  std::vector<stock_event> events;
  for (auto& h : *history) {
    if (h.seq > state.applied_seq) break;
    auto e = h.event;
    e.seq = h.seq;
    e.received_ms = h.stored_ms;
    events.push_back(std::move(e));
  }
  if (events.size() > product_record::recent_limit)
    events.erase(events.begin(), events.end() - product_record::recent_limit);
  for (auto& e : events)
    rec.recent.push_back(e.seq);
  auto kept = cluster::load_delivery(js, shop.id, code);
  if (!kept) return kept.err();
  auto out =
      explain_from(conf, shop, code, rec, events, delivery_of(kept->value));
  out["cluster"] = {
      {"applied_seq", state.applied_seq},
      {"note", "clustered mode: the cluster keeps no shop views; each number "
               "is what the config in force gives for the stock the cluster "
               "holds, its delivery is the shop's delivery record in the "
               "cluster, and events are read from the cluster's log"}};
  return out;
}

} // namespace shelfsync
