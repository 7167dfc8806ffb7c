#ifndef MARKETPLACE_SERVICES_GATEWAY_HTTP_SERVER_H_
#define MARKETPLACE_SERVICES_GATEWAY_HTTP_SERVER_H_

#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/gateway/gateway.h"

namespace marketplace::gateway {

struct HttpServerOptions {
  std::string host = "0.0.0.0";
  int port = 0;         // 0: a free port (read it back with port())
  int io_threads = 0;   // 0: one per core
  size_t max_header_bytes = 16 * 1024;   // beyond: 431, connection closed
  size_t max_body_bytes = 1024 * 1024;   // beyond: 413, connection closed
  absl::Duration idle_timeout = absl::Seconds(60);  // waiting for (and reading) a request's head
  absl::Duration read_timeout = absl::Seconds(30);  // reading its body; writing the response
  int max_connections = 10000;                      // beyond: 503, connection closed
  // The body limit of a request, asked once its head is read (method, target); null:
  // max_body_bytes for every request. A declared Content-Length above it is answered 413
  // before the body is read.
  std::function<size_t(absl::string_view method, absl::string_view target)> body_limit;
  // The largest limit body_limit can answer (the limit while the head is read: the parser
  // checks Content-Length as it reads the head); 0: max_body_bytes.
  size_t largest_body_limit = 0;
  // Headers on the replies the server makes itself, before any handler (413, 431, 400 for a
  // malformed request, 503 for too many connections), e.g. Vary: Origin when CORS is on.
  std::vector<std::pair<std::string, std::string>> early_reply_headers;
};

// HTTP/1.1 with keep-alive on Boost.Beast over Asio, one io thread per core; every
// connection on its own strand. Limits and timeouts as in HttpServerOptions.
class HttpServer {
 public:
  using Handler = std::function<void(const HttpRequest&, ReplyFn)>;

  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(HttpServerOptions options,
                                                           Handler handler);
  ~HttpServer();

  int port() const { return port_; }
  int connections() const { return connections_.load(); }

  // No new connections (the listening socket is closed); open ones are still served.
  void StopAccepting();
  // Closes every connection and joins the io threads. Idempotent.
  void Stop();

  struct Impl;

 private:
  HttpServer() = default;
  std::unique_ptr<Impl> impl_;
  std::vector<std::thread> threads_;
  int port_ = 0;
  std::atomic<int> connections_{0};
  bool stopped_ = false;
};

}  // namespace marketplace::gateway

#endif  // MARKETPLACE_SERVICES_GATEWAY_HTTP_SERVER_H_
