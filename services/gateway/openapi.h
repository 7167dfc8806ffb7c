#ifndef MARKETPLACE_SERVICES_GATEWAY_OPENAPI_H_
#define MARKETPLACE_SERVICES_GATEWAY_OPENAPI_H_

#include <string>

#include "services/gateway/api.h"

namespace marketplace::gateway {

// OpenAPI 3.0 of the routes of `api`, from the same descriptors: one operation per binding
// (operationId "Service_Method", "_<n>" for the n-th additional binding), typed path and query
// parameters, request and response schemas in proto3 JSON form, the AIP-193 error schema,
// descriptions from the proto comments, and a bearer JWT security scheme.
//
// A multi-segment path variable (`{name=accounts/*}`) is flattened as Google's discovery
// documents do: each `*` becomes a parameter of its own ("/v1/accounts/{accountsId}"), and
// the field's description says how the value is made.
std::string BuildOpenApi(const Api& api);

}  // namespace marketplace::gateway

#endif  // MARKETPLACE_SERVICES_GATEWAY_OPENAPI_H_
