#include "cluster/id_claims.hpp"

#include <nlohmann/json.hpp>

#include "cluster/event_log.hpp"

namespace shelfsync::cluster {

namespace {

using json = nlohmann::json;

} // namespace

std::string claim_subject(const std::string& id) {
  return "shelfsync.state.id." + hex_text(id);
}

std::string encode(const id_claim& claim) {
  return json{{"product", claim.product}, {"seq", claim.seq}}.dump();
}

outcome<id_claim> decode_claim(const std::string& data) {
  auto body = json::parse(data, nullptr, false);
  id_claim out;
  try {
    out.product = body.at("product").get<std::string>();
    out.seq = body.at("seq").get<uint64_t>();
  } catch (const json::exception& x) {
    return error{errc::invalid,
                 std::string{"an id claim is malformed: "} + x.what()};
  }
  return out;
}

bool claim_applies(const id_claim& claim, const std::string& product,
                   uint64_t seq) {
  return claim.product == product && claim.seq >= seq;
}

outcome<std::optional<id_claim>> read_claim(jetstream& js,
                                            const std::string& id) {
  auto last = last_state(js, claim_subject(id));
  if (!last) return last.err();
  if (!*last) return std::optional<id_claim>{};
  auto claim = decode_claim((*last)->data);
  if (!claim)
    return error{claim.err().code,
                 "the claim of id \"" + id + "\": " + claim.err().message};
  return std::optional<id_claim>{std::move(*claim)};
}

std::vector<outcome<bool>> claim_ids(jetstream& js,
                                     const std::vector<claim_request>& ids) {
  std::vector<cas_message> writes;
  writes.reserve(ids.size());
  for (auto& r : ids)
    writes.push_back(cas_message{claim_subject(r.id),
                                 encode(id_claim{r.product, r.seq}), 0});
  auto acks = js.publish_cas_batch(writes, js.timeout());
  std::vector<outcome<bool>> out;
  out.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    auto& ack = acks[i];
    if (ack) {
      out.emplace_back(true);
      continue;
    }
    if (ack.err().code != errc::conflict) {
      out.emplace_back(ack.err());
      continue;
    }
    // Claimed already: by another product or message, or by this very
    // message (a retry, or a former owner's apply).
    auto& r = ids[i];
    auto held = read_claim(js, r.id);
    if (!held)
      out.emplace_back(held.err());
    else if (!*held)
      out.emplace_back(error{errc::failure, "the claim of id \"" + r.id +
                                                "\" was refused as taken "
                                                "but cannot be found"});
    else
      out.emplace_back(claim_applies(**held, r.product, r.seq));
  }
  return out;
}

} // namespace shelfsync::cluster
