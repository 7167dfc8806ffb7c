#include "common/testing/free_port.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <random>

namespace marketplace::common::testing {
namespace {

// Whether 127.0.0.1:`port` can be bound now (0: any; the port bound is returned in `port`).
bool BindOnce(int& port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  socklen_t len = sizeof(addr);
  ok = ok && getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  if (ok) port = ntohs(addr.sin_port);
  close(fd);
  return ok;
}

}  // namespace

int PickFreePort() {
  int ephemeral_low = 32768;
  std::ifstream("/proc/sys/net/ipv4/ip_local_port_range") >> ephemeral_low;
  constexpr int kLowest = 10000;
  if (ephemeral_low - kLowest >= 1000) {
    thread_local std::mt19937 random(std::random_device{}());
    std::uniform_int_distribution<int> pick(kLowest, ephemeral_low - 1);
    for (int attempt = 0; attempt < 100; ++attempt) {
      int port = pick(random);
      if (BindOnce(port)) return port;
    }
  }
  int port = 0;
  return BindOnce(port) ? port : 0;
}

}  // namespace marketplace::common::testing
