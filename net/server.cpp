#include "net/server.hpp"

#include <stdexcept>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "net/session.hpp"

namespace shelfsync::http {

namespace net = boost::asio;
using boost::system::error_code;
using tcp = net::ip::tcp;

namespace {

void accept_next(const std::shared_ptr<detail::server_core>& core);

void on_accept(const std::shared_ptr<detail::server_core>& core, error_code ec,
               tcp::socket socket) {
  if (ec == net::error::operation_aborted || !core->acceptor.is_open()) return;
  if (ec) {
    // Out of file descriptors and the like: pause briefly instead of
    // spinning, then keep accepting.
    auto timer = std::make_shared<net::steady_timer>(
        core->acceptor.get_executor(), std::chrono::milliseconds{50});
    timer->async_wait([core, timer](error_code) {
      accept_next(core);
    });
    return;
  }
  ++core->accepted;
  std::shared_ptr<detail::session> s;
  {
    std::lock_guard<std::mutex> guard{core->mtx};
    if (core->accepting) {
      auto id = core->next_id++;
      s = std::make_shared<detail::session>(core, std::move(socket), id);
      core->sessions.emplace(id, s);
    }
  }
  if (!s) return; // stopping: the socket closes as it goes out of scope
  s->start();
  accept_next(core);
}

void accept_next(const std::shared_ptr<detail::server_core>& core) {
  core->acceptor.async_accept(net::make_strand(core->ioc),
                              [core](error_code ec, tcp::socket socket) {
                                on_accept(core, ec, std::move(socket));
                              });
}

tcp::endpoint listen_endpoint(const server_options& opts,
                              net::io_context& ioc) {
  error_code ec;
  auto address = net::ip::make_address(opts.host, ec);
  if (!ec) return {address, opts.port};
  tcp::resolver resolver{ioc};
  auto found = resolver.resolve(opts.host, std::to_string(opts.port), ec);
  if (ec || found.empty())
    throw std::runtime_error("cannot listen on " + opts.host + ":" +
                             std::to_string(opts.port) +
                             ": cannot resolve the host: " + ec.message());
  return found.begin()->endpoint();
}

} // namespace

server::server(server_options opts, handler h)
    : core_{std::make_shared<detail::server_core>(std::move(opts),
                                                  std::move(h))} {}

server::~server() { stop(); }

uint16_t server::start() {
  if (started_) throw std::logic_error("http::server::start called twice");
  const auto& opts = core_->opts;
  auto endpoint = listen_endpoint(opts, core_->ioc);
  auto& acceptor = core_->acceptor;
  error_code ec;
  auto check = [&](const char* step) {
    if (!ec) return;
    error_code ignored;
    acceptor.close(ignored);
    throw std::runtime_error("cannot listen on " + opts.host + ":" +
                             std::to_string(opts.port) + ": " + step + ": " +
                             ec.message());
  };
  acceptor.open(endpoint.protocol(), ec);
  check("open");
  acceptor.set_option(net::socket_base::reuse_address(true), ec);
  check("set SO_REUSEADDR");
  acceptor.bind(endpoint, ec);
  check("bind");
  acceptor.listen(net::socket_base::max_listen_connections, ec);
  check("listen");
  port_ = acceptor.local_endpoint(ec).port();
  check("read the bound port");
  started_ = true;
  core_->work.emplace(net::make_work_guard(core_->ioc));
  accept_next(core_);
  auto threads = std::max(1u, opts.threads);
  for (unsigned i = 0; i < threads; ++i)
    threads_.emplace_back([core = core_] {
      core->ioc.run();
    });
  return port_;
}

void server::stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  auto& core = *core_;
  auto live_sessions = [&core] {
    std::vector<std::shared_ptr<detail::session>> live;
    std::lock_guard<std::mutex> guard{core.mtx};
    for (auto& entry : core.sessions)
      if (auto s = entry.second.lock()) live.push_back(std::move(s));
    return live;
  };
  auto wait_for_sessions = [&core](std::chrono::milliseconds limit) {
    std::unique_lock<std::mutex> lock{core.mtx};
    core.session_closed.wait_for(lock, limit, [&core] {
      return core.sessions.empty();
    });
  };
  {
    std::lock_guard<std::mutex> guard{core.mtx};
    core.accepting = false;
  }
  net::post(core.acceptor.get_executor(), [core = core_] {
    error_code ignored;
    core->acceptor.close(ignored);
  });
  for (auto& s : live_sessions())
    s->stop();
  wait_for_sessions(core.opts.stop_timeout);
  for (auto& s : live_sessions())
    s->force_close();
  wait_for_sessions(std::chrono::seconds{1});
  {
    std::lock_guard<std::mutex> guard{core.mtx};
    core.running = false;
  }
  core.work.reset();
  for (auto& t : threads_)
    t.join();
  threads_.clear();
}

uint16_t server::port() const { return port_; }

uint64_t server::connections_accepted() const { return core_->accepted.load(); }

size_t server::open_connections() const {
  std::lock_guard<std::mutex> guard{core_->mtx};
  return core_->sessions.size();
}

} // namespace shelfsync::http
