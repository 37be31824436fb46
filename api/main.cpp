#include <algorithm>
#include <iostream>

#include <CLI/CLI.hpp>

#include "actors/engine.hpp"
#include "api/commands.hpp"
#include "api/version.hpp"

int main(int argc, char** argv) {
  shelfsync::keep_freed_memory();
  CLI::App app{"shelfsync: durable stock events in, sellable quantities out "
               "to Shopify and Amazon"};
  app.require_subcommand(1);
  app.set_version_flag("--version",
                       std::string{"shelfsync "} + shelfsync::version(),
                       "print the version and exit");
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

  // -- offline commands, on a stopped server's data dir --------------------
  uint64_t from = 0;
  uint64_t to = 0;
  std::string product;
  std::string shop;
  auto* replay = app.add_subcommand(
      "replay", "rebuild stock and views from the log into a fresh state and "
                "list every difference from the live state");
  replay->footer(
      "The store is opened read-only and never written; it must not be in use "
      "by a running server. The live state is taken after the engine's own "
      "recovery (stored records plus the log tail after the checkpoint); "
      "views are computed under the given config.\n"
      "Exit codes: 0 replayed state equals the live state, 3 differences "
      "(each on stdout, then a count), 1 config or storage error, 2 usage.\n"
      "Clustered mode (node.cluster): rebuilds every product's stock from "
      "the cluster's log (the events stream on NATS), each slot up to its "
      "checkpoint, and compares it with the state the cluster stores; it may "
      "run while the cluster serves (products applied meanwhile are counted, "
      "not compared); --from and --to do not apply.");
  replay->add_option("--config", config, "configuration file")->required();
  replay->add_option("--from", from,
                     "report only products touched by an event with seq >= "
                     "SEQ (their state is still rebuilt from the start)");
  replay->add_option("--to", to,
                     "replay the log up to seq SEQ (default: its end); "
                     "products changed after SEQ are left out of the report");
  auto* log = app.add_subcommand(
      "log", "a product's events, each with the stock after it and whether it "
             "was ignored as stale, then each shop's last push (full log scan; "
             "server stopped). Clustered mode: the product's events from the "
             "cluster's log, then the state the cluster stores (the cluster "
             "may be serving)");
  log->add_option("--config", config, "configuration file")->required();
  log->add_option("--product", product, "product code")->required();
  auto* explain = app.add_subcommand(
      "explain", "how each number a shop holds for a product was derived "
                 "(server stopped; the API: GET "
                 "/v1/products/{code}/explain?shop=ID)");
  explain->add_option("--config", config, "configuration file")->required();
  explain->add_option("--product", product, "product code")->required();
  explain->add_option("--shop", shop, "shop id")->required();

  size_t top = 10;
  bool as_json = false;
  auto* preview = app.add_subcommand(
      "preview", "what a new config would change: per shop, the numbers "
                 "that go up or down, the largest changes, the locations "
                 "zeroed or activated; nothing is sent or stored (server "
                 "stopped; the API: POST /v1/config/preview)");
  preview->add_option("--config", config, "the new configuration file")
      ->required();
  preview->add_option("--top", top, "largest changes listed per shop")
      ->capture_default_str();
  preview->add_flag("--json", as_json, "print the report as JSON");
  preview->footer(
      "Reads the store of the new config's node.data_dir: each product "
      "record holds what every shop is told under the config the server "
      "last ran with, so the old config file is not needed. The new config "
      "gets the same checks as check-config.\n"
      "Exit codes: 0 report printed, 1 config or storage error, 2 usage.");

  uint16_t port = 9100;
  std::string host = "127.0.0.1";
  auto* sim = app.add_subcommand(
      "sim", "local Shopify + Amazon simulators, with fault switches and "
             "inspection under /_sim/");
  sim->add_option("--port", port, "port to listen on")->required();
  sim->add_option("--host", host, "address to bind")->capture_default_str();

  auto* version = app.add_subcommand("version", "print the version");

  std::string backup_dir;
  auto* backup = app.add_subcommand(
      "backup", "copy the store into DIR as a consistent RocksDB checkpoint, "
                "also while a server runs on it");
  backup->footer("With the server stopped, the store is opened and copied "
                 "directly. While a server runs on it, the running server "
                 "writes the checkpoint (POST /v1/backup, with the API token "
                 "from api.token_env), so DIR must be a path that server can "
                 "write. DIR must not exist yet. Start a copy with "
                 "node.data_dir set to DIR.");
  backup->add_option("--config", config, "configuration file")->required();
  backup->add_option("DIR", backup_dir, "new directory for the copy")
      ->required();

  // CLI11 says only "A subcommand is required" for a misspelt one.
  auto all = app.get_subcommands([](CLI::App*) {
    return true;
  });
  if (argc > 1 && argv[1][0] != '-' &&
      std::none_of(all.begin(), all.end(), [&](CLI::App* sub) {
        return sub->check_name(argv[1]);
      })) {
    std::string known;
    for (auto* sub : all)
      known += (known.empty() ? "" : ", ") + sub->get_name();
    std::cerr << "shelfsync: unknown command \"" << argv[1]
              << "\"; the commands are " << known
              << " (shelfsync --help tells more)\n";
    return 2;
  }

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
  if (*replay) return shelfsync::commands::replay(config, from, to);
  if (*log) return shelfsync::commands::product_log(config, product);
  if (*explain) return shelfsync::commands::explain(config, product, shop);
  if (*preview) return shelfsync::commands::preview(config, top, as_json);
  if (*sim) return shelfsync::commands::sim(host, port);
  if (*version) {
    std::cout << "shelfsync " << shelfsync::version() << '\n';
    return 0;
  }
  if (*backup) return shelfsync::commands::backup(config, backup_dir);
  return 2;
}
