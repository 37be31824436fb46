#include "actors/directory.hpp"

#include <malloc.h>

#include <algorithm>

#include <caf/all.hpp>

#include "actors/log.hpp"
#include "actors/product.hpp"
#include "actors/resync.hpp"
#include "storage/error.hpp"

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
    if (b.outstanding > 0) return false;
  return true;
}

uint64_t directory_state::completed_checkpoint() {
  auto result = checkpoint;
  while (!batches.empty() && batches.front().outstanding == 0) {
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

directory_actor::behavior_type
directory(directory_actor::stateful_pointer<directory_state> self,
          directory_config cfg) {
  auto& init = self->state;
  init.cfg = std::move(cfg);
  if (auto cp = init.cfg.db->checkpoint())
    init.checkpoint = init.dispatched_seq = init.durable_checkpoint = *cp;
  if (auto next = init.cfg.db->next_segment()) init.segment = *next;
  // -- helpers ---------------------------------------------------------------
  auto product_for =
      [self](const std::string& code) -> directory_state::live_product& {
    auto& st = self->state;
    auto i = st.live.find(code);
    if (i != st.live.end()) return i->second;
    auto handle = self->spawn(
        product,
        product_config{code, st.cfg.db, caf::actor_cast<directory_actor>(self),
                       st.cfg.product_idle});
    return st.live.emplace(code, directory_state::live_product{handle, 0, {}})
        .first->second;
  };
  // Hands the view changes of completed work to the shops. They may deliver
  // before the commit: a crash then replays the log, and the shops find the
  // replayed values already confirmed.
  auto notify = [self] {
    auto& st = self->state;
    for (auto& [shop, changes] : st.notifications) {
      auto i = st.cfg.shops.find(shop);
      if (i != st.cfg.shops.end() && !changes.empty())
        self->send(i->second, atom::pending_v, std::move(changes));
    }
    st.notifications.clear();
  };
  // Stops an idle product actor whose record is on disk.
  auto stop_product = [self](decltype(self->state.live)::iterator i) {
    auto& st = self->state;
    self->send(i->second.handle, atom::stop_v);
    st.live.erase(i);
    // After a wave of stops, the last one out lets RocksDB write its
    // memtables out, so that a quiet engine holds little more than its
    // block cache (not after every stop: that would make tiny files).
    ++st.stops_since_release;
    if (st.live.empty() && st.stops_since_release >= st.cfg.trim_after_stops) {
      st.stops_since_release = 0;
      st.stops_since_trim = 0;
      st.cfg.db->flush_memtables();
      st.writes = state_batch{};
      malloc_trim(0);
    } else if (++st.stops_since_trim >= st.cfg.trim_after_stops) {
      st.stops_since_trim = 0;
      malloc_trim(0);
    }
  };
  // Commits derived state, stops the idle products that waited for it, then
  // answers sync waiters if all is applied.
  auto flush = [self, stop_product] {
    auto& st = self->state;
    auto segments = !st.window.empty();
    if (auto err = st.commit()) {
      log_line(log_level::error, "directory",
               "cannot commit derived state: " + to_string(err));
      return;
    }
    // Commits skip the WAL: a kill -9 loses what the memtables hold, and
    // the log from the last durable checkpoint on is replayed. Writing them
    // out once per interval keeps that replay short; when the engine goes
    // quiet first, the commit timer keeps coming back until it is done.
    if (st.checkpoint != st.durable_checkpoint) {
      auto now = std::chrono::steady_clock::now();
      if (now - st.checkpoint_durable_at >= st.cfg.checkpoint_interval) {
        st.durable_checkpoint = st.checkpoint;
        st.checkpoint_durable_at = now;
        st.cfg.db->flush_memtables();
      } else if (!st.commit_timer_armed) {
        st.commit_timer_armed = true;
        self->delayed_send(self, st.cfg.commit_interval, atom::tick_v,
                           ++st.commit_timer);
      }
    }
    // An outbox that left changes on disk reads them back once committed.
    if (segments)
      for (auto& [id, handle] : st.cfg.shops)
        self->send(handle, atom::pending_v, std::vector<view_change>{});
    for (auto& [code, activity] : st.stop_after_commit) {
      auto i = st.live.find(code);
      // Still idle since it reported so?
      if (i != st.live.end() && i->second.sent == activity) stop_product(i);
    }
    st.stop_after_commit.clear();
    if (st.batches.empty()) {
      for (auto& rp : st.sync_waiters)
        rp.deliver(st.checkpoint);
      st.sync_waiters.clear();
    }
  };
  // Commits when enough waits, or arms the timer that commits soon.
  auto schedule_commit = [self, flush] {
    auto& st = self->state;
    if (st.uncommitted.size() >= st.cfg.max_uncommitted ||
        (st.all_applied() && !st.sync_waiters.empty())) {
      flush();
      return;
    }
    if (!st.commit_timer_armed) {
      st.commit_timer_armed = true;
      self->delayed_send(self, st.cfg.commit_interval, atom::tick_v,
                         ++st.commit_timer);
    }
  };
  // Hands a batch of events to their products as one dispatched batch.
  auto dispatch = [self, product_for](std::vector<stock_event>& events,
                                      bool replay) {
    auto& st = self->state;
    if (events.empty()) return;
    auto id = st.next_batch++;
    st.dispatched_seq = std::max(st.dispatched_seq, events.back().seq);
    // Group by product, keeping log order within each product. Live
    // entries are nodes: their addresses survive rehashing.
    std::vector<directory_state::live_product*> touched;
    for (auto& e : events) {
      auto& p = product_for(e.product);
      if (p.events.empty()) touched.push_back(&p);
      p.events.push_back(std::move(e));
    }
    st.batches.push_back({id, st.dispatched_seq, touched.size()});
    for (auto* p : touched) {
      ++p->sent;
      if (replay)
        self->send(p->handle, atom::replay_v, st.cfg.conf, id,
                   std::move(p->events));
      else
        self->send(p->handle, atom::apply_v, st.cfg.conf, id,
                   std::move(p->events));
      p->events.clear();
    }
  };
  return {
      [=](atom::apply, std::vector<stock_event>& events) {
        dispatch(events, false);
      },
      [=](atom::replay, std::vector<stock_event>& events) {
        dispatch(events, true);
      },
      [=](atom::applied, uint64_t id, product_update& update) {
        auto& st = self->state;
        st.record(std::move(update));
        for (auto& b : st.batches)
          if (b.id == id) {
            if (--b.outstanding == 0) {
              notify();
              schedule_commit();
            }
            return;
          }
      },
      [=](atom::tick, uint64_t generation) {
        auto& st = self->state;
        if (generation != st.commit_timer) return;
        st.commit_timer_armed = false;
        flush();
      },
      [=](atom::idle, const std::string& code, uint64_t activity) {
        auto& st = self->state;
        auto i = st.live.find(code);
        if (i == st.live.end() || i->second.sent != activity) return;
        // Its last record must be on disk before a new actor may load it:
        // an uncommitted one stops after the next commit, which is due
        // within the commit interval (committing per idle product would
        // mean one commit per product when a catalog goes quiet).
        if (st.uncommitted.count(code) != 0) {
          st.stop_after_commit.emplace_back(code, activity);
          schedule_commit();
          return;
        }
        stop_product(i);
      },
      [=](atom::get, const std::string& code) -> caf::result<product_record> {
        auto& st = self->state;
        if (auto i = st.live.find(code); i != st.live.end()) {
          ++i->second.sent;
          return self->delegate(i->second.handle, atom::get_v);
        }
        product_record rec;
        auto found = st.cfg.db->load_product(code, rec);
        if (!found) return found.error();
        if (!*found)
          return caf::make_error(ec::not_found, "product never seen: " + code);
        return rec;
      },
      [=](atom::sync) -> caf::result<uint64_t> {
        auto& st = self->state;
        if (st.batches.empty() && st.uncommitted.empty() && st.window.empty() &&
            st.checkpoint == st.dispatched_seq)
          return st.checkpoint;
        auto rp = self->make_response_promise<uint64_t>();
        st.sync_waiters.push_back(rp);
        if (st.all_applied()) flush();
        return rp;
      },
      [=](atom::reload, config_ptr& conf, shop_map& shops) {
        auto& st = self->state;
        st.cfg.conf = std::move(conf);
        st.cfg.shops = std::move(shops);
        // Live products recompute at once, as one batch.
        if (!st.live.empty()) {
          auto id = st.next_batch++;
          st.batches.push_back({id, st.dispatched_seq, st.live.size()});
          for (auto& [code, p] : st.live) {
            ++p.sent;
            self->send(p.handle, atom::refresh_v, st.cfg.conf, id);
          }
        }
        // Stored products recompute in the background, a chunk at a time.
        st.refresh_after.clear();
        if (!st.refreshing) {
          st.refreshing = true;
          self->send(self, atom::refresh_v, std::string{});
        }
      },
      [=](atom::refresh, const std::string&) {
        auto& st = self->state;
        std::vector<product_update> updates;
        auto last = st.cfg.db->scan_products(
            st.refresh_after, refresh_chunk,
            [&](std::string_view code, product_record&& rec) {
              std::string key{code};
              // Live actors refresh themselves; uncommitted records are newer
              // than what the scan sees and belong to live actors anyway.
              if (st.live.count(key) != 0 || st.uncommitted.count(key) != 0)
                return;
              product_state tmp;
              tmp.cfg.code = std::move(key);
              tmp.record = std::move(rec);
              auto update = tmp.refresh(*st.cfg.conf);
              if (!update.changes.empty()) updates.push_back(std::move(update));
            });
        if (!last) {
          log_line(log_level::error, "directory",
                   "refresh after reload stopped: " + to_string(last.error()));
          st.refreshing = false;
          return;
        }
        for (auto& u : updates)
          st.record(std::move(u));
        if (!updates.empty()) {
          notify();
          flush();
        }
        if (*last == st.refresh_after) {
          st.refreshing = false;
          return;
        }
        st.refresh_after = *last;
        self->send(self, atom::refresh_v, st.refresh_after);
      },
      [=](atom::attach, shop_map& shops) {
        self->state.cfg.shops = std::move(shops);
      },
      [=](atom::count) {
        return static_cast<uint64_t>(self->state.live.size());
      },
      [=](atom::resync, const std::string& shop, const std::string& after,
          uint64_t max) -> caf::result<resync_page> {
        auto& st = self->state;
        auto page = read_resync_page(*st.cfg.db, st.uncommitted, shop, after,
                                     static_cast<size_t>(max));
        if (!page) return page.error();
        return std::move(*page);
      },
      [=](atom::stop) {
        auto& st = self->state;
        for (auto& [code, p] : st.live)
          self->send(p.handle, atom::stop_v);
        st.live.clear();
        flush();
        self->quit();
      },
  };
}

} // namespace shelfsync
