#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace shelfsync::amazon {

/// Compresses `data` into the gzip format (RFC 1952).
std::string gzip_compress(std::string_view data);

/// Decompresses a gzip stream. On failure (corrupt data, or output larger
/// than `max_output` bytes) returns nullopt and, when `error` is given,
/// stores a sentence saying why.
std::optional<std::string> gzip_decompress(std::string_view data,
                                           std::string* error = nullptr,
                                           size_t max_output = 1ull << 30);

} // namespace shelfsync::amazon
