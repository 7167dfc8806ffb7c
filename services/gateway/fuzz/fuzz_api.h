// The API both fuzz targets run against: the real descriptor set, every annotated service
// routed (no backend is called), loaded once per process.
#ifndef MARKETPLACE_SERVICES_GATEWAY_FUZZ_FUZZ_API_H_
#define MARKETPLACE_SERVICES_GATEWAY_FUZZ_FUZZ_API_H_

#include "services/gateway/api.h"
#include "services/gateway/transcoder.h"

namespace marketplace::gateway {

struct FuzzApi {
  const Api* api;
  const Transcoder* transcoder;
};

// Aborts if the descriptor set (protos/api_descriptor_set.pb, or $GATEWAY_DESCRIPTOR_SET) does
// not load: a fuzz run without routes would test nothing.
FuzzApi GetFuzzApi();

}  // namespace marketplace::gateway

#endif  // MARKETPLACE_SERVICES_GATEWAY_FUZZ_FUZZ_API_H_
