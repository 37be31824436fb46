#include "api/state_replay.hpp"

#include <set>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>

#include "actors/product.hpp"
#include "core/error.hpp"

namespace shelfsync {

namespace {

/// How many log entries or product records one read step takes.
constexpr size_t replay_read_step = 10000;

/// Reads the log in order from `from` to `to`, a chunk at a time.
template<class F>
caf::error for_each_log_chunk(const store& db, uint64_t from, uint64_t to,
                              F f) {
  auto next = from;
  while (next <= to) {
    auto events = db.read_log(next, to, replay_read_step);
    if (!events) return events.error();
    if (events->empty()) break;
    next = events->back().seq + 1;
    f(*events);
  }
  return caf::none;
}

std::string describe(const shop_view& v) {
  std::string out = "{";
  for (auto& [location, quantity] : v) {
    if (out.size() > 1) out += ", ";
    out += location.empty() ? "" : location + ": ";
    out += std::to_string(quantity);
  }
  return out + "}";
}

std::string version_of(const warehouse_stock& s) {
  return s.versioned ? std::to_string(s.version) : "none";
}

/// Reports a field that differs.
template<class T>
bool differ(const std::string& code, std::string what, const T& live,
            const T& replayed, std::vector<state_difference>& out) {
  if (live == replayed) return false;
  std::string l;
  std::string r;
  if constexpr (std::is_same_v<T, std::string>) {
    l = live;
    r = replayed;
  } else {
    l = std::to_string(live);
    r = std::to_string(replayed);
  }
  out.push_back({code, std::move(what), std::move(l), std::move(r)});
  return true;
}

bool compare_stock(const std::string& code, const product_record& live,
                   const product_record& replayed,
                   std::vector<state_difference>& out) {
  std::set<std::string> warehouses;
  for (auto* rec : {&live, &replayed})
    for (auto& entry : rec->stock)
      warehouses.insert(entry.first);
  bool any = false;
  for (auto& wh : warehouses) {
    auto l = live.stock.find(wh);
    auto r = replayed.stock.find(wh);
    auto what = "stock " + wh;
    if (l == live.stock.end() || r == replayed.stock.end()) {
      auto present = [](bool yes) {
        return yes ? "present" : "absent";
      };
      out.push_back({code, what, present(l != live.stock.end()),
                     present(r != replayed.stock.end())});
      any = true;
      continue;
    }
    any |= differ(code, what + " on_hand", l->second.on_hand, r->second.on_hand,
                  out);
    any |= differ(code, what + " reserved", l->second.reserved,
                  r->second.reserved, out);
    any |= differ(code, what + " version", version_of(l->second),
                  version_of(r->second), out);
    any |= differ(code, what + " last_seq", l->second.last_seq,
                  r->second.last_seq, out);
  }
  return any;
}

bool compare_views(const std::string& code, const product_record& live,
                   const product_record& replayed,
                   std::vector<state_difference>& out) {
  std::set<std::string> shops;
  for (auto* rec : {&live, &replayed})
    for (auto& entry : rec->views)
      shops.insert(entry.first);
  bool any = false;
  for (auto& shop : shops) {
    auto l = live.views.find(shop);
    auto r = replayed.views.find(shop);
    auto text = [](auto i, auto end) {
      return i == end ? std::string{"absent"} : describe(i->second);
    };
    if (l == live.views.end() || r == replayed.views.end()) {
      out.push_back({code, "view " + shop, text(l, live.views.end()),
                     text(r, replayed.views.end())});
      any = true;
      continue;
    }
    std::set<std::string> locations;
    for (auto* v : {&l->second, &r->second})
      for (auto& entry : *v)
        locations.insert(entry.first);
    for (auto& loc : locations) {
      auto lq = l->second.find(loc);
      auto rq = r->second.find(loc);
      auto quantity = [](auto i, auto end) {
        return i == end ? std::string{"absent"} : std::to_string(i->second);
      };
      any |= differ(code, "view " + shop + (loc.empty() ? "" : " " + loc),
                    quantity(lq, l->second.end()),
                    quantity(rq, r->second.end()), out);
    }
  }
  return any;
}

} // namespace

void apply_in_log_order(const config& conf, std::vector<stock_event>& events,
                        product_records& records) {
  // Group by product, keeping log order within each, as the directory does.
  std::unordered_map<std::string, std::vector<stock_event>> groups;
  for (auto& e : events)
    groups[e.product].push_back(std::move(e));
  for (auto& [code, group] : groups) {
    product_state actor_state;
    actor_state.cfg.code = code;
    auto& rec = records[code];
    actor_state.record = std::move(rec);
    actor_state.apply(conf, group);
    rec = std::move(actor_state.record);
  }
}

caf::expected<bool> load_recovered(const store& db, const config& conf,
                                   const std::string& code,
                                   product_record& out) {
  auto found = db.load_product(code, out);
  if (!found) return found.error();
  auto cp = db.checkpoint();
  if (!cp) return cp.error();
  std::vector<stock_event> tail;
  auto err = for_each_log_chunk(db, *cp + 1, db.last_seq(),
                                [&](std::vector<stock_event>& events) {
                                  for (auto& e : events)
                                    if (e.product == code)
                                      tail.push_back(std::move(e));
                                });
  if (err) return err;
  if (!*found && tail.empty()) return false;
  product_records one;
  one[code] = std::move(out);
  apply_in_log_order(conf, tail, one);
  out = std::move(one[code]);
  return true;
}

bool compare_records(const std::string& code, const product_record* live,
                     const product_record* replayed,
                     std::vector<state_difference>& out) {
  if (live == nullptr || replayed == nullptr) {
    auto text = [](const product_record* rec) {
      return rec == nullptr
                 ? std::string{"absent"}
                 : "present, applied_seq " + std::to_string(rec->applied_seq);
    };
    out.push_back({code, "record", text(live), text(replayed)});
    return true;
  }
  bool any = differ(code, "applied_seq", live->applied_seq,
                    replayed->applied_seq, out);
  any |= compare_stock(code, *live, *replayed, out);
  any |= compare_views(code, *live, *replayed, out);
  return any;
}

namespace {

/// The products of one replay pass: codes in (after, upto]; an empty
/// `after` means from the first, an empty `upto` up to the last.
struct code_range {
  std::string after;
  std::string upto;

  bool holds(const std::string& code) const {
    return (after.empty() || code > after) && (upto.empty() || code <= upto);
  }
};

/// Splits the stored products into ranges of at most `per_pass` records
/// (exact bounds: each range ends at the code before the next one's first).
caf::expected<std::vector<code_range>> product_ranges(const store& db,
                                                      size_t per_pass) {
  std::vector<code_range> result;
  code_range current;
  size_t in_range = 0;
  std::string previous;
  std::string after;
  for (;;) {
    auto last = db.scan_product_bytes(
        after, replay_read_step, [&](std::string_view code, std::string_view) {
          if (in_range == per_pass) {
            current.upto = previous;
            result.push_back(current);
            current = code_range{previous, {}};
            in_range = 0;
          }
          ++in_range;
          previous.assign(code);
        });
    if (!last) return last.error();
    if (*last == after) break;
    after = *last;
  }
  result.push_back(current);
  return result;
}

/// Rebuilds the products of `range` from the snapshot and the log after it,
/// compares them with their live state, and adds the outcome to `report`.
caf::error replay_range(const store& db, const config& conf,
                        const replay_options& opts, const code_range& range,
                        replay_report& report,
                        const replay_progress& progress) {
  // The fresh state starts from the snapshot retention left (the stock as
  // of snapshot_seq; the views follow under `conf`).
  product_records replayed;
  for (std::string after = range.after;;) {
    bool past = false;
    auto last = db.scan_snapshot(
        after, replay_read_step,
        [&](std::string_view code, product_record&& rec) {
          std::string key{code};
          if (!range.holds(key)) {
            past = true;
            return;
          }
          product_state tmp;
          tmp.cfg.code = key;
          tmp.record = std::move(rec);
          tmp.refresh(conf);
          replayed.emplace(std::move(key), std::move(tmp.record));
        });
    if (!last) return last.error();
    if (past || *last == after) break;
    after = *last;
  }
  // One pass over the log: the fresh state up to `to`, the products to
  // report, those changed after `to`, and the tail that recovery applies.
  std::unordered_set<std::string> reported;
  std::unordered_set<std::string> after_to;
  std::map<std::string, std::vector<stock_event>> tail;
  auto err = for_each_log_chunk(db, report.snapshot_seq + 1, report.last_seq,
                                [&](std::vector<stock_event>& events) {
                                  std::vector<stock_event> fresh;
                                  for (auto& e : events) {
                                    if (!range.holds(e.product)) continue;
                                    if (e.seq > report.checkpoint) {
                                      tail[e.product].push_back(e);
                                      ++report.tail_events;
                                    }
                                    if (e.seq > report.to) {
                                      after_to.insert(e.product);
                                      continue;
                                    }
                                    if (opts.from != 0 && e.seq >= opts.from)
                                      reported.insert(e.product);
                                    fresh.push_back(std::move(e));
                                  }
                                  report.replayed_events += fresh.size();
                                  apply_in_log_order(conf, fresh, replayed);
                                  if (progress)
                                    progress("events", events.back().seq,
                                             report.last_seq);
                                });
  if (err) return err;
  auto wanted = [&](const std::string& code) {
    return (opts.from == 0 || reported.count(code) != 0) &&
           after_to.count(code) == 0;
  };
  auto check = [&](const std::string& code, const product_record* live) {
    if (after_to.count(code) != 0) {
      ++report.changed_after_to;
      return;
    }
    if (!wanted(code)) return;
    ++report.compared;
    auto r = replayed.find(code);
    if (compare_records(code, live, r == replayed.end() ? nullptr : &r->second,
                        report.differences))
      ++report.products_differing;
  };
  // The live state: every stored record, recovered like the engine would.
  std::string after = range.after;
  for (bool past = false; !past;) {
    std::vector<std::pair<std::string, std::string>> stored;
    auto last = db.scan_product_bytes(
        after, replay_read_step,
        [&](std::string_view code, std::string_view bytes) {
          if (past || !range.holds(std::string{code})) {
            past = true;
            return;
          }
          stored.emplace_back(code, bytes);
        });
    if (!last) return last.error();
    for (auto& [code, bytes] : stored) {
      product_record live;
      if (!decode(bytes, live)) {
        if (wanted(code)) {
          ++report.compared;
          ++report.products_differing;
          report.differences.push_back(
              {code, "record", "undecodable",
               replayed.count(code) != 0 ? "present" : "absent"});
        }
      } else {
        if (auto t = tail.find(code); t != tail.end()) {
          product_records one;
          one[code] = std::move(live);
          apply_in_log_order(conf, t->second, one);
          live = std::move(one[code]);
          tail.erase(t);
        }
        check(code, &live);
      }
      replayed.erase(code);
    }
    report.visited += stored.size();
    if (progress)
      progress("products", report.visited, report.visited + replayed.size());
    if (*last == after) break;
    after = *last;
  }
  // Products that have no stored record: the live state is what recovery
  // builds from the tail, or nothing.
  for (auto& [code, rec] : replayed) {
    auto t = tail.find(code);
    if (t == tail.end()) {
      check(code, nullptr);
      continue;
    }
    product_records one;
    apply_in_log_order(conf, t->second, one);
    check(code, &one[code]);
  }
  return caf::none;
}

} // namespace

caf::expected<replay_report> replay_log(const store& db, const config& conf,
                                        const replay_options& opts,
                                        const replay_progress& progress) {
  replay_report report;
  report.last_seq = db.last_seq();
  report.to = opts.to == 0 ? report.last_seq : opts.to;
  if (report.to > report.last_seq)
    return caf::make_error(ec::invalid_input,
                           "--to " + std::to_string(report.to) +
                               " is beyond the end of the log (last seq " +
                               std::to_string(report.last_seq) + ")");
  auto cp = db.checkpoint();
  if (!cp) return cp.error();
  report.checkpoint = *cp;
  auto snap = db.snapshot_seq();
  if (!snap) return snap.error();
  report.snapshot_seq = *snap;
  auto dropped = [&](const char* option, uint64_t seq) {
    return caf::make_error(
        ec::invalid_input,
        std::string{option} + " " + std::to_string(seq) +
            ": the events up to seq " + std::to_string(*snap) +
            " were dropped by retention (node.log_retention); the log "
            "starts at seq " +
            std::to_string(*snap + 1));
  };
  if (opts.to != 0 && opts.to < *snap) return dropped("--to", opts.to);
  if (opts.from != 0 && opts.from <= *snap) return dropped("--from", opts.from);
  auto ranges = product_ranges(db, std::max<size_t>(opts.products_per_pass, 1));
  if (!ranges) return ranges.error();
  report.passes = ranges->size();
  for (auto& range : *ranges)
    if (auto err = replay_range(db, conf, opts, range, report, progress))
      return err;
  return report;
}
} // namespace shelfsync
