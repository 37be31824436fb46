#include "actors/engine.hpp"

#include <malloc.h>

#include <algorithm>
#include <thread>

#include <caf/all.hpp>

#include "actors/amazon_shop.hpp"
#include "actors/directory.hpp"
#include "actors/event_log.hpp"
#include "actors/log.hpp"
#include "actors/retention.hpp"
#include "actors/shop.hpp"
#include "actors/shopify_shop.hpp"
#include "core/error.hpp"

namespace shelfsync {

namespace {

/// How many log entries one replay step reads.
constexpr size_t replay_chunk = 10000;

/// Runs `f` inside a one-shot actor, so that a response can be awaited
/// without blocking the caller's thread (the HTTP server's, usually).
/// `f` goes in as a spawn argument, not a capture: CAF 0.17 dereferences a
/// null argument tuple for an actor spawned without arguments (undefined
/// behaviour that UBSan reports, see scripts/sanitize).
template<class F>
void in_actor(caf::actor_system& sys, F f) {
  sys.spawn(
      [](caf::event_based_actor* self, F fun) {
        fun(self);
      },
      std::move(f));
}

} // namespace

engine_system_config::engine_system_config() {
  add_message_types<caf::id_block::shelfsync>();
  // One scheduler worker per core: the log and the directory have threads
  // of their own, and CAF's default of at least four workers only adds
  // polling and stealing on a small machine.
  auto cores = std::max(2u, std::thread::hardware_concurrency());
  set("scheduler.max-threads", static_cast<size_t>(cores));
  // An idle worker polls its queue for CAF's default 500 naps of 50 us
  // before it sleeps until work is enqueued (and wakes at once then).
  // Ingest leaves workers idle for a few ms between batches: waking every
  // 50 us meanwhile cost more CPU than the batch's own work on two cores.
  set("work-stealing.moderate-poll-attempts", size_t{10});
}

engine::engine(config_ptr conf, engine_options opts, std::shared_ptr<store> db)
    : sys_(sys_cfg_), conf_(std::move(conf)), opts_(opts), db_(std::move(db)) {}

engine::~engine() {
  if (!closed_) {
    // close() reports; a destructor cannot.
    auto err = close();
    static_cast<void>(err);
  }
}

caf::error engine::close() {
  if (closed_) return caf::none;
  closed_ = true;
  caf::anon_send(directory_, atom::stop_v);
  for (auto& [id, handle] : shops_)
    caf::anon_send(handle, atom::stop_v);
  caf::anon_send_exit(log_, caf::exit_reason::user_shutdown);
  if (retention_)
    caf::anon_send_exit(retention_, caf::exit_reason::user_shutdown);
  sys_.await_all_actors_done();
  return db_->close();
}

caf::error engine::readiness() const { return db_->write_health(); }

void keep_freed_memory() {
  // Freed memory at the top of the heap stays (up to 256 MB) and the heap
  // grows 64 MB at a time; blocks below 32 MB (a commit's write buffer, a
  // batch's events) come from the heap, not from mmap and munmap each time.
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  mallopt(M_TOP_PAD, 64 << 20);
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
}

caf::expected<std::unique_ptr<engine>> engine::start(config_ptr conf,
                                                     engine_options opts) {
  auto db = store::open(conf->node.data_dir, conf->node.durability);
  if (!db) return db.error();
  if (auto why = (*db)->write_health())
    log_line(log_level::error, "engine",
             "batches are refused until the store takes writes: " +
                 to_string(why));
  std::unique_ptr<engine> result{
      new engine(conf, opts, std::shared_ptr<store>{std::move(*db)})};
  auto& e = *result;
  directory_config dcfg{
      e.db_, conf, {}, std::chrono::seconds{conf->node.product_idle_seconds}};
  dcfg.checkpoint_interval =
      std::chrono::seconds{conf->node.checkpoint_seconds};
  // The directory and the log block on disk writes: give them threads.
  e.directory_ =
      e.sys_.spawn<caf::detached>(shelfsync::directory, std::move(dcfg));
  e.log_ = e.sys_.spawn<caf::detached>(event_log, e.db_, e.directory_);
  // The log tail is replayed before any shop exists: a tail longer than a
  // replay chunk yields views older than what the shops may have delivered
  // before the crash, and a shop must not push those. The replay commits
  // every view of every product it touches, changed or not, to the outbox
  // segments (see atom::replay), so the shops, spawned afterwards, load the
  // latest view of each product at its latest sequence number. The directory
  // learns the shops before any new event reaches it.
  if (auto err = e.replay()) return err;
  for (auto& shop : conf->shops)
    e.shops_.emplace(shop.id, e.spawn_shop(shop));
  caf::anon_send(e.directory_, atom::attach_v, e.shops_);
  // Old log entries go once the durable checkpoint has passed them, which
  // moves every node.checkpoint_seconds: looking as often is enough.
  if (conf->node.log_retention.enabled())
    e.retention_ =
        spawn_retention(e.sys_, e.db_, conf->node.log_retention,
                        std::chrono::seconds{conf->node.checkpoint_seconds});
  // A resync that was running continues now, not before the replay: its
  // pages must not be older than the views the replay hands the shops.
  for (auto& [id, handle] : e.shops_)
    caf::anon_send(handle, atom::tend_v, uint64_t{0});
  return result;
}

shop_actor engine::spawn_shop(const shop_config& shop) {
  shop_setup setup{shop.id, conf_, db_, directory_, opts_.resync, {}};
  if (!opts_.deliver) return sys_.spawn(shelfsync::shop, std::move(setup));
  switch (shop.channel) {
  case channel_kind::shopify:
    return spawn_shopify_shop(sys_, std::move(setup));
  case channel_kind::amazon:
    return spawn_amazon_shop(sys_, std::move(setup));
  }
  return sys_.spawn(shelfsync::shop, std::move(setup));
}

caf::error engine::replay() {
  auto from = db_->checkpoint();
  if (!from) return from.error();
  auto next = *from + 1;
  size_t replayed = 0;
  auto total = db_->last_seq() > *from ? db_->last_seq() - *from : 0;
  auto progress = [&] {
    if (opts_.replay_progress) opts_.replay_progress(replayed, total);
  };
  progress();
  while (next <= db_->last_seq()) {
    auto chunk = db_->read_log(next, UINT64_MAX, replay_chunk);
    if (!chunk) return chunk.error();
    if (chunk->empty()) break;
    next = chunk->back().seq + 1;
    replayed += chunk->size();
    caf::anon_send(directory_, atom::replay_v, std::move(*chunk));
    // A store that cannot be written (a start on a full disk) keeps the
    // replayed state in memory and commits it once it can.
    if (auto done = sync(); !done && done.error() != ec::storage_failure)
      return done.error();
    progress();
  }
  if (replayed > 0)
    log_line(log_level::info, "engine",
             "replayed " + std::to_string(replayed) +
                 " events after the checkpoint");
  return caf::none;
}

void engine::ingest(std::vector<stock_event> batch,
                    std::function<void(caf::expected<ingest_result>)> done) {
  in_actor(sys_, [log = log_, batch = std::move(batch), done = std::move(done)](
                     caf::event_based_actor* self) mutable {
    self->request(log, caf::infinite, atom::ingest_v, std::move(batch))
        .then(
            [done](ingest_result& r) {
              done(std::move(r));
            },
            [done](caf::error& err) {
              done(std::move(err));
            });
  });
}

void engine::product(std::string code,
                     std::function<void(caf::expected<product_record>)> done) {
  in_actor(sys_, [dir = directory_, code = std::move(code),
                  done = std::move(done)](caf::event_based_actor* self) {
    self->request(dir, std::chrono::seconds{30}, atom::get_v, code)
        .then(
            [done](product_record& r) {
              done(std::move(r));
            },
            [done](caf::error& err) {
              done(std::move(err));
            });
  });
}

void engine::shops(std::function<void(std::vector<shop_status>)> done) {
  std::vector<shop_actor> handles;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& shop : conf_->shops)
      handles.push_back(shops_.at(shop.id));
  }
  in_actor(sys_, [handles,
                  done = std::move(done)](caf::event_based_actor* self) {
    auto results = std::make_shared<std::vector<shop_status>>(handles.size());
    auto remaining = std::make_shared<size_t>(handles.size());
    if (handles.empty()) {
      done({});
      return;
    }
    for (size_t i = 0; i < handles.size(); ++i)
      self->request(handles[i], std::chrono::seconds{30}, atom::status_v)
          .then(
              [=](shop_status& s) {
                (*results)[i] = std::move(s);
                if (--*remaining == 0) done(std::move(*results));
              },
              [=](caf::error&) {
                if (--*remaining == 0) done(std::move(*results));
              });
  });
}

void engine::resync(const std::string& id,
                    std::function<void(caf::expected<std::string>)> done) {
  shop_actor handle;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (auto i = shops_.find(id); i != shops_.end()) handle = i->second;
  }
  if (!handle) {
    done(
        caf::make_error(ec::not_found, "no shop \"" + id + "\" in the config"));
    return;
  }
  in_actor(sys_,
           [handle, done = std::move(done)](caf::event_based_actor* self) {
             self->request(handle, std::chrono::seconds{30}, atom::resync_v)
                 .then(
                     [done](std::string& progress) {
                       done(std::move(progress));
                     },
                     [done](caf::error& err) {
                       done(std::move(err));
                     });
           });
}

void engine::reload(config_ptr conf) {
  std::lock_guard<std::mutex> guard{mtx_};
  shop_map next;
  for (auto& shop : conf->shops) {
    auto i = shops_.find(shop.id);
    if (i != shops_.end()) {
      caf::anon_send(i->second, atom::reload_v, conf);
      next.emplace(shop.id, i->second);
    } else {
      conf_ = conf; // spawn_shop reads it
      auto handle = spawn_shop(shop);
      caf::anon_send(handle, atom::tend_v, uint64_t{0}); // see start()
      // A Shopify shop sends nothing before it hears of views (see attach).
      caf::anon_send(handle, atom::pending_v, std::vector<view_change>{});
      next.emplace(shop.id, handle);
    }
  }
  for (auto& [id, handle] : shops_)
    if (next.count(id) == 0) caf::anon_send(handle, atom::stop_v);
  shops_ = next;
  conf_ = conf;
  caf::anon_send(directory_, atom::reload_v, conf, std::move(next));
}

caf::expected<uint64_t> engine::sync() {
  caf::scoped_actor self{sys_};
  caf::expected<uint64_t> result{uint64_t{0}};
  self->request(directory_, caf::infinite, atom::sync_v)
      .receive(
          [&](uint64_t cp) {
            result = cp;
          },
          [&](caf::error& err) {
            result = std::move(err);
          });
  return result;
}

caf::expected<uint64_t> engine::live_products() {
  caf::scoped_actor self{sys_};
  caf::expected<uint64_t> result{uint64_t{0}};
  self->request(directory_, std::chrono::seconds{30}, atom::count_v)
      .receive(
          [&](uint64_t n) {
            result = n;
          },
          [&](caf::error& err) {
            result = std::move(err);
          });
  return result;
}

config_ptr engine::current_config() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return conf_;
}

} // namespace shelfsync
