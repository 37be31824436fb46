// `log` and `replay` against the cluster's log (clustered mode): they read
// the events stream on NATS, never a local store, and may run while the
// cluster serves.
#include <iostream>

#include "api/cluster_commands.hpp"
#include "api/cluster_explain.hpp"
#include "api/explanation.hpp"
#include "api/product_history.hpp"
#include "cluster/event_log.hpp"
#include "cluster/history.hpp"
#include "cluster/shop_state.hpp"
#include "cluster/slots.hpp"
#include "core/clock.hpp"

namespace shelfsync::commands {

namespace {

/// Connects to the cluster's NATS servers; prints why not.
std::unique_ptr<cluster::jetstream> connect_to_cluster(const config& conf) {
  auto& c = *conf.node.cluster;
  cluster::connect_options o;
  o.urls = c.nats;
  o.name = c.node_id + "-cli";
  if (!c.token_env.empty()) {
    auto token = read_secret(c.token_env);
    if (!token) {
      std::cerr << "shelfsync: environment variable " << c.token_env
                << " (named by node.cluster.token_env) is not set; it holds "
                   "the NATS token\n";
      return nullptr;
    }
    o.token = std::move(*token);
  }
  auto js = cluster::jetstream::connect(o);
  if (!js) {
    std::cerr << "shelfsync: cannot reach the cluster: " << js.err().message
              << '\n';
    return nullptr;
  }
  return std::move(*js);
}

} // namespace

int cluster_product_log(const config& conf, const std::string& code) {
  auto js = connect_to_cluster(conf);
  if (!js) return 1;
  auto slots = conf.node.cluster->slots;
  auto slot = cluster::slot_of(code, slots);
  auto history = cluster::read_cluster_history(*js, slots, code);
  if (!history) {
    std::cerr << "shelfsync: cannot read the cluster's log: "
              << history.err().message << '\n';
    return 1;
  }
  if (history->empty()) {
    std::cerr << "shelfsync: no event for product \"" << code
              << "\" in the cluster's log (slot " << slot << ", subject "
              << cluster::events_subject(slot) << ")\n";
    return 1;
  }
  std::cout << "product " << code << ": " << history->size()
            << " events in the cluster's log (slot " << slot << ", subject "
            << cluster::events_subject(slot) << ")\n";
  for (auto& h : *history) {
    auto& e = h.event;
    std::cout << "seq " << h.seq << "  " << rfc3339(h.stored_ms) << "  " << e.id
              << "  " << event_kind(e) << "  " << e.warehouse << "  "
              << event_values(e) << "  -> on_hand " << h.after.on_hand
              << " reserved " << h.after.reserved << " available "
              << h.after.available() << "  "
              << (h.applied ? to_string(h.outcome) : "duplicate id (ignored)");
    if (!e.at.empty()) std::cout << "  (source time " << e.at << ")";
    std::cout << '\n';
  }
  // What the cluster stores for it: the slot's owner may not have applied
  // the latest messages yet.
  auto stored = cluster::load_product(*js, slot, code);
  if (!stored) {
    std::cerr << "shelfsync: cannot read the cluster's state of \"" << code
              << "\": " << stored.err().message << '\n';
    return 1;
  }
  if (!*stored) {
    std::cout << "cluster state: none stored yet (the slot's owner has not "
                 "applied its events)\n";
    return 0;
  }
  auto& state = (*stored)->value;
  std::cout << "cluster state: applied up to seq " << state.applied_seq;
  if (state.applied_seq < history->back().seq)
    std::cout << " (seq " << history->back().seq << " not applied yet)";
  std::cout << '\n';
  for (auto& [warehouse, s] : state.record.stock)
    std::cout << "  " << warehouse << "  on_hand " << s.on_hand << " reserved "
              << s.reserved << " available " << s.available() << '\n';
  // The channel side: each shop's delivery record of the product.
  for (auto& shop : conf.shops) {
    auto kept = cluster::load_delivery(*js, shop.id, code);
    if (!kept) {
      std::cerr << "shelfsync: cannot read shop \"" << shop.id
                << "\"'s delivery record: " << kept.err().message << '\n';
      return 1;
    }
    for (auto& [location, l] : kept->value.locations) {
      std::cout << "shop " << shop.id << (location.empty() ? "" : " ")
                << location << ": confirmed "
                << (l.confirmed ? std::to_string(*l.confirmed) : "none");
      if (l.confirmed) std::cout << " (from seq " << l.confirmed_seq << ")";
      if (l.pending)
        std::cout << ", in flight " << *l.pending << " (from seq "
                  << l.pending_seq << ", request " << l.key << ")";
      if (!l.failed.empty())
        std::cout << ", refused for seq " << l.failed_seq << ": " << l.failed;
      std::cout << '\n';
    }
  }
  return 0;
}

int cluster_replay(const config& conf) {
  auto js = connect_to_cluster(conf);
  if (!js) return 1;
  auto slots = conf.node.cluster->slots;
  auto report = cluster::verify_cluster_states(
      *js, slots, [](uint32_t done, uint32_t total) {
        std::cerr << "replay: slot " << done << " of " << total << " done\n";
      });
  if (!report) {
    std::cerr << "shelfsync: cannot read the cluster: " << report.err().message
              << '\n';
    return 1;
  }
  for (auto& d : report->differences)
    std::cout << d << '\n';
  std::cout << "replayed " << report->messages << " messages, "
            << report->events << " events, " << report->products
            << " products from the cluster's log: " << report->different
            << " differ from the cluster's state";
  if (report->moving != 0)
    std::cout << "; " << report->moving
              << " were being applied and were not compared";
  std::cout << '\n';
  return report->different == 0 ? 0 : 3;
}

int cluster_explain(const config& conf, const std::string& code,
                    const std::string& shop_id) {
  auto* shop = conf.find_shop(shop_id);
  if (shop == nullptr) {
    std::cerr << "shelfsync: no shop \"" << shop_id << "\" in " << conf.path
              << '\n';
    return 1;
  }
  auto js = connect_to_cluster(conf);
  if (!js) return 1;
  auto slots = conf.node.cluster->slots;
  auto stored = cluster::load_product(*js, cluster::slot_of(code, slots), code);
  if (!stored) {
    std::cerr << "shelfsync: cannot read the cluster's state of \"" << code
              << "\": " << stored.err().message << '\n';
    return 1;
  }
  if (!*stored) {
    std::cerr << "shelfsync: the cluster stores no state for product \"" << code
              << "\"\n";
    return 1;
  }
  auto x = explain_in_cluster(*js, slots, conf, *shop, code, (*stored)->value);
  if (!x) {
    std::cerr << "shelfsync: cannot read the cluster's log: " << x.err().message
              << '\n';
    return 1;
  }
  std::cout << explanation_text(*x)
            << (*x)["cluster"]["note"].get<std::string>() << '\n';
  return 0;
}

} // namespace shelfsync::commands
