#include "common/tls/test_tls.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace marketplace::testing {
namespace {

std::string CertificatePath(TestPki pki, const char* file) {
  const char* dir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  std::string relative = absl::StrCat("common/tls/testdata/",
                                      pki == TestPki::kMain ? "main" : "other", "/", file);
  if (dir == nullptr) return absl::StrCat("bazel-bin/", relative);
  return absl::StrCat(dir, "/", workspace ? workspace : "marketplace", "/", relative);
}

}  // namespace

common::TransportSecurity TestTransportSecurity(TestPki pki) {
  common::TransportSecurity security;
  security.cert_file = CertificatePath(pki, "cert.pem");
  security.key_file = CertificatePath(pki, "key.pem");
  security.ca_file = CertificatePath(pki, "ca.pem");
  return security;
}

std::vector<std::string> TestTlsFlags() {
  common::TransportSecurity security = TestTransportSecurity();
  return {"--tls_cert_file=" + security.cert_file, "--tls_key_file=" + security.key_file,
          "--tls_ca_file=" + security.ca_file};
}

std::shared_ptr<grpc::ChannelCredentials> TestChannelCredentials() {
  return common::ChannelCredentials(TestTransportSecurity());
}

}  // namespace marketplace::testing
