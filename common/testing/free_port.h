#ifndef MARKETPLACE_COMMON_TESTING_FREE_PORT_H_
#define MARKETPLACE_COMMON_TESTING_FREE_PORT_H_

namespace marketplace::common::testing {

// A TCP port that was free a moment ago on 127.0.0.1, chosen at random below the kernel's
// ephemeral range (ip_local_port_range): a port from that range, as bind(0) gives, can be
// taken meanwhile as the source port of any outgoing connection (a test's many database and
// gRPC clients) before the server meant to listen on it starts. Falls back to bind(0) when
// the range leaves no room below it; 0 if not even that works. A caller that starts a server
// on it should still retry with another port when the bind fails.
int PickFreePort();

}  // namespace marketplace::common::testing

#endif  // MARKETPLACE_COMMON_TESTING_FREE_PORT_H_
