#include <iostream>
#include <string>

#include "api/commands.hpp"
#include "config/config.hpp"

namespace shelfsync::commands {

int check_config(const std::string& config_path) {
  auto loaded = load_config(config_path);
  if (!loaded) {
    for (auto& p : loaded.problems)
      std::cerr << config_path << ": " << to_string(p) << '\n';
    return 1;
  }
  // A variable that is not set here would stop serve (api.token_env) or
  // keep a shop from its channel: that is a failed check too. Only names
  // are printed.
  auto unset = unset_variables(*loaded.value);
  for (auto& u : unset)
    std::cerr << config_path << ": " << u.path
              << ": names the environment variable " << u.name
              << ", which is not set (or empty); " << u.effect << '\n';
  if (!unset.empty()) return 1;
  std::cout << config_path << ": ok (" << loaded.value->warehouses.size()
            << " warehouses, " << loaded.value->shops.size() << " shops)\n";
  return 0;
}

} // namespace shelfsync::commands
