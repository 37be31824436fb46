#include <algorithm>
#include <map>
#include <random>
#include <set>

#include "channels/shopify/client.hpp"
#include "cluster/shop_delivery.hpp"
#include "core/shop_view.hpp"

namespace shelfsync::cluster {

namespace {

using std::chrono::milliseconds;

/// One location's quantity to bring to Shopify.
struct row {
  /// Index into the round's products.
  size_t product = 0;
  std::string location;
  int64_t quantity = 0;
  std::string item_id;
  std::optional<int64_t> change_from;
  /// The item must be stocked at the location first (activated without a
  /// quantity: its level is then 0, which `change_from` says), or its
  /// tracking switched on.
  bool activate = false;
  bool track = false;
  /// A location no enabled warehouse maps to, zeroed because it holds
  /// stock (rule 5); not part of the delivery record.
  bool stray = false;
  /// Set once the row is settled: confirmed, or failed for good (`failed`
  /// non-empty).
  bool settled = false;
  std::string failed;
};

/// One product of a round with its delivery record.
struct product_work {
  const product_update* update = nullptr;
  versioned<delivery_record> record;
  /// The record as read (encoded).
  std::string loaded;
  /// The locations of its view (the mapped ones).
  std::set<std::string> desired;
  std::vector<size_t> rows;

  const std::string& code() const { return update->state.product; }
};

/// A key no other push of any node reuses: node, random, counter.
std::string random_hex() {
  std::random_device rd;
  std::uniform_int_distribution<uint64_t> dist;
  auto x = dist(rd);
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i, x >>= 4)
    out.push_back(digits[x & 0xf]);
  return out;
}

} // namespace

struct shopify_delivery_impl {
  shop_drivers::driver& d;
  std::unique_ptr<shopify::client> client;
  /// Found items by SKU (the product code), and SKU by item id.
  std::map<std::string, shopify::item_state> items;
  std::map<std::string, std::string> sku_of;
  std::string key_base;
  uint64_t keys = 0;

  explicit shopify_delivery_impl(shop_drivers::driver& drv) : d(drv) {
    key_base = "shelfsync-" + d.owner->options().node_id + "-" + random_hex();
  }

  std::string next_key() { return key_base + "-" + std::to_string(++keys); }

  /// Runs a Shopify read until it succeeds; nothing when the driver must
  /// stop (lease lost, told to, or a failure retrying cannot help now).
  template<class F>
  auto call(const char* what, F f) -> std::optional<decltype(f())> {
    auto backoff = milliseconds{200};
    while (d.may_write()) {
      auto r = f();
      switch (r.status.kind) {
      case shopify::outcome::ok:
        return r;
      case shopify::outcome::throttled:
        d.pause(r.status.retry_after.value_or(milliseconds{1000}));
        break;
      case shopify::outcome::retryable:
        d.say(std::string{what} + " failed, retrying: " + r.status.message,
              true);
        d.pause(backoff);
        backoff = std::min(backoff * 2, milliseconds{5000});
        break;
      case shopify::outcome::permanent:
        d.say(std::string{what} + " refused: " + r.status.message, true);
        d.pause(milliseconds{2000});
        return std::nullopt;
      }
    }
    return std::nullopt;
  }

  /// Reads the levels of `ids` into the item cache (an item Shopify no
  /// longer knows leaves it). False when the driver must stop.
  bool read_levels(const std::set<std::string>& ids) {
    if (ids.empty()) return true;
    std::vector<std::string> list(ids.begin(), ids.end());
    auto r = call("reading levels", [&] {
      return client->read_levels(list);
    });
    if (!r) return false;
    for (auto& x : r->items) {
      auto sku = sku_of.find(x.id);
      if (sku == sku_of.end()) continue;
      if (x.item)
        items[sku->second] = *x.item;
      else
        items.erase(sku->second);
    }
    return true;
  }

  /// The level of `item` at `location` in the cache, if stocked there.
  std::optional<int64_t> level(const std::string& sku,
                               const std::string& location) {
    auto i = items.find(sku);
    if (i == items.end()) return std::nullopt;
    for (auto& lv : i->second.levels)
      if (lv.location_id == location) return lv.available;
    return std::nullopt;
  }

  /// Writes a product's delivery record by CAS while the lease holds.
  bool write(product_work& w) {
    while (d.may_write()) {
      auto r = store_delivery(d.owner->js(), d.shop.id, w.code(),
                              w.record.value, w.record.subject_seq);
      if (r) {
        w.record.subject_seq = *r;
        w.loaded = encode(w.record.value);
        return true;
      }
      if (r.err().code == errc::conflict) {
        d.say("delivery record of \"" + w.code() +
                  "\" written by another owner; stopping: " + r.err().message,
              true);
        return false;
      }
      d.pause(milliseconds{100});
    }
    return false;
  }

  /// Sends `chunk` (rows of `all`) until every row is settled. False when
  /// the driver must stop (what is not settled stays pending).
  bool push(std::vector<row>& all, std::vector<size_t> chunk) {
    auto key = next_key();
    auto backoff = milliseconds{200};
    int stale_rounds = 0;
    while (!chunk.empty()) {
      // Fencing: a push starts only while the lease has time left.
      if (!d.may_push()) return false;
      shopify::push_request p;
      p.idempotency_key = key;
      p.reference_document_uri = "shelfsync://push/" + key;
      std::set<std::string> track;
      for (auto i : chunk) {
        auto& x = all[i];
        p.quantities.push_back(shopify::quantity_row{
            x.item_id, x.location, x.quantity, x.change_from});
        if (x.activate)
          p.activate.push_back({x.item_id, x.location, std::nullopt});
        if (x.track && track.insert(x.item_id).second)
          p.track.push_back(x.item_id);
      }
      auto r = client->push(p);
      switch (r.status.kind) {
      case shopify::outcome::ok:
        break;
      case shopify::outcome::throttled:
        d.pause(r.status.retry_after.value_or(milliseconds{1000}));
        continue;
      case shopify::outcome::retryable:
        d.say("push failed, retrying: " + r.status.message, true);
        if (r.status.needs_new_key) key = next_key();
        d.pause(backoff);
        backoff = std::min(backoff * 2, milliseconds{5000});
        continue;
      case shopify::outcome::permanent:
        d.say("push refused: " + r.status.message, true);
        d.pause(milliseconds{2000});
        return false;
      }
      auto& out = r.outcome;
      if (out.applied) {
        for (auto i : chunk) {
          auto& x = all[i];
          x.settled = true;
          // What the shop holds now, for the next rounds.
          auto sku = sku_of.find(x.item_id);
          auto it = sku == sku_of.end() ? items.end() : items.find(sku->second);
          if (it == items.end()) continue;
          it->second.tracked = true;
          bool stocked = false;
          for (auto& lv : it->second.levels)
            if (lv.location_id == x.location) {
              lv.available = x.quantity;
              stocked = true;
            }
          if (!stocked) it->second.levels.push_back({x.location, x.quantity});
        }
        return true;
      }
      if (out.row_errors.empty()) {
        // Refused as a whole (idempotency, reason): a new key, later.
        d.say("push refused: " + (out.errors.empty()
                                      ? std::string{"no reason given"}
                                      : out.errors.front().message),
              true);
        key = next_key();
        d.pause(backoff);
        backoff = std::min(backoff * 2, milliseconds{5000});
        continue;
      }
      // Nothing was written. Rows compared against a stale value get the
      // level read again; other refused rows fail for good.
      std::set<size_t> stale;
      for (auto& e : out.row_errors) {
        if (e.row >= chunk.size()) continue;
        auto i = chunk[e.row];
        if (e.error.code == "CHANGE_FROM_QUANTITY_STALE" ||
            e.error.code == "COMPARE_QUANTITY_STALE") {
          stale.insert(i);
        } else {
          all[i].settled = true;
          all[i].failed = e.error.code + ": " + e.error.message;
        }
      }
      if (!stale.empty()) {
        d.stale_refusals += stale.size();
        if (++stale_rounds > 10) {
          d.say("levels keep changing under the pushes; retrying from the "
                "checkpoint",
                true);
          return false;
        }
        std::set<std::string> ids;
        for (auto i : stale)
          ids.insert(all[i].item_id);
        if (!read_levels(ids)) return false;
        for (auto i : stale) {
          auto& x = all[i];
          auto sku = sku_of[x.item_id];
          auto now = level(sku, x.location);
          if (auto it = items.find(sku); it != items.end())
            x.track = !it->second.tracked;
          x.activate = !now;
          x.change_from = now.value_or(0);
          // A stray location emptied meanwhile needs nothing.
          if (x.stray && now.value_or(0) == 0) x.settled = true;
        }
      }
      chunk.erase(std::remove_if(chunk.begin(), chunk.end(),
                                 [&](size_t i) {
                                   return all[i].settled;
                                 }),
                  chunk.end());
      key = next_key();
    }
    return true;
  }

  /// Cuts `sendable` (rows of `all`) into pushes Shopify takes: at most
  /// max_rows_per_push rows, and few enough tracking switches and
  /// activations for the requested cost to stay within one query's limit
  /// and the bucket's size.
  std::vector<std::vector<size_t>> cut(const std::vector<row>& all,
                                       const std::vector<size_t>& sendable) {
    auto setup_limit =
        shopify::max_setup_fields(client->bucket().max_request_cost());
    std::vector<std::vector<size_t>> out(1);
    std::set<std::string> tracked;
    size_t setup = 0;
    auto adds = [&](const row& x) {
      return (x.activate ? 1u : 0u) +
             (x.track && !tracked.count(x.item_id) ? 1u : 0u);
    };
    for (auto i : sendable) {
      auto& x = all[i];
      if (!out.back().empty() &&
          (out.back().size() + 1 > shopify::max_rows_per_push ||
           setup + adds(x) > setup_limit)) {
        out.emplace_back();
        tracked.clear();
        setup = 0;
      }
      setup += adds(x);
      if (x.track) tracked.insert(x.item_id);
      out.back().push_back(i);
    }
    if (out.back().empty()) out.pop_back();
    return out;
  }

  bool deliver(const std::vector<product_update>& batch, bool resync);
};

bool shopify_delivery_impl::deliver(const std::vector<product_update>& batch,
                                    bool resync) {
  // What differs from what the shop confirmed.
  std::vector<product_work> work;
  std::vector<row> rows;
  for (auto& u : batch) {
    auto view = compute_view(d.shop, u.state.record);
    if (!view || view->empty()) continue;
    product_work w;
    w.update = &u;
    for (;;) {
      auto loaded = load_delivery(d.owner->js(), d.shop.id, u.state.product);
      if (loaded) {
        w.record = std::move(*loaded);
        w.loaded = encode(w.record.value);
        break;
      }
      if (!d.may_write()) return false;
      d.say("cannot read the delivery record of \"" + u.state.product +
                "\": " + loaded.err().message,
            true);
      d.pause(milliseconds{200});
    }
    auto seq = u.state.applied_seq;
    for (auto& [location, quantity] : *view)
      w.desired.insert(location);
    for (auto& [location, quantity] : *view) {
      auto found = w.record.value.locations.find(location);
      if (found != w.record.value.locations.end()) {
        auto& ld = found->second;
        // Never backwards: a newer state was confirmed already.
        if (ld.confirmed && ld.confirmed_seq > seq) continue;
        // A resync compares with the levels read now instead.
        if (!resync && !ld.pending && ld.confirmed && *ld.confirmed == quantity)
          continue;
        if (!resync && !ld.pending && !ld.failed.empty() &&
            ld.failed_seq >= seq)
          continue;
      }
      row r;
      r.product = work.size();
      r.location = location;
      r.quantity = quantity;
      w.rows.push_back(rows.size());
      rows.push_back(std::move(r));
    }
    if (!w.rows.empty()) work.push_back(std::move(w));
  }
  if (rows.empty()) return true;
  d.pending = rows.size();

  // Inventory items: looked up once per SKU (with their levels); a resync
  // looks every one up again, so the levels compared are the shop's now.
  if (resync)
    for (auto& w : work)
      items.erase(w.code());
  std::set<std::string> fresh;
  std::vector<std::string> unknown;
  for (auto& w : work)
    if (!items.count(w.code())) unknown.push_back(w.code());
  std::map<std::string, std::string> sku_failures;
  if (!unknown.empty()) {
    auto r = call("looking up SKUs", [&] {
      return client->lookup_skus(unknown);
    });
    if (!r) return false;
    for (auto& m : r->matches) {
      if (m.status == shopify::sku_status::found) {
        sku_of[m.item.id] = m.sku;
        fresh.insert(m.item.id);
        items[m.sku] = m.item;
      } else if (m.status == shopify::sku_status::not_found) {
        sku_failures[m.sku] =
            "SKU_NOT_FOUND: no inventory item has SKU " + m.sku;
      } else {
        sku_failures[m.sku] =
            "SKU_AMBIGUOUS: " +
            (m.error.empty() ? "several inventory items have SKU " + m.sku
                             : m.error);
      }
    }
  }
  // The compare value: the last confirmed quantity, or the level read now
  // when that is unknown (a pending push of a former owner, a first push).
  std::set<std::string> to_read;
  for (auto& x : rows) {
    auto& w = work[x.product];
    if (auto f = sku_failures.find(w.code()); f != sku_failures.end()) {
      x.settled = true;
      x.failed = f->second;
      continue;
    }
    auto found = items.find(w.code());
    if (found == items.end()) {
      x.settled = true;
      x.failed =
          "INVALID_INVENTORY_ITEM: the item of SKU " + w.code() + " is gone";
      continue;
    }
    auto& item = found->second;
    x.item_id = item.id;
    auto& locs = w.record.value.locations;
    auto ld = locs.find(x.location);
    bool known = !resync && ld != locs.end() && ld->second.confirmed &&
                 !ld->second.pending;
    if (known)
      x.change_from = *ld->second.confirmed;
    else if (!fresh.count(item.id))
      to_read.insert(item.id);
  }
  if (!read_levels(to_read)) return false;
  for (auto& x : rows) {
    if (x.settled) continue;
    auto& code = work[x.product].code();
    auto it = items.find(code);
    if (it == items.end()) {
      x.settled = true;
      x.failed = "INVALID_INVENTORY_ITEM: the item of SKU " + code + " is gone";
      continue;
    }
    x.track = !it->second.tracked;
    auto now = level(code, x.location);
    if (!now) {
      // Stocked there first, in the same push (the activation runs before
      // the quantities, so the compare value is the new level's 0).
      x.activate = true;
      x.change_from = 0;
      continue;
    }
    if (!x.change_from) x.change_from = *now;
    // A resync pushes only what differs from the shop's level.
    if (resync && !x.track && *now == x.quantity) x.settled = true;
  }
  // Rule 5: a location of the item that no enabled warehouse maps to and
  // that holds stock is zeroed with the product's update.
  for (size_t p = 0; p < work.size(); ++p) {
    auto it = items.find(work[p].code());
    if (it == items.end() || sku_failures.count(work[p].code())) continue;
    for (auto& lv : it->second.levels) {
      if (lv.available == 0 || work[p].desired.count(lv.location_id)) continue;
      row r;
      r.product = p;
      r.location = lv.location_id;
      r.quantity = 0;
      r.item_id = it->second.id;
      r.change_from = lv.available;
      r.track = !it->second.tracked;
      r.stray = true;
      work[p].rows.push_back(rows.size());
      rows.push_back(std::move(r));
    }
  }

  // Recorded as pending before anything is sent, so that a next owner knows
  // the level may have changed.
  std::vector<size_t> sendable;
  for (size_t i = 0; i < rows.size(); ++i)
    if (!rows[i].settled) sendable.push_back(i);
  for (auto& w : work) {
    bool changed = false;
    for (auto i : w.rows) {
      auto& x = rows[i];
      if (x.settled || x.stray) continue;
      auto& ld = w.record.value.locations[x.location];
      ld.pending = x.quantity;
      ld.pending_seq = w.update->state.applied_seq;
      ld.key = key_base;
      changed = true;
    }
    if (changed && !write(w)) return false;
  }
  for (auto& chunk : cut(rows, sendable))
    if (!push(rows, std::move(chunk))) return false;

  if (resync)
    for (auto i : sendable)
      d.resync_pushed += rows[i].failed.empty() ? 1 : 0;

  // Every row is settled: record what the shop holds now.
  for (auto& w : work) {
    auto seq = w.update->state.applied_seq;
    for (auto i : w.rows) {
      auto& x = rows[i];
      if (x.stray) {
        if (!x.failed.empty())
          d.say("zeroing \"" + w.code() + "\" at unmapped " + x.location +
                    " failed: " + x.failed,
                true);
        continue;
      }
      auto& ld = w.record.value.locations[x.location];
      ld.pending.reset();
      ld.pending_seq = 0;
      ld.key.clear();
      if (x.failed.empty()) {
        ld.confirmed = x.quantity;
        ld.confirmed_seq = seq;
        ld.failed.clear();
        ld.failed_seq = 0;
        ++d.rows_confirmed;
      } else {
        ld.failed = x.failed;
        ld.failed_seq = seq;
        ++d.rows_failed;
        d.say("\"" + w.code() + "\" at " + x.location + " failed: " + x.failed,
              true);
      }
    }
    // A resync finding what the record says already writes nothing.
    if (encode(w.record.value) == w.loaded) continue;
    if (!write(w)) return false;
  }
  d.pending = 0;
  return true;
}

namespace {

class shopify_channel final : public channel_delivery {
 public:
  explicit shopify_channel(shop_drivers::driver& d);

  bool deliver(const std::vector<product_update>& batch, bool resync) override {
    if (!impl_->client) return false;
    return impl_->deliver(batch, resync);
  }

  size_t batch_limit() const override { return impl_->d.options->batch; }

  std::chrono::milliseconds gather_for() const override {
    return impl_->d.options->gather;
  }

 private:
  std::unique_ptr<shopify_delivery_impl> impl_;
};

shopify_channel::shopify_channel(shop_drivers::driver& d)
    : impl_(std::make_unique<shopify_delivery_impl>(d)) {
  auto& sc = d.shop.shopify;
  shopify::client_config cfg;
  cfg.shop_url = sc.shop_url;
  auto token = read_secret(sc.access_token_env);
  auto version = shopify::api_version::parse(sc.api_version);
  if (!token) {
    refusal_ = "the environment variable " + sc.access_token_env +
               " holding the Shopify access token is not set";
    return;
  }
  if (!version) {
    refusal_ = "unsupported Shopify API version " + sc.api_version;
    return;
  }
  cfg.access_token = *token;
  // The node names itself, so that the shop's side can tell which node
  // drove it when (the cluster fault suite checks one at a time).
  cfg.user_agent = "shelfsync/0.1 (Node=" + d.owner->options().node_id + ")";
  cfg.version = *version;
  size_t mapped = 0;
  for (auto& w : d.shop.warehouses)
    mapped += w.enabled && !w.location.empty() ? 1 : 0;
  cfg.reads.levels_first =
      static_cast<int>(std::clamp<size_t>(mapped + 1, 2, 25));
  cfg.http.connect_timeout = d.options->connect_timeout;
  cfg.http.request_timeout = d.options->request_timeout;
  cfg.max_pacing_wait = std::chrono::seconds{1};
  try {
    impl_->client = std::make_unique<shopify::client>(std::move(cfg));
  } catch (const std::exception& e) {
    refusal_ = e.what();
  }
}

} // namespace

std::unique_ptr<channel_delivery> shopify_delivery(shop_drivers::driver& d) {
  return std::make_unique<shopify_channel>(d);
}

} // namespace shelfsync::cluster
