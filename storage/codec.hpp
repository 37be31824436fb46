#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace shelfsync::codec {

/// Appends compact binary fields to a string: varints, zigzag integers and
/// length-prefixed strings. Used for every record shelfsync stores.
class writer {
 public:
  explicit writer(std::string& out) : out_(out) {}

  /// Appends an unsigned LEB128 varint.
  void u64(uint64_t x);

  /// Appends a signed integer, zigzag-encoded.
  void i64(int64_t x) { u64((static_cast<uint64_t>(x) << 1) ^ (x >> 63)); }

  /// Appends a length-prefixed string.
  void str(std::string_view x);

 private:
  std::string& out_;
};

/// Reads what `writer` wrote. Every read fails soft: once a read runs past
/// the end or finds a malformed varint, `ok()` turns false and stays false.
class reader {
 public:
  explicit reader(std::string_view in) : in_(in) {}

  /// Reads an unsigned varint.
  uint64_t u64();

  /// Reads a zigzag integer.
  int64_t i64() {
    auto x = u64();
    return static_cast<int64_t>((x >> 1) ^ (~(x & 1) + 1));
  }

  /// Reads a length-prefixed string.
  std::string str();

  /// Returns whether every read so far succeeded.
  bool ok() const { return ok_; }

  /// Returns whether every byte has been read.
  bool done() const { return pos_ == in_.size(); }

 private:
  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

/// Appends `x` as 8 big-endian bytes, so that keys sort numerically.
void append_big_endian(std::string& out, uint64_t x);

/// Reads 8 big-endian bytes from the start of `in` (which must hold them).
uint64_t read_big_endian(std::string_view in);

} // namespace shelfsync::codec
