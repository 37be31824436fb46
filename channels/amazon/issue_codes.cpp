#include "channels/amazon/issue_codes.hpp"

#include <algorithm>
#include <cctype>

namespace shelfsync::amazon {

namespace {

bool contains_nocase(std::string_view haystack, std::string_view needle) {
  auto it = std::search(haystack.begin(), haystack.end(), needle.begin(),
                        needle.end(), [](char a, char b) {
                          return std::tolower(static_cast<unsigned char>(a)) ==
                                 std::tolower(static_cast<unsigned char>(b));
                        });
  return it != haystack.end();
}

} // namespace

bool is_transient_issue(std::string_view code, std::string_view message) {
  if (code == "4000000") return true;
  return contains_nocase(message, "try again") ||
         contains_nocase(message, "internal error");
}

} // namespace shelfsync::amazon
