// How fast one node applies a backlog: events published straight to the
// events stream (as ingest splits them, every ack awaited) on 3 real
// nats-servers (3 replicas), then one `cluster::node` started that owns
// every slot; timed from its start until every slot's applier has
// checkpointed the slot's last message. Ingest is not in the figure.
//
//   build/bench/cluster_apply_bench [--events 50000] [--products 5000]
//                                   [--slots 16] [--batch 1000]
//
// Last line: `cluster apply: events=N products=P slots=S seconds=T
// events_per_s=R`.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cluster/event_log.hpp"
#include "cluster/node.hpp"
#include "tests/cluster/nats_servers.hpp"

using namespace shelfsync;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

[[noreturn]] void give_up(const std::string& why) {
  std::fprintf(stderr, "cluster_apply_bench: %s\n", why.c_str());
  std::exit(1);
}

} // namespace

int main(int argc, char** argv) {
  size_t events = 50000, products = 5000, batch = 1000;
  uint32_t slots = 16;
  for (int i = 1; i + 1 < argc; i += 2) {
    auto value = std::strtoull(argv[i + 1], nullptr, 10);
    if (!std::strcmp(argv[i], "--events"))
      events = value;
    else if (!std::strcmp(argv[i], "--products"))
      products = value;
    else if (!std::strcmp(argv[i], "--slots"))
      slots = static_cast<uint32_t>(value);
    else if (!std::strcmp(argv[i], "--batch"))
      batch = value;
    else
      give_up(std::string{"unknown option "} + argv[i]);
  }
  if (test::nats_servers::binary().empty()) give_up("nats-server not found");
  test::nats_servers nats{3};
  if (!nats.error().empty()) give_up(nats.error());

  cluster::connect_options co;
  co.urls = nats.urls();
  co.timeout = 5s;
  auto js = cluster::jetstream::connect(co);
  if (!js) give_up(js.err().message);
  auto ensure = [&](const cluster::stream_spec& spec) {
    for (int tries = 0;; ++tries) {
      auto made = (*js)->ensure_stream(spec);
      if (made) return;
      if (tries > 150) give_up(made.err().message);
      std::this_thread::sleep_for(100ms);
    }
  };
  ensure(cluster::events_stream_spec(3, 0ms));
  ensure(cluster::state_stream_spec(3));

  std::mt19937_64 rng{42};
  std::uniform_int_distribution<size_t> pick(0, products - 1);
  for (size_t done = 0; done < events; done += batch) {
    std::vector<stock_event> b;
    for (size_t i = done; i < std::min(events, done + batch); ++i) {
      stock_event e;
      e.id = "e" + std::to_string(i);
      e.product = "P" + std::to_string(pick(rng));
      e.warehouse = "WH-A";
      e.delta = 1;
      e.fields = stock_event::has_delta;
      b.push_back(std::move(e));
    }
    auto acks =
        (*js)->publish_batch(cluster::event_messages(b, slots, nullptr), 30s);
    if (!acks) give_up(acks.err().message);
  }
  std::vector<uint64_t> last(slots, 0);
  for (uint32_t s = 0; s < slots; ++s) {
    auto l = cluster::last_event_seq(**js, s);
    if (!l) give_up(l.err().message);
    last[s] = *l;
  }
  std::printf("published %zu events over %zu products in %u slots\n", events,
              products, slots);

  cluster::node_options o;
  o.node_id = "n1";
  o.connect = co;
  o.slots = slots;
  o.replicas = 3;
  auto started = steady::now();
  auto n = cluster::node::start(o);
  if (!n) give_up(n.err().message);
  for (;;) {
    bool all = true;
    for (auto& s : (*n)->slots())
      all = all && s.applied_seq >= last[s.slot];
    if (all) break;
    if (steady::now() - started > 600s) give_up("not applied in 600 s");
    std::this_thread::sleep_for(20ms);
  }
  double secs = std::chrono::duration<double>(steady::now() - started).count();
  // What the derived state takes in the state stream (per replica).
  jsStreamInfo* info = nullptr;
  jsErrCode jerr{};
  if (js_GetStreamInfo(&info, (*js)->context(), cluster::state_stream.c_str(),
                       nullptr, &jerr) == NATS_OK) {
    std::printf("state stream: %llu messages, %llu bytes (%.0f bytes per "
                "event)\n",
                static_cast<unsigned long long>(info->State.Msgs),
                static_cast<unsigned long long>(info->State.Bytes),
                static_cast<double>(info->State.Bytes) / events);
    jsStreamInfo_Destroy(info);
  }
  std::printf("cluster apply: events=%zu products=%zu slots=%u seconds=%.2f "
              "events_per_s=%.0f\n",
              events, products, slots, secs, events / secs);
  return 0;
}
