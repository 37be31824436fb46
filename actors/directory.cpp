#include "actors/directory.hpp"

#include <malloc.h>

#include <algorithm>

#include <caf/all.hpp>

#include "actors/log.hpp"
#include "actors/product.hpp"
#include "actors/resync.hpp"
#include "core/error.hpp"

namespace shelfsync {

namespace {

/// How many stored products one refresh step visits.
constexpr size_t refresh_chunk = 1000;

} // namespace

void directory_state::record(product_update&& update) {
  for (auto& [shop, change] : update.changes) {
    change.segment = segment;
    window[shop].add(change);
    notifications[shop].push_back(std::move(change));
  }
  uncommitted[update.product] = std::move(update.record);
}

bool directory_state::all_applied() const {
  for (auto& b : batches)
    if (!b.applied) return false;
  return true;
}

bool directory_state::awaiting(const live_product& p) const {
  for (auto& b : batches)
    if (b.id == p.last_batch) return !b.applied;
  return false;
}

batch_results_ptr directory_state::start_batch(size_t products) {
  auto id = next_batch++;
  auto results = std::make_shared<batch_results>(id, products);
  batches.push_back({id, dispatched_seq, results, false});
  return results;
}

uint64_t directory_state::completed_checkpoint() {
  auto result = checkpoint;
  while (!batches.empty() && batches.front().applied) {
    result = batches.front().last_seq;
    batches.pop_front();
  }
  if (batches.empty()) result = dispatched_seq;
  return result;
}

caf::error directory_state::commit() {
  auto new_checkpoint = completed_checkpoint();
  if (uncommitted.empty() && window.empty() && new_checkpoint == checkpoint)
    return caf::none;
  writes.clear();
  // Records go in key order: the memtable inserts a sorted run much faster
  // than scattered keys. Nothing is moved out: a failed commit keeps
  // everything for the next one.
  std::vector<const std::pair<const std::string, std::string>*> records;
  records.reserve(uncommitted.size());
  for (auto& kvp : uncommitted)
    records.push_back(&kvp);
  std::sort(records.begin(), records.end(), [](auto* x, auto* y) {
    return x->first < y->first;
  });
  for (auto* kvp : records)
    writes.put_product_bytes(kvp->first, kvp->second);
  for (auto& [shop, changes] : window)
    writes.put_outbox_segment(shop, segment, changes);
  writes.set_next_segment(segment + 1);
  auto advance = new_checkpoint > checkpoint ? new_checkpoint : 0;
  if (auto err = cfg.db->commit(writes, advance)) {
    // Nothing is lost: the log holds every event; the next commit retries.
    writes.clear();
    return err;
  }
  uncommitted.clear();
  window.clear();
  ++segment;
  if (advance != 0) checkpoint = advance;
  return caf::none;
}

// -- handlers
// ------------------------------------------------------------------

void directory_state::start(pointer ptr, directory_config config) {
  self = ptr;
  cfg = std::move(config);
  checkpoint_durable_at = self->clock().now();
  if (auto cp = cfg.db->checkpoint())
    checkpoint = dispatched_seq = durable_checkpoint = *cp;
  if (auto next = cfg.db->next_segment()) segment = *next;
}

void directory_state::dispatch(std::vector<stock_event>& events, bool replay) {
  if (events.empty()) return;
  dispatched_seq = std::max(dispatched_seq, events.back().seq);
  // Group by product, keeping log order within each product. Live
  // entries are nodes: their addresses survive rehashing.
  std::vector<live_product*> touched;
  touched.reserve(events.size());
  for (auto& e : events) {
    auto& p = product_for(e.product);
    if (p.events.empty()) touched.push_back(&p);
    p.events.push_back(std::move(e));
  }
  auto results = start_batch(touched.size());
  for (auto* p : touched) {
    ++p->sent;
    p->last_batch = results->batch();
    if (replay)
      self->send(p->handle, atom::replay_v, cfg.conf, results,
                 std::move(p->events));
    else
      self->send(p->handle, atom::apply_v, cfg.conf, results,
                 std::move(p->events));
    p->events.clear();
  }
}

void directory_state::on_applied(uint64_t id) {
  for (auto& b : batches)
    if (b.id == id) {
      for (auto& update : b.results->take())
        record(std::move(update));
      b.applied = true;
      b.results.reset();
      notify();
      schedule_commit();
      return;
    }
}

void directory_state::on_commit_timer(uint64_t gen) {
  if (gen != commit_timer) return;
  commit_timer_armed = false;
  flush();
}

void directory_state::on_idle(const std::string& code, uint64_t activity) {
  auto i = live.find(code);
  if (i == live.end() || i->second.sent != activity) return;
  // Its last record must be on disk before a new actor may load it: an
  // uncommitted one stops after the next commit, which is due within the
  // commit interval (committing per idle product would mean one commit per
  // product when a catalog goes quiet).
  if (uncommitted.count(code) != 0 || awaiting(i->second)) {
    stop_after_commit.emplace_back(code, activity);
    schedule_commit();
    return;
  }
  stop_product(i);
}

caf::result<product_record> directory_state::get(const std::string& code) {
  if (auto i = live.find(code); i != live.end()) {
    ++i->second.sent;
    return self->delegate(i->second.handle, atom::get_v);
  }
  product_record rec;
  auto found = cfg.db->load_product(code, rec);
  if (!found) return found.error();
  if (!*found)
    return caf::make_error(ec::not_found, "product never seen: " + code);
  return rec;
}

caf::result<uint64_t> directory_state::sync() {
  if (batches.empty() && uncommitted.empty() && window.empty() &&
      checkpoint == dispatched_seq)
    return checkpoint;
  auto rp = self->make_response_promise<uint64_t>();
  sync_waiters.push_back(rp);
  if (all_applied()) flush();
  return rp;
}

void directory_state::reload(config_ptr conf, shop_map shops) {
  cfg.conf = std::move(conf);
  cfg.shops = std::move(shops);
  // Live products recompute at once, as one batch.
  if (!live.empty()) {
    auto results = start_batch(live.size());
    for (auto& [code, p] : live) {
      ++p.sent;
      p.last_batch = results->batch();
      self->send(p.handle, atom::refresh_v, cfg.conf, results);
    }
  }
  // Stored products recompute in the background, a chunk at a time.
  refresh_after.clear();
  if (!refreshing) {
    refreshing = true;
    self->send(self, atom::refresh_v);
  }
}

void directory_state::refresh_next() {
  std::vector<product_update> updates;
  auto last = cfg.db->scan_products(
      refresh_after, refresh_chunk,
      [&](std::string_view code, product_record&& rec) {
        std::string key{code};
        // Live actors refresh themselves; uncommitted records are newer
        // than what the scan sees and belong to live actors anyway.
        if (live.count(key) != 0 || uncommitted.count(key) != 0) return;
        product_state tmp;
        tmp.cfg.code = std::move(key);
        tmp.record = std::move(rec);
        auto update = tmp.refresh(*cfg.conf);
        if (!update.changes.empty()) updates.push_back(std::move(update));
      });
  if (!last) {
    log_line(log_level::error, "directory",
             "refresh after reload stopped: " + to_string(last.error()));
    refreshing = false;
    return;
  }
  for (auto& u : updates)
    record(std::move(u));
  if (!updates.empty()) {
    notify();
    flush();
  }
  if (*last == refresh_after) {
    refreshing = false;
    return;
  }
  refresh_after = *last;
  self->send(self, atom::refresh_v);
}

caf::result<resync_page> directory_state::resync(const std::string& shop,
                                                 const std::string& after,
                                                 uint64_t max) {
  auto page = read_resync_page(*cfg.db, uncommitted, shop, after,
                               static_cast<size_t>(max));
  if (!page) return page.error();
  return std::move(*page);
}

void directory_state::stop() {
  for (auto& [code, p] : live)
    self->send(p.handle, atom::stop_v);
  live.clear();
  flush();
  self->quit();
}

// -- steps
// ---------------------------------------------------------------------

directory_state::live_product&
directory_state::product_for(const std::string& code) {
  auto i = live.find(code);
  if (i != live.end()) return i->second;
  auto handle = self->spawn(
      product,
      product_config{code, cfg.db, caf::actor_cast<directory_actor>(self),
                     cfg.product_idle});
  return live.emplace(code, live_product{handle, 0, {}}).first->second;
}

// The view changes of completed work may reach the shops before the commit:
// a crash then replays the log, and the shops find the replayed values
// already confirmed.
void directory_state::notify() {
  for (auto& [shop, changes] : notifications) {
    auto i = cfg.shops.find(shop);
    if (i != cfg.shops.end() && !changes.empty())
      self->send(i->second, atom::pending_v, std::move(changes));
  }
  notifications.clear();
}

void directory_state::stop_product(
    std::unordered_map<std::string, live_product>::iterator i) {
  self->send(i->second.handle, atom::stop_v);
  live.erase(i);
  // After a wave of stops, the last one out lets RocksDB write its
  // memtables out, so that a quiet engine holds little more than its block
  // cache (not after every stop: that would make tiny files).
  ++stops_since_release;
  if (live.empty() && stops_since_release >= cfg.trim_after_stops) {
    stops_since_release = 0;
    stops_since_trim = 0;
    cfg.db->flush_memtables();
    writes = state_batch{};
    malloc_trim(0);
  } else if (++stops_since_trim >= cfg.trim_after_stops) {
    stops_since_trim = 0;
    malloc_trim(0);
  }
}

void directory_state::flush() {
  auto segments = !window.empty();
  if (auto err = commit()) {
    if (!commit_failing)
      log_line(log_level::error, "directory",
               "cannot commit derived state (kept in memory and retried "
               "until the store takes writes again): " +
                   to_string(err));
    commit_failing = true;
    // Retried on the timer also when no event comes: that is what finds out
    // that the store took writes again.
    arm_commit();
    // Whoever waits for everything to be committed hears why not, rather
    // than waiting for as long as the outage lasts.
    if (batches.empty()) {
      for (auto& rp : sync_waiters)
        rp.deliver(err);
      sync_waiters.clear();
    }
    return;
  }
  if (commit_failing)
    log_line(log_level::info, "directory",
             "derived state committed again up to seq " +
                 std::to_string(checkpoint));
  commit_failing = false;
  // Commits skip the WAL: a kill -9 loses what the memtables hold, and the
  // log from the last durable checkpoint on is replayed. Writing them out
  // once per interval keeps that replay short; when the engine goes quiet
  // first, the commit timer keeps coming back until it is done.
  if (checkpoint != durable_checkpoint) {
    auto now = self->clock().now();
    if (now - checkpoint_durable_at >= cfg.checkpoint_interval) {
      durable_checkpoint = checkpoint;
      checkpoint_durable_at = now;
      cfg.db->flush_memtables();
    } else {
      arm_commit();
    }
  }
  // An outbox that left changes on disk reads them back once committed.
  if (segments)
    for (auto& [id, handle] : cfg.shops)
      self->send(handle, atom::pending_v, std::vector<view_change>{});
  for (auto& [code, activity] : stop_after_commit) {
    auto i = live.find(code);
    // Still idle since it reported so, and its last result recorded (else
    // it reports idle again later)?
    if (i != live.end() && i->second.sent == activity && !awaiting(i->second))
      stop_product(i);
  }
  stop_after_commit.clear();
  if (batches.empty()) {
    for (auto& rp : sync_waiters)
      rp.deliver(checkpoint);
    sync_waiters.clear();
  }
}

void directory_state::attach(shop_map shops) {
  cfg.shops = std::move(shops);
  // Views the replay could not commit (a start on a store that cannot be
  // written) are not in the segments the shops loaded: hand them over, or a
  // product not changed again would never go out. Every shop hears from
  // the directory, with nothing when nothing waits: a Shopify shop sends
  // nothing before, so that no view older than these goes out first.
  for (auto& [shop, handle] : cfg.shops) {
    std::vector<view_change> pending;
    auto w = window.find(shop);
    if (w != window.end() && decode(w->second.finish(), pending))
      for (auto& c : pending)
        c.segment = segment;
    self->send(handle, atom::pending_v, std::move(pending));
  }
}

void directory_state::schedule_commit() {
  if (uncommitted.size() >= cfg.max_uncommitted ||
      (all_applied() && !sync_waiters.empty())) {
    flush();
    return;
  }
  arm_commit();
}

void directory_state::arm_commit() {
  if (commit_timer_armed) return;
  commit_timer_armed = true;
  self->delayed_send(self, cfg.commit_interval, atom::commit_v, ++commit_timer);
}

// -- behaviour
// -----------------------------------------------------------------

directory_actor::behavior_type
directory(directory_actor::stateful_pointer<directory_state> self,
          directory_config cfg) {
  self->state.start(self, std::move(cfg));
  return {
      [=](atom::apply, std::vector<stock_event>& events) {
        self->state.dispatch(events, false);
      },
      [=](atom::replay, std::vector<stock_event>& events) {
        self->state.dispatch(events, true);
      },
      [=](atom::applied, uint64_t id) {
        self->state.on_applied(id);
      },
      [=](atom::commit, uint64_t generation) {
        self->state.on_commit_timer(generation);
      },
      [=](atom::idle, const std::string& code, uint64_t activity) {
        self->state.on_idle(code, activity);
      },
      [=](atom::get, const std::string& code) {
        return self->state.get(code);
      },
      [=](atom::sync) {
        return self->state.sync();
      },
      [=](atom::reload, config_ptr& conf, shop_map& shops) {
        self->state.reload(std::move(conf), std::move(shops));
      },
      [=](atom::refresh) {
        self->state.refresh_next();
      },
      [=](atom::attach, shop_map& shops) {
        self->state.attach(std::move(shops));
      },
      [=](atom::count) {
        return static_cast<uint64_t>(self->state.live.size());
      },
      [=](atom::resync, const std::string& shop, const std::string& after,
          uint64_t max) {
        return self->state.resync(shop, after, max);
      },
      [=](atom::stop) {
        self->state.stop();
      },
  };
}

} // namespace shelfsync
