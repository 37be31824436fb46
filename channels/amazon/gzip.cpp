#include "channels/amazon/gzip.hpp"

#include <stdexcept>

#include <zlib.h>

namespace shelfsync::amazon {

namespace {

// windowBits 15 plus 16 selects the gzip wrapper instead of zlib's.
constexpr int gzip_window_bits = 15 + 16;

} // namespace

std::string gzip_compress(std::string_view data) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, gzip_window_bits, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("zlib: deflateInit2 failed");
  std::string out;
  out.resize(deflateBound(&zs, static_cast<uLong>(data.size())) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END)
    throw std::runtime_error("zlib: deflate did not finish");
  return out;
}

std::optional<std::string>
gzip_decompress(std::string_view data, std::string* error, size_t max_output) {
  auto fail = [&](std::string why) -> std::optional<std::string> {
    if (error) *error = "gzip: " + std::move(why);
    return std::nullopt;
  };
  z_stream zs{};
  if (inflateInit2(&zs, gzip_window_bits) != Z_OK)
    return fail("inflateInit2 failed");
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char chunk[64 * 1024];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(chunk);
    zs.avail_out = sizeof chunk;
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      std::string why = zs.msg ? zs.msg : "corrupt or truncated data";
      inflateEnd(&zs);
      return fail(why);
    }
    out.append(chunk, sizeof chunk - zs.avail_out);
    if (out.size() > max_output) {
      inflateEnd(&zs);
      return fail("output exceeds " + std::to_string(max_output) + " bytes");
    }
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) {
      inflateEnd(&zs);
      return fail("truncated data");
    }
  }
  inflateEnd(&zs);
  return out;
}

} // namespace shelfsync::amazon
