// HTTP/1.1 load for bench/gateway_bench.sh, with the pacing of the gRPC load tools (the same
// bench/loadgen RunFixedRate and RunClosedLoop), so that latencies through the gateway and
// direct over gRPC are measured under the same arrival pattern: call k of a fixed-rate run
// starts at k / rate. (`h2load --rps` starts the requests of all its clients at the same
// instant, every 1 / rps: at 32 clients each tick is a burst of 32 requests, and its p50 is
// mostly the time the burst waits behind itself.) One keep-alive connection per slot (a slot
// never has two calls in flight), opened at its first call and again after an error; one io
// thread. A call counts when the answer is HTTP 200. Prints one row of the benchmark table.
//
//   http_load --target=127.0.0.1:8080 --urls_file=urls.txt [--rate=4000] [--concurrency=32]
//   http_load --target=127.0.0.1:8080 --path=/v1/echo --body_file=echo.json
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "bench/loadgen.h"
#include "common/config.h"

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

struct Options {
  std::string host = "127.0.0.1";
  std::string port = "8080";
  std::vector<std::string> paths;  // round robin
  std::string body;                // POST when not empty
  std::string content_type = "application/json";
};

// One slot's connection, used only on the io thread.
struct Connection {
  explicit Connection(net::io_context& ioc) : stream(ioc) {}
  beast::tcp_stream stream;
  beast::flat_buffer buffer;
  http::request<http::string_body> request;
  http::response<http::string_body> response;
  bool open = false;
};

class HttpLoad {
 public:
  HttpLoad(Options options, int slots) : options_(std::move(options)) {
    for (int i = 0; i < slots; ++i) connections_.push_back(std::make_unique<Connection>(ioc_));
    endpoints_ = tcp::resolver(ioc_).resolve(options_.host, options_.port);
    io_thread_ = std::thread([this] { ioc_.run(); });
  }
  ~HttpLoad() {
    work_.reset();
    ioc_.stop();
    io_thread_.join();
  }

  marketplace::bench::IssueFn Issue() {
    return [this](int slot, std::function<void(bool)> done) {
      net::post(ioc_, [this, slot, done = std::move(done)]() mutable {
        Start(slot, std::move(done));
      });
    };
  }

 private:
  void Start(int slot, std::function<void(bool)> done) {
    Connection& c = *connections_[slot];
    const std::string& path = options_.paths[next_path_++ % options_.paths.size()];
    c.request = {};
    c.request.version(11);
    c.request.method(options_.body.empty() ? http::verb::get : http::verb::post);
    c.request.target(path);
    c.request.set(http::field::host, options_.host);
    c.request.keep_alive(true);
    if (!options_.body.empty()) {
      c.request.set(http::field::content_type, options_.content_type);
      c.request.body() = options_.body;
    }
    c.request.prepare_payload();
    if (c.open) return Send(c, std::move(done));
    c.stream.async_connect(endpoints_, [this, &c, done = std::move(done)](
                                           beast::error_code ec, const tcp::endpoint&) mutable {
      if (ec) return Fail(c, std::move(done));
      c.stream.socket().set_option(tcp::no_delay(true));
      c.open = true;
      Send(c, std::move(done));
    });
  }

  void Send(Connection& c, std::function<void(bool)> done) {
    http::async_write(c.stream, c.request,
                      [this, &c, done = std::move(done)](beast::error_code ec, size_t) mutable {
                        if (ec) return Fail(c, std::move(done));
                        c.response = {};
                        http::async_read(
                            c.stream, c.buffer, c.response,
                            [this, &c, done = std::move(done)](beast::error_code rec,
                                                               size_t) mutable {
                              if (rec) return Fail(c, std::move(done));
                              if (!c.response.keep_alive()) Close(c);
                              done(c.response.result_int() == 200);
                            });
                      });
  }

  void Fail(Connection& c, std::function<void(bool)> done) {
    Close(c);
    done(false);
  }

  static void Close(Connection& c) {
    beast::error_code ignored;
    c.stream.socket().close(ignored);
    c.buffer.clear();
    c.open = false;
  }

  const Options options_;
  net::io_context ioc_;
  std::unique_ptr<net::executor_work_guard<net::io_context::executor_type>> work_ =
      std::make_unique<net::executor_work_guard<net::io_context::executor_type>>(
          ioc_.get_executor());
  tcp::resolver::results_type endpoints_;
  std::vector<std::unique_ptr<Connection>> connections_;
  size_t next_path_ = 0;  // io thread only
  std::thread io_thread_;
};

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

int Main(int argc, char** argv) {
  std::string target = "127.0.0.1:8080", path, urls_file, body_file, name = "http";
  int64_t concurrency = 32, rate = 0;
  absl::Duration duration = absl::Seconds(10), warmup = absl::Seconds(2);
  Options o;
  marketplace::common::Flags flags("http_load", "HTTP/1.1 load with the gRPC tools' pacing.");
  flags.AddString("target", &target, target, "host:port of the HTTP server.");
  flags.AddString("path", &path, "", "Request path (with --body_file: POST).");
  flags.AddString("urls_file", &urls_file, "",
                  "Paths or http://host:port/paths, one per line, requested in turn.");
  flags.AddString("body_file", &body_file, "", "Body of a POST (Content-Type: --content_type).");
  flags.AddString("content_type", &o.content_type, o.content_type, "Content-Type of a POST.");
  flags.AddString("name", &name, name, "Row name.");
  flags.AddInt64("concurrency", &concurrency, concurrency, 1, 10000,
                 "Connections (closed loop: calls always in flight; fixed rate: at most).");
  flags.AddInt64("rate", &rate, 0, 0, 10000000,
                 "Calls per second at a fixed rate (open loop); 0: closed loop.");
  flags.AddDuration("duration", &duration, duration, "Measured time.");
  flags.AddDuration("warmup", &warmup, warmup, "Unmeasured time first.");
  flags.ParseOrExit(argc, argv);

  const std::vector<std::string> hp = absl::StrSplit(target, absl::MaxSplits(':', 1));
  if (hp.size() != 2) {
    std::fprintf(stderr, "--target: must be host:port\n");
    return 2;
  }
  o.host = hp[0];
  o.port = hp[1];
  if (!urls_file.empty()) {
    std::string text;
    if (!ReadFile(urls_file, &text)) {
      std::fprintf(stderr, "--urls_file: cannot read %s\n", urls_file.c_str());
      return 2;
    }
    for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipWhitespace())) {
      // h2load's form: a full URL; the path is what follows host:port.
      if (const size_t scheme = line.find("://"); scheme != absl::string_view::npos) {
        const size_t slash = line.find('/', scheme + 3);
        line = slash == absl::string_view::npos ? "/" : line.substr(slash);
      }
      o.paths.emplace_back(line);
    }
  } else if (!path.empty()) {
    o.paths.push_back(path);
  }
  if (o.paths.empty()) {
    std::fprintf(stderr, "--path or --urls_file: give at least one path\n");
    return 2;
  }
  if (!body_file.empty() && !ReadFile(body_file, &o.body)) {
    std::fprintf(stderr, "--body_file: cannot read %s\n", body_file.c_str());
    return 2;
  }

  HttpLoad load(o, static_cast<int>(concurrency));
  const marketplace::bench::IssueFn issue = load.Issue();
  const marketplace::bench::LoadResult result = marketplace::bench::RunLoad(
      static_cast<int>(concurrency), static_cast<double>(rate), warmup, duration, issue);
  std::printf("%s\n", marketplace::bench::FormatRow(name, result, 0, 0, 0).c_str());
  return result.calls > 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) { marketplace::bench::ExitLoadTool(Main(argc, argv)); }
