// The commands that read a stopped server's data dir: replay, log, explain.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>

#include "api/cluster_commands.hpp"
#include "api/commands.hpp"
#include "api/error_text.hpp"
#include "api/explanation.hpp"
#include "api/product_history.hpp"
#include "api/state_replay.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"

namespace shelfsync::commands {

namespace {

/// A config and its store, opened read-only.
struct offline_state {
  config_ptr conf;
  std::unique_ptr<store> db;
};

/// Loads the config and opens its data dir read-only; prints why not.
bool open_offline(const std::string& config_path, offline_state& out) {
  auto loaded = load_config(config_path);
  if (!loaded) {
    for (auto& p : loaded.problems)
      std::cerr << config_path << ": " << to_string(p) << '\n';
    return false;
  }
  out.conf = loaded.value;
  auto db = store::open_read_only(out.conf->node.data_dir);
  if (!db) {
    std::cerr << "shelfsync: " << error_text(db.error()) << '\n';
    return false;
  }
  out.db = std::move(*db);
  return true;
}

/// The config at `config_path` when it is valid and sets `node.cluster`
/// (the command then reads the cluster's log); else null, and the command
/// goes on as on one node (which reports a bad config).
config_ptr clustered(const std::string& config_path) {
  auto loaded = load_config(config_path);
  if (!loaded || !loaded.value->node.cluster) return nullptr;
  return loaded.value;
}

/// Progress on stderr, rewritten in place, only when it is a terminal.
class progress_line {
 public:
  progress_line() : tty_(isatty(STDERR_FILENO) != 0) {}

  ~progress_line() {
    if (shown_) std::fputc('\n', stderr);
  }

  /// Shows `done` of `total` (0 = unknown) `what`.
  void show(const char* verb, const char* what, uint64_t done, uint64_t total) {
    if (!tty_) return;
    if (what != what_) {
      // A new phase: its rate counts from now.
      what_ = what;
      started_ = clock_type::now();
    }
    std::chrono::duration<double> secs = clock_type::now() - started_;
    auto rate = static_cast<double>(done) / std::max(secs.count(), 1e-9);
    if (total != 0)
      std::fprintf(stderr, "\r%s %llu/%llu %s (%.0f/s)   ", verb,
                   static_cast<unsigned long long>(done),
                   static_cast<unsigned long long>(total), what, rate);
    else
      std::fprintf(stderr, "\r%s %llu %s   ", verb,
                   static_cast<unsigned long long>(done), what);
    shown_ = true;
  }

 private:
  using clock_type = std::chrono::steady_clock;
  bool tty_;
  bool shown_ = false;
  std::string what_;
  clock_type::time_point started_ = clock_type::now();
};

} // namespace

int replay(const std::string& config_path, uint64_t from, uint64_t to) {
  if (from != 0 && to != 0 && from > to) {
    std::cerr << "shelfsync: --from " << from << " is after --to " << to
              << '\n';
    return 2;
  }
  if (auto conf = clustered(config_path)) {
    if (from != 0 || to != 0) {
      std::cerr << "shelfsync: --from and --to do not apply in clustered "
                   "mode: replay checks every product the cluster stores\n";
      return 2;
    }
    return cluster_replay(*conf);
  }
  offline_state st;
  if (!open_offline(config_path, st)) return 1;
  if (to > st.db->last_seq()) {
    std::cerr << "shelfsync: --to " << to
              << " is beyond the end of the log (last seq " << st.db->last_seq()
              << ")\n";
    return 2;
  }
  auto snap = st.db->snapshot_seq();
  if (!snap) {
    std::cerr << "shelfsync: " << error_text(snap.error()) << '\n';
    return 1;
  }
  auto dropped = [&](const char* option, uint64_t seq) {
    std::cerr << "shelfsync: " << option << ' ' << seq
              << ": the events up to seq " << *snap
              << " were dropped by retention (node.log_retention); the log "
                 "starts at seq "
              << *snap + 1 << '\n';
    return 2;
  };
  if (from != 0 && from <= *snap) return dropped("--from", from);
  if (to != 0 && to < *snap) return dropped("--to", to);
  caf::expected<replay_report> report{replay_report{}};
  {
    progress_line progress;
    report = replay_log(*st.db, *st.conf, replay_options{from, to},
                        [&](const char* what, uint64_t done, uint64_t total) {
                          progress.show("replay:", what, done, total);
                        });
  }
  if (!report) {
    std::cerr << "shelfsync: replay failed: " << error_text(report.error())
              << '\n';
    return 1;
  }
  auto& r = *report;
  std::cout << "replayed " << r.replayed_events << " events (seq "
            << r.snapshot_seq + 1 << ".." << r.to << " of " << r.last_seq
            << ") into a fresh state";
  if (r.snapshot_seq != 0)
    std::cout << " that starts from the snapshot retention left at seq "
              << r.snapshot_seq;
  if (r.passes > 1) std::cout << " (" << r.passes << " passes)";
  std::cout << '\n'

            << "live state: derived state complete up to seq " << r.checkpoint
            << ", " << r.tail_events
            << " later events applied as the engine's recovery would\n";
  for (auto& d : r.differences)
    std::cout << d.product << ": " << d.what << ": live " << d.live
              << ", replayed " << d.replayed << '\n';
  std::cout << r.compared << " products compared";
  if (from != 0) std::cout << " (touched at or after seq " << from << ")";
  if (r.changed_after_to != 0)
    std::cout << ", " << r.changed_after_to << " left out (changed after seq "
              << r.to << ")";
  std::cout << "; " << r.differences.size() << " differences in "
            << r.products_differing << " products\n";
  return r.differences.empty() ? 0 : 3;
}

int product_log(const std::string& config_path, const std::string& code) {
  if (auto conf = clustered(config_path))
    return cluster_product_log(*conf, code);
  offline_state st;
  if (!open_offline(config_path, st)) return 1;
  caf::expected<std::vector<history_entry>> history{
      std::vector<history_entry>{}};
  {
    progress_line progress;
    history = read_history(*st.db, code, [&](uint64_t done, uint64_t total) {
      progress.show("log: scanned", "events", done, total);
    });
  }
  if (!history) {
    std::cerr << "shelfsync: cannot read the log: "
              << error_text(history.error()) << '\n';
    return 1;
  }
  auto snap = st.db->snapshot_seq();
  if (!snap) {
    std::cerr << "shelfsync: " << error_text(snap.error()) << '\n';
    return 1;
  }
  product_record before;
  auto in_snapshot = st.db->load_snapshot(code, before);
  if (!in_snapshot) {
    std::cerr << "shelfsync: " << error_text(in_snapshot.error()) << '\n';
    return 1;
  }
  if (history->empty() && !*in_snapshot) {
    std::cerr << "shelfsync: no event for product \"" << code
              << "\" in the log\n";
    return 1;
  }
  std::cout << "product " << code << ": " << history->size() << " events";
  if (*snap != 0)
    std::cout << " (retention dropped the log up to seq " << *snap
              << "; stock below counts from the product's state then)";
  std::cout << '\n';
  if (*in_snapshot)
    for (auto& [warehouse, stock] : before.stock)
      std::cout << "as of seq " << *snap << "  " << warehouse << "  on_hand "
                << stock.on_hand << " reserved " << stock.reserved
                << " available " << stock.available() << '\n';
  for (auto& h : *history) {
    auto& e = h.event;
    std::cout << "seq " << e.seq << "  " << rfc3339(e.received_ms) << "  "
              << e.id << "  " << event_kind(e) << "  " << e.warehouse << "  "
              << event_values(e) << "  -> on_hand " << h.after.on_hand
              << " reserved " << h.after.reserved << " available "
              << h.after.available() << "  " << to_string(h.outcome);
    if (!e.at.empty()) std::cout << "  (source time " << e.at << ")";
    std::cout << '\n';
  }
  // The channel side: what each shop last sent and heard for the product.
  for (auto& shop : st.conf->shops) {
    delivery_record deliveries;
    auto loaded = st.db->load_delivery(shop.id, code, deliveries);
    if (!loaded) {
      std::cerr << "shelfsync: " << error_text(loaded.error()) << '\n';
      return 1;
    }
    for (auto& [location, d] : deliveries) {
      std::cout << "shop " << shop.id << (location.empty() ? "" : " ")
                << location << ": " << to_string(d.state) << ", confirmed "
                << (d.has_confirmed ? std::to_string(d.confirmed) : "none");
      if (!d.request.empty())
        std::cout << ", last sent " << d.sent << " at " << rfc3339(d.sent_ms)
                  << " by request " << d.request;
      if (!d.error_code.empty())
        std::cout << ", error " << d.error_code << ": " << d.error_message;
      std::cout << '\n';
    }
  }
  return 0;
}

int explain(const std::string& config_path, const std::string& code,
            const std::string& shop_id) {
  if (auto conf = clustered(config_path))
    return cluster_explain(*conf, code, shop_id);
  offline_state st;
  if (!open_offline(config_path, st)) return 1;
  auto* shop = st.conf->find_shop(shop_id);
  if (shop == nullptr) {
    std::cerr << "shelfsync: no shop \"" << shop_id << "\" in " << config_path
              << '\n';
    return 1;
  }
  product_record rec;
  auto found = load_recovered(*st.db, *st.conf, code, rec);
  if (!found) {
    std::cerr << "shelfsync: " << error_text(found.error()) << '\n';
    return 1;
  }
  if (!*found) {
    std::cerr << "shelfsync: shelfsync never saw product \"" << code << "\"\n";
    return 1;
  }
  auto x = explain_product(*st.db, *st.conf, *shop, code, rec);
  if (!x) {
    std::cerr << "shelfsync: " << error_text(x.error()) << '\n';
    return 1;
  }
  std::cout << explanation_text(*x);
  return 0;
}

} // namespace shelfsync::commands
