#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/expected.hpp>

#include "actors/interfaces.hpp"
#include "actors/resync.hpp"
#include "storage/store.hpp"

namespace shelfsync {

/// The actor system configuration of shelfsync: registers the type-ID block.
class engine_system_config : public caf::actor_system_config {
 public:
  engine_system_config();
};

/// Makes malloc keep what the engine frees for reuse rather than hand it
/// back to the kernel and fault it in again at the next batch (about a tenth
/// of ingest's CPU went to that); the directory gives memory back with
/// malloc_trim when the engine goes quiet. Process-wide: called once, first
/// thing, by a program that runs an engine (the shelfsync binary, benches).
void keep_freed_memory();

/// How an engine runs, beyond its config.
struct engine_options {
  /// False keeps every shop's outbox without delivering it: for measuring
  /// the ingest path alone.
  bool deliver = true;
  /// How a resync walks the catalog (page size, outbox watermark).
  resync_options resync;
  /// Told, during `start`, how many of the events after the checkpoint are
  /// replayed so far and how many there are (once before the first chunk,
  /// then after each).
  std::function<void(uint64_t replayed, uint64_t total)> replay_progress;
};

/// The engine: the store and the actors around it, assembled from a config.
/// Thread-safe; callbacks run on actor threads and must not block.
class engine {
 public:
  /// Opens the store, spawns the actors, and replays the log tail after the
  /// checkpoint before returning, so that state is complete.
  static caf::expected<std::unique_ptr<engine>> start(config_ptr conf,
                                                      engine_options opts = {});

  /// Stops the actors and flushes the store (see `close`).
  ~engine();

  /// Stops the actors, writes derived state out and closes the store; an
  /// error says what could not be made durable (the next start replays the
  /// log from the last durable checkpoint).
  caf::error close();

  /// None while the engine can accept events; else why not (storage that
  /// cannot be written: disk full, read-only file system, ...).
  caf::error readiness() const;

  /// Appends a batch durably; `done` gets the result.
  void ingest(std::vector<stock_event> batch,
              std::function<void(caf::expected<ingest_result>)> done);

  /// Reads a product's stock and views (error not_found if never seen).
  void product(std::string code,
               std::function<void(caf::expected<product_record>)> done);

  /// Reads the status of every shop, in config order.
  void shops(std::function<void(std::vector<shop_status>)> done);

  /// Starts a resync of shop `id` (see actors/resync.hpp); `done` gets its
  /// progress as JSON text, or the error not_found (no such shop) or
  /// conflict (a resync of the shop is running).
  void resync(const std::string& id,
              std::function<void(caf::expected<std::string>)> done);

  /// Switches to a new, already validated config: spawns shops that are
  /// new, stops shops that left, and recomputes every view.
  void reload(config_ptr conf);

  /// Blocks until everything accepted so far is applied and committed.
  caf::expected<uint64_t> sync();

  /// Returns how many product actors are alive, or why the directory did
  /// not answer.
  caf::expected<uint64_t> live_products();

  /// Returns the config in force.
  config_ptr current_config() const;

  /// Returns the store (thread-safe reads).
  store& db() { return *db_; }

  /// The directory actor, for tests.
  directory_actor directory() const { return directory_; }

 private:
  engine(config_ptr conf, engine_options opts, std::shared_ptr<store> db);
  caf::error replay();
  shop_actor spawn_shop(const shop_config& shop);

  engine_system_config sys_cfg_;
  caf::actor_system sys_;
  mutable std::mutex mtx_;
  config_ptr conf_;
  engine_options opts_;
  std::shared_ptr<store> db_;
  directory_actor directory_;
  event_log_actor log_;
  /// Drops old log entries (node.log_retention); null when keeping all.
  retention_actor retention_;
  shop_map shops_;
  bool closed_ = false;
};

} // namespace shelfsync
