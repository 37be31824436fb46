// Ingest throughput and memory, measured in one run on the same data:
//   (a) raw RocksDB writing the same records (log entry + state update per
//       event) in WriteBatches of 1000 — the baseline,
//   (b) shelfsync's in-process ingest path until the views are in the outbox,
//   (c) ingest over HTTP on loopback with batches of 1000,
// in interleaved rounds (a, b, c, a, b, c, ...), each round's ratios b/a and
// c/a and their medians, so that one noisy phase cannot decide them; then
// the resident memory of N distinct products at peak and once idle product
// actors have stopped, and how long the engine takes to be ready again on
// that store. The last two lines are
//   restart: products=N ready_s=X
//   memory: products=N settled_mb=M
#include <malloc.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "actors/engine.hpp"
#include "actors/outbox.hpp"
#include "api/http_api.hpp"
#include "net/client.hpp"
#include "net/server.hpp"
#include "net/url.hpp"
#include "storage/codec.hpp"
#include "tests/support/config.hpp"

using namespace shelfsync;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr size_t batch_size = 1000;

struct options {
  size_t events = 1'000'000;
  size_t products = 100'000;
  size_t memory_products = 1'000'000;
  /// Interleaved rounds of (a), (b), (c).
  size_t rounds = 3;
  /// The phases to run, for a profiler ("abc" = all; ratios need a).
  std::string phases = "abc";
  std::string dir = "/tmp/shelfsync-bench";
  /// Run the memory phase alone, in a fresh process, for clean figures.
  bool memory_only = false;
  /// Shops with stock sync on keep every view in their outbox (nothing is
  /// delivered here); off, the figure is the engine's own memory.
  bool memory_stock_sync = true;
};

std::shared_ptr<config> make_config(const std::string& dir,
                                    uint32_t idle_seconds) {
  auto c = tests::two_shop_config(dir);
  c->node.product_idle_seconds = idle_seconds;
  return c;
}

/// The engine with its shops' delivery off: the path to the outbox alone.
engine_options outbox_only() {
  engine_options opts;
  opts.deliver = false;
  return opts;
}

/// One event of a realistic stream: mostly deltas, some absolute counts
/// and reservations, spread over `products` codes in two warehouses.
stock_event random_event(std::mt19937_64& rng, size_t i, size_t products,
                         const std::string& prefix) {
  stock_event e;
  e.id = prefix + std::to_string(i);
  e.product = "SKU-" + std::to_string(rng() % products);
  e.warehouse = (rng() % 2) ? "WH-A" : "WH-B";
  switch (rng() % 10) {
  case 0:
    e.fields = stock_event::has_on_hand;
    e.on_hand = static_cast<int64_t>(rng() % 500);
    break;
  case 1:
    e.fields = stock_event::has_reserved;
    e.reserved = static_cast<int64_t>(rng() % 5);
    break;
  default:
    e.fields = stock_event::has_delta;
    e.delta = static_cast<int64_t>(rng() % 7) - 3;
  }
  return e;
}

/// `n` events of the realistic stream.
std::vector<stock_event> make_events(size_t n, size_t products,
                                     const std::string& prefix) {
  std::mt19937_64 rng{42};
  std::vector<stock_event> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i)
    out.push_back(random_event(rng, i, products, prefix));
  return out;
}

std::string to_json(const std::vector<stock_event>& events, size_t from,
                    size_t to) {
  nlohmann::json arr = nlohmann::json::array();
  for (size_t i = from; i < to; ++i) {
    auto& e = events[i];
    nlohmann::json j{
        {"id", e.id}, {"product", e.product}, {"warehouse", e.warehouse}};
    if (e.has(stock_event::has_on_hand)) j["on_hand"] = e.on_hand;
    if (e.has(stock_event::has_delta)) j["delta"] = e.delta;
    if (e.has(stock_event::has_reserved)) j["reserved"] = e.reserved;
    arr.push_back(std::move(j));
  }
  return arr.dump();
}

/// CPU seconds this process used so far, every thread, user and system:
/// with `events/s` it tells work from waiting when the machine is busy.
double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto secs = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6;
  };
  return secs(u.ru_utime) + secs(u.ru_stime);
}

double seconds_since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

/// (a) The same records straight into RocksDB: per event the log entry and
/// the product's state record, 1000 events per WriteBatch, WAL on.
double raw_rocksdb(const std::vector<stock_event>& events,
                   const std::string& dir) {
  rocksdb::Options opts;
  opts.create_if_missing = true;
  opts.IncreaseParallelism(2);
  opts.write_buffer_size = 64 << 20;
  opts.compression = rocksdb::kLZ4Compression;
  rocksdb::DB* raw = nullptr;
  auto st = rocksdb::DB::Open(opts, dir, &raw);
  if (!st.ok()) {
    std::fprintf(stderr, "cannot open %s: %s\n", dir.c_str(),
                 st.ToString().c_str());
    std::exit(1);
  }
  std::unique_ptr<rocksdb::DB> db{raw};
  product_record rec;
  rec.stock["WH-A"] = {10, 1, 0, false, 1};
  rec.stock["WH-B"] = {10, 1, 0, false, 1};
  rec.views["eu-store"] = {{"gid://shopify/Location/1001", 9},
                           {"gid://shopify/Location/1002", 9}};
  rec.views["amazon-us"] = {{"", 18}};
  auto started = clock_type::now();
  std::string value;
  for (size_t from = 0; from < events.size(); from += batch_size) {
    rocksdb::WriteBatch wb;
    auto to = std::min(events.size(), from + batch_size);
    for (size_t i = from; i < to; ++i) {
      auto e = events[i];
      e.seq = i + 1;
      value.clear();
      encode(e, value);
      std::string key = "L";
      codec::append_big_endian(key, e.seq);
      wb.Put(key, value);
      rec.applied_seq = e.seq;
      value.clear();
      encode(rec, value);
      wb.Put("P" + e.product, value);
    }
    st = db->Write(rocksdb::WriteOptions{}, &wb);
    if (!st.ok()) {
      std::fprintf(stderr, "write failed: %s\n", st.ToString().c_str());
      std::exit(1);
    }
  }
  return seconds_since(started);
}

/// Keeps at most `limit` asynchronous batches in flight.
class window {
 public:
  explicit window(size_t limit) : limit_(limit) {}
  void acquire() {
    std::unique_lock<std::mutex> lock{mtx_};
    cv_.wait(lock, [&] {
      return in_flight_ < limit_;
    });
    ++in_flight_;
  }
  void release() {
    std::lock_guard<std::mutex> lock{mtx_};
    --in_flight_;
    cv_.notify_all();
  }
  void drain() {
    std::unique_lock<std::mutex> lock{mtx_};
    cv_.wait(lock, [&] {
      return in_flight_ == 0;
    });
  }

 private:
  size_t limit_;
  size_t in_flight_ = 0;
  std::mutex mtx_;
  std::condition_variable cv_;
};

/// (b) engine::ingest in batches of 1000, one after the other, then wait
/// until every view is committed to its shop's outbox.
double in_process(const std::vector<stock_event>& events,
                  const std::string& dir) {
  auto eng = std::move(*engine::start(make_config(dir, 30), outbox_only()));
  // One batch at a time, as (a) writes them: on two cores, more batches in
  // flight cost more in contention than they gain in overlap (four in
  // flight measured 0.46 of (a) against 0.68).
  window w{1};
  std::atomic<size_t> failures{0};
  auto started = clock_type::now();
  for (size_t from = 0; from < events.size(); from += batch_size) {
    std::vector<stock_event> batch(
        events.begin() + from,
        events.begin() + std::min(events.size(), from + batch_size));
    w.acquire();
    eng->ingest(std::move(batch), [&](caf::expected<ingest_result> r) {
      if (!r) ++failures;
      w.release();
    });
  }
  w.drain();
  eng->sync();
  auto secs = seconds_since(started);
  if (failures > 0)
    std::fprintf(stderr, "(b) %zu batches failed\n", failures.load());
  return secs;
}

/// (c) The same over HTTP on loopback: two client connections posting JSON
/// batches of 1000, then wait until every view is committed.
double over_http(const std::vector<stock_event>& events,
                 const std::string& dir) {
  auto eng = std::move(*engine::start(make_config(dir, 30), outbox_only()));
  metrics counters;
  http_api api{*eng, counters, "bench-token", [] {
                 return std::vector<config_problem>{};
               }};
  http::server server{{}, [&](http::request&& req, http::responder r) {
                        api.handle(std::move(req), std::move(r));
                      }};
  auto port = server.start();
  // Bodies are prepared up front: the client's JSON encoding is not ours.
  std::vector<std::string> bodies;
  for (size_t from = 0; from < events.size(); from += batch_size)
    bodies.push_back(
        to_json(events, from, std::min(events.size(), from + batch_size)));
  std::atomic<size_t> next{0};
  std::atomic<size_t> failures{0};
  auto started = clock_type::now();
  auto post_all = [&] {
    http::client c{
        *http::parse_url("http://127.0.0.1:" + std::to_string(port))};
    for (size_t i = next++; i < bodies.size(); i = next++) {
      auto req = http::make_request(http::verb::post, "/v1/stock/events",
                                    bodies[i], "application/json");
      req.set(boost::beast::http::field::authorization, "Bearer bench-token");
      auto r = c.send(std::move(req));
      if (!r.ok() || r.value().result_int() != 200) ++failures;
    }
  };
  std::thread t1{post_all};
  std::thread t2{post_all};
  t1.join();
  t2.join();
  eng->sync();
  auto secs = seconds_since(started);
  server.stop();
  if (failures > 0)
    std::fprintf(stderr, "(c) %zu batches failed\n", failures.load());
  return secs;
}

/// Returns a field of /proc/self/status in MB ("VmRSS", "VmHWM").
double status_mb(const char* field) {
  std::ifstream in{"/proc/self/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field, 0) == 0)
      return std::stod(line.substr(line.find(':') + 1)) / 1024.0;
  return 0;
}

/// How many product actors are alive. A directory that does not answer ends
/// the bench: the memory figures would mean nothing.
uint64_t live_products(engine& eng) {
  auto n = eng.live_products();
  if (!n) {
    std::fprintf(stderr, "memory: cannot count live product actors: %s\n",
                 to_string(n.error()).c_str());
    std::exit(1);
  }
  return *n;
}

/// Runs the memory phase and returns the settled RSS in MB.
double memory(const options& o, const std::string& dir) {
  auto conf = make_config(dir, 2);
  for (auto& shop : conf->shops)
    shop.stock_sync = o.memory_stock_sync;
  auto eng = std::move(*engine::start(conf, outbox_only()));
  auto base = status_mb("VmRSS");
  // One event per distinct product, made batch by batch: at ten million
  // products, the whole stream up front would weigh more than the engine.
  std::mt19937_64 rng{42};
  window w{4};
  auto started = clock_type::now();
  for (size_t from = 0; from < o.memory_products; from += batch_size) {
    std::vector<stock_event> batch;
    auto to = std::min(o.memory_products, from + batch_size);
    batch.reserve(to - from);
    for (size_t i = from; i < to; ++i) {
      batch.push_back(random_event(rng, i, o.memory_products, "mem-"));
      batch.back().product = "SKU-" + std::to_string(i);
    }
    w.acquire();
    eng->ingest(std::move(batch), [&](caf::expected<ingest_result>) {
      w.release();
    });
  }
  w.drain();
  eng->sync();
  auto secs = seconds_since(started);
  auto live_peak = live_products(*eng);
  auto peak = status_mb("VmHWM");
  // Wait for idle product actors to stop.
  auto waited = clock_type::now();
  while (live_products(*eng) > 0 && seconds_since(waited) < 120)
    std::this_thread::sleep_for(std::chrono::milliseconds{500});
  std::this_thread::sleep_for(std::chrono::seconds{1});
  malloc_trim(0);
  auto settled = status_mb("VmRSS");
  std::printf("memory: shops' stock sync %s (%s)\n",
              o.memory_stock_sync ? "on" : "off",
              o.memory_stock_sync
                  ? "every view stays in the outboxes, nothing delivers here"
                  : "no views: the engine's own memory");
  std::printf("memory: %zu distinct products in %.1f s; live product actors "
              "at peak %llu, after idle %llu\n",
              o.memory_products, secs,
              static_cast<unsigned long long>(live_peak),
              static_cast<unsigned long long>(live_products(*eng)));
  auto rocks = eng->db().memory();
  auto mb = [](uint64_t bytes) {
    return static_cast<double>(bytes) / (1024.0 * 1024.0);
  };
  std::printf("memory: RSS before %.0f MB, peak %.0f MB, settled %.0f MB "
              "(target <= 1024 MB settled)\n",
              base, peak, settled);
  auto heap = mallinfo2();
  std::printf("memory: malloc holds %.0f MB in use, %.0f MB free in its "
              "arenas, %.0f MB mapped directly\n",
              mb(heap.uordblks), mb(heap.fordblks), mb(heap.hblkhd));
  std::printf("memory: of it RocksDB memtables %.0f MB, table readers %.0f MB, "
              "block cache %.0f MB (pinned %.0f MB)\n",
              mb(rocks.memtables), mb(rocks.table_readers),
              mb(rocks.block_cache), mb(rocks.block_cache_pinned));
  std::promise<std::vector<shop_status>> shops;
  eng->shops([&](std::vector<shop_status> s) {
    shops.set_value(std::move(s));
  });
  for (auto& s : shops.get_future().get())
    std::printf("memory: shop %s owes %llu products (in memory at most %zu)\n",
                s.shop.c_str(), static_cast<unsigned long long>(s.pending),
                outbox::default_capacity);
  std::fflush(stdout);
  eng.reset();
  return settled;
}

/// Opens the engine again on the store the memory phase left, and returns
/// the seconds until it is ready: started, and every shop answered (so its
/// outbox is loaded).
double restart(const options& o, const std::string& dir) {
  auto conf = make_config(dir, 2);
  for (auto& shop : conf->shops)
    shop.stock_sync = o.memory_stock_sync;
  auto started = clock_type::now();
  auto eng = engine::start(conf, outbox_only());
  if (!eng) {
    std::fprintf(stderr, "restart failed: %s\n",
                 to_string(eng.error()).c_str());
    std::exit(1);
  }
  std::promise<void> ready;
  (*eng)->shops([&](std::vector<shop_status>) {
    ready.set_value();
  });
  ready.get_future().wait();
  return seconds_since(started);
}

/// Prints the last two lines: the restart, then the settled memory.
void memory_and_restart(const options& o, const std::string& dir) {
  auto settled = memory(o, dir);
  auto ready = restart(o, dir);
  std::printf("restart: products=%zu ready_s=%.2f\n", o.memory_products, ready);
  std::printf("memory: products=%zu settled_mb=%.0f\n", o.memory_products,
              settled);
}

double median(std::vector<double> x) {
  std::sort(x.begin(), x.end());
  auto n = x.size();
  return n % 2 == 1 ? x[n / 2] : (x[n / 2 - 1] + x[n / 2]) / 2;
}

} // namespace

int main(int argc, char** argv) {
  // As the shelfsync binary does, for every phase alike.
  keep_freed_memory();
  options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--events")
      o.events = std::stoul(argv[i + 1]);
    else if (flag == "--products")
      o.products = std::stoul(argv[i + 1]);
    else if (flag == "--memory-products")
      o.memory_products = std::stoul(argv[i + 1]);
    else if (flag == "--phases")
      o.phases = argv[i + 1];
    else if (flag == "--rounds")
      o.rounds = std::max<size_t>(1, std::stoul(argv[i + 1]));
    else if (flag == "--dir")
      o.dir = argv[i + 1];
    else if (flag == "--memory-only")
      o.memory_only = std::string{argv[i + 1]} == "yes";
    else if (flag == "--memory-stock-sync")
      o.memory_stock_sync = std::string{argv[i + 1]} != "off";
  }
  std::filesystem::remove_all(o.dir);
  std::filesystem::create_directories(o.dir);
  if (o.memory_only) {
    memory_and_restart(o, o.dir + "/m");
    std::filesystem::remove_all(o.dir);
    return 0;
  }
  auto events = make_events(o.events, o.products, "bench-");
  std::printf("data: %zu events over %zu products, 2 warehouses, 2 shops "
              "(Shopify 2 locations, Amazon sum); %zu interleaved rounds\n",
              o.events, o.products, o.rounds);
  auto cpu = cpu_seconds();
  // Prints a phase's rate and the CPU time it used per event.
  auto report = [&](size_t round, const char* what, double secs) {
    auto now = cpu_seconds();
    std::printf("round %zu %s %10.0f events/s  (%.1f us CPU per event)\n",
                round, what, o.events / secs, (now - cpu) * 1e6 / o.events);
    std::fflush(stdout);
    cpu = now;
    return o.events / secs;
  };
  // Each phase writes a fresh store, removed afterwards (disk stays small).
  auto fresh = [&](const char* name) {
    auto dir = o.dir + "/" + name;
    std::filesystem::remove_all(dir);
    return dir;
  };
  std::vector<double> a, b, c, ba, ca;
  auto runs = [&](char phase) {
    return o.phases.find(phase) != std::string::npos;
  };
  for (size_t r = 1; r <= o.rounds; ++r) {
    if (runs('a'))
      a.push_back(report(r, "(a) raw RocksDB, WriteBatch of 1000:  ",
                         raw_rocksdb(events, fresh("a"))));
    if (runs('b'))
      b.push_back(report(r, "(b) in-process ingest to outbox:      ",
                         in_process(events, fresh("b"))));
    if (runs('c'))
      c.push_back(report(r, "(c) HTTP ingest, batches of 1000:     ",
                         over_http(events, fresh("c"))));
    if (o.phases != "abc") continue;
    ba.push_back(b.back() / a.back());
    ca.push_back(c.back() / a.back());
    std::printf("round %zu b/a = %.2f   c/a = %.2f\n", r, ba.back(), ca.back());
    std::fflush(stdout);
  }
  if (o.phases != "abc") {
    std::filesystem::remove_all(o.dir);
    return 0;
  }
  std::printf("median events/s: (a) %.0f  (b) %.0f  (c) %.0f\n", median(a),
              median(b), median(c));
  std::printf("median of rounds: b/a = %.2f (target >= 0.6)   c/a = %.2f "
              "(target >= 0.6)\n",
              median(ba), median(ca));
  std::fflush(stdout);
  if (o.memory_products > 0) memory_and_restart(o, fresh("m"));
  std::filesystem::remove_all(o.dir);
  return 0;
}
