#include "services/gateway/http_server.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "boost/asio/dispatch.hpp"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/post.hpp"
#include "boost/asio/strand.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "common/logging.h"
#include "services/gateway/http_errors.h"

namespace marketplace::gateway {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = boost::asio::ip::tcp;

struct HttpServer::Impl {
  HttpServerOptions options;
  Handler handler;
  net::io_context ioc;
  std::optional<tcp::acceptor> acceptor;
  std::atomic<int>* connections = nullptr;

  void Accept();
};

namespace {

std::chrono::steady_clock::duration Chrono(absl::Duration d) {
  return absl::ToChronoNanoseconds(d);
}

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, HttpServer::Impl* server)
      : stream_(std::move(socket)), server_(server) {}
  ~Session() { server_->connections->fetch_sub(1); }

  void Start() {
    beast::error_code ec;
    auto endpoint = stream_.socket().remote_endpoint(ec);
    if (!ec) peer_ = endpoint.address().to_string();
    net::dispatch(stream_.get_executor(),
                  beast::bind_front_handler(&Session::ReadHeader, shared_from_this()));
  }

  // Answers 503 and closes: too many connections.
  void RejectBusy() {
    auto self = shared_from_this();
    net::dispatch(stream_.get_executor(), [self] {
      const ErrorReply e = GatewayError(grpc::UNAVAILABLE, "too many connections; retry later",
                                        {}, "TOO_MANY_CONNECTIONS");
      HttpResponse r;
      r.status = e.http_status;
      r.body = e.body;
      r.headers.push_back({"Content-Type", "application/json"});
      // Nothing of the request was read: a new request id.
      r.headers.push_back({"X-Request-Id", common::NewRequestId()});
      for (const auto& h : self->server_->options.early_reply_headers) r.headers.push_back(h);
      self->Write(std::move(r), /*close=*/true);
    });
  }

 private:
  void ReadHeader() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_->options.max_header_bytes));
    body_limit_ = std::max(server_->options.max_body_bytes, server_->options.largest_body_limit);
    // The body limit is applied once the head is read whole (OnHeader), so that a 413 can
    // carry the client's request id whatever the order of its headers.
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    stream_.expires_after(Chrono(server_->options.idle_timeout));
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Session::OnHeader, shared_from_this()));
  }

  void OnHeader(beast::error_code ec, std::size_t) {
    if (ec) return OnReadError(ec);
    stream_.expires_after(Chrono(server_->options.read_timeout));
    const auto& head = parser_->get();
    if (server_->options.body_limit) {
      body_limit_ = server_->options.body_limit(
          absl::string_view(head.method_string().data(), head.method_string().size()),
          absl::string_view(head.target().data(), head.target().size()));
    }
    if (const auto length = parser_->content_length(); length && *length > body_limit_) {
      return OnReadError(http::error::body_limit);
    }
    parser_->body_limit(body_limit_);
    if (!parser_->is_done() && beast::iequals(head[http::field::expect], "100-continue")) {
      // curl and others wait for this before sending a body.
      auto interim = std::make_shared<http::response<http::empty_body>>(http::status::continue_, 11);
      http::async_write(stream_, *interim,
                        [self = shared_from_this(), interim](beast::error_code wec, std::size_t) {
                          if (wec) return self->Close();
                          self->ReadBody();
                        });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnReadError(beast::error_code ec) {
    if (ec == http::error::header_limit) {
      return WriteError(431, "request headers too large", "HEADERS_TOO_LARGE");
    }
    if (ec == http::error::body_limit) {
      return WriteError(413, absl::StrCat("request body larger than ", body_limit_, " bytes"),
                        "BODY_TOO_LARGE");
    }
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset ||
        ec == net::error::eof) {
      return Close();
    }
    // A malformed request: 400 and close.
    return WriteError(400, "malformed HTTP request", "BAD_HTTP_REQUEST");
  }

  void WriteError(int status, const std::string& message, const std::string& reason) {
    const grpc::StatusCode code = status == 400 ? grpc::INVALID_ARGUMENT : grpc::RESOURCE_EXHAUSTED;
    const ErrorReply e = GatewayError(code, message, {}, reason, status);
    HttpResponse r;
    r.status = e.http_status;
    r.body = e.body;
    r.headers.push_back({"Content-Type", "application/json"});
    r.headers.push_back({"X-Request-Id", RequestIdOfHead()});
    for (const auto& h : server_->options.early_reply_headers) r.headers.push_back(h);
    Write(std::move(r), /*close=*/true);
  }

  // The client's valid x-request-id when the request's head was read whole, otherwise a new
  // one: the same rule as the answers of the handler.
  std::string RequestIdOfHead() const {
    if (parser_ && parser_->is_header_done()) {
      const auto sent = parser_->get()["x-request-id"];
      const absl::string_view id(sent.data(), sent.size());
      if (common::IsValidRequestId(id)) return std::string(id);
    }
    return common::NewRequestId();
  }

  void OnRead(beast::error_code ec, std::size_t) {
    if (ec) return OnReadError(ec);
    http::request<http::string_body> req = parser_->release();
    keep_alive_ = req.keep_alive();
    HttpRequest request;
    request.method = std::string(req.method_string());
    request.target = std::string(req.target());
    request.peer = peer_;
    for (const auto& field : req) {
      request.headers.emplace_back(absl::AsciiStrToLower(std::string(field.name_string())),
                                   std::string(field.value()));
    }
    request.body = std::move(req.body());
    auto self = shared_from_this();
    server_->handler(request, [self](HttpResponse response) {
      net::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
        self->Write(std::move(response), /*close=*/false);
      });
    });
  }

  void Write(HttpResponse r, bool close) {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(11);
    res->result(static_cast<unsigned>(r.status));
    for (auto& [k, v] : r.headers) res->insert(k, v);
    res->body() = std::move(r.body);
    res->keep_alive(keep_alive_ && !close);
    res->prepare_payload();
    stream_.expires_after(Chrono(server_->options.read_timeout));
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
                        if (ec || !res->keep_alive()) return self->Close();
                        self->ReadHeader();
                      });
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  HttpServer::Impl* server_;
  std::string peer_;
  bool keep_alive_ = true;
  size_t body_limit_ = 0;  // of the request being read
};

}  // namespace

void HttpServer::Impl::Accept() {
  acceptor->async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == net::error::operation_aborted || !acceptor->is_open()) return;
      common::LogWarn("accept failed", {{"error", ec.message()}});
      return Accept();
    }
    const int open = connections->fetch_add(1) + 1;
    auto session = std::make_shared<Session>(std::move(socket), this);
    if (open > options.max_connections) {
      session->RejectBusy();
    } else {
      session->Start();
    }
    Accept();
  });
}

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(HttpServerOptions options,
                                                              Handler handler) {
  std::unique_ptr<HttpServer> server(new HttpServer());
  server->impl_ = std::make_unique<Impl>();
  Impl& impl = *server->impl_;
  impl.options = options;
  impl.handler = std::move(handler);
  impl.connections = &server->connections_;
  beast::error_code ec;
  const auto address = net::ip::make_address(options.host, ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat("http address '", options.host, "': ", ec.message()));
  tcp::endpoint endpoint(address, static_cast<unsigned short>(options.port));
  impl.acceptor.emplace(net::make_strand(impl.ioc));
  impl.acceptor->open(endpoint.protocol(), ec);
  if (!ec) impl.acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl.acceptor->bind(endpoint, ec);
  if (!ec) impl.acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.host, ":",
                                               options.port, ": ", ec.message()));
  }
  server->port_ = impl.acceptor->local_endpoint().port();
  impl.Accept();
  int threads = options.io_threads > 0 ? options.io_threads
                                       : static_cast<int>(std::thread::hardware_concurrency());
  if (threads < 1) threads = 1;
  for (int i = 0; i < threads; ++i) {
    server->threads_.emplace_back([&impl] { impl.ioc.run(); });
  }
  return server;
}

void HttpServer::StopAccepting() {
  net::dispatch(impl_->acceptor->get_executor(), [impl = impl_.get()] {
    beast::error_code ec;
    impl->acceptor->close(ec);
  });
}

void HttpServer::Stop() {
  if (stopped_) return;
  stopped_ = true;
  impl_->ioc.stop();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

HttpServer::~HttpServer() {
  Stop();
  impl_.reset();  // pending sessions go before the connection counter
}

}  // namespace marketplace::gateway
