#include <algorithm>
#include <map>
#include <vector>

#include "channels/amazon/feed.hpp"
#include "channels/amazon/feed_client.hpp"
#include "channels/amazon/lwa.hpp"
#include "channels/amazon/rate_limit.hpp"
#include "channels/amazon/report.hpp"
#include "cluster/shop_delivery.hpp"
#include "core/clock.hpp"
#include "core/shop_view.hpp"

namespace shelfsync::cluster {

namespace {

using std::chrono::milliseconds;

/// createFeed's budgets per seller (createFeed itself: a burst of 15, one
/// more every 2 minutes; JSON_LISTINGS_FEED submissions: 5 per 5 minutes),
/// kept as the times of the calls in the memo so that a new owner honours
/// them too: at most `burst` calls in any `burst / rate` seconds, never
/// more than the token bucket allows.
const amazon::operation create_feed_budgets[] = {
    amazon::operation::create_feed,
    amazon::operation::json_listings_feed_submission};

/// How far a node's clock may be from another's or Amazon's.
constexpr int64_t clock_margin_ms = 5 * 60 * 1000;

int64_t window_ms(const amazon::rate_spec& spec) {
  return static_cast<int64_t>(spec.burst / spec.rate * 1000);
}

class amazon_channel final : public channel_delivery {
 public:
  explicit amazon_channel(shop_drivers::driver& d);

  bool resume() override;
  bool deliver(const std::vector<product_update>& batch, bool resync) override;

  size_t batch_limit() const override { return 5000; }

  std::chrono::milliseconds gather_for() const override {
    return d_.shop.amazon.batch_interval;
  }

 private:
  /// The memo as this driver wrote it last; false when it must stop.
  bool load_memo();
  bool write_memo();
  /// Waits until createFeed is within its budget; false when it must stop.
  bool wait_for_budget();
  /// Polls a feed the memo names to its end and applies its report to the
  /// delivery records; drops it from the memo. False when the driver must
  /// stop or the feed's values must be sent again (from the checkpoint).
  bool follow(size_t index);
  /// Polls getFeed until the feed ended; nullopt when the driver must stop.
  std::optional<amazon::feed_info> until_ended(const std::string& feed_id);
  /// Waits until the wall clock reaches `when_ms`; false when the driver
  /// must stop.
  bool pause_until(int64_t when_ms);
  /// For a feed recorded as being created whose createFeed answer was lost:
  /// waits until no feed that may be it is still to be processed; false
  /// when the driver must stop.
  bool await_unknown_feed(const feed_memo_entry& entry);
  /// Applies the verdict on `sku` to its delivery record.
  bool settle(const feed_memo_sku& s, const std::string& failed,
              bool delivered);
  bool write_record(const std::string& sku, versioned<delivery_record>& r);
  template<class T, class F>
  std::optional<T> call(const char* what, F f);

  shop_drivers::driver& d_;
  std::unique_ptr<amazon::lwa_client> lwa_;
  amazon::rate_limiter limits_;
  std::unique_ptr<amazon::feed_client> client_;
  versioned<feed_memo> memo_;
};

amazon_channel::amazon_channel(shop_drivers::driver& d) : d_(d) {
  auto& a = d.shop.amazon;
  auto endpoint = http::parse_url(a.endpoint);
  auto token_url = http::parse_url(a.lwa_endpoint);
  if (!endpoint || !token_url) {
    refusal_ = "the Amazon endpoint or LWA endpoint is not an http(s) URL";
    return;
  }
  amazon::lwa_credentials creds;
  auto missing = read_secrets({{a.client_id_env, &creds.client_id},
                               {a.client_secret_env, &creds.client_secret},
                               {a.refresh_token_env, &creds.refresh_token}});
  if (!missing.empty()) {
    refusal_ =
        "the LWA credentials are not set in the environment (" + missing + ")";
    return;
  }
  http::client_options hopts;
  hopts.connect_timeout = d.options->connect_timeout;
  hopts.request_timeout = d.options->request_timeout;
  amazon::lwa_options lopts;
  lopts.http = hopts;
  lwa_ =
      std::make_unique<amazon::lwa_client>(*token_url, std::move(creds), lopts);
  amazon::feed_client_options fopts;
  fopts.endpoint = *endpoint;
  fopts.marketplace_ids = a.marketplace_ids;
  fopts.http = hopts;
  // SP-API's User-Agent form, naming the node (the cluster fault suite
  // checks that one node at a time drives a seller).
  fopts.user_agent = "shelfsync/0.1 (Language=C++/17; Platform=Linux; Node=" +
                     d.owner->options().node_id + ")";
  client_ =
      std::make_unique<amazon::feed_client>(std::move(fopts), *lwa_, &limits_);
}

template<class T, class F>
std::optional<T> amazon_channel::call(const char* what, F f) {
  auto backoff = milliseconds{200};
  while (d_.may_write()) {
    auto r = f();
    if (r.ok()) return std::move(r.value());
    auto& e = r.error();
    switch (e.status) {
    case amazon::call_status::ok:
      break;
    case amazon::call_status::throttled:
      d_.pause(e.retry_after.value_or(milliseconds{1000}));
      continue;
    case amazon::call_status::retryable:
      d_.say(std::string{what} + " failed, retrying: " + amazon::to_string(e),
             true);
      d_.pause(backoff);
      backoff = std::min(backoff * 2, milliseconds{5000});
      continue;
    case amazon::call_status::permanent:
      d_.say(std::string{what} + " refused: " + amazon::to_string(e), true);
      d_.pause(milliseconds{2000});
      return std::nullopt;
    }
  }
  return std::nullopt;
}

bool amazon_channel::load_memo() {
  for (;;) {
    auto loaded = load_feed_memo(d_.owner->js(), d_.shop.id);
    if (loaded) {
      memo_ = std::move(*loaded);
      return true;
    }
    if (!d_.may_write()) return false;
    d_.say("cannot read its feed memo: " + loaded.err().message, true);
    d_.pause(milliseconds{200});
  }
}

bool amazon_channel::write_memo() {
  while (d_.may_write()) {
    auto r = store_feed_memo(d_.owner->js(), d_.shop.id, memo_.value,
                             memo_.subject_seq);
    if (r) {
      memo_.subject_seq = *r;
      return true;
    }
    if (r.err().code == errc::conflict) {
      d_.say("feed memo written by another owner; stopping", true);
      return false;
    }
    d_.pause(milliseconds{100});
  }
  return false;
}

bool amazon_channel::write_record(const std::string& sku,
                                  versioned<delivery_record>& r) {
  while (d_.may_write()) {
    auto w =
        store_delivery(d_.owner->js(), d_.shop.id, sku, r.value, r.subject_seq);
    if (w) {
      r.subject_seq = *w;
      return true;
    }
    if (w.err().code == errc::conflict) {
      d_.say("delivery record of \"" + sku +
                 "\" written by another owner; stopping",
             true);
      return false;
    }
    d_.pause(milliseconds{100});
  }
  return false;
}

bool amazon_channel::settle(const feed_memo_sku& s, const std::string& failed,
                            bool delivered) {
  for (;;) {
    auto loaded = load_delivery(d_.owner->js(), d_.shop.id, s.sku);
    if (!loaded) {
      if (!d_.may_write()) return false;
      d_.pause(milliseconds{200});
      continue;
    }
    auto& ld = loaded->value.locations[""];
    // Only the value this feed carried is settled here; a newer one pending
    // stays pending.
    if (!ld.pending || ld.pending_seq <= s.seq) {
      ld.pending.reset();
      ld.pending_seq = 0;
      ld.key.clear();
    }
    if (delivered) {
      if (!ld.confirmed || ld.confirmed_seq <= s.seq) {
        ld.confirmed = s.quantity;
        ld.confirmed_seq = s.seq;
        ld.failed.clear();
        ld.failed_seq = 0;
      }
      ++d_.rows_confirmed;
    } else if (!failed.empty()) {
      ld.failed = failed;
      ld.failed_seq = s.seq;
      ++d_.rows_failed;
    }
    return write_record(s.sku, *loaded);
  }
}

bool amazon_channel::wait_for_budget() {
  for (;;) {
    auto now = wall_ms();
    auto& times = memo_.value.create_times_ms;
    int64_t longest = 0;
    for (auto op : create_feed_budgets)
      longest = std::max(longest, window_ms(amazon::default_rate(op)));
    times.erase(std::remove_if(times.begin(), times.end(),
                               [&](int64_t t) {
                                 return t <= now - longest;
                               }),
                times.end());
    // The earliest time each budget allows the next call.
    int64_t allowed = now;
    for (auto op : create_feed_budgets) {
      auto spec = amazon::default_rate(op);
      auto window = window_ms(spec);
      std::vector<int64_t> recent;
      for (auto t : times)
        if (t > now - window) recent.push_back(t);
      auto burst = static_cast<size_t>(spec.burst);
      if (recent.size() < burst) continue;
      std::sort(recent.begin(), recent.end());
      allowed = std::max(allowed, recent[recent.size() - burst] + window + 1);
    }
    if (allowed <= now) return true;
    d_.pause(std::min(milliseconds{allowed - now}, milliseconds{1000}));
    if (!d_.may_write()) return false;
  }
}

bool amazon_channel::follow(size_t index) {
  auto entry = memo_.value.feeds[index];
  if (entry.feed_id.empty()) {
    // Without `creating` createFeed was never called; with it, a feed may
    // exist without its id, and it ends before anything newer goes out.
    if (entry.creating && !await_unknown_feed(entry)) return false;
    if (entry.creating)
      d_.say("a feed recorded at " + std::to_string(entry.created_ms) +
             " ms has no feed id (createFeed's answer was lost); its values "
             "go out again");
    memo_.value.feeds.erase(memo_.value.feeds.begin() +
                            static_cast<std::ptrdiff_t>(index));
    // Its products are still pending: read again from the checkpoint.
    return write_memo();
  }
  auto ended = until_ended(entry.feed_id);
  if (!ended) return false;
  auto& info = *ended;
  std::vector<amazon::sku_outcome> outcomes;
  if (info.status == amazon::processing_status::done &&
      !info.result_feed_document_id.empty()) {
    auto report = call<amazon::fetched_report>("fetching a report", [&] {
      return client_->fetch_report(info.result_feed_document_id);
    });
    if (!report) return false;
    amazon::listings_feed feed;
    for (auto& s : entry.skus)
      feed.entries.push_back(amazon::feed_entry{s.sku, s.quantity});
    outcomes = amazon::classify_report(report->report, feed);
  }
  bool again = outcomes.empty();
  for (size_t i = 0; i < entry.skus.size(); ++i) {
    auto& s = entry.skus[i];
    bool delivered = false;
    std::string failed;
    if (i < outcomes.size()) {
      auto& o = outcomes[i];
      delivered = o.result == amazon::sku_result::accepted;
      if (o.result == amazon::sku_result::permanent_error)
        failed = o.code + ": " + o.message;
      if (o.result == amazon::sku_result::transient_error ||
          o.result == amazon::sku_result::not_processed)
        again = true;
    }
    if (!settle(s, failed, delivered)) return false;
  }
  memo_.value.feeds.erase(memo_.value.feeds.begin() +
                          static_cast<std::ptrdiff_t>(index));
  if (!write_memo()) return false;
  if (again) {
    // Sent again from the checkpoint, after a pause.
    d_.say("feed " + entry.feed_id + " ended " +
               std::string{amazon::to_string(info.status)} +
               " without every value accepted; its values go out again",
           true);
    d_.pause(milliseconds{1000});
    return false;
  }
  return true;
}

std::optional<amazon::feed_info>
amazon_channel::until_ended(const std::string& feed_id) {
  for (;;) {
    auto got = call<amazon::feed_info>("getFeed", [&] {
      return client_->get_feed(feed_id);
    });
    if (!got || got->terminal()) return got;
    d_.pause(d_.shop.amazon.feed_poll);
    if (!d_.may_write()) return std::nullopt;
  }
}

bool amazon_channel::pause_until(int64_t when_ms) {
  while (wall_ms() < when_ms) {
    if (!d_.may_write()) return false;
    d_.pause(std::min(milliseconds{when_ms - wall_ms()}, milliseconds{200}));
  }
  return true;
}

bool amazon_channel::await_unknown_feed(const feed_memo_entry& entry) {
  // A createFeed the former owner sent before its lease ran out has reached
  // Amazon within a connect and a request timeout.
  auto& o = *d_.options;
  if (!pause_until(wall_ms() + (o.connect_timeout + o.request_timeout).count() +
                   1000))
    return false;
  // Then getFeeds shows the seller's feeds not yet processed, created since
  // shortly before the recording (the clocks of nodes and Amazon differ):
  // the lost one is among them if it exists, and each is followed to its
  // end. Feeds of other senders only make this wait longer.
  auto open = call<std::vector<amazon::feed_info>>("getFeeds", [&] {
    return client_->list_feeds(entry.created_ms - clock_margin_ms,
                               {amazon::processing_status::in_queue,
                                amazon::processing_status::in_progress});
  });
  if (!open) {
    if (!d_.may_write()) return false;
    // No list: wait as long as such a feed could take.
    return pause_until(entry.created_ms + o.unknown_feed_wait.count());
  }
  for (auto& f : *open) {
    d_.say("feed " + f.feed_id + " (" + std::string{to_string(f.status)} +
           ") may be the one whose createFeed answer was lost; waiting for "
           "its end");
    if (!until_ended(f.feed_id)) return false;
  }
  return true;
}

bool amazon_channel::resume() {
  if (!client_ || !load_memo()) return false;
  // Feeds a former owner left in flight end before anything newer goes out,
  // so no value goes backwards.
  while (!memo_.value.feeds.empty())
    if (!follow(0)) return false;
  return true;
}

bool amazon_channel::deliver(const std::vector<product_update>& batch,
                             bool resync) {
  std::vector<amazon::quantity_update> updates;
  std::map<std::string, std::pair<uint64_t, versioned<delivery_record>>> work;
  for (auto& u : batch) {
    auto view = compute_view(d_.shop, u.state.record);
    if (!view || !view->count("")) continue;
    auto quantity = view->at("");
    auto& code = u.state.product;
    versioned<delivery_record> rec;
    for (;;) {
      auto loaded = load_delivery(d_.owner->js(), d_.shop.id, code);
      if (loaded) {
        rec = std::move(*loaded);
        break;
      }
      if (!d_.may_write()) return false;
      d_.pause(milliseconds{200});
    }
    auto seq = u.state.applied_seq;
    auto found = rec.value.locations.find("");
    if (found != rec.value.locations.end()) {
      auto& ld = found->second;
      if (ld.confirmed && ld.confirmed_seq > seq) continue;
      // A resync sends every view again: Amazon has no read of a level.
      if (!resync && !ld.pending && ld.confirmed && *ld.confirmed == quantity)
        continue;
      if (!resync && !ld.pending && !ld.failed.empty() && ld.failed_seq >= seq)
        continue;
    }
    updates.push_back(amazon::quantity_update{code, quantity, {}});
    work[code] = {seq, std::move(rec)};
  }
  if (updates.empty()) return true;
  d_.pending = updates.size();
  amazon::feed_options fo;
  fo.seller_id = d_.shop.amazon.seller_id;
  fo.product_type = d_.shop.amazon.product_type;
  auto built = amazon::build_listings_feeds(updates, fo);
  for (auto& r : built.rejected) {
    auto& [seq, rec] = work.at(r.sku);
    if (!settle(feed_memo_sku{r.sku, r.quantity, seq}, "Rejected: " + r.reason,
                false))
      return false;
  }
  for (auto& feed : built.feeds) {
    if (!wait_for_budget()) return false;
    // Recorded before createFeed: a next owner learns of it whatever
    // happens next.
    feed_memo_entry entry;
    entry.created_ms = wall_ms();
    for (auto& e : feed.entries)
      entry.skus.push_back(
          feed_memo_sku{e.sku, e.quantity, work.at(e.sku).first});
    memo_.value.feeds.push_back(entry);
    if (!write_memo()) return false;
    for (auto& s : entry.skus) {
      auto& rec = work.at(s.sku).second;
      auto& ld = rec.value.locations[""];
      ld.pending = s.quantity;
      ld.pending_seq = s.seq;
      ld.key = "feed@" + std::to_string(entry.created_ms);
      if (!write_record(s.sku, rec)) return false;
    }
    // The document first (harmless to repeat), then createFeed, which is
    // not idempotent: the memo says it is being called, so that a next
    // owner knows whether a feed may exist without its id.
    auto target = call<amazon::feed_upload_target>("createFeedDocument", [&] {
      return client_->create_feed_document();
    });
    if (!target) return false;
    auto uploaded = call<amazon::done>("uploading a feed", [&] {
      return client_->upload(*target, amazon::feed_content_type, feed.body);
    });
    if (!uploaded) return false;
    if (!d_.may_push()) return false;
    memo_.value.feeds.back().creating = true;
    memo_.value.create_times_ms.push_back(wall_ms());
    if (!write_memo()) return false;
    std::optional<std::string> feed_id;
    auto backoff = milliseconds{200};
    while (!feed_id) {
      if (!d_.may_push()) return false;
      auto r = client_->create_feed(target->feed_document_id);
      if (r.ok()) {
        feed_id = r.value();
        break;
      }
      auto& e = r.error();
      if (e.sent && e.status != amazon::call_status::throttled) {
        d_.say("createFeed's answer was lost: " + amazon::to_string(e), true);
        return false;
      }
      if (e.status == amazon::call_status::permanent) {
        d_.say("createFeed refused: " + amazon::to_string(e), true);
        d_.pause(milliseconds{2000});
        return false;
      }
      d_.pause(e.retry_after.value_or(backoff));
      backoff = std::min(backoff * 2, milliseconds{5000});
    }
    memo_.value.feeds.back().feed_id = *feed_id;
    if (!write_memo()) return false;
    if (!follow(memo_.value.feeds.size() - 1)) return false;
  }
  if (resync) d_.resync_pushed += updates.size();
  d_.pending = 0;
  return true;
}

} // namespace

std::unique_ptr<channel_delivery> amazon_delivery(shop_drivers::driver& d) {
  return std::make_unique<amazon_channel>(d);
}

} // namespace shelfsync::cluster
