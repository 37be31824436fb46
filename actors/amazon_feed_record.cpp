#include "actors/amazon_feed_record.hpp"

#include <cstdio>

#include <nlohmann/json.hpp>

namespace shelfsync {

using nlohmann::json;

std::string amazon_feed_key(uint64_t n) {
  char digits[24];
  std::snprintf(digits, sizeof digits, "%020llu",
                static_cast<unsigned long long>(n));
  return std::string{amazon_feed_prefix} + digits;
}

uint64_t amazon_feed_number(std::string_view key) {
  if (key.substr(0, amazon_feed_prefix.size()) != amazon_feed_prefix) return 0;
  key.remove_prefix(amazon_feed_prefix.size());
  if (key.empty() || key.size() > 20) return 0;
  uint64_t n = 0;
  for (auto c : key) {
    if (c < '0' || c > '9') return 0;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return n;
}

std::string encode(const amazon_feed_record& x) {
  json entries = json::array();
  for (size_t i = 0; i < x.entries.size(); ++i)
    entries.push_back(
        json::array({x.entries[i].sku, x.entries[i].quantity,
                     i < x.seqs.size() ? x.seqs[i] : uint64_t{0}}));
  json out{{"feed_id", x.feed_id},
           {"submitted_ms", x.submitted_ms},
           {"entries", std::move(entries)}};
  return out.dump();
}

bool decode(std::string_view in, amazon_feed_record& x) {
  auto doc = json::parse(in, nullptr, false);
  if (!doc.is_object()) return false;
  auto id = doc.find("feed_id");
  auto at = doc.find("submitted_ms");
  auto entries = doc.find("entries");
  if (id == doc.end() || !id->is_string() || at == doc.end() ||
      !at->is_number_integer() || entries == doc.end() || !entries->is_array())
    return false;
  amazon_feed_record out;
  out.key = x.key;
  out.feed_id = id->get<std::string>();
  out.submitted_ms = at->get<int64_t>();
  for (auto& e : *entries) {
    if (!e.is_array() || e.size() != 3 || !e[0].is_string() ||
        !e[1].is_number_integer() || !e[2].is_number_unsigned())
      return false;
    out.entries.push_back({e[0].get<std::string>(), e[1].get<int64_t>()});
    out.seqs.push_back(e[2].get<uint64_t>());
  }
  x = std::move(out);
  return true;
}

} // namespace shelfsync
