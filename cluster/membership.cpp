#include "cluster/membership.hpp"

#include <algorithm>
#include <utility>

#include <nlohmann/json.hpp>
#include <openssl/sha.h>

#include "cluster/nats_status.hpp"

namespace shelfsync::cluster {

namespace {

using json = nlohmann::json;

/// Every live key matching `filter` with its value, read by a watcher's
/// initial values (one request, not one per key).
outcome<std::vector<std::pair<std::string, std::string>>>
read_keys(lease_bucket& bucket, const std::string& filter) {
  kvWatchOptions wo;
  kvWatchOptions_Init(&wo);
  wo.IgnoreDeletes = true;
  kvWatcher* w = nullptr;
  natsStatus s = kvStore_Watch(&w, bucket.store(), filter.c_str(), &wo);
  if (s != NATS_OK)
    return detail::from_nats(
        "reading keys " + filter + " of bucket " + bucket.config().bucket, s);
  std::unique_ptr<kvWatcher, void (*)(kvWatcher*)> owned{w, kvWatcher_Destroy};
  std::vector<std::pair<std::string, std::string>> out;
  auto limit = bucket.js().timeout().count();
  for (;;) {
    kvEntry* e = nullptr;
    s = kvWatcher_Next(&e, w, limit);
    if (s != NATS_OK)
      return detail::from_nats(
          "reading keys " + filter + " of bucket " + bucket.config().bucket, s);
    if (e == nullptr) break; // every initial value is in
    if (kvEntry_Operation(e) == kvOp_Put)
      out.emplace_back(kvEntry_Key(e),
                       std::string(static_cast<const char*>(kvEntry_Value(e)),
                                   static_cast<size_t>(kvEntry_ValueLen(e))));
    kvEntry_Destroy(e);
  }
  return out;
}

} // namespace

std::string config_digest(const std::string& shared_json) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(shared_json.data()),
         shared_json.size(), digest);
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < 6; ++i) {
    out.push_back(digits[digest[i] >> 4]);
    out.push_back(digits[digest[i] & 0xf]);
  }
  return out;
}

std::string encode_member(const member& m) {
  return json{{"node_id", m.node_id},
              {"digest", m.digest},
              {"address", m.address},
              {"joined_ms", m.joined_ms}}
      .dump();
}

member decode_member(const std::string& node_id, const std::string& value) {
  member m;
  m.node_id = node_id;
  auto body = json::parse(value, nullptr, false);
  if (!body.is_object()) return m;
  if (auto i = body.find("digest"); i != body.end() && i->is_string())
    m.digest = i->get<std::string>();
  if (auto i = body.find("address"); i != body.end() && i->is_string())
    m.address = i->get<std::string>();
  if (auto i = body.find("joined_ms");
      i != body.end() && i->is_number_integer())
    m.joined_ms = i->get<int64_t>();
  return m;
}

outcome<std::vector<member>> read_members(lease_bucket& bucket) {
  auto keys = read_keys(bucket, "node.*");
  if (!keys) return keys.err();
  std::vector<member> out;
  for (auto& [key, value] : *keys)
    out.push_back(decode_member(key.substr(5), value));
  std::sort(out.begin(), out.end(), [](const member& a, const member& b) {
    return a.node_id < b.node_id;
  });
  return out;
}

outcome<slot_owners> read_slot_holders(lease_bucket& bucket, uint32_t slots) {
  auto keys = read_keys(bucket, "slot.*");
  if (!keys) return keys.err();
  slot_owners out(slots);
  for (auto& [key, value] : *keys) {
    auto index = key.substr(5);
    if (index.empty() ||
        index.find_first_not_of("0123456789") != std::string::npos ||
        index.size() > 9)
      continue;
    auto n = std::stoul(index);
    if (n < slots) out[n] = value;
  }
  return out;
}

std::optional<agreement> cluster_agreement(const std::vector<member>& members) {
  const member* oldest = nullptr;
  for (auto& m : members) {
    if (m.digest.empty()) continue;
    if (oldest == nullptr || m.joined_ms < oldest->joined_ms ||
        (m.joined_ms == oldest->joined_ms && m.node_id < oldest->node_id))
      oldest = &m;
  }
  if (oldest == nullptr) return std::nullopt;
  return agreement{oldest->digest, oldest->node_id};
}

std::string disagreement(const member& m, const agreement& cluster) {
  return "node " + m.node_id + "'s config digest " + m.digest +
         " differs from the cluster's " + cluster.digest + " (set by " +
         cluster.set_by +
         ", the longest-running node): it takes no slots until its "
         "warehouses, shops and rules match";
}

} // namespace shelfsync::cluster
