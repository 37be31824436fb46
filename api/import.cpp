#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>
#include <iostream>

#include "actors/engine.hpp"
#include "actors/log.hpp"
#include "api/commands.hpp"
#include "api/error_text.hpp"
#include "api/event_parser.hpp"
#include "api/progress.hpp"

namespace shelfsync::commands {

namespace {

/// Events handed to the engine per batch.
constexpr size_t import_batch = 1000;

/// Reads the file in batches of whole lines; calls `f(lines, byte_offset,
/// first_index)` for each; stops early when `f` returns false.
template<class F>
bool for_each_chunk(std::ifstream& in, F f) {
  std::string chunk;
  std::string line;
  uint64_t offset = 0;
  uint64_t chunk_offset = 0;
  size_t index = 0;
  size_t chunk_index = 0;
  size_t lines = 0;
  while (std::getline(in, line)) {
    auto blank = line.find_first_not_of(" \t\r") == std::string::npos;
    chunk += line;
    chunk += '\n';
    offset += line.size() + 1;
    if (!blank) {
      ++lines;
      ++index;
    }
    if (lines == import_batch) {
      if (!f(chunk, chunk_offset, chunk_index)) return false;
      chunk.clear();
      chunk_offset = offset;
      chunk_index = index;
      lines = 0;
    }
  }
  return chunk.empty() || f(chunk, chunk_offset, chunk_index);
}

/// Updates the progress line (set_status_line keeps log lines from
/// breaking it), at most ten times a second.
void show_progress(size_t done, size_t total,
                   std::chrono::steady_clock::time_point started) {
  static std::chrono::steady_clock::time_point last;
  auto now = std::chrono::steady_clock::now();
  if (done < total && now - last < std::chrono::milliseconds{100}) return;
  last = now;
  std::chrono::duration<double> secs = now - started;
  set_status_line(import_progress(done, total, secs.count()));
}

} // namespace

int import_events(const std::string& config_path,
                  const std::string& events_path) {
  auto loaded = load_config(config_path);
  if (!loaded) {
    for (auto& p : loaded.problems)
      std::cerr << config_path << ": " << to_string(p) << '\n';
    return 1;
  }
  auto conf = loaded.value;
  apply_log_settings(conf->node.log_level, conf->node.log_format);
  auto known = [&](std::string_view wh) {
    return conf->has_warehouse(std::string{wh});
  };
  std::ifstream in{events_path, std::ios::binary};
  if (!in) {
    std::cerr << "shelfsync: cannot open " << events_path << '\n';
    return 1;
  }
  // First pass: validate everything, so that nothing of a bad file applies.
  size_t total = 0;
  bool valid = for_each_chunk(in, [&](const std::string& chunk, uint64_t offset,
                                      size_t first) {
    auto parsed = parse_events(chunk, batch_format::ndjson, known);
    if (auto* err = std::get_if<batch_error>(&parsed)) {
      std::cerr << events_path << ": event " << first + err->index.value_or(0)
                << " (line " << first + err->index.value_or(0) + 1 << ")";
      if (err->offset) std::cerr << ", byte " << offset + *err->offset;
      if (err->field) std::cerr << ", field \"" << *err->field << "\"";
      std::cerr << ": " << err->message << "; nothing was imported\n";
      return false;
    }
    total += std::get<std::vector<stock_event>>(parsed).size();
    return true;
  });
  if (!valid) return 1;
  auto eng = engine::start(conf);
  if (!eng) {
    std::cerr << "shelfsync: cannot start: " << error_text(eng.error()) << '\n';
    return 1;
  }
  in.clear();
  in.seekg(0);
  bool tty = isatty(STDERR_FILENO) != 0;
  auto started = std::chrono::steady_clock::now();
  uint64_t accepted = 0;
  uint64_t duplicates = 0;
  size_t done = 0;
  std::string failure;
  for_each_chunk(in, [&](const std::string& chunk, uint64_t, size_t) {
    auto events = std::get<std::vector<stock_event>>(
        parse_events(chunk, batch_format::ndjson, known));
    auto n = events.size();
    std::promise<caf::expected<ingest_result>> answer;
    (*eng)->ingest(std::move(events), [&](caf::expected<ingest_result> r) {
      answer.set_value(r);
    });
    auto result = answer.get_future().get();
    if (!result) {
      failure = error_text(result.error());
      return false;
    }
    accepted += result->accepted;
    duplicates += result->duplicates;
    done += n;
    if (tty) show_progress(done, total, started);
    return true;
  });
  if (tty) {
    set_status_line("");
    std::chrono::duration<double> secs =
        std::chrono::steady_clock::now() - started;
    std::fprintf(stderr, "imported %zu/%zu events in %.1f s\n", done, total,
                 secs.count());
  }
  if (!failure.empty()) {
    std::cerr << "shelfsync: import stopped after " << done
              << " events: " << failure << '\n';
    return 1;
  }
  if (auto cp = (*eng)->sync(); !cp) {
    std::cerr << "shelfsync: " << error_text(cp.error()) << '\n';
    return 1;
  }
  std::cout << "imported " << accepted << " events (" << duplicates
            << " duplicates) from " << events_path << '\n';
  return 0;
}

} // namespace shelfsync::commands
