#include "channels/shopify/api_version.hpp"

#include <cstdio>

namespace shelfsync::shopify {

std::optional<api_version> api_version::parse(std::string_view text) {
  if (text.size() != 7 || text[4] != '-') return std::nullopt;
  int year = 0;
  for (size_t i = 0; i < 4; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    year = year * 10 + (text[i] - '0');
  }
  auto mm = text.substr(5);
  int month = 0;
  if (mm == "01")
    month = 1;
  else if (mm == "04")
    month = 4;
  else if (mm == "07")
    month = 7;
  else if (mm == "10")
    month = 10;
  else
    return std::nullopt;
  return api_version{year, month};
}

std::string api_version::to_string() const {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04d-%02d", year, month);
  return buf;
}

} // namespace shelfsync::shopify
