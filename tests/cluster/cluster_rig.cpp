#include "tests/cluster/cluster_rig.hpp"

#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include <nats/nats.h>

#include "cluster/event_log.hpp"
#include "cluster/jetstream.hpp"
#include "cluster/product_ids.hpp"
#include "cluster/slots.hpp"
#include "net/client.hpp"
#include "net/url.hpp"

namespace shelfsync::tests {

namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

const std::string api_token = "cluster-rig-token";

std::string product_code(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "CLU-%03d", i);
  return buf;
}

std::string tail(const std::string& text, size_t n) {
  return text.size() <= n ? text : "..." + text.substr(text.size() - n);
}

/// One request; status 0 when no answer came.
cluster_rig::answer call(const std::string& base, http::verb method,
                         const std::string& path, const std::string* body,
                         const std::string& token,
                         std::chrono::milliseconds timeout = 15s) {
  http::client_options o;
  o.connect_timeout = 2s;
  o.request_timeout = timeout;
  http::client c{*http::parse_url(base), o};
  auto req = body ? http::make_json_request(method, path, *body)
                  : http::make_request(method, path);
  if (!token.empty())
    req.set(boost::beast::http::field::authorization, "Bearer " + token);
  auto r = c.send(std::move(req));
  cluster_rig::answer out;
  if (!r.ok()) return out;
  out.status = r.value().result_int();
  out.body = json::parse(r.value().body(), nullptr, false);
  if (out.body.is_discarded()) out.body = r.value().body();
  return out;
}

bool keep_dir(const cluster_rig_options& o) {
  return o.keep || std::getenv("SHELFSYNC_CLUSTER_KEEP") != nullptr;
}

} // namespace

const std::string cluster_rig::shopify_store = "clu-store";
const std::string cluster_rig::amazon_seller = "clu-amazon";
const std::string cluster_rig::amazon_seller_id = "A2CLUSTERRIG";
const std::string cluster_rig::location_a = "gid://shopify/Location/2001";
const std::string cluster_rig::location_b = "gid://shopify/Location/2002";

cluster_rig::cluster_rig(cluster_rig_options options)
    : options_(std::move(options)),
      dir_((std::filesystem::temp_directory_path() /
            ("shelfsync-" + options_.name + "-" + std::to_string(::getpid())))
               .string()) {
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
  // Secrets reach the nodes through their environment only.
  ::setenv("CLU_API_TOKEN", api_token.c_str(), 1);
  ::setenv("CLU_SHOPIFY_TOKEN", "shpat_cluster_rig", 1);
  ::setenv("CLU_AMZ_CLIENT_ID", "amzn1.application-oa2-client.clu", 1);
  ::setenv("CLU_AMZ_CLIENT_SECRET", "clu-client-secret", 1);
  ::setenv("CLU_AMZ_REFRESH_TOKEN", "Atzr|clu-refresh-token", 1);
  for (int i = 0; i < options_.nodes; ++i) {
    node_process n;
    n.port = free_port();
    n.child = std::make_unique<child_process>();
    nodes_.push_back(std::move(n));
  }
}

cluster_rig::~cluster_rig() {
  for (int i = 0; i < node_count(); ++i)
    kill_node(i);
  if (sim_.running()) {
    if (keep_dir(options_) && options_.simulators) {
      // What the simulators received, for a post-mortem.
      std::ofstream{dir_ + "/shopify-requests.json"}
          << shopify_requests().dump(1);
      std::ofstream{dir_ + "/shopify-levels.json"} << shopify_levels().dump(1);
      std::ofstream{dir_ + "/amazon-requests.json"}
          << amazon_requests().dump(1);
      std::ofstream{dir_ + "/amazon-listings.json"}
          << amazon_listings().dump(1);
    }
    sim_.stop(SIGTERM);
  }
  js_.reset();
  nats_.reset();
  if (keep_dir(options_))
    std::cout << "cluster rig: state kept in " << dir_ << "\n";
  else
    std::filesystem::remove_all(dir_);
}

std::string cluster_rig::start() {
  if (shelfsync_binary().empty())
    return "SHELFSYNC_BIN does not name the shelfsync binary";
  if (test::nats_servers::binary().empty())
    return "nats-server is not installed (scripts/setup installs it)";
  nats_ = std::make_unique<test::nats_servers>(3);
  if (!nats_->error().empty()) return "NATS: " + nats_->error();
  if (options_.simulators)
    if (auto why = start_simulators(); !why.empty()) return why;
  for (int i = 0; i < node_count(); ++i)
    write_config(i);
  // The first node creates the streams and the lease bucket; the others
  // then start together.
  for (int i = 0; i < node_count(); ++i)
    if (auto why = start_node(i); !why.empty()) return why;
  return {};
}

// -- the catalogue
// -------------------------------------------------------------

std::vector<std::string> cluster_rig::products() const {
  std::vector<std::string> out;
  for (int i = 0; i < options_.products; ++i)
    out.push_back(product_code(i));
  return out;
}

std::vector<std::string> cluster_rig::warehouses() const {
  return {"WH-A", "WH-B", "WH-C"};
}

std::vector<shop_spec> cluster_rig::shops() const {
  if (!options_.simulators) return {};
  shop_spec shopify{
      shopify_store, {{"WH-A", location_a}, {"WH-B", location_b}}, false, {}};
  shopify.rules.buffer = 1;
  shopify.rules.percent = 90;
  shop_spec amazon{amazon_seller, {{"WH-A", ""}, {"WH-C", ""}}, true, {}};
  amazon.rules.max = 45;
  return {shopify, amazon};
}

void cluster_rig::write_config(int i) const {
  json cluster = {{"node_id", node_id(i)},
                  {"nats", nats_->urls()},
                  {"slots", options_.slots},
                  {"replicas", 3},
                  {"lease_ttl_seconds", options_.lease_ttl_seconds}};
  json conf = {
      {"node",
       {{"data_dir", dir_ + "/" + node_id(i)},
        {"listen", "127.0.0.1:" + std::to_string(nodes_[i].port)},
        {"cluster", cluster}}},
      {"api", {{"token_env", "CLU_API_TOKEN"}}},
      {"warehouses", {{{"id", "WH-A"}}, {{"id", "WH-B"}}, {{"id", "WH-C"}}}},
      {"shops", json::array()}};
  if (options_.simulators) {
    auto sim = "http://127.0.0.1:" + std::to_string(sim_port_);
    conf["shops"] = {
        {{"id", shopify_store},
         {"channel", "shopify"},
         {"stock_sync", true},
         {"shopify",
          {{"shop_url", sim + "/" + shopify_store},
           {"api_version", "2026-10"},
           {"access_token_env", "CLU_SHOPIFY_TOKEN"}}},
         {"warehouses",
          {{{"warehouse", "WH-A"}, {"enabled", true}, {"location", location_a}},
           {{"warehouse", "WH-B"}, {"enabled", true}, {"location", location_b}},
           {{"warehouse", "WH-C"}, {"enabled", false}}}},
         {"rules", {{"buffer", 1}, {"percent", 90}}}},
        {{"id", amazon_seller},
         {"channel", "amazon"},
         {"stock_sync", true},
         {"amazon",
          {{"endpoint", sim},
           {"lwa_endpoint", sim + "/auth/o2/token"},
           {"seller_id", amazon_seller_id},
           {"marketplace_ids", {"ATVPDKIKX0DER"}},
           {"client_id_env", "CLU_AMZ_CLIENT_ID"},
           {"client_secret_env", "CLU_AMZ_CLIENT_SECRET"},
           {"refresh_token_env", "CLU_AMZ_REFRESH_TOKEN"},
           {"batch_interval_seconds", options_.amazon_batch_seconds},
           {"feed_poll_seconds", 1}}},
         {"warehouses",
          {{{"warehouse", "WH-A"}, {"enabled", true}},
           {{"warehouse", "WH-B"}, {"enabled", false}},
           {{"warehouse", "WH-C"}, {"enabled", true}}}},
         {"rules", {{"max", 45}}}}};
  }
  std::ofstream{config_path(i)} << conf.dump(2);
}

// -- the simulators
// --------------------------------------------------------------

std::string cluster_rig::start_simulators() {
  sim_port_ = free_port();
  sim_.start({"sim", "--port", std::to_string(sim_port_)}, "",
             dir_ + "/sim.log");
  if (!wait_until_up("http://127.0.0.1:" + std::to_string(sim_port_),
                     "/_sim/health", 20s))
    return "shelfsync sim did not come up:\n" +
           tail(read_file(dir_ + "/sim.log"), 3000);
  // The store: every product stocked at both mapped locations, at 0.
  json items = json::array();
  for (int i = 0; i < options_.products; ++i) {
    json levels = {{location_a, 0}, {location_b, 0}};
    items.push_back(
        {{"sku", product_code(i)}, {"tracked", true}, {"levels", levels}});
  }
  json seed = {{"access_token", "shpat_cluster_rig"},
               {"bucket", {{"maximum", 20000}, {"restore_rate", 1000}}},
               {"locations",
                {{{"id", location_a}, {"name", "Berlin"}},
                 {{"id", location_b}, {"name", "Hamburg"}}}},
               {"items", items}};
  auto seeded = sim("POST", "/_sim/shopify/" + shopify_store + "/seed", &seed);
  if (seeded.status != 200)
    return "seeding the Shopify store: " + seeded.body.dump();
  json account = {{"seller_id", amazon_seller_id},
                  {"client_id", "amzn1.application-oa2-client.clu"},
                  {"client_secret", "clu-client-secret"},
                  {"refresh_token", "Atzr|clu-refresh-token"}};
  auto added = sim("POST", "/_sim/amazon/sellers", &account);
  if (added.status != 200)
    return "adding the Amazon seller: " + added.body.dump();
  // Feeds processed in under a second, and no Amazon quota (a test cannot
  // wait out createFeed's real pace).
  json amazon = {{"queue_delay_ms", 200},
                 {"processing_delay_ms", 500},
                 {"rate_limits", false}};
  auto set = sim("POST", "/_sim/amazon/faults", &amazon);
  if (set.status != 200)
    return "setting up the Amazon simulator: " + set.body.dump();
  return {};
}

cluster_rig::answer cluster_rig::sim(const std::string& method,
                                     const std::string& path,
                                     const json* body) const {
  auto verb = method == "POST"     ? http::verb::post
              : method == "DELETE" ? http::verb::delete_
                                   : http::verb::get;
  std::string text = body ? body->dump() : std::string{};
  return call("http://127.0.0.1:" + std::to_string(sim_port_), verb, path,
              body ? &text : nullptr, "");
}

json cluster_rig::shopify_levels() const {
  return sim("GET", "/_sim/shopify/" + shopify_store + "/levels").body;
}

json cluster_rig::shopify_requests() const {
  return sim("GET", "/_sim/shopify/" + shopify_store + "/requests").body;
}

json cluster_rig::amazon_listings() const {
  return sim("GET", "/_sim/amazon/" + amazon_seller_id + "/listings").body;
}

json cluster_rig::amazon_requests() const {
  return sim("GET", "/_sim/amazon/requests").body;
}

json cluster_rig::amazon_feeds() const {
  return sim("GET", "/_sim/amazon/feeds").body;
}

// -- NATS
// --------------------------------------------------------------------------

cluster::jetstream* cluster_rig::js(std::string* why) const {
  std::lock_guard<std::mutex> guard{js_mutex_};
  if (js_) return js_.get();
  cluster::connect_options o;
  o.urls = nats_->urls();
  o.name = "cluster-rig";
  o.timeout = 2s;
  auto js = cluster::jetstream::connect(o);
  if (!js) {
    if (why != nullptr) *why = "cannot connect to NATS: " + js.err().message;
    return nullptr;
  }
  js_ = std::move(*js);
  return js_.get();
}

std::string cluster_rig::stream_leader(const std::string& stream) const {
  auto* conn = js(nullptr);
  if (conn == nullptr) return {};
  jsStreamInfo* info = nullptr;
  jsErrCode jerr{};
  std::string leader;
  if (js_GetStreamInfo(&info, conn->context(), stream.c_str(), nullptr,
                       &jerr) == NATS_OK &&
      info->Cluster != nullptr && info->Cluster->Leader != nullptr)
    leader = info->Cluster->Leader;
  jsStreamInfo_Destroy(info);
  return leader;
}

int cluster_rig::kill_stream_leader(const std::string& stream) {
  auto deadline = steady::now() + 10s;
  while (steady::now() < deadline) {
    auto i = nats_->index_of(stream_leader(stream));
    if (i >= 0) {
      nats_->kill(i);
      return i;
    }
    std::this_thread::sleep_for(200ms);
  }
  return -1;
}

std::string cluster_rig::restart_nats(int i) {
  if (nats_->restart(i)) return {};
  return "NATS server " + nats_->name(i) + " did not come back:\n" +
         tail(nats_->log(i), 3000);
}

// -- the nodes
// ---------------------------------------------------------------------

std::string cluster_rig::node_id(int i) const {
  return "n" + std::to_string(i + 1);
}

uint16_t cluster_rig::node_port(int i) const { return nodes_[i].port; }

std::string cluster_rig::node_url(int i) const {
  return "http://127.0.0.1:" + std::to_string(nodes_[i].port);
}

std::string cluster_rig::config_path(int i) const {
  return dir_ + "/" + node_id(i) + ".json";
}

std::string cluster_rig::node_log(int i) const {
  return read_file(dir_ + "/" + node_id(i) + ".log");
}

pid_t cluster_rig::node_pid(int i) const {
  std::lock_guard<std::mutex> guard{nodes_mutex_};
  return nodes_[i].child->pid();
}

bool cluster_rig::node_up(int i) const {
  std::lock_guard<std::mutex> guard{nodes_mutex_};
  return nodes_[i].child->running() && !nodes_[i].paused;
}

std::vector<int> cluster_rig::up_nodes() const {
  std::lock_guard<std::mutex> guard{nodes_mutex_};
  std::vector<int> out;
  for (int i = 0; i < node_count(); ++i)
    if (nodes_[i].child->running() && !nodes_[i].paused) out.push_back(i);
  return out;
}

std::string cluster_rig::start_node(int i) {
  auto& n = nodes_[i];
  {
    std::lock_guard<std::mutex> guard{nodes_mutex_};
    if (n.child->running()) return {};
    auto log = dir_ + "/" + node_id(i) + ".log";
    std::ofstream{log, std::ios::app} << "---- cluster rig: starting "
                                      << node_id(i) << "\n";
    n.child->start({"serve", "--config", config_path(i)}, log, log);
    n.paused = false;
  }
  // Until /readyz says started, or the process ends (it could not join).
  auto deadline = steady::now() + 60s;
  while (steady::now() < deadline) {
    if (wait_until_started(node_url(i), 200ms)) return {};
    std::optional<int> code;
    {
      std::lock_guard<std::mutex> guard{nodes_mutex_};
      code = n.child->wait_for(0ms);
    }
    if (code)
      return node_id(i) + " exited with " + std::to_string(*code) +
             " while starting; its log:\n" + tail(node_log(i), 4000);
  }
  return node_id(i) + " did not start within 60 s; its log:\n" +
         tail(node_log(i), 4000);
}

void cluster_rig::kill_node(int i) {
  std::lock_guard<std::mutex> guard{nodes_mutex_};
  auto& n = nodes_[i];
  n.child->stop(SIGKILL);
  n.paused = false;
}

int cluster_rig::stop_node(int i) {
  std::lock_guard<std::mutex> guard{nodes_mutex_};
  auto& n = nodes_[i];
  if (n.paused) n.child->signal(SIGCONT);
  n.paused = false;
  return n.child->stop(SIGTERM);
}

void cluster_rig::pause_node(int i) {
  std::lock_guard<std::mutex> guard{nodes_mutex_};
  auto& n = nodes_[i];
  if (!n.child->running()) return;
  n.child->signal(SIGSTOP);
  n.paused = true;
}

void cluster_rig::resume_node(int i) {
  std::lock_guard<std::mutex> guard{nodes_mutex_};
  auto& n = nodes_[i];
  if (!n.child->running()) return;
  n.child->signal(SIGCONT);
  n.paused = false;
}

int cluster_rig::shop_driver(const std::string& shop) const {
  for (int i : up_nodes()) {
    auto a = get(i, "/v1/shops/" + shop);
    if (a.status == 200 && a.body.is_object() &&
        a.body.value("cluster", json::object()).value("driven_here", false))
      return i;
  }
  return -1;
}

std::string cluster_rig::restart_node(int i) {
  kill_node(i);
  return start_node(i);
}

// -- the HTTP API
// ------------------------------------------------------------------

cluster_rig::answer cluster_rig::get(int i, const std::string& path) const {
  return call(node_url(i), http::verb::get, path, nullptr, api_token);
}

cluster_rig::answer
cluster_rig::post_to(int i, const std::vector<event_spec>& batch) const {
  json body = json::array();
  for (auto& e : batch)
    body.push_back(e.to_json());
  auto text = body.dump();
  return call(node_url(i), http::verb::post, "/v1/stock/events", &text,
              api_token);
}

cluster_rig::batch_result
cluster_rig::post_batch(const std::vector<event_spec>& batch,
                        std::mt19937_64& rng,
                        std::chrono::milliseconds limit) const {
  batch_result out;
  auto deadline = steady::now() + limit;
  for (;;) {
    auto up = up_nodes();
    if (!up.empty()) {
      auto i = up[std::uniform_int_distribution<size_t>{0, up.size() - 1}(rng)];
      auto a = post_to(i, batch);
      ++out.attempts;
      out.status = a.status;
      out.body = a.body;
      if (a.status == 200) {
        out.node = i;
        return out;
      }
      if (a.status >= 400 && a.status < 500) {
        out.error = node_id(i) + " refused the batch with " +
                    std::to_string(a.status) + ": " + a.body.dump();
        return out;
      }
    }
    if (steady::now() > deadline) {
      out.error = "no 200 within " + std::to_string(limit.count()) +
                  " ms after " + std::to_string(out.attempts) +
                  " attempts; last status " + std::to_string(out.status) +
                  ": " + out.body.dump();
      return out;
    }
    // Retry-After is 1 s; a shorter pause finds a recovered node sooner and
    // costs the cluster little.
    std::this_thread::sleep_for(up.empty() ? 200ms : 300ms);
  }
}

cluster_rig::answer
cluster_rig::product(int i, const std::string& code,
                     std::chrono::milliseconds limit) const {
  auto deadline = steady::now() + limit;
  for (;;) {
    auto a = get(i, "/v1/products/" + code);
    if ((a.status != 503 && a.status != 0) || steady::now() > deadline)
      return a;
    std::this_thread::sleep_for(200ms);
  }
}

std::string
cluster_rig::applied_ids_differ(const std::string& code,
                                const std::set<std::string>& expected) const {
  std::string why;
  auto* conn = js(&why);
  if (conn == nullptr) return why;
  auto slot = cluster::slot_of(code, options_.slots);
  auto stored = cluster::load_product(*conn, slot, code);
  if (!stored) return "cannot read " + code + ": " + stored.err().message;
  if (!*stored) return code + " is not in the cluster's state";
  auto& state = (*stored)->value;
  auto ids = cluster::product_ids::load(*conn, slot, code, state.id_segments,
                                        state.applied_seq);
  if (!ids) return "cannot read the ids of " + code + ": " + ids.err().message;
  std::vector<std::string> missing;
  for (auto& id : expected)
    if (!ids->contains(id)) missing.push_back(id);
  if (missing.empty() && ids->size() == expected.size()) return {};
  auto extra = ids->size() + missing.size() - expected.size();
  return code + ": " + std::to_string(missing.size()) +
         " ids accepted for it are not applied" +
         (missing.empty() ? std::string{} : " (e.g. " + missing[0] + ")") +
         ", " + std::to_string(extra) + " applied ids were not accepted for it";
}

std::string cluster_rig::log_tails(size_t bytes) const {
  // Without the access log's lines, which would fill the tails.
  auto without_access = [](const std::string& log) {
    std::string out;
    size_t start = 0;
    while (start < log.size()) {
      auto end = log.find('\n', start);
      if (end == std::string::npos) end = log.size();
      auto line = log.substr(start, end - start + 1);
      if (line.find(" access: ") == std::string::npos) out += line;
      start = end + 1;
    }
    return out;
  };
  std::string out;
  for (int i = 0; i < node_count(); ++i)
    out += "-- " + node_id(i) + ".log (tail, without access lines) --\n" +
           tail(without_access(node_log(i)), bytes) + "\n";
  if (options_.simulators)
    out += "-- sim.log (tail) --\n" +
           tail(read_file(dir_ + "/sim.log"), bytes / 2) + "\n";
  return out;
}

} // namespace shelfsync::tests
