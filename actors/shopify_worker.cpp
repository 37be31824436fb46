#include "actors/shopify_worker.hpp"

#include <chrono>
#include <stdexcept>

#include <caf/all.hpp>

namespace shelfsync {

namespace {

using clock = std::chrono::steady_clock;

/// Flattens a call status, adding the client's current belief of the bucket.
shopify_call flatten(const shopify::call_status& s, shopify::client& c,
                     clock::time_point started) {
  shopify_call out;
  out.kind = static_cast<uint8_t>(s.kind);
  out.code = s.code;
  out.message = s.message;
  out.http_status = s.http_status;
  out.may_have_applied = s.may_have_applied;
  out.needs_new_key = s.needs_new_key;
  out.retry_after_ms = s.retry_after ? s.retry_after->count() : -1;
  out.requests = s.requests;
  auto now = clock::now();
  out.latency_us =
      std::chrono::duration_cast<std::chrono::microseconds>(now - started)
          .count();
  out.budget = {c.bucket().maximum(), c.bucket().available(now),
                c.bucket().restore_rate()};
  return out;
}

/// A call status for a worker without a client.
shopify_call refused(const std::string& why) {
  shopify_call out;
  out.kind = static_cast<uint8_t>(shopify::outcome::permanent);
  out.code = "CONFIG";
  out.message = why;
  return out;
}

shopify_item flatten(const shopify::item_state& x) {
  shopify_item out;
  out.id = x.id;
  out.exists = true;
  out.tracked = x.tracked;
  for (auto& lv : x.levels)
    out.levels.push_back({lv.location_id, lv.available});
  return out;
}

std::vector<shopify_push_error>
flatten(const std::vector<std::pair<size_t, shopify::user_error>>& xs) {
  std::vector<shopify_push_error> out;
  for (auto& [i, e] : xs)
    out.push_back({i, e.code, e.message});
  return out;
}

} // namespace

shopify::push_request to_push_request(const shopify_push& p) {
  shopify::push_request out;
  out.idempotency_key = p.key;
  out.track = p.track;
  for (auto& a : p.activate)
    out.activate.push_back({a.item, a.location, std::nullopt});
  for (auto& r : p.rows)
    out.quantities.push_back({r.item, r.location, r.quantity, std::nullopt});
  out.reference_document_uri = "shelfsync://push/" + p.key;
  return out;
}

shopify_worker_actor::behavior_type shopify_worker(
    shopify_worker_actor::stateful_pointer<shopify_worker_state> self,
    shopify::client_config cfg) {
  try {
    self->state.client = std::make_unique<shopify::client>(std::move(cfg));
  } catch (const std::exception& e) {
    self->state.refusal = e.what();
  }
  return {
      [=](atom::survey, shopify_survey& req) {
        auto& st = self->state;
        shopify_survey_reply out;
        if (!st.client) {
          out.status = refused(st.refusal);
          return out;
        }
        auto started = clock::now();
        int requests = 0;
        if (!req.lookup.empty()) {
          auto r = st.client->lookup_skus(req.lookup);
          requests += r.status.requests;
          if (!r.status.ok()) {
            out.status = flatten(r.status, *st.client, started);
            out.status.requests = requests;
            return out;
          }
          for (auto& m : r.matches) {
            shopify_sku s;
            s.sku = m.sku;
            s.status = static_cast<uint8_t>(m.status);
            s.error = m.error;
            if (m.status == shopify::sku_status::found)
              s.item = flatten(m.item);
            out.found.push_back(std::move(s));
          }
        }
        shopify::call_status last;
        if (!req.read.empty()) {
          auto r = st.client->read_levels(req.read);
          requests += r.status.requests;
          last = r.status;
          if (r.status.ok())
            for (auto& x : r.items) {
              if (x.item) {
                out.items.push_back(flatten(*x.item));
              } else {
                shopify_item gone;
                gone.id = x.id;
                out.items.push_back(std::move(gone));
              }
            }
        }
        out.status = flatten(last, *st.client, started);
        out.status.requests = requests;
        if (!last.ok()) {
          out.found.clear();
          out.items.clear();
        }
        return out;
      },
      [=](atom::push, shopify_push& req) {
        auto& st = self->state;
        shopify_push_reply out;
        if (!st.client) {
          out.status = refused(st.refusal);
          return out;
        }
        auto started = clock::now();
        auto r = st.client->push(to_push_request(req));
        out.status = flatten(r.status, *st.client, started);
        if (!r.status.ok()) return out;
        out.applied = r.outcome.applied;
        for (auto& e : r.outcome.row_errors)
          out.row_errors.push_back({e.row, e.error.code, e.error.message});
        for (auto& e : r.outcome.errors)
          out.errors.push_back({0, e.code, e.message});
        for (auto& [id, e] : r.outcome.tracking_errors) {
          uint64_t index = 0;
          for (size_t i = 0; i < req.track.size(); ++i)
            if (req.track[i] == id) index = i;
          out.tracking_errors.push_back({index, e.code, e.message});
        }
        out.activation_errors = flatten(r.outcome.activation_errors);
        return out;
      },
  };
}

} // namespace shelfsync
