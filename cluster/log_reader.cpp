#include "cluster/log_reader.hpp"

#include <memory>

#include <nats/nats.h>

#include "cluster/event_log.hpp"
#include "cluster/nats_status.hpp"

namespace shelfsync::cluster {

status read_slot_log(jetstream& js, uint32_t slot, uint64_t after,
                     uint64_t up_to,
                     const std::function<bool(log_message&)>& each) {
  if (up_to == 0) {
    auto last = last_event_seq(js, slot);
    if (!last) return last.err();
    up_to = *last;
  }
  if (up_to <= after) return done{};
  auto subject = events_subject(slot);
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Ordered = true;
  so.Stream = events_stream.c_str();
  so.Config.DeliverPolicy = js_DeliverByStartSequence;
  so.Config.OptStartSeq = after + 1;
  natsSubscription* raw_sub = nullptr;
  jsErrCode jerr{};
  natsStatus s = js_SubscribeSync(&raw_sub, js.context(), subject.c_str(),
                                  nullptr, &so, &jerr);
  if (s != NATS_OK) return detail::from_nats("reading " + subject, s, jerr);
  std::unique_ptr<natsSubscription, void (*)(natsSubscription*)> sub{
      raw_sub, [](natsSubscription* p) {
        natsSubscription_Unsubscribe(p);
        natsSubscription_Destroy(p);
      }};
  auto limit = js.timeout().count();
  for (;;) {
    natsMsg* raw = nullptr;
    s = natsSubscription_NextMsg(&raw, sub.get(), limit);
    if (s != NATS_OK)
      return detail::from_nats(
          "reading " + subject + " after sequence " + std::to_string(after), s);
    std::unique_ptr<natsMsg, void (*)(natsMsg*)> msg{raw, natsMsg_Destroy};
    jsMsgMetaData* meta = nullptr;
    if (natsMsg_GetMetaData(&meta, msg.get()) != NATS_OK) continue;
    log_message m;
    m.seq = meta->Sequence.Stream;
    m.stored_ns = meta->Timestamp;
    m.pending = meta->NumPending;
    jsMsgMetaData_Destroy(meta);
    if (m.seq <= after) continue;
    if (m.seq > up_to) return done{};
    std::string data(natsMsg_GetData(msg.get()),
                     static_cast<size_t>(natsMsg_GetDataLength(msg.get())));
    auto events = decode_events(data);
    if (!events)
      return error{errc::invalid, "message " + std::to_string(m.seq) + " of " +
                                      subject + ": " + events.err().message};
    m.events = std::move(*events);
    if (!each(m) || m.seq >= up_to) return done{};
  }
}

outcome<slot_lag> measure_lag(jetstream& js, uint32_t slot,
                              uint64_t applied_seq, uint64_t last_seq,
                              uint64_t max_messages) {
  slot_lag lag;
  if (last_seq <= applied_seq) return lag;
  uint64_t read = 0;
  auto r = read_slot_log(js, slot, applied_seq, last_seq, [&](log_message& m) {
    if (read == 0) lag.messages = m.pending + 1;
    lag.events += m.events.size();
    if (++read >= max_messages && m.seq < last_seq) {
      lag.capped = true;
      return false;
    }
    return true;
  });
  if (!r) return r.err();
  return lag;
}

} // namespace shelfsync::cluster
