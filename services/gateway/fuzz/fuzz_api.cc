#include "services/gateway/fuzz/fuzz_api.h"

#include <cstdio>
#include <cstdlib>
#include <memory>

namespace marketplace::gateway {

FuzzApi GetFuzzApi() {
  static const FuzzApi loaded = [] {
    const char* path = std::getenv("GATEWAY_DESCRIPTOR_SET");
    auto api = Api::Load(path != nullptr ? path : "protos/api_descriptor_set.pb", {},
                         /*all_services=*/true);
    if (!api.ok()) {
      std::fprintf(stderr, "fuzz: %s\n", std::string(api.status().message()).c_str());
      std::abort();
    }
    const Api* owned = api->release();
    return FuzzApi{owned, new Transcoder(owned, false)};
  }();
  return loaded;
}

}  // namespace marketplace::gateway
