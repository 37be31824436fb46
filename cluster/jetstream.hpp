#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nats/nats.h>

#include "cluster/error.hpp"

namespace shelfsync::cluster {

/// How to reach the NATS servers.
struct connect_options {
  /// Server URLs (`node.cluster.nats`); the client fails over between them.
  std::vector<std::string> urls;
  /// The token, read from `node.cluster.token_env`; empty for none. Never
  /// logged or put in an error message.
  std::string token;
  /// The client's name as the servers show it (the node id).
  std::string name;
  /// Limit of connecting and of every JetStream API request.
  std::chrono::milliseconds timeout{2000};
};

/// A stream to create, or to find as it is.
struct stream_spec {
  std::string name;
  /// Subjects it stores, wildcards allowed ("shelfsync.events.>").
  std::vector<std::string> subjects;
  /// 1, 3 or 5.
  int replicas = 1;
  /// Messages kept per subject; 0 keeps all. 1 makes a compacted stream: the
  /// latest message of each subject.
  int64_t max_msgs_per_subject = 0;
  /// How long a `Nats-Msg-Id` is remembered for deduplication; 0 leaves the
  /// server's default (2 minutes).
  std::chrono::milliseconds duplicate_window{0};
  /// Every replica answers direct gets (`next_msg`).
  bool allow_direct = false;
};

/// The server's answer to one stored message.
struct publish_ack {
  std::string stream;
  /// The message's sequence in its stream (the KV revision for a bucket).
  uint64_t sequence = 0;
  /// True when a message with the same msg-id was already stored: nothing
  /// was stored again and `sequence` is the first one's.
  bool duplicate = false;
};

/// One message of a batch.
struct outgoing_message {
  std::string subject;
  std::string data;
  /// Deduplication id, non-empty and unique within the batch; derive it
  /// from the request so that resending the batch stores nothing twice.
  std::string msg_id;
};

/// One compare-and-set write of a batch.
struct cas_message {
  std::string subject;
  std::string data;
  /// The subject's last sequence the write expects (0: no message yet).
  uint64_t expected_last_subject_seq = 0;
};

/// A message as the stream holds it.
struct stored_message {
  std::string subject;
  uint64_t sequence = 0;
  std::string data;
};

/// One connection to NATS with its JetStream context. Every call blocks the
/// calling thread until the server answers or the timeout passes: use it
/// from a detached actor or a thread of its own, never from a cooperative
/// actor. Calls may come from several threads at once.
class jetstream {
 public:
  /// Connects to `options.urls`, and keeps reconnecting (to any of them)
  /// for as long as the object lives.
  static outcome<std::unique_ptr<jetstream>>
  connect(const connect_options& options);

  ~jetstream();
  jetstream(const jetstream&) = delete;
  jetstream& operator=(const jetstream&) = delete;

  /// Creates the stream, or accepts it when it already exists with this
  /// configuration; a different existing configuration is an error.
  status ensure_stream(const stream_spec& spec);

  /// Deletes a stream (tests and tools).
  status delete_stream(const std::string& name);

  /// Publishes `data` to `subject` only if the subject's last sequence in its
  /// stream is `expected_last_subject_seq` (0: the subject has no message).
  /// A stale expectation is `errc::conflict`: someone wrote after the value
  /// the caller read, so the caller's write must not happen.
  outcome<publish_ack> publish_cas(const std::string& subject,
                                   const std::string& data,
                                   uint64_t expected_last_subject_seq);

  /// The last message of `subject` in `stream`, read from the stream leader
  /// (authoritative, unlike a KV get that may be served by a stale replica).
  /// `errc::not_found` when the subject has none.
  outcome<stored_message> last_msg(const std::string& stream,
                                   const std::string& subject);

  /// The first message of `subject` in `stream` at or after sequence
  /// `from`, by a direct get (the stream must allow them): any replica
  /// answers, one that lags as of where it is, so a message may show up a
  /// little late but never out of order. Nothing when there is none yet.
  outcome<std::optional<stored_message>> next_msg(const std::string& stream,
                                                  const std::string& subject,
                                                  uint64_t from);

  /// Publishes every message asynchronously and waits for every
  /// acknowledgement, at most `timeout` in all. Returns the acks in the
  /// order of `messages` only when all were stored; otherwise an error
  /// saying how many and which failed. Resending the same batch (same
  /// msg-ids) within the duplicate window stores each message once.
  outcome<std::vector<publish_ack>>
  publish_batch(const std::vector<outgoing_message>& messages,
                std::chrono::milliseconds timeout);

  /// `publish_cas` for every message at once: publishes them asynchronously
  /// and waits for every acknowledgement, at most `timeout` in all. Returns,
  /// in the order of `messages`, each one's ack or error: `errc::conflict`
  /// for a stale expectation, `errc::timeout` for one not acknowledged in
  /// time (it may have been stored). The subjects must differ (`invalid`
  /// for every message otherwise): the server applies a batch's messages in
  /// order, so two writes of one subject would depend on each other.
  std::vector<outcome<publish_ack>>
  publish_cas_batch(const std::vector<cas_message>& messages,
                    std::chrono::milliseconds timeout);

  /// The JetStream context, for calls this class does not wrap.
  jsCtx* context() { return js_; }

  /// The connection.
  natsConnection* connection() { return nc_; }

  /// The limit of every request.
  std::chrono::milliseconds timeout() const { return timeout_; }

  /// Whether the connection is up now (not reconnecting nor closed): a
  /// request sent otherwise waits its whole timeout.
  bool connected() const;

 private:
  jetstream(natsConnection* nc, jsCtx* js, std::chrono::milliseconds timeout)
      : nc_(nc), js_(js), timeout_(timeout) {}

  natsConnection* nc_;
  jsCtx* js_;
  std::chrono::milliseconds timeout_;
};

/// Owns a JetStream subscription of `js`'s connection. At the end it
/// unsubscribes (deleting the consumer it created) while the connection is
/// up; otherwise it only frees it: the delete request would wait a whole
/// timeout, and the server removes an ephemeral consumer once its
/// inactivity threshold has passed.
struct js_subscription {
  explicit js_subscription(jetstream& owner) : js(owner) {}
  js_subscription(const js_subscription&) = delete;
  js_subscription& operator=(const js_subscription&) = delete;
  ~js_subscription();

  jetstream& js;
  natsSubscription* p = nullptr;
};

} // namespace shelfsync::cluster
