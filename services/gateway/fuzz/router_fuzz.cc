// Fuzz target: an HTTP request line ("<METHOD> <target>") through the router and the query
// parser, as the gateway takes them apart. Must never crash, hang or read out of bounds; a
// match must name a real route with one value per variable.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/text.h"
#include "services/gateway/fuzz/fuzz_api.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using marketplace::gateway::Router;
  const marketplace::gateway::FuzzApi f = marketplace::gateway::GetFuzzApi();
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t space = input.find(' ');
  const std::string method = space == std::string::npos ? "GET" : input.substr(0, space);
  std::string target = space == std::string::npos ? input : input.substr(space + 1);
  const size_t newline = target.find('\n');
  if (newline != std::string::npos) target.resize(newline);
  const size_t q = target.find('?');
  const std::string path = target.substr(0, q);
  const std::string query = q == std::string::npos ? "" : target.substr(q + 1);

  Router::Result m = f.api->router().Match(method, path);
  if (m.outcome == Router::Outcome::kMatched) {
    if (m.id < 0 || static_cast<size_t>(m.id) >= f.api->routes().size()) std::abort();
    const auto& route = f.api->routes()[m.id];
    if (m.values.size() != route.path_fields.size()) std::abort();
    std::string binary;
    auto error = f.transcoder->BuildRequest(route, m.values, query, "", &binary);
    // An error answer quotes what was sent: it must still be valid UTF-8 JSON.
    if (error.has_value() && !marketplace::common::IsValidUtf8(error->body)) std::abort();
  }
  std::vector<std::pair<std::string, std::string>> params;
  std::string bad;
  (void)marketplace::gateway::ParseQuery(query, &params, &bad);
  return 0;
}
