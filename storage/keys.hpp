#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "storage/codec.hpp"

/// The key layout of the store. One prefix byte per kind of record; parts
/// are separated by a NUL byte, which product codes and shop ids never hold.
namespace shelfsync::keys {

constexpr char log = 'L';      ///< L seq(8, big-endian) -> stock_event
constexpr char event_id = 'I'; ///< I id -> seq
constexpr char product = 'P';  ///< P code -> product_record
constexpr char outbox = 'O';   ///< O shop NUL code -> view_change
constexpr char delivery = 'D'; ///< D shop NUL code -> delivery_record
constexpr char memo = 'C';     ///< C shop NUL key -> channel-defined bytes
constexpr char by_product = 'X'; ///< X code NUL seq(8) -> "" (log index)
constexpr char snapshot = 'S';   ///< S code -> product_record at snapshot_seq
/// F shop NUL state code -> "" (the delivery records with a location failed
/// (state 'f') or in flight ('i'), written with the record)
constexpr char flagged = 'F';
/// N shop NUL id(8, big-endian) -> how many changes outbox segment `id`
/// holds (8 bytes, big-endian): a restart counts what stays on disk
/// without reading the segments.
constexpr char segment_count = 'N';
constexpr std::string_view checkpoint = "Mcheckpoint";
constexpr std::string_view next_segment = "Mnext_segment";
/// The seq up to which retention dropped the log; `S` records hold the
/// stock as of it. Absent = nothing dropped.
constexpr std::string_view snapshot_seq = "Msnapshot_seq";
/// The first seq with a `X` entry (stores older than the index lack them
/// below it). Absent = no entry at all.
constexpr std::string_view indexed_from = "Mindexed_from";
/// Present once every delivery record has its `F` entries (a store from
/// before that index gets them at its first start).
constexpr std::string_view flagged_built = "Mflagged_built";
/// Present once every outbox segment has its count key (see segment_count).
constexpr std::string_view segment_counts = "Msegment_counts";

inline std::string make(char kind, std::string_view a) {
  std::string k;
  k.reserve(1 + a.size());
  k.push_back(kind);
  k.append(a);
  return k;
}

inline std::string make(char kind, std::string_view a, std::string_view b) {
  auto k = make(kind, a);
  k.push_back('\0');
  k.append(b);
  return k;
}

inline std::string log_key(uint64_t seq) {
  std::string k(1, log);
  codec::append_big_endian(k, seq);
  return k;
}

/// The per-product index entry of event `seq` of product `code`.
inline std::string product_log_key(std::string_view code, uint64_t seq) {
  auto k = make(by_product, code);
  k.push_back('\0');
  codec::append_big_endian(k, seq);
  return k;
}

/// The `F` entry listing product `code` of `shop` under `state` ('f', 'i').
inline std::string flagged_key(std::string_view shop, char state,
                               std::string_view code) {
  auto k = make(flagged, shop);
  k.push_back('\0');
  k.push_back(state);
  k.append(code);
  return k;
}

inline std::string segment_key(std::string_view shop, uint64_t id) {
  auto k = make(outbox, shop);
  k.push_back('\0');
  codec::append_big_endian(k, id);
  return k;
}

inline std::string segment_count_key(std::string_view shop, uint64_t id) {
  auto k = make(segment_count, shop);
  k.push_back('\0');
  codec::append_big_endian(k, id);
  return k;
}

} // namespace shelfsync::keys
