// libFuzzer target for the config loader (config/: parse_config, which
// load_config uses for the file's text).
//
// Every input either yields a config, and then it satisfies what the rest of
// shelfsync relies on, or yields no config and a non-empty list of problems,
// each with a JSON path rooted at "$" and a message that a JSON answer (the
// reload endpoint's) can carry.
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "config/config.hpp"

using json = nlohmann::json;
using namespace shelfsync;

namespace {

[[noreturn]] void broken(const std::string& text, const std::string& what) {
  std::cerr << "invariant broken: " << what << "\ninput: "
            << json(text).dump(-1, ' ', true, json::error_handler_t::replace)
            << '\n';
  std::abort();
}

void check(bool ok, const std::string& text, const std::string& what) {
  if (!ok) broken(text, what);
}

bool sendable(const std::string& s) {
  try {
    (void)json(s).dump();
    return true;
  } catch (const json::exception&) {
    return false;
  }
}

/// "$" followed by `.name`, `[n]` or `["key"]` steps.
bool is_json_path(const std::string& p) {
  if (p.empty() || p[0] != '$') return false;
  size_t i = 1;
  while (i < p.size()) {
    if (p[i] == '.') {
      auto start = ++i;
      while (i < p.size() && p[i] != '.' && p[i] != '[')
        ++i;
      if (i == start) return false;
    } else if (p[i] == '[' && i + 1 < p.size() && p[i + 1] == '"') {
      // A quoted key: a JSON string literal, escapes included.
      i += 2;
      while (i < p.size() && p[i] != '"')
        i += p[i] == '\\' ? 2 : 1;
      if (i + 1 >= p.size() || p[i + 1] != ']') return false;
      i += 2;
    } else if (p[i] == '[') {
      auto close = p.find(']', i);
      if (close == std::string::npos || close == i + 1) return false;
      for (auto k = i + 1; k < close; ++k)
        if (!std::isdigit(static_cast<unsigned char>(p[k]))) return false;
      i = close + 1;
    } else {
      return false;
    }
  }
  return true;
}

void check_config(const std::string& text, const config& c) {
  check(!c.node.data_dir.empty(), text, "empty data_dir");
  check(c.node.listen_port >= 1, text, "port 0");
  check(!c.node.listen_host.empty(), text, "empty listen host");
  check(c.node.max_body_bytes >= 1, text, "max_body_bytes 0");
  check(c.node.read_timeout_seconds >= 1 && c.node.idle_timeout_seconds >= 1 &&
            c.node.shutdown_seconds >= 1,
        text, "a zero timeout");
  check(!c.api.token_env.empty(), text, "empty token_env");
  std::set<std::string> warehouses;
  for (auto& w : c.warehouses) {
    check(!w.id.empty(), text, "empty warehouse id");
    check(warehouses.insert(w.id).second, text, "duplicate warehouse " + w.id);
  }
  std::set<std::string> shops;
  for (auto& s : c.shops) {
    check(!s.id.empty(), text, "empty shop id");
    for (char ch : s.id)
      check(std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' ||
                ch == '_' || ch == '-',
            text, "shop id with a character not allowed in URLs: " + s.id);
    check(shops.insert(s.id).second, text, "duplicate shop " + s.id);
    check(c.find_shop(s.id) != nullptr, text, "find_shop misses " + s.id);
    std::set<std::string> seen;
    for (auto& w : s.warehouses) {
      check(c.has_warehouse(w.warehouse), text,
            "shop " + s.id + " names undeclared warehouse " + w.warehouse);
      check(seen.insert(w.warehouse).second, text,
            "shop " + s.id + " lists " + w.warehouse + " twice");
      if (s.channel == channel_kind::shopify && w.enabled)
        check(!w.location.empty(), text,
              "enabled Shopify warehouse without a location");
    }
    if (s.rules.buffer) check(*s.rules.buffer >= 0, text, "negative buffer");
    if (s.rules.percent)
      check(*s.rules.percent >= 0 && *s.rules.percent <= 100, text,
            "percent out of range");
    if (s.rules.max) check(*s.rules.max >= 0, text, "negative max");
    if (s.channel == channel_kind::shopify) {
      check(!s.shopify.shop_url.empty() && !s.shopify.access_token_env.empty(),
            text, "Shopify shop without url or token variable");
    } else {
      auto& a = s.amazon;
      check(!a.endpoint.empty() && !a.lwa_endpoint.empty() &&
                !a.seller_id.empty() && !a.marketplace_ids.empty() &&
                !a.client_id_env.empty() && !a.client_secret_env.empty() &&
                !a.refresh_token_env.empty() && !a.product_type.empty(),
            text, "Amazon shop missing a required setting");
      check(a.batch_interval >= std::chrono::seconds{1} &&
                a.feed_poll >= std::chrono::seconds{1},
            text, "Amazon interval 0");
    }
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text{reinterpret_cast<const char*>(data), size};
  auto result = parse_config(text, "fuzz.json");
  if (result) {
    check(result.problems.empty(), text, "a config and problems at once");
    check_config(text, *result.value);
    return 0;
  }
  check(!result.problems.empty(), text, "no config and no problem");
  for (auto& p : result.problems) {
    check(is_json_path(p.path), text, "not a JSON path: " + p.path);
    check(!p.message.empty(), text, "problem without a message at " + p.path);
    check(sendable(p.path) && sendable(p.message), text,
          "problem text is not valid UTF-8: " + to_string(p));
  }
  return 0;
}
