#include "tests/api/webdriver.hpp"

#include <unistd.h>

#include <csignal>
#include <stdexcept>
#include <thread>

#include <boost/beast/core/detail/base64.hpp>

#include "net/url.hpp"

namespace shelfsync::tests {

namespace {

using json = nlohmann::json;

/// The W3C key of an element reference.
constexpr const char* element_key = "element-6066-11e4-a52e-4f735466cecf";

std::string first_executable(std::initializer_list<const char*> paths) {
  for (auto* p : paths)
    if (::access(p, X_OK) == 0) return p;
  return {};
}

} // namespace

std::string chromedriver_path() {
  return first_executable({"/usr/bin/chromedriver"});
}

std::string chromium_path() { return first_executable({"/usr/bin/chromium"}); }

browser::browser(const std::string& log, int width, int height) {
  auto port = free_port();
  driver_.start_program(chromedriver_path(), {"--port=" + std::to_string(port)},
                        log, log);
  http::client_options opts;
  opts.request_timeout = std::chrono::seconds{60};
  client_ = std::make_unique<http::client>(
      *http::parse_url("http://127.0.0.1:" + std::to_string(port)), opts);
  auto base = "http://127.0.0.1:" + std::to_string(port);
  if (!wait_until_up(base, "/status", std::chrono::seconds{30}))
    throw std::runtime_error("chromedriver did not start; see " + log);
  json args = {"--headless=new",
               "--disable-gpu",
               "--disable-dev-shm-usage",
               "--no-first-run",
               "--hide-scrollbars",
               "--window-size=" + std::to_string(width) + "," +
                   std::to_string(height)};
  if (::geteuid() == 0) args.push_back("--no-sandbox");
  json caps = {{"capabilities",
                {{"alwaysMatch",
                  {{"browserName", "chrome"},
                   {"goog:chromeOptions",
                    {{"binary", chromium_path()}, {"args", args}}}}}}}};
  auto value = call(http::verb::post, "/session", caps);
  session_ = value.at("sessionId").get<std::string>();
}

browser::~browser() {
  if (!session_.empty()) {
    try {
      call(http::verb::delete_, "/session/" + session_);
    } catch (...) {
      // chromedriver stops the browser with itself below
    }
  }
  driver_.stop(SIGTERM);
}

json browser::call(http::verb method, const std::string& path,
                   const json& body) {
  auto req = body.is_null()
                 ? http::make_request(method, path)
                 : http::make_json_request(method, path, body.dump());
  auto r = client_->send(std::move(req));
  if (!r) throw std::runtime_error("chromedriver: " + r.error().message);
  auto answer = json::parse(r.value().body(), nullptr, false);
  if (answer.is_discarded() || !answer.contains("value"))
    throw std::runtime_error("chromedriver answered " + r.value().body());
  auto& value = answer["value"];
  if (r.value().result_int() != 200)
    throw std::runtime_error(
        "chromedriver " + std::string{boost::beast::http::to_string(method)} +
        " " + path + ": " + value.value("error", std::string{}) + ": " +
        value.value("message", std::string{}).substr(0, 400));
  return value;
}

void browser::go(const std::string& url) {
  call(http::verb::post, "/session/" + session_ + "/url", {{"url", url}});
}

std::string browser::url() {
  return call(http::verb::get, "/session/" + session_ + "/url")
      .get<std::string>();
}

std::string browser::find(const std::string& selector) {
  auto v = call(http::verb::post, "/session/" + session_ + "/element",
                {{"using", "css selector"}, {"value", selector}});
  return v.at(element_key).get<std::string>();
}

void browser::click(const std::string& selector) {
  call(http::verb::post,
       "/session/" + session_ + "/element/" + find(selector) + "/click",
       json::object());
}

void browser::type(const std::string& selector, const std::string& text) {
  call(http::verb::post,
       "/session/" + session_ + "/element/" + find(selector) + "/value",
       {{"text", text}});
}

json browser::run(const std::string& script) {
  return call(http::verb::post, "/session/" + session_ + "/execute/sync",
              {{"script", script}, {"args", json::array()}});
}

bool browser::wait_for(const std::string& script,
                       std::chrono::milliseconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (run(script) == true) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{100});
  }
  return false;
}

bool browser::accept_dialog(std::chrono::milliseconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    try {
      call(http::verb::post, "/session/" + session_ + "/alert/accept",
           json::object());
      return true;
    } catch (const std::runtime_error&) {
      std::this_thread::sleep_for(std::chrono::milliseconds{100});
    }
  }
  return false;
}

std::string browser::screenshot() {
  auto b64 = call(http::verb::get, "/session/" + session_ + "/screenshot")
                 .get<std::string>();
  namespace base64 = boost::beast::detail::base64;
  std::string png(base64::decoded_size(b64.size()), '\0');
  auto [written, read] = base64::decode(png.data(), b64.data(), b64.size());
  png.resize(written);
  return png;
}

} // namespace shelfsync::tests
