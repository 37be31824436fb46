#include "cluster/product_ids.hpp"

#include <nlohmann/json.hpp>

#include "cluster/event_log.hpp"

namespace shelfsync::cluster {

namespace {

using json = nlohmann::json;

/// The bytes an id takes in a segment's JSON (quotes, escapes, comma).
size_t id_bytes(const std::string& id) { return json(id).dump().size() + 1; }

} // namespace

std::string ids_subject(uint32_t slot, const std::string& code, uint32_t n) {
  return "shelfsync.state.ids." + std::to_string(slot) + "." + hex_text(code) +
         "." + std::to_string(n);
}

std::string product_ids::encode(const segment& s) {
  json by_seq = json::array();
  for (auto& [seq, ids] : s.by_seq)
    by_seq.push_back(json::array({seq, ids}));
  return json{{"ids", std::move(by_seq)}}.dump();
}

outcome<product_ids> product_ids::load(jetstream& js, uint32_t slot,
                                       const std::string& code,
                                       uint32_t segments,
                                       uint64_t applied_seq) {
  product_ids out;
  for (uint32_t n = 0;; ++n) {
    auto subject = ids_subject(slot, code, n);
    auto last = last_state(js, subject);
    if (!last) return last.err();
    if (!*last) {
      if (n < segments)
        return error{errc::invalid, "product \"" + code + "\" names " +
                                        std::to_string(segments) +
                                        " id segments but " + subject +
                                        " is missing"};
      // Segments written after the product state (their message was not
      // applied) are read too: their sequences are needed to write them.
      break;
    }
    auto body = json::parse((*last)->data, nullptr, false);
    segment s;
    s.subject_seq = (*last)->sequence;
    try {
      for (auto& entry : body.at("ids")) {
        auto seq = entry.at(0).get<uint64_t>();
        auto ids = entry.at(1).get<std::vector<std::string>>();
        if (seq > applied_seq) {
          // Written for a message whose product write did not land.
          s.dirty = true;
          continue;
        }
        for (auto& id : ids) {
          s.bytes += id_bytes(id);
          out.all_.insert(id);
        }
        s.ids += ids.size();
        s.by_seq.emplace_back(seq, std::move(ids));
      }
    } catch (const json::exception& x) {
      return error{errc::invalid,
                   subject + " is malformed: " + std::string{x.what()}};
    }
    out.segments_.push_back(std::move(s));
  }
  return out;
}

bool product_ids::add(const std::string& id, uint64_t seq) {
  if (!all_.insert(id).second) return false;
  auto bytes = id_bytes(id);
  if (segments_.empty() || segments_.back().ids >= max_segment_ids ||
      segments_.back().bytes + bytes > max_segment_bytes)
    segments_.emplace_back();
  auto& s = segments_.back();
  if (s.by_seq.empty() || s.by_seq.back().first != seq)
    s.by_seq.emplace_back(seq, std::vector<std::string>{});
  s.by_seq.back().second.push_back(id);
  ++s.ids;
  s.bytes += bytes;
  s.dirty = true;
  return true;
}

std::vector<product_ids::segment_write>
product_ids::pending_writes(uint32_t slot, const std::string& code) const {
  std::vector<segment_write> out;
  for (uint32_t n = 0; n < segments_.size(); ++n) {
    auto& s = segments_[n];
    if (s.dirty)
      out.push_back(segment_write{n, cas_message{ids_subject(slot, code, n),
                                                 encode(s), s.subject_seq}});
  }
  return out;
}

void product_ids::written(uint32_t n, uint64_t subject_seq) {
  auto& s = segments_.at(n);
  s.subject_seq = subject_seq;
  s.dirty = false;
}

status product_ids::store(jetstream& js, uint32_t slot,
                          const std::string& code) {
  for (auto& w : pending_writes(slot, code)) {
    auto written_seq = cas_write(js, w.message.subject, w.message.data,
                                 w.message.expected_last_subject_seq);
    if (!written_seq) return written_seq.err();
    written(w.n, *written_seq);
  }
  return done{};
}

} // namespace shelfsync::cluster
