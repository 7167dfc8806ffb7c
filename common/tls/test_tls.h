#ifndef MARKETPLACE_COMMON_TLS_TEST_TLS_H_
#define MARKETPLACE_COMMON_TLS_TEST_TLS_H_

#include <memory>
#include <string>
#include <vector>

#include "common/tls/transport_security.h"
#include "grpcpp/grpcpp.h"

namespace marketplace::testing {

// The throwaway certificates of //common/tls:test_certificates (tests depend on
// //common/tls:test_tls). kMain is what the tests' servers present and their clients trust;
// kOther is an unrelated authority, for what must be refused.
enum class TestPki { kMain, kOther };

// Certificate, key and CA of `pki` (mutual TLS).
common::TransportSecurity TestTransportSecurity(TestPki pki = TestPki::kMain);

// The flags that make a service binary serve and call with TestTransportSecurity(kMain).
std::vector<std::string> TestTlsFlags();

// Client credentials for the tests' own channels to such a process (mutual TLS, kMain).
std::shared_ptr<grpc::ChannelCredentials> TestChannelCredentials();

}  // namespace marketplace::testing

#endif  // MARKETPLACE_COMMON_TLS_TEST_TLS_H_
