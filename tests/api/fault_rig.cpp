#include "tests/api/fault_rig.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <gtest/gtest.h>

#include "net/url.hpp"

namespace shelfsync::tests {

namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr int product_count = 300;
const std::string store = "flt-store";
const std::string seller = "flt-amazon";
const std::string seller_id = "A2FAULTSUITE";
const std::string api_token = "fault-suite-token";
const std::string loc_a = "gid://shopify/Location/1001";
const std::string loc_b = "gid://shopify/Location/1002";
/// Not mapped: shelfsync zeroes what it finds there (rule 5).
const std::string loc_stray = "gid://shopify/Location/1003";
constexpr int64_t stray_seed = 5;

std::string sku(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "FLT-%03d", i);
  return buf;
}

/// Whether the seed stocks item `i` at the second location (else shelfsync
/// activates it there, rule 4) and at the stray one.
bool seeded_at_b(int i) { return i % 3 != 0; }
bool seeded_at_stray(int i) { return i % 20 == 7; }

json_answer call(http::client& c, http::verb method, const std::string& path,
                 const json* body, const std::string& token) {
  auto req = body ? http::make_json_request(method, path, body->dump())
                  : http::make_request(method, path);
  if (!token.empty())
    req.set(boost::beast::http::field::authorization, "Bearer " + token);
  auto r = c.send(std::move(req));
  json_answer out;
  if (!r.ok()) return out;
  out.status = r.value().result_int();
  out.body = json::parse(r.value().body(), nullptr, false);
  return out;
}

std::string tail(const std::string& text, size_t n) {
  return text.size() <= n ? text : "..." + text.substr(text.size() - n);
}

} // namespace

fault_rig::fault_rig(uint64_t seed)
    : seed_(seed), dir_((std::filesystem::temp_directory_path() /
                         ("shelfsync-faults-" + std::to_string(::getpid())))
                            .string()),
      sim_port_(free_port()), api_port_(free_port()) {
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
  // Secrets reach the engine through its environment only.
  ::setenv("FLT_API_TOKEN", api_token.c_str(), 1);
  ::setenv("FLT_SHOPIFY_TOKEN", "shpat_fault_suite", 1);
  ::setenv("FLT_AMZ_CLIENT_ID", "amzn1.application-oa2-client.flt", 1);
  ::setenv("FLT_AMZ_CLIENT_SECRET", "flt-client-secret", 1);
  ::setenv("FLT_AMZ_REFRESH_TOKEN", "Atzr|flt-refresh-token", 1);
  write_config();
}

fault_rig::~fault_rig() {
  engine_.stop(SIGKILL);
  // Unmounted before the directory goes, also when a test failed (keeping
  // the data then means keeping a copy of it).
  if (disk_ && std::getenv("SHELFSYNC_FAULT_KEEP") != nullptr) {
    std::error_code ignored;
    std::filesystem::copy(dir_ + "/data", dir_ + "/data-kept",
                          std::filesystem::copy_options::recursive, ignored);
  }
  disk_.reset();
  if (std::getenv("SHELFSYNC_FAULT_KEEP") != nullptr) {
    // What the simulators received, for a post-mortem.
    std::ofstream{dir_ + "/shopify-requests.json"}
        << sim_call("GET", "/_sim/shopify/" + store + "/requests").body.dump(1);
    std::ofstream{dir_ + "/amazon-requests.json"}
        << sim_call("GET", "/_sim/amazon/requests").body.dump(1);
    std::ofstream{dir_ + "/amazon-feeds.json"}
        << sim_call("GET", "/_sim/amazon/feeds").body.dump(1);
  }
  sim_.stop(SIGTERM);
  if (std::getenv("SHELFSYNC_FAULT_KEEP") == nullptr)
    std::filesystem::remove_all(dir_);
  else
    std::cout << "fault suite: state kept in " << dir_ << "\n";
}

// -- the catalogue -----------------------------------------------------------

std::vector<std::string> fault_rig::products() const {
  std::vector<std::string> out;
  for (int i = 0; i < product_count; ++i)
    out.push_back(sku(i));
  return out;
}

std::vector<std::string> fault_rig::warehouses() const {
  return {"WH-A", "WH-B", "WH-C"};
}

std::vector<shop_spec> fault_rig::shops() const {
  shop_spec shopify{store, {{"WH-A", loc_a}, {"WH-B", loc_b}}, false, {}};
  shopify.rules.buffer = 1;
  shopify.rules.percent = 90;
  shop_spec amazon{seller, {{"WH-A", ""}, {"WH-C", ""}}, true, {}};
  amazon.rules.max = 45;
  return {shopify, amazon};
}

void fault_rig::write_config() const {
  auto sim = "http://127.0.0.1:" + std::to_string(sim_port_);
  json conf = {
      // Checkpoints become durable every 5 s, so that some kills leave a
      // short log tail to replay and others one from the start.
      {"node",
       {{"data_dir", dir_ + "/data"},
        {"listen", "127.0.0.1:" + std::to_string(api_port_)},
        {"checkpoint_seconds", 5}}},
      {"api", {{"token_env", "FLT_API_TOKEN"}}},
      {"warehouses", {{{"id", "WH-A"}}, {{"id", "WH-B"}}, {{"id", "WH-C"}}}},
      {"shops",
       {{{"id", store},
         {"channel", "shopify"},
         {"stock_sync", true},
         {"shopify",
          {{"shop_url", sim + "/" + store},
           {"api_version", "2026-10"},
           {"access_token_env", "FLT_SHOPIFY_TOKEN"}}},
         {"warehouses",
          {{{"warehouse", "WH-A"}, {"enabled", true}, {"location", loc_a}},
           {{"warehouse", "WH-B"}, {"enabled", true}, {"location", loc_b}},
           {{"warehouse", "WH-C"}, {"enabled", false}}}},
         {"rules", {{"buffer", 1}, {"percent", 90}}}},
        {{"id", seller},
         {"channel", "amazon"},
         {"stock_sync", true},
         {"amazon",
          {{"endpoint", sim},
           {"lwa_endpoint", sim + "/auth/o2/token"},
           {"seller_id", seller_id},
           {"marketplace_ids", {"ATVPDKIKX0DER"}},
           {"client_id_env", "FLT_AMZ_CLIENT_ID"},
           {"client_secret_env", "FLT_AMZ_CLIENT_SECRET"},
           {"refresh_token_env", "FLT_AMZ_REFRESH_TOKEN"},
           {"batch_interval_seconds", 3},
           {"feed_poll_seconds", 1}}},
         {"warehouses",
          {{{"warehouse", "WH-A"}, {"enabled", true}},
           {{"warehouse", "WH-B"}, {"enabled", false}},
           {{"warehouse", "WH-C"}, {"enabled", true}}}},
         {"rules", {{"max", 45}}}}}}};
  std::ofstream{dir_ + "/config.json"} << conf.dump(2);
}

// -- processes ---------------------------------------------------------------

void fault_rig::start_simulators() {
  sim_.start({"sim", "--port", std::to_string(sim_port_)}, "",
             dir_ + "/sim.log");
  ASSERT_TRUE(wait_until_up("http://127.0.0.1:" + std::to_string(sim_port_),
                            "/_sim/health", 20s))
      << "shelfsync sim did not come up:\n"
      << read_file(dir_ + "/sim.log");
  // The store: a Shopify Plus bucket, and the items as a merchant has
  // them before shelfsync drives them (some untracked, rule 3).
  json items = json::array();
  for (int i = 0; i < product_count; ++i) {
    json levels = {{loc_a, 0}};
    if (seeded_at_b(i)) levels[loc_b] = 0;
    if (seeded_at_stray(i)) levels[loc_stray] = stray_seed;
    items.push_back(
        {{"sku", sku(i)}, {"tracked", i % 30 != 1}, {"levels", levels}});
  }
  json seed = {{"access_token", "shpat_fault_suite"},
               {"bucket", {{"maximum", 20000}, {"restore_rate", 1000}}},
               {"locations",
                {{{"id", loc_a}, {"name", "Berlin"}},
                 {{"id", loc_b}, {"name", "Hamburg"}},
                 {{"id", loc_stray}, {"name", "Pop-up"}}}},
               {"items", items}};
  auto seeded = sim_call("POST", "/_sim/shopify/" + store + "/seed", &seed);
  ASSERT_EQ(seeded.status, 200) << seeded.body.dump();
  json account = {{"seller_id", seller_id},
                  {"client_id", "amzn1.application-oa2-client.flt"},
                  {"client_secret", "flt-client-secret"},
                  {"refresh_token", "Atzr|flt-refresh-token"}};
  auto added = sim_call("POST", "/_sim/amazon/sellers", &account);
  ASSERT_EQ(added.status, 200) << added.body.dump();
  // Feeds processed in under a second, and no Amazon quota: a test cannot
  // wait out createFeed's real pace (5 per 5 minutes). The engine still
  // paces itself by its own model of those quotas.
  json amazon = {{"queue_delay_ms", 200},
                 {"processing_delay_ms", 500},
                 {"rate_limits", false}};
  auto set = sim_call("POST", "/_sim/amazon/faults", &amazon);
  ASSERT_EQ(set.status, 200) << set.body.dump();
}

void fault_rig::start_engine() {
  engine_.start({"serve", "--config", dir_ + "/config.json"}, "",
                dir_ + "/serve.log");
  ASSERT_TRUE(
      wait_until_started("http://127.0.0.1:" + std::to_string(api_port_), 30s))
      << "shelfsync serve did not come up:\n"
      << tail(read_file(dir_ + "/serve.log"), 4000);
}

void fault_rig::kill_engine() { engine_.stop(SIGKILL); }

int fault_rig::stop_engine(int sig) { return engine_.stop(sig); }

void fault_rig::set_faults(bool on) {
  // SHELFSYNC_FAULT_SCALE multiplies every rate, for soak runs by hand
  // (up to 4: no request may meet more than one fault).
  double scale = 1;
  if (const char* env = std::getenv("SHELFSYNC_FAULT_SCALE"))
    scale = std::clamp(std::atof(env), 0.0, 4.0);
  auto rate = [&](double r) {
    return on ? r * scale : 0.0;
  };
  json shopify = {
      {"random_seed", seed_},    {"throttle_rate", rate(0.08)},
      {"fail_rate", rate(0.08)}, {"fail_status", seed_ % 2 == 0 ? 503 : 500},
      {"drop_rate", rate(0.08)}, {"slow_rate", rate(0.15)},
      {"slow_ms", 250}};
  auto a = sim_call("POST", "/_sim/shopify/" + store + "/faults", &shopify);
  ASSERT_EQ(a.status, 200) << a.body.dump();
  json amazon = {{"random_seed", seed_ + 1},
                 {"drop_rate", rate(0.08)},
                 {"fail_rate", rate(0.1)},
                 {"fail_status", seed_ % 2 == 0 ? 500 : 503},
                 {"throttle_rate", rate(0.1)},
                 {"slow_rate", rate(0.2)},
                 {"slow_ms", 300}};
  auto b = sim_call("POST", "/_sim/amazon/faults", &amazon);
  ASSERT_EQ(b.status, 200) << b.body.dump();
}

// -- the data disk -----------------------------------------------------------

std::string fault_rig::mount_data_disk(size_t megabytes) {
  disk_ = std::make_unique<tmpfs_mount>(dir_ + "/data", megabytes);
  if (disk_->ok()) return {};
  auto why = disk_->why();
  disk_.reset();
  return why;
}

void fault_rig::fill_data_disk() {
  if (disk_) disk_->fill();
}

void fault_rig::free_data_disk() {
  if (disk_) disk_->free_space();
}

json_answer fault_rig::readyz() const { return api_get("/readyz"); }

// -- HTTP --------------------------------------------------------------------

json_answer fault_rig::sim_call(const std::string& method,
                                const std::string& path,
                                const json* body) const {
  http::client c{
      *http::parse_url("http://127.0.0.1:" + std::to_string(sim_port_))};
  auto verb = method == "POST" ? http::verb::post : http::verb::get;
  return call(c, verb, path, body, "");
}

http::client fault_rig::api_client() const {
  return http::client{
      *http::parse_url("http://127.0.0.1:" + std::to_string(api_port_))};
}

json_answer fault_rig::api_get(const std::string& path) const {
  auto c = api_client();
  return call(c, http::verb::get, path, nullptr, api_token);
}

json_answer fault_rig::post_events(http::client& c,
                                   const std::vector<event_spec>& batch) const {
  json body = json::array();
  for (auto& e : batch)
    body.push_back(e.to_json());
  return call(c, http::verb::post, "/v1/stock/events", &body, api_token);
}

// -- what the channels hold --------------------------------------------------

std::string fault_rig::idle_and_holding(const stock_oracle& oracle) const {
  for (auto& shop : {store, seller}) {
    auto s = api_get("/v1/shops/" + shop);
    if (s.status != 200)
      return "GET /v1/shops/" + shop + " answered " + std::to_string(s.status);
    auto feeds = s.body.value("feeds_in_flight", json::array());
    if (s.body.value("pending", -1) != 0 ||
        s.body.value("in_flight", -1) != 0 || !feeds.empty())
      return shop + " is still busy: " + s.body.dump();
  }
  // Feeds the engine never heard of (createFeed's answer was dropped) must
  // be done too.
  auto feeds = sim_call("GET", "/_sim/amazon/feeds");
  for (auto& f : feeds.body.value("feeds", json::array())) {
    auto status = f.value("processingStatus", "");
    if (status == "IN_QUEUE" || status == "IN_PROGRESS")
      return "Amazon still processes feed " + f.value("feedId", "");
  }
  std::vector<std::string> wrong;
  auto expect = [&](const std::string& what, const json& holds, int64_t want) {
    if (holds != json(want))
      wrong.push_back(what + " holds " + holds.dump() + ", expected " +
                      std::to_string(want));
  };
  auto levels = sim_call("GET", "/_sim/shopify/" + store + "/levels");
  for (auto& item : levels.body.value("items", json::array())) {
    auto code = item.value("sku", "");
    bool driven = oracle.products().count(code) > 0;
    if (driven && !item.value("tracked", false))
      wrong.push_back(code + " is still untracked");
    for (auto& lv : item["levels"]) {
      auto loc = lv.value("location", "");
      auto where = code + " at " + loc;
      if (loc == loc_stray)
        expect(where, lv["available"], driven ? 0 : stray_seed);
      else if (!driven)
        expect(where, lv["available"], 0);
      else
        expect(where, lv["available"], oracle.views(store, code, loc).back());
    }
  }
  auto listings = sim_call("GET", "/_sim/amazon/" + seller_id + "/listings");
  auto held = listings.body.value("listings", json::object());
  for (auto& code : products()) {
    auto& views = oracle.views(seller, code, "");
    auto l = held.find(code);
    if (views.empty() && l != held.end())
      wrong.push_back("Amazon has a listing of " + code + ", never sent");
    else if (!views.empty() && l == held.end())
      wrong.push_back("Amazon has no listing of " + code);
    else if (!views.empty())
      expect("Amazon " + code, (*l)["quantity"], views.back());
  }
  if (wrong.empty()) return {};
  std::string out = std::to_string(wrong.size()) + " entries differ:";
  for (size_t i = 0; i < wrong.size() && i < 10; ++i)
    out += "\n  " + wrong[i];
  return out;
}

std::string fault_rig::engine_stock_differs(const stock_oracle& oracle) const {
  auto c = api_client();
  std::string out;
  size_t wrong = 0;
  for (auto& code : oracle.products()) {
    auto doc =
        call(c, http::verb::get, "/v1/products/" + code, nullptr, api_token);
    auto want = oracle.stock(code);
    auto held = doc.body.is_object()
                    ? doc.body.value("warehouses", json::object())
                    : json::object();
    for (auto& [warehouse, level] : held.items()) {
      auto w = want.find(warehouse);
      auto expected =
          w == want.end() ? std::pair<int64_t, int64_t>{0, 0} : w->second;
      if (level.value("on_hand", int64_t{-1}) == expected.first &&
          level.value("reserved", int64_t{-1}) == expected.second) {
        if (w != want.end()) want.erase(w);
        continue;
      }
      if (++wrong <= 10)
        out += "\n  " + code + " in " + warehouse + ": engine holds " +
               level.dump() + ", expected on_hand " +
               std::to_string(expected.first) + " reserved " +
               std::to_string(expected.second);
      if (w != want.end()) want.erase(w);
    }
    for (auto& [warehouse, expected] : want)
      if (++wrong <= 10)
        out += "\n  " + code + " in " + warehouse + ": missing (" +
               std::to_string(doc.status) + ")";
  }
  return wrong == 0 ? std::string{}
                    : std::to_string(wrong) + " stock levels differ:" + out;
}

history_report fault_rig::check_histories(const stock_oracle& oracle) const {
  history_report out;
  auto check = [&](const std::string& what, const std::vector<int64_t>& views,
                   const json& history) {
    auto applied = history.get<std::vector<int64_t>>();
    ++out.entries;
    out.values += applied.size();
    auto problem = check_history(views, applied);
    if (!problem.empty()) out.problems += what + ": " + problem + "\n";
  };
  auto levels = sim_call("GET", "/_sim/shopify/" + store + "/levels");
  for (auto& item : levels.body.value("items", json::array())) {
    auto code = item.value("sku", "");
    bool driven = oracle.products().count(code) > 0;
    for (auto& lv : item["levels"]) {
      auto loc = lv.value("location", "");
      // A level starts at 0 when it is created (by the seed, or when
      // shelfsync activates the item there); the seed then sets its value.
      std::vector<int64_t> views{0};
      if (loc == loc_stray) {
        views.push_back(stray_seed);
        if (driven) views.push_back(0);
      } else {
        auto& later = oracle.views(store, code, loc);
        views.insert(views.end(), later.begin(), later.end());
      }
      check(code + " at " + loc, views, lv["history"]);
    }
  }
  auto listings = sim_call("GET", "/_sim/amazon/" + seller_id + "/listings");
  auto held = listings.body.value("listings", json::object());
  for (auto& [code, l] : held.items())
    check("Amazon " + code, oracle.views(seller, code, ""), l["history"]);
  return out;
}

json fault_rig::injected() const {
  auto shopify = sim_call("GET", "/_sim/shopify/" + store + "/faults");
  auto amazon = sim_call("GET", "/_sim/amazon/faults");
  return {{"shopify", shopify.body.value("injected", json::object())},
          {"amazon", amazon.body.value("injected", json::object())}};
}

size_t fault_rig::requests(const std::string& channel) const {
  auto path = channel == "shopify" ? "/_sim/shopify/" + store + "/requests"
                                   : std::string{"/_sim/amazon/requests"};
  return sim_call("GET", path).body.value("requests", json::array()).size();
}

// -- the command line --------------------------------------------------------

std::pair<int, std::string> fault_rig::replay() const {
  child_process run;
  auto out = dir_ + "/replay.txt";
  run.start({"replay", "--config", dir_ + "/config.json"}, out, out);
  auto code = run.wait();
  return {code, read_file(out)};
}

void fault_rig::print_logs() const {
  std::cout << "-- serve.log (tail) --\n"
            << tail(read_file(dir_ + "/serve.log"), 6000)
            << "\n-- sim.log (tail) --\n"
            << tail(read_file(dir_ + "/sim.log"), 2000) << "\n";
}

} // namespace shelfsync::tests
