#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>

#include <caf/error.hpp>
#include <caf/expected.hpp>
#include <nlohmann/json_fwd.hpp>

#include "actors/interfaces.hpp"
#include "actors/outbox.hpp"
#include "core/clock.hpp"
#include "storage/store.hpp"

/// A RESYNC pushes the current view of every product to one shop, even where
/// the channel confirmed it (`POST /v1/shops/{id}/resync`): for a newly
/// connected shop, or after manual edits in the channel.
///
/// The shop walks the stored products in pages that the directory reads (it
/// knows the records it has not committed yet, so a page is never older
/// than what the shop was handed), and feeds a page to its outbox only while
/// the outbox holds fewer products than a watermark (and has no changes
/// left on disk): memory stays bounded whatever the catalog size, and the
/// pushes go through the shop's normal, rate-limited delivery. A product
/// already pending keeps its own view (it is at least as new) and is only
/// marked to be pushed.
///
/// Durability: the progress is a memo of the shop, holding a cursor below
/// which every product was pushed; a restart continues from there (pushing
/// a few products again, which a resync may do), once the engine replayed
/// the log tail (it sends the resync tick of generation 0 then), so that no
/// page is older than a view the replay hands the shop.
namespace shelfsync {

/// How a resync walks the catalog.
struct resync_options {
  /// Products per page.
  size_t page = 500;
  /// A page goes into the outbox only while it holds fewer products.
  size_t watermark = 5000;
  /// How often a running resync looks at its progress.
  std::chrono::milliseconds tend_interval{200};
};

/// Reads a resync page for `shop` from `db`: up to `max` stored products
/// after `after`, each with its newest record (from `uncommitted`, the
/// directory's encoded records not yet written, when there).
caf::expected<resync_page> read_resync_page(
    const store& db,
    const std::unordered_map<std::string, std::string>& uncommitted,
    const std::string& shop, const std::string& after, size_t max);

/// The resync of one shop: its progress, and the durable memo behind it.
class resync_run {
 public:
  resync_run(std::string shop, std::shared_ptr<store> db, resync_options opts);

  /// Loads the memo: a resync that was running continues.
  caf::error load();

  /// Starts a resync; error conflict while one runs.
  caf::error start(int64_t now_ms);

  /// Returns whether a resync runs.
  bool running() const { return state_ == "running"; }

  /// Returns whether the next page should be read now, and marks it asked.
  bool ask_page(const outbox& box);

  /// Where the next page starts after.
  const std::string& cursor() const { return scan_cursor_; }

  /// Products per page.
  size_t page_size() const { return opts_.page; }

  /// Feeds a page to `box`.
  void on_page(resync_page&& page, outbox& box, int64_t now_ms);

  /// A page could not be read; it is asked again at the next tend.
  void on_page_error(const caf::error& err);

  /// Counts the products whose push is done, moves the durable cursor, and
  /// ends the resync when everything is pushed.
  void tend(const outbox& box, int64_t now_ms);

  /// Progress as `GET /v1/shops/{id}` shows it under "resync"; null when no
  /// resync ever ran.
  nlohmann::json progress() const;

  /// progress() as JSON text.
  std::string progress_text() const;

  /// The tend timer's generation; a tick of another one is stale.
  uint64_t timer = 0;
  /// The tend timer is armed.
  bool ticking = false;
  /// How often to tend.
  std::chrono::milliseconds tend_interval() const {
    return opts_.tend_interval;
  }

 private:
  /// The last product of a fed page and the counts after it.
  struct mark {
    std::string last;
    uint64_t scanned = 0;
    uint64_t queued = 0;
  };

  void save(const mark& durable, uint64_t delivered);

  std::string shop_;
  std::shared_ptr<store> db_;
  resync_options opts_;
  /// "idle", "running" or "done".
  std::string state_ = "idle";
  int64_t started_ms_ = 0;
  int64_t finished_ms_ = 0;
  std::string scan_cursor_;
  bool scan_end_ = false;
  bool asking_ = false;
  uint64_t scanned_ = 0;
  uint64_t queued_ = 0;
  uint64_t delivered_ = 0;
  std::string last_error_;
  /// Products fed and not pushed yet.
  std::set<std::string> outstanding_;
  /// Fed pages whose products are not all pushed yet, oldest first.
  std::deque<mark> marks_;
};

/// Drives the resync of shop actor `self` (a state deriving from shop_base):
/// reads the next page when the outbox has room, feeds it, calls `fed` (to send
/// at once), and keeps the tend timer (a self-send of `atom::tend` with the
/// run's generation) armed while the resync runs.
template<class Self, class Fed>
void drive_resync(Self* self, Fed fed) {
  auto& st = self->state;
  auto& run = *st.resync;
  run.tend(*st.box, st.now_ms());
  if (!run.running()) return;
  auto dir = st.setup.directory;
  if (dir && run.ask_page(*st.box)) {
    self->request(dir, std::chrono::seconds{60}, atom::resync_v, st.setup.id,
                  run.cursor(), static_cast<uint64_t>(run.page_size()))
        .then(
            [self, fed](resync_page& page) {
              auto& st = self->state;
              st.resync->on_page(std::move(page), *st.box, st.now_ms());
              fed();
              drive_resync(self, fed);
            },
            [self](caf::error& err) {
              self->state.resync->on_page_error(err);
            });
  }
  if (!run.ticking) {
    run.ticking = true;
    self->delayed_send(self, run.tend_interval(), atom::tend_v, ++run.timer);
  }
}

/// Starts a resync of shop actor `self` (see drive_resync); replies with its
/// progress, or the error conflict while one runs.
template<class Self, class Fed>
caf::result<std::string> start_resync(Self* self, Fed fed) {
  auto& st = self->state;
  if (auto err = st.resync->start(st.now_ms())) return err;
  drive_resync(self, fed);
  return st.resync->progress_text();
}

/// The resync timer of shop actor `self` fired at generation `gen`.
template<class Self, class Fed>
void on_resync_tick(Self* self, uint64_t gen, Fed fed) {
  auto& run = *self->state.resync;
  if (gen != run.timer) return;
  run.ticking = false;
  drive_resync(self, fed);
}

} // namespace shelfsync
