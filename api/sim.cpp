#include <csignal>
#include <iostream>

#include "actors/log.hpp"
#include "api/commands.hpp"
#include "simulators/amazon/simulator.hpp"
#include "net/server.hpp"
#include "simulators/shopify/simulator.hpp"

namespace shelfsync::commands {

int sim(const std::string& host, uint16_t port) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // Both simulators share one server: each answers the paths it owns.
  shopify::simulator shopify_sim;
  amazon::simulator amazon_sim{amazon::simulator_config{}};
  http::server_options opts;
  opts.host = host;
  opts.port = port;
  http::server server{
      opts, [&](http::request&& req, http::responder r) {
        if (req.target() == "/_sim/health") {
          r.send(http::make_json_response(http::status::ok,
                                          "{\"status\":\"ok\"}"));
          return;
        }
        if (shopify_sim.handle(req, r) || amazon_sim.handle(req, r)) return;
        r.send(http::make_json_error(http::status::not_found,
                                     "the simulators have no resource " +
                                         std::string{req.target()}));
      }};
  try {
    auto bound = server.start();
    log_line(log_level::info, "sim",
             "Shopify and Amazon simulators on http://" + host + ":" +
                 std::to_string(bound) +
                 " (seed with POST /_sim/shopify/{shop}/seed and "
                 "POST /_sim/amazon/sellers)");
  } catch (const std::exception& e) {
    std::cerr << "shelfsync: " << e.what() << '\n';
    return 1;
  }
  int sig = 0;
  sigwait(&signals, &sig);
  server.stop();
  return 0;
}

} // namespace shelfsync::commands
