#include <iostream>

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
  std::cout << config_path << ": ok (" << loaded.value->warehouses.size()
            << " warehouses, " << loaded.value->shops.size() << " shops)\n";
  return 0;
}

} // namespace shelfsync::commands
