#include "config/validate.hpp"

#include <algorithm>
#include <cctype>
#include <map>

namespace shelfsync::detail {

namespace {

constexpr const char* listen_form = "\"host:port\" (e.g. \"127.0.0.1:8080\")";

/// Splits `text` into host and port; reports at `path` what is wrong.
void read_listen(object_reader& node, const std::string& text,
                 node_config& out) {
  auto path = node.path_of("listen");
  auto colon = text.rfind(':');
  if (colon == std::string::npos) {
    node.report(path, std::string{"must be "} + listen_form + ", got " +
                          json_string(text));
    return;
  }
  auto host = text.substr(0, colon);
  auto port = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  else if (host.find(':') != std::string::npos) {
    node.report(path,
                "an IPv6 host must be in brackets (\"[::1]:8080\"), got " +
                    json_string(text));
    return;
  }
  if (host.empty()) {
    node.report(path, std::string{"has an empty host; expected "} +
                          listen_form + ", got " + json_string(text));
    return;
  }
  if (std::any_of(host.begin(), host.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u <= 0x20 || u == 0x7f || c == '/' || c == '[' || c == ']';
      })) {
    node.report(path, "has an invalid host; expected " +
                          std::string{listen_form} + ", got " +
                          json_string(text));
    return;
  }
  bool digits = !port.empty() && port.size() <= 5 &&
                std::all_of(port.begin(), port.end(), [](char c) {
                  return std::isdigit(static_cast<unsigned char>(c));
                });
  if (!digits || std::stoi(port) < 1 || std::stoi(port) > 65535) {
    node.report(path,
                "must have a port from 1 to 65535, got " + json_string(text));
    return;
  }
  out.listen_host = host;
  out.listen_port = static_cast<uint16_t>(std::stoi(port));
}

void read_log_retention(const json& value, const std::string& path,
                        log_retention_config& out,
                        std::vector<config_problem>& problems) {
  object_reader r{value, path, problems};
  if (!r.is_object()) return;
  auto has_days = r.member("days", presence::optional, "an integer");
  auto has_bytes = r.member("bytes", presence::optional, "an integer");
  if (auto days = r.integer("days", presence::optional, 1, 36500))
    out.days = static_cast<uint32_t>(*days);
  if (auto bytes = r.integer("bytes", presence::optional, 1))
    out.bytes = static_cast<uint64_t>(*bytes);
  if (has_days == nullptr && has_bytes == nullptr)
    r.report(path, "must set \"days\" or \"bytes\" (or both), e.g. "
                   "{\"days\": 30}; leave log_retention out to keep the "
                   "whole log");
  r.finish();
}

void read_node(const json& value, const std::string& path, node_config& out,
               std::vector<config_problem>& problems) {
  object_reader node{value, path, problems};
  if (auto dir = node.text("data_dir", presence::optional)) out.data_dir = *dir;
  if (auto listen = node.string("listen", presence::optional))
    read_listen(node, *listen, out);
  if (auto mode = node.string("durability", presence::optional)) {
    if (*mode == "wal")
      out.durability = durability::wal;
    else if (*mode == "fsync")
      out.durability = durability::fsync;
    else
      node.report(node.path_of("durability"),
                  "must be \"wal\" or \"fsync\", got " + json_string(*mode));
  }
  if (auto idle =
          node.integer("product_idle_seconds", presence::optional, 1, 86400))
    out.product_idle_seconds = static_cast<uint32_t>(*idle);
  if (auto seconds =
          node.integer("checkpoint_seconds", presence::optional, 1, 3600))
    out.checkpoint_seconds = static_cast<uint32_t>(*seconds);
  if (auto bytes = node.integer("max_body_bytes", presence::optional, 1,
                                int64_t{1} << 30))
    out.max_body_bytes = static_cast<uint64_t>(*bytes);
  if (auto seconds =
          node.integer("read_timeout_seconds", presence::optional, 1, 3600))
    out.read_timeout_seconds = static_cast<uint32_t>(*seconds);
  if (auto seconds =
          node.integer("idle_timeout_seconds", presence::optional, 1, 86400))
    out.idle_timeout_seconds = static_cast<uint32_t>(*seconds);
  if (auto seconds =
          node.integer("shutdown_seconds", presence::optional, 1, 3600))
    out.shutdown_seconds = static_cast<uint32_t>(*seconds);
  if (auto format = node.string("log_format", presence::optional)) {
    if (*format == "text" || *format == "json")
      out.log_format = *format;
    else
      node.report(node.path_of("log_format"),
                  "must be \"text\" or \"json\", got " + json_string(*format));
  }
  if (auto level = node.string("log_level", presence::optional)) {
    if (*level == "debug" || *level == "info" || *level == "warning" ||
        *level == "error")
      out.log_level = *level;
    else
      node.report(node.path_of("log_level"),
                  "must be \"debug\", \"info\", \"warning\" or \"error\", "
                  "got " +
                      json_string(*level));
  }
  if (auto* retention =
          node.member("log_retention", presence::optional, "an object"))
    read_log_retention(*retention, node.path_of("log_retention"),
                       out.log_retention, problems);
  if (auto* cluster = node.member("cluster", presence::optional, "an object")) {
    cluster_config parsed;
    auto before = problems.size();
    read_cluster(*cluster, node.path_of("cluster"), parsed, problems);
    if (problems.size() == before) out.cluster = std::move(parsed);
    // JetStream 2.9 syncs its files on its own schedule (every 60 s): an
    // acknowledged batch survives process kills, not a power loss.
    if (out.durability == durability::fsync)
      node.report(node.path_of("durability"),
                  "must not be \"fsync\" in cluster mode (node.cluster is "
                  "set): NATS JetStream 2.9 syncs to disk on its own "
                  "schedule, so an acknowledged batch survives process kills "
                  "but not a power loss; use \"wal\"");
  }
  node.finish();
}

void read_api(const json& value, const std::string& path, api_config& out,
              std::vector<config_problem>& problems) {
  object_reader api{value, path, problems};
  if (auto name = api.env_name("token_env", presence::optional))
    out.token_env = *name;
  api.finish();
}

} // namespace

void read_node_and_api(object_reader& doc, config& out,
                       std::vector<config_problem>& problems) {
  if (auto* node = doc.member("node", presence::optional, "an object"))
    read_node(*node, doc.path_of("node"), out.node, problems);
  if (auto* api = doc.member("api", presence::optional, "an object"))
    read_api(*api, doc.path_of("api"), out.api, problems);
}

bool read_warehouses(object_reader& doc, config& out,
                     std::vector<config_problem>& problems) {
  auto* list = doc.array("warehouses", presence::required);
  if (list == nullptr) return false;
  if (list->empty()) {
    // Every shop's entries would be unknown too; say it once.
    doc.report(
        doc.path_of("warehouses"),
        "must declare at least one warehouse, e.g. [{\"id\": \"WH-A\"}]");
    return false;
  }
  // Where each id was first declared, to point a duplicate at it.
  std::map<std::string, std::string> first;
  for (size_t i = 0; i < list->size(); ++i) {
    auto path = index_path(doc.path_of("warehouses"), i);
    object_reader entry{(*list)[i], path, problems};
    if (auto id = entry.text("id", presence::required)) {
      auto [at, fresh] = first.emplace(*id, path);
      if (fresh)
        out.warehouses.push_back(warehouse_config{*id});
      else
        entry.report(entry.path_of("id"),
                     "duplicate warehouse id " + json_string(*id) +
                         ", already declared at " + at->second +
                         "; warehouse ids must be unique");
    }
    entry.finish();
  }
  return true;
}

void read_document(const json& doc, config& out,
                   std::vector<config_problem>& problems) {
  object_reader top{doc, "$", problems};
  if (!top.is_object()) return;
  read_node_and_api(top, out, problems);
  auto warehouses_known = read_warehouses(top, out, problems);
  read_shops(top, out, warehouses_known, problems);
  top.finish();
}

} // namespace shelfsync::detail
