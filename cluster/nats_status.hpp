#pragma once

#include <string>

#include <nats/nats.h>

#include "cluster/error.hpp"

namespace shelfsync::cluster::detail {

/// Maps a cnats status (and the JetStream error code, 0 when unknown) to an
/// `error` whose message starts with `what`. Reads the calling thread's last
/// cnats error text, so call it right after the failed call.
error from_nats(const std::string& what, natsStatus s, jsErrCode jerr = {});

/// The same with the error text given (from a callback's jsPubAckErr).
error from_nats(const std::string& what, natsStatus s, jsErrCode jerr,
                const std::string& detail);

} // namespace shelfsync::cluster::detail
