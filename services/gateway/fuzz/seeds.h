// Fuzz seeds taken from the gateway's golden files (services/gateway/testdata/golden).
#ifndef MARKETPLACE_SERVICES_GATEWAY_FUZZ_SEEDS_H_
#define MARKETPLACE_SERVICES_GATEWAY_FUZZ_SEEDS_H_

#include <string>
#include <vector>

namespace marketplace::gateway {

// kind "router": each file's request line ("POST /v1/listings?request_id=..."); kind "json":
// "<method full name>\n<body>" for each file with a body.
std::vector<std::string> SeedsFromGoldenFiles(const std::string& dir, const std::string& kind);

}  // namespace marketplace::gateway

#endif  // MARKETPLACE_SERVICES_GATEWAY_FUZZ_SEEDS_H_
