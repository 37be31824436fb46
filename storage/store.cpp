#include "storage/store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <unordered_set>

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/listener.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include "core/error.hpp"
#include "storage/keys.hpp"

namespace shelfsync {

namespace {

/// Translates a RocksDB status into our error, once, at the boundary.
caf::error to_error(const rocksdb::Status& st, std::string_view what) {
  return caf::make_error(ec::storage_failure,
                         std::string{what} + ": " + st.ToString());
}

rocksdb::Slice slice(std::string_view x) { return {x.data(), x.size()}; }

/// How long a known write failure is answered at once before the next write
/// tries to recover.
constexpr auto recovery_pause = std::chrono::milliseconds{500};

bool mentions(const rocksdb::Status& st, const char* text) {
  return st.ToString().find(text) != std::string::npos;
}

/// Whether `st` says the disk cannot be written at all (rather than that
/// something is wrong with the data): the store can still be read.
bool unwritable(const rocksdb::Status& st) {
  return st.IsNoSpace() || mentions(st, "No space left on device") ||
         mentions(st, "Read-only file system") ||
         mentions(st, "Permission denied");
}

/// Why writes to `dir` fail, in words, with what clears it.
std::string describe(const rocksdb::Status& st, const std::string& dir) {
  std::string cause;
  if (st.IsNoSpace() || mentions(st, "No space left on device"))
    cause = "the disk holding " + dir +
            " is full; writes resume by themselves once space is free";
  else if (mentions(st, "Read-only file system"))
    cause = dir + " is on a read-only file system; writes resume by "
                  "themselves once it is writable";
  else if (mentions(st, "Permission denied"))
    cause = "no permission to write in " + dir +
            "; writes resume by themselves once it is granted";
  else
    cause = "the store in " + dir + " cannot be written; writes are retried";
  return cause + " (" + st.ToString() + ")";
}

/// RocksDB's informational log, written to `LOG` in the data dir with plain
/// writes whose failures are ignored. RocksDB's own file logger aborts the
/// process (an assertion in its file writer) on the line after one it could
/// not write: on a full disk, that is the line reporting the failure.
class info_log : public rocksdb::Logger {
 public:
  explicit info_log(const std::string& dir)
      : rocksdb::Logger(rocksdb::InfoLogLevel::INFO_LEVEL) {
    auto path = dir + "/LOG";
    // One earlier log is kept, as the previous run's.
    static_cast<void>(::rename(path.c_str(), (path + ".old").c_str()));
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  }

  ~info_log() override {
    if (fd_ >= 0) ::close(fd_);
  }

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    if (fd_ < 0) return;
    char line[1024];
    auto n = std::vsnprintf(line, sizeof line - 1, format, ap);
    if (n < 0) return;
    auto len = std::min(static_cast<size_t>(n), sizeof line - 2);
    if (len == 0 || line[len - 1] != '\n') line[len++] = '\n';
    // A line that cannot be written (disk full) is lost, nothing else.
    static_cast<void>(::write(fd_, line, len));
  }

 private:
  int fd_ = -1;
};

rocksdb::WriteOptions derived_writes() {
  rocksdb::WriteOptions opts;
  // Derived state is rebuilt from the log after a crash; see store.hpp.
  opts.disableWAL = true;
  return opts;
}

/// One block cache for every store of the process (data, index and filter
/// blocks; half of it kept for index and filter blocks).
std::shared_ptr<rocksdb::Cache> block_cache() {
  static const auto cache = rocksdb::NewLRUCache(128 << 20, -1, false, 0.5);
  return cache;
}

rocksdb::Options make_options(const std::string& dir) {
  rocksdb::Options opts;
  opts.create_if_missing = true;
  opts.info_log = std::make_shared<info_log>(dir);
  opts.IncreaseParallelism(2);
  opts.write_buffer_size = 64 << 20;
  opts.max_write_buffer_number = 3;
  opts.compression = rocksdb::kLZ4Compression;
  // Most id lookups are for ids never seen: let the memtable say so fast.
  opts.memtable_whole_key_filtering = true;
  opts.memtable_prefix_bloom_size_ratio = 0.05;
  // The log writer and the directory write concurrently, but a pipelined
  // write (WAL and memtable stages handed between threads) cost about a
  // tenth more CPU per ingested event on two busy cores than plain writes.
  opts.enable_pipelined_write = false;
  // Memory must not grow with the catalog. Index and filter blocks live in
  // the block cache with data blocks (partitioned, so that only the parts in
  // use are held; the top levels and level 0 stay pinned), and the number of
  // open table files is capped.
  opts.max_open_files = 1000;
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.block_cache = block_cache();
  table.cache_index_and_filter_blocks = true;
  table.cache_index_and_filter_blocks_with_high_priority = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  table.pin_top_level_index_and_filter = true;
  table.index_type = rocksdb::BlockBasedTableOptions::kTwoLevelIndexSearch;
  table.partition_filters = true;
  table.optimize_filters_for_memory = true;
  opts.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return opts;
}

} // namespace

/// Hears RocksDB's background errors (a failed flush or compaction) and its
/// own recoveries, so that the store's health says what RocksDB knows.
class store::events : public rocksdb::EventListener {
 public:
  /// Directs later events to `owner` (null: nowhere).
  void attach(store* owner) {
    std::lock_guard<std::mutex> guard{mtx_};
    owner_ = owner;
  }

  void OnBackgroundError(rocksdb::BackgroundErrorReason,
                         rocksdb::Status* error) override {
    if (error == nullptr ||
        error->severity() < rocksdb::Status::Severity::kHardError)
      return;
    std::lock_guard<std::mutex> guard{mtx_};
    if (owner_) owner_->set_failure(describe(*error, owner_->dir_));
  }

  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason, rocksdb::Status,
                            bool* auto_recovery) override {
    // RocksDB waits for free space worth all its write buffers (192 MB here)
    // before it recovers from a full disk by itself, so on a small disk it
    // never does: the store resumes on its own terms (`before_write`).
    if (auto_recovery != nullptr) *auto_recovery = false;
  }

  void OnErrorRecoveryEnd(
      const rocksdb::BackgroundErrorRecoveryInfo& info) override {
    if (!info.new_bg_error.ok()) return;
    std::lock_guard<std::mutex> guard{mtx_};
    if (owner_) owner_->set_failure({});
  }

 private:
  std::mutex mtx_;
  store* owner_ = nullptr;
};

// -- state_batch ----------------------------------------------------------

state_batch::state_batch() : batch_(std::make_unique<rocksdb::WriteBatch>()) {}
state_batch::~state_batch() = default;
state_batch::state_batch(state_batch&&) noexcept = default;
state_batch& state_batch::operator=(state_batch&&) noexcept = default;

void state_batch::clear() {
  batch_->Clear();
  writes_ = 0;
}

void state_batch::put_product(std::string_view code, const product_record& x) {
  std::string value;
  encode(x, value);
  batch_->Put(keys::make(keys::product, code), value);
  ++writes_;
}

void state_batch::put_product_bytes(std::string_view code,
                                    std::string_view bytes) {
  batch_->Put(keys::make(keys::product, code), slice(bytes));
  ++writes_;
}

void state_batch::put_outbox_segment(std::string_view shop, uint64_t id,
                                     const std::vector<view_change>& changes) {
  std::string value;
  encode(changes, value);
  batch_->Put(keys::segment_key(shop, id), value);
  put_segment_count(shop, id, changes.size());
  ++writes_;
}

void state_batch::put_outbox_segment(std::string_view shop, uint64_t id,
                                     const segment_builder& changes) {
  auto key = keys::segment_key(shop, id);
  auto head = changes.header();
  rocksdb::Slice key_part = slice(key);
  rocksdb::Slice value_parts[] = {slice(head), slice(changes.body())};
  batch_->Put(rocksdb::SliceParts{&key_part, 1},
              rocksdb::SliceParts{value_parts, 2});
  put_segment_count(shop, id, changes.size());
  ++writes_;
}

void state_batch::put_segment_count(std::string_view shop, uint64_t id,
                                    uint64_t n) {
  std::string value;
  codec::append_big_endian(value, n);
  batch_->Put(keys::segment_count_key(shop, id), value);
}

void state_batch::set_next_segment(uint64_t id) {
  std::string value;
  codec::append_big_endian(value, id);
  batch_->Put(slice(keys::next_segment), value);
}

// -- store ----------------------------------------------------------------

namespace {

/// Why the LOCK file of `dir` cannot be opened for writing, when the cause
/// is the file system or permissions rather than another process holding
/// it (RocksDB's lock error says "Permission denied" for both).
std::string lock_file_problem(const std::string& dir) {
  auto path = dir + "/LOCK";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd >= 0) {
    ::close(fd);
    return {};
  }
  auto err = errno;
  if (err == EROFS) return dir + " is on a read-only file system";
  if (err == EACCES || err == EPERM) return "no permission to write " + path;
  return "cannot open " + path + ": " + std::strerror(err);
}

/// The error of opening a store another process holds.
caf::error in_use(const std::string& dir) {
  return caf::make_error(ec::storage_failure,
                         "the store in " + dir +
                             " is in use by another shelfsync process (a "
                             "running serve or import); stop it first "
                             "(shelfsync backup copies it while it runs)");
}

} // namespace

caf::error store::check_not_in_use(const std::string& dir) {
  // RocksDB holds its LOCK file with a whole-file fcntl write lock.
  int fd = ::open((dir + "/LOCK").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return caf::none; // no store yet, or open() will say why
  struct flock probe {};
  probe.l_type = F_WRLCK;
  probe.l_whence = SEEK_SET;
  auto asked = ::fcntl(fd, F_GETLK, &probe);
  ::close(fd);
  if (asked == 0 && probe.l_type != F_UNLCK) return in_use(dir);
  return caf::none;
}

store::store(std::unique_ptr<rocksdb::DB> db, durability mode)
    : db_(std::move(db)), mode_(mode) {}

store::~store() {
  if (events_) events_->attach(nullptr);
  if (!closed_) {
    // close() reports; here the process is going away anyway, and the log,
    // the source of truth, is replayed from the last durable checkpoint.
    auto err = close();
    static_cast<void>(err);
  }
}

caf::error store::close() {
  if (closed_) return caf::none;
  closed_ = true;
  std::unique_lock<std::shared_mutex> guard{db_mtx_};
  caf::error result;
  if (lock_ == nullptr && !read_only_start_ && db_) {
    // Persist derived state so that the next start replays nothing.
    auto st = db_->Flush(rocksdb::FlushOptions{});
    if (!st.ok())
      result = to_error(st, "cannot write derived state out to " + dir_ +
                                " (the next start replays the log from the "
                                "last durable checkpoint)");
    st = db_->Close();
    if (!st.ok() && !result)
      result = to_error(st, "cannot close the store in " + dir_);
  }
  db_.reset();
  if (lock_ != nullptr) {
    auto st = rocksdb::Env::Default()->UnlockFile(lock_);
    lock_ = nullptr;
    if (!st.ok() && !result)
      result = to_error(st, "cannot release the lock of " + dir_);
  }
  return result;
}

caf::expected<std::unique_ptr<store>> store::open(const std::string& dir,
                                                  durability mode) {
  auto opts = make_options(dir);
  auto events = std::make_shared<store::events>();
  opts.listeners.push_back(events);
  rocksdb::DB* raw = nullptr;
  auto st = rocksdb::DB::Open(opts, dir, &raw);
  std::unique_ptr<store> result;
  if (st.ok()) {
    result.reset(new store(std::unique_ptr<rocksdb::DB>{raw}, mode));
  } else {
    if (!unwritable(st)) {
      if (mentions(st, "lock file") && lock_file_problem(dir).empty())
        return in_use(dir);
      return to_error(st, "cannot open the store in " + dir);
    }
    // The disk is full or read-only: serve what is there, read-only, and
    // say why. The lock keeps other servers out where it can be taken (on
    // a read-only file system nobody can write anyway).
    auto why = describe(st, dir);
    auto* env = rocksdb::Env::Default();
    rocksdb::FileLock* lock = nullptr;
    auto locked = env->LockFile(dir + "/LOCK", &lock);
    if (!locked.ok() && lock_file_problem(dir).empty()) return in_use(dir);
    opts.create_if_missing = false;
    st = rocksdb::DB::OpenForReadOnly(opts, dir, &raw);
    if (!st.ok()) {
      if (lock != nullptr) static_cast<void>(env->UnlockFile(lock));
      return to_error(st, "cannot open the store in " + dir + " (" + why +
                              "), not even read-only");
    }
    result.reset(new store(std::unique_ptr<rocksdb::DB>{raw}, mode));
    result->lock_ = lock;
    result->read_only_start_ = true;
    result->failure_ = "started read-only: " + why;
  }
  result->dir_ = dir;
  result->events_ = events;
  events->attach(result.get());
  if (auto err = result->load_last_seq()) return err;
  if (auto err = result->load_unindexed()) return err;
  // Every entry from here on gets its index entry; a store created before
  // the index existed keeps a scan for the part below. A store that started
  // read-only writes its marker at a later start: until then it scans.
  if (!result->read_only_start_) {
    // Without it the lists of failed and in-flight deliveries miss records
    // older than this version; the next start tries again.
    if (auto err = result->build_flagged_index()) static_cast<void>(err);
    auto indexed = result->read_seq(keys::indexed_from);
    if (!indexed) return indexed.error();
    if (*indexed == 0) {
      std::string value;
      codec::append_big_endian(value, result->last_seq_ + 1);
      rocksdb::WriteOptions sync_write;
      sync_write.sync = true;
      st = result->db_->Put(sync_write, slice(keys::indexed_from), value);
      // Without the marker, log --product scans: slower, still exact.
      if (!st.ok())
        static_cast<void>(
            result->write_failed(st, "cannot write the index marker"));
    }
  }
  if (auto err = result->count_old_segments()) return err;
  return result;
}

caf::error store::load_last_seq() {
  // The last log key holds the highest sequence number, unless retention
  // dropped the whole log: the snapshot seq then does.
  std::unique_ptr<rocksdb::Iterator> it{
      db_->NewIterator(rocksdb::ReadOptions{})};
  it->SeekForPrev(slice(keys::log_key(UINT64_MAX)));
  if (it->Valid() && it->key().size() == 9 && it->key()[0] == keys::log)
    last_seq_ = codec::read_big_endian({it->key().data() + 1, 8});
  if (!it->status().ok())
    return to_error(it->status(), "cannot read the event log");
  auto snap = snapshot_seq();
  if (!snap) return snap.error();
  last_seq_ = std::max(last_seq_, *snap);
  return caf::none;
}

caf::error store::load_unindexed() {
  auto from = read_seq(keys::checkpoint);
  if (!from) return from.error();
  for (auto next = *from + 1; next <= last_seq_;) {
    auto events = read_log(next, last_seq_, 10000);
    if (!events) return events.error();
    if (events->empty()) break;
    next = events->back().seq + 1;
    for (auto& e : *events) {
      unindexed_.push_back({e.seq, std::move(e.id), std::move(e.product)});
      unindexed_ids_.insert(unindexed_.back().id);
    }
  }
  return caf::none;
}

caf::expected<uint64_t> store::read_seq(std::string_view key) const {
  std::string value;
  auto st = db_->Get(rocksdb::ReadOptions{}, slice(key), &value);
  if (st.IsNotFound()) return uint64_t{0};
  if (!st.ok())
    return to_error(st, "cannot read " + std::string{key.substr(1)});
  if (value.size() != 8)
    return caf::make_error(ec::corrupt_record,
                           "undecodable " + std::string{key.substr(1)});
  return codec::read_big_endian(value);
}

caf::expected<std::unique_ptr<store>>
store::open_read_only(const std::string& dir) {
  auto* env = rocksdb::Env::Default();
  if (!env->FileExists(dir + "/CURRENT").ok())
    return caf::make_error(ec::not_found, "no shelfsync data in " + dir);
  rocksdb::FileLock* lock = nullptr;
  auto st = env->LockFile(dir + "/LOCK", &lock);
  if (!st.ok()) {
    // RocksDB's lock error reads the same for a lock held elsewhere and a
    // file that cannot be opened: find out which.
    auto problem = lock_file_problem(dir);
    if (!problem.empty())
      return caf::make_error(ec::storage_failure,
                             "cannot lock the store in " + dir + ": " +
                                 problem + " (" + st.ToString() + ")");
    return caf::make_error(ec::storage_failure,
                           "the store in " + dir +
                               " is in use (is a shelfsync server running on "
                               "it? stop it first): " +
                               st.ToString());
  }
  auto opts = make_options(dir);
  opts.create_if_missing = false;
  rocksdb::DB* raw = nullptr;
  st = rocksdb::DB::OpenForReadOnly(opts, dir, &raw);
  if (!st.ok()) {
    static_cast<void>(env->UnlockFile(lock));
    return to_error(st, "cannot open the store in " + dir);
  }
  std::unique_ptr<store> result{
      new store(std::unique_ptr<rocksdb::DB>{raw}, durability::wal)};
  result->dir_ = dir;
  result->lock_ = lock;
  if (auto err = result->load_last_seq()) return err;
  if (auto err = result->load_unindexed()) return err;
  if (auto err = result->count_old_segments()) return err;
  return result;
}

// -- health -----------------------------------------------------------------

caf::error store::write_health() const {
  std::lock_guard<std::mutex> guard{health_mtx_};
  if (!injected_.empty())
    return caf::make_error(ec::storage_failure, injected_);
  if (!failure_.empty()) return caf::make_error(ec::storage_failure, failure_);
  return caf::none;
}

void store::inject_write_failure(std::string reason) {
  std::lock_guard<std::mutex> guard{health_mtx_};
  injected_ = std::move(reason);
}

void store::set_failure(std::string reason) {
  std::lock_guard<std::mutex> guard{health_mtx_};
  failure_ = std::move(reason);
}

caf::error store::write_failed(const rocksdb::Status& st,
                               std::string_view what) {
  auto why = describe(st, dir_);
  set_failure(why);
  return caf::make_error(ec::storage_failure, std::string{what} + ": " + why);
}

caf::error store::before_write() {
  std::unique_lock<std::mutex> guard{health_mtx_};
  if (!injected_.empty())
    return caf::make_error(ec::storage_failure, injected_);
  if (lock_ != nullptr && !read_only_start_)
    return caf::make_error(ec::storage_failure,
                           "the store in " + dir_ + " is open read-only");
  if (failure_.empty()) return caf::none;
  auto now = std::chrono::steady_clock::now();
  if (recovering_ || now < next_recovery_)
    return caf::make_error(ec::storage_failure, failure_);
  next_recovery_ = now + recovery_pause;
  recovering_ = true;
  auto reopen = read_only_start_;
  guard.unlock();
  rocksdb::Status st;
  if (reopen) {
    st = reopen_writable();
  } else {
    std::shared_lock<std::shared_mutex> db_guard{db_mtx_};
    st = db_->Resume();
  }
  guard.lock();
  recovering_ = false;
  if (st.IsBusy()) // RocksDB recovers by itself (a retryable I/O error)
    return caf::make_error(ec::storage_failure, failure_);
  if (!st.ok()) {
    failure_ =
        (read_only_start_ ? "started read-only: " : "") + describe(st, dir_);
    return caf::make_error(ec::storage_failure, failure_);
  }
  failure_.clear();
  return caf::none;
}

rocksdb::Status store::reopen_writable() {
  // The read-only store serves meanwhile; it lets go of its lock only for
  // the writable open to take it. Only the recovering thread gets here;
  // before_write reads lock_ and read_only_start_ under health_mtx_.
  auto* env = rocksdb::Env::Default();
  rocksdb::FileLock* held = nullptr;
  {
    std::lock_guard<std::mutex> health{health_mtx_};
    std::swap(held, lock_);
  }
  if (held != nullptr) static_cast<void>(env->UnlockFile(held));
  auto opts = make_options(dir_);
  opts.listeners.push_back(events_);
  rocksdb::DB* raw = nullptr;
  auto st = rocksdb::DB::Open(opts, dir_, &raw);
  if (!st.ok()) {
    rocksdb::FileLock* lock = nullptr;
    if (env->LockFile(dir_ + "/LOCK", &lock).ok()) {
      std::lock_guard<std::mutex> health{health_mtx_};
      lock_ = lock;
    }
    return st;
  }
  std::unique_lock<std::shared_mutex> guard{db_mtx_};
  db_.reset(raw);
  std::lock_guard<std::mutex> health{health_mtx_};
  read_only_start_ = false;
  return st;
}

caf::expected<append_result> store::append(std::vector<stock_event> batch) {
  if (auto err = before_write()) return err;
  std::shared_lock<std::shared_mutex> guard{db_mtx_};
  append_result result;
  // Ids not yet indexed first, then the index: a commit writes an event's
  // id key before it forgets the id, so that no id slips between the two.
  std::vector<char> seen(batch.size(), 0);
  {
    std::lock_guard<std::mutex> unindexed{unindexed_mtx_};
    if (!unindexed_ids_.empty())
      for (size_t i = 0; i < batch.size(); ++i)
        seen[i] = unindexed_ids_.count(batch[i].id) != 0 ? 1 : 0;
  }
  // An id repeated within the batch: all but its first event are
  // duplicates (found by sorting positions, without a set's allocations).
  {
    std::vector<uint32_t> by_id(batch.size());
    for (size_t i = 0; i < batch.size(); ++i)
      by_id[i] = static_cast<uint32_t>(i);
    std::stable_sort(by_id.begin(), by_id.end(), [&](uint32_t x, uint32_t y) {
      return batch[x].id < batch[y].id;
    });
    for (size_t k = 1; k < by_id.size(); ++k)
      if (batch[by_id[k]].id == batch[by_id[k - 1]].id) seen[by_id[k]] = 1;
  }
  // Look up every id at once.
  std::vector<std::string> id_keys;
  id_keys.reserve(batch.size());
  for (auto& e : batch)
    id_keys.push_back(keys::make(keys::event_id, e.id));
  std::vector<rocksdb::Slice> slices(id_keys.begin(), id_keys.end());
  std::vector<rocksdb::PinnableSlice> values(batch.size());
  std::vector<rocksdb::Status> statuses(batch.size());
  db_->MultiGet(rocksdb::ReadOptions{}, db_->DefaultColumnFamily(),
                slices.size(), slices.data(), values.data(), statuses.data());
  rocksdb::WriteBatch wb;
  auto seq = last_seq_;
  std::string value;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (seen[i] != 0 || statuses[i].ok()) {
      ++result.duplicates;
      continue;
    }
    if (!statuses[i].IsNotFound())
      return to_error(statuses[i], "cannot look up event ids");
    auto& e = batch[i];
    e.seq = ++seq;
    value.clear();
    encode(e, value);
    wb.Put(keys::log_key(e.seq), value);
  }
  // The index keys (`I`, `X`) follow with the commit that moves the
  // checkpoint past these events; meanwhile the ids are held here.
  if (seq != last_seq_) {
    auto st = db_->Write(durable_writes(), &wb);
    if (!st.ok()) return write_failed(st, "cannot append to the event log");
  }
  {
    std::lock_guard<std::mutex> unindexed{unindexed_mtx_};
    for (auto& e : batch)
      if (e.seq != 0) {
        unindexed_.push_back({e.seq, e.id, e.product});
        unindexed_ids_.insert(unindexed_.back().id);
      }
  }
  // Move accepted events out only after the write succeeded.
  result.accepted.reserve(seq - last_seq_);
  for (auto& e : batch)
    if (e.seq != 0) result.accepted.push_back(std::move(e));
  last_seq_ = seq;
  result.last_seq = seq;
  return result;
}

caf::expected<std::vector<stock_event>>
store::read_log(uint64_t from, uint64_t to, size_t max) const {
  std::shared_lock<std::shared_mutex> guard{db_mtx_};
  std::vector<stock_event> result;
  std::unique_ptr<rocksdb::Iterator> it{
      db_->NewIterator(rocksdb::ReadOptions{})};
  for (it->Seek(slice(keys::log_key(from))); it->Valid() && result.size() < max;
       it->Next()) {
    auto key = it->key();
    if (key.size() != 9 || key[0] != keys::log) break;
    if (codec::read_big_endian({key.data() + 1, 8}) > to) break;
    stock_event e;
    if (!decode({it->value().data(), it->value().size()}, e))
      return caf::make_error(ec::corrupt_record, "undecodable log entry");
    result.push_back(std::move(e));
  }
  if (!it->status().ok())
    return to_error(it->status(), "cannot read the event log");
  return result;
}

caf::expected<std::vector<stock_event>>
store::read_events(const std::vector<uint64_t>& seqs) const {
  std::shared_lock<std::shared_mutex> guard{db_mtx_};
  std::vector<stock_event> result;
  std::string value;
  auto dropped = read_seq(keys::snapshot_seq);
  if (!dropped) return dropped.error();
  for (auto seq : seqs) {
    auto st = db_->Get(rocksdb::ReadOptions{}, keys::log_key(seq), &value);
    if (st.IsNotFound() && seq <= *dropped) continue;
    if (!st.ok())
      return to_error(st, "cannot read log entry " + std::to_string(seq));
    stock_event e;
    if (!decode(value, e))
      return caf::make_error(ec::corrupt_record, "undecodable log entry");
    result.push_back(std::move(e));
  }
  return result;
}

caf::expected<std::vector<stock_event>> store::read_product_log(
    std::string_view code,
    const std::function<void(uint64_t, uint64_t)>& progress) const {
  std::vector<stock_event> result;
  caf::expected<uint64_t> indexed{0};
  {
    std::shared_lock<std::shared_mutex> guard{db_mtx_};
    indexed = read_seq(keys::indexed_from);
  }
  if (!indexed) return indexed.error();
  // A store never opened for writing by a shelfsync with the index has
  // no marker: all of its log is below the index.
  auto scan_to = *indexed == 0 ? last_seq_ : *indexed - 1;
  for (uint64_t next = 1; next <= scan_to;) {
    auto events = read_log(next, scan_to, 10000);
    if (!events) return events.error();
    if (events->empty()) break;
    next = events->back().seq + 1;
    for (auto& e : *events)
      if (e.product == code) result.push_back(std::move(e));
    if (progress) progress(next - 1, scan_to);
  }
  if (*indexed == 0) return result;
  // Events not yet indexed first, then the index: a commit writes an
  // event's index key before it forgets the event. Both may hold one.
  std::vector<uint64_t> seqs;
  {
    std::lock_guard<std::mutex> unindexed{unindexed_mtx_};
    for (auto& e : unindexed_)
      if (e.seq > scan_to && e.product == code) seqs.push_back(e.seq);
  }
  // The index: `X code NUL` never prefixes another code's entries.
  auto prefix = keys::make(keys::by_product, code);
  prefix.push_back('\0');
  std::shared_lock<std::shared_mutex> guard{db_mtx_};
  std::unique_ptr<rocksdb::Iterator> it{
      db_->NewIterator(rocksdb::ReadOptions{})};
  for (it->Seek(slice(prefix));
       it->Valid() && it->key().starts_with(slice(prefix)); it->Next())
    if (it->key().size() == prefix.size() + 8) {
      auto seq = codec::read_big_endian({it->key().data() + prefix.size(), 8});
      // The part below the index was scanned above.
      if (seq > scan_to) seqs.push_back(seq);
    }
  if (!it->status().ok())
    return to_error(it->status(), "cannot read the product index");
  it.reset();
  guard.unlock();
  std::sort(seqs.begin(), seqs.end());
  seqs.erase(std::unique(seqs.begin(), seqs.end()), seqs.end());
  auto indexed_events = read_events(seqs);
  if (!indexed_events) return indexed_events.error();
  for (auto& e : *indexed_events)
    result.push_back(std::move(e));
  return result;
}

caf::expected<uint64_t> store::checkpoint() const {
  std::shared_lock<std::shared_mutex> guard{db_mtx_};
  return read_seq(keys::checkpoint);
}

// -- retention ---------------------------------------------------------------

caf::expected<uint64_t> store::snapshot_seq() const {
  std::shared_lock<std::shared_mutex> guard{db_mtx_};
  return read_seq(keys::snapshot_seq);
}

caf::expected<uint64_t> store::durable_checkpoint() const {
  // With unpersisted (WAL-less) data around, RocksDB skips the memtables
  // at this tier: the value comes from the table files alone.
  rocksdb::ReadOptions opts;
  opts.read_tier = rocksdb::kPersistedTier;
  std::shared_lock<std::shared_mutex> guard{db_mtx_};
  std::string value;
  auto st = db_->Get(opts, slice(keys::checkpoint), &value);
  if (st.IsNotFound()) return uint64_t{0};
  if (!st.ok()) return to_error(st, "cannot read the durable checkpoint");
  if (value.size() != 8)
    return caf::make_error(ec::corrupt_record, "undecodable checkpoint");
  return codec::read_big_endian(value);
}

caf::error store::flush_and_wait() {
  std::shared_lock<std::shared_mutex> guard{db_mtx_};
  auto st = db_->Flush(rocksdb::FlushOptions{});
  if (!st.ok()) return to_error(st, "cannot write the memtables out");
  return caf::none;
}

caf::expected<bool> store::load_snapshot(std::string_view code,
                                         product_record& out) const {
  std::shared_lock<std::shared_mutex> guard{db_mtx_};
  std::string value;
  auto st = db_->Get(rocksdb::ReadOptions{}, keys::make(keys::snapshot, code),
                     &value);
  if (st.IsNotFound()) return false;
  if (!st.ok()) return to_error(st, "cannot read a snapshot record");
  if (!decode(value, out))
    return caf::make_error(ec::corrupt_record, "undecodable snapshot record",
                           std::string{code});
  return true;
}

caf::expected<std::string> store::scan_snapshot(
    std::string_view after, size_t max,
    const std::function<void(std::string_view, product_record&&)>& visit)
    const {
  std::shared_lock<std::shared_mutex> guard{db_mtx_};
  std::unique_ptr<rocksdb::Iterator> it{
      db_->NewIterator(rocksdb::ReadOptions{})};
  auto start = keys::make(keys::snapshot, after);
  it->Seek(slice(start));
  if (!after.empty() && it->Valid() && it->key() == slice(start)) it->Next();
  std::string last{after};
  for (size_t n = 0; it->Valid() && n < max; it->Next(), ++n) {
    auto key = it->key();
    if (key.empty() || key[0] != keys::snapshot) break;
    last.assign(key.data() + 1, key.size() - 1);
    product_record rec;
    if (!decode({it->value().data(), it->value().size()}, rec))
      return caf::make_error(ec::corrupt_record, "undecodable snapshot record",
                             last);
    visit(last, std::move(rec));
  }
  if (!it->status().ok())
    return to_error(it->status(), "cannot scan snapshot records");
  return last;
}

caf::expected<uint64_t> store::log_bytes(uint64_t from, uint64_t to) const {
  std::shared_lock<std::shared_mutex> guard{db_mtx_};
  if (from > to) return uint64_t{0};
  auto begin = keys::log_key(from);
  auto end = keys::log_key(to + 1);
  if (to == UINT64_MAX) end = std::string(1, keys::log + 1);
  rocksdb::Range range{slice(begin), slice(end)};
  rocksdb::SizeApproximationOptions opts;
  opts.include_memtables = true;
  opts.include_files = true;
  uint64_t size = 0;
  auto st = db_->GetApproximateSizes(opts, db_->DefaultColumnFamily(), &range,
                                     1, &size);
  if (!st.ok()) return to_error(st, "cannot estimate the log's size");
  return size;
}

caf::error store::drop_log(
    const std::vector<std::pair<std::string, product_record>>& records,
    uint64_t upto, const std::vector<stock_event>& dropped) {
  if (auto err = before_write()) return err;
  std::shared_lock<std::shared_mutex> guard{db_mtx_};
  auto from = read_seq(keys::snapshot_seq);
  if (!from) return from.error();
  if (upto <= *from) return caf::none; // done before
  auto indexed = read_seq(keys::indexed_from);
  if (!indexed) return indexed.error();
  rocksdb::WriteBatch wb;
  std::string value;
  for (auto& [code, rec] : records) {
    value.clear();
    encode(rec, value);
    wb.Put(keys::make(keys::snapshot, code), value);
  }
  value.clear();
  codec::append_big_endian(value, upto);
  wb.Put(slice(keys::snapshot_seq), value);
  auto st = wb.DeleteRange(keys::log_key(*from + 1), keys::log_key(upto + 1));
  if (!st.ok()) return to_error(st, "cannot drop log entries");
  // Commits index every event they move the checkpoint past, also the
  // ones below the marker of a store that had no index before.
  for (auto& e : dropped) {
    wb.Delete(keys::make(keys::event_id, e.id));
    if (*indexed != 0) wb.Delete(keys::product_log_key(e.product, e.seq));
  }
  rocksdb::WriteOptions opts;
  opts.sync = true;
  st = db_->Write(opts, &wb);
  if (!st.ok()) return write_failed(st, "cannot drop log entries");
  // Dropped ids are new again, also those not yet indexed.
  std::lock_guard<std::mutex> indexing{indexing_mtx_};
  std::lock_guard<std::mutex> unindexed{unindexed_mtx_};
  while (!unindexed_.empty() && unindexed_.front().seq <= upto) {
    unindexed_ids_.erase(unindexed_.front().id);
    unindexed_.pop_front();
  }
  return caf::none;
}

caf::expected<bool> store::load_product(std::string_view code,
                                        product_record& out) const {
  std::shared_lock<std::shared_mutex> guard{db_mtx_};
  std::string value;
  auto st =
      db_->Get(rocksdb::ReadOptions{}, keys::make(keys::product, code), &value);
  if (st.IsNotFound()) return false;
  if (!st.ok()) return to_error(st, "cannot read a product");
  if (!decode(value, out))
    return caf::make_error(ec::corrupt_record, "undecodable product record",
                           std::string{code});
  return true;
}

caf::expected<std::string> store::scan_products(
    std::string_view after, size_t max,
    const std::function<void(std::string_view, product_record&&)>& visit)
    const {
  caf::error err;
  auto last = scan_product_bytes(
      after, max, [&](std::string_view code, std::string_view bytes) {
        product_record rec;
        if (err) return;
        if (!decode(bytes, rec))
          err =
              caf::make_error(ec::corrupt_record, "undecodable product record");
        else
          visit(code, std::move(rec));
      });
  if (err) return err;
  return last;
}

caf::expected<bool> store::scan_products_with_prefix(
    std::string_view prefix, std::string_view after, size_t max,
    const std::function<void(std::string_view, product_record&&)>& visit)
    const {
  std::shared_lock<std::shared_mutex> guard{db_mtx_};
  std::unique_ptr<rocksdb::Iterator> it{
      db_->NewIterator(rocksdb::ReadOptions{})};
  auto first = keys::make(keys::product, prefix);
  // A cursor before the prefix's range starts at the range.
  auto start = after > prefix ? keys::make(keys::product, after) : first;
  it->Seek(slice(start));
  if (after > prefix && it->Valid() && it->key() == slice(start)) it->Next();
  size_t n = 0;
  for (; it->Valid() && it->key().starts_with(slice(first)); it->Next()) {
    if (n == max) return true;
    std::string_view code{it->key().data() + 1, it->key().size() - 1};
    product_record rec;
    if (!decode({it->value().data(), it->value().size()}, rec))
      return caf::make_error(ec::corrupt_record, "undecodable product record",
                             std::string{code});
    ++n;
    visit(code, std::move(rec));
  }
  if (!it->status().ok()) return to_error(it->status(), "cannot scan products");
  return false;
}

caf::expected<std::string> store::scan_product_bytes(
    std::string_view after, size_t max,
    const std::function<void(std::string_view, std::string_view)>& visit)
    const {
  std::shared_lock<std::shared_mutex> guard{db_mtx_};
  std::unique_ptr<rocksdb::Iterator> it{
      db_->NewIterator(rocksdb::ReadOptions{})};
  auto start = keys::make(keys::product, after);
  it->Seek(slice(start));
  if (!after.empty() && it->Valid() && it->key() == slice(start)) it->Next();
  std::string last{after};
  for (size_t n = 0; it->Valid() && n < max; it->Next(), ++n) {
    auto key = it->key();
    if (key.empty() || key[0] != keys::product) break;
    last.assign(key.data() + 1, key.size() - 1);
    visit(last, std::string_view{it->value().data(), it->value().size()});
  }
  if (!it->status().ok()) return to_error(it->status(), "cannot scan products");
  return last;
}

size_t store::put_index_keys(rocksdb::WriteBatch& batch, uint64_t checkpoint) {
  // The caller holds indexing_mtx_, and the append adds at the end: the
  // elements collected here stay in place until the commit removes them.
  // What the keys need is copied side by side (views of the elements), so
  // that sorting compares without going through a pointer each time.
  struct due_event {
    std::string_view id;
    std::string_view product;
    uint64_t seq;
  };
  std::vector<due_event> due;
  {
    std::lock_guard<std::mutex> unindexed{unindexed_mtx_};
    for (auto& e : unindexed_) {
      if (e.seq > checkpoint) break;
      if (due.empty()) due.reserve(unindexed_.size());
      due.push_back({e.id, e.product, e.seq});
    }
  }
  if (due.empty()) return 0;
  // Each kind as one sorted run: the memtable inserts a run of neighbours
  // much faster than scattered keys, and a commit's run is long.
  std::sort(due.begin(), due.end(), [](auto& x, auto& y) {
    return x.id < y.id;
  });
  std::string key;
  std::string value;
  for (auto& e : due) {
    key.assign(1, keys::event_id);
    key.append(e.id);
    value.clear();
    codec::append_big_endian(value, e.seq);
    batch.Put(key, value);
  }
  std::sort(due.begin(), due.end(), [](auto& x, auto& y) {
    return x.product != y.product ? x.product < y.product : x.seq < y.seq;
  });
  for (auto& e : due) {
    // keys::product_log_key, built in one buffer for the whole run.
    key.assign(1, keys::by_product);
    key.append(e.product);
    key.push_back('\0');
    codec::append_big_endian(key, e.seq);
    batch.Put(key, rocksdb::Slice{});
  }
  return due.size();
}

caf::error store::commit(state_batch& batch, uint64_t checkpoint) {
  if (auto err = before_write()) return err;
  std::shared_lock<std::shared_mutex> guard{db_mtx_};
  std::lock_guard<std::mutex> indexing{indexing_mtx_};
  size_t indexed = 0;
  if (checkpoint != 0) {
    std::string value;
    codec::append_big_endian(value, checkpoint);
    batch.batch_->Put(slice(keys::checkpoint), value);
    indexed = put_index_keys(*batch.batch_, checkpoint);
  }
  if (batch.batch_->Count() == 0) return caf::none;
  auto st = db_->Write(derived_writes(), batch.batch_.get());
  if (!st.ok()) return write_failed(st, "cannot write derived state");
  batch.batch_->Clear();
  batch.writes_ = 0;
  // Forgotten only now that their keys are in: see append.
  if (indexed > 0) {
    std::lock_guard<std::mutex> unindexed{unindexed_mtx_};
    for (; indexed > 0; --indexed) {
      unindexed_ids_.erase(unindexed_.front().id);
      unindexed_.pop_front();
    }
  }
  return caf::none;
}

void store::flush_memtables() {
  if (before_write()) return; // the failure is known and reported
  std::shared_lock<std::shared_mutex> guard{db_mtx_};
  rocksdb::FlushOptions opts;
  opts.wait = false;
  // Nothing is lost when it fails: the data stays in the memtables, and the
  // failure stops later writes until the store recovers.
  auto st = db_->Flush(opts);
  if (!st.ok()) static_cast<void>(write_failed(st, "cannot flush"));
}

storage_memory store::memory() const {
  std::shared_lock<std::shared_mutex> guard{db_mtx_};
  storage_memory result;
  auto get = [&](const std::string& property, uint64_t& out) {
    static_cast<void>(db_->GetIntProperty(property, &out));
  };
  get(rocksdb::DB::Properties::kCurSizeAllMemTables, result.memtables);
  get(rocksdb::DB::Properties::kEstimateTableReadersMem, result.table_readers);
  get(rocksdb::DB::Properties::kBlockCacheUsage, result.block_cache);
  get(rocksdb::DB::Properties::kBlockCachePinnedUsage,
      result.block_cache_pinned);
  return result;
}

caf::expected<uint64_t> store::next_segment() const {
  std::shared_lock<std::shared_mutex> guard{db_mtx_};
  std::string value;
  auto st = db_->Get(rocksdb::ReadOptions{}, slice(keys::next_segment), &value);
  if (st.IsNotFound()) return uint64_t{1};
  if (!st.ok()) return to_error(st, "cannot read the next outbox segment id");
  if (value.size() != 8)
    return caf::make_error(ec::corrupt_record, "undecodable segment id");
  return codec::read_big_endian(value);
}

caf::error store::erase_outbox_segment(std::string_view shop, uint64_t id) {
  if (auto err = before_write()) return err;
  std::shared_lock<std::shared_mutex> guard{db_mtx_};
  rocksdb::WriteBatch wb;
  wb.Delete(keys::segment_key(shop, id));
  wb.Delete(keys::segment_count_key(shop, id));
  auto st = db_->Write(durable_writes(), &wb);
  if (!st.ok()) return write_failed(st, "cannot erase an outbox segment");
  return caf::none;
}

caf::error store::for_each_segment_count(
    std::string_view shop, uint64_t from,
    const std::function<bool(uint64_t id, uint64_t count)>& visit) const {
  std::shared_lock<std::shared_mutex> guard{db_mtx_};
  // Until every segment has its count key, the counts come from the
  // segments' headers (slower, still exact).
  auto kind = segments_counted_ ? keys::segment_count : keys::outbox;
  auto prefix = keys::make(kind, shop);
  prefix.push_back('\0');
  auto start = segments_counted_ ? keys::segment_count_key(shop, from)
                                 : keys::segment_key(shop, from);
  std::unique_ptr<rocksdb::Iterator> it{
      db_->NewIterator(rocksdb::ReadOptions{})};
  for (it->Seek(slice(start));
       it->Valid() && it->key().starts_with(slice(prefix)); it->Next()) {
    if (it->key().size() != prefix.size() + 8) continue;
    auto id = codec::read_big_endian({it->key().data() + prefix.size(), 8});
    std::string_view value{it->value().data(), it->value().size()};
    uint64_t n = 0;
    if (segments_counted_ && value.size() == 8)
      n = codec::read_big_endian(value);
    else if (segments_counted_ || !decode_segment_size(value, n))
      return caf::make_error(ec::corrupt_record,
                             "undecodable outbox segment count");
    if (!visit(id, n)) return caf::none;
  }
  if (!it->status().ok())
    return to_error(it->status(), "cannot read outbox segment counts");
  return caf::none;
}

caf::error store::count_old_segments() {
  std::string value;
  auto st =
      db_->Get(rocksdb::ReadOptions{}, slice(keys::segment_counts), &value);
  if (st.ok()) {
    segments_counted_ = true;
    return caf::none;
  }
  if (!st.IsNotFound())
    return to_error(st, "cannot read the outbox segment count marker");
  // A store written before segments had count keys: count each segment
  // once (a fresh store has none), then never again. A store that cannot
  // write reads the segments' headers instead until a later start.
  if (read_only_start_ || lock_ != nullptr || write_health()) return caf::none;
  rocksdb::WriteBatch wb;
  std::unique_ptr<rocksdb::Iterator> it{
      db_->NewIterator(rocksdb::ReadOptions{})};
  std::string outbox_prefix(1, keys::outbox);
  for (it->Seek(slice(outbox_prefix));
       it->Valid() && it->key().starts_with(slice(outbox_prefix)); it->Next()) {
    auto key = it->key();
    if (key.size() < 10 || key[key.size() - 9] != '\0') continue;
    std::string_view shop{key.data() + 1, key.size() - 10};
    auto id = codec::read_big_endian({key.data() + key.size() - 8, 8});
    uint64_t n = 0;
    if (!decode_segment_size({it->value().data(), it->value().size()}, n))
      return caf::make_error(ec::corrupt_record, "undecodable outbox segment");
    std::string count;
    codec::append_big_endian(count, n);
    wb.Put(keys::segment_count_key(shop, id), count);
  }
  if (!it->status().ok())
    return to_error(it->status(), "cannot read the outboxes");
  wb.Put(slice(keys::segment_counts), rocksdb::Slice{});
  st = db_->Write(durable_writes(), &wb);
  // Without the counts, a start reads the segments' headers: slower, exact.
  if (!st.ok()) {
    static_cast<void>(write_failed(st, "cannot write outbox segment counts"));
    return caf::none;
  }
  segments_counted_ = true;
  return caf::none;
}

caf::error
store::for_each_outbox(std::string_view shop,
                       const std::function<void(view_change&&)>& visit) const {
  return for_each_outbox(shop, 0, [&](view_change&& x, size_t) {
    visit(std::move(x));
    return true;
  });
}

caf::error store::for_each_outbox(
    std::string_view shop, uint64_t from,
    const std::function<bool(view_change&&, size_t index)>& visit) const {
  std::shared_lock<std::shared_mutex> guard{db_mtx_};
  auto prefix = keys::make(keys::outbox, shop);
  prefix.push_back('\0');
  std::unique_ptr<rocksdb::Iterator> it{
      db_->NewIterator(rocksdb::ReadOptions{})};
  std::vector<view_change> changes;
  for (it->Seek(slice(keys::segment_key(shop, from)));
       it->Valid() && it->key().starts_with(slice(prefix)); it->Next()) {
    if (it->key().size() != prefix.size() + 8) continue;
    auto id = codec::read_big_endian({it->key().data() + prefix.size(), 8});
    if (!decode({it->value().data(), it->value().size()}, changes))
      return caf::make_error(ec::corrupt_record, "undecodable outbox segment");
    for (size_t i = 0; i < changes.size(); ++i) {
      changes[i].segment = id;
      if (!visit(std::move(changes[i]), i)) return caf::none;
    }
  }
  if (!it->status().ok())
    return to_error(it->status(), "cannot read an outbox");
  return caf::none;
}

caf::expected<bool> store::load_delivery(std::string_view shop,
                                         std::string_view product,
                                         delivery_record& out) const {
  std::shared_lock<std::shared_mutex> guard{db_mtx_};
  std::string value;
  auto st = db_->Get(rocksdb::ReadOptions{},
                     keys::make(keys::delivery, shop, product), &value);
  if (st.IsNotFound()) return false;
  if (!st.ok()) return to_error(st, "cannot read a delivery record");
  if (!decode(value, out))
    return caf::make_error(ec::corrupt_record, "undecodable delivery record");
  return true;
}

caf::expected<std::string> store::scan_deliveries(
    std::string_view shop, std::string_view after, size_t max,
    const std::function<void(std::string_view, delivery_record&&)>& visit)
    const {
  std::shared_lock<std::shared_mutex> guard{db_mtx_};
  auto prefix = keys::make(keys::delivery, shop, "");
  auto start = keys::make(keys::delivery, shop, after);
  std::unique_ptr<rocksdb::Iterator> it{
      db_->NewIterator(rocksdb::ReadOptions{})};
  it->Seek(slice(start));
  if (!after.empty() && it->Valid() && it->key() == slice(start)) it->Next();
  std::string last{after};
  for (size_t n = 0; it->Valid() && n < max; it->Next(), ++n) {
    auto key = it->key();
    if (!key.starts_with(slice(prefix))) break;
    delivery_record rec;
    if (!decode({it->value().data(), it->value().size()}, rec))
      return caf::make_error(ec::corrupt_record, "undecodable delivery record");
    last.assign(key.data() + prefix.size(), key.size() - prefix.size());
    visit(last, std::move(rec));
  }
  if (!it->status().ok())
    return to_error(it->status(), "cannot scan delivery records");
  return last;
}

rocksdb::WriteOptions store::durable_writes() const {
  rocksdb::WriteOptions opts;
  opts.sync = mode_ == durability::fsync;
  return opts;
}

namespace {

/// The states the `F` index lists, with their key letters.
constexpr std::pair<delivery_state, char> flagged_states[] = {
    {delivery_state::failed, 'f'}, {delivery_state::in_flight, 'i'}};

/// Whether a location of `x` is in `state`.
bool has_state(const delivery_record& x, delivery_state state) {
  for (auto& [location, d] : x)
    if (d.state == state) return true;
  return false;
}

} // namespace

caf::error store::put_delivery(std::string_view shop, std::string_view product,
                               const delivery_record& x) {
  if (auto err = before_write()) return err;
  std::shared_lock<std::shared_mutex> guard{db_mtx_};
  auto key = keys::make(keys::delivery, shop, product);
  // The entries the record had: one shop actor writes a shop's records, so
  // nothing changes it between this read and the write below.
  std::string old_value;
  auto st = db_->Get(rocksdb::ReadOptions{}, key, &old_value);
  if (!st.ok() && !st.IsNotFound())
    return to_error(st, "cannot read a delivery record");
  delivery_record old;
  bool known = st.ok() && decode(old_value, old);
  rocksdb::WriteBatch batch;
  std::string value;
  encode(x, value);
  batch.Put(key, value);
  for (auto [state, letter] : flagged_states) {
    bool now = has_state(x, state);
    // An undecodable old record may have had any entry: drop both.
    bool before = st.ok() && (!known || has_state(old, state));
    if (now && !before)
      batch.Put(keys::flagged_key(shop, letter, product), "");
    else if (!now && before)
      batch.Delete(keys::flagged_key(shop, letter, product));
  }
  st = db_->Write(durable_writes(), &batch);
  if (!st.ok()) return write_failed(st, "cannot write a delivery record");
  return caf::none;
}

caf::expected<bool> store::scan_flagged_deliveries(
    std::string_view shop, delivery_state state, std::string_view after,
    size_t max,
    const std::function<void(std::string_view, delivery_record&&)>& visit)
    const {
  char letter = 0;
  for (auto [s, l] : flagged_states)
    if (s == state) letter = l;
  if (letter == 0) return false;
  std::shared_lock<std::shared_mutex> guard{db_mtx_};
  auto prefix = keys::flagged_key(shop, letter, "");
  auto start = keys::flagged_key(shop, letter, after);
  std::unique_ptr<rocksdb::Iterator> it{
      db_->NewIterator(rocksdb::ReadOptions{})};
  it->Seek(slice(start));
  if (!after.empty() && it->Valid() && it->key() == slice(start)) it->Next();
  size_t n = 0;
  for (; it->Valid() && it->key().starts_with(slice(prefix)); it->Next()) {
    if (n == max) return true;
    std::string_view code{it->key().data() + prefix.size(),
                          it->key().size() - prefix.size()};
    std::string value;
    auto st = db_->Get(rocksdb::ReadOptions{},
                       keys::make(keys::delivery, shop, code), &value);
    if (st.IsNotFound()) continue; // cannot happen: written together
    if (!st.ok()) return to_error(st, "cannot read a delivery record");
    delivery_record rec;
    if (!decode(value, rec))
      return caf::make_error(ec::corrupt_record, "undecodable delivery record",
                             std::string{code});
    ++n;
    visit(code, std::move(rec));
  }
  if (!it->status().ok())
    return to_error(it->status(), "cannot read the index of deliveries");
  return false;
}

caf::error store::build_flagged_index() {
  std::string done;
  auto st = db_->Get(rocksdb::ReadOptions{}, slice(keys::flagged_built), &done);
  if (st.ok()) return caf::none;
  if (!st.IsNotFound())
    return to_error(st, "cannot read the index marker of deliveries");
  // Once, on a store from before the index: a pass over the delivery
  // records, written in batches (a kill midway redoes it; puts are
  // idempotent), then the marker.
  std::unique_ptr<rocksdb::Iterator> it{
      db_->NewIterator(rocksdb::ReadOptions{})};
  rocksdb::WriteBatch batch;
  auto write = [&] {
    auto w = db_->Write(rocksdb::WriteOptions{}, &batch);
    batch.Clear();
    return w;
  };
  std::string prefix(1, keys::delivery);
  for (it->Seek(slice(prefix)); it->Valid() && it->key().starts_with(prefix);
       it->Next()) {
    std::string_view key{it->key().data() + 1, it->key().size() - 1};
    auto nul = key.find('\0');
    delivery_record rec;
    if (nul == std::string_view::npos ||
        !decode({it->value().data(), it->value().size()}, rec))
      continue;
    for (auto [state, letter] : flagged_states)
      if (has_state(rec, state))
        batch.Put(
            keys::flagged_key(key.substr(0, nul), letter, key.substr(nul + 1)),
            "");
    if (batch.Count() >= 10'000)
      if (auto w = write(); !w.ok())
        return write_failed(w, "cannot write the index of deliveries");
  }
  if (!it->status().ok())
    return to_error(it->status(), "cannot read delivery records");
  batch.Put(slice(keys::flagged_built), "");
  rocksdb::WriteOptions sync_write;
  sync_write.sync = true;
  if (auto w = db_->Write(sync_write, &batch); !w.ok())
    return write_failed(w, "cannot write the index of deliveries");
  return caf::none;
}

caf::error store::put_memo(std::string_view shop, std::string_view key,
                           std::string_view value) {
  if (auto err = before_write()) return err;
  std::shared_lock<std::shared_mutex> guard{db_mtx_};
  auto st = db_->Put(durable_writes(), keys::make(keys::memo, shop, key),
                     slice(value));
  if (!st.ok()) return write_failed(st, "cannot write channel memory");
  return caf::none;
}

caf::expected<bool> store::load_memo(std::string_view shop,
                                     std::string_view key,
                                     std::string& out) const {
  std::shared_lock<std::shared_mutex> guard{db_mtx_};
  auto st =
      db_->Get(rocksdb::ReadOptions{}, keys::make(keys::memo, shop, key), &out);
  if (st.IsNotFound()) return false;
  if (!st.ok()) return to_error(st, "cannot read channel memory");
  return true;
}

caf::error store::erase_memo(std::string_view shop, std::string_view key) {
  if (auto err = before_write()) return err;
  std::shared_lock<std::shared_mutex> guard{db_mtx_};
  auto st = db_->Delete(durable_writes(), keys::make(keys::memo, shop, key));
  if (!st.ok()) return write_failed(st, "cannot erase channel memory");
  return caf::none;
}

caf::error store::for_each_memo(
    std::string_view shop, std::string_view prefix,
    const std::function<void(std::string_view, std::string_view)>& visit)
    const {
  std::shared_lock<std::shared_mutex> guard{db_mtx_};
  auto start = keys::make(keys::memo, shop, prefix);
  auto base = keys::make(keys::memo, shop, "").size();
  std::unique_ptr<rocksdb::Iterator> it{
      db_->NewIterator(rocksdb::ReadOptions{})};
  for (it->Seek(slice(start));
       it->Valid() && it->key().starts_with(slice(start)); it->Next())
    visit(std::string_view{it->key().data() + base, it->key().size() - base},
          std::string_view{it->value().data(), it->value().size()});
  if (!it->status().ok())
    return to_error(it->status(), "cannot read channel memory");
  return caf::none;
}

} // namespace shelfsync
