#pragma once

namespace shelfsync {

/// The version of this build, from the project version in CMakeLists.txt
/// (e.g. "0.1.0"), shown by `shelfsync --version` and in
/// shelfsync_build_info.
const char* version();

} // namespace shelfsync
