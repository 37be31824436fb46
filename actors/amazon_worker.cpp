#include "actors/amazon_worker.hpp"

#include <caf/all.hpp>

#include "actors/log.hpp"

namespace shelfsync {

namespace {

/// Timeouts of every SP-API, upload and download request. Short enough that
/// a stopping engine never waits long for a worker in the middle of a call.
http::client_options http_options() {
  http::client_options opts;
  opts.connect_timeout = std::chrono::seconds{10};
  opts.request_timeout = std::chrono::seconds{30};
  return opts;
}

/// A failure that no request caused: nothing was sent.
amazon_failure local_failure(std::string code, std::string message) {
  amazon_failure f;
  f.status = static_cast<uint8_t>(amazon::call_status::permanent);
  f.code = std::move(code);
  f.message = std::move(message);
  f.sent = false;
  return f;
}

/// Whether the settings the clients are built from differ.
bool same_endpoints(const amazon_config& a, const amazon_config& b) {
  return a.endpoint == b.endpoint && a.lwa_endpoint == b.lwa_endpoint &&
         a.marketplace_ids == b.marketplace_ids &&
         a.client_id_env == b.client_id_env &&
         a.client_secret_env == b.client_secret_env &&
         a.refresh_token_env == b.refresh_token_env;
}

} // namespace

amazon_failure to_failure(const amazon::call_error& err, const char* what) {
  amazon_failure f;
  f.status = static_cast<uint8_t>(err.status);
  f.http_status = err.http_status;
  f.code = err.code;
  f.message = std::string{what} + ": " + amazon::to_string(err);
  if (err.retry_after)
    f.retry_after_ms = static_cast<int64_t>(err.retry_after->count());
  f.sent = err.sent;
  return f;
}

bool amazon_worker_state::ready() {
  if (client) return true;
  auto endpoint = http::parse_url(amazon.endpoint);
  if (!endpoint) {
    unusable = local_failure("BadEndpoint", "the Amazon endpoint \"" +
                                                amazon.endpoint +
                                                "\" is not an http(s) URL");
    return false;
  }
  auto token_url = http::parse_url(amazon.lwa_endpoint);
  if (!token_url) {
    unusable = local_failure("BadEndpoint", "the LWA endpoint \"" +
                                                amazon.lwa_endpoint +
                                                "\" is not an http(s) URL");
    return false;
  }
  // Secrets are read at the last moment and only their variable names ever
  // appear in a message.
  amazon::lwa_credentials creds;
  auto missing =
      read_secrets({{amazon.client_id_env, &creds.client_id},
                    {amazon.client_secret_env, &creds.client_secret},
                    {amazon.refresh_token_env, &creds.refresh_token}});
  if (!missing.empty()) {
    unusable = local_failure("MissingCredentials",
                             "the LWA credentials are not set in the "
                             "environment (" +
                                 missing + ")");
    return false;
  }
  amazon::lwa_options lopts;
  lopts.http = http_options();
  lwa =
      std::make_unique<amazon::lwa_client>(*token_url, std::move(creds), lopts);
  amazon::feed_client_options fopts;
  fopts.endpoint = *endpoint;
  fopts.marketplace_ids = amazon.marketplace_ids;
  fopts.http = http_options();
  client =
      std::make_unique<amazon::feed_client>(std::move(fopts), *lwa, &limits);
  unusable = {};
  return true;
}

void amazon_worker_state::reset(const amazon_config& next) {
  auto rebuild = !same_endpoints(amazon, next);
  amazon = next;
  if (rebuild || !client) {
    client.reset();
    lwa.reset();
  }
}

amazon_submission amazon_worker_state::submit(std::string body) {
  amazon_submission out;
  if (!ready()) {
    out.failure = unusable;
    return out;
  }
  auto created = client->submit_feed(std::move(body));
  if (!created) {
    out.failure = to_failure(created.error(), "submitting a feed");
    return out;
  }
  out.ok = true;
  out.feed_id = std::move(created.value());
  return out;
}

amazon_feed_check
amazon_worker_state::check(const std::string& feed_id,
                           const amazon::listings_feed& feed) {
  using amazon::processing_status;
  amazon_feed_check out;
  if (!ready()) {
    out.failure = unusable;
    return out;
  }
  auto info = client->get_feed(feed_id);
  if (!info) {
    out.failure = to_failure(info.error(), "getFeed");
    return out;
  }
  out.status = static_cast<uint8_t>(info->status);
  if (!info->terminal()) {
    out.ok = true;
    return out;
  }
  std::vector<amazon::sku_outcome> outcomes;
  auto& doc = info->result_feed_document_id;
  if (info->status == processing_status::done ||
      (info->status == processing_status::fatal && !doc.empty())) {
    if (doc.empty()) {
      amazon::call_error err;
      err.status = amazon::call_status::retryable;
      err.code = "NoReport";
      err.message = "the feed is DONE but names no processing report";
      out.failure = to_failure(err, "getFeed");
      return out;
    }
    auto report = client->fetch_report(doc);
    if (!report) {
      // A FATAL feed's report only explains; its messages are resubmitted
      // whether or not it can be read.
      if (info->status == processing_status::done) {
        out.failure = to_failure(report.error(), "fetching the report");
        return out;
      }
    } else {
      outcomes = amazon::classify_report(report->report, feed);
    }
  }
  out.ok = true;
  out.terminal = true;
  out.verdicts.reserve(feed.entries.size());
  if (info->status != processing_status::done) {
    // FATAL and CANCELLED feeds did nothing: every message goes again.
    for (size_t i = 0; i < feed.entries.size(); ++i) {
      amazon_verdict v;
      v.message_id = static_cast<int64_t>(i + 1);
      v.result = static_cast<uint8_t>(amazon::sku_result::not_processed);
      v.code = std::string{amazon::to_string(info->status)};
      if (i < outcomes.size() && !outcomes[i].code.empty()) {
        v.code = outcomes[i].code;
        v.message = outcomes[i].message;
      }
      out.verdicts.push_back(std::move(v));
    }
    return out;
  }
  for (auto& o : outcomes)
    out.verdicts.push_back(
        amazon_verdict{o.message_id, static_cast<uint8_t>(o.result),
                       std::move(o.code), std::move(o.message)});
  return out;
}

amazon_worker_actor::behavior_type
amazon_worker(amazon_worker_actor::stateful_pointer<amazon_worker_state> self,
              std::string shop, config_ptr conf) {
  auto& st = self->state;
  st.shop = std::move(shop);
  if (auto* found = conf->find_shop(st.shop)) st.amazon = found->amazon;
  return {
      [=](atom::submit, std::string& body) {
        return self->state.submit(std::move(body));
      },
      [=](atom::poll, const std::string& feed_id, const amazon_feed_ptr& feed) {
        if (!feed) {
          amazon_feed_check out;
          out.failure = local_failure("NoFeed", "no feed entries to check");
          return out;
        }
        return self->state.check(feed_id, *feed);
      },
      [=](atom::reload, const config_ptr& next) {
        if (auto* found = next->find_shop(self->state.shop))
          self->state.reset(found->amazon);
      },
      [=](atom::stop) {
        self->quit();
      },
  };
}

} // namespace shelfsync
