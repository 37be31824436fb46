#include <iostream>

#include <CLI/CLI.hpp>

#include "api/commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{"shelfsync: durable stock events in, sellable quantities out "
               "to Shopify and Amazon"};
  app.require_subcommand(1);
  std::string config;
  std::string events;

  auto* serve = app.add_subcommand("serve", "run the engine and its HTTP API");
  serve->add_option("--config", config, "configuration file")->required();

  auto* check = app.add_subcommand(
      "check-config", "validate a configuration; print every problem with its "
                      "JSON path; exit 1 on any");
  check->add_option("--config", config, "configuration file")->required();

  auto* import = app.add_subcommand(
      "import", "bulk-load an NDJSON file of events (all or nothing)");
  import->add_option("--config", config, "configuration file")->required();
  import->add_option("EVENTS", events, "NDJSON file, one event per line")
      ->required();

  uint16_t port = 9100;
  std::string host = "127.0.0.1";
  auto* sim = app.add_subcommand(
      "sim", "local Shopify + Amazon simulators, with fault switches and "
             "inspection under /_sim/");
  sim->add_option("--port", port, "port to listen on")->required();
  sim->add_option("--host", host, "address to bind")->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 exits 0 for --help and uses its own codes otherwise; the
    // contract says 2 for usage errors.
    auto code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  if (*serve) return shelfsync::commands::serve(config);
  if (*check) return shelfsync::commands::check_config(config);
  if (*import) return shelfsync::commands::import_events(config, events);
  if (*sim) return shelfsync::commands::sim(host, port);
  return 2;
}
