#include "cluster/jetstream.hpp"

#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <utility>

#include "cluster/nats_status.hpp"

namespace shelfsync::cluster {

namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr const char* msg_id_header = "Nats-Msg-Id";
constexpr const char* expected_subject_seq_header =
    "Nats-Expected-Last-Subject-Sequence";

/// Owns a natsMsg.
struct msg_ptr {
  natsMsg* p = nullptr;
  msg_ptr() = default;
  msg_ptr(msg_ptr&& other) noexcept : p(std::exchange(other.p, nullptr)) {}
  msg_ptr(const msg_ptr&) = delete;
  msg_ptr& operator=(const msg_ptr&) = delete;
  ~msg_ptr() { natsMsg_Destroy(p); }
};

/// Owns a jsPubAck.
struct ack_ptr {
  jsPubAck* p = nullptr;
  ~ack_ptr() { jsPubAck_Destroy(p); }
};

publish_ack to_ack(const jsPubAck& pa) {
  return publish_ack{pa.Stream != nullptr ? pa.Stream : "", pa.Sequence,
                     pa.Duplicate};
}

int64_t millis(milliseconds d) { return static_cast<int64_t>(d.count()); }

/// What one batch collects from the acknowledgement callbacks, which run on
/// a cnats thread.
struct batch_state {
  std::mutex mutex;
  std::condition_variable changed;
  std::map<std::string, size_t> index_of;
  std::vector<std::optional<publish_ack>> acks;
  std::vector<std::optional<error>> errors;
  /// Callbacks run so far; each takes one message out of cnats' pending
  /// list.
  size_t handled = 0;
  /// Messages are found by their subject (a CAS batch), not by their
  /// msg-id.
  bool by_subject = false;
};

void on_batch_ack(jsCtx*, natsMsg* msg, jsPubAck* pa, jsPubAckErr* pae,
                  void* closure) {
  auto* state = static_cast<batch_state*>(closure);
  const char* id = nullptr;
  if (state->by_subject)
    id = natsMsg_GetSubject(msg);
  else
    natsMsgHeader_Get(msg, msg_id_header, &id);
  {
    std::lock_guard<std::mutex> guard{state->mutex};
    auto i = id != nullptr ? state->index_of.find(id) : state->index_of.end();
    if (i != state->index_of.end()) {
      if (pa != nullptr)
        state->acks[i->second] = to_ack(*pa);
      else
        state->errors[i->second] = detail::from_nats(
            std::string{"publishing to "} + natsMsg_GetSubject(msg),
            pae != nullptr ? pae->Err : NATS_ERR,
            pae != nullptr ? pae->ErrCode : jsErrCode{},
            pae != nullptr && pae->ErrText != nullptr ? pae->ErrText : "");
    }
    ++state->handled;
  }
  state->changed.notify_all();
  natsMsg_Destroy(msg);
}

} // namespace

// -- connecting ---------------------------------------------------------------

outcome<std::unique_ptr<jetstream>>
jetstream::connect(const connect_options& options) {
  if (options.urls.empty())
    return error{errc::invalid, "connecting to NATS: no server URL given"};
  natsOptions* opts = nullptr;
  natsStatus s = natsOptions_Create(&opts);
  std::vector<const char*> urls;
  for (auto& url : options.urls)
    urls.push_back(url.c_str());
  if (s == NATS_OK)
    s = natsOptions_SetServers(opts, urls.data(),
                               static_cast<int>(urls.size()));
  if (s == NATS_OK && !options.token.empty())
    s = natsOptions_SetToken(opts, options.token.c_str());
  if (s == NATS_OK && !options.name.empty())
    s = natsOptions_SetName(opts, options.name.c_str());
  if (s == NATS_OK) s = natsOptions_SetTimeout(opts, millis(options.timeout));
  // Keep trying the servers for as long as the connection object lives: a
  // node outlives any one NATS server.
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, -1);
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts, 250);
  if (s != NATS_OK) {
    auto e = detail::from_nats("setting NATS connection options", s);
    natsOptions_Destroy(opts);
    return e;
  }
  natsConnection* nc = nullptr;
  s = natsConnection_Connect(&nc, opts);
  natsOptions_Destroy(opts);
  if (s != NATS_OK) {
    std::string list;
    for (auto& url : options.urls)
      list += (list.empty() ? "" : ", ") + url;
    return detail::from_nats("connecting to NATS (" + list + ")", s);
  }
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = millis(options.timeout);
  jsCtx* js = nullptr;
  s = natsConnection_JetStream(&js, nc, &jo);
  if (s != NATS_OK) {
    auto e = detail::from_nats("opening a JetStream context", s);
    natsConnection_Destroy(nc);
    return e;
  }
  return std::unique_ptr<jetstream>{new jetstream(nc, js, options.timeout)};
}

bool jetstream::connected() const {
  return natsConnection_Status(nc_) == NATS_CONN_STATUS_CONNECTED;
}

js_subscription::~js_subscription() {
  if (p == nullptr) return;
  if (js.connected()) natsSubscription_Unsubscribe(p);
  natsSubscription_Destroy(p);
}

jetstream::~jetstream() {
  jsCtx_Destroy(js_);
  natsConnection_Close(nc_);
  natsConnection_Destroy(nc_);
}

// -- streams ------------------------------------------------------------------

status jetstream::ensure_stream(const stream_spec& spec) {
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  cfg.Name = spec.name.c_str();
  std::vector<const char*> subjects;
  for (auto& subject : spec.subjects)
    subjects.push_back(subject.c_str());
  cfg.Subjects = subjects.data();
  cfg.SubjectsLen = static_cast<int>(subjects.size());
  cfg.Storage = js_FileStorage;
  cfg.Replicas = spec.replicas;
  if (spec.max_msgs_per_subject > 0)
    cfg.MaxMsgsPerSubject = spec.max_msgs_per_subject;
  if (spec.duplicate_window.count() > 0)
    cfg.Duplicates = millis(spec.duplicate_window) * 1000000;
  cfg.AllowDirect = spec.allow_direct;
  jsStreamInfo* info = nullptr;
  jsErrCode jerr{};
  natsStatus s = js_AddStream(&info, js_, &cfg, nullptr, &jerr);
  jsStreamInfo_Destroy(info);
  if (s == NATS_OK) return done{};
  if (jerr == JSStreamNameExistErr && spec.allow_direct) {
    // Made before direct gets were asked for: a stream that is the same in
    // every other respect (created again without them, it is accepted) has
    // them turned on, and nothing else changes.
    cfg.AllowDirect = false;
    jsErrCode same{};
    if (js_AddStream(&info, js_, &cfg, nullptr, &same) == NATS_OK) {
      jsStreamInfo_Destroy(info);
      info = nullptr;
      cfg.AllowDirect = true;
      s = js_UpdateStream(&info, js_, &cfg, nullptr, &jerr);
      jsStreamInfo_Destroy(info);
      if (s == NATS_OK) return done{};
    }
  }
  auto e = detail::from_nats("creating stream " + spec.name, s, jerr);
  if (jerr == JSStreamNameExistErr)
    e = error{errc::invalid,
              "stream " + spec.name +
                  " already exists with another configuration (subjects, "
                  "replicas or limits); it is never changed silently: " +
                  e.message};
  return e;
}

status jetstream::delete_stream(const std::string& name) {
  jsErrCode jerr{};
  natsStatus s = js_DeleteStream(js_, name.c_str(), nullptr, &jerr);
  if (s != NATS_OK)
    return detail::from_nats("deleting stream " + name, s, jerr);
  return done{};
}

// -- single writes and reads
// ----------------------------------------------------

outcome<publish_ack>
jetstream::publish_cas(const std::string& subject, const std::string& data,
                       uint64_t expected_last_subject_seq) {
  auto what = "publishing to " + subject + " expecting its last sequence " +
              std::to_string(expected_last_subject_seq);
  msg_ptr msg;
  natsStatus s = natsMsg_Create(&msg.p, subject.c_str(), nullptr, data.data(),
                                static_cast<int>(data.size()));
  // Set here rather than through jsPubOptions, which leaves out 0 ("the
  // subject has no message yet").
  if (s == NATS_OK)
    s = natsMsgHeader_Set(msg.p, expected_subject_seq_header,
                          std::to_string(expected_last_subject_seq).c_str());
  if (s != NATS_OK) return detail::from_nats(what, s);
  ack_ptr ack;
  jsErrCode jerr{};
  s = js_PublishMsg(&ack.p, js_, msg.p, nullptr, &jerr);
  if (s != NATS_OK) return detail::from_nats(what, s, jerr);
  return to_ack(*ack.p);
}

outcome<stored_message> jetstream::last_msg(const std::string& stream,
                                            const std::string& subject) {
  msg_ptr msg;
  jsErrCode jerr{};
  natsStatus s = js_GetLastMsg(&msg.p, js_, stream.c_str(), subject.c_str(),
                               nullptr, &jerr);
  if (s != NATS_OK)
    return detail::from_nats("reading the last message of " + subject +
                                 " in stream " + stream,
                             s, jerr);
  const char* data = natsMsg_GetData(msg.p);
  return stored_message{
      natsMsg_GetSubject(msg.p), natsMsg_GetSequence(msg.p),
      std::string(data != nullptr ? data : "",
                  static_cast<size_t>(natsMsg_GetDataLength(msg.p)))};
}

outcome<std::optional<stored_message>>
jetstream::next_msg(const std::string& stream, const std::string& subject,
                    uint64_t from) {
  jsDirectGetMsgOptions get;
  jsDirectGetMsgOptions_Init(&get);
  get.Sequence = from;
  get.NextBySubject = subject.c_str();
  msg_ptr msg;
  natsStatus s = js_DirectGetMsg(&msg.p, js_, stream.c_str(), nullptr, &get);
  if (s == NATS_NOT_FOUND) return std::optional<stored_message>{};
  if (s != NATS_OK)
    return detail::from_nats(
        "reading the next message of " + subject + " in stream " + stream, s);
  // A direct get names the message's sequence in a header.
  const char* seq = nullptr;
  if (natsMsgHeader_Get(msg.p, "Nats-Sequence", &seq) != NATS_OK ||
      seq == nullptr)
    return error{errc::failure,
                 "a direct get of " + subject + " came without its sequence"};
  const char* data = natsMsg_GetData(msg.p);
  return std::optional<stored_message>{stored_message{
      subject, std::strtoull(seq, nullptr, 10),
      std::string(data != nullptr ? data : "",
                  static_cast<size_t>(natsMsg_GetDataLength(msg.p)))}};
}

// -- batches ------------------------------------------------------------------

namespace {

/// A batch being published: its messages (built, not sent yet) and what the
/// acknowledgement callbacks collect.
struct async_batch {
  /// On the heap: see the wait for the callbacks in `publish_async`.
  std::unique_ptr<batch_state> state = std::make_unique<batch_state>();
  std::vector<msg_ptr> msgs;
  std::vector<std::string> subjects;

  /// Adds a message to `subject` with one header set.
  natsStatus add(const std::string& subject, const std::string& data,
                 const char* header, const std::string& value) {
    subjects.push_back(subject);
    auto& msg = msgs.emplace_back();
    natsStatus s = natsMsg_Create(&msg.p, subject.c_str(), nullptr, data.data(),
                                  static_cast<int>(data.size()));
    if (s == NATS_OK) s = natsMsgHeader_Set(msg.p, header, value.c_str());
    return s;
  }
};

/// Publishes every message of `batch` asynchronously on a JetStream context
/// of its own (whose pending list holds only this batch, and whose
/// MaxPending fits it whole: a publish never stalls, so none times out
/// before it is sent) and waits for every acknowledgement, at most
/// `timeout` in all. Fills the state's acks and errors; a message neither
/// acknowledged nor refused in time gets a timeout error. An error only
/// when the batch could not be run or settled.
status publish_async(natsConnection* nc, milliseconds api_timeout,
                     async_batch& batch, milliseconds timeout) {
  auto deadline = steady_clock::now() + timeout;
  auto left = [&] {
    auto d = std::chrono::duration_cast<milliseconds>(deadline -
                                                      steady_clock::now());
    return std::max<int64_t>(1, millis(d));
  };
  auto& state = *batch.state;
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = millis(api_timeout);
  jo.PublishAsync.MaxPending = static_cast<int64_t>(batch.msgs.size());
  jo.PublishAsync.AckHandler = on_batch_ack;
  jo.PublishAsync.AckHandlerClosure = batch.state.get();
  jsCtx* js = nullptr;
  natsStatus s = natsConnection_JetStream(&js, nc, &jo);
  if (s != NATS_OK)
    return detail::from_nats("opening a JetStream context for a batch", s);

  size_t submitted = 0;
  for (size_t i = 0; i < batch.msgs.size(); ++i) {
    jsPubOptions po;
    jsPubOptions_Init(&po);
    // Makes cnats report a message unacknowledged by then to the callback.
    po.MaxWait = left();
    s = js_PublishMsgAsync(js, &batch.msgs[i].p, &po);
    if (s == NATS_OK) {
      ++submitted;
    } else {
      // The library gave the message back (msgs[i].p is still set).
      std::lock_guard<std::mutex> guard{state.mutex};
      state.errors[i] =
          detail::from_nats("publishing to " + batch.subjects[i], s);
    }
  }

  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = left();
  js_PublishAsyncComplete(js, &po);
  // Whatever is still pending gets no callback any more: it failed.
  natsMsgList pending{};
  size_t still_pending = 0;
  if (js_PublishAsyncGetPendingList(&pending, js) == NATS_OK) {
    std::lock_guard<std::mutex> guard{state.mutex};
    for (int k = 0; k < pending.Count; ++k) {
      ++still_pending;
      const char* id = nullptr;
      if (state.by_subject)
        id = natsMsg_GetSubject(pending.Msgs[k]);
      else
        natsMsgHeader_Get(pending.Msgs[k], msg_id_header, &id);
      auto i = id != nullptr ? state.index_of.find(id) : state.index_of.end();
      if (i != state.index_of.end() && !state.acks[i->second])
        state.errors[i->second] =
            error{errc::timeout, "publishing to " + batch.subjects[i->second] +
                                     ": no acknowledgement within " +
                                     std::to_string(timeout.count()) + " ms"};
    }
    natsMsgList_Destroy(&pending);
  }
  {
    // A callback may still be running on a cnats thread: `state` must
    // outlive it. Each submitted message either got its callback or was in
    // the pending list; should that ever not add up, the state is left
    // allocated rather than freed under a late callback.
    std::unique_lock<std::mutex> lock{state.mutex};
    bool settled =
        state.changed.wait_for(lock, api_timeout + milliseconds{5000}, [&] {
          return state.handled + still_pending >= submitted;
        });
    if (!settled) {
      auto missing = submitted - still_pending - state.handled;
      lock.unlock();
      batch.state.release();
      return error{errc::failure,
                   "publishing a batch: acknowledgements of " +
                       std::to_string(missing) +
                       " messages never came back nor timed out"};
    }
  }
  jsCtx_Destroy(js);
  for (size_t i = 0; i < batch.msgs.size(); ++i)
    if (!state.acks[i] && !state.errors[i])
      state.errors[i] =
          error{errc::timeout,
                "publishing to " + batch.subjects[i] + ": no acknowledgement"};
  return done{};
}

} // namespace

outcome<std::vector<publish_ack>>
jetstream::publish_batch(const std::vector<outgoing_message>& messages,
                         std::chrono::milliseconds timeout) {
  if (messages.empty()) return std::vector<publish_ack>{};
  async_batch batch;
  auto& state = *batch.state;
  state.acks.resize(messages.size());
  state.errors.resize(messages.size());
  for (size_t i = 0; i < messages.size(); ++i) {
    auto& id = messages[i].msg_id;
    if (id.empty() || !state.index_of.emplace(id, i).second)
      return error{
          errc::invalid,
          "publishing a batch: message " + std::to_string(i) +
              (id.empty() ? " has no msg-id" : " repeats the msg-id " + id)};
  }
  for (size_t i = 0; i < messages.size(); ++i) {
    auto& m = messages[i];
    natsStatus s = batch.add(m.subject, m.data, msg_id_header, m.msg_id);
    if (s != NATS_OK) return detail::from_nats("publishing to " + m.subject, s);
  }
  if (auto ran = publish_async(nc_, timeout_, batch, timeout); !ran)
    return ran.err();

  std::vector<publish_ack> acks;
  size_t failed = 0;
  std::string first;
  for (size_t i = 0; i < messages.size(); ++i) {
    if (state.acks[i]) {
      acks.push_back(*state.acks[i]);
      continue;
    }
    if (failed++ == 0) first = state.errors[i]->message;
  }
  if (failed == 0) return acks;
  // The first failure's kind stands for the batch: a caller retries the
  // whole batch with the same msg-ids either way.
  errc code = errc::failure;
  for (auto& e : state.errors)
    if (e) {
      code = e->code;
      break;
    }
  return error{
      code, std::to_string(failed) + " of " + std::to_string(messages.size()) +
                " messages of the batch were not stored; first: " + first};
}

std::vector<outcome<publish_ack>>
jetstream::publish_cas_batch(const std::vector<cas_message>& messages,
                             std::chrono::milliseconds timeout) {
  std::vector<outcome<publish_ack>> out;
  if (messages.empty()) return out;
  auto all = [&](const error& e) {
    out.assign(messages.size(), outcome<publish_ack>{e});
    return out;
  };
  async_batch batch;
  auto& state = *batch.state;
  state.by_subject = true;
  state.acks.resize(messages.size());
  state.errors.resize(messages.size());
  for (size_t i = 0; i < messages.size(); ++i) {
    auto& m = messages[i];
    if (!state.index_of.emplace(m.subject, i).second)
      return all(error{errc::invalid, "publishing a CAS batch: message " +
                                          std::to_string(i) +
                                          " repeats the subject " + m.subject});
    // The header is set here rather than through jsPubOptions, which leaves
    // out 0 ("the subject has no message yet").
    natsStatus s = batch.add(m.subject, m.data, expected_subject_seq_header,
                             std::to_string(m.expected_last_subject_seq));
    if (s != NATS_OK)
      return all(detail::from_nats("publishing to " + m.subject, s));
  }
  if (auto ran = publish_async(nc_, timeout_, batch, timeout); !ran)
    return all(ran.err());
  for (size_t i = 0; i < messages.size(); ++i) {
    if (state.acks[i])
      out.emplace_back(*state.acks[i]);
    else
      out.emplace_back(*state.errors[i]);
  }
  return out;
}

} // namespace shelfsync::cluster
