#include "api/cluster_explain.hpp"

#include "api/explanation.hpp"
#include "cluster/history.hpp"
#include "core/shop_view.hpp"

namespace shelfsync {

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
  auto out = explain_from(conf, shop, code, rec, events, delivery_record{});
  out["cluster"] = {
      {"applied_seq", state.applied_seq},
      {"note", "clustered mode: the cluster keeps neither shop views nor "
               "delivery records yet; each number is what the config in "
               "force gives for the stock the cluster holds, and events are "
               "read from the cluster's log"}};
  return out;
}

} // namespace shelfsync
