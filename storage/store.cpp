#include "storage/store.hpp"

#include <algorithm>
#include <unordered_set>

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include "storage/error.hpp"
#include "storage/keys.hpp"

namespace shelfsync {

namespace {

/// Translates a RocksDB status into our error, once, at the boundary.
caf::error to_error(const rocksdb::Status& st, std::string_view what) {
  return caf::make_error(ec::storage_failure,
                         std::string{what} + ": " + st.ToString());
}

rocksdb::Slice slice(std::string_view x) { return {x.data(), x.size()}; }

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

rocksdb::Options make_options() {
  rocksdb::Options opts;
  opts.create_if_missing = true;
  opts.IncreaseParallelism(2);
  opts.write_buffer_size = 64 << 20;
  opts.max_write_buffer_number = 3;
  opts.compression = rocksdb::kLZ4Compression;
  // Most id lookups are for ids never seen: let the memtable say so fast.
  opts.memtable_whole_key_filtering = true;
  opts.memtable_prefix_bloom_size_ratio = 0.05;
  // The log writer and the directory write concurrently.
  opts.enable_pipelined_write = true;
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

store::store(std::unique_ptr<rocksdb::DB> db, durability mode)
    : db_(std::move(db)), mode_(mode) {}

store::~store() {
  if (lock_ != nullptr) {
    db_.reset();
    auto st = rocksdb::Env::Default()->UnlockFile(lock_);
    static_cast<void>(st); // the lock goes with the process anyway
    return;
  }
  if (db_) {
    // Persist derived state so that the next start replays nothing. A failed
    // flush loses nothing: the log is the source of truth.
    auto st = db_->Flush(rocksdb::FlushOptions{});
    static_cast<void>(st);
    st = db_->Close();
    static_cast<void>(st);
  }
}

caf::expected<std::unique_ptr<store>> store::open(const std::string& dir,
                                                  durability mode) {
  rocksdb::DB* raw = nullptr;
  auto st = rocksdb::DB::Open(make_options(), dir, &raw);
  if (!st.ok()) return to_error(st, "cannot open the store in " + dir);
  std::unique_ptr<store> result{
      new store(std::unique_ptr<rocksdb::DB>{raw}, mode)};
  // The last log key holds the highest sequence number.
  std::unique_ptr<rocksdb::Iterator> it{
      result->db_->NewIterator(rocksdb::ReadOptions{})};
  it->SeekForPrev(slice(keys::log_key(UINT64_MAX)));
  if (it->Valid() && it->key().size() == 9 && it->key()[0] == keys::log)
    result->last_seq_ = codec::read_big_endian({it->key().data() + 1, 8});
  if (!it->status().ok())
    return to_error(it->status(), "cannot read the event log");
  if (auto err = result->count_old_segments()) return err;
  return result;
}

caf::expected<std::unique_ptr<store>>
store::open_read_only(const std::string& dir) {
  auto* env = rocksdb::Env::Default();
  if (!env->FileExists(dir + "/CURRENT").ok())
    return caf::make_error(ec::not_found, "no shelfsync data in " + dir);
  rocksdb::FileLock* lock = nullptr;
  auto st = env->LockFile(dir + "/LOCK", &lock);
  if (!st.ok())
    return caf::make_error(ec::storage_failure,
                           "the store in " + dir +
                               " is in use (is a shelfsync server running on "
                               "it? stop it first): " +
                               st.ToString());
  auto opts = make_options();
  opts.create_if_missing = false;
  rocksdb::DB* raw = nullptr;
  st = rocksdb::DB::OpenForReadOnly(opts, dir, &raw);
  if (!st.ok()) {
    static_cast<void>(env->UnlockFile(lock));
    return to_error(st, "cannot open the store in " + dir);
  }
  std::unique_ptr<store> result{
      new store(std::unique_ptr<rocksdb::DB>{raw}, durability::wal)};
  result->lock_ = lock;
  std::unique_ptr<rocksdb::Iterator> it{
      result->db_->NewIterator(rocksdb::ReadOptions{})};
  it->SeekForPrev(slice(keys::log_key(UINT64_MAX)));
  if (it->Valid() && it->key().size() == 9 && it->key()[0] == keys::log)
    result->last_seq_ = codec::read_big_endian({it->key().data() + 1, 8});
  if (!it->status().ok())
    return to_error(it->status(), "cannot read the event log");
  return result;
}

caf::expected<append_result> store::append(std::vector<stock_event> batch) {
  append_result result;
  // Look up every id at once; ids repeated within the batch count too.
  std::vector<std::string> id_keys;
  id_keys.reserve(batch.size());
  for (auto& e : batch)
    id_keys.push_back(keys::make(keys::event_id, e.id));
  std::vector<rocksdb::Slice> slices(id_keys.begin(), id_keys.end());
  std::vector<rocksdb::PinnableSlice> values(batch.size());
  std::vector<rocksdb::Status> statuses(batch.size());
  db_->MultiGet(rocksdb::ReadOptions{}, db_->DefaultColumnFamily(),
                slices.size(), slices.data(), values.data(), statuses.data());
  std::unordered_set<std::string_view> in_batch;
  rocksdb::WriteBatch wb;
  auto seq = last_seq_;
  std::string value;
  std::vector<size_t> fresh;
  fresh.reserve(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    if (statuses[i].ok() || !in_batch.insert(batch[i].id).second) {
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
    fresh.push_back(i);
  }
  // Ids go in key order: the memtable inserts a sorted run much faster
  // than scattered keys.
  std::sort(fresh.begin(), fresh.end(), [&](size_t x, size_t y) {
    return id_keys[x] < id_keys[y];
  });
  for (auto i : fresh) {
    value.clear();
    codec::append_big_endian(value, batch[i].seq);
    wb.Put(id_keys[i], value);
  }
  if (seq != last_seq_) {
    auto st = db_->Write(durable_writes(), &wb);
    if (!st.ok()) return to_error(st, "cannot append to the event log");
  }
  // Move accepted events out only after the write succeeded.
  in_batch.clear();
  result.accepted.reserve(seq - last_seq_);
  for (auto& e : batch)
    if (e.seq != 0) result.accepted.push_back(std::move(e));
  last_seq_ = seq;
  result.last_seq = seq;
  return result;
}

caf::expected<std::vector<stock_event>>
store::read_log(uint64_t from, uint64_t to, size_t max) const {
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
  std::vector<stock_event> result;
  std::string value;
  for (auto seq : seqs) {
    auto st = db_->Get(rocksdb::ReadOptions{}, keys::log_key(seq), &value);
    if (!st.ok())
      return to_error(st, "cannot read log entry " + std::to_string(seq));
    stock_event e;
    if (!decode(value, e))
      return caf::make_error(ec::corrupt_record, "undecodable log entry");
    result.push_back(std::move(e));
  }
  return result;
}

caf::expected<uint64_t> store::checkpoint() const {
  std::string value;
  auto st = db_->Get(rocksdb::ReadOptions{}, slice(keys::checkpoint), &value);
  if (st.IsNotFound()) return uint64_t{0};
  if (!st.ok()) return to_error(st, "cannot read the checkpoint");
  if (value.size() != 8)
    return caf::make_error(ec::corrupt_record, "undecodable checkpoint");
  return codec::read_big_endian(value);
}

caf::expected<bool> store::load_product(std::string_view code,
                                        product_record& out) const {
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

caf::expected<std::string> store::scan_product_bytes(
    std::string_view after, size_t max,
    const std::function<void(std::string_view, std::string_view)>& visit)
    const {
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

caf::error store::commit(state_batch& batch, uint64_t checkpoint) {
  if (checkpoint != 0) {
    std::string value;
    codec::append_big_endian(value, checkpoint);
    batch.batch_->Put(slice(keys::checkpoint), value);
  }
  if (batch.batch_->Count() == 0) return caf::none;
  auto st = db_->Write(derived_writes(), batch.batch_.get());
  if (!st.ok()) return to_error(st, "cannot write derived state");
  batch.batch_->Clear();
  batch.writes_ = 0;
  return caf::none;
}

void store::flush_memtables() {
  rocksdb::FlushOptions opts;
  opts.wait = false;
  // Nothing is lost when it fails: the data stays in the memtables.
  static_cast<void>(db_->Flush(opts));
}

storage_memory store::memory() const {
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
  std::string value;
  auto st = db_->Get(rocksdb::ReadOptions{}, slice(keys::next_segment), &value);
  if (st.IsNotFound()) return uint64_t{1};
  if (!st.ok()) return to_error(st, "cannot read the next outbox segment id");
  if (value.size() != 8)
    return caf::make_error(ec::corrupt_record, "undecodable segment id");
  return codec::read_big_endian(value);
}

caf::error store::erase_outbox_segment(std::string_view shop, uint64_t id) {
  rocksdb::WriteBatch wb;
  wb.Delete(keys::segment_key(shop, id));
  wb.Delete(keys::segment_count_key(shop, id));
  auto st = db_->Write(durable_writes(), &wb);
  if (!st.ok()) return to_error(st, "cannot erase an outbox segment");
  return caf::none;
}

caf::error store::for_each_segment_count(
    std::string_view shop, uint64_t from,
    const std::function<bool(uint64_t id, uint64_t count)>& visit) const {
  auto prefix = keys::make(keys::segment_count, shop);
  prefix.push_back('\0');
  std::unique_ptr<rocksdb::Iterator> it{
      db_->NewIterator(rocksdb::ReadOptions{})};
  for (it->Seek(slice(keys::segment_count_key(shop, from)));
       it->Valid() && it->key().starts_with(slice(prefix)); it->Next()) {
    if (it->key().size() != prefix.size() + 8) continue;
    if (it->value().size() != 8)
      return caf::make_error(ec::corrupt_record,
                             "undecodable outbox segment count");
    auto id = codec::read_big_endian({it->key().data() + prefix.size(), 8});
    if (!visit(id, codec::read_big_endian({it->value().data(), 8})))
      return caf::none;
  }
  if (!it->status().ok())
    return to_error(it->status(), "cannot read outbox segment counts");
  return caf::none;
}

caf::error store::count_old_segments() {
  std::string value;
  auto st =
      db_->Get(rocksdb::ReadOptions{}, slice(keys::segment_counts), &value);
  if (st.ok()) return caf::none;
  if (!st.IsNotFound())
    return to_error(st, "cannot read the outbox segment count marker");
  // A store written before segments had count keys: count each segment
  // once (a fresh store has none), then never again.
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
  if (!st.ok()) return to_error(st, "cannot write outbox segment counts");
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

caf::error store::put_delivery(std::string_view shop, std::string_view product,
                               const delivery_record& x) {
  std::string value;
  encode(x, value);
  auto st = db_->Put(durable_writes(),
                     keys::make(keys::delivery, shop, product), value);
  if (!st.ok()) return to_error(st, "cannot write a delivery record");
  return caf::none;
}

caf::error store::put_memo(std::string_view shop, std::string_view key,
                           std::string_view value) {
  auto st = db_->Put(durable_writes(), keys::make(keys::memo, shop, key),
                     slice(value));
  if (!st.ok()) return to_error(st, "cannot write channel memory");
  return caf::none;
}

caf::expected<bool> store::load_memo(std::string_view shop,
                                     std::string_view key,
                                     std::string& out) const {
  auto st =
      db_->Get(rocksdb::ReadOptions{}, keys::make(keys::memo, shop, key), &out);
  if (st.IsNotFound()) return false;
  if (!st.ok()) return to_error(st, "cannot read channel memory");
  return true;
}

caf::error store::erase_memo(std::string_view shop, std::string_view key) {
  auto st = db_->Delete(durable_writes(), keys::make(keys::memo, shop, key));
  if (!st.ok()) return to_error(st, "cannot erase channel memory");
  return caf::none;
}

caf::error store::for_each_memo(
    std::string_view shop, std::string_view prefix,
    const std::function<void(std::string_view, std::string_view)>& visit)
    const {
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
