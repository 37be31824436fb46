#include <atomic>
#include <csignal>
#include <iostream>
#include <mutex>
#include <optional>

#include "actors/engine.hpp"
#include "actors/log.hpp"
#include "api/commands.hpp"
#include "api/error_text.hpp"
#include "api/http_api.hpp"
#include "cluster/membership.hpp"
#include "cluster/node.hpp"
#include "cluster/shop_drivers.hpp"
#include "net/server.hpp"

namespace shelfsync::commands {

namespace {

/// Logs one line per shop that lacks a credential: it is kept from its
/// channel (its changes wait in its outbox) while the other shops run.
void log_shop_problems(const config& conf) {
  auto unset = unset_variables(conf);
  for (auto& shop : conf.shops)
    if (auto problem = shop_problem(unset, shop.id); !problem.empty())
      log_line(log_level::error, "serve",
               "shop \"" + shop.id + "\" is not started: " + problem +
                   "; the other shops run");
}

/// Joins the cluster `c` describes: connects to NATS, creates the streams
/// and the lease bucket when absent, starts taking slots.
cluster::outcome<std::unique_ptr<cluster::node>>
start_cluster_node(const config& conf) {
  auto& c = *conf.node.cluster;
  cluster::node_options o;
  o.node_id = c.node_id;
  // Config agreement: the digest of what every node must read alike.
  o.config_digest = cluster::config_digest(conf.shared_json);
  auto& host = conf.node.listen_host;
  o.address = (host.find(':') == std::string::npos ? host : "[" + host + "]") +
              ":" + std::to_string(conf.node.listen_port);
  for (auto& shop : conf.shops)
    o.shop_ids.push_back(shop.id);
  o.connect.urls = c.nats;
  if (!c.token_env.empty()) {
    auto token = read_secret(c.token_env);
    if (!token)
      return cluster::error{cluster::errc::invalid,
                            "environment variable " + c.token_env +
                                " (named by node.cluster.token_env) is not "
                                "set; it holds the NATS token"};
    o.connect.token = std::move(*token);
  }
  o.slots = c.slots;
  o.replicas = static_cast<int>(c.replicas);
  // Renewed 6 times per TTL; writing stops a third of the TTL before the
  // lease can expire (6 s: every 1 s, margin 2 s).
  o.lease_ttl = c.lease_ttl;
  o.lease_margin =
      std::chrono::duration_cast<std::chrono::milliseconds>(c.lease_ttl) / 3;
  o.renew_every =
      std::chrono::duration_cast<std::chrono::milliseconds>(c.lease_ttl) / 6;
  o.apply_yield = c.apply_yield;
  o.log = [](const std::string& line) {
    log_line(log_level::info, "cluster", line);
  };
  log_line(log_level::info, "cluster",
           "node " + c.node_id + " joining the cluster (" +
               std::to_string(c.slots) + " slots, " +
               std::to_string(c.replicas) + " replicas, config digest " +
               o.config_digest + ")");
  return cluster::node::start(std::move(o));
}

void print_problems(const std::string& path,
                    const std::vector<config_problem>& problems) {
  for (auto& p : problems)
    std::cerr << path << ": " << to_string(p) << '\n';
}

} // namespace

int serve(const std::string& config_path) {
  auto loaded = load_config(config_path);
  if (!loaded) {
    print_problems(config_path, loaded.problems);
    return 1;
  }
  auto conf = loaded.value;
  apply_log_settings(conf->node.log_level, conf->node.log_format);
  auto token = read_secret(conf->api.token_env);
  if (!token) {
    std::cerr << "shelfsync: environment variable " << conf->api.token_env
              << " (named by api.token_env) is not set; it holds the API "
                 "bearer token\n";
    return 1;
  }
  // Signals are taken by sigwait below; block them before threads start so
  // that every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGHUP);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // A store another process holds is named before the listener is tried
  // (the same port would otherwise be the first thing refused).
  if (auto err = store::check_not_in_use(conf->node.data_dir)) {
    std::cerr << "shelfsync: " << error_text(err) << '\n';
    return 1;
  }
  http::server_options opts;
  opts.host = conf->node.listen_host;
  opts.port = conf->node.listen_port;
  opts.max_body_bytes = conf->node.max_body_bytes;
  opts.read_timeout = std::chrono::seconds{conf->node.read_timeout_seconds};
  opts.idle_timeout = std::chrono::seconds{conf->node.idle_timeout_seconds};
  opts.stop_timeout = std::chrono::seconds{conf->node.shutdown_seconds};
  // The listener opens before the engine starts, so that a long replay of
  // the log tail shows as "not ready" (and /healthz answers) rather than as
  // a refused connection; until the engine is up every other request gets
  // 503, and no event is taken before the replayed ones.
  starting_api starting{*token, "opening the store"};
  std::unique_ptr<http_api> api;
  std::atomic<http_api*> live{nullptr};
  http::server server{
      opts, [&starting, &live](http::request&& req, http::responder r) {
        if (auto* a = live.load(std::memory_order_acquire))
          a->handle(std::move(req), std::move(r));
        else
          starting.handle(std::move(req), std::move(r));
      }};
  try {
    auto port = server.start();
    log_line(log_level::info, "serve",
             "listening on " + opts.host + ":" + std::to_string(port));
  } catch (const std::exception& e) {
    std::cerr << "shelfsync: " << e.what() << '\n';
    return 1;
  }
  engine_options eopts;
  eopts.replay_progress = [&starting](uint64_t replayed, uint64_t total) {
    starting.set_reason("replaying the event log: " + std::to_string(replayed) +
                        " of " + std::to_string(total) + " events");
  };
  // Clustered mode: the cluster's shop drivers push to the shops (from the
  // node owning each shop's slot); the local shop actors only keep their
  // outboxes, so that a store from single-node days can never have a second
  // node pushing to the same shop.
  if (conf->node.cluster) eopts.deliver = false;
  auto eng = engine::start(conf, std::move(eopts));
  if (!eng) {
    server.stop();
    std::cerr << "shelfsync: cannot start: " << error_text(eng.error()) << '\n';
    return 1;
  }
  log_shop_problems(*conf);
  // Clustered mode: ingests, product reads and the shops go through the
  // cluster; the local engine keeps the rest.
  std::unique_ptr<cluster::node> cluster_node;
  std::unique_ptr<cluster::shop_drivers> cluster_shops;
  if (conf->node.cluster) {
    auto started = start_cluster_node(*conf);
    if (!started) {
      server.stop();
      std::cerr << "shelfsync: cannot join the cluster: "
                << started.err().message << '\n';
      return 1;
    }
    cluster_node = std::move(*started);
    cluster::shop_drivers_options so;
    so.log = [](const std::string& line) {
      log_line(log_level::info, "cluster", line);
    };
    cluster_shops =
        std::make_unique<cluster::shop_drivers>(*cluster_node, conf, so);
  }
  metrics counters;
  // Reloads come from HTTP threads and from SIGHUP: one at a time.
  std::mutex reload_mutex;
  auto current = conf;
  auto reload = [&]() -> std::vector<config_problem> {
    std::lock_guard<std::mutex> guard{reload_mutex};
    auto next = load_config(config_path);
    if (!next) {
      log_line(log_level::error, "config",
               "reload refused, the old config stays in force");
      return next.problems;
    }
    // A new api.token_env takes effect with the reload: the new variable
    // is read now, and when it is not set the reload is refused (the old
    // token stays; answering 200 and keeping it would be a silent no).
    std::optional<std::string> next_token;
    auto& token_env = next.value->api.token_env;
    if (token_env != current->api.token_env) {
      next_token = read_secret(token_env);
      if (!next_token) {
        log_line(log_level::error, "config",
                 "reload refused, the old config stays in force: "
                 "api.token_env names " +
                     token_env + ", which is not set");
        return {{"$.api.token_env",
                 "names the environment variable " + token_env +
                     ", which is not set (or empty) in shelfsync's "
                     "environment; the old config and API token stay in "
                     "force"}};
      }
    }
    if (next.value->node.data_dir != conf->node.data_dir ||
        next.value->node.listen_port != conf->node.listen_port ||
        next.value->node.listen_host != conf->node.listen_host)
      log_line(log_level::warning, "config",
               "node settings take effect only after a restart");
    (*eng)->reload(next.value);
    if (cluster_shops) cluster_shops->reload(next.value);
    apply_log_settings(next.value->node.log_level, next.value->node.log_format);
    if (next_token) {
      api->set_token(std::move(*next_token));
      log_line(log_level::info, "config",
               "the API bearer token is now read from " + token_env);
    }
    current = next.value;
    log_line(log_level::info, "config", "reloaded " + config_path);
    log_shop_problems(*next.value);
    return {};
  };
  api = std::make_unique<http_api>(**eng, counters, *token, reload);
  api->set_cluster(cluster_node.get());
  api->set_cluster_shops(cluster_shops.get());
  live.store(api.get(), std::memory_order_release);
  log_line(log_level::info, "serve", "ready");
  for (;;) {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig == SIGHUP) {
      auto problems = reload();
      for (auto& p : problems)
        log_line(log_level::error, "config", to_string(p));
      continue;
    }
    log_line(log_level::info, "serve",
             std::string{"shutting down on "} +
                 (sig == SIGTERM ? "SIGTERM" : "SIGINT") +
                 ": answering requests in progress");
    break;
  }
  // Stop taking requests and answer those in progress (for up to
  // node.shutdown_seconds), then apply and commit everything accepted, so
  // that a restart finds its derived state complete and replays nothing.
  // Channel requests in flight finish as the shop workers stop; what they
  // did not confirm stays in the outbox and goes out after the restart.
  server.stop();
  api.reset(); // ends a config preview still reading the store
  // Hands this node's slots and shops to the others at once (drivers
  // stopped, leases released). The node stops renewing meanwhile: with
  // NATS unreachable both wait out a request timeout, side by side.
  if (cluster_node) cluster_node->begin_stopping();
  cluster_shops.reset();
  cluster_node.reset();
  auto committed = (*eng)->sync();
  // Committed derived state skips the WAL: only once the store has written
  // it out is there nothing to replay.
  auto closed = (*eng)->close();
  eng->reset();
  if (!committed) {
    log_line(log_level::error, "serve",
             "stopped, but derived state could not be committed (the log "
             "is replayed on restart): " +
                 to_string(committed.error()));
    return 1;
  }
  if (closed) {
    log_line(log_level::error, "serve",
             "stopped, but derived state committed up to seq " +
                 std::to_string(*committed) +
                 " could not be written out; the next start replays the log "
                 "from its last durable checkpoint: " +
                 to_string(closed));
    return 1;
  }
  log_line(log_level::info, "serve",
           "stopped cleanly: everything accepted is committed up to seq " +
               std::to_string(*committed) + ", nothing to replay");
  return 0;
}

} // namespace shelfsync::commands
