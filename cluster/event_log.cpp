#include "cluster/event_log.hpp"

#include <map>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>
#include <openssl/sha.h>

#include "cluster/event_text.hpp"
#include "cluster/slots.hpp"

namespace shelfsync::cluster {

namespace {

using json = nlohmann::json;

std::string hex(const unsigned char* data, size_t size) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out.push_back(digits[data[i] >> 4]);
    out.push_back(digits[data[i] & 0xf]);
  }
  return out;
}

std::string sha256_hex(const std::string& text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(),
         digest);
  return hex(digest, sizeof digest);
}

} // namespace

outcome<std::optional<stored_message>> last_state(jetstream& js,
                                                  const std::string& subject) {
  auto last = js.last_msg(state_stream, subject);
  if (last) return std::optional<stored_message>{std::move(*last)};
  if (last.err().code == errc::not_found)
    return std::optional<stored_message>{};
  return last.err();
}

outcome<uint64_t> cas_write(jetstream& js, const std::string& subject,
                            const std::string& data, uint64_t expected_seq) {
  auto ack = js.publish_cas(subject, data, expected_seq);
  if (ack) return ack->sequence;
  if (ack.err().code != errc::conflict) return ack.err();
  auto last = js.last_msg(state_stream, subject);
  if (last && last->data == data && last->sequence > expected_seq)
    return last->sequence;
  return ack.err();
}

std::vector<outcome<uint64_t>>
cas_write_batch(jetstream& js, const std::vector<cas_message>& messages) {
  auto acks = js.publish_cas_batch(messages, js.timeout());
  std::vector<outcome<uint64_t>> out;
  out.reserve(messages.size());
  for (size_t i = 0; i < messages.size(); ++i) {
    auto& ack = acks[i];
    if (ack) {
      out.emplace_back(ack->sequence);
      continue;
    }
    out.emplace_back(ack.err());
    if (ack.err().code != errc::conflict) continue;
    auto& m = messages[i];
    auto last = js.last_msg(state_stream, m.subject);
    if (last && last->data == m.data &&
        last->sequence > m.expected_last_subject_seq)
      out.back() = last->sequence;
  }
  return out;
}

std::string events_subject(uint32_t slot) {
  return "shelfsync.events." + std::to_string(slot);
}

std::string hex_text(const std::string& text) {
  return hex(reinterpret_cast<const unsigned char*>(text.data()), text.size());
}

std::string product_subject(uint32_t slot, const std::string& code) {
  return "shelfsync.state.product." + std::to_string(slot) + "." +
         hex_text(code);
}

std::string checkpoint_subject(uint32_t slot) {
  return "shelfsync.state.checkpoint." + std::to_string(slot);
}

stream_spec events_stream_spec(int replicas,
                               std::chrono::milliseconds duplicate_window) {
  stream_spec spec;
  spec.name = events_stream;
  spec.subjects = {"shelfsync.events.*"};
  spec.replicas = replicas;
  spec.duplicate_window = duplicate_window;
  // The appliers read their slot's messages by direct gets (node.cpp).
  spec.allow_direct = true;
  return spec;
}

stream_spec state_stream_spec(int replicas) {
  stream_spec spec;
  spec.name = state_stream;
  spec.subjects = {"shelfsync.state.>"};
  spec.replicas = replicas;
  spec.max_msgs_per_subject = 1;
  return spec;
}

batch_messages split_batch(const std::vector<stock_event>& events,
                           uint32_t slots, size_t max_bytes) {
  batch_messages out;
  // Each event's slot, or `slots` when it repeats an id earlier in the
  // batch; then the events grouped by slot, in batch order (a counting
  // sort).
  std::unordered_set<std::string_view> seen;
  seen.reserve(events.size());
  std::vector<uint32_t> slot(events.size());
  std::vector<size_t> per_slot(size_t{slots} + 1, 0);
  for (size_t i = 0; i < events.size(); ++i) {
    auto& e = events[i];
    slot[i] = seen.insert(e.id).second ? slot_of(e.product, slots) : slots;
    ++per_slot[slot[i]];
  }
  out.repeated = per_slot[slots];
  std::vector<size_t> start(size_t{slots} + 1, 0);
  for (uint32_t s = 1; s <= slots; ++s)
    start[s] = start[s - 1] + per_slot[s - 1];
  std::vector<const stock_event*> ordered(events.size());
  {
    auto next = start;
    for (size_t i = 0; i < events.size(); ++i)
      ordered[next[slot[i]]++] = &events[i];
  }

  std::string text; // one event's JSON
  for (uint32_t s = 0; s < slots; ++s) {
    if (per_slot[s] == 0) continue;
    size_t part = 0;
    size_t count = 0;
    std::string data;
    auto flush = [&] {
      data += ']';
      auto id = "s" + std::to_string(s) + "-p" + std::to_string(part++) + "-" +
                sha256_hex(data);
      out.messages.push_back(
          outgoing_message{events_subject(s), std::move(data), std::move(id)});
      out.event_counts.push_back(count);
      data.clear();
      count = 0;
    };
    for (size_t k = start[s]; k < start[s] + per_slot[s]; ++k) {
      text.clear();
      append_event_json(text, *ordered[k]);
      if (!data.empty() && data.size() + text.size() + 2 > max_bytes) flush();
      data += data.empty() ? '[' : ',';
      data += text;
      ++count;
    }
    if (!data.empty()) flush();
  }
  return out;
}

std::vector<outgoing_message>
event_messages(const std::vector<stock_event>& events, uint32_t slots,
               size_t* repeated, size_t max_bytes) {
  auto split = split_batch(events, slots, max_bytes);
  if (repeated != nullptr) *repeated = split.repeated;
  return std::move(split.messages);
}

std::vector<product_events>
events_by_product(const std::vector<stock_event>& events) {
  std::vector<product_events> out;
  std::unordered_map<std::string_view, size_t> index;
  for (auto& e : events) {
    auto [at, first] = index.try_emplace(e.product, out.size());
    if (first) out.push_back(product_events{e.product, {}});
    out[at->second].events.push_back(&e);
  }
  return out;
}

outcome<std::vector<stock_event>> decode_events(const std::string& data) {
  auto body = json::parse(data, nullptr, false);
  if (!body.is_array())
    return error{errc::invalid, "an events message is not a JSON array"};
  std::vector<stock_event> out;
  try {
    for (auto& item : body) {
      stock_event e;
      e.id = item.at("id").get<std::string>();
      e.product = item.at("product").get<std::string>();
      e.warehouse = item.at("warehouse").get<std::string>();
      if (item.contains("on_hand")) {
        e.on_hand = item["on_hand"].get<int64_t>();
        e.fields |= stock_event::has_on_hand;
      }
      if (item.contains("delta")) {
        e.delta = item["delta"].get<int64_t>();
        e.fields |= stock_event::has_delta;
      }
      if (item.contains("reserved")) {
        e.reserved = item["reserved"].get<int64_t>();
        e.fields |= stock_event::has_reserved;
      }
      if (item.contains("version")) {
        e.version = item["version"].get<int64_t>();
        e.fields |= stock_event::has_version;
      }
      if (item.contains("at")) e.at = item["at"].get<std::string>();
      out.push_back(std::move(e));
    }
  } catch (const json::exception& x) {
    return error{errc::invalid,
                 std::string{"an events message holds a bad event: "} +
                     x.what()};
  }
  return out;
}

std::string encode(const product_state& state) {
  json stock = json::object();
  for (auto& [wh, s] : state.record.stock) {
    json w{{"on_hand", s.on_hand}, {"reserved", s.reserved}};
    if (s.versioned) w["version"] = s.version;
    stock[wh] = std::move(w);
  }
  return json{{"product", state.product},
              {"applied_seq", state.applied_seq},
              {"stock", std::move(stock)},
              {"id_segments", state.id_segments},
              {"id_count", state.id_count}}
      .dump();
}

outcome<product_state> decode_product(const std::string& data) {
  auto body = json::parse(data, nullptr, false);
  if (!body.is_object())
    return error{errc::invalid, "a product state is not a JSON object"};
  product_state out;
  try {
    out.product = body.at("product").get<std::string>();
    out.applied_seq = body.at("applied_seq").get<uint64_t>();
    for (auto& [wh, w] : body.at("stock").items()) {
      auto& s = out.record.stock[wh];
      s.on_hand = w.at("on_hand").get<int64_t>();
      s.reserved = w.at("reserved").get<int64_t>();
      if (w.contains("version")) {
        s.version = w["version"].get<int64_t>();
        s.versioned = true;
      }
    }
    out.id_segments = body.at("id_segments").get<uint32_t>();
    out.id_count = body.at("id_count").get<uint64_t>();
  } catch (const json::exception& x) {
    return error{errc::invalid,
                 std::string{"a product state is malformed: "} + x.what()};
  }
  return out;
}

outcome<std::optional<versioned<product_state>>>
load_product(jetstream& js, uint32_t slot, const std::string& code) {
  auto last = last_state(js, product_subject(slot, code));
  if (!last) return last.err();
  if (!*last) return std::optional<versioned<product_state>>{};
  auto state = decode_product((*last)->data);
  if (!state)
    return error{state.err().code,
                 "product \"" + code + "\": " + state.err().message};
  return std::optional<versioned<product_state>>{
      versioned<product_state>{std::move(*state), (*last)->sequence}};
}

outcome<uint64_t> store_product(jetstream& js, uint32_t slot,
                                const product_state& state,
                                uint64_t expected_seq) {
  return cas_write(js, product_subject(slot, state.product), encode(state),
                   expected_seq);
}

outcome<versioned<uint64_t>> load_checkpoint(jetstream& js, uint32_t slot) {
  auto last = last_state(js, checkpoint_subject(slot));
  if (!last) return last.err();
  if (!*last) return versioned<uint64_t>{0, 0};
  auto body = json::parse((*last)->data, nullptr, false);
  if (!body.is_object() || !body.contains("applied_seq") ||
      !body["applied_seq"].is_number_unsigned())
    return error{errc::invalid, "the checkpoint of slot " +
                                    std::to_string(slot) + " is malformed"};
  return versioned<uint64_t>{body["applied_seq"].get<uint64_t>(),
                             (*last)->sequence};
}

outcome<uint64_t> store_checkpoint(jetstream& js, uint32_t slot,
                                   uint64_t applied_seq,
                                   uint64_t expected_seq) {
  return cas_write(js, checkpoint_subject(slot),
                   json{{"applied_seq", applied_seq}}.dump(), expected_seq);
}

outcome<uint64_t> last_event_seq(jetstream& js, uint32_t slot) {
  auto last = js.last_msg(events_stream, events_subject(slot));
  if (last) return last->sequence;
  if (last.err().code == errc::not_found) return uint64_t{0};
  return last.err();
}

} // namespace shelfsync::cluster
