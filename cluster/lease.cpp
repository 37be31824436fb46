#include "cluster/lease.hpp"

#include "cluster/nats_status.hpp"

namespace shelfsync::cluster {

// -- the bucket ---------------------------------------------------------------

outcome<std::unique_ptr<lease_bucket>>
lease_bucket::open(jetstream& js, const lease_bucket_config& config) {
  if (config.ttl < std::chrono::milliseconds{100})
    return error{errc::invalid, "lease bucket " + config.bucket +
                                    ": the TTL must be at least 100 ms, got " +
                                    std::to_string(config.ttl.count()) + " ms"};
  kvConfig kc;
  kvConfig_Init(&kc);
  kc.Bucket = config.bucket.c_str();
  kc.History = 1;
  // In nanoseconds: a count of milliseconds here is refused as below 100 ms.
  kc.TTL = static_cast<int64_t>(config.ttl.count()) * 1000000;
  kc.Replicas = config.replicas;
  kc.StorageType = js_FileStorage;
  kvStore* kv = nullptr;
  natsStatus s = js_CreateKeyValue(&kv, js.context(), &kc);
  if (s != NATS_OK)
    return detail::from_nats("creating lease bucket " + config.bucket, s);
  return std::unique_ptr<lease_bucket>{new lease_bucket(js, kv, config)};
}

lease_bucket::~lease_bucket() { kvStore_Destroy(kv_); }

std::string lease_bucket::slot_key(uint32_t n) {
  return "slot." + std::to_string(n);
}

std::string lease_bucket::shop_key(const std::string& shop_id) {
  return "shop." + shop_id;
}

// -- one lease ----------------------------------------------------------------

lease::lease(lease_bucket& bucket, std::string key, std::string holder,
             std::chrono::milliseconds margin)
    : bucket_(bucket), key_(std::move(key)), holder_(std::move(holder)),
      margin_(margin) {}

status lease::take() {
  if (held()) return renew();
  auto start = clock::now();
  uint64_t rev = 0;
  natsStatus s =
      kvStore_Create(&rev, bucket_.store(), key_.c_str(), value().data(),
                     static_cast<int>(value().size()));
  if (s != NATS_OK)
    return detail::from_nats(
        "taking lease " + key_ + " of bucket " + bucket_.config().bucket, s);
  revision_ = rev;
  deadline_ = start + bucket_.config().ttl - margin_;
  return done{};
}

status lease::renew() {
  if (!held())
    return error{errc::conflict,
                 "renewing lease " + key_ + ": this node does not hold it"};
  auto start = clock::now();
  uint64_t rev = 0;
  natsStatus s =
      kvStore_Update(&rev, bucket_.store(), key_.c_str(), value().data(),
                     static_cast<int>(value().size()), revision_);
  if (s != NATS_OK) {
    auto e = detail::from_nats("renewing lease " + key_ + " at revision " +
                                   std::to_string(revision_),
                               s);
    if (e.code == errc::conflict) revision_ = 0;
    return e;
  }
  revision_ = rev;
  deadline_ = start + bucket_.config().ttl - margin_;
  return done{};
}

status lease::release() {
  if (!held()) return done{};
  auto rev = revision_;
  // Invalid from now on, whatever the server answers.
  revision_ = 0;
  auto& config = bucket_.config();
  // A delete marker, as kvStore_Delete writes it, but only over our own
  // revision: a lease someone else took in the meantime stays theirs.
  auto subject = "$KV." + config.bucket + "." + key_;
  natsMsg* msg = nullptr;
  natsStatus s = natsMsg_Create(&msg, subject.c_str(), nullptr, nullptr, 0);
  if (s == NATS_OK) s = natsMsgHeader_Set(msg, "KV-Operation", "DEL");
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.ExpectLastSubjectSeq = rev;
  jsErrCode jerr{};
  if (s == NATS_OK)
    s = js_PublishMsg(nullptr, bucket_.js().context(), msg, &po, &jerr);
  natsMsg_Destroy(msg);
  if (s != NATS_OK)
    return detail::from_nats("releasing lease " + key_ + " at revision " +
                                 std::to_string(rev),
                             s, jerr);
  return done{};
}

} // namespace shelfsync::cluster
