// Log lines: the text and JSON formats, the level, and the status line a
// warning must not break.
#include "actors/log.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace shelfsync;

namespace {

struct log_test : ::testing::Test {
  void TearDown() override {
    set_log_format(log_format::text);
    set_log_level(log_level::info);
  }
};

/// What `f` writes to stderr.
template<class F>
std::string stderr_of(F f) {
  ::testing::internal::CaptureStderr();
  f();
  std::fflush(stderr);
  return ::testing::internal::GetCapturedStderr();
}

} // namespace

TEST_F(log_test, a_warning_clears_the_status_line_and_redraws_it) {
  auto out = stderr_of([] {
    set_status_line("importing 1000/4000 events (25%)");
    log_line(log_level::warning, "shopify eu", "throttled");
    set_status_line("importing 2000/4000 events (50%)");
    set_status_line("");
  });
  constexpr std::string_view clear = "\r\033[K";
  // The status line, then: back to column 0, erase, the warning on a line
  // of its own, the status line again below it.
  auto warning = out.find(" warning shopify eu: throttled\n");
  ASSERT_NE(warning, std::string::npos) << out;
  auto line_start = out.rfind('\r', warning);
  ASSERT_NE(line_start, std::string::npos);
  EXPECT_EQ(out.substr(line_start, clear.size()), clear);
  EXPECT_EQ(out.substr(0, line_start),
            std::string{clear} + "importing 1000/4000 events (25%)");
  auto after = out.substr(out.find('\n', warning) + 1);
  EXPECT_EQ(after, "importing 1000/4000 events (25%)" + std::string{clear} +
                       "importing 2000/4000 events (50%)" + std::string{clear});
}

TEST_F(log_test, without_a_status_line_a_line_is_just_a_line) {
  auto out = stderr_of([] {
    log_line(log_level::info, "serve", "hello");
  });
  EXPECT_EQ(out.find('\r'), std::string::npos) << out;
  EXPECT_NE(out.find(" info serve: hello\n"), std::string::npos) << out;
}

TEST_F(log_test, json_lines_are_one_object_each) {
  set_log_format(log_format::json);
  auto out = stderr_of([] {
    log_line(log_level::error, "config", "a \"quoted\"\nmessage");
    log_access(log_level::info, "POST", "/v1/stock/events", 200, 1.25);
  });
  auto newline = out.find('\n');
  ASSERT_NE(newline, std::string::npos);
  auto first = nlohmann::json::parse(out.substr(0, newline));
  EXPECT_EQ(first["level"], "error");
  EXPECT_EQ(first["component"], "config");
  EXPECT_EQ(first["message"], "a \"quoted\"\nmessage");
  EXPECT_TRUE(first["time"].is_string());
  auto second = nlohmann::json::parse(out.substr(newline + 1));
  EXPECT_EQ(second["component"], "access");
  EXPECT_EQ(second["method"], "POST");
  EXPECT_EQ(second["path"], "/v1/stock/events");
  EXPECT_EQ(second["status"], 200);
  EXPECT_DOUBLE_EQ(second["ms"].get<double>(), 1.2);
}

TEST_F(log_test, the_level_drops_lines_below_it) {
  apply_log_settings("warning", "text");
  auto out = stderr_of([] {
    log_line(log_level::info, "serve", "quiet");
    log_access(log_level::info, "GET", "/v1/shops", 200, 1);
    log_line(log_level::warning, "serve", "loud");
  });
  EXPECT_EQ(out.find("quiet"), std::string::npos) << out;
  EXPECT_EQ(out.find("access"), std::string::npos) << out;
  EXPECT_NE(out.find("loud"), std::string::npos) << out;
}
