#include "api/metrics.hpp"

#include <cstdio>
#include <map>

#include <nlohmann/json.hpp>

namespace shelfsync {

namespace {

/// Prometheus metric names: [a-zA-Z_:][a-zA-Z0-9_:]*.
bool is_metric_name(const std::string& name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0])))
    return false;
  for (unsigned char c : name)
    if (!std::isalnum(c) && c != '_' && c != ':') return false;
  return true;
}

} // namespace

void metrics::batch_done(uint64_t accepted, uint64_t duplicates,
                         double seconds) {
  accepted_ += accepted;
  duplicates_ += duplicates;
  size_t i = 0;
  while (i < latency_buckets.size() && seconds > latency_buckets[i])
    ++i;
  ++buckets_[i];
  ++latency_count_;
  latency_sum_us_ += static_cast<uint64_t>(seconds * 1e6);
}

void metrics::batch_rejected(uint64_t events) {
  ++rejected_batches_;
  rejected_events_ += events;
}

std::string metrics::render(const std::vector<shop_status>& shops) const {
  std::string out;
  auto line = [&](const std::string& text) {
    out += text;
    out += '\n';
  };
  line("# HELP shelfsync_events_accepted_total Events new to shelfsync, "
       "durably logged.");
  line("# TYPE shelfsync_events_accepted_total counter");
  line("shelfsync_events_accepted_total " + std::to_string(accepted_));
  line("# HELP shelfsync_events_duplicate_total Events whose id was seen "
       "before.");
  line("# TYPE shelfsync_events_duplicate_total counter");
  line("shelfsync_events_duplicate_total " + std::to_string(duplicates_));
  line("# HELP shelfsync_events_rejected_total Events in refused batches.");
  line("# TYPE shelfsync_events_rejected_total counter");
  line("shelfsync_events_rejected_total " + std::to_string(rejected_events_));
  line("# HELP shelfsync_batches_rejected_total Refused batches.");
  line("# TYPE shelfsync_batches_rejected_total counter");
  line("shelfsync_batches_rejected_total " + std::to_string(rejected_batches_));
  line("# HELP shelfsync_batch_seconds Time from receiving a batch to its "
       "durable acceptance.");
  line("# TYPE shelfsync_batch_seconds histogram");
  uint64_t cumulative = 0;
  char le[32];
  for (size_t i = 0; i < latency_buckets.size(); ++i) {
    cumulative += buckets_[i];
    std::snprintf(le, sizeof(le), "%g", latency_buckets[i]);
    line(std::string{"shelfsync_batch_seconds_bucket{le=\""} + le + "\"} " +
         std::to_string(cumulative));
  }
  cumulative += buckets_[latency_buckets.size()];
  line("shelfsync_batch_seconds_bucket{le=\"+Inf\"} " +
       std::to_string(cumulative));
  char sum[64];
  std::snprintf(sum, sizeof(sum), "%.6f", latency_sum_us_ / 1e6);
  line(std::string{"shelfsync_batch_seconds_sum "} + sum);
  line("shelfsync_batch_seconds_count " + std::to_string(latency_count_));
  line("# HELP shelfsync_outbox_depth Products with a view not yet delivered, "
       "per shop.");
  line("# TYPE shelfsync_outbox_depth gauge");
  for (auto& s : shops)
    line("shelfsync_outbox_depth{shop=\"" + s.shop + "\"} " +
         std::to_string(s.pending));
  // Channel figures each shop reports under "metrics" in its details, one
  // gauge family per name.
  std::map<std::string, std::vector<std::pair<std::string, double>>> channel;
  for (auto& s : shops) {
    auto details = nlohmann::json::parse(s.details, nullptr, false);
    if (!details.is_object() || !details.contains("metrics") ||
        !details["metrics"].is_object())
      continue;
    for (auto& [name, value] : details["metrics"].items())
      if (value.is_number() && is_metric_name(name))
        channel[name].emplace_back(s.shop, value.get<double>());
  }
  for (auto& [name, values] : channel) {
    line("# TYPE shelfsync_channel_" + name + " gauge");
    for (auto& [shop, value] : values) {
      char text[64];
      std::snprintf(text, sizeof(text), "%.17g", value);
      line("shelfsync_channel_" + name + "{shop=\"" + shop + "\"} " + text);
    }
  }
  return out;
}

} // namespace shelfsync
