#ifndef MARKETPLACE_COMMON_TLS_TRANSPORT_SECURITY_H_
#define MARKETPLACE_COMMON_TLS_TRANSPORT_SECURITY_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/config.h"
#include "grpcpp/grpcpp.h"

namespace marketplace::common {

// How a process protects its gRPC links (README "Transport security"): TLS from PEM files,
// mutual TLS when a CA bundle is given, or plaintext only when asked for explicitly.
struct TransportSecurity {
  // This process's certificate chain and key. The server presents them; with a CA bundle
  // they are also the client certificate of every outgoing call (mutual TLS).
  std::string cert_file;
  std::string key_file;
  // CA bundle. Set: servers require a client certificate signed by it, and clients accept
  // only servers whose certificate it signed. Empty: servers ask for no client certificate
  // and clients verify servers against the system's roots.
  std::string ca_file;
  // How often the three files are read again: a renewed certificate (cert-manager writes the
  // new files in place) is used for new connections without a restart.
  absl::Duration reload_interval = absl::Seconds(60);
  // Plaintext. Never implied: a process given neither --insecure nor a certificate exits 2.
  bool insecure = false;
};

// Declares --tls_cert_file, --tls_key_file, --tls_ca_file, --tls_reload_interval and
// --insecure.
void AddTransportSecurityFlags(Flags& flags, TransportSecurity* security);

// INVALID_ARGUMENT naming the flag: neither TLS nor --insecure, both, a certificate without
// its key, a file that cannot be read or holds no PEM of its kind, a key that does not belong
// to the certificate, or a certificate that has expired.
absl::Status ValidateTransportSecurity(const TransportSecurity& security);

// Credentials for a listening port, or for channels. Files are watched, not read once; call
// ValidateTransportSecurity first (these do not fail: a bad file only fails handshakes).
std::shared_ptr<grpc::ServerCredentials> ServerCredentials(const TransportSecurity& security);
std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials(const TransportSecurity& security);

// The credentials MakeChannel uses for every outgoing channel of this process. A service's
// main sets them once from its flags before any channel is made; until then they are
// plaintext (in-process tests that start their own plaintext servers).
void SetProcessTransportSecurity(const TransportSecurity& security);
std::shared_ptr<grpc::ChannelCredentials> ProcessChannelCredentials();

}  // namespace marketplace::common

#endif  // MARKETPLACE_COMMON_TLS_TRANSPORT_SECURITY_H_
