#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "net/client.hpp"
#include "tests/api/child_process.hpp"

/// A headless Chromium driven through chromedriver's WebDriver HTTP API
/// (W3C), for tests of the status page in a real browser.
namespace shelfsync::tests {

/// Where chromedriver and chromium are, or "" when not installed.
std::string chromedriver_path();
std::string chromium_path();

/// One chromedriver process with one browser session. Commands that fail
/// throw std::runtime_error with WebDriver's error and message.
class browser {
 public:
  /// Starts chromedriver (its log goes to `log`) and a headless session
  /// with a `width` x `height` window. As root, Chromium needs --no-sandbox.
  browser(const std::string& log, int width, int height);

  /// Ends the session (closing the browser) and stops chromedriver.
  ~browser();

  browser(const browser&) = delete;
  browser& operator=(const browser&) = delete;

  void go(const std::string& url);

  /// The current URL.
  std::string url();

  /// The element matching the CSS `selector`; throws when there is none.
  std::string find(const std::string& selector);

  void click(const std::string& selector);

  /// Types `text` into the element.
  void type(const std::string& selector, const std::string& text);

  /// Runs `script` (a function body) in the page; returns its result.
  nlohmann::json run(const std::string& script);

  /// Polls `script` until it returns true; false when `limit` passes.
  bool wait_for(const std::string& script, std::chrono::milliseconds limit);

  /// Accepts the open confirm() or alert(), waiting up to `limit` for one.
  bool accept_dialog(std::chrono::milliseconds limit);

  /// A PNG of the viewport.
  std::string screenshot();

 private:
  nlohmann::json call(http::verb method, const std::string& path,
                      const nlohmann::json& body = nullptr);

  child_process driver_;
  std::unique_ptr<http::client> client_;
  std::string session_;
};

} // namespace shelfsync::tests
