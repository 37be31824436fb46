#include "api/version.hpp"

namespace shelfsync {

const char* version() { return SHELFSYNC_VERSION; }

} // namespace shelfsync
