#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "config/config.hpp"
#include "storage/records.hpp"

namespace rocksdb {
class DB;
class FileLock;
class Status;
class WriteBatch;
struct WriteOptions;
} // namespace rocksdb

namespace shelfsync {

/// What `store::append` did with a batch.
struct append_result {
  /// The events new to shelfsync, with their sequence numbers, in order.
  std::vector<stock_event> accepted;
  /// How many events carried an id seen before (earlier, or in this batch).
  size_t duplicates = 0;
  /// The highest sequence number in the log after the append.
  uint64_t last_seq = 0;
};

/// Where RocksDB's memory goes, in bytes.
struct storage_memory {
  uint64_t memtables = 0;
  /// Index and filter blocks held outside the block cache.
  uint64_t table_readers = 0;
  uint64_t block_cache = 0;
  /// Part of the block cache that cannot be evicted.
  uint64_t block_cache_pinned = 0;
};

/// Derived-state writes collected for one atomic commit.
class state_batch {
 public:
  state_batch();
  ~state_batch();
  state_batch(state_batch&&) noexcept;
  state_batch& operator=(state_batch&&) noexcept;

  /// Stores the record of product `code`.
  void put_product(std::string_view code, const product_record& x);

  /// Stores an already encoded product record.
  void put_product_bytes(std::string_view code, std::string_view bytes);

  /// Adds segment `id` to the outbox of `shop`: the views that changed in
  /// one commit. Segments are immutable; the shop erases one once every
  /// change in it is delivered or superseded.
  void put_outbox_segment(std::string_view shop, uint64_t id,
                          const std::vector<view_change>& changes);
  void put_outbox_segment(std::string_view shop, uint64_t id,
                          const segment_builder& changes);

  /// Records the next free outbox segment id.
  void set_next_segment(uint64_t id);

  /// Drops every write, keeping the memory for the next batch.
  void clear();

  /// Returns how many writes the batch holds.
  size_t size() const { return writes_; }

 private:
  friend class store;
  void put_segment_count(std::string_view shop, uint64_t id, uint64_t n);
  std::unique_ptr<rocksdb::WriteBatch> batch_;
  size_t writes_ = 0;
};

/// The one place that knows RocksDB. Holds the event log (the source of
/// truth), the idempotency index, and the state derived from the log.
///
/// Durability model: the log is written through RocksDB's WAL (and fsync'ed
/// with `durability::fsync`) before an event is acknowledged. Derived state
/// (product records, outbox segments, checkpoint) is written without WAL in
/// atomic batches that carry the checkpoint: after a crash, the surviving
/// derived state is a consistent prefix and the log tail after its
/// checkpoint is replayed. The log's indexes (`I` ids for deduplication,
/// `X` per product) are derived state too: the commit that moves the
/// checkpoint past an event writes its index keys, and until then the store
/// holds its id and product in memory, where deduplication and
/// `read_product_log` look first; opening the store reads them back from
/// the log after the checkpoint. Delivery records (what a channel
/// confirmed) cannot be derived and go through the WAL.
///
/// Storage failures (a full disk, a file system gone read-only, an I/O
/// error) never stop the process: the failed write returns an error that
/// says why, reads go on, and the next write after a short pause tries to
/// recover first (`DB::Resume`, or reopening for writing a store that had to
/// start read-only), so writes resume by themselves once the cause is gone.
class store {
 public:
  /// Opens or creates the store in `dir`. When the disk is full, or the file
  /// system read-only, it opens read-only instead (`write_health` says why)
  /// and reopens for writing by itself once it can.
  static caf::expected<std::unique_ptr<store>> open(const std::string& dir,
                                                    durability mode);

  /// Opens the existing store in `dir` for reading only, for offline
  /// commands (replay, log, explain). Holds the store's lock meanwhile, so
  /// that it fails while a server runs on `dir` and no server starts on it
  /// until the store is closed. Writes fail.
  static caf::expected<std::unique_ptr<store>>
  open_read_only(const std::string& dir);

  /// Fails with the same error as `open` when another process holds the
  /// store in `dir`, without opening it (serve asks before it listens).
  static caf::error check_not_in_use(const std::string& dir);

  // -- backups ---------------------------------------------------------------

  /// Writes a consistent copy of the open store into the new directory
  /// `target` (a RocksDB checkpoint: memtables flushed, table files
  /// hard-linked when on the same file system, else copied), while writes
  /// go on. Returns the last sequence number of the log at that moment; a
  /// server started on the copy replays the log after its checkpoint.
  caf::expected<uint64_t> backup_to(const std::string& target);

  /// The same for the stopped store in `dir`: fails with ec::conflict when
  /// a process holds the store (ask that server for the copy instead), and
  /// ec::not_found when there is no store in `dir`.
  static caf::expected<uint64_t> backup(const std::string& dir,
                                        const std::string& target);

  /// Flushes derived state to disk so that the next start replays little
  /// (unless `close` did; a failure here is reported by `close` only).
  ~store();

  /// Writes the memtables out and closes the store. An error says that
  /// derived state committed since the last flush is not on disk: the next
  /// start replays the log from the last durable checkpoint on.
  caf::error close();

  // -- health ----------------------------------------------------------------

  /// None while writes can be expected to succeed; else a storage_failure
  /// that says why not (disk full, read-only file system, ...). Thread-safe.
  caf::error write_health() const;

  /// Makes every write fail with `reason` without touching the disk, until
  /// called with an empty reason: for tests of what the engine does when
  /// storage fails.
  void inject_write_failure(std::string reason);

  store(const store&) = delete;
  store& operator=(const store&) = delete;

  // -- event log -------------------------------------------------------------

  /// Drops events whose id was seen before (in the id index, or among the
  /// events not yet indexed), assigns sequence numbers to the rest and writes
  /// them durably in one atomic write. Not thread-safe: exactly one writer
  /// appends.
  caf::expected<append_result> append(std::vector<stock_event> batch);

  /// Returns the highest sequence number in the log (0 when empty).
  uint64_t last_seq() const { return last_seq_; }

  /// Reads up to `max` events with sequence numbers in [from, to].
  caf::expected<std::vector<stock_event>> read_log(uint64_t from, uint64_t to,
                                                   size_t max) const;

  /// Reads the log entries with the given sequence numbers, in that order;
  /// entries dropped by retention are left out, any other missing one is an
  /// error.
  caf::expected<std::vector<stock_event>>
  read_events(const std::vector<uint64_t>& seqs) const;

  /// Reads every retained event of product `code`, in log order: through
  /// the per-product index (`X` keys, written by the commits) and the
  /// events not yet indexed, plus a scan of the part of the log written
  /// before the store had the index (a store created by an older
  /// shelfsync); `progress(seq, last)` follows that scan.
  caf::expected<std::vector<stock_event>> read_product_log(
      std::string_view code,
      const std::function<void(uint64_t, uint64_t)>& progress = {}) const;

  // -- retention -------------------------------------------------------------

  /// Returns the sequence number up to which retention dropped the log (0 =
  /// nothing dropped): the log holds the events after it, and the snapshot
  /// records hold every product's stock as of it.
  caf::expected<uint64_t> snapshot_seq() const;

  /// Returns the checkpoint as it stands in the table files, ignoring what
  /// only the memtables hold: the one a restart after `kill -9` (or power
  /// loss) would find, so the log up to it is never needed again by one.
  caf::expected<uint64_t> durable_checkpoint() const;

  /// Writes the memtables out and waits until they are on disk.
  caf::error flush_and_wait();

  /// Loads the snapshot record of `code`; false if it has none.
  caf::expected<bool> load_snapshot(std::string_view code,
                                    product_record& out) const;

  /// Visits snapshot records in key order starting after `after` (empty =
  /// from the start), at most `max`; returns the last code visited.
  caf::expected<std::string>
  scan_snapshot(std::string_view after, size_t max,
                const std::function<void(std::string_view, product_record&&)>&
                    visit) const;

  /// Estimates the bytes the log entries with seq in [from, to] take (table
  /// files, compressed, plus memtables).
  caf::expected<uint64_t> log_bytes(uint64_t from, uint64_t to) const;

  /// Drops the log up to `upto` in one atomic, fsync'ed write: stores
  /// `records` as snapshot records (the stock of the products `dropped`
  /// touched, as of `upto`), moves the snapshot seq to `upto`, and deletes
  /// the entries in (snapshot seq, upto] (one range delete) with their id
  /// keys and index entries. `dropped` holds exactly those entries. A kill
  /// at any point leaves either all of it or nothing.
  caf::error
  drop_log(const std::vector<std::pair<std::string, product_record>>& records,
           uint64_t upto, const std::vector<stock_event>& dropped);

  // -- derived state ---------------------------------------------------------

  /// Returns the sequence number up to which derived state is complete.
  caf::expected<uint64_t> checkpoint() const;

  /// Loads the record of `code` into `out`; returns false if never seen.
  caf::expected<bool> load_product(std::string_view code,
                                   product_record& out) const;

  /// Visits product records in key order starting after `after` (empty =
  /// from the start), at most `max`; returns the last code visited.
  caf::expected<std::string>
  scan_products(std::string_view after, size_t max,
                const std::function<void(std::string_view, product_record&&)>&
                    visit) const;

  /// Visits the product records whose code starts with `prefix`, in code
  /// order after `after` (empty = from the first), at most `max`: one seek
  /// and a range read. Returns whether more follow.
  caf::expected<bool> scan_products_with_prefix(
      std::string_view prefix, std::string_view after, size_t max,
      const std::function<void(std::string_view, product_record&&)>& visit)
      const;

  /// Like `scan_products`, but hands out each record as stored, undecoded,
  /// so that a caller can report a record that does not decode.
  caf::expected<std::string> scan_product_bytes(
      std::string_view after, size_t max,
      const std::function<void(std::string_view, std::string_view)>& visit)
      const;

  /// Writes `batch` atomically; a non-zero `checkpoint` is stored with it,
  /// with the index keys (`I`, `X`) of the events up to it not yet indexed.
  /// Not thread-safe: exactly one writer commits.
  caf::error commit(state_batch& batch, uint64_t checkpoint);

  /// Starts writing the memtables out to files and returns at once. Derived
  /// state committed so far then survives a kill -9 (it skips the WAL), and
  /// the memtables' memory goes back once written.
  void flush_memtables();

  /// Returns where RocksDB's memory goes now.
  storage_memory memory() const;

  /// Returns the next free outbox segment id.
  caf::expected<uint64_t> next_segment() const;

  /// Removes outbox segment `id` of `shop` (durably: once gone, the views in
  /// it must never come back).
  caf::error erase_outbox_segment(std::string_view shop, uint64_t id);

  /// Visits every outbox entry of `shop`, oldest segment first; each carries
  /// its segment id.
  caf::error
  for_each_outbox(std::string_view shop,
                  const std::function<void(view_change&&)>& visit) const;

  /// Visits the outbox entries of `shop` from segment `from` on, in order,
  /// each with its position in its segment, until `visit` returns false.
  caf::error for_each_outbox(
      std::string_view shop, uint64_t from,
      const std::function<bool(view_change&&, size_t index)>& visit) const;

  /// Visits the outbox segments of `shop` from segment `from` on, in order,
  /// with how many changes each holds, until `visit` returns false; reads
  /// small count records, not the segments.
  caf::error for_each_segment_count(
      std::string_view shop, uint64_t from,
      const std::function<bool(uint64_t id, uint64_t count)>& visit) const;

  // -- channel outcomes
  // --------------------------------------------------------

  /// Loads the delivery record of `shop` and `product`; false if none.
  caf::expected<bool> load_delivery(std::string_view shop,
                                    std::string_view product,
                                    delivery_record& out) const;

  /// Visits the delivery records of `shop` in product order starting after
  /// `after` (empty = from the start), at most `max`; returns the last
  /// product visited (`after` when none).
  caf::expected<std::string> scan_deliveries(
      std::string_view shop, std::string_view after, size_t max,
      const std::function<void(std::string_view, delivery_record&&)>& visit)
      const;

  /// Stores the delivery record of `shop` and `product` durably, with its
  /// entries in the index of failed and in-flight records, in one write.
  caf::error put_delivery(std::string_view shop, std::string_view product,
                          const delivery_record& x);

  /// Visits, in product order after `after` (empty = from the start), the
  /// delivery records of `shop` with a location in `state` (failed or
  /// in_flight; any other state lists nothing), at most `max`: a seek in
  /// the index written with the records, no scan. Returns whether more
  /// follow.
  caf::expected<bool> scan_flagged_deliveries(
      std::string_view shop, delivery_state state, std::string_view after,
      size_t max,
      const std::function<void(std::string_view, delivery_record&&)>& visit)
      const;

  // -- channel memory
  // ----------------------------------------------------------

  /// Durably stores `value` under `key` in the private memory of `shop`'s
  /// channel (SKU mappings, feeds in flight); WAL'd like delivery records.
  caf::error put_memo(std::string_view shop, std::string_view key,
                      std::string_view value);

  /// Loads a memo; false if none.
  caf::expected<bool> load_memo(std::string_view shop, std::string_view key,
                                std::string& out) const;

  /// Removes a memo.
  caf::error erase_memo(std::string_view shop, std::string_view key);

  /// Visits every memo of `shop` whose key starts with `prefix`.
  caf::error
  for_each_memo(std::string_view shop, std::string_view prefix,
                const std::function<void(std::string_view, std::string_view)>&
                    visit) const;

 private:
  class events;

  store(std::unique_ptr<rocksdb::DB> db, durability mode);

  rocksdb::WriteOptions durable_writes() const;

  /// Reads the stored sequence number under `key` (0 when absent); the
  /// caller holds db_mtx_ (or is opening the store).
  caf::expected<uint64_t> read_seq(std::string_view key) const;

  /// Writes the `F` entries of every delivery record, once, in a store
  /// written before that index existed.
  caf::error build_flagged_index();

  /// Sets last_seq_ from the log and the snapshot seq.
  caf::error load_last_seq();

  /// Reads the events after the checkpoint from the log into unindexed_:
  /// their index keys, if a commit wrote them, may not have survived.
  caf::error load_unindexed();

  /// Adds to `batch` the index keys of the unindexed events up to
  /// `checkpoint`, each kind as one sorted run; returns how many events.
  size_t put_index_keys(rocksdb::WriteBatch& batch, uint64_t checkpoint);

  /// Called before every write: fails at once while a failure is known and
  /// no recovery is due; tries one (at most every `recovery_pause`) when it
  /// is.
  caf::error before_write();

  /// Records a failed write and returns its error.
  caf::error write_failed(const rocksdb::Status& st, std::string_view what);

  /// Records that writes fail for `reason` (empty: they work again).
  void set_failure(std::string reason);

  /// Tries to open a store that started read-only for writing.
  rocksdb::Status reopen_writable();

  /// Gives every outbox segment of a store written before segments had
  /// count keys its count key, once (when it can write); opening only.
  caf::error count_old_segments();

  std::string dir_;
  /// Held shared by every use of db_, uniquely to swap it (reopen_writable).
  mutable std::shared_mutex db_mtx_;
  std::unique_ptr<rocksdb::DB> db_;
  /// Opened read-only because writing failed at start.
  bool read_only_start_ = false;
  /// Every outbox segment has its count key (set while opening).
  bool segments_counted_ = false;
  /// Guards the health fields below.
  mutable std::mutex health_mtx_;
  std::string failure_;
  std::string injected_;
  std::chrono::steady_clock::time_point next_recovery_;
  /// A recovery runs (one at a time).
  bool recovering_ = false;
  std::shared_ptr<events> events_;
  bool closed_ = false;
  /// The lock held by a read-only store (a writable one holds it inside db_).
  rocksdb::FileLock* lock_ = nullptr;
  durability mode_;
  uint64_t last_seq_ = 0;

  /// An event in the log whose index keys are not written yet.
  struct unindexed_event {
    uint64_t seq = 0;
    std::string id;
    std::string product;
  };
  /// Held by whoever removes from unindexed_ (a commit, a drop of the
  /// log), taken before unindexed_mtx_: the elements a commit collects stay
  /// in place until it removes them.
  std::mutex indexing_mtx_;
  /// Guards unindexed_ and unindexed_ids_ (append, commit and readers of
  /// the product log run on different threads).
  mutable std::mutex unindexed_mtx_;
  /// The events after the checkpoint, in log order (the append adds, the
  /// commit that writes their index keys removes, and so does a drop of
  /// the log; a deque keeps the elements, and so the views into them, in
  /// place).
  std::deque<unindexed_event> unindexed_;
  /// The ids of unindexed_, viewing its elements.
  std::unordered_set<std::string_view> unindexed_ids_;
};

} // namespace shelfsync
