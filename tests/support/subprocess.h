#ifndef MARKETPLACE_TESTS_SUPPORT_SUBPROCESS_H_
#define MARKETPLACE_TESTS_SUPPORT_SUBPROCESS_H_

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/testing/free_port.h"

namespace marketplace::testing {

// A child process for tests that run real binaries: its stderr goes to a file the test can
// read, and it is killed when the test process dies or the object goes away.
class Subprocess {
 public:
  static absl::StatusOr<Subprocess> Start(const std::string& binary,
                                          const std::vector<std::string>& args);
  Subprocess(Subprocess&& other) noexcept;
  Subprocess& operator=(Subprocess&&) = delete;
  ~Subprocess();

  pid_t pid() const { return pid_; }
  void Signal(int sig) const;

  // The exit code once it exits within `timeout` (128 + signal when killed), else nullopt.
  std::optional<int> WaitFor(absl::Duration timeout);

  // What it wrote to stderr (and stdout) so far.
  std::string Output() const;

 private:
  Subprocess(pid_t pid, std::string output_path) : pid_(pid), output_path_(std::move(output_path)) {}
  pid_t pid_ = -1;
  std::string output_path_;
  std::optional<int> exit_code_;
};

// Path of a binary given by its runfiles-relative path, e.g. "bench/echo_server".
std::string RunfilePath(const std::string& relative);

// A free port for a server a test starts (common/testing/free_port.h).
using ::marketplace::common::testing::PickFreePort;

}  // namespace marketplace::testing

#endif  // MARKETPLACE_TESTS_SUPPORT_SUBPROCESS_H_
