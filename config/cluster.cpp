#include <algorithm>
#include <cctype>

#include "config/validate.hpp"

namespace shelfsync::detail {

namespace {

constexpr const char* url_form = "nats://HOST[:PORT] or tls://HOST[:PORT]";

/// Returns what is wrong with `url` as a NATS server URL, or nothing.
std::optional<std::string> nats_url_problem(const std::string& url) {
  std::string rest;
  bool known_scheme = false;
  for (const char* scheme : {"nats://", "tls://"}) {
    std::string prefix = scheme;
    if (url.compare(0, prefix.size(), prefix) == 0) {
      rest = url.substr(prefix.size());
      known_scheme = true;
    }
  }
  if (!known_scheme)
    return std::string{"must be "} + url_form + ", got " + json_string(url);
  if (has_control_character(url) || url.find(' ') != std::string::npos)
    return "must not contain spaces or control characters, got " +
           json_string(url);
  if (rest.find('@') != std::string::npos)
    // The value is not echoed: it may hold a password or token.
    return "must not contain a user name, password or token; the token is "
           "read from the environment variable named by token_env";
  if (rest.find_first_of("/?#") != std::string::npos)
    return std::string{"must be "} + url_form + " without a path, got " +
           json_string(url);
  auto host = rest;
  std::string port;
  if (!rest.empty() && rest[0] == '[') {
    auto close = rest.find(']');
    if (close == std::string::npos)
      return "has an unclosed [ in its host, got " + json_string(url);
    host = rest.substr(1, close - 1);
    auto after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':')
        return "has text after its host, got " + json_string(url);
      port = after.substr(1);
      if (port.empty()) return "has an empty port, got " + json_string(url);
    }
  } else if (auto colon = rest.rfind(':'); colon != std::string::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (port.empty()) return "has an empty port, got " + json_string(url);
  }
  if (host.empty())
    return std::string{"must name a host ("} + url_form + "), got " +
           json_string(url);
  if (!port.empty()) {
    bool digits =
        port.size() <= 5 && std::all_of(port.begin(), port.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c));
        });
    if (!digits || std::stoi(port) < 1 || std::stoi(port) > 65535)
      return "must have a port from 1 to 65535, got " + json_string(url);
  }
  return std::nullopt;
}

void read_nats_urls(object_reader& r, cluster_config& out) {
  auto* list = r.array("nats", presence::required);
  if (list == nullptr) return;
  auto path = r.path_of("nats");
  if (list->empty())
    r.report(path, "must list at least one NATS server URL, e.g. "
                   "[\"nats://127.0.0.1:4222\"]");
  for (size_t i = 0; i < list->size(); ++i) {
    auto& url = (*list)[i];
    if (!url.is_string()) {
      r.report(index_path(path, i), std::string{"must be a string "} +
                                        url_form + ", got " + describe(url));
      continue;
    }
    auto text = url.get<std::string>();
    if (auto problem = nats_url_problem(text))
      r.report(index_path(path, i), std::move(*problem));
    else if (std::find(out.nats.begin(), out.nats.end(), text) !=
             out.nats.end())
      r.report(index_path(path, i), "duplicate NATS URL " + describe(url));
    else
      out.nats.push_back(text);
  }
}

} // namespace

bool is_node_id(const std::string& id) {
  if (id.empty() || id.size() > 63) return false;
  auto lower_or_digit = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  };
  if (!lower_or_digit(id[0])) return false;
  return std::all_of(id.begin(), id.end(), [&](char c) {
    return lower_or_digit(c) || c == '-';
  });
}

void read_cluster(const json& value, const std::string& path,
                  cluster_config& out, std::vector<config_problem>& problems) {
  object_reader r{value, path, problems};
  if (auto id =
          r.string("node_id", presence::required, "a node id such as \"n1\"")) {
    if (is_node_id(*id))
      out.node_id = *id;
    else
      r.report(r.path_of("node_id"),
               "must be a node id of 1 to 63 characters, lower-case letters, "
               "digits and '-', starting with a letter or digit "
               "([a-z0-9][a-z0-9-]{0,62}), got " +
                   json_string(*id));
  }
  read_nats_urls(r, out);
  if (r.member("token", presence::optional, "") != nullptr)
    // Not echoed: it is a secret.
    r.report(r.path_of("token"),
             "must not be in the config: secrets are read from the "
             "environment; put the NATS token in an environment variable and "
             "name it in token_env (e.g. \"token_env\": "
             "\"SHELFSYNC_NATS_TOKEN\")");
  if (auto name = r.env_name("token_env", presence::optional))
    out.token_env = *name;
  if (auto slots = r.integer("slots", presence::optional, 1, 4096))
    out.slots = static_cast<uint32_t>(*slots);
  if (auto* replicas = r.member("replicas", presence::optional, "1, 3 or 5")) {
    if (replicas->is_number_integer() &&
        (*replicas == 1 || *replicas == 3 || *replicas == 5))
      out.replicas = replicas->get<uint32_t>();
    else
      r.report(r.path_of("replicas"),
               "must be 1, 3 or 5, got " + describe(*replicas) +
                   " (JetStream replicas form an odd quorum of at most 5)");
  }
  if (auto ttl = r.integer("lease_ttl_seconds", presence::optional, 2, 300))
    out.lease_ttl = std::chrono::seconds{*ttl};
  if (auto y = r.integer("apply_yield_ms", presence::optional, 0, 5000))
    out.apply_yield = std::chrono::milliseconds{*y};
  r.finish();
}

} // namespace shelfsync::detail
