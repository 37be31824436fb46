// The Shopify channel end to end: the real engine and shop actor against the
// Shopify simulator on loopback. Prints
//   (a) latency from event submission to the mutation carrying its value (or
//       a newer one) arriving at the simulator, at 1,000 events/s unthrottled;
//   (b) quantity rows confirmed per second with a Standard bucket and a
//       backlog, as a fraction of what the bucket allows;
//   (c) rows sent / distinct (item, location) changes.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "actors/engine.hpp"
#include "net/server.hpp"
#include "simulators/shopify/simulator.hpp"
#include "channels/shopify/wire.hpp"
#include "storage/store.hpp"
#include "tests/support/config.hpp"
#include "tests/support/eventually.hpp"

using namespace shelfsync;
using namespace std::chrono_literals;
using tests::eventually;
using json = nlohmann::json;
using steady = std::chrono::steady_clock;

namespace {

constexpr const char* loc_a = tests::location_a;
constexpr const char* loc_b = tests::location_b;
constexpr const char* token = "shpat_bench_token";
constexpr const char* token_env = "SHELFSYNC_BENCH_SHOPIFY_TOKEN";

/// A quantity row as it arrived at the simulator.
struct arrival {
  std::string item;
  std::string location;
  int64_t quantity;
  steady::time_point at;
};

/// The simulator behind a server that notes when each push row arrives.
struct observed_simulator {
  shopify::simulator sim;
  std::mutex mtx;
  std::vector<arrival> arrivals;
  std::unique_ptr<http::server> server;
  uint16_t port = 0;

  static void rows_in(const json& j, std::vector<arrival>& out,
                      steady::time_point at) {
    if (j.is_object()) {
      if (j.contains("inventoryItemId") && j.contains("locationId") &&
          j.contains("quantity") && j["quantity"].is_number_integer()) {
        out.push_back({j["inventoryItemId"].get<std::string>(),
                       j["locationId"].get<std::string>(),
                       j["quantity"].get<int64_t>(), at});
        return;
      }
      for (auto& [k, v] : j.items())
        rows_in(v, out, at);
    } else if (j.is_array()) {
      for (auto& v : j)
        rows_in(v, out, at);
    }
  }

  observed_simulator() {
    server = std::make_unique<http::server>(
        http::server_options{}, [this](http::request&& req, http::responder r) {
          auto at = steady::now();
          auto body = json::parse(req.body(), nullptr, false);
          if (!body.is_discarded() && body.is_object() &&
              body.value("operationName", "") == "ShelfsyncPush") {
            std::vector<arrival> rows;
            rows_in(body["variables"], rows, at);
            std::lock_guard<std::mutex> guard{mtx};
            arrivals.insert(arrivals.end(), rows.begin(), rows.end());
          }
          if (!sim.handle(req, r)) {
            http::response res{http::status::not_found, 11};
            r.send(std::move(res));
          }
        });
    port = server->start();
  }

  std::string shop_url(const std::string& shop) const {
    return "http://127.0.0.1:" + std::to_string(port) + "/" + shop;
  }
};

config_ptr make_config(const std::string& dir, const std::string& shop,
                       const std::string& url) {
  auto s = tests::make_shop(shop, channel_kind::shopify,
                            {{"WH-A", true, loc_a}, {"WH-B", true, loc_b}});
  s.shopify.shop_url = url;
  s.shopify.access_token_env = token_env;
  return tests::make_config(dir, {"WH-A", "WH-B"}, {s});
}

stock_event set(uint64_t id, const std::string& product,
                const std::string& warehouse, int64_t on_hand) {
  stock_event e;
  e.id = "b" + std::to_string(id);
  e.product = product;
  e.warehouse = warehouse;
  e.fields = stock_event::has_on_hand;
  e.on_hand = on_hand;
  return e;
}

void ingest(engine& eng, std::vector<stock_event> batch) {
  std::promise<void> done;
  eng.ingest(std::move(batch), [&](caf::expected<ingest_result> r) {
    if (!r)
      std::fprintf(stderr, "ingest failed: %s\n", to_string(r.error()).c_str());
    done.set_value();
  });
  done.get_future().wait();
}

std::string temp_dir(const char* what) {
  auto d = (std::filesystem::temp_directory_path() /
            ("shelfsync-shopify-bench-" + std::string{what} + "-" +
             std::to_string(::getpid())))
               .string();
  std::filesystem::remove_all(d);
  return d;
}

/// Creates `n` items stocked at both locations and remembers their mapping
/// in the store, as after a first sync (lookups are not what is measured).
std::vector<std::pair<std::string, std::string>>
prepare(observed_simulator& os, const std::string& shop, const std::string& dir,
        size_t n) {
  std::vector<std::pair<std::string, std::string>> items;
  for (size_t i = 0; i < n; ++i) {
    auto sku = "SKU-" + std::to_string(100000 + i);
    items.emplace_back(
        sku, os.sim.add_item(shop, sku, true, {{loc_a, 0}, {loc_b, 0}}));
  }
  auto db = store::open(dir, durability::wal);
  if (!db) {
    std::fprintf(stderr, "cannot open %s\n", dir.c_str());
    std::exit(1);
  }
  for (auto& [sku, id] : items)
    (*db)->put_memo(shop, "sku/" + sku, id);
  return items;
}

double percentile(std::vector<double> xs, double q) {
  if (xs.empty()) return 0;
  std::sort(xs.begin(), xs.end());
  return xs[static_cast<size_t>(q * static_cast<double>(xs.size() - 1))];
}

size_t push_rows(const std::vector<shopify::sim_request_record>& log) {
  size_t rows = 0;
  for (auto& r : log)
    if (r.operation_name == "ShelfsyncPush") rows += r.rows;
  return rows;
}

// -- (a) latency -------------------------------------------------------------

void latency(observed_simulator& os) {
  const std::string shop = "fast";
  os.sim.add_shop(shop, token, {1e9, 1e9});
  os.sim.add_location(shop, "A", loc_a);
  os.sim.add_location(shop, "B", loc_b);
  auto dir = temp_dir("latency");
  constexpr size_t products = 200;
  auto items = prepare(os, shop, dir, products);
  std::map<std::string, std::string> item_of;
  for (auto& [sku, id] : items)
    item_of[sku] = id;
  auto eng =
      std::move(*engine::start(make_config(dir, shop, os.shop_url(shop))));

  // Per (item, location): submitted values with their submission times.
  struct submitted {
    int64_t value;
    steady::time_point at;
  };
  std::map<std::pair<std::string, std::string>, std::vector<submitted>> sent;
  constexpr int rate = 1000, seconds = 5, tick_ms = 10;
  constexpr int per_tick = rate * tick_ms / 1000;
  uint64_t next_id = 1;
  int64_t value = 1;
  size_t changes = 0;
  std::mt19937 rng{42};
  auto start = steady::now();
  for (int t = 0; t < seconds * 1000 / tick_ms; ++t) {
    std::this_thread::sleep_until(start +
                                  std::chrono::milliseconds{t * tick_ms});
    std::vector<stock_event> batch;
    auto now = steady::now();
    for (int i = 0; i < per_tick; ++i) {
      auto& [sku, id] = items[rng() % products];
      auto wh = rng() % 2 == 0 ? "WH-A" : "WH-B";
      auto loc = wh[3] == 'A' ? loc_a : loc_b;
      batch.push_back(set(next_id++, sku, wh, value));
      sent[{id, loc}].push_back({value, now});
      ++value;
      ++changes;
    }
    ingest(*eng, std::move(batch));
  }
  // Wait for the last values.
  eventually(
      [&] {
        std::lock_guard<std::mutex> guard{os.mtx};
        std::map<std::pair<std::string, std::string>, int64_t> last;
        for (auto& a : os.arrivals)
          last[{a.item, a.location}] =
              std::max(last[{a.item, a.location}], a.quantity);
        for (auto& [key, subs] : sent)
          if (last[key] < subs.back().value) return false;
        return true;
      },
      30s);
  std::vector<double> ms;
  size_t missing = 0;
  {
    std::lock_guard<std::mutex> guard{os.mtx};
    std::map<std::pair<std::string, std::string>, std::vector<arrival*>> by_key;
    for (auto& a : os.arrivals)
      by_key[{a.item, a.location}].push_back(&a);
    for (auto& [key, subs] : sent) {
      auto& arr = by_key[key];
      for (auto& s : subs) {
        // The first arrival carrying this value or a newer one.
        const arrival* first = nullptr;
        for (auto* a : arr)
          if (a->quantity >= s.value && a->at >= s.at &&
              (first == nullptr || a->at < first->at))
            first = a;
        if (first == nullptr) {
          ++missing;
          continue;
        }
        ms.push_back(std::chrono::duration<double, std::milli>(first->at - s.at)
                         .count());
      }
    }
  }
  auto log = os.sim.requests(shop);
  auto rows = push_rows(log);
  std::printf("(a) latency, %d events/s for %d s over %zu products x 2 "
              "locations, unthrottled bucket\n",
              rate, seconds, products);
  std::printf("    submission -> push arrival: p50 %.1f ms  p99 %.1f ms  "
              "max %.1f ms  (%zu events, %zu never delivered; target p99 <= "
              "50 ms)\n",
              percentile(ms, 0.5), percentile(ms, 0.99), percentile(ms, 1.0),
              ms.size(), missing);
  std::printf("(c) rows sent / distinct (item, location) changes: %zu / %zu "
              "= %.3f  (target <= 1.0; coalescing makes it < 1)\n",
              rows, changes, static_cast<double>(rows) / changes);
  eng.reset();
  std::filesystem::remove_all(dir);
}

// -- (b) throughput ----------------------------------------------------------

void throughput(observed_simulator& os) {
  const std::string shop = "standard";
  os.sim.add_shop(shop, token, {2000, 100});
  os.sim.add_location(shop, "A", loc_a);
  os.sim.add_location(shop, "B", loc_b);
  auto dir = temp_dir("throughput");
  constexpr size_t products = 600;
  auto items = prepare(os, shop, dir, products);
  auto eng =
      std::move(*engine::start(make_config(dir, shop, os.shop_url(shop))));
  os.sim.clear_requests(shop);
  std::vector<stock_event> batch;
  uint64_t next_id = 1;
  for (auto& [sku, id] : items) {
    batch.push_back(set(next_id++, sku, "WH-A", 5));
    batch.push_back(set(next_id++, sku, "WH-B", 7));
  }
  auto changes = batch.size();
  auto t0 = steady::now();
  ingest(*eng, std::move(batch));
  auto done = eventually(
      [&] {
        auto store = os.sim.inventory(shop);
        for (auto& it : store.items())
          for (auto& lv : it.levels)
            if (lv.available == 0) return false;
        return true;
      },
      100s);
  auto t1 = steady::now();
  double secs = std::chrono::duration<double>(t1 - t0).count();
  auto log = os.sim.requests(shop);
  size_t throttled = 0, reads = 0, pushes = 0;
  double read_points = 0, push_points = 0;
  for (auto& r : log) {
    throttled += r.answer == "throttled" ? 1 : 0;
    if (r.operation_name == "ShelfsyncReadLevels") {
      ++reads;
      read_points += r.actual_cost.value_or(0);
    } else if (r.operation_name == "ShelfsyncPush") {
      ++pushes;
      push_points += r.actual_cost.value_or(0);
    }
  }
  auto rows = push_rows(log);
  // What the bucket allows: a push of 250 rows carries 125 items (2
  // locations each); rule 5 reads those 125 items first. Shopify charges
  // a read 1 per item + 2 for its levels connection + 2 per level (level and
  // location): 3 + 2 x 2 = 7 points per item here; the push costs 13.
  double per_item_read = 3 + 2 * 2;
  double round_points = 125 * per_item_read + 13;
  double allowed_rows = (2000 + 100 * secs) / round_points * 250;
  double allowed_rate = allowed_rows / secs;
  std::printf("(b) throughput, Standard bucket (2000 points, 100/s), backlog "
              "of %zu products x 2 locations = %zu rows%s\n",
              products, changes, done ? "" : " (NOT all delivered)");
  std::printf("    allowance: a round of 250 rows = read of 125 items x (3 + "
              "2 x 2 levels) = %.0f points + push 13 = %.0f points;\n"
              "    levels_first = 3 (2 mapped + 1): a read asks 9 points per "
              "item, is charged 7;\n    in %.2f s the bucket gives 2000 (full "
              "at start) + 100/s x "
              "%.2f s = %.0f points = %.0f rows (%.1f rows/s)\n",
              125 * per_item_read, round_points, secs, secs, 2000 + 100 * secs,
              allowed_rows, allowed_rate);
  std::printf("    confirmed %zu rows in %.2f s = %.1f rows/s = %.3f of the "
              "allowance (target >= 0.9)\n",
              changes, secs, changes / secs, changes / allowed_rows);
  std::printf("    requests: %zu reads (%.0f points), %zu pushes (%.0f "
              "points); THROTTLED answers: %zu (target 0)\n",
              reads, read_points, pushes, push_points, throttled);
  std::printf("(c) backlog rows sent / distinct changes: %zu / %zu = %.3f\n",
              rows, changes, static_cast<double>(rows) / changes);
  eng.reset();
  std::filesystem::remove_all(dir);
}

} // namespace

int main() {
  ::setenv(token_env, token, 1);
  observed_simulator os;
  latency(os);
  throughput(os);
  os.server->stop();
  return 0;
}
