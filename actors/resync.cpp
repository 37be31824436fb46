#include "actors/resync.hpp"

#include <optional>

#include <nlohmann/json.hpp>

#include "actors/log.hpp"
#include "core/error.hpp"

namespace shelfsync {

namespace {

/// The memo key of a shop's resync progress.
constexpr std::string_view memo_key = "resync";

nlohmann::json time_or_null(int64_t ms) {
  return ms == 0 ? nlohmann::json() : nlohmann::json(rfc3339(ms));
}

} // namespace

caf::expected<resync_page> read_resync_page(
    const store& db,
    const std::unordered_map<std::string, std::string>& uncommitted,
    const std::string& shop, const std::string& after, size_t max) {
  resync_page page;
  auto last = db.scan_products(
      after, max, [&](std::string_view code, product_record&& stored) {
        ++page.scanned;
        std::string key{code};
        product_record newer;
        auto* rec = &stored;
        if (auto i = uncommitted.find(key);
            i != uncommitted.end() && decode(i->second, newer))
          rec = &newer;
        auto view = rec->views.find(shop);
        if (view != rec->views.end())
          page.views.push_back(
              view_change{std::move(key), rec->applied_seq, view->second});
      });
  if (!last) return last.error();
  page.last = std::move(*last);
  page.end = page.scanned < max;
  return page;
}

resync_run::resync_run(std::string shop, std::shared_ptr<store> db,
                       resync_options opts)
    : shop_(std::move(shop)), db_(std::move(db)), opts_(opts) {}

caf::error resync_run::load() {
  std::string text;
  auto found = db_->load_memo(shop_, memo_key, text);
  if (!found) return found.error();
  if (!*found) return caf::none;
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (!doc.is_object())
    return caf::make_error(ec::corrupt_record, "unreadable resync memo");
  state_ = doc.value("state", "idle");
  started_ms_ = doc.value("started_ms", int64_t{0});
  finished_ms_ = doc.value("finished_ms", int64_t{0});
  scan_cursor_ = doc.value("cursor", "");
  scanned_ = doc.value("scanned", uint64_t{0});
  queued_ = doc.value("queued", uint64_t{0});
  delivered_ = doc.value("delivered", uint64_t{0});
  if (running())
    log_line(log_level::info, "resync " + shop_,
             "continues after " + (scan_cursor_.empty()
                                       ? std::string{"the start"}
                                       : "product " + scan_cursor_));
  return caf::none;
}

caf::error resync_run::start(int64_t now_ms) {
  if (running())
    return caf::make_error(ec::conflict,
                           "a resync of shop " + shop_ + " is running");
  state_ = "running";
  started_ms_ = now_ms;
  finished_ms_ = 0;
  scan_cursor_.clear();
  scan_end_ = false;
  scanned_ = queued_ = delivered_ = 0;
  last_error_.clear();
  outstanding_.clear();
  marks_.clear();
  save(mark{}, 0);
  log_line(log_level::info, "resync " + shop_, "started");
  return caf::none;
}

bool resync_run::ask_page(const outbox& box) {
  if (!running() || asking_ || scan_end_) return false;
  if (box.waiting() + box.in_flight() >= opts_.watermark) return false;
  // While changes wait on disk (the outbox is full), a page could overtake
  // an older change read back later: feed only once all are in memory.
  if (box.spilled() > 0) return false;
  asking_ = true;
  return true;
}

void resync_run::on_page(resync_page&& page, outbox& box, int64_t now_ms) {
  asking_ = false;
  if (!running()) return;
  last_error_.clear();
  scanned_ += page.scanned;
  queued_ += page.views.size();
  for (auto& v : page.views)
    outstanding_.insert(v.product);
  box.enqueue_forced(std::move(page.views));
  scan_cursor_ = page.last;
  scan_end_ = page.end;
  marks_.push_back(mark{page.last, scanned_, queued_});
  tend(box, now_ms);
}

void resync_run::on_page_error(const caf::error& err) {
  asking_ = false;
  last_error_ = to_string(err);
  log_line(log_level::warning, "resync " + shop_,
           "cannot read a page: " + last_error_);
}

void resync_run::tend(const outbox& box, int64_t now_ms) {
  if (!running()) return;
  for (auto i = outstanding_.begin(); i != outstanding_.end();)
    if (box.owes_forced(*i)) {
      ++i;
    } else {
      ++delivered_;
      i = outstanding_.erase(i);
    }
  // Every product up to a mark is pushed once no outstanding one sorts
  // before or at it: the cursor may move there durably.
  std::optional<mark> durable;
  while (!marks_.empty() && (outstanding_.empty() ||
                             marks_.front().last < *outstanding_.begin())) {
    durable = std::move(marks_.front());
    marks_.pop_front();
  }
  if (scan_end_ && outstanding_.empty()) {
    state_ = "done";
    finished_ms_ = now_ms;
    log_line(log_level::info, "resync " + shop_,
             "done: " + std::to_string(queued_) + " of " +
                 std::to_string(scanned_) + " products pushed");
    save(mark{scan_cursor_, scanned_, queued_}, delivered_);
    return;
  }
  if (durable) save(*durable, durable->queued);
}

void resync_run::save(const mark& durable, uint64_t delivered) {
  nlohmann::json doc{{"state", state_},
                     {"started_ms", started_ms_},
                     {"finished_ms", finished_ms_},
                     {"cursor", durable.last},
                     {"scanned", durable.scanned},
                     {"queued", durable.queued},
                     {"delivered", delivered}};
  if (auto err = db_->put_memo(shop_, memo_key, doc.dump())) {
    // The resync goes on; after a restart it continues from an older
    // cursor, pushing some products again.
    last_error_ = to_string(err);
    log_line(log_level::error, "resync " + shop_,
             "cannot record progress: " + last_error_);
  }
}

nlohmann::json resync_run::progress() const {
  if (state_ == "idle") return nullptr;
  nlohmann::json out{{"state", state_},
                     {"started_at", time_or_null(started_ms_)},
                     {"scanned", scanned_},
                     {"queued", queued_},
                     {"delivered", delivered_},
                     {"cursor", scan_cursor_},
                     {"finished_at", time_or_null(finished_ms_)}};
  if (!last_error_.empty()) out["error"] = last_error_;
  return out;
}

std::string resync_run::progress_text() const { return progress().dump(); }

} // namespace shelfsync
