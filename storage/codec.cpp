#include "storage/codec.hpp"

namespace shelfsync::codec {

void writer::u64(uint64_t x) {
  if (x < 0x80) {
    out_.push_back(static_cast<char>(x));
    return;
  }
  // Encoded aside, then appended at once (one capacity check, not one per
  // byte).
  char buf[10];
  size_t n = 0;
  while (x >= 0x80) {
    buf[n++] = static_cast<char>((x & 0x7f) | 0x80);
    x >>= 7;
  }
  buf[n++] = static_cast<char>(x);
  out_.append(buf, n);
}

void writer::str(std::string_view x) {
  u64(x.size());
  out_.append(x.data(), x.size());
}

uint64_t reader::u64() {
  uint64_t result = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (pos_ >= in_.size()) {
      ok_ = false;
      return 0;
    }
    auto byte = static_cast<uint8_t>(in_[pos_++]);
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return result;
  }
  ok_ = false;
  return 0;
}

std::string reader::str() {
  auto size = u64();
  if (!ok_ || size > in_.size() - pos_) {
    ok_ = false;
    return {};
  }
  std::string result{in_.substr(pos_, size)};
  pos_ += size;
  return result;
}

void append_big_endian(std::string& out, uint64_t x) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((x >> shift) & 0xff));
}

uint64_t read_big_endian(std::string_view in) {
  uint64_t result = 0;
  for (size_t i = 0; i < 8; ++i)
    result = (result << 8) | static_cast<uint8_t>(in[i]);
  return result;
}

} // namespace shelfsync::codec
