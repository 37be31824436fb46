#include "actors/amazon_shop.hpp"

#include "core/clock.hpp"

#include <algorithm>
#include <ctime>
#include <unordered_map>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/log.hpp"

namespace shelfsync {

namespace {

using std::chrono::milliseconds;

/// Feeds submitted in one batch round at most: Amazon's burst of five
/// JSON_LISTINGS_FEEDs; the worker's rate model spreads them further.
constexpr uint32_t max_feeds_per_round = 5;

/// Feeds listed one by one in the status details at most.
constexpr size_t max_feeds_shown = 50;

std::string_view status_name(uint8_t status) {
  return amazon::to_string(static_cast<amazon::processing_status>(status));
}

amazon::feed_options feed_options_of(const shop_config& shop) {
  amazon::feed_options opts;
  opts.seller_id = shop.amazon.seller_id;
  opts.product_type = shop.amazon.product_type;
  return opts;
}

/// A submitted feed's entries as the worker classifies against (no body).
amazon_feed_ptr entries_of(const amazon_feed_record& record) {
  auto feed = std::make_shared<amazon::listings_feed>();
  feed->entries = record.entries;
  return feed;
}

/// A failure when the worker could not be asked at all.
amazon_failure worker_failure(const caf::error& err) {
  amazon_failure f;
  f.code = "WorkerGone";
  f.message = "the Amazon worker did not answer: " + caf::to_string(err);
  f.sent = false;
  return f;
}

/// Says which LWA credential variables are not set (names only, as the
/// worker says it); empty when all are.
std::string missing_credentials(const amazon_config& a) {
  std::string missing;
  for (auto* env :
       {&a.client_id_env, &a.client_secret_env, &a.refresh_token_env})
    if (!read_secret(*env)) missing += (missing.empty() ? "" : ", ") + *env;
  if (missing.empty()) return {};
  return "the LWA credentials are not set in the environment (" + missing + ")";
}

} // namespace

// -- start and configuration -------------------------------------------------

void amazon_shop_state::start(pointer ptr, shop_setup s) {
  self = ptr;
  // Feeds still processing at Amazon: their products are in flight again,
  // before the outbox loads, so that newer views wait for them.
  open(
      std::move(s), self->clock(),
      [this] {
        resume_feeds();
      },
      [this](const caf::error& err, const char* what) {
        check(err, what);
      });
  if (make_worker)
    worker = make_worker(self->system(), setup.id, setup.conf);
  else
    worker = self->spawn<caf::detached + caf::linked>(amazon_worker, setup.id,
                                                      setup.conf);
  credentials_refused = missing_credentials(shop().amazon);
  if (!flights.empty())
    log_line(log_level::info, "amazon " + setup.id,
             "following " + std::to_string(flights.size()) +
                 " feeds submitted before the restart");
  for (auto& [key, f] : flights)
    arm_poll(f, milliseconds{0});
  arm_batch(shop().amazon.batch_interval);
}

void amazon_shop_state::resume_feeds() {
  std::vector<std::string> unreadable;
  std::vector<amazon_feed_record> unanswered;
  auto err = setup.db->for_each_memo(
      setup.id, amazon_feed_prefix,
      [&](std::string_view key, std::string_view value) {
        amazon_feed_record record;
        record.key = std::string{key};
        next_key = std::max(next_key, amazon_feed_number(key) + 1);
        if (!decode(value, record)) {
          unreadable.push_back(record.key);
          return;
        }
        if (record.feed_id.empty()) {
          unanswered.push_back(std::move(record));
          return;
        }
        amazon_flight f;
        f.feed = entries_of(record);
        f.record = std::move(record);
        flights.emplace(f.record.key, std::move(f));
      });
  check(err, "cannot read the feeds in flight");
  for (auto& key : unreadable) {
    // Its products stay in the outbox and go out again.
    log_line(log_level::error, "amazon " + setup.id,
             "dropping unreadable feed memo " + key);
    check(setup.db->erase_memo(setup.id, key), "cannot drop a feed memo");
  }
  for (auto& record : unanswered) {
    // createFeed may have made the feed: Amazon may hold its values or soon
    // will. As after a submission of unknown outcome, each is recorded as
    // failed, so that the latest value goes out even where it equals the
    // one confirmed before. The products themselves wait in the outbox.
    auto at = rfc3339(now_ms());
    for (auto& e : record.entries)
      check(box->failed(e.sku, "", e.quantity, "SubmissionUnanswered",
                        "the engine stopped before createFeed answered; "
                        "Amazon may have created the feed",
                        at, false),
            "cannot record a submission of unknown outcome");
    check(setup.db->erase_memo(setup.id, record.key),
          "cannot drop a submission memo");
  }
  for (auto& [key, f] : flights)
    for (size_t i = 0; i < f.record.entries.size(); ++i) {
      auto& e = f.record.entries[i];
      box->resume(view_change{e.sku, f.record.seqs[i], {{"", e.quantity}}});
    }
}

const shop_config& amazon_shop_state::shop() const {
  return *setup.conf->find_shop(setup.id);
}

std::chrono::milliseconds amazon_shop_state::feed_poll() const {
  return shop().amazon.feed_poll;
}

void amazon_shop_state::on_reload(config_ptr conf) {
  if (!conf->find_shop(setup.id)) return; // the engine stops this shop
  auto old_interval = shop().amazon.batch_interval;
  setup.conf = std::move(conf);
  self->send(worker, atom::reload_v, setup.conf);
  // Credentials set now are tried afresh; the next answer says if refused.
  auto missing = missing_credentials(shop().amazon);
  if (!missing.empty() ||
      credentials_refused.find("are not set") != std::string::npos)
    credentials_refused = missing;
  if (shop().amazon.batch_interval != old_interval)
    arm_batch(shop().amazon.batch_interval);
}

void amazon_shop_state::on_pending(std::vector<view_change>&& changes) {
  box->enqueue(std::move(changes));
}

void amazon_shop_state::stop() {
  self->send<caf::message_priority::high>(worker, atom::stop_v);
  self->quit();
}

// -- batching ----------------------------------------------------------------

void amazon_shop_state::arm_batch(milliseconds delay) {
  next_batch_ms = now_ms() + delay.count();
  self->delayed_send(self, delay, atom::batch_v, ++batch_timer);
}

void amazon_shop_state::on_batch(uint64_t generation) {
  if (generation != batch_timer) return;
  arm_batch(shop().amazon.batch_interval);
  // What the store refused before goes to disk once it takes writes.
  static_cast<void>(box->save_unsaved());
  while (!finished_memos.empty() &&
         !setup.db->erase_memo(setup.id, finished_memos.back()))
    finished_memos.pop_back();
  round = 0;
  submit_more();
}

void amazon_shop_state::submit_more() {
  if (!shop().stock_sync || submitting || now_ms() < hold_until_ms) return;
  if (unsent.empty() && round < max_feeds_per_round) take_batch();
  if (!unsent.empty()) submit_front();
}

void amazon_shop_state::take_batch() {
  auto opts = feed_options_of(shop());
  auto items = box->take(opts.max_messages);
  if (items.empty()) return;
  amazon::feed_builder builder{opts};
  std::unordered_map<std::string, uint64_t> seqs;
  seqs.reserve(items.size());
  for (auto& it : items) {
    auto value = it.send.find("");
    if (value == it.send.end()) {
      // Not an Amazon view (one quantity under ""): nothing to send.
      box->finish(it.product, false);
      continue;
    }
    builder.add(it.product, value->second);
    seqs.emplace(it.product, it.seq);
  }
  auto batch = builder.finish();
  auto at = rfc3339(now_ms());
  for (auto& r : batch.rejected) {
    // No feed can carry it: Amazon would refuse it the same way.
    check(
        box->failed(r.sku, "", r.quantity, "InvalidUpdate", r.reason, at, true),
        "cannot record a refused update");
    ++metrics.failed;
    box->finish(r.sku, false);
  }
  for (auto& feed : batch.feeds) {
    amazon_outgoing out;
    out.seqs.reserve(feed.entries.size());
    for (auto& e : feed.entries)
      out.seqs.push_back(seqs[e.sku]);
    out.feed = std::make_shared<amazon::listings_feed>(std::move(feed));
    unsent.push_back(std::move(out));
  }
}

void amazon_shop_state::submit_front() {
  submitting = true;
  ++round;
  auto& out = unsent.front();
  // Recorded before createFeed runs: should the engine stop before the
  // answer, the next start knows that a feed with these values may exist.
  amazon_feed_record submission;
  out.key = submission.key = amazon_feed_key(next_key++);
  submission.entries = out.feed->entries;
  submission.seqs = out.seqs;
  // Each value is recorded as sent before the feed leaves: once its memo is
  // gone (the feed followed to its end), a record that still said
  // "confirmed" with an older value would make a later view equal to that
  // value look delivered while Amazon holds this one.
  caf::error err;
  auto at = now_ms();
  for (auto& e : submission.entries)
    if (!err) err = box->sent(e.sku, "", e.quantity, submission.key, at);
  if (!err)
    err = setup.db->put_memo(setup.id, submission.key, encode(submission));
  if (err) {
    // Unrecorded, a feed whose answer a restart lost would be forgotten:
    // nothing goes out. The products wait in the outbox and leave with their
    // latest values once the store takes writes again.
    check(err, "cannot record a submission, so no feed is sent");
    submitting = false;
    for (auto& later : unsent)
      requeue(later.feed->entries);
    unsent.clear();
    hold_until_ms = now_ms() + submit_backoff.next().count();
    return;
  }
  auto body = std::move(out.feed->body);
  self->request(worker, caf::infinite, atom::submit_v, std::move(body))
      .then(
          [self = self](amazon_submission& answer) {
            self->state.on_submitted(answer);
          },
          [self = self](caf::error& err) {
            amazon_submission answer;
            answer.failure = worker_failure(err);
            self->state.on_submitted(answer);
          });
}

void amazon_shop_state::on_submitted(amazon_submission& answer) {
  submitting = false;
  auto out = std::move(unsent.front());
  unsent.pop_front();
  auto now = now_ms();
  note_credentials(answer.ok ? nullptr : &answer.failure);
  if (!answer.ok) {
    auto& f = answer.failure;
    if (f.sent && (f.http_status == 0 || f.http_status >= 500)) {
      // createFeed's outcome is unknown: Amazon may have created the feed
      // and will then set these quantities. The last confirmed values no
      // longer tell what Amazon holds, so each is recorded as failed: the
      // latest value goes out even when it equals the old confirmed one.
      auto at = rfc3339(now);
      for (auto& e : out.feed->entries)
        check(box->failed(e.sku, "", e.quantity, f.code, f.message, at, false),
              "cannot record a submission of unknown outcome");
    }
    // Nothing is lost: every taken product goes back to the front of the
    // queue and leaves with its latest value in a later attempt. A feed that
    // Amazon created despite the failure carries absolute quantities that
    // the resubmission repeats, in order.
    check(setup.db->erase_memo(setup.id, out.key),
          "cannot drop a submission memo");
    requeue(out.feed->entries);
    for (auto& later : unsent)
      requeue(later.feed->entries);
    unsent.clear();
    auto status = static_cast<amazon::call_status>(f.status);
    if (f.code == "RateModel") {
      // The local budget model refused before anything was sent.
      ++metrics.deferred;
      hold_until_ms = now + std::max<int64_t>(f.retry_after_ms, 1000);
      return;
    }
    if (status == amazon::call_status::throttled)
      ++metrics.throttled;
    else
      ++metrics.submit_errors;
    auto delay = f.retry_after_ms >= 0
                     ? submit_backoff.next(milliseconds{f.retry_after_ms})
                     : submit_backoff.next();
    hold_until_ms = now + delay.count();
    note_error(f.message);
    return;
  }
  submit_backoff.reset();
  amazon_feed_record record;
  record.key = std::move(out.key);
  record.feed_id = answer.feed_id;
  record.submitted_ms = now;
  record.entries = std::move(out.feed->entries);
  record.seqs = std::move(out.seqs);
  // Stored before anything else, so that a restart follows the feed.
  check(setup.db->put_memo(setup.id, record.key, encode(record)),
        "cannot store the feed in flight");
  for (auto& e : record.entries)
    check(box->sent(e.sku, "", e.quantity, record.feed_id, now),
          "cannot record a sent value");
  ++metrics.feeds_submitted;
  metrics.messages += record.entries.size();
  last_success = rfc3339(now);
  log_line(log_level::info, "amazon " + setup.id,
           "feed " + record.feed_id + " submitted with " +
               std::to_string(record.entries.size()) + " messages");
  amazon_flight f;
  f.feed = entries_of(record);
  f.record = std::move(record);
  auto& flight = flights.emplace(f.record.key, std::move(f)).first->second;
  arm_poll(flight, amazon::poll_delay(feed_poll(), 0));
  submit_more();
}

// -- following ---------------------------------------------------------------

void amazon_shop_state::arm_poll(amazon_flight& f, milliseconds delay) {
  f.next_poll_ms = now_ms() + delay.count();
  self->delayed_send(self, delay, atom::poll_v, f.record.key, ++f.timer);
}

void amazon_shop_state::on_poll(const std::string& key, uint64_t generation) {
  auto i = flights.find(key);
  if (i == flights.end()) return;
  auto& f = i->second;
  if (generation != f.timer || f.asking) return;
  f.asking = true;
  self->request(worker, caf::infinite, atom::poll_v, f.record.feed_id, f.feed)
      .then(
          [self = self, key](amazon_feed_check& answer) {
            self->state.on_checked(key, answer);
          },
          [self = self, key](caf::error& err) {
            amazon_feed_check answer;
            answer.failure = worker_failure(err);
            self->state.on_checked(key, answer);
          });
}

void amazon_shop_state::on_checked(const std::string& key,
                                   amazon_feed_check& answer) {
  auto i = flights.find(key);
  if (i == flights.end()) return;
  auto& f = i->second;
  f.asking = false;
  note_credentials(answer.ok ? nullptr : &answer.failure);
  if (!answer.ok) {
    ++metrics.poll_errors;
    note_error("feed " + f.record.feed_id + ": " + answer.failure.message);
    auto& fail = answer.failure;
    if (fail.http_status == 404) {
      // Amazon does not know the feed: treat it as never processed.
      amazon_feed_check lost;
      lost.ok = lost.terminal = true;
      lost.status = static_cast<uint8_t>(amazon::processing_status::fatal);
      for (size_t n = 1; n <= f.record.entries.size(); ++n)
        lost.verdicts.push_back(
            {static_cast<int64_t>(n),
             static_cast<uint8_t>(amazon::sku_result::not_processed), fail.code,
             fail.message});
      finish_feed(key, f, lost);
      return;
    }
    // Keep following on the poll schedule, no sooner than Amazon asks.
    auto delay = amazon::poll_delay(feed_poll(), ++f.polls);
    if (fail.retry_after_ms > delay.count())
      delay = milliseconds{fail.retry_after_ms};
    arm_poll(f, delay);
    return;
  }
  f.status = std::string{status_name(answer.status)};
  if (!answer.terminal) {
    arm_poll(f, amazon::poll_delay(feed_poll(), ++f.polls));
    return;
  }
  finish_feed(key, f, answer);
}

void amazon_shop_state::finish_feed(const std::string& key, amazon_flight& f,
                                    amazon_feed_check& answer) {
  using amazon::sku_result;
  auto now = now_ms();
  auto at = rfc3339(now);
  auto& entries = f.record.entries;
  std::vector<bool> judged(entries.size(), false);
  size_t resubmitted = 0;
  for (auto& v : answer.verdicts) {
    if (v.message_id < 1 || static_cast<size_t>(v.message_id) > entries.size())
      continue;
    auto index = static_cast<size_t>(v.message_id - 1);
    if (judged[index]) continue;
    judged[index] = true;
    auto& e = entries[index];
    switch (static_cast<sku_result>(v.result)) {
    case sku_result::accepted:
      // Confirms what this feed carried; a newer value may be waiting.
      check(box->confirmed(e.sku, "", e.quantity), "cannot record a confirm");
      ++metrics.confirmed;
      box->finish(e.sku, false);
      break;
    case sku_result::transient_error:
      check(box->failed(e.sku, "", e.quantity, v.code, v.message, at, false),
            "cannot record a failure");
      ++metrics.failed;
      ++metrics.retried;
      box->finish(e.sku, true);
      break;
    case sku_result::permanent_error:
      // Reported, and not sent again until the value changes.
      check(box->failed(e.sku, "", e.quantity, v.code, v.message, at, true),
            "cannot record a failure");
      ++metrics.failed;
      box->finish(e.sku, false);
      break;
    case sku_result::not_processed:
      ++resubmitted;
      box->finish(e.sku, true);
      break;
    }
  }
  for (size_t n = 0; n < entries.size(); ++n)
    if (!judged[n]) {
      ++resubmitted;
      box->finish(entries[n].sku, true);
    }
  metrics.resubmitted += resubmitted;
  metrics.processing_seconds_last =
      static_cast<double>(now - f.record.submitted_ms) / 1000.0;
  metrics.processing_seconds.observe(metrics.processing_seconds_last);
  auto status = static_cast<amazon::processing_status>(answer.status);
  if (status == amazon::processing_status::done) {
    ++metrics.feeds_done;
    last_success = at;
  } else {
    ++metrics.feeds_fatal;
    note_error("feed " + f.record.feed_id + " ended " +
               std::string{status_name(answer.status)} + "; its " +
               std::to_string(resubmitted) + " messages go out again");
  }
  log_line(log_level::info, "amazon " + setup.id,
           "feed " + f.record.feed_id + " ended " +
               std::string{status_name(answer.status)});
  if (auto err = setup.db->erase_memo(setup.id, key)) {
    // Left, a restart would follow the feed again (or take it for
    // unanswered): dropped by a later batch round.
    check(err, "cannot drop a finished feed");
    finished_memos.push_back(key);
  }
  flights.erase(key);
}

// -- helpers -----------------------------------------------------------------

void amazon_shop_state::requeue(
    const std::vector<amazon::feed_entry>& entries) {
  for (auto& e : entries)
    box->finish(e.sku, true);
}

void amazon_shop_state::note_error(const std::string& message) {
  last_error = rfc3339(now_ms()) + " " + message;
  log_line(log_level::warning, "amazon " + setup.id, message);
}

void amazon_shop_state::note_credentials(const amazon_failure* f) {
  if (f == nullptr) {
    credentials_refused.clear();
    return;
  }
  if (f->code == "invalid_client" || f->code == "invalid_grant" ||
      f->code == "unauthorized_client" || f->code == "MissingCredentials")
    credentials_refused = f->message;
}

void amazon_shop_state::check(const caf::error& err, const char* what) {
  if (!err) return;
  auto message = std::string{what} + ": " + to_string(err);
  last_error = rfc3339(now_ms()) + " " + message;
  log_line(log_level::error, "amazon " + setup.id, message);
}

shop_status amazon_shop_state::status() const {
  using nlohmann::json;
  auto result = basic_status(shop(), *box);
  result.last_success = last_success;
  result.last_error = last_error;
  result.credentials_refused = credentials_refused;
  json feeds = json::array();
  for (auto& [key, f] : flights) {
    if (feeds.size() == max_feeds_shown) break;
    feeds.push_back({{"feed", f.record.feed_id},
                     {"status", f.status},
                     {"messages", f.record.entries.size()},
                     {"submitted_at", rfc3339(f.record.submitted_ms)},
                     {"polls", f.polls},
                     {"next_poll_at", rfc3339(f.next_poll_ms)}});
  }
  auto& m = metrics;
  json details{{"feeds_in_flight", std::move(feeds)},
               {"next_batch_at",
                shop().stock_sync
                    ? json(rfc3339(std::max(next_batch_ms, hold_until_ms)))
                    : json()},
               {"metrics",
                {{"feeds_submitted", m.feeds_submitted},
                 {"feeds_processing", flights.size()},
                 {"feeds_done", m.feeds_done},
                 {"feeds_fatal", m.feeds_fatal},
                 {"messages", m.messages},
                 {"confirmed", m.confirmed},
                 {"failed", m.failed},
                 {"retried", m.retried},
                 {"resubmitted", m.resubmitted},
                 {"throttled", m.throttled},
                 {"deferred", m.deferred},
                 {"submit_errors", m.submit_errors},
                 {"poll_errors", m.poll_errors},
                 {"processing_seconds_last", m.processing_seconds_last}}},
               // Durations for GET /metrics; "metrics" holds numbers only.
               {"histograms", {{"processing_seconds", m.processing_seconds}}}};
  result.details = details.dump();
  add_resync(result, *resync);
  return result;
}

// -- behaviour ---------------------------------------------------------------

amazon_shop_actor::behavior_type
amazon_shop(amazon_shop_actor::stateful_pointer<amazon_shop_state> self,
            shop_setup setup) {
  return amazon_shop_with(self, std::move(setup), nullptr);
}

amazon_shop_actor::behavior_type
amazon_shop_with(amazon_shop_actor::stateful_pointer<amazon_shop_state> self,
                 shop_setup setup, amazon_worker_factory make_worker) {
  self->state.make_worker = std::move(make_worker);
  self->state.start(self, std::move(setup));
  // Resync pages wait in the outbox for the batch timer.
  auto nothing = [] {};
  return {
      [=](atom::pending, std::vector<view_change>& changes) {
        self->state.on_pending(std::move(changes));
      },
      [=](atom::reload, config_ptr& conf) {
        self->state.on_reload(std::move(conf));
      },
      [=](atom::status) {
        return self->state.status();
      },
      [=](atom::resync) {
        return start_resync(self, nothing);
      },
      [=](atom::tend, uint64_t gen) {
        on_resync_tick(self, gen, nothing);
      },
      [=](atom::stop) {
        self->state.stop();
      },
      [=](atom::batch, uint64_t generation) {
        self->state.on_batch(generation);
      },
      [=](atom::poll, const std::string& key, uint64_t generation) {
        self->state.on_poll(key, generation);
      },
  };
}

shop_actor spawn_amazon_shop(caf::actor_system& sys, shop_setup setup) {
  return caf::actor_cast<shop_actor>(sys.spawn(amazon_shop, std::move(setup)));
}

} // namespace shelfsync
