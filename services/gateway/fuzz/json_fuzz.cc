// Fuzz target: a JSON body through the transcoder to protobuf binary. Input: a route's name
// ("pkg.Service.Method"), a newline, the body; an unknown name picks a route by hash. Must never
// crash; a body that transcodes must parse as the method's request.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/text.h"
#include "google/protobuf/dynamic_message.h"
#include "services/gateway/fuzz/fuzz_api.h"
#include "services/gateway/golden.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const marketplace::gateway::FuzzApi f = marketplace::gateway::GetFuzzApi();
  const auto& routes = f.api->routes();
  if (routes.empty()) std::abort();
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  const std::string name = newline == std::string::npos ? "" : input.substr(0, newline);
  const std::string body = newline == std::string::npos ? input : input.substr(newline + 1);
  size_t id = std::hash<std::string>()(name) % routes.size();
  for (size_t i = 0; i < routes.size(); ++i) {
    if (routes[i].name == name && routes[i].binding == 0) id = i;
  }
  const auto& route = routes[id];
  std::vector<std::string> values;
  (void)marketplace::gateway::SamplePath(route, &values);
  std::string binary;
  auto error = f.transcoder->BuildRequest(route, values, "", body, &binary);
  // An error answer quotes what was sent: it must still be valid UTF-8 JSON.
  if (error.has_value() && !marketplace::common::IsValidUtf8(error->body)) std::abort();
  if (!error.has_value()) {
    google::protobuf::DynamicMessageFactory factory(&f.api->pool());
    std::unique_ptr<google::protobuf::Message> request(
        factory.GetPrototype(route.method->input_type())->New());
    if (!request->ParseFromString(binary)) std::abort();
    std::string json;
    (void)f.transcoder->ResponseToJson(route, "", &json);
  }
  return 0;
}
