#include "storage/error.hpp"

namespace shelfsync {

const char* to_string(ec x) {
  switch (x) {
  case ec::none:
    return "none";
  case ec::storage_failure:
    return "storage_failure";
  case ec::corrupt_record:
    return "corrupt_record";
  case ec::invalid_input:
    return "invalid_input";
  case ec::invalid_config:
    return "invalid_config";
  case ec::not_found:
    return "not_found";
  case ec::shutting_down:
    return "shutting_down";
  case ec::conflict:
    return "conflict";
  }
  return "unknown";
}

} // namespace shelfsync
