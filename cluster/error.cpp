#include "cluster/error.hpp"

#include "cluster/nats_status.hpp"

namespace shelfsync::cluster {

const char* to_string(errc x) {
  switch (x) {
  case errc::conflict:
    return "conflict";
  case errc::not_found:
    return "not_found";
  case errc::timeout:
    return "timeout";
  case errc::unavailable:
    return "unavailable";
  case errc::invalid:
    return "invalid";
  case errc::failure:
    break;
  }
  return "failure";
}

namespace detail {

error from_nats(const std::string& what, natsStatus s, jsErrCode jerr) {
  natsStatus last_status = NATS_OK;
  const char* last = nats_GetLastError(&last_status);
  // The thread's last error text may be left over from an earlier call (a
  // NOT_FOUND does not replace it): use it only when its status matches.
  bool fresh = last != nullptr && last_status == s;
  return from_nats(what, s, jerr, fresh ? last : "");
}

error from_nats(const std::string& what, natsStatus s, jsErrCode jerr,
                const std::string& detail) {
  std::string text = natsStatus_GetText(s);
  std::string message = what + ": " + text;
  if (!detail.empty() && detail != text) message += " (" + detail + ")";
  if (jerr != 0) message += " [JetStream error " + std::to_string(jerr) + "]";

  errc code = errc::failure;
  // The KV calls drop the JetStream code; the text still says it.
  if (jerr == JSStreamWrongLastSequenceErr ||
      (jerr == 0 && s == NATS_ERR &&
       detail.find("wrong last sequence") != std::string::npos))
    code = errc::conflict;
  else if (s == NATS_NOT_FOUND || jerr == JSNoMessageFoundErr ||
           jerr == JSStreamNotFoundErr)
    code = errc::not_found;
  else if (s == NATS_TIMEOUT)
    code = errc::timeout;
  else if (s == NATS_NO_SERVER || s == NATS_CONNECTION_CLOSED ||
           s == NATS_CONNECTION_DISCONNECTED || s == NATS_NOT_YET_CONNECTED ||
           s == NATS_STALE_CONNECTION || s == NATS_IO_ERROR ||
           s == NATS_NO_RESPONDERS || jerr == JSClusterNotAvailErr)
    code = errc::unavailable;
  else if (s == NATS_INVALID_ARG || s == NATS_INVALID_SUBJECT)
    code = errc::invalid;
  return error{code, std::move(message)};
}

} // namespace detail

} // namespace shelfsync::cluster
