// The events stream's message text: built directly, byte for byte what
// nlohmann::json writes, read back by decode_events. Pure functions, no
// server.
#include "cluster/event_text.hpp"

#include <openssl/sha.h>

#include <map>
#include <random>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cluster/event_log.hpp"
#include "cluster/slots.hpp"

using namespace shelfsync;
using namespace shelfsync::cluster;
using json = nlohmann::json;

namespace {

/// Strings that need care: quotes, backslashes, every control character,
/// DEL, multi-byte UTF-8 (2, 3 and 4 bytes), line separators, JSON-looking
/// text.
std::vector<std::string> tricky() {
  std::vector<std::string> out = {
      "",
      "plain-ID_01",
      "quote\"inside",
      "\"",
      "back\\slash",
      "\\\"",
      "ends with backslash\\",
      "tab\there",
      "nl\nand\rcr",
      "\b\f",
      std::string{"nul\0byte", 8},
      "del\x7f",
      "caf\xc3\xa9",                  // é
      "\xe6\x97\xa5\xe6\x9c\xac",     // 日本
      "emoji \xf0\x9f\x93\xa6 box",   // U+1F4E6
      "ls\xe2\x80\xa8ps\xe2\x80\xa9", // U+2028, U+2029
      "c1\xc2\x85",                   // U+0085
      "{\"id\":\"x\"},[1,2]",
      "/slash/",
      "\\u0041 not an escape",
  };
  std::string controls;
  for (int c = 0; c < 0x20; ++c)
    controls += static_cast<char>(c);
  out.push_back(controls);
  return out;
}

std::string reference_string(const std::string& s) {
  return json(s).dump(-1, ' ', false, json::error_handler_t::replace);
}

/// The event as the stream held it before the text was built directly: an
/// nlohmann::json object, dumped.
std::string reference_event(const stock_event& e) {
  json out{{"id", e.id}, {"product", e.product}, {"warehouse", e.warehouse}};
  if (e.has(stock_event::has_on_hand)) out["on_hand"] = e.on_hand;
  if (e.has(stock_event::has_delta)) out["delta"] = e.delta;
  if (e.has(stock_event::has_reserved)) out["reserved"] = e.reserved;
  if (e.has(stock_event::has_version)) out["version"] = e.version;
  if (!e.at.empty()) out["at"] = e.at;
  return out.dump();
}

std::string sha256_hex(const std::string& text) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), d);
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (auto c : d) {
    out += digits[c >> 4];
    out += digits[c & 0xf];
  }
  return out;
}

/// The messages as ingest built them before (per slot, parts by size,
/// msg-ids from the content), to check that resends across versions keep
/// their msg-ids.
std::vector<outgoing_message>
reference_messages(const std::vector<stock_event>& events, uint32_t slots,
                   size_t max_bytes) {
  std::set<std::string> seen;
  std::map<uint32_t, std::vector<std::string>> per_slot;
  for (auto& e : events)
    if (seen.insert(e.id).second)
      per_slot[slot_of(e.product, slots)].push_back(reference_event(e));
  std::vector<outgoing_message> out;
  for (auto& [slot, list] : per_slot) {
    size_t part = 0;
    std::string data;
    auto flush = [&, slot = slot] {
      data += ']';
      auto id = "s" + std::to_string(slot) + "-p" + std::to_string(part++) +
                "-" + sha256_hex(data);
      out.push_back({events_subject(slot), data, id});
      data.clear();
    };
    for (auto& text : list) {
      if (!data.empty() && data.size() + text.size() + 2 > max_bytes) flush();
      data += data.empty() ? '[' : ',';
      data += text;
    }
    if (!data.empty()) flush();
  }
  return out;
}

stock_event event(std::string id, std::string product, std::string warehouse) {
  stock_event e;
  e.id = std::move(id);
  e.product = std::move(product);
  e.warehouse = std::move(warehouse);
  e.fields = stock_event::has_delta;
  e.delta = -1;
  return e;
}

/// Random events: ids and codes from printable ASCII, the tricky strings
/// and random bytes; every combination of the optional fields.
std::vector<stock_event> random_events(size_t n, uint64_t seed) {
  std::mt19937_64 rng{seed};
  auto strings = tricky();
  auto text = [&] {
    switch (rng() % 4) {
    case 0:
      return strings[rng() % strings.size()] + std::to_string(rng() % 1000);
    case 1: {
      std::string s;
      for (size_t i = 0, len = 1 + rng() % 12; i < len; ++i)
        s += static_cast<char>(0x20 + rng() % 0x5f);
      return s;
    }
    default:
      return "P-" + std::to_string(rng() % 50);
    }
  };
  std::vector<stock_event> out;
  for (size_t i = 0; i < n; ++i) {
    auto e = event(rng() % 10 == 0 && i > 0 ? out[rng() % i].id : text(),
                   text(), text());
    e.fields = static_cast<uint8_t>(rng() % 16);
    e.on_hand = static_cast<int64_t>(rng() % 2000) - 1000;
    e.delta = static_cast<int64_t>(rng()) >> 11;
    e.reserved = static_cast<int64_t>(rng() % 7);
    e.version = static_cast<int64_t>(rng() >> 12);
    if (rng() % 3 == 0) e.at = "2026-12-04T19:00:00." + std::to_string(i) + "Z";
    out.push_back(std::move(e));
  }
  return out;
}

} // namespace

TEST(cluster_event_text, strings_are_written_as_the_json_library_writes_them) {
  for (auto& s : tricky()) {
    std::string out;
    append_json_string(out, s);
    EXPECT_EQ(out, reference_string(s)) << "for " << json(s).dump();
    EXPECT_EQ(json::parse(out).get<std::string>(), s) << out;
  }
  // Every single byte, and bytes that are not UTF-8 (replaced by U+FFFD as
  // the library replaces them: an API-validated event holds none).
  for (int c = 0; c < 256; ++c) {
    std::string s = "a" + std::string(1, static_cast<char>(c)) + "b";
    std::string out;
    append_json_string(out, s);
    EXPECT_EQ(out, reference_string(s)) << "byte " << c;
  }
  for (std::string bad :
       {"\xff", "ab\xc3", "\xc0\xaf", "\xed\xa0\x80x", "ok\xe2\x82"}) {
    std::string out;
    append_json_string(out, bad);
    EXPECT_EQ(out, reference_string(bad));
    EXPECT_NO_THROW(json::parse(out));
  }
}

TEST(cluster_event_text,
     tricky_ids_and_codes_round_trip_through_the_stream_text) {
  std::vector<stock_event> events;
  auto strings = tricky();
  for (size_t i = 0; i < strings.size(); ++i) {
    auto e = event(strings[i] + "#" + std::to_string(i),
                   strings[(i + 3) % strings.size()] + "P",
                   strings[(i + 7) % strings.size()] + "W");
    e.fields = static_cast<uint8_t>(i % 16);
    e.on_hand = -5 + static_cast<int64_t>(i);
    e.delta = i % 2 ? -(int64_t{1} << 53) : (int64_t{1} << 53);
    e.reserved = static_cast<int64_t>(i);
    e.version = 1'000'000'007 * static_cast<int64_t>(i);
    if (i % 3 == 0) e.at = strings[i];
    events.push_back(std::move(e));
  }
  std::string text = "[";
  for (auto& e : events) {
    if (text.size() > 1) text += ',';
    std::string one;
    append_event_json(one, e);
    EXPECT_EQ(one, reference_event(e));
    text += one;
  }
  text += ']';
  auto decoded = decode_events(text);
  ASSERT_TRUE(decoded) << decoded.err().message;
  ASSERT_EQ(decoded->size(), events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    auto& a = events[i];
    auto& b = (*decoded)[i];
    EXPECT_EQ(b.id, a.id);
    EXPECT_EQ(b.product, a.product);
    EXPECT_EQ(b.warehouse, a.warehouse);
    EXPECT_EQ(b.fields, a.fields) << "event " << i;
    if (a.has(stock_event::has_on_hand)) {
      EXPECT_EQ(b.on_hand, a.on_hand);
    }
    if (a.has(stock_event::has_delta)) {
      EXPECT_EQ(b.delta, a.delta);
    }
    if (a.has(stock_event::has_reserved)) {
      EXPECT_EQ(b.reserved, a.reserved);
    }
    if (a.has(stock_event::has_version)) {
      EXPECT_EQ(b.version, a.version);
    }
    EXPECT_EQ(b.at, a.at);
  }
}

TEST(cluster_event_text, batch_messages_and_their_msg_ids_are_what_they_were) {
  // A resend by a client that first sent to a node of the former version
  // must meet the same msg-ids, so the stream dedupes it.
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    auto events = random_events(300, seed);
    for (size_t max_bytes : {size_t{600}, size_t{256 * 1024}}) {
      auto split = split_batch(events, 7, max_bytes);
      auto expected = reference_messages(events, 7, max_bytes);
      ASSERT_EQ(split.messages.size(), expected.size()) << "seed " << seed;
      ASSERT_EQ(split.event_counts.size(), split.messages.size());
      size_t counted = 0;
      for (size_t i = 0; i < expected.size(); ++i) {
        EXPECT_EQ(split.messages[i].subject, expected[i].subject);
        EXPECT_EQ(split.messages[i].data, expected[i].data);
        EXPECT_EQ(split.messages[i].msg_id, expected[i].msg_id);
        auto decoded = decode_events(split.messages[i].data);
        ASSERT_TRUE(decoded) << decoded.err().message;
        EXPECT_EQ(decoded->size(), split.event_counts[i]);
        counted += split.event_counts[i];
      }
      std::set<std::string> ids;
      for (auto& e : events)
        ids.insert(e.id);
      EXPECT_EQ(counted, ids.size());
      EXPECT_EQ(split.repeated, events.size() - ids.size());
    }
  }
}
