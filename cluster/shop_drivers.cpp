#include "cluster/shop_drivers.hpp"

#include <algorithm>
#include <set>
#include <tuple>
#include <unordered_map>

#include <nats/nats.h>

#include "cluster/nats_status.hpp"
#include "cluster/shop_delivery.hpp"
#include "cluster/shop_state.hpp"
#include "cluster/slots.hpp"

namespace shelfsync::cluster {

namespace {

using std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

/// Whether two shop settings drive the shop the same way.
bool same_settings(const shop_config& a, const shop_config& b) {
  auto wh = [](const std::vector<shop_warehouse>& list) {
    std::vector<std::tuple<std::string, bool, std::string>> out;
    for (auto& w : list)
      out.emplace_back(w.warehouse, w.enabled, w.location);
    return out;
  };
  return a.channel == b.channel && a.stock_sync == b.stock_sync &&
         wh(a.warehouses) == wh(b.warehouses) &&
         a.rules.buffer == b.rules.buffer &&
         a.rules.percent == b.rules.percent && a.rules.max == b.rules.max &&
         a.shopify.shop_url == b.shopify.shop_url &&
         a.shopify.api_version == b.shopify.api_version &&
         a.shopify.access_token_env == b.shopify.access_token_env &&
         a.amazon.endpoint == b.amazon.endpoint &&
         a.amazon.lwa_endpoint == b.amazon.lwa_endpoint &&
         a.amazon.seller_id == b.amazon.seller_id &&
         a.amazon.marketplace_ids == b.amazon.marketplace_ids &&
         a.amazon.client_id_env == b.amazon.client_id_env &&
         a.amazon.client_secret_env == b.amazon.client_secret_env &&
         a.amazon.refresh_token_env == b.amazon.refresh_token_env &&
         a.amazon.batch_interval == b.amazon.batch_interval &&
         a.amazon.feed_poll == b.amazon.feed_poll &&
         a.amazon.product_type == b.amazon.product_type;
}

/// A digest of what a shop's views are computed with (slot_of's stable
/// hash of the settings in a fixed text form).
std::string settings_digest(const shop_config& shop) {
  std::string text = shop.stock_sync ? "sync;" : "off;";
  for (auto& w : shop.warehouses)
    text +=
        w.warehouse + "=" + (w.enabled ? "1" : "0") + "@" + w.location + ";";
  auto opt = [](const std::optional<int64_t>& x) {
    return x ? std::to_string(*x) : std::string{"-"};
  };
  text += "rules:" + opt(shop.rules.buffer) + "," + opt(shop.rules.percent) +
          "," + opt(shop.rules.max);
  return std::to_string(stable_hash(text));
}

int64_t now_ms() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// Changes the shop's resync record by CAS (read again after a conflict: a
/// request may come meanwhile); false when the driver must stop.
bool update_resync(shop_drivers::driver& d,
                   const std::function<void(shop_resync&)>& change) {
  auto& js = d.owner->js();
  while (d.may_write()) {
    auto loaded = load_resync(js, d.shop.id);
    if (loaded) {
      auto r = loaded->value;
      change(r);
      auto written = store_resync(js, d.shop.id, r, loaded->subject_seq);
      if (written) return true;
      if (written.err().code == errc::conflict) continue;
      d.say("cannot write the resync record: " + written.err().message, true);
    } else {
      d.say("cannot read the resync record: " + loaded.err().message, true);
    }
    d.pause(milliseconds{200});
  }
  return false;
}

/// Runs the resync asked for, if one is: every product's newest state, its
/// view compared with what the shop holds now rather than with the delivery
/// records. The checkpoint does not move. False when the driver must stop
/// (the resync stays asked for; the next owner runs it).
bool run_resync(shop_drivers::driver& d, channel_delivery& channel) {
  auto& js = d.owner->js();
  auto loaded = load_resync(js, d.shop.id);
  if (!loaded || loaded->value.requested <= loaded->value.done) return true;
  auto asked = loaded->value.requested;
  auto pushed_before = d.resync_pushed.load();
  uint64_t scanned = 0;
  d.say("resync " + std::to_string(asked) + " starts");
  if (!update_resync(d, [&](shop_resync& r) {
        r.running = asked;
        r.node = d.owner->options().node_id;
        r.started_ms = now_ms();
        r.scanned = 0;
        r.pushed = 0;
      }))
    return false;
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Ordered = true;
  so.Stream = state_stream.c_str();
  so.Config.DeliverPolicy = js_DeliverLastPerSubject;
  js_subscription sub{js};
  jsErrCode jerr{};
  natsStatus s = js_SubscribeSync(
      &sub.p, js.context(), all_products_filter.c_str(), nullptr, &so, &jerr);
  if (s != NATS_OK) {
    d.say(detail::from_nats("resync: cannot read the product states", s, jerr)
              .message,
          true);
    d.pause(milliseconds{500});
    return true; // asked for still: tried again
  }
  // The newest state of every product, until none is left (or none comes
  // for 2 s: an empty stream says nothing of what is pending).
  bool end = false;
  while (!end) {
    std::vector<product_update> batch;
    while (batch.size() < channel.batch_limit()) {
      natsMsg* raw = nullptr;
      s = natsSubscription_NextMsg(&raw, sub.p, 2000);
      if (s == NATS_TIMEOUT) {
        end = true;
        break;
      }
      if (s != NATS_OK) {
        d.say(
            detail::from_nats("resync: reading the product states", s).message,
            true);
        d.pause(milliseconds{500});
        return d.may_write();
      }
      std::unique_ptr<natsMsg, void (*)(natsMsg*)> msg{raw, natsMsg_Destroy};
      jsMsgMetaData* meta = nullptr;
      if (natsMsg_GetMetaData(&meta, msg.get()) != NATS_OK) continue;
      uint64_t seq = meta->Sequence.Stream;
      end = meta->NumPending == 0;
      jsMsgMetaData_Destroy(meta);
      auto state = decode_product(
          std::string(natsMsg_GetData(msg.get()),
                      static_cast<size_t>(natsMsg_GetDataLength(msg.get()))));
      if (state) batch.push_back(product_update{seq, std::move(*state)});
      if (end) break;
    }
    if (!batch.empty() && !channel.deliver(batch, true)) return false;
    scanned += batch.size();
    auto pushed = d.resync_pushed - pushed_before;
    if (!update_resync(d, [&](shop_resync& r) {
          r.scanned = scanned;
          r.pushed = pushed;
          if (!end) return;
          r.running = 0;
          r.done = std::max(r.done, asked);
          r.finished_ms = now_ms();
        }))
      return false;
  }
  d.say("resync " + std::to_string(asked) +
        " finished: " + std::to_string(scanned) + " products compared, " +
        std::to_string(d.resync_pushed - pushed_before) + " rows pushed");
  return true;
}

} // namespace

shop_drivers::shop_drivers(node& n, config_ptr conf,
                           shop_drivers_options options)
    : node_(n), options_(std::move(options)), conf_(std::move(conf)) {
  watcher_ = std::thread{[this] {
    watch_loop();
  }};
}

shop_drivers::~shop_drivers() { halt(); }

void shop_drivers::halt() {
  stop_ = true;
  if (watcher_.joinable()) watcher_.join();
  std::lock_guard<std::mutex> guard{mutex_};
  for (auto& [id, d] : drivers_)
    d->stop = true;
  for (auto& d : stopping_)
    d->stop = true;
  for (auto& [id, d] : drivers_)
    if (d->thread.joinable()) d->thread.join();
  for (auto& d : stopping_)
    if (d->thread.joinable()) d->thread.join();
  drivers_.clear();
  stopping_.clear();
}

void shop_drivers::reload(config_ptr conf) {
  std::lock_guard<std::mutex> guard{mutex_};
  conf_ = std::move(conf);
  ++generation_;
}

std::vector<shop_drive_status> shop_drivers::status() {
  config_ptr conf;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    conf = conf_;
  }
  std::vector<shop_drive_status> out;
  auto slots = node_.options().slots;
  for (auto& shop : conf->shops) {
    shop_drive_status s;
    s.shop = shop.id;
    s.slot = slot_of_shop(shop.id, slots);
    std::lock_guard<std::mutex> guard{mutex_};
    if (auto h = holders_.find(s.slot); h != holders_.end())
      s.driver = h->second;
    if (auto r = resyncs_.find(shop.id); r != resyncs_.end())
      s.resync = r->second;
    auto i = drivers_.find(shop.id);
    if (i != drivers_.end()) {
      auto& d = *i->second;
      s.driven_here = !d.finished && d.may_write();
      s.rows_confirmed = d.rows_confirmed;
      s.rows_failed = d.rows_failed;
      s.stale_refusals = d.stale_refusals;
      s.pending = d.pending;
      s.checkpoint = d.checkpoint;
      s.resync_pushed = d.resync_pushed;
      if (s.driven_here) s.driver = node_.options().node_id;
      std::lock_guard<std::mutex> e{d.error_mutex};
      s.last_error = d.last_error;
    }
    out.push_back(std::move(s));
  }
  return out;
}

// -- starting and stopping drivers
// ----------------------------------------------

void shop_drivers::read_holders() {
  std::set<uint32_t> slots;
  std::vector<std::string> shops;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    for (auto& shop : conf_->shops) {
      slots.insert(slot_of_shop(shop.id, node_.options().slots));
      shops.push_back(shop.id);
    }
  }
  std::map<uint32_t, std::optional<std::string>> read;
  for (auto slot : slots)
    read[slot] = node_.slot_holder(slot);
  std::map<std::string, shop_resync> resyncs;
  for (auto& shop : shops)
    if (auto r = load_resync(node_.js(), shop); r && r->subject_seq > 0)
      resyncs[shop] = r->value;
  std::lock_guard<std::mutex> guard{mutex_};
  holders_ = std::move(read);
  resyncs_ = std::move(resyncs);
}

// -- resync requests
// ------------------------------------------------------------

void shop_drivers::request_resync_async(
    std::string shop, std::function<void(outcome<shop_resync>)> done) {
  node_.post([this, shop = std::move(shop), done = std::move(done)] {
    done(request_resync(shop));
  });
}

outcome<shop_resync> shop_drivers::request_resync(const std::string& shop) {
  {
    std::lock_guard<std::mutex> guard{mutex_};
    if (conf_->find_shop(shop) == nullptr)
      return error{errc::not_found, "no shop \"" + shop + "\" in the config"};
  }
  // Another node asking at the same time makes the CAS fail: read again.
  for (int attempt = 0; attempt < 20; ++attempt) {
    auto loaded = load_resync(node_.js(), shop);
    if (!loaded) return loaded.err();
    auto r = loaded->value;
    if (r.requested > r.done)
      return error{errc::conflict, "a resync of shop \"" + shop +
                                       "\" was asked for and has not finished"};
    ++r.requested;
    r.requested_ms = now_ms();
    auto written = store_resync(node_.js(), shop, r, loaded->subject_seq);
    if (written) {
      std::lock_guard<std::mutex> guard{mutex_};
      resyncs_[shop] = r;
      return r;
    }
    if (written.err().code != errc::conflict) return written.err();
  }
  return error{errc::conflict, "the resync record of shop \"" + shop +
                                   "\" keeps changing; ask again"};
}

void shop_drivers::watch_loop() {
  auto holders_read = steady::time_point{};
  while (!stop_) {
    watch_round();
    if (steady::now() - holders_read > std::chrono::seconds{1}) {
      read_holders();
      holders_read = steady::now();
    }
    auto until = steady::now() + options_.watch_every;
    while (!stop_ && steady::now() < until)
      std::this_thread::sleep_for(milliseconds{10});
  }
}

void shop_drivers::watch_round() {
  std::lock_guard<std::mutex> guard{mutex_};
  stopping_.erase(std::remove_if(stopping_.begin(), stopping_.end(),
                                 [](std::unique_ptr<driver>& d) {
                                   if (!d->finished) return false;
                                   d->thread.join();
                                   return true;
                                 }),
                  stopping_.end());
  auto slots = node_.options().slots;
  auto now = steady::now();
  std::set<std::string> configured;
  for (auto& shop : conf_->shops) {
    configured.insert(shop.id);
    auto slot = slot_of_shop(shop.id, slots);
    bool owned = now < node_.slot_deadline(slot);
    auto i = drivers_.find(shop.id);
    auto* d = i == drivers_.end() ? nullptr : i->second.get();
    // A driver that ended, was fenced, or drives older settings goes.
    if (d != nullptr &&
        (d->finished || !owned ||
         (d->generation != generation_ && !same_settings(d->shop, shop)))) {
      d->stop = true;
      stopping_.push_back(std::move(i->second));
      drivers_.erase(i);
      d = nullptr;
    }
    if (d != nullptr) {
      d->generation = generation_;
      continue;
    }
    if (!owned || !shop.stock_sync) continue;
    auto fresh = std::make_unique<driver>();
    fresh->owner = &node_;
    fresh->options = &options_;
    fresh->shop = shop;
    fresh->slot = slot;
    fresh->generation = generation_;
    auto* raw = fresh.get();
    raw->thread = std::thread{[this, raw] {
      run(*raw);
      raw->finished = true;
    }};
    drivers_.emplace(shop.id, std::move(fresh));
  }
  // Shops removed from the config.
  for (auto i = drivers_.begin(); i != drivers_.end();) {
    if (configured.count(i->first)) {
      ++i;
      continue;
    }
    i->second->stop = true;
    stopping_.push_back(std::move(i->second));
    i = drivers_.erase(i);
  }
}

// -- one driver
// -----------------------------------------------------------------

void shop_drivers::run(driver& d) {
  auto channel = d.shop.channel == channel_kind::shopify ? shopify_delivery(d)
                                                         : amazon_delivery(d);
  if (!channel->refusal().empty()) {
    d.say("not driven: " + channel->refusal(), true);
    d.pause(milliseconds{2000});
    return;
  }
  auto& js = node_.js();
  // The shop's checkpoint: every product state up to it is delivered, with
  // the settings it names. Other settings (a reload) start from the
  // beginning: every product's view is computed again and compared with
  // what the shop confirmed, so only what changed is sent.
  versioned<shop_checkpoint> cp;
  for (;;) {
    auto loaded = load_shop_checkpoint(js, d.shop.id);
    if (loaded) {
      cp = *loaded;
      break;
    }
    if (!d.may_write()) return;
    d.say("cannot read its checkpoint: " + loaded.err().message, true);
    d.pause(milliseconds{200});
  }
  auto settings = settings_digest(d.shop);
  if (cp.value.settings != settings) {
    if (cp.value.state_seq > 0)
      d.say("settings changed since the checkpoint: every product's view is "
            "compared again");
    cp.value = shop_checkpoint{0, settings};
  }
  uint64_t from = cp.value.state_seq;
  d.checkpoint = from;
  d.say("driven by this node from state sequence " + std::to_string(from));

  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Ordered = true;
  so.Stream = state_stream.c_str();
  if (from > 0) {
    so.Config.DeliverPolicy = js_DeliverByStartSequence;
    so.Config.OptStartSeq = from + 1;
  } else {
    so.Config.DeliverPolicy = js_DeliverAll;
  }
  js_subscription sub{js};
  jsErrCode jerr{};
  natsStatus s = js_SubscribeSync(
      &sub.p, js.context(), all_products_filter.c_str(), nullptr, &so, &jerr);
  if (s != NATS_OK) {
    d.say(detail::from_nats("cannot read the product states", s, jerr).message,
          true);
    d.pause(milliseconds{500});
    return;
  }

  if (!channel->resume()) return;
  auto resync_checked = steady::time_point{};
  while (d.may_write()) {
    // A resync asked for on any node runs here, between rounds.
    if (steady::now() - resync_checked > milliseconds{500}) {
      if (!run_resync(d, *channel)) return;
      resync_checked = steady::now();
      // Told to stop meanwhile: no round starts (NATS unreachable, each
      // of its calls would wait a whole timeout).
      if (!d.may_write()) return;
    }
    // A round: the product states that came, newest per product.
    std::vector<product_update> batch;
    std::unordered_map<std::string, size_t> index;
    uint64_t last = 0;
    steady::time_point first{};
    while (batch.size() < channel->batch_limit()) {
      natsMsg* raw = nullptr;
      auto wait = milliseconds{200};
      if (!batch.empty()) {
        auto left = std::chrono::duration_cast<milliseconds>(
            first + channel->gather_for() - steady::now());
        if (left <= milliseconds{0}) break;
        wait = left;
      }
      s = natsSubscription_NextMsg(&raw, sub.p, wait.count());
      if (s == NATS_TIMEOUT) break;
      if (s != NATS_OK) {
        d.say(detail::from_nats("reading the product states", s).message, true);
        d.pause(milliseconds{200});
        break;
      }
      std::unique_ptr<natsMsg, void (*)(natsMsg*)> msg{raw, natsMsg_Destroy};
      jsMsgMetaData* meta = nullptr;
      if (natsMsg_GetMetaData(&meta, msg.get()) != NATS_OK) continue;
      uint64_t seq = meta->Sequence.Stream;
      jsMsgMetaData_Destroy(meta);
      if (seq <= from) continue;
      if (batch.empty()) first = steady::now();
      last = std::max(last, seq);
      auto state = decode_product(
          std::string(natsMsg_GetData(msg.get()),
                      static_cast<size_t>(natsMsg_GetDataLength(msg.get()))));
      if (!state) {
        d.say("state message " + std::to_string(seq) +
                  " skipped: " + state.err().message,
              true);
        continue;
      }
      auto code = state->product;
      auto at = index.find(code);
      if (at != index.end()) {
        batch[at->second] = product_update{seq, std::move(*state)};
      } else {
        index.emplace(code, batch.size());
        batch.push_back(product_update{seq, std::move(*state)});
      }
    }
    if (last == 0) continue;
    if (!d.may_write() || !channel->deliver(batch, false)) return;
    // Every product of the round is confirmed or failed for good.
    for (;;) {
      auto next = shop_checkpoint{last, settings};
      auto written = store_shop_checkpoint(js, d.shop.id, next, cp.subject_seq);
      if (written) {
        cp = versioned<shop_checkpoint>{next, *written};
        d.checkpoint = last;
        break;
      }
      if (written.err().code == errc::conflict) {
        d.say("checkpoint written by another owner; stopping", true);
        return;
      }
      if (!d.may_write()) return;
      d.pause(milliseconds{100});
    }
  }
}

} // namespace shelfsync::cluster
