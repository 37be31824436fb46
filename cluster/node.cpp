#include "cluster/node.hpp"

#include <algorithm>
#include <unordered_map>
#include <utility>

#include <nats/nats.h>

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
  auto acks = js_->publish_batch(split.messages, options_.publish_timeout);
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
  auto cp = load_checkpoint(*js_, slot);
  if (!cp) {
    say("cannot read its checkpoint: " + cp.err().message);
    std::this_thread::sleep_for(milliseconds{200});
    return;
  }
  uint64_t applied = cp->value;
  uint64_t cp_seq = cp->subject_seq;
  applied_[slot] = applied;

  // An ordered consumer from the checkpoint on (never a durable consumer:
  // its hand-over redelivers out of order).
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Ordered = true;
  so.Stream = events_stream.c_str();
  if (applied > 0) {
    so.Config.DeliverPolicy = js_DeliverByStartSequence;
    so.Config.OptStartSeq = applied + 1;
  } else {
    so.Config.DeliverPolicy = js_DeliverAll;
  }
  js_subscription sub{*js_};
  jsErrCode jerr{};
  auto subject = events_subject(slot);
  natsStatus s = js_SubscribeSync(&sub.p, js_->context(), subject.c_str(),
                                  nullptr, &so, &jerr);
  if (s != NATS_OK) {
    say(detail::from_nats("cannot read " + subject, s, jerr).message);
    std::this_thread::sleep_for(milliseconds{200});
    return;
  }

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

  // A product's state and ids as the cluster holds them, read while the
  // lease holds; nothing when it is lost.
  auto load_cached =
      [&](const std::string& code) -> std::optional<cached_product> {
    for (;;) {
      auto loaded = load_product(*js_, slot, code);
      if (loaded) {
        cached_product c;
        if (*loaded)
          c.state = std::move(**loaded);
        else
          c.state.value.product = code;
        auto ids =
            product_ids::load(*js_, slot, code, c.state.value.id_segments,
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

  while (!w.stop) {
    natsMsg* raw = nullptr;
    s = natsSubscription_NextMsg(&raw, sub.p, 200);
    if (s == NATS_TIMEOUT) continue;
    if (s != NATS_OK) {
      say_retry(detail::from_nats("reading " + subject, s).message);
      std::this_thread::sleep_for(milliseconds{200});
      continue;
    }
    std::unique_ptr<natsMsg, void (*)(natsMsg*)> msg{raw, natsMsg_Destroy};
    jsMsgMetaData* meta = nullptr;
    if (natsMsg_GetMetaData(&meta, msg.get()) != NATS_OK) continue;
    uint64_t seq = meta->Sequence.Stream;
    jsMsgMetaData_Destroy(meta);
    if (seq <= applied) continue;
    if (!may_write()) return;

    std::string data(natsMsg_GetData(msg.get()),
                     static_cast<size_t>(natsMsg_GetDataLength(msg.get())));
    auto events = decode_events(data);
    if (!events) {
      // Cannot happen for messages this engine wrote; skipping it keeps the
      // slot moving and says so.
      say("message " + std::to_string(seq) +
          " skipped: " + events.err().message);
    } else {
      // The message's events per product, in order.
      std::vector<std::string> order;
      std::map<std::string, std::vector<const stock_event*>> by_product;
      for (auto& e : *events) {
        auto& list = by_product[e.product];
        if (list.empty()) order.push_back(e.product);
        list.push_back(&e);
      }
      for (auto& code : order) {
        auto i = cache.find(code);
        if (i == cache.end()) {
          auto loaded = load_cached(code);
          if (!loaded) return;
          i = cache.emplace(code, std::move(*loaded)).first;
        }
        auto& cached = i->second;
        auto next = cached.state.value;
        // Already applied (by a former owner, before its checkpoint).
        if (next.applied_seq >= seq) continue;
        // The ids change in place: a failed write ends this applier, and
        // its cache with it.
        for (auto* e : by_product[code]) {
          if (!cached.ids.add(e->id, seq)) continue;
          apply_event(next.record, *e);
        }
        next.applied_seq = seq;
        next.id_segments = cached.ids.segments();
        next.id_count = cached.ids.size();
        // The ids first: a product state never names an id segment that is
        // not there, and ids written for a message whose product write did
        // not land are ignored by their sequence (product_ids).
        bool ok = write([&] {
          return cached.ids.store(*js_, slot, code);
        });
        uint64_t written = 0;
        ok = ok && write([&] {
               auto r =
                   store_product(*js_, slot, next, cached.state.subject_seq);
               if (r) written = *r;
               return r;
             });
        if (!ok) return;
        cached.state = versioned<product_state>{std::move(next), written};
      }
    }
    uint64_t written = 0;
    bool ok = write([&] {
      auto r = store_checkpoint(*js_, slot, seq, cp_seq);
      if (r) written = *r;
      return r;
    });
    if (!ok) return;
    cp_seq = written;
    applied = seq;
    applied_[slot] = applied;
  }
}

} // namespace shelfsync::cluster
