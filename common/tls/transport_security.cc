#include "common/tls/transport_security.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/openssl_ptr.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/security/tls_certificate_provider.h"
#include "grpcpp/security/tls_certificate_verifier.h"
#include "grpcpp/security/tls_credentials_options.h"

namespace marketplace::common {
namespace {

absl::Status FlagError(absl::string_view flag, absl::string_view rule) {
  return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", rule));
}

absl::StatusOr<std::string> ReadFile(absl::string_view flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return FlagError(flag, absl::StrCat("cannot read \"", path, "\""));
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

BioPtr MemoryBio(const std::string& data) {
  return BioPtr(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

// Every certificate in a PEM file, in order; an error when there is none.
absl::StatusOr<std::vector<X509Ptr>> ReadCertificates(absl::string_view flag,
                                                      const std::string& path) {
  auto data = ReadFile(flag, path);
  if (!data.ok()) return data.status();
  auto bio = MemoryBio(*data);
  std::vector<X509Ptr> certs;
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    certs.emplace_back(cert);
  }
  ERR_clear_error();  // the end of the file reads as an error
  if (certs.empty()) {
    return FlagError(flag, absl::StrCat("\"", path, "\" holds no PEM certificate"));
  }
  return certs;
}

unsigned int ReloadSeconds(const TransportSecurity& security) {
  int64_t seconds = absl::ToInt64Seconds(security.reload_interval);
  return static_cast<unsigned int>(seconds < 1 ? 1 : seconds);
}

std::shared_ptr<grpc::experimental::FileWatcherCertificateProvider> WatchFiles(
    const TransportSecurity& security) {
  return std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      security.key_file, security.cert_file, security.ca_file, ReloadSeconds(security));
}

absl::Mutex process_mu(absl::kConstInit);
std::shared_ptr<grpc::ChannelCredentials>* process_credentials ABSL_GUARDED_BY(process_mu) =
    nullptr;

}  // namespace

void AddTransportSecurityFlags(Flags& flags, TransportSecurity* security) {
  flags.AddString("tls_cert_file", &security->cert_file, "",
                  "PEM certificate chain this process presents (as a server, and as a client "
                  "when --tls_ca_file is set).");
  flags.AddString("tls_key_file", &security->key_file, "", "PEM private key of --tls_cert_file.");
  flags.AddString("tls_ca_file", &security->ca_file, "",
                  "PEM CA bundle: servers then require client certificates it signed (mutual "
                  "TLS) and clients trust only servers it signed. Empty: system roots.");
  flags.AddDuration("tls_reload_interval", &security->reload_interval, absl::Seconds(60),
                    absl::Seconds(1), absl::Hours(24),
                    "How often the TLS files are read again (renewal without a restart).");
  flags.AddBool("insecure", &security->insecure, false,
                "Plaintext gRPC, without TLS. Required when no --tls_cert_file is given.");
}

absl::Status ValidateTransportSecurity(const TransportSecurity& security) {
  const bool any_file =
      !security.cert_file.empty() || !security.key_file.empty() || !security.ca_file.empty();
  if (security.insecure) {
    if (any_file) {
      return FlagError("insecure", "cannot be combined with --tls_cert_file, --tls_key_file "
                                   "or --tls_ca_file");
    }
    return absl::OkStatus();
  }
  if (security.cert_file.empty() && security.key_file.empty()) {
    return FlagError("tls_cert_file",
                     "required with --tls_key_file (TLS); plaintext needs --insecure");
  }
  if (security.cert_file.empty()) return FlagError("tls_cert_file", "required with --tls_key_file");
  if (security.key_file.empty()) return FlagError("tls_key_file", "required with --tls_cert_file");

  auto chain = ReadCertificates("tls_cert_file", security.cert_file);
  if (!chain.ok()) return chain.status();
  X509* leaf = chain->front().get();
  if (X509_cmp_current_time(X509_get0_notAfter(leaf)) < 0) {
    return FlagError("tls_cert_file", absl::StrCat("\"", security.cert_file, "\" has expired"));
  }
  auto key_data = ReadFile("tls_key_file", security.key_file);
  if (!key_data.ok()) return key_data.status();
  auto bio = MemoryBio(*key_data);
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (key == nullptr) {
    return FlagError("tls_key_file",
                     absl::StrCat("\"", security.key_file, "\" holds no unencrypted PEM key"));
  }
  if (X509_check_private_key(leaf, key.get()) != 1) {
    ERR_clear_error();
    return FlagError("tls_key_file",
                     absl::StrCat("\"", security.key_file, "\" is not the key of \"",
                                  security.cert_file, "\""));
  }
  if (!security.ca_file.empty()) {
    auto roots = ReadCertificates("tls_ca_file", security.ca_file);
    if (!roots.ok()) return roots.status();
  }
  return absl::OkStatus();
}

std::shared_ptr<grpc::ServerCredentials> ServerCredentials(const TransportSecurity& security) {
  if (security.insecure) return grpc::InsecureServerCredentials();
  grpc::experimental::TlsServerCredentialsOptions options(WatchFiles(security));
  options.watch_identity_key_cert_pairs();
  if (!security.ca_file.empty()) {
    options.watch_root_certs();
    options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  }
  return grpc::experimental::TlsServerCredentials(options);
}

std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials(const TransportSecurity& security) {
  if (security.insecure) return grpc::InsecureChannelCredentials();
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(WatchFiles(security));
  options.watch_identity_key_cert_pairs();
  // Without a CA bundle the system's roots are used.
  if (!security.ca_file.empty()) options.watch_root_certs();
  options.set_verify_server_certs(true);
  // The server's certificate must name the host the channel dials.
  options.set_certificate_verifier(
      std::make_shared<grpc::experimental::HostNameCertificateVerifier>());
  return grpc::experimental::TlsCredentials(options);
}

void SetProcessTransportSecurity(const TransportSecurity& security) {
  auto credentials = ChannelCredentials(security);
  absl::MutexLock lock(&process_mu);
  delete process_credentials;
  process_credentials = new std::shared_ptr<grpc::ChannelCredentials>(std::move(credentials));
}

std::shared_ptr<grpc::ChannelCredentials> ProcessChannelCredentials() {
  {
    absl::MutexLock lock(&process_mu);
    if (process_credentials != nullptr) return *process_credentials;
  }
  return grpc::InsecureChannelCredentials();
}

}  // namespace marketplace::common
