#include "cluster/node.hpp"

#include <algorithm>
#include <numeric>
#include <optional>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include <nats/nats.h>

#include "cluster/id_claims.hpp"
#include "cluster/membership.hpp"
#include "cluster/nats_status.hpp"
#include "cluster/product_ids.hpp"
#include "cluster/slots.hpp"
#include "core/stock.hpp"

namespace shelfsync::cluster {

namespace {

using std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

int64_t ticks(steady::time_point t) { return t.time_since_epoch().count(); }

/// Retries `f` until it succeeds or `limit` passes.
template<class F>
auto retry_until(milliseconds limit, F f) {
  auto deadline = steady::now() + limit;
  for (;;) {
    auto result = f();
    if (result || steady::now() > deadline) return result;
    std::this_thread::sleep_for(milliseconds{100});
  }
}

/// The holder of `key` as a (possibly stale) read says; nothing when none.
/// Only a preference: ownership comes from the compare-and-sets.
std::optional<std::string> holder_of(lease_bucket& bucket,
                                     const std::string& key) {
  kvEntry* entry = nullptr;
  if (kvStore_Get(&entry, bucket.store(), key.c_str()) != NATS_OK)
    return std::nullopt;
  std::optional<std::string> out;
  if (kvEntry_Operation(entry) == kvOp_Put)
    out = std::string(static_cast<const char*>(kvEntry_Value(entry)),
                      static_cast<size_t>(kvEntry_ValueLen(entry)));
  kvEntry_Destroy(entry);
  return out;
}

} // namespace

/// An applier: one thread reading one slot's events from its checkpoint.
struct node::slot_worker {
  uint32_t slot = 0;
  std::atomic<bool> stop{false};
  std::atomic<bool> finished{false};
  std::thread thread;
};

// -- starting and stopping ----------------------------------------------------

node::node(node_options options) : options_(std::move(options)) {}

outcome<std::unique_ptr<node>> node::start(node_options options) {
  if (options.slots < 1)
    return error{errc::invalid, "a cluster needs at least one slot"};
  std::unique_ptr<node> n{new node(std::move(options))};
  if (auto opened = n->open(); !opened) return opened.err();
  return n;
}

status node::open() {
  auto& o = options_;
  if (o.connect.name.empty()) o.connect.name = o.node_id;
  auto js = jetstream::connect(o.connect);
  if (!js) return js.err();
  js_ = std::move(*js);
  // The appliers write over a connection of their own: their pipelined
  // batches (thousands of writes) would otherwise queue ahead of the lease
  // renewals and ingest's publishes on the one socket, and a renewal late
  // by that loses the lease.
  auto apply_connect = o.connect;
  apply_connect.name += "-apply";
  auto apply_js = jetstream::connect(apply_connect);
  if (!apply_js) return apply_js.err();
  apply_js_ = std::move(*apply_js);
  auto events = retry_until(o.start_timeout, [&] {
    return js_->ensure_stream(
        events_stream_spec(o.replicas, o.duplicate_window));
  });
  if (!events) return events.err();
  auto state = retry_until(o.start_timeout, [&] {
    return js_->ensure_stream(state_stream_spec(o.replicas));
  });
  if (!state) return state.err();
  lease_bucket_config bc;
  bc.ttl = o.lease_ttl;
  bc.replicas = o.replicas;
  auto bucket = retry_until(o.start_timeout, [&] {
    return lease_bucket::open(*js_, bc);
  });
  if (!bucket) return bucket.err();
  bucket_ = std::move(*bucket);
  membership_ = std::make_unique<lease>(*bucket_, "node." + o.node_id,
                                        o.node_id, o.lease_margin);
  joined_ms_ = std::chrono::duration_cast<milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
  membership_->set_value(
      encode_member({o.node_id, o.config_digest, o.address, joined_ms_}));
  deadlines_.reset(new std::atomic<int64_t>[o.slots]);
  applied_.reset(new std::atomic<uint64_t>[o.slots]);
  for (uint32_t s = 0; s < o.slots; ++s) {
    deadlines_[s] = 0;
    applied_[s] = 0;
    leases_.push_back(std::make_unique<lease>(
        *bucket_, lease_bucket::slot_key(s), o.node_id, o.lease_margin));
    workers_.emplace_back();
  }
  for (size_t i = 0; i < std::max<size_t>(1, o.request_threads); ++i)
    request_threads_.emplace_back([this] {
      request_loop();
    });
  ownership_thread_ = std::thread{[this] {
    ownership_loop();
  }};
  return done{};
}

void node::stop_threads() {
  stopping_flag_ = true;
  wake_.notify_all();
  if (ownership_thread_.joinable()) ownership_thread_.join();
  {
    std::lock_guard<std::mutex> guard{jobs_mutex_};
    jobs_closed_ = true;
  }
  jobs_changed_.notify_all();
  for (auto& t : request_threads_)
    if (t.joinable()) t.join();
  request_threads_.clear();
  for (auto& w : workers_)
    if (w) {
      w->stop = true;
      stopping_.push_back(std::move(w));
    }
  for (auto& w : stopping_)
    if (w->thread.joinable()) w->thread.join();
  stopping_.clear();
}

node::~node() {
  stop_threads();
  if (halted_) return;
  // Hand the slots over at once rather than after the TTL, while NATS
  // answers. Otherwise (every server gone) the leases run out by their TTL:
  // the node does not wait a request timeout per lease to stop.
  bool reachable = js_->connected();
  for (uint32_t s = 0; s < leases_.size(); ++s) {
    deadlines_[s] = 0;
    if (reachable && !leases_[s]->release()) reachable = false;
  }
  if (membership_ && reachable) membership_->release();
}

void node::halt() {
  halted_ = true;
  stop_threads();
  // Like a killed process: nothing more is written for this node, and its
  // leases run out by their TTL.
  for (uint32_t s = 0; s < options_.slots; ++s)
    deadlines_[s] = 0;
}

void node::begin_stopping() {
  stopping_flag_ = true;
  wake_.notify_all();
}

void node::suspend_renewals(bool suspended) { suspended_ = suspended; }

// -- requests -----------------------------------------------------------------

void node::post(std::function<void()> job) {
  {
    std::lock_guard<std::mutex> guard{jobs_mutex_};
    if (!jobs_closed_) {
      jobs_.push_back(std::move(job));
      jobs_changed_.notify_one();
      return;
    }
  }
  // Stopped: run it here (it fails fast or finds the connection closed).
  job();
}

void node::request_loop() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> lock{jobs_mutex_};
      jobs_changed_.wait(lock, [&] {
        return jobs_closed_ || !jobs_.empty();
      });
      if (jobs_.empty()) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    job();
  }
}

outcome<ingest_answer> node::ingest(const std::vector<stock_event>& events) {
  auto split = split_batch(events, options_.slots);
  ++ingests_running_;
  auto acks = js_->publish_batch(split.messages, options_.publish_timeout);
  last_ingest_end_ = ticks(steady::now());
  --ingests_running_;
  if (!acks) return acks.err();
  ingest_answer answer;
  answer.duplicates = split.repeated;
  for (size_t i = 0; i < split.messages.size(); ++i) {
    auto n = split.event_counts[i];
    auto& ack = (*acks)[i];
    (ack.duplicate ? answer.duplicates : answer.accepted) += n;
    answer.last_seq = std::max(answer.last_seq, ack.sequence);
  }
  return answer;
}

void node::ingest_async(std::vector<stock_event> events, ingest_callback done) {
  post([this, events = std::move(events), done = std::move(done)] {
    done(ingest(events));
  });
}

outcome<std::optional<product_state>> node::product(const std::string& code) {
  auto slot = slot_of(code, options_.slots);
  auto last = last_event_seq(*js_, slot);
  if (!last) return last.err();
  auto deadline = steady::now() + options_.read_wait;
  for (;;) {
    auto cp = load_checkpoint(*js_, slot);
    if (!cp) return cp.err();
    if (cp->value >= *last) break;
    if (steady::now() > deadline)
      return error{errc::timeout,
                   "slot " + std::to_string(slot) + " of product \"" + code +
                       "\" is applied up to sequence " +
                       std::to_string(cp->value) + " of " +
                       std::to_string(*last) + " after " +
                       std::to_string(options_.read_wait.count()) +
                       " ms (its owner is catching up or being replaced)"};
    std::this_thread::sleep_for(milliseconds{20});
  }
  auto state = load_product(*js_, slot, code);
  if (!state) return state.err();
  if (!*state) return std::optional<product_state>{};
  return std::optional<product_state>{std::move((*state)->value)};
}

void node::product_async(std::string code, product_callback done) {
  post([this, code = std::move(code), done = std::move(done)] {
    done(product(code));
  });
}

std::vector<slot_status> node::slots() const {
  std::vector<slot_status> out;
  auto now = ticks(steady::now());
  for (uint32_t s = 0; s < options_.slots; ++s)
    out.push_back(slot_status{s, deadlines_[s] > now, applied_[s]});
  return out;
}

size_t node::owned_slots() const {
  auto all = slots();
  return static_cast<size_t>(
      std::count_if(all.begin(), all.end(), [](const slot_status& s) {
        return s.owned;
      }));
}

std::chrono::steady_clock::time_point node::slot_deadline(uint32_t slot) const {
  return steady::time_point{steady::duration{deadlines_[slot].load()}};
}

std::optional<std::string> node::slot_holder(uint32_t slot) {
  return holder_of(*bucket_, lease_bucket::slot_key(slot));
}

// -- ownership ----------------------------------------------------------------

void node::ownership_loop() {
  while (!stopping_flag_) {
    if (!suspended_) ownership_round();
    std::unique_lock<std::mutex> lock{wake_mutex_};
    wake_.wait_for(lock, options_.renew_every, [&] {
      return stopping_flag_.load();
    });
  }
}

void node::ownership_round() {
  auto say = [&](const std::string& line) {
    if (options_.log) options_.log(line);
  };
  // Appliers told to stop are joined once they have ended.
  stopping_.erase(std::remove_if(stopping_.begin(), stopping_.end(),
                                 [](std::unique_ptr<slot_worker>& w) {
                                   if (!w->finished) return false;
                                   w->thread.join();
                                   return true;
                                 }),
                  stopping_.end());
  // Membership first: a node takes slots only while it is seen as live.
  auto member =
      membership_->held() ? membership_->renew() : membership_->take();
  if (!member) {
    // Its own key from before a crash, waiting for its TTL, or no quorum.
    say("cluster: node lease " + membership_->key() +
        " not held: " + member.err().message);
  }
  // Every call below may wait a whole request timeout (NATS unreachable):
  // a node told to stop leaves the round between them.
  if (stopping_flag_) return;
  auto live = agreeing_nodes(say);

  // Renew what is held first: that is what fencing depends on.
  for (uint32_t s = 0; s < options_.slots; ++s) {
    auto& l = *leases_[s];
    if (!l.held()) continue;
    if (stopping_flag_) return;
    auto renewed = l.renew();
    ++(renewed ? renewals_ : failed_renewals_);
    if (!renewed && renewed.err().code == errc::conflict) {
      say("cluster: slot " + std::to_string(s) +
          " lost: " + renewed.err().message);
      deadlines_[s] = 0;
      stop_applier(s);
      continue;
    }
    deadlines_[s] = l.held() ? ticks(l.deadline()) : 0;
  }

  slot_owners current(options_.slots);
  for (uint32_t s = 0; s < options_.slots; ++s) {
    if (stopping_flag_) return;
    current[s] = leases_[s]->held()
                     ? std::optional<std::string>{options_.node_id}
                     : holder_of(*bucket_, lease_bucket::slot_key(s));
  }
  auto wanted = assign_slots(current, live);
  // A node whose config differs is not in `live`: it takes nothing and hands
  // over everything it holds (the others leave it out of their assignment).
  bool differs = !config_problem().empty();

  for (uint32_t s = 0; s < options_.slots; ++s) {
    if (stopping_flag_) return;
    auto& l = *leases_[s];
    bool mine = wanted[s] && *wanted[s] == options_.node_id;
    if (l.held() && !mine && (wanted[s] || differs)) {
      // Another live node should have it (a node joined), or this node's
      // config differs: hand it over.
      deadlines_[s] = 0;
      stop_applier(s);
      l.release();
      say("cluster: slot " + std::to_string(s) + " released" +
          (wanted[s] ? " to " + *wanted[s]
                     : std::string{": this node's config differs"}));
      continue;
    }
    if (!l.held() && mine) {
      auto taken = l.take();
      if (!taken) continue; // still held elsewhere: its TTL has not run out
      deadlines_[s] = ticks(l.deadline());
      say("cluster: slot " + std::to_string(s) + " taken");
    }
    if (l.valid()) {
      if (!workers_[s] || workers_[s]->finished) start_applier(s);
    } else if (workers_[s]) {
      // Fenced (no renewal in time): stop applying.
      deadlines_[s] = 0;
      stop_applier(s);
      if (!l.held()) continue;
      say("cluster: slot " + std::to_string(s) +
          " fenced: its lease could not be renewed in time");
    }
  }
}

std::vector<std::string>
node::agreeing_nodes(const std::function<void(const std::string&)>& say) {
  auto& id = options_.node_id;
  member self{id, options_.config_digest, options_.address, joined_ms_};
  auto read = read_members(*bucket_);
  std::vector<member> members;
  if (read) members = std::move(*read);
  // This node as it knows itself, not as a (possibly stale) read says.
  members.erase(std::remove_if(members.begin(), members.end(),
                               [&](const member& m) {
                                 return m.node_id == id;
                               }),
                members.end());
  if (membership_->valid()) members.push_back(self);
  std::vector<std::string> live;
  if (read) {
    auto agreed = cluster_agreement(members);
    std::string problem;
    if (agreed && !self.digest.empty() && self.digest != agreed->digest)
      problem = disagreement(self, *agreed);
    std::string before;
    {
      std::lock_guard<std::mutex> guard{problem_mutex_};
      before = std::exchange(config_problem_, problem);
    }
    if (problem != before)
      say("cluster: " + (problem.empty()
                             ? "this node's config digest " + self.digest +
                                   " agrees with the cluster's: it takes slots"
                             : problem));
    for (auto& m : members)
      if (!agreed || m.digest.empty() || m.digest == agreed->digest)
        live.push_back(m.node_id);
  } else if (membership_->valid()) {
    // The members could not be read: this node alone, if it agreed before.
    live.push_back(id);
  }
  if (!config_problem().empty())
    live.erase(std::remove(live.begin(), live.end(), id), live.end());
  return live;
}

std::string node::config_problem() const {
  std::lock_guard<std::mutex> guard{problem_mutex_};
  return config_problem_;
}

void node::view_async(std::function<void(outcome<cluster_view>)> done) {
  post([this, done = std::move(done)] {
    done(read_cluster_view(*js_, *bucket_, options_.slots, options_.shop_ids));
  });
}

void node::read_async(std::function<void(jetstream&)> job) {
  post([this, job = std::move(job)] {
    job(*js_);
  });
}

void node::owned_lags_async(
    std::function<void(std::vector<std::pair<uint32_t, slot_lag>>)> done) {
  post([this, done = std::move(done)] {
    std::vector<std::pair<uint32_t, slot_lag>> out;
    for (auto& s : slots()) {
      if (!s.owned) continue;
      auto last = last_event_seq(*js_, s.slot);
      if (!last) continue;
      // A scrape reads at most 32 messages per slot to count events.
      auto lag = measure_lag(*js_, s.slot, s.applied_seq, *last, 32);
      if (lag) out.emplace_back(s.slot, *lag);
    }
    done(std::move(out));
  });
}

void node::start_applier(uint32_t slot) {
  if (workers_[slot]) stop_applier(slot);
  auto w = std::make_unique<slot_worker>();
  w->slot = slot;
  auto* raw = w.get();
  w->thread = std::thread{[this, raw] {
    apply_loop(*raw);
    raw->finished = true;
  }};
  workers_[slot] = std::move(w);
}

void node::stop_applier(uint32_t slot) {
  if (!workers_[slot]) return;
  workers_[slot]->stop = true;
  stopping_.push_back(std::move(workers_[slot]));
}

// -- applying -----------------------------------------------------------------

void node::apply_loop(slot_worker& w) {
  auto slot = w.slot;
  auto say = [&](const std::string& line) {
    if (options_.log)
      options_.log("cluster: slot " + std::to_string(slot) + ": " + line);
  };
  // Failures that are retried are said at most every 5 s (a lost quorum
  // would otherwise fill the log).
  steady::time_point said_retry{};
  auto say_retry = [&](const std::string& line) {
    if (steady::now() - said_retry < std::chrono::seconds{5}) return;
    said_retry = steady::now();
    say(line + " (retrying; said at most every 5 s)");
  };
  // Writes only while the lease's fencing deadline has not passed.
  auto may_write = [&] {
    return !w.stop && ticks(steady::now()) < deadlines_[slot];
  };
  auto cp = load_checkpoint(*apply_js_, slot);
  if (!cp) {
    say("cannot read its checkpoint: " + cp.err().message);
    std::this_thread::sleep_for(milliseconds{200});
    return;
  }
  uint64_t applied = cp->value;
  uint64_t cp_seq = cp->subject_seq;
  applied_[slot] = applied;

  // The slot's messages are read by direct gets from the checkpoint on,
  // when the applier wants them: a consumer per slot would be woken by
  // every message stored in the stream, which costs the servers more than
  // the ingest itself (measured: bench/cluster_bench), and a durable one
  // redelivers out of order on hand-over.
  auto subject = events_subject(slot);

  // Products of this slot as last written by this applier, with their ids.
  struct cached_product {
    versioned<product_state> state;
    product_ids ids;
  };
  std::unordered_map<std::string, cached_product> cache;
  // Retries a write while the lease holds; false when it must stop.
  auto write = [&](auto&& attempt) -> bool {
    while (may_write()) {
      auto stored = attempt();
      if (stored) return true;
      if (stored.err().code == errc::conflict) {
        say("write refused, another owner wrote first; stopping: " +
            stored.err().message);
        return false;
      }
      say_retry("write failed: " + stored.err().message);
      std::this_thread::sleep_for(milliseconds{100});
    }
    return false;
  };

  // Sends every one of `items` through `send` (one pipelined batch, one
  // result per item), sending again those that failed while the lease
  // holds: their results in order, or nothing when it must stop (the lease
  // is lost, or a conflict: another owner wrote first).
  auto settle_all = [&](const auto& items, auto send, const char* what) {
    using item = typename std::decay_t<decltype(items)>::value_type;
    using result = std::decay_t<decltype(*send(items)[0])>;
    std::optional<std::vector<result>> done{std::vector<result>(items.size())};
    std::vector<size_t> left(items.size());
    std::iota(left.begin(), left.end(), size_t{0});
    while (!left.empty()) {
      if (!may_write()) return decltype(done){};
      std::vector<item> batch;
      for (auto i : left)
        batch.push_back(items[i]);
      auto results = send(batch);
      std::vector<size_t> again;
      std::string failure;
      for (size_t k = 0; k < left.size(); ++k) {
        auto& r = results[k];
        if (r) {
          (*done)[left[k]] = *r;
          continue;
        }
        if (r.err().code == errc::conflict) {
          say("write refused, another owner wrote first; stopping: " +
              r.err().message);
          return decltype(done){};
        }
        if (again.empty()) failure = r.err().message;
        again.push_back(left[k]);
      }
      left = std::move(again);
      if (left.empty()) break;
      say_retry(std::to_string(left.size()) + " " + what +
                " failed, the first: " + failure);
      std::this_thread::sleep_for(milliseconds{100});
    }
    return done;
  };
  // Compare-and-set writes: their new subject sequences.
  auto write_all = [&](const std::vector<cas_message>& writes) {
    return settle_all(
        writes,
        [&](const std::vector<cas_message>& b) {
          return cas_write_batch(*apply_js_, b);
        },
        "writes");
  };
  // Id claims: per claim, whether its event takes effect.
  auto claim_all = [&](const std::vector<claim_request>& claims) {
    return settle_all(
        claims,
        [&](const std::vector<claim_request>& b) {
          return claim_ids(*apply_js_, b);
        },
        "id claims");
  };

  // A product's state and ids as the cluster holds them, read while the
  // lease holds; nothing when it is lost.
  auto load_cached =
      [&](const std::string& code) -> std::optional<cached_product> {
    for (;;) {
      auto loaded = load_product(*apply_js_, slot, code);
      if (loaded) {
        cached_product c;
        if (*loaded)
          c.state = std::move(**loaded);
        else
          c.state.value.product = code;
        auto ids =
            product_ids::load(*apply_js_, slot, code, c.state.value.id_segments,
                              c.state.value.applied_seq);
        if (ids) {
          c.ids = std::move(*ids);
          return c;
        }
        loaded = ids.err();
      }
      if (!may_write()) return std::nullopt;
      say_retry("cannot read product \"" + code +
                "\": " + loaded.err().message);
      std::this_thread::sleep_for(milliseconds{100});
    }
  };

  // The events of one message of the slot.
  struct message {
    uint64_t seq = 0;
    std::vector<stock_event> events;
  };

  // Applies the messages of `unit` (in order) in four pipelined steps, each
  // one round trip for all its writes: the ids' claims, the products' id
  // segments, the product states (then the caller writes the checkpoint).
  // The order keeps what a later step's write depends on written first: a
  // product state never names an id segment that is not there, and never
  // holds an event whose id is not claimed for it. Ids written for a
  // message whose product write did not land are ignored by their sequence
  // (product_ids), and its claims are recognised as its own when the
  // message is applied again (id_claims). False when it must stop.
  auto apply_unit = [&](std::vector<message>& unit) -> bool {
    struct product_work {
      const std::string* code = nullptr;
      cached_product* cached = nullptr;
      product_state next;
      /// Whether any of its events took effect.
      bool applied = false;
    };
    std::vector<product_work> work;
    std::unordered_map<std::string, size_t> work_of;
    // A product's events in one message (index in `work`), in the order
    // of the messages.
    struct share {
      size_t work = 0;
      uint64_t seq = 0;
      std::vector<const stock_event*> events;
    };
    std::vector<share> shares;
    // The ids the products have not applied, claimed cluster-wide; an id
    // met twice is claimed for its first product and message only.
    std::vector<claim_request> claims;
    std::unordered_map<std::string, size_t> claim_index;
    for (auto& m : unit) {
      for (auto& of_product : events_by_product(m.events)) {
        auto& code = of_product.product;
        auto i = cache.find(code);
        if (i == cache.end()) {
          auto loaded = load_cached(code);
          if (!loaded) return false;
          i = cache.emplace(code, std::move(*loaded)).first;
        }
        auto& cached = i->second;
        // Already applied (by a former owner, before its checkpoint).
        if (cached.state.value.applied_seq >= m.seq) continue;
        auto [k, first] = work_of.try_emplace(code, work.size());
        if (first)
          work.push_back(product_work{&i->first, &cached, cached.state.value});
        shares.push_back(share{k->second, m.seq, std::move(of_product.events)});
        for (auto* e : shares.back().events) {
          if (cached.ids.contains(e->id)) continue;
          if (claim_index.emplace(e->id, claims.size()).second)
            claims.push_back(claim_request{e->id, code, m.seq});
        }
      }
    }
    auto decided = claim_all(claims);
    if (!decided) return false;

    // The ids change in place: a failed write ends this applier, and its
    // cache with it.
    for (auto& sh : shares) {
      auto& w = work[sh.work];
      for (auto* e : sh.events) {
        auto c = claim_index.find(e->id);
        // Applied to the product before, or claimed for another product,
        // or a duplicate of another product's or an earlier message's id:
        // no effect.
        if (c == claim_index.end() || claims[c->second].product != *w.code ||
            !(*decided)[c->second])
          continue;
        if (!w.cached->ids.add(e->id, sh.seq)) continue;
        apply_event(w.next.record, *e);
        w.applied = true;
      }
      w.next.applied_seq = sh.seq;
    }
    std::vector<cas_message> writes;
    // Per segment write, its product (index in `work`) and segment.
    std::vector<std::pair<size_t, uint32_t>> segment_of;
    for (size_t k = 0; k < work.size(); ++k) {
      auto& w = work[k];
      w.next.id_segments = w.cached->ids.segments();
      w.next.id_count = w.cached->ids.size();
      for (auto& sw : w.cached->ids.pending_writes(slot, *w.code)) {
        writes.push_back(std::move(sw.message));
        segment_of.emplace_back(k, sw.n);
      }
    }
    auto segments_written = write_all(writes);
    if (!segments_written) return false;
    for (size_t j = 0; j < writes.size(); ++j)
      work[segment_of[j].first].cached->ids.written(segment_of[j].second,
                                                    (*segments_written)[j]);

    // A product the cluster never stored whose events were all duplicates
    // stays unknown, as on one node (its claims decide the same way when
    // the message is applied again).
    work.erase(std::remove_if(work.begin(), work.end(),
                              [](const product_work& w) {
                                return !w.applied &&
                                       w.cached->state.subject_seq == 0;
                              }),
               work.end());
    writes.clear();
    for (auto& w : work)
      writes.push_back(cas_message{product_subject(slot, *w.code),
                                   encode(w.next),
                                   w.cached->state.subject_seq});
    auto products_written = write_all(writes);
    if (!products_written) return false;
    for (size_t k = 0; k < work.size(); ++k)
      work[k].cached->state = versioned<product_state>{std::move(work[k].next),
                                                       (*products_written)[k]};
    return true;
  };

  // Messages are applied in units: the next one, waited for, and those
  // stored behind it, up to these limits. Under load a unit writes each
  // product and the checkpoint once for many messages; when the slot is
  // quiet a unit is one message.
  constexpr size_t unit_messages = 64;
  constexpr size_t unit_events = 2048;
  // While nothing new comes, the next read waits a little longer, up to
  // this (the latency a read-your-writes read may gain on a quiet slot).
  constexpr milliseconds idle_poll_max{20};
  // Whether this node is answering ingests (one that ended in the last
  // 20 ms counts: a client sends its next batch right after an answer).
  auto ingesting = [&] {
    return ingests_running_ > 0 ||
           steady::now() - steady::time_point{steady::duration{
                               last_ingest_end_.load()}} <
               milliseconds{20};
  };
  auto idle_poll = milliseconds{1};
  // Whether the last read found nothing new: the slot had caught up.
  bool caught_up = false;
  while (!w.stop) {
    std::vector<message> unit;
    size_t events_in_unit = 0;
    uint64_t last = applied;
    bool read_failed = false;
    // Reads the slot's next message into the unit; false when there is
    // none yet (or reading failed).
    auto take = [&] {
      auto got = apply_js_->next_msg(events_stream, subject, last + 1);
      if (!got) {
        say_retry("reading " + subject + ": " + got.err().message);
        read_failed = true;
        return false;
      }
      if (!*got) return false;
      auto& m = **got;
      last = m.sequence;
      auto events = decode_events(m.data);
      if (!events) {
        // Cannot happen for messages this engine wrote; skipping it keeps
        // the slot moving and says so.
        say("message " + std::to_string(m.sequence) +
            " skipped: " + events.err().message);
        return true;
      }
      events_in_unit += events->size();
      unit.push_back(message{m.sequence, std::move(*events)});
      return true;
    };
    if (!take()) {
      if (read_failed) {
        std::this_thread::sleep_for(milliseconds{200});
      } else {
        caught_up = true;
        std::this_thread::sleep_for(idle_poll);
        idle_poll = std::min(idle_poll * 2, idle_poll_max);
      }
      continue;
    }
    idle_poll = milliseconds{1};
    // Ingest first: when the slot had caught up and this node answers
    // ingests, the unit waits (reading nothing), so that a burst is stored
    // before it is applied, in fewer and larger units. A slot behind does
    // not wait: it would never catch up under steady load.
    if (caught_up) {
      auto yield_until = steady::now() + options_.apply_yield;
      while (!w.stop && ingesting() && steady::now() < yield_until)
        std::this_thread::sleep_for(milliseconds{5});
    }
    caught_up = false;
    while (unit.size() < unit_messages && events_in_unit < unit_events &&
           take()) {
    }
    if (last <= applied) continue;
    if (!may_write()) return;
    if (!apply_unit(unit)) return;
    uint64_t written = 0;
    bool ok = write([&] {
      auto r = store_checkpoint(*apply_js_, slot, last, cp_seq);
      if (r) written = *r;
      return r;
    });
    if (!ok) return;
    cp_seq = written;
    applied = last;
    applied_[slot] = applied;
  }
}

} // namespace shelfsync::cluster
