#include "channels/amazon/feed.hpp"

#include "net/message.hpp"

#include <charconv>
#include <utility>

namespace shelfsync::amazon {

const feed_entry* listings_feed::find(int64_t message_id) const {
  if (message_id < 1 || static_cast<uint64_t>(message_id) > entries.size())
    return nullptr;
  return &entries[static_cast<size_t>(message_id - 1)];
}

bool is_valid_utf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0;
    if ((c & 0xe0) == 0xc0) {
      len = 2;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      len = 3;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > text.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, surrogates and values beyond Unicode are not UTF-8.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
        (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += len;
  }
  return true;
}

feed_builder::feed_builder(feed_options opts) : opts_(std::move(opts)) {}

namespace {

uint32_t sku_hash(std::string_view sku) {
  return static_cast<uint32_t>(std::hash<std::string_view>{}(sku));
}

} // namespace

void feed_builder::grow() {
  std::vector<uint64_t> bigger(slots_.empty() ? 1024 : slots_.size() * 2, 0);
  auto mask = bigger.size() - 1;
  for (auto slot : slots_) {
    if (slot == 0) continue;
    auto i = (slot >> 32) & mask;
    while (bigger[i] != 0)
      i = (i + 1) & mask;
    bigger[i] = slot;
  }
  slots_.swap(bigger);
}

void feed_builder::add(std::string_view sku, int64_t quantity,
                       std::string_view product_type) {
  // Kept at most half full, so probes stay short.
  if ((updates_.size() + 1) * 2 > slots_.size()) grow();
  auto hash = sku_hash(sku);
  auto mask = slots_.size() - 1;
  for (auto i = hash & mask;; i = (i + 1) & mask) {
    auto slot = slots_[i];
    if (slot == 0) {
      slots_[i] = (uint64_t{hash} << 32) | (updates_.size() + 1);
      updates_.push_back(
          {std::string{sku}, quantity, std::string{product_type}});
      return;
    }
    if ((slot >> 32) != hash) continue;
    auto& upd = updates_[(slot & 0xffffffff) - 1];
    if (upd.sku != sku) continue;
    upd.quantity = quantity;
    upd.product_type.assign(product_type.data(), product_type.size());
    return;
  }
}

namespace {

/// Serializes messages one at a time and closes a feed when the next message
/// would break a limit.
class feed_writer {
 public:
  feed_writer(const feed_options& opts, feed_batch& out)
      : opts_(opts), out_(out) {
    prefix_ = "{\"header\":{\"sellerId\":";
    http::append_json_string(prefix_, opts.seller_id);
    prefix_ += ",\"version\":\"2.0\"";
    if (!opts.issue_locale.empty()) {
      prefix_ += ",\"issueLocale\":";
      http::append_json_string(prefix_, opts.issue_locale);
    }
    prefix_ += "},\"messages\":[";
    patch_prefix_ = ",\"patches\":[{\"op\":\"merge\",\"path\":"
                    "\"/attributes/fulfillment_availability\",\"value\":[{"
                    "\"fulfillment_channel_code\":";
    http::append_json_string(patch_prefix_, opts.fulfillment_channel_code);
    patch_prefix_ += ",\"quantity\":";
    http::append_json_string(default_type_, opts.product_type);
  }

  void write(const quantity_update& upd) {
    if (auto why = problem(upd); !why.empty()) {
      out_.rejected.push_back({upd.sku, upd.quantity, std::move(why)});
      return;
    }
    // Closing "]}" must still fit after the message.
    constexpr size_t suffix = 2;
    serialize(upd, next_id());
    size_t needed = message_.size() + 1 + suffix;
    if (current_ && (current_->entries.size() >= opts_.max_messages ||
                     current_->body.size() + needed > opts_.max_bytes)) {
      close();
      serialize(upd, next_id());
    }
    if (!current_) {
      if (prefix_.size() + message_.size() + suffix > opts_.max_bytes) {
        out_.rejected.push_back(
            {upd.sku, upd.quantity, "message larger than the feed size limit"});
        return;
      }
      open();
    }
    if (!current_->entries.empty()) current_->body += ',';
    current_->body += message_;
    current_->entries.push_back({upd.sku, upd.quantity});
  }

  void finish() {
    if (current_) close();
  }

 private:
  std::string problem(const quantity_update& upd) const {
    if (upd.sku.empty()) return "SKU is empty";
    if (!is_valid_utf8(upd.sku)) return "SKU is not valid UTF-8";
    if (upd.quantity < 0) return "quantity is negative";
    if (!is_valid_utf8(upd.product_type))
      return "product type is not valid UTF-8";
    return {};
  }

  uint32_t next_id() const {
    return current_ ? static_cast<uint32_t>(current_->entries.size() + 1) : 1;
  }

  void serialize(const quantity_update& upd, uint32_t message_id) {
    char digits[24];
    message_.clear();
    message_ += "{\"messageId\":";
    auto res = std::to_chars(digits, digits + sizeof digits, message_id);
    message_.append(digits, res.ptr);
    message_ += ",\"sku\":";
    http::append_json_string(message_, upd.sku);
    message_ += ",\"operationType\":\"PATCH\",\"productType\":";
    if (upd.product_type.empty())
      message_ += default_type_;
    else
      http::append_json_string(message_, upd.product_type);
    message_ += patch_prefix_;
    res = std::to_chars(digits, digits + sizeof digits, upd.quantity);
    message_.append(digits, res.ptr);
    message_ += "}]}]}";
  }

  void open() {
    out_.feeds.emplace_back();
    current_ = &out_.feeds.back();
    current_->body.reserve(reserve_hint_);
    current_->body = prefix_;
  }

  void close() {
    current_->body += "]}";
    reserve_hint_ = std::max(reserve_hint_, current_->body.size());
    current_ = nullptr;
  }

  const feed_options& opts_;
  feed_batch& out_;
  // The open feed, always out_.feeds.back(); null between close() and open(),
  // which is the only time a feed is emplaced (and the vector may move).
  listings_feed* current_ = nullptr;
  std::string prefix_;
  std::string patch_prefix_;
  std::string default_type_;
  std::string message_;
  size_t reserve_hint_ = 0;
};

} // namespace

feed_batch feed_builder::finish() {
  feed_batch out;
  if (opts_.max_messages == 0) opts_.max_messages = 1;
  feed_writer writer{opts_, out};
  for (const auto& upd : updates_)
    writer.write(upd);
  writer.finish();
  updates_.clear();
  slots_.clear();
  return out;
}

feed_batch build_listings_feeds(const std::vector<quantity_update>& updates,
                                const feed_options& opts) {
  feed_builder builder{opts};
  for (const auto& upd : updates)
    builder.add(upd.sku, upd.quantity, upd.product_type);
  return builder.finish();
}

} // namespace shelfsync::amazon
