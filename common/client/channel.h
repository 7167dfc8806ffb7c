#ifndef MARKETPLACE_COMMON_CLIENT_CHANNEL_H_
#define MARKETPLACE_COMMON_CLIENT_CHANNEL_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "grpcpp/grpcpp.h"

namespace marketplace::common {

// How to reach another service. One channel per target, shared by all calls.
struct ChannelOptions {
  // host:port or any gRPC target ("dns:///identity:7001").
  std::string target;
  // Methods that are safe to retry, as "pkg.Service/Method", or "pkg.Service" for all of a
  // service's methods. Only these are retried, and only on UNAVAILABLE.
  std::vector<std::string> idempotent_methods;
  int max_attempts = 4;
  absl::Duration initial_backoff = absl::Milliseconds(100);
  absl::Duration max_backoff = absl::Seconds(2);
  int max_message_bytes = 4 * 1024 * 1024;
  absl::Duration keepalive_time = absl::Seconds(60);
  // Null: the process's (SetProcessTransportSecurity in common/tls/transport_security.h),
  // which a service's main sets from its --tls_* / --insecure flags.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
};

// The gRPC service config JSON that carries the retry policy of `options`.
std::string RetryServiceConfig(const ChannelOptions& options);

// A channel with the credentials (TLS, mutual TLS or, by --insecure only, plaintext), retry
// policy, message limits and keepalive of `options`.
std::shared_ptr<grpc::Channel> MakeChannel(const ChannelOptions& options);

// What an outgoing call carries.
struct OutgoingCall {
  // Upper bound for this call; the incoming call's deadline, when earlier, wins.
  absl::Duration timeout = absl::Seconds(5);
  // Deadline of the call being served, if any (ServerContext::deadline()).
  std::optional<absl::Time> incoming_deadline;
  // Request id to propagate (x-request-id); empty: none.
  std::string request_id;
  // Bearer token: the caller's own when acting for them, or this service's token.
  std::string bearer_token;
};

// Sets deadline and metadata on `context` before a call.
void PrepareClientContext(grpc::ClientContext* context, const OutgoingCall& call);

// The incoming deadline of a server call, or nullopt when the client set none.
std::optional<absl::Time> IncomingDeadline(const grpc::ServerContextBase& context);

}  // namespace marketplace::common

#endif  // MARKETPLACE_COMMON_CLIENT_CHANNEL_H_
