#include "cluster/history.hpp"

#include <map>
#include <set>

#include "cluster/event_log.hpp"
#include "cluster/log_reader.hpp"
#include "cluster/product_ids.hpp"
#include "cluster/slots.hpp"

namespace shelfsync::cluster {

namespace {

/// Applies the events of one message to `state` as an applier does.
/// `each(event, applied, outcome)` sees every event of the product.
template<class F>
void apply_message(product_state& state, std::set<std::string>& ids,
                   uint64_t seq, const std::vector<const stock_event*>& events,
                   F each) {
  if (state.applied_seq >= seq) return;
  for (auto* e : events) {
    bool fresh = ids.insert(e->id).second;
    auto outcome = fresh ? apply_event(state.record, *e) : apply_outcome::stale;
    each(*e, fresh, outcome);
  }
  state.applied_seq = seq;
}

bool same_stock(const product_record& a, const product_record& b) {
  if (a.stock.size() != b.stock.size()) return false;
  for (auto& [wh, s] : a.stock) {
    auto i = b.stock.find(wh);
    if (i == b.stock.end()) return false;
    auto& t = i->second;
    if (s.on_hand != t.on_hand || s.reserved != t.reserved ||
        s.versioned != t.versioned || (s.versioned && s.version != t.version))
      return false;
  }
  return true;
}

std::string stock_text(const product_record& r) {
  std::string out;
  for (auto& [wh, s] : r.stock)
    out += (out.empty() ? "" : ", ") + wh + " on_hand " +
           std::to_string(s.on_hand) + " reserved " +
           std::to_string(s.reserved);
  return out.empty() ? "no stock" : out;
}

} // namespace

outcome<std::vector<cluster_history_entry>>
read_cluster_history(jetstream& js, uint32_t slots, const std::string& code) {
  std::vector<cluster_history_entry> out;
  product_state state;
  state.product = code;
  std::set<std::string> ids;
  auto read =
      read_slot_log(js, slot_of(code, slots), 0, 0, [&](log_message& m) {
        std::vector<const stock_event*> mine;
        for (auto& e : m.events)
          if (e.product == code) mine.push_back(&e);
        apply_message(
            state, ids, m.seq, mine,
            [&](const stock_event& e, bool applied, apply_outcome outcome) {
              cluster_history_entry h;
              h.seq = m.seq;
              h.stored_ms = m.stored_ns / 1000000;
              h.event = e;
              h.applied = applied;
              h.outcome = outcome;
              h.after = state.record.stock[e.warehouse];
              out.push_back(std::move(h));
            });
        return true;
      });
  if (!read) return read.err();
  return out;
}

outcome<cluster_verify_report>
verify_cluster_states(jetstream& js, uint32_t slots,
                      const std::function<void(uint32_t, uint32_t)>& progress) {
  cluster_verify_report report;
  for (uint32_t slot = 0; slot < slots; ++slot) {
    auto cp = load_checkpoint(js, slot);
    if (!cp) return cp.err();
    struct product {
      product_state state;
      std::set<std::string> ids;
    };
    std::map<std::string, product> rebuilt;
    auto read = read_slot_log(js, slot, 0, cp->value, [&](log_message& m) {
      ++report.messages;
      report.events += m.events.size();
      std::vector<std::string> order;
      std::map<std::string, std::vector<const stock_event*>> by_product;
      for (auto& e : m.events) {
        auto& list = by_product[e.product];
        if (list.empty()) order.push_back(e.product);
        list.push_back(&e);
      }
      for (auto& code : order) {
        auto& p = rebuilt[code];
        p.state.product = code;
        apply_message(p.state, p.ids, m.seq, by_product[code],
                      [](const stock_event&, bool, apply_outcome) {});
      }
      return true;
    });
    if (!read) return read.err();
    for (auto& [code, rebuilt_product] : rebuilt) {
      auto& want = rebuilt_product.state;
      auto& want_ids = rebuilt_product.ids;
      ++report.products;
      auto stored = load_product(js, slot, code);
      if (!stored) return stored.err();
      std::string why;
      if (*stored && (*stored)->value.applied_seq > cp->value) {
        // Applied past the checkpoint read above (the owner is at work):
        // not comparable with the state at the checkpoint.
        ++report.moving;
        continue;
      }
      if (!*stored)
        why = "the cluster stores no state for it";
      else if ((*stored)->value.applied_seq != want.applied_seq)
        why = "the cluster applied it up to seq " +
              std::to_string((*stored)->value.applied_seq) +
              ", its last message up to the checkpoint is seq " +
              std::to_string(want.applied_seq);
      else if (!same_stock((*stored)->value.record, want.record))
        why = "the cluster stores " + stock_text((*stored)->value.record) +
              ", its events give " + stock_text(want.record);
      else {
        auto& got = (*stored)->value;
        auto ids =
            product_ids::load(js, slot, code, got.id_segments, got.applied_seq);
        if (!ids) return ids.err();
        bool same = ids->size() == want_ids.size();
        for (auto i = want_ids.begin(); same && i != want_ids.end(); ++i)
          same = ids->contains(*i);
        if (!same)
          why = "the cluster's applied ids (" + std::to_string(ids->size()) +
                ") differ from its events' ids (" +
                std::to_string(want_ids.size()) + ")";
      }
      if (why.empty()) continue;
      if (++report.different <= 100)
        report.differences.push_back("product \"" + code + "\" (slot " +
                                     std::to_string(slot) + "): " + why);
    }
    if (progress) progress(slot + 1, slots);
  }
  return report;
}

} // namespace shelfsync::cluster
