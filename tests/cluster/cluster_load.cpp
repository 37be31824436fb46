#include "tests/cluster/cluster_load.hpp"

#include <random>

namespace shelfsync::tests {

namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

/// A loader reads a product back after every this many batches answered 200.
constexpr size_t read_back_every = 6;

} // namespace

struct cluster_load::loader {
  int index = 0;
  std::vector<std::string> products;
  std::unique_ptr<event_load> events;
  std::mt19937_64 rng;
  std::thread thread;
  size_t acknowledged = 0;
};

cluster_load::cluster_load(cluster_rig& rig, uint64_t seed, int loaders)
    : rig_(rig), seed_(seed), oracle_(rig.shops()) {
  auto products = rig.products();
  for (int k = 0; k < loaders; ++k) {
    auto l = std::make_unique<loader>();
    l->index = k;
    for (size_t p = k; p < products.size(); p += loaders)
      l->products.push_back(products[p]);
    l->events = std::make_unique<event_load>(
        seed + k, "L" + std::to_string(k) + "-", l->products, rig.warehouses());
    // The cluster deduplicates ids across products (the test
    // cluster_fault.an_id_seen_for_another_product_changes_nothing), but by
    // the order the slots apply them, not the order they were accepted: a
    // reuse for a product of a slot ahead of the first use's slot (a
    // backlog, a take-over) wins there, and this oracle (first accepted
    // wins) would count it wrong. So duplicates keep their product.
    l->events->duplicates_keep_their_product(true);
    l->rng.seed(seed * 31 + k);
    loaders_.push_back(std::move(l));
  }
}

cluster_load::~cluster_load() { stop(); }

void cluster_load::start() {
  stop();
  stop_ = false;
  for (auto& l : loaders_) {
    auto* raw = l.get();
    l->thread = std::thread{[this, raw] {
      run(*raw);
    }};
  }
  watcher_ = std::thread{[this] {
    watch();
  }};
}

void cluster_load::stop() {
  stop_ = true;
  for (auto& l : loaders_)
    if (l->thread.joinable()) l->thread.join();
  if (watcher_.joinable()) watcher_.join();
}

void cluster_load::problem(std::string line) {
  std::lock_guard<std::mutex> guard{mutex_};
  if (problems_.size() < 50) problems_.push_back(std::move(line));
}

std::vector<std::string> cluster_load::problems() const {
  std::lock_guard<std::mutex> guard{mutex_};
  return problems_;
}

bool cluster_load::wait_for_progress(size_t more,
                                     std::chrono::milliseconds limit) {
  auto target = acknowledged_ + more;
  auto deadline = steady::now() + limit;
  while (acknowledged_ < target) {
    if (gave_up_ || steady::now() > deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

std::string cluster_load::stock_differs(const std::string& code,
                                        const json& body) const {
  std::map<std::string, std::pair<int64_t, int64_t>> want;
  {
    std::lock_guard<std::mutex> guard{mutex_};
    want = oracle_.stock(code);
  }
  json held = body.is_object() ? body.value("warehouses", json::object())
                               : json::object();
  std::string out;
  for (auto& [warehouse, level] : held.items()) {
    auto w = want.find(warehouse);
    auto expected =
        w == want.end() ? std::pair<int64_t, int64_t>{0, 0} : w->second;
    auto on_hand = level.value("on_hand", int64_t{-1});
    auto reserved = level.value("reserved", int64_t{-1});
    if (on_hand != expected.first || reserved != expected.second)
      out += " " + warehouse + ": holds on_hand " + std::to_string(on_hand) +
             " reserved " + std::to_string(reserved) + ", expected " +
             std::to_string(expected.first) + "/" +
             std::to_string(expected.second) + ";";
    if (w != want.end()) want.erase(w);
  }
  for (auto& [warehouse, expected] : want)
    if (expected.first != 0 || expected.second != 0)
      out += " " + warehouse + ": missing, expected " +
             std::to_string(expected.first) + "/" +
             std::to_string(expected.second) + ";";
  return out.empty() ? out : code + out;
}

void cluster_load::run(loader& l) {
  while (!stop_ && !gave_up_) {
    auto size = std::uniform_int_distribution<size_t>{1, 12}(l.rng);
    auto batch = l.events->next_batch(size);
    auto r = rig_.post_batch(batch, l.rng, 90s);
    resends_ += static_cast<size_t>(std::max(0, r.attempts - 1));
    if (r.status != 200) {
      // What the cluster holds of this batch is unknown from here on.
      problem("loader " + std::to_string(l.index) +
              " gave up a batch: " + r.error);
      gave_up_ = true;
      return;
    }
    {
      std::lock_guard<std::mutex> guard{mutex_};
      for (auto& e : batch)
        if (seen_.insert(e.id).second) ids_[e.product].insert(e.id);
      oracle_.accept(batch);
    }
    ++acknowledged_;
    if (++l.acknowledged % read_back_every == 0) {
      // Read-your-writes on another node: every batch answered 200 before
      // the GET is in it, applied once.
      auto& code = batch[std::uniform_int_distribution<size_t>{0, batch.size() -
                                                                      1}(l.rng)]
                       .product;
      int node = -1;
      for (int tries = 0; tries < 20 && node < 0; ++tries) {
        auto i =
            std::uniform_int_distribution<int>{0, rig_.node_count() - 1}(l.rng);
        if (rig_.node_up(i)) node = i;
      }
      if (node >= 0) {
        auto a = rig_.product(node, code, 40s);
        if (a.status == 200) {
          ++read_backs_;
          if (auto d = stock_differs(code, a.body); !d.empty())
            problem("read back on " + rig_.node_id(node) +
                    " after a 200: " + d);
        } else if (rig_.node_up(node)) {
          problem("GET /v1/products/" + code + " on " + rig_.node_id(node) +
                  " answered " + std::to_string(a.status) +
                  " for 40 s: " + a.body.dump());
        }
      }
    }
    // Paced: the machine also runs 3 NATS servers and the nodes.
    std::this_thread::sleep_for(20ms);
  }
}

void cluster_load::watch() {
  std::mt19937_64 rng{seed_ ^ 0x5eed};
  auto products = rig_.products();
  while (!stop_) {
    std::this_thread::sleep_for(50ms);
    auto i = std::uniform_int_distribution<int>{0, rig_.node_count() - 1}(rng);
    if (!rig_.node_up(i)) continue;
    auto& code = products[std::uniform_int_distribution<size_t>{
        0, products.size() - 1}(rng)];
    auto a = rig_.get(i, "/v1/products/" + code);
    if (a.status != 200 || !a.body.is_object()) continue;
    auto seq = a.body.value("cluster", json::object())
                   .value("applied_seq", uint64_t{0});
    ++watched_;
    std::lock_guard<std::mutex> guard{mutex_};
    auto& last = applied_seen_[code];
    if (seq < last && problems_.size() < 50)
      problems_.push_back(code + " went backwards on " + rig_.node_id(i) +
                          ": applied_seq " + std::to_string(seq) + " after " +
                          std::to_string(last) + " was read before");
    last = std::max(last, seq);
  }
}

} // namespace shelfsync::tests
