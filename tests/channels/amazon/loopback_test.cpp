// The real Feeds client against the real simulator over loopback HTTP.
#include <atomic>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "channels/amazon/backoff.hpp"
#include "channels/amazon/feed.hpp"
#include "channels/amazon/feed_client.hpp"
#include "channels/amazon/lwa.hpp"
#include "channels/amazon/report.hpp"
#include "net/client.hpp"
#include "simulators/amazon/simulator.hpp"

using namespace shelfsync;
using namespace shelfsync::amazon;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

const sim_seller seller{"A2EXAMPLE", "amzn1.application-oa2-client.test",
                        "client-secret-s3cr3t", "Atzr|refresh-t0ken"};

/// A steady clock the test can push forward; shared by simulator and client.
struct shifted_clock {
  std::atomic<int64_t> offset_ms{0};
  rate_clock::time_point now() const {
    return rate_clock::now() + std::chrono::milliseconds{offset_ms.load()};
  }
  std::function<rate_clock::time_point()> fn() {
    return [this] {
      return now();
    };
  }
};

class loopback : public ::testing::Test {
 protected:
  void SetUp() override { start(config()); }

  simulator_config config() {
    simulator_config cfg;
    cfg.sellers = {seller};
    cfg.queue_delay = 10ms;
    cfg.processing_delay = 20ms;
    cfg.now = clock.fn();
    return cfg;
  }

  void start(simulator_config cfg,
             lwa_credentials creds = {seller.client_id, seller.client_secret,
                                      seller.refresh_token}) {
    client.reset();
    lwa.reset();
    server.reset();
    sim = std::make_unique<simulator>(std::move(cfg));
    server = std::make_unique<simulator_server>(*sim);
    http::client_options http_opts;
    http_opts.request_timeout = 3s;
    lwa_options lopts;
    lopts.http = http_opts;
    lopts.now = clock.fn();
    lwa = std::make_unique<lwa_client>(url("/auth/o2/token"), creds, lopts);
    feed_client_options fopts;
    fopts.endpoint = url("");
    fopts.marketplace_ids = {"ATVPDKIKX0DER"};
    fopts.http = http_opts;
    client = std::make_unique<feed_client>(fopts, *lwa, limiter.get());
  }

  http::url url(const std::string& path) {
    return *http::parse_url(server->base_url() + path);
  }

  listings_feed build(std::vector<std::pair<std::string, int64_t>> items) {
    feed_options opts;
    opts.seller_id = seller.seller_id;
    feed_builder b{opts};
    for (auto& [sku, qty] : items)
      b.add(sku, qty);
    return std::move(b.finish().feeds.at(0));
  }

  /// Polls getFeed on the contract's schedule (scaled to milliseconds)
  /// until the feed is terminal.
  feed_info wait_terminal(const std::string& feed_id) {
    for (uint32_t poll = 0; poll < 200; ++poll) {
      std::this_thread::sleep_for(poll_delay(5ms, poll));
      auto info = client->get_feed(feed_id);
      EXPECT_TRUE(info) << to_string(info.error());
      if (info && info->terminal()) return info.value();
    }
    ADD_FAILURE() << "feed " << feed_id << " never finished";
    return {};
  }

  /// Sends a raw request to the simulator.
  http::response raw(http::request req) {
    http::client c{url("")};
    auto res = c.send(std::move(req));
    EXPECT_TRUE(res);
    return res ? res.value() : http::response{};
  }

  shifted_clock clock;
  std::unique_ptr<rate_limiter> limiter;
  std::unique_ptr<simulator> sim;
  std::unique_ptr<simulator_server> server;
  std::unique_ptr<lwa_client> lwa;
  std::unique_ptr<feed_client> client;
};

} // namespace

// -- LWA
// ------------------------------------------------------------------------

TEST_F(loopback, lwa_token_is_obtained_once_cached_and_renewed_before_expiry) {
  auto first = lwa->access_token();
  ASSERT_TRUE(first) << to_string(first.error());
  EXPECT_EQ(first.value().rfind("Atza|", 0), 0u);
  EXPECT_GE(first.value().size(), 350u);
  auto again = lwa->access_token();
  EXPECT_EQ(again.value(), first.value());
  EXPECT_EQ(lwa->tokens_obtained(), 1u);
  EXPECT_EQ(sim->tokens_issued(), 1u);
  // 59 minutes and a second later the token is within a minute of expiry.
  clock.offset_ms += (59 * 60 + 1) * 1000;
  auto renewed = lwa->access_token();
  ASSERT_TRUE(renewed);
  EXPECT_NE(renewed.value(), first.value());
  EXPECT_EQ(sim->tokens_issued(), 2u);
}

TEST_F(loopback, wrong_credentials_are_permanent_and_never_echo_secrets) {
  start(config(), {seller.client_id, seller.client_secret, "Atzr|stolen"});
  auto r = client->create_feed_document();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.status(), call_status::permanent);
  EXPECT_EQ(r.error().code, "invalid_grant");
  EXPECT_EQ(r.error().http_status, 400);
  start(config(), {seller.client_id, "wrong-secret", seller.refresh_token});
  auto w = lwa->access_token();
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code, "invalid_client");
  for (auto* text :
       {&r.error().message, &w.error().message, &r.error().details}) {
    EXPECT_EQ(text->find("secret"), std::string::npos) << *text;
    EXPECT_EQ(text->find("Atzr|"), std::string::npos) << *text;
  }
}

TEST_F(loopback, sp_api_refuses_missing_or_expired_tokens_with_403) {
  auto req =
      http::make_json_request(http::verb::post, "/feeds/2021-06-30/documents",
                              R"({"contentType":"application/json"})");
  auto res = raw(req);
  EXPECT_EQ(res.result_int(), 403u);
  auto body = json::parse(res.body());
  EXPECT_EQ(body["errors"][0]["code"], "Unauthorized");
  EXPECT_EQ(body["errors"][0]["message"],
            "Access to requested resource is denied.");
  req.set("x-amz-access-token", "Atza|made-up");
  EXPECT_EQ(raw(req).result_int(), 403u);

  // The client's cached token expires at the simulator behind its back: the
  // 403 makes it fetch a fresh token once and succeed.
  ASSERT_TRUE(client->create_feed_document());
  lwa_options lopts;
  simulator_config cfg = config();
  cfg.access_token_ttl = std::chrono::seconds{1};
  start(cfg);
  ASSERT_TRUE(client->create_feed_document());
  clock.offset_ms += 1500; // past the simulator's TTL, not the client's view
  auto doc = client->create_feed_document();
  ASSERT_TRUE(doc) << to_string(doc.error());
  EXPECT_EQ(sim->tokens_issued(), 2u);
}

// -- the whole flow
// ---------------------------------------------------------------

TEST_F(loopback, feed_goes_through_to_done_and_quantities_land) {
  auto feed = build({{"SKU-1", 5}, {"SKU-2", 0}, {"SKU/3 ü", 17}});
  auto feed_id = client->submit_feed(feed.body);
  ASSERT_TRUE(feed_id) << to_string(feed_id.error());
  auto first = client->get_feed(feed_id.value());
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, processing_status::in_queue);
  EXPECT_EQ(first->feed_type, "JSON_LISTINGS_FEED");
  auto info = wait_terminal(feed_id.value());
  EXPECT_EQ(info.status, processing_status::done);
  EXPECT_FALSE(info.processing_end_time.empty());
  ASSERT_FALSE(info.result_feed_document_id.empty());
  auto report = client->fetch_report(info.result_feed_document_id);
  ASSERT_TRUE(report) << to_string(report.error());
  EXPECT_EQ(report->report.feed_id, feed_id.value());
  EXPECT_EQ(report->report.summary.messages_accepted, 3);
  for (auto& o : classify_report(report->report, feed))
    EXPECT_EQ(o.result, sku_result::accepted) << o.sku;
  EXPECT_EQ(sim->listing(seller.seller_id, "SKU-1")->quantity(), 5);
  EXPECT_EQ(sim->listing(seller.seller_id, "SKU-2")->quantity(), 0);
  EXPECT_EQ(sim->listing(seller.seller_id, "SKU/3 ü")->quantity(), 17);

  // The inspection endpoint shows the same over HTTP, with history.
  auto second = client->submit_feed(build({{"SKU-1", 9}}).body);
  ASSERT_TRUE(second);
  wait_terminal(second.value());
  auto listings =
      json::parse(raw(http::make_request(http::verb::get,
                                         "/_sim/amazon/A2EXAMPLE/listings"))
                      .body());
  EXPECT_EQ(listings["listings"]["SKU-1"]["quantity"], 9);
  EXPECT_EQ(listings["listings"]["SKU-1"]["history"], json::array({5, 9}));
  auto feeds = json::parse(
      raw(http::make_request(http::verb::get, "/_sim/amazon/feeds")).body());
  ASSERT_EQ(feeds["feeds"].size(), 2u);
  EXPECT_EQ(feeds["feeds"][0]["processingStatus"], "DONE");
  EXPECT_EQ(feeds["feeds"][0]["messages"], 3);
  EXPECT_TRUE(feeds["feeds"][0]["validationIssues"].empty());
}

TEST_F(loopback, get_feeds_lists_every_page_by_creation_time_and_status) {
  auto cfg = config();
  for (auto op :
       {operation::create_feed_document, operation::create_feed,
        operation::json_listings_feed_submission, operation::get_feeds})
    cfg.rates[static_cast<size_t>(op)] = {1000, 1000};
  start(cfg);
  auto wall_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  auto before = wall_ms() - 2000;
  auto done = client->submit_feed(build({{"L-0", 1}}).body);
  ASSERT_TRUE(done);
  wait_terminal(done.value());
  // 104 more stay queued: more than one page of 100.
  sim->set_processing_delay(60s, 20ms);
  std::set<std::string> queued;
  for (int i = 1; i <= 104; ++i) {
    auto id = client->submit_feed(build({{"L-" + std::to_string(i), i}}).body);
    ASSERT_TRUE(id) << i << ": " << to_string(id.error());
    queued.insert(id.value());
  }
  auto all = client->list_feeds(before);
  ASSERT_TRUE(all) << to_string(all.error());
  EXPECT_EQ(all->size(), 105u);
  auto open = client->list_feeds(
      before, {processing_status::in_queue, processing_status::in_progress});
  ASSERT_TRUE(open) << to_string(open.error());
  std::set<std::string> listed;
  for (auto& f : open.value()) {
    EXPECT_EQ(f.status, processing_status::in_queue) << f.feed_id;
    EXPECT_EQ(f.feed_type, "JSON_LISTINGS_FEED");
    listed.insert(f.feed_id);
  }
  EXPECT_EQ(listed, queued) << "every queued feed once, the done one not";
  auto later = client->list_feeds(wall_ms() + 60'000);
  ASSERT_TRUE(later);
  EXPECT_TRUE(later->empty()) << "createdSince after every feed";

  // What the model requires is refused with InvalidInput.
  auto no_token =
      raw(http::make_request(http::verb::get, "/feeds/2021-06-30/feeds"));
  EXPECT_EQ(no_token.result_int(), 403) << "getFeeds needs a token";
  auto with_token = [&](std::string query) {
    auto req =
        http::make_request(http::verb::get, "/feeds/2021-06-30/feeds?" + query);
    req.set("x-amz-access-token", lwa->access_token().value());
    return raw(std::move(req));
  };
  EXPECT_EQ(with_token("pageSize=5").result_int(), 400)
      << "feedTypes is required";
  EXPECT_EQ(
      with_token("feedTypes=JSON_LISTINGS_FEED&pageSize=101").result_int(),
      400);
  EXPECT_EQ(with_token("feedTypes=JSON_LISTINGS_FEED&createdSince=yesterday")
                .result_int(),
            400);
  auto first =
      json::parse(with_token("feedTypes=JSON_LISTINGS_FEED&pageSize=2").body());
  ASSERT_TRUE(first.contains("nextToken"));
  EXPECT_EQ(first["feeds"].size(), 2u);
  EXPECT_EQ(with_token("feedTypes=JSON_LISTINGS_FEED&nextToken=" +
                       first["nextToken"].get<std::string>())
                .result_int(),
            400)
      << "nextToken must come alone";
}

TEST_F(loopback, per_sku_errors_come_back_classified_with_amazons_code) {
  sim->fail_sku(seller.seller_id, "FLAKY", sim::transient_failure(1));
  sim->fail_sku(seller.seller_id, "BROKEN", sim::permanent_failure());
  auto feed = build({{"OK", 1}, {"FLAKY", 2}, {"BROKEN", 3}});
  auto feed_id = client->submit_feed(feed.body);
  ASSERT_TRUE(feed_id);
  auto info = wait_terminal(feed_id.value());
  EXPECT_EQ(info.status, processing_status::done);
  auto report = client->fetch_report(info.result_feed_document_id);
  ASSERT_TRUE(report);
  auto outcomes = classify_report(report->report, feed);
  EXPECT_EQ(outcomes[0].result, sku_result::accepted);
  EXPECT_EQ(outcomes[1].result, sku_result::transient_error);
  EXPECT_EQ(outcomes[1].code, "4000000");
  EXPECT_EQ(outcomes[2].result, sku_result::permanent_error);
  EXPECT_EQ(outcomes[2].code, "4000003");
  EXPECT_FALSE(outcomes[2].message.empty());
  EXPECT_FALSE(sim->listing(seller.seller_id, "FLAKY"));
  EXPECT_FALSE(sim->listing(seller.seller_id, "BROKEN"));
  // Resubmitted, the transient one goes through.
  auto retry = client->submit_feed(build({{"FLAKY", 2}}).body);
  ASSERT_TRUE(retry);
  EXPECT_EQ(wait_terminal(retry.value()).status, processing_status::done);
  EXPECT_EQ(sim->listing(seller.seller_id, "FLAKY")->quantity(), 2);
}

TEST_F(loopback, fatal_feeds_leave_every_sku_unprocessed) {
  sim_faults f;
  f.next_feed = processing_status::fatal;
  sim->set_faults(f);
  auto feed = build({{"A", 1}, {"B", 2}});
  auto feed_id = client->submit_feed(feed.body);
  ASSERT_TRUE(feed_id);
  auto info = wait_terminal(feed_id.value());
  EXPECT_EQ(info.status, processing_status::fatal);
  auto report = client->fetch_report(info.result_feed_document_id);
  ASSERT_TRUE(report);
  for (auto& o : classify_report(report->report, feed))
    EXPECT_EQ(o.result, sku_result::not_processed);
  EXPECT_FALSE(sim->listing(seller.seller_id, "A"));

  // A document that is not a listings feed is FATAL too, saying why.
  auto target = client->create_feed_document();
  ASSERT_TRUE(target);
  ASSERT_TRUE(client->upload(target.value(), feed_content_type,
                             R"({"header":{"sellerId":"A2EXAMPLE"}})"));
  auto bad = client->create_feed(target->feed_document_id);
  ASSERT_TRUE(bad);
  auto bad_info = wait_terminal(bad.value());
  EXPECT_EQ(bad_info.status, processing_status::fatal);
  auto views = sim->feeds();
  ASSERT_FALSE(views.back().validation_issues.empty());
  auto bad_report = client->fetch_report(bad_info.result_feed_document_id);
  ASSERT_TRUE(bad_report);
  EXPECT_EQ(bad_report->report.issues.at(0).code, "4002001");

  f.next_feed = processing_status::cancelled;
  sim->set_faults(f);
  auto cancelled = client->submit_feed(feed.body);
  ASSERT_TRUE(cancelled);
  auto c = wait_terminal(cancelled.value());
  EXPECT_EQ(c.status, processing_status::cancelled);
  EXPECT_TRUE(c.result_feed_document_id.empty());
}

TEST_F(loopback, gzip_reports_are_announced_and_unpacked) {
  sim->set_gzip_reports(true);
  auto feed = build({{"Z", 4}});
  auto feed_id = client->submit_feed(feed.body);
  ASSERT_TRUE(feed_id);
  auto info = wait_terminal(feed_id.value());
  auto doc = client->get_feed_document(info.result_feed_document_id);
  ASSERT_TRUE(doc);
  EXPECT_TRUE(doc->gzip);
  auto report = client->fetch_report(info.result_feed_document_id);
  ASSERT_TRUE(report) << to_string(report.error());
  EXPECT_EQ(report->report.summary.messages_accepted, 1);
}

// -- faults
// -----------------------------------------------------------------------

TEST_F(loopback, throttling_answers_429_then_backoff_succeeds) {
  auto cfg = config();
  cfg.rates[static_cast<size_t>(operation::get_feed)] = {20, 1};
  start(cfg);
  auto feed_id = client->submit_feed(build({{"T", 1}}).body);
  ASSERT_TRUE(feed_id);
  ASSERT_TRUE(client->get_feed(feed_id.value()));
  auto throttled = client->get_feed(feed_id.value());
  ASSERT_FALSE(throttled);
  EXPECT_EQ(throttled.status(), call_status::throttled);
  EXPECT_EQ(throttled.error().http_status, 429);
  EXPECT_EQ(throttled.error().code, "QuotaExceeded");
  backoff retry{{50ms, 1000ms, 2.0}, 1};
  call_result<feed_info> again = throttled.error();
  for (int i = 0; i < 5 && !again; ++i) {
    std::this_thread::sleep_for(retry.next());
    again = client->get_feed(feed_id.value());
  }
  ASSERT_TRUE(again);
  EXPECT_EQ(again->feed_id, feed_id.value());

  // The JSON_LISTINGS_FEED limit: 5 createFeed per 5 minutes per seller.
  for (int i = 0; i < 4; ++i)
    ASSERT_TRUE(client->submit_feed(build({{"T", i}}).body)) << i;
  auto sixth = client->submit_feed(build({{"T", 9}}).body);
  ASSERT_FALSE(sixth);
  EXPECT_EQ(sixth.error().code, "QuotaExceeded");
}

TEST_F(loopback, the_rate_model_paces_calls_so_no_429_comes_back) {
  // Amazon allows 40/s with burst 1 here; unpaced, five calls in a row
  // would earn 429s. The model keeps well below Amazon's announced rate: on
  // a loaded two-core test machine loopback jitter is milliseconds, which
  // at 40/s is a large share of the 25 ms refill interval.
  auto cfg = config();
  cfg.rates[static_cast<size_t>(operation::get_feed)] = {40, 1};
  limiter = std::make_unique<rate_limiter>(cfg.rates, 0.5);
  start(cfg);
  auto feed_id = client->submit_feed(build({{"P", 1}}).body);
  ASSERT_TRUE(feed_id);
  for (int i = 0; i < 5; ++i) {
    auto r = client->get_feed(feed_id.value());
    ASSERT_TRUE(r) << i << ": " << to_string(r.error());
  }
  // Five JSON_LISTINGS_FEEDs per 5 minutes: the sixth is refused locally,
  // without a request, and says when to come back.
  for (int i = 0; i < 4; ++i)
    ASSERT_TRUE(client->submit_feed(build({{"P", i}}).body));
  auto before = sim->requests().size();
  auto refused = client->create_feed("amzn1.tortuga.whatever");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, "RateModel");
  EXPECT_FALSE(refused.error().sent);
  ASSERT_TRUE(refused.error().retry_after);
  EXPECT_GE(*refused.error().retry_after, 59s);
  EXPECT_EQ(sim->requests().size(), before);
}

TEST_F(loopback, server_errors_and_dropped_connections_are_retryable) {
  sim_faults f;
  f.fail_next = 1;
  f.fail_status = 500;
  f.path_prefix = "/feeds/";
  sim->set_faults(f);
  auto failed = client->create_feed_document();
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.status(), call_status::retryable);
  EXPECT_EQ(failed.error().http_status, 500);
  EXPECT_EQ(failed.error().code, "InternalFailure");
  EXPECT_FALSE(failed.error().request_id.empty());

  f = {};
  f.drop_next = 1;
  f.path_prefix = "/feeds/";
  sim->set_faults(f);
  auto dropped = client->create_feed_document();
  ASSERT_FALSE(dropped);
  EXPECT_EQ(dropped.status(), call_status::retryable);
  EXPECT_EQ(dropped.error().code, "connection_dropped");
  EXPECT_TRUE(dropped.error().sent);
  ASSERT_TRUE(client->create_feed_document()) << "next call works again";

  // Carried out, then dropped: the feed exists though the client never
  // heard of it, which is why createFeed is not blindly idempotent.
  auto target = client->create_feed_document();
  ASSERT_TRUE(target);
  ASSERT_TRUE(client->upload(target.value(), feed_content_type,
                             build({{"D", 1}}).body));
  f = {};
  f.drop_after_next = 1;
  f.path_prefix = "/feeds/2021-06-30/feeds";
  sim->set_faults(f);
  auto lost = client->create_feed(target->feed_document_id);
  ASSERT_FALSE(lost);
  EXPECT_EQ(lost.status(), call_status::retryable);
  EXPECT_EQ(sim->feeds().size(), 1u);
}

TEST_F(loopback, slow_answers_hit_the_client_timeout_as_retryable) {
  sim_faults f;
  f.delay = 400ms;
  f.delay_next = 1;
  f.path_prefix = "/feeds/";
  sim->set_faults(f);
  feed_client_options fopts;
  fopts.endpoint = url("");
  fopts.marketplace_ids = {"ATVPDKIKX0DER"};
  fopts.http.request_timeout = 100ms;
  feed_client impatient{fopts, *lwa};
  auto slow = impatient.create_feed_document();
  ASSERT_FALSE(slow);
  EXPECT_EQ(slow.status(), call_status::retryable);
  EXPECT_EQ(slow.error().code, "timeout");
}

TEST_F(loopback, upload_must_repeat_the_content_type) {
  auto target = client->create_feed_document("application/json");
  ASSERT_TRUE(target);
  auto up = client->upload(target.value(), "text/plain", "{}");
  ASSERT_FALSE(up);
  EXPECT_EQ(up.status(), call_status::permanent);
  EXPECT_EQ(up.error().http_status, 403);
  EXPECT_NE(up.error().message.find("SignatureDoesNotMatch"),
            std::string::npos);
  EXPECT_TRUE(client->upload(target.value(), "application/json", "{}"));
}

TEST_F(loopback, faults_and_patch_listings_item_over_http) {
  auto faults = raw(http::make_json_request(
      http::verb::post, "/_sim/amazon/faults",
      R"({"throttle_next": 1, "path_prefix": "/listings/",
        "sku_errors": [{"seller": "A2EXAMPLE", "sku": "Q",
                        "kind": "permanent"}]})"));
  EXPECT_EQ(faults.result_int(), 200u);
  EXPECT_EQ(json::parse(faults.body())["throttle_next"], 1);

  auto token = lwa->access_token();
  ASSERT_TRUE(token);
  auto patch = [&](const std::string& target, const std::string& body) {
    auto req = http::make_json_request(http::verb::patch, target, body);
    req.set("x-amz-access-token", token.value());
    return raw(std::move(req));
  };
  std::string body = R"({"productType":"PRODUCT","patches":[{"op":"merge",
    "path":"/attributes/fulfillment_availability",
    "value":[{"fulfillment_channel_code":"DEFAULT","quantity":6}]}]})";
  auto path = "/listings/2021-08-01/items/A2EXAMPLE/SKU%2F9"
              "?marketplaceIds=ATVPDKIKX0DER";
  EXPECT_EQ(patch(path, body).result_int(), 429u);
  auto ok = patch(path, body);
  ASSERT_EQ(ok.result_int(), 200u);
  EXPECT_EQ(json::parse(ok.body())["status"], "ACCEPTED");
  EXPECT_EQ(sim->listing(seller.seller_id, "SKU/9")->quantity(), 6);
  auto bad = patch(path, R"({"productType":"PRODUCT","patches":[{"op":"merge",
    "path":"/attributes/fulfillment_availability","value":[{"quantity":1}]}]})");
  EXPECT_EQ(json::parse(bad.body())["status"], "INVALID");
  EXPECT_EQ(sim->listing(seller.seller_id, "SKU/9")->quantity(), 6);
  EXPECT_EQ(patch("/listings/2021-08-01/items/OTHER/X?marketplaceIds=M", body)
                .result_int(),
            403u);

  auto requests = json::parse(
      raw(http::make_request(http::verb::get, "/_sim/amazon/requests")).body());
  EXPECT_GE(requests["requests"].size(), 4u);
}

TEST_F(loopback, sellers_can_be_added_at_run_time) {
  auto added = raw(
      http::make_json_request(http::verb::post, "/_sim/amazon/sellers",
                              R"({"seller_id": "A3NEW", "client_id": "cid-2",
        "client_secret": "sec-2", "refresh_token": "Atzr|r2"})"));
  ASSERT_EQ(added.result_int(), 200u);
  lwa_client other{url("/auth/o2/token"), {"cid-2", "sec-2", "Atzr|r2"}};
  ASSERT_TRUE(other.access_token());
  auto listings =
      raw(http::make_request(http::verb::get, "/_sim/amazon/A3NEW/listings"));
  EXPECT_EQ(listings.result_int(), 200u);
  auto incomplete = raw(http::make_json_request(
      http::verb::post, "/_sim/amazon/sellers", R"({"seller_id": "X"})"));
  EXPECT_EQ(incomplete.result_int(), 422u);
  EXPECT_NE(incomplete.body().find("client_id"), std::string::npos);
}
