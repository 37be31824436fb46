#include "api/error_text.hpp"

#include "core/error.hpp"

namespace shelfsync {

std::string error_text(const caf::error& err) {
  auto& ctx = err.context();
  std::string out;
  for (size_t i = 0; i < ctx.size(); ++i)
    if (ctx.match_element<std::string>(i))
      out += (out.empty() ? "" : ": ") + ctx.get_as<std::string>(i);
  return out.empty() ? to_string(err) : out;
}

} // namespace shelfsync
