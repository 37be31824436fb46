#include "cluster/history.hpp"

#include <map>
#include <optional>
#include <set>

#include "cluster/event_log.hpp"
#include "cluster/id_claims.hpp"
#include "cluster/log_reader.hpp"
#include "cluster/product_ids.hpp"
#include "cluster/slots.hpp"

namespace shelfsync::cluster {

namespace {

/// Applies the events of one message to `state` as an applier does: an id
/// the product applied before is ignored, and so is one whose cluster-wide
/// claim is not the product's (`claimed(event)` says whether it is, or an
/// error). `each(event, applied, outcome)` sees every event of the product.
template<class Claimed, class F>
status apply_message(product_state& state, std::set<std::string>& ids,
                     uint64_t seq,
                     const std::vector<const stock_event*>& events,
                     Claimed claimed, F each) {
  if (state.applied_seq >= seq) return done{};
  for (auto* e : events) {
    bool fresh = ids.count(e->id) == 0;
    if (fresh) {
      outcome<bool> mine = claimed(*e);
      if (!mine) return mine.err();
      fresh = *mine;
    }
    if (fresh) ids.insert(e->id);
    auto outcome = fresh ? apply_event(state.record, *e) : apply_outcome::stale;
    each(*e, fresh, outcome);
  }
  state.applied_seq = seq;
  return done{};
}

/// Whether the claim of `id` lets the event of `code` in message `seq`
/// take effect; true when nothing claims it (not applied yet).
outcome<bool> claimed_for(jetstream& js, const std::string& id,
                          const std::string& code, uint64_t seq) {
  auto claim = read_claim(js, id);
  if (!claim) return claim.err();
  return !*claim || claim_applies(**claim, code, seq);
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
  auto slot = slot_of(code, slots);
  // The ids the cluster applied to the product: their claims are the
  // product's, and are not read one by one.
  std::optional<product_ids> stored_ids;
  auto stored = load_product(js, slot, code);
  if (!stored) return stored.err();
  if (*stored) {
    auto& got = (*stored)->value;
    auto loaded =
        product_ids::load(js, slot, code, got.id_segments, got.applied_seq);
    if (!loaded) return loaded.err();
    stored_ids = std::move(*loaded);
  }
  status claims = done{};
  auto read = read_slot_log(js, slot, 0, 0, [&](log_message& m) {
    std::vector<const stock_event*> mine;
    for (auto& e : m.events)
      if (e.product == code) mine.push_back(&e);
    claims = apply_message(
        state, ids, m.seq, mine,
        [&](const stock_event& e) -> outcome<bool> {
          if (stored_ids && stored_ids->contains(e.id)) return true;
          return claimed_for(js, e.id, code, m.seq);
        },
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
    return static_cast<bool>(claims);
  });
  if (!read) return read.err();
  if (!claims) return claims.err();
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
      /// The cluster's state of it and its applied ids, read when the log
      /// first names it.
      std::optional<versioned<product_state>> stored;
      std::optional<product_ids> stored_ids;
    };
    std::map<std::string, product> rebuilt;
    status failed = done{};
    auto read = read_slot_log(js, slot, 0, cp->value, [&](log_message& m) {
      ++report.messages;
      report.events += m.events.size();
      for (auto& of_product : events_by_product(m.events)) {
        auto& code = of_product.product;
        auto [i, first] = rebuilt.try_emplace(code);
        auto& p = i->second;
        if (first) {
          p.state.product = code;
          auto stored = load_product(js, slot, code);
          if (!stored) {
            failed = stored.err();
            return false;
          }
          p.stored = std::move(*stored);
          if (p.stored) {
            auto& got = p.stored->value;
            auto ids = product_ids::load(js, slot, code, got.id_segments,
                                         got.applied_seq);
            if (!ids) {
              failed = ids.err();
              return false;
            }
            p.stored_ids = std::move(*ids);
          }
        }
        // An id the cluster applied to the product takes effect as it
        // should (its claim is not read again: one read per event would
        // make this as slow as the log is long); any other id, only when
        // its claim is the product's.
        failed = apply_message(
            p.state, p.ids, m.seq, of_product.events,
            [&](const stock_event& e) -> outcome<bool> {
              if (p.stored_ids && p.stored_ids->contains(e.id)) return true;
              return claimed_for(js, e.id, code, m.seq);
            },
            [](const stock_event&, bool, apply_outcome) {});
        if (!failed) return false;
      }
      return true;
    });
    if (!read) return read.err();
    if (!failed) return failed.err();
    for (auto& [code, rebuilt_product] : rebuilt) {
      auto& want = rebuilt_product.state;
      auto& want_ids = rebuilt_product.ids;
      ++report.products;
      auto& stored = rebuilt_product.stored;
      std::string why;
      if (stored && stored->value.applied_seq > cp->value) {
        // Applied past the checkpoint read above (the owner is at work):
        // not comparable with the state at the checkpoint.
        ++report.moving;
        continue;
      }
      if (!stored)
        why = "the cluster stores no state for it";
      else if (stored->value.applied_seq != want.applied_seq)
        why = "the cluster applied it up to seq " +
              std::to_string(stored->value.applied_seq) +
              ", its last message up to the checkpoint is seq " +
              std::to_string(want.applied_seq);
      else if (!same_stock(stored->value.record, want.record))
        why = "the cluster stores " + stock_text(stored->value.record) +
              ", its events give " + stock_text(want.record);
      else {
        auto& ids = rebuilt_product.stored_ids;
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
