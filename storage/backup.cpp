// Backups of a store: RocksDB checkpoints, of an open store or of a stopped
// one.
#include "storage/store.hpp"

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/utilities/checkpoint.h>

#include "core/error.hpp"

namespace shelfsync {

caf::expected<uint64_t> store::backup_to(const std::string& target) {
  auto* env = rocksdb::Env::Default();
  if (env->FileExists(target).ok())
    return caf::make_error(ec::invalid_input,
                           "the backup directory " + target +
                               " exists already; name a new one");
  std::shared_lock<std::shared_mutex> guard{db_mtx_};
  if (!db_)
    return caf::make_error(ec::storage_failure,
                           "the store in " + dir_ + " is closed");
  rocksdb::Checkpoint* raw = nullptr;
  auto st = rocksdb::Checkpoint::Create(db_.get(), &raw);
  std::unique_ptr<rocksdb::Checkpoint> checkpoint{raw};
  // The log is read before the copy starts: everything up to it is in it
  // (later events may be too; a start on the copy finds them all).
  auto seq = last_seq_;
  // log_size_for_flush 0: the memtables are flushed first, so the copy
  // holds derived state written without WAL as well.
  if (st.ok()) st = checkpoint->CreateCheckpoint(target, 0);
  if (!st.ok())
    return caf::make_error(ec::storage_failure,
                           "cannot back the store in " + dir_ + " up into " +
                               target + ": " + st.ToString());
  return seq;
}

caf::expected<uint64_t> store::backup(const std::string& dir,
                                      const std::string& target) {
  auto* env = rocksdb::Env::Default();
  if (!env->FileExists(dir + "/CURRENT").ok())
    return caf::make_error(ec::not_found, "no shelfsync data in " + dir);
  // RocksDB's own open would fail on the lock too; trying it first tells a
  // store in use from other failures.
  rocksdb::FileLock* lock = nullptr;
  auto st = env->LockFile(dir + "/LOCK", &lock);
  if (!st.ok())
    return caf::make_error(ec::conflict, "the store in " + dir +
                                             " is in use (" + st.ToString() +
                                             ")");
  static_cast<void>(env->UnlockFile(lock));
  auto db = open(dir, durability::wal);
  if (!db) return db.error();
  auto seq = (*db)->backup_to(target);
  auto closed = (*db)->close();
  if (!seq) return seq.error();
  if (closed) return closed;
  return seq;
}

} // namespace shelfsync
