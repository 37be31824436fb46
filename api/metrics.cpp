#include "api/metrics.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "api/version.hpp"

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

/// A label value as the text format wants it: \, " and newline escaped.
std::string label_value(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

/// The shortest of %.15g and %.17g that reads back as `value` ("0.1", not
/// "0.10000000000000001").
std::string number(double value) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.15g", value);
  if (std::strtod(text, nullptr) != value)
    std::snprintf(text, sizeof(text), "%.17g", value);
  return text;
}

/// What a figure a shop reports under "metrics" in its status details is
/// to Prometheus. Figures not listed go out as gauges named after them.
struct channel_figure {
  const char* family;
  const char* type;
  const char* help;
};

const std::map<std::string, channel_figure>& channel_figures() {
  static const std::map<std::string, channel_figure> figures = {
      // Both channels.
      {"confirmed",
       {"confirmed_total", "counter", "Values the channel confirmed."}},
      {"failed",
       {"failed_total", "counter",
        "Values the channel refused (its code and message are in the "
        "product's deliveries)."}},
      {"throttled",
       {"throttled_total", "counter",
        "Answers that said the channel's rate limit or budget was "
        "exhausted."}},
      // Shopify.
      {"requests",
       {"requests_total", "counter",
        "Requests sent to the channel, retries included."}},
      {"surveys",
       {"surveys_total", "counter",
        "Reads of where products are stocked, taken before a push."}},
      {"pushes", {"pushes_total", "counter", "Quantity updates sent."}},
      {"rows",
       {"rows_total", "counter",
        "Quantity rows sent (item and location), retries included."}},
      {"errors",
       {"errors_total", "counter",
        "Requests that failed: transport errors, 5xx, unreadable answers."}},
      {"retries",
       {"retries_total", "counter", "Requests sent again after a failure."}},
      {"drift_passes",
       {"drift_passes_total", "counter",
        "Drift check passes completed over every driven product."}},
      {"drift_reads",
       {"drift_reads_total", "counter", "Reads sent by the drift check."}},
      {"drift_points",
       {"drift_points_total", "counter",
        "API cost points the drift check's reads asked for."}},
      {"drift_checked",
       {"drift_checked_total", "counter",
        "Products the drift check compared with the channel."}},
      {"drift_found",
       {"drift_found_total", "counter",
        "Products found changed in the channel behind shelfsync's back."}},
      {"drift_corrected",
       {"drift_corrected_total", "counter",
        "Corrections the drift check queued."}},
      {"bucket_available",
       {"budget_available", "gauge",
        "API cost points available now in the channel's budget."}},
      {"request_seconds",
       {"request_seconds", "histogram",
        "Time a call to the channel took, retries of a call included."}},
      // Amazon.
      {"feeds_submitted",
       {"feeds_submitted_total", "counter", "Feeds submitted."}},
      {"feeds_processing",
       {"feeds_processing", "gauge",
        "Feeds submitted and not yet done processing."}},
      {"feeds_done",
       {"feeds_done_total", "counter", "Feeds the channel processed."}},
      {"feeds_fatal",
       {"feeds_fatal_total", "counter",
        "Feeds the channel ended as fatal (their messages go again)."}},
      {"messages",
       {"messages_total", "counter", "Feed messages (one per SKU) sent."}},
      {"retried",
       {"retried_total", "counter",
        "SKUs sent again after a transient error."}},
      {"resubmitted",
       {"resubmitted_total", "counter",
        "SKUs sent again because their feed did not process them."}},
      {"deferred",
       {"deferred_total", "counter",
        "SKUs held for a later feed while an earlier one processes them."}},
      {"submit_errors",
       {"submit_errors_total", "counter", "Feed submissions that failed."}},
      {"poll_errors",
       {"poll_errors_total", "counter", "Feed status reads that failed."}},
      {"processing_seconds",
       {"feed_processing_seconds", "histogram",
        "Time from a feed's submission to the end of its processing."}},
  };
  return figures;
}

/// Figures shown in the status details only: percentiles and last values
/// are what histograms are for.
bool status_only(const std::string& name) {
  return name == "latency_ms_p50" || name == "latency_ms_p99" ||
         name == "processing_seconds_last";
}

/// Appends HELP and TYPE of a family.
void family(std::string& out, const std::string& name, const char* type,
            const std::string& help) {
  out += "# HELP " + name + " " + help + "\n";
  out += "# TYPE " + name + " " + type + "\n";
}

/// Appends the samples of a histogram that a shop reported as JSON under
/// "histograms" (see core/histogram.hpp); false when it is not one.
bool histogram_samples(std::string& out, const std::string& name,
                       const std::string& labels, const nlohmann::json& h) {
  if (!h.is_object() || !h.contains("le") || !h.contains("counts") ||
      !h["le"].is_array() || !h["counts"].is_array() ||
      h["counts"].size() != h["le"].size() + 1 ||
      !h.value("sum", nlohmann::json()).is_number() ||
      !h.value("count", nlohmann::json()).is_number())
    return false;
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= h["le"].size(); ++i) {
    if (!h["counts"][i].is_number_unsigned() ||
        (i < h["le"].size() && !h["le"][i].is_number()))
      return false;
    cumulative += h["counts"][i].get<uint64_t>();
    auto le = i < h["le"].size() ? number(h["le"][i].get<double>()) : "+Inf";
    out += name + "_bucket{" + labels + ",le=\"" + le + "\"} " +
           std::to_string(cumulative) + "\n";
  }
  out += name + "_sum{" + labels + "} " + number(h["sum"].get<double>()) + "\n";
  out += name + "_count{" + labels + "} " + std::to_string(cumulative) + "\n";
  return true;
}

/// The process figures every Prometheus client exports, read from /proc.
void render_process(std::string& out) {
  auto ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  std::ifstream stat_file{"/proc/self/stat"};
  std::string stat{std::istreambuf_iterator<char>(stat_file), {}};
  // Fields after the command name, which is in parentheses and may hold
  // spaces: field 3 (state) is the first.
  auto close = stat.rfind(')');
  std::vector<std::string> fields;
  if (close != std::string::npos) {
    std::istringstream rest{stat.substr(close + 1)};
    for (std::string f; rest >> f;)
      fields.push_back(f);
  }
  auto field = [&](size_t n) -> double { // n as in proc(5), from 1
    return n >= 3 && n - 3 < fields.size() ? std::stod(fields[n - 3]) : 0;
  };
  if (fields.size() >= 22) {
    family(out, "process_cpu_seconds_total", "counter",
           "User and system CPU time spent, in seconds.");
    out += "process_cpu_seconds_total " +
           number((field(14) + field(15)) / ticks) + "\n";
    family(out, "process_virtual_memory_bytes", "gauge",
           "Virtual memory size in bytes.");
    out += "process_virtual_memory_bytes " + number(field(23)) + "\n";
    family(out, "process_resident_memory_bytes", "gauge",
           "Resident memory size in bytes.");
    out += "process_resident_memory_bytes " +
           number(field(24) * static_cast<double>(sysconf(_SC_PAGESIZE))) +
           "\n";
    // Start time: ticks after boot, plus the boot time from /proc/stat.
    std::ifstream system_stat{"/proc/stat"};
    double boot = -1;
    for (std::string line; std::getline(system_stat, line);)
      if (line.rfind("btime ", 0) == 0) boot = std::stod(line.substr(6));
    if (boot >= 0) {
      family(out, "process_start_time_seconds", "gauge",
             "Start time of the process since the Unix epoch, in seconds.");
      out += "process_start_time_seconds " + number(boot + field(22) / ticks) +
             "\n";
    }
  }
  if (auto* dir = ::opendir("/proc/self/fd")) {
    uint64_t open = 0;
    while (auto* entry = ::readdir(dir))
      if (entry->d_name[0] != '.') ++open;
    ::closedir(dir);
    family(out, "process_open_fds", "gauge", "Open file descriptors.");
    out += "process_open_fds " + std::to_string(open - 1) + "\n"; // ours
  }
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    family(out, "process_max_fds", "gauge", "Limit of open file descriptors.");
    out += "process_max_fds " +
           (limit.rlim_cur == RLIM_INFINITY
                ? std::string{"+Inf"}
                : std::to_string(static_cast<uint64_t>(limit.rlim_cur))) +
           "\n";
  }
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
  family(out, "shelfsync_build_info", "gauge",
         "Always 1; the labels say which build of shelfsync this is.");
  line(std::string{"shelfsync_build_info{version=\""} + label_value(version()) +
       "\"} 1");
  family(out, "shelfsync_events_accepted_total", "counter",
         "Events new to shelfsync, durably logged.");
  line("shelfsync_events_accepted_total " + std::to_string(accepted_));
  family(out, "shelfsync_events_duplicate_total", "counter",
         "Events whose id was seen before.");
  line("shelfsync_events_duplicate_total " + std::to_string(duplicates_));
  family(out, "shelfsync_events_rejected_total", "counter",
         "Events in refused batches.");
  line("shelfsync_events_rejected_total " + std::to_string(rejected_events_));
  family(out, "shelfsync_batches_rejected_total", "counter",
         "Refused batches.");
  line("shelfsync_batches_rejected_total " + std::to_string(rejected_batches_));
  family(out, "shelfsync_batch_seconds", "histogram",
         "Time from receiving a batch to its durable acceptance.");
  uint64_t cumulative = 0;
  for (size_t i = 0; i < latency_buckets.size(); ++i) {
    cumulative += buckets_[i];
    line("shelfsync_batch_seconds_bucket{le=\"" + number(latency_buckets[i]) +
         "\"} " + std::to_string(cumulative));
  }
  cumulative += buckets_[latency_buckets.size()];
  line("shelfsync_batch_seconds_bucket{le=\"+Inf\"} " +
       std::to_string(cumulative));
  line("shelfsync_batch_seconds_sum " + number(latency_sum_us_ / 1e6));
  line("shelfsync_batch_seconds_count " + std::to_string(cumulative));
  family(out, "shelfsync_outbox_depth", "gauge",
         "Products with a view not yet delivered, per shop.");
  for (auto& s : shops)
    line("shelfsync_outbox_depth{shop=\"" + label_value(s.shop) + "\"} " +
         std::to_string(s.pending));
  family(out, "shelfsync_in_flight", "gauge",
         "Products sent to the channel and not yet answered, per shop.");
  for (auto& s : shops)
    line("shelfsync_in_flight{shop=\"" + label_value(s.shop) + "\"} " +
         std::to_string(s.in_flight));
  // Channel figures each shop reports under "metrics" in its details, one
  // family per name, the samples of every shop together.
  std::map<std::string, std::vector<std::pair<std::string, nlohmann::json>>>
      channel;
  for (auto& s : shops) {
    auto details = nlohmann::json::parse(s.details, nullptr, false);
    if (!details.is_object()) continue;
    // Numbers under "metrics", histograms under "histograms".
    for (auto section : {"metrics", "histograms"}) {
      if (!details.contains(section) || !details[section].is_object()) continue;
      for (auto& [name, value] : details[section].items())
        if ((value.is_number() || value.is_object()) && is_metric_name(name) &&
            !status_only(name))
          channel[name].emplace_back(s.shop, value);
    }
  }
  for (auto& [name, values] : channel) {
    auto known = channel_figures().find(name);
    auto counter_like =
        name.size() > 6 && name.compare(name.size() - 6, 6, "_total") == 0;
    std::string type = known != channel_figures().end() ? known->second.type
                       : counter_like                   ? "counter"
                                                        : "gauge";
    auto full = "shelfsync_channel_" + (known != channel_figures().end()
                                            ? std::string{known->second.family}
                                            : name);
    std::string samples;
    for (auto& [shop, value] : values) {
      auto labels = "shop=\"" + label_value(shop) + "\"";
      if (type == "histogram") {
        histogram_samples(samples, full, labels, value);
      } else if (value.is_number()) {
        samples +=
            full + "{" + labels + "} " + number(value.get<double>()) + "\n";
      }
    }
    if (samples.empty()) continue;
    family(out, full, type.c_str(),
           known != channel_figures().end()
               ? std::string{known->second.help}
               : "Channel figure \"" + name + "\" (see GET /v1/shops).");
    out += samples;
  }
  render_process(out);
  return out;
}

} // namespace shelfsync
