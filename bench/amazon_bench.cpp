// Builds the JSON_LISTINGS_FEED documents for one batch interval in which
// 1,000,000 quantity changes hit 100,000 SKUs, and prints the number of feeds
// (the minimum is ceil(100000 / 25000) = 4), the build time, the peak memory
// and the throughput. Run: build-amazon/channels/amazon/amazon_feed_bench
#include <benchmark/benchmark.h>

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "channels/amazon/feed.hpp"

namespace {

using namespace shelfsync::amazon;

constexpr size_t changes = 1'000'000;
constexpr size_t skus = 100'000;

std::vector<std::string> make_skus() {
  std::vector<std::string> out;
  out.reserve(skus);
  for (size_t i = 0; i < skus; ++i)
    out.push_back("SKU-" + std::to_string(100'000'000 + i * 7919));
  return out;
}

/// Index of each change's SKU: every SKU at least once, the rest random.
std::vector<uint32_t> make_changes() {
  std::mt19937 rng{42};
  std::uniform_int_distribution<uint32_t> pick{0, skus - 1};
  std::vector<uint32_t> out;
  out.reserve(changes);
  for (uint32_t i = 0; i < skus; ++i)
    out.push_back(i);
  while (out.size() < changes)
    out.push_back(pick(rng));
  std::shuffle(out.begin(), out.end(), rng);
  return out;
}

long peak_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

feed_options options() {
  feed_options opts;
  opts.seller_id = "A2EXAMPLE";
  opts.issue_locale = "en_US";
  return opts;
}

size_t build_once(const std::vector<std::string>& names,
                  const std::vector<uint32_t>& order, size_t& bytes) {
  feed_builder builder{options()};
  int64_t qty = 0;
  for (auto i : order)
    builder.add(names[i], qty++ % 1000);
  auto batch = builder.finish();
  bytes = 0;
  for (auto& f : batch.feeds)
    bytes += f.body.size();
  return batch.feeds.size();
}

void BM_build_feeds(benchmark::State& state) {
  auto names = make_skus();
  auto order = make_changes();
  size_t feeds = 0;
  size_t bytes = 0;
  for (auto _ : state)
    benchmark::DoNotOptimize(feeds = build_once(names, order, bytes));
  state.counters["feeds"] = static_cast<double>(feeds);
  state.counters["bytes"] = static_cast<double>(bytes);
  state.counters["changes/s"] =
      benchmark::Counter(static_cast<double>(changes),
                         benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_build_feeds)->Unit(benchmark::kMillisecond);

/// The headline figures, measured once before Google Benchmark's loop so
/// that the peak memory is the builder's own.
void report_headline() {
  auto names = make_skus();
  auto order = make_changes();
  long rss_before = peak_rss_kib();
  auto start = std::chrono::steady_clock::now();
  size_t bytes = 0;
  size_t feeds = build_once(names, order, bytes);
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  long rss_after = peak_rss_kib();
  std::printf("amazon feed build: %zu changes over %zu SKUs -> %zu feeds "
              "(minimum %zu), %.1f MiB of JSON\n",
              changes, skus, feeds, (skus + 24'999) / 25'000,
              static_cast<double>(bytes) / (1 << 20));
  std::printf("  time %.1f ms, %.2f M changes/s, %.2f M messages/s\n",
              took.count() * 1e3, changes / took.count() / 1e6,
              skus / took.count() / 1e6);
  std::printf("  peak RSS %.1f MiB (input alone %.1f MiB; build added "
              "%.1f MiB)\n",
              rss_after / 1024.0, rss_before / 1024.0,
              (rss_after - rss_before) / 1024.0);
}

} // namespace

int main(int argc, char** argv) {
  report_headline();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
