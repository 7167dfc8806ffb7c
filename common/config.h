#ifndef MARKETPLACE_COMMON_CONFIG_H_
#define MARKETPLACE_COMMON_CONFIG_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace marketplace::common {

// Typed, validated start-up configuration from flags and the environment.
//
// A service declares each option once, pointing at a field of its typed config struct:
//
//   PaymentsConfig config;
//   Flags flags("payments", "Escrow and payouts.");
//   flags.AddPort("port", &config.port, 50051, "gRPC listen port.");
//   flags.AddSecret("db_password", &config.db_password, "MariaDB password.").Required();
//   flags.AddDuration("hold_period", &config.hold_period, absl::Hours(72), "Escrow hold.");
//   flags.ParseOrExit(argc, argv);
//   LogInfo("starting", {{"config", flags.DescribeEffectiveConfig()}});
//
// Option `name` is set by `--name=value` or `--name value` on the command line, or by the
// environment variable MP_<NAME> (upper case); the command line wins over the environment,
// which wins over the default. A value that breaks the option's rule, an unknown flag or a
// missing required option is an error: a typo never silently becomes a default.

using Environment = std::map<std::string, std::string>;

// The variables of this process (from `environ`).
Environment ProcessEnvironment();

// Where an option's effective value came from.
enum class FlagSource { kDefault, kEnvironment, kCommandLine };

// One option's effective value, for start-up logs; secrets are "[REDACTED]".
struct EffectiveOption {
  std::string name;
  std::string value;
  FlagSource source;
};

class Flags {
 private:
  struct Option;

 public:
  // Returned by the Add* methods to refine the declaration.
  class OptionHandle {
   public:
    // The option must be given (flag, file or environment); its default is not used.
    OptionHandle& Required();

   private:
    friend class Flags;
    explicit OptionHandle(Option* option) : option_(option) {}
    Option* option_;
  };

  // `program` and `description` head the --help text.
  explicit Flags(std::string program, std::string description = "");
  ~Flags();
  Flags(const Flags&) = delete;
  Flags& operator=(const Flags&) = delete;

  // Names are lower case letters, digits and '_', starting with a letter. A bad declaration
  // (bad or duplicate name, default outside the rule) makes Parse() fail naming it.
  // Every target must outlive Parse() and receives its default even when it is not set.

  // Any text.
  OptionHandle AddString(absl::string_view name, std::string* target, std::string default_value,
                         absl::string_view help);

  // Text that must not be seen: given as --name=value or as --name_file=path (the file's
  // content, without trailing whitespace: a mounted Kubernetes secret), likewise from
  // MP_<NAME> or MP_<NAME>_FILE. Never printed; defaults to empty.
  OptionHandle AddSecret(absl::string_view name, std::string* target, absl::string_view help);

  // An integer in [min_value, max_value].
  OptionHandle AddInt64(absl::string_view name, int64_t* target, int64_t default_value,
                        int64_t min_value, int64_t max_value, absl::string_view help);

  // A TCP port in [1, 65535]; [0, 65535] when `allow_zero` (0: the system picks a free one).
  OptionHandle AddPort(absl::string_view name, int* target, int default_value,
                       absl::string_view help, bool allow_zero = false);

  // true/false (also 1/0, yes/no). `--name` alone means true; a bool never takes the next
  // argument as its value, so use `--name=false`.
  OptionHandle AddBool(absl::string_view name, bool* target, bool default_value,
                       absl::string_view help);

  // A non-negative, finite duration with a unit: "250ms", "30s", "5m", "1h30m" ("0" also).
  OptionHandle AddDuration(absl::string_view name, absl::Duration* target,
                           absl::Duration default_value, absl::string_view help);
  // The same within [min_value, max_value] (absl::InfiniteDuration() for no upper bound), so
  // that a main never checks a duration by hand.
  OptionHandle AddDuration(absl::string_view name, absl::Duration* target,
                           absl::Duration default_value, absl::Duration min_value,
                           absl::Duration max_value, absl::string_view help);

  // One of `allowed` (exact match).
  OptionHandle AddEnum(absl::string_view name, std::string* target, std::string default_value,
                       std::vector<std::string> allowed, absl::string_view help);

  // Sets every target from `argv` (argv[0] is the program), then `env`, then the defaults.
  // Returns InvalidArgument with one line naming the option and its rule on the first
  // problem. With --help it returns OK, sets nothing and help_requested() becomes true; with
  // --version likewise and version_requested() becomes true.
  absl::Status Parse(int argc, const char* const* argv, const Environment& env);

  // For main(): Parse() with the process environment; on --help prints Usage() to stdout and
  // exits 0; on --version prints VersionLine() to stdout and exits 0; on an error prints it to
  // stderr and exits 2.
  void ParseOrExit(int argc, const char* const* argv);

  bool help_requested() const { return help_requested_; }
  bool version_requested() const { return version_requested_; }

  // "<program> <version> (commit <commit>)" (common/version.h).
  std::string VersionLine() const;

  // Every option with its flag, environment variable, default and help.
  std::string Usage() const;

  // The effective value and source of each option, in declaration order; secrets redacted.
  std::vector<EffectiveOption> EffectiveConfig() const;

  // The same on one line for the start-up log:
  //   port=50051 (flag), db_password=[REDACTED] (env), hold_period=72h (default)
  std::string DescribeEffectiveConfig() const;

 private:
  Option* Declare(absl::string_view name, absl::string_view help);
  Option* Find(absl::string_view flag_name, bool* is_file) const;
  std::string Suggest(absl::string_view unknown) const;

  std::string program_;
  std::string description_;
  std::vector<std::unique_ptr<Option>> options_;
  std::vector<std::string> declaration_errors_;
  bool help_requested_ = false;
  bool version_requested_ = false;
};

// The environment variable of option `name`: "MP_" + upper case name.
std::string FlagEnvironmentVariable(absl::string_view name);

}  // namespace marketplace::common

#endif  // MARKETPLACE_COMMON_CONFIG_H_
