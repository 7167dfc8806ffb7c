#include "common/config.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "common/version.h"

extern char** environ;

// Defined by //common:build_info in the service binaries; absent (null) elsewhere.
extern "C" const char* MpBuildCommit() __attribute__((weak));

namespace marketplace::common {

const char* BuildCommit() { return MpBuildCommit != nullptr ? MpBuildCommit() : "unknown"; }

struct Flags::Option {
  std::string name;
  std::string help;
  // What the value looks like, for --help: "<port 1..65535>".
  std::string value_hint;
  // The default as written on the command line; empty for none.
  std::string default_text;
  bool is_secret = false;
  bool is_bool = false;
  bool required = false;
  FlagSource source = FlagSource::kDefault;
  bool from_file = false;
  // Parses and stores a value; on failure the status message is the rule it breaks.
  std::function<absl::Status(absl::string_view)> set;
  // Stores the default.
  std::function<void()> reset;
  // The current value as printed in the effective config (never a secret's value).
  std::function<std::string()> describe;
};

namespace {

constexpr absl::string_view kFileSuffix = "_file";
constexpr absl::string_view kRedacted = "[REDACTED]";

std::string Quoted(absl::string_view value) {
  return absl::StrCat("\"", absl::CHexEscape(value), "\"");
}

absl::Status BrokenRule(absl::string_view rule, absl::string_view value) {
  return absl::InvalidArgumentError(absl::StrCat(rule, ", got ", Quoted(value)));
}

bool IsValidName(absl::string_view name) {
  if (name.empty() || !absl::ascii_islower(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_islower(static_cast<unsigned char>(c)) ||
           absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '_';
  });
}

std::optional<bool> ParseBool(absl::string_view value) {
  std::string lower = absl::AsciiStrToLower(value);
  if (lower == "true" || lower == "1" || lower == "yes") return true;
  if (lower == "false" || lower == "0" || lower == "no") return false;
  return std::nullopt;
}

absl::Status ReadSecretFile(const std::string& path, std::string* content) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  }
  std::string data;
  char buffer[4096];
  while (true) {
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int error = errno;
      close(fd);
      return absl::InvalidArgumentError(
          absl::StrCat("cannot read ", path, ": ", std::strerror(error)));
    }
    if (n == 0) break;
    data.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  // Files written by editors and Kubernetes secrets often end with a newline that is not part
  // of the secret.
  absl::StripTrailingAsciiWhitespace(&data);
  *content = std::move(data);
  return absl::OkStatus();
}

// Edit distance counting a transposition as one edit, so "prot" is one step from "port".
size_t EditDistance(absl::string_view a, absl::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

absl::string_view SourceName(FlagSource source) {
  switch (source) {
    case FlagSource::kDefault:
      return "default";
    case FlagSource::kEnvironment:
      return "env";
    case FlagSource::kCommandLine:
      return "flag";
  }
  return "default";
}

}  // namespace

Environment ProcessEnvironment() {
  Environment env;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    absl::string_view text(*entry);
    size_t eq = text.find('=');
    if (eq == absl::string_view::npos) continue;
    env.emplace(std::string(text.substr(0, eq)), std::string(text.substr(eq + 1)));
  }
  return env;
}

std::string FlagEnvironmentVariable(absl::string_view name) {
  return absl::StrCat("MP_", absl::AsciiStrToUpper(name));
}

Flags::OptionHandle& Flags::OptionHandle::Required() {
  option_->required = true;
  return *this;
}

Flags::Flags(std::string program, std::string description)
    : program_(std::move(program)), description_(std::move(description)) {}

Flags::~Flags() = default;

Flags::Option* Flags::Find(absl::string_view flag_name, bool* is_file) const {
  for (const auto& option : options_) {
    if (option->name == flag_name) {
      *is_file = false;
      return option.get();
    }
    if (option->is_secret && absl::StartsWith(flag_name, option->name) &&
        flag_name.substr(option->name.size()) == kFileSuffix) {
      *is_file = true;
      return option.get();
    }
  }
  return nullptr;
}

Flags::Option* Flags::Declare(absl::string_view name, absl::string_view help) {
  bool is_file = false;
  if (!IsValidName(name)) {
    declaration_errors_.push_back(absl::StrCat("flag ", Quoted(name),
                                               ": names are lower case letters, digits and '_', "
                                               "starting with a letter"));
  } else if (name == "help" || Find(name, &is_file) != nullptr) {
    declaration_errors_.push_back(absl::StrCat("flag --", name, " is declared twice"));
  }
  auto option = std::make_unique<Option>();
  option->name = std::string(name);
  option->help = std::string(help);
  options_.push_back(std::move(option));
  return options_.back().get();
}

Flags::OptionHandle Flags::AddString(absl::string_view name, std::string* target,
                                     std::string default_value, absl::string_view help) {
  Option* option = Declare(name, help);
  option->value_hint = "<string>";
  option->default_text = Quoted(default_value);
  option->set = [target](absl::string_view value) {
    *target = std::string(value);
    return absl::OkStatus();
  };
  option->reset = [target, default_value] { *target = default_value; };
  option->describe = [target] { return Quoted(*target); };
  return OptionHandle(option);
}

Flags::OptionHandle Flags::AddSecret(absl::string_view name, std::string* target,
                                     absl::string_view help) {
  bool is_file = false;
  std::string file_flag = absl::StrCat(name, kFileSuffix);
  if (Find(file_flag, &is_file) != nullptr) {
    declaration_errors_.push_back(
        absl::StrCat("flag --", file_flag, " is declared twice (it reads secret --", name, ")"));
  }
  Option* option = Declare(name, help);
  option->is_secret = true;
  option->value_hint = "<secret>";
  option->set = [target](absl::string_view value) {
    *target = std::string(value);
    return absl::OkStatus();
  };
  option->reset = [target] { target->clear(); };
  option->describe = [target] {
    return target->empty() ? std::string("\"\"") : std::string(kRedacted);
  };
  return OptionHandle(option);
}

Flags::OptionHandle Flags::AddInt64(absl::string_view name, int64_t* target, int64_t default_value,
                                    int64_t min_value, int64_t max_value, absl::string_view help) {
  Option* option = Declare(name, help);
  std::string rule = absl::StrCat("must be an integer in [", min_value, ", ", max_value, "]");
  if (min_value > max_value || default_value < min_value || default_value > max_value) {
    declaration_errors_.push_back(
        absl::StrCat("flag --", name, ": default ", default_value, " breaks its rule: ", rule));
  }
  option->value_hint = absl::StrCat("<integer ", min_value, "..", max_value, ">");
  option->default_text = absl::StrCat(default_value);
  option->set = [target, min_value, max_value, rule](absl::string_view value) {
    int64_t parsed;
    if (!absl::SimpleAtoi(value, &parsed) || parsed < min_value || parsed > max_value) {
      return BrokenRule(rule, value);
    }
    *target = parsed;
    return absl::OkStatus();
  };
  option->reset = [target, default_value] { *target = default_value; };
  option->describe = [target] { return absl::StrCat(*target); };
  return OptionHandle(option);
}

Flags::OptionHandle Flags::AddPort(absl::string_view name, int* target, int default_value,
                                   absl::string_view help, bool allow_zero) {
  Option* option = Declare(name, help);
  const int min_port = allow_zero ? 0 : 1;
  std::string rule = absl::StrCat("must be an integer in [", min_port, ", 65535]");
  if (default_value < min_port || default_value > 65535) {
    declaration_errors_.push_back(
        absl::StrCat("flag --", name, ": default ", default_value, " breaks its rule: ", rule));
  }
  option->value_hint = absl::StrCat("<port ", min_port, "..65535>");
  option->default_text = absl::StrCat(default_value);
  option->set = [target, min_port, rule](absl::string_view value) {
    int parsed;
    if (!absl::SimpleAtoi(value, &parsed) || parsed < min_port || parsed > 65535) {
      return BrokenRule(rule, value);
    }
    *target = parsed;
    return absl::OkStatus();
  };
  option->reset = [target, default_value] { *target = default_value; };
  option->describe = [target] { return absl::StrCat(*target); };
  return OptionHandle(option);
}

Flags::OptionHandle Flags::AddBool(absl::string_view name, bool* target, bool default_value,
                                   absl::string_view help) {
  Option* option = Declare(name, help);
  option->is_bool = true;
  option->value_hint = "[=<true|false>]";
  option->default_text = default_value ? "true" : "false";
  option->set = [target](absl::string_view value) {
    std::optional<bool> parsed = ParseBool(value);
    if (!parsed) return BrokenRule("must be true or false", value);
    *target = *parsed;
    return absl::OkStatus();
  };
  option->reset = [target, default_value] { *target = default_value; };
  option->describe = [target] { return std::string(*target ? "true" : "false"); };
  return OptionHandle(option);
}

Flags::OptionHandle Flags::AddDuration(absl::string_view name, absl::Duration* target,
                                       absl::Duration default_value, absl::string_view help) {
  return AddDuration(name, target, default_value, absl::ZeroDuration(),
                     absl::InfiniteDuration(), help);
}

Flags::OptionHandle Flags::AddDuration(absl::string_view name, absl::Duration* target,
                                       absl::Duration default_value, absl::Duration min_value,
                                       absl::Duration max_value, absl::string_view help) {
  Option* option = Declare(name, help);
  if (min_value < absl::ZeroDuration()) min_value = absl::ZeroDuration();
  const bool bounded = max_value != absl::InfiniteDuration();
  const std::string rule =
      bounded ? absl::StrCat("must be a duration in [", absl::FormatDuration(min_value), ", ",
                             absl::FormatDuration(max_value), "] such as 250ms, 30s or 5m")
      : min_value > absl::ZeroDuration()
          ? absl::StrCat("must be a finite duration of at least ", absl::FormatDuration(min_value),
                         " such as 250ms, 30s or 5m")
          : std::string("must be a non-negative duration such as 250ms, 30s or 5m");
  if (min_value > max_value || default_value < min_value || default_value > max_value ||
      default_value == absl::InfiniteDuration()) {
    declaration_errors_.push_back(absl::StrCat(
        "flag --", name, ": default ", absl::FormatDuration(default_value), " breaks its rule: ",
        rule));
  }
  option->value_hint =
      bounded ? absl::StrCat("<duration ", absl::FormatDuration(min_value), "..",
                             absl::FormatDuration(max_value), ">")
              : std::string("<duration>");
  option->default_text = absl::FormatDuration(default_value);
  option->set = [target, min_value, max_value, rule](absl::string_view value) {
    absl::Duration parsed;
    if (!absl::ParseDuration(value, &parsed) || parsed < min_value || parsed > max_value ||
        parsed == absl::InfiniteDuration()) {
      return BrokenRule(rule, value);
    }
    *target = parsed;
    return absl::OkStatus();
  };
  option->reset = [target, default_value] { *target = default_value; };
  option->describe = [target] { return absl::FormatDuration(*target); };
  return OptionHandle(option);
}

Flags::OptionHandle Flags::AddEnum(absl::string_view name, std::string* target,
                                   std::string default_value, std::vector<std::string> allowed,
                                   absl::string_view help) {
  Option* option = Declare(name, help);
  std::string rule = absl::StrCat("must be one of [", absl::StrJoin(allowed, ", "), "]");
  if (std::find(allowed.begin(), allowed.end(), default_value) == allowed.end()) {
    declaration_errors_.push_back(absl::StrCat("flag --", name, ": default ", Quoted(default_value),
                                               " breaks its rule: ", rule));
  }
  option->value_hint = absl::StrCat("<", absl::StrJoin(allowed, "|"), ">");
  option->default_text = default_value;
  option->set = [target, allowed, rule](absl::string_view value) {
    if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
      return BrokenRule(rule, value);
    }
    *target = std::string(value);
    return absl::OkStatus();
  };
  option->reset = [target, default_value] { *target = default_value; };
  option->describe = [target] { return *target; };
  return OptionHandle(option);
}

std::string Flags::Suggest(absl::string_view unknown) const {
  std::string best;
  size_t best_distance = 3;  // Further than two edits is a different word, not a typo.
  auto consider = [&](const std::string& candidate) {
    size_t distance = EditDistance(unknown, candidate);
    if (distance < best_distance && distance * 2 < candidate.size()) {
      best_distance = distance;
      best = candidate;
    }
  };
  for (const auto& option : options_) {
    consider(option->name);
    if (option->is_secret) consider(absl::StrCat(option->name, kFileSuffix));
  }
  consider("help");
  consider("version");
  return best;
}

absl::Status Flags::Parse(int argc, const char* const* argv, const Environment& env) {
  help_requested_ = false;
  version_requested_ = false;
  if (!declaration_errors_.empty()) {
    return absl::InvalidArgumentError(declaration_errors_.front());
  }
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg(argv[i]);
    if (arg == "--") break;
    if (arg == "--help" || arg == "-help" || arg == "-h") {
      help_requested_ = true;
      return absl::OkStatus();
    }
    if (arg == "--version") {
      version_requested_ = true;
      return absl::OkStatus();
    }
  }

  struct Given {
    std::string value;
    bool is_file = false;
  };
  std::map<Option*, Given> command_line;
  for (int i = 1; i < argc; ++i) {
    absl::string_view arg(argv[i]);
    if (arg == "--") {
      if (i + 1 < argc) {
        return absl::InvalidArgumentError(
            absl::StrCat("unexpected argument ", Quoted(argv[i + 1])));
      }
      break;
    }
    if (!absl::ConsumePrefix(&arg, "--")) {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument ", Quoted(arg),
                       absl::StartsWith(arg, "-") ? " (flags start with --)" : ""));
    }
    absl::string_view name = arg;
    std::optional<std::string> value;
    if (size_t eq = arg.find('='); eq != absl::string_view::npos) {
      name = arg.substr(0, eq);
      value = std::string(arg.substr(eq + 1));
    }
    bool is_file = false;
    Option* option = Find(name, &is_file);
    if (option == nullptr) {
      std::string suggestion = Suggest(name);
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown flag --", name,
          suggestion.empty() ? "" : absl::StrCat(" (did you mean --", suggestion, "?)")));
    }
    if (!value) {
      if (option->is_bool) {
        value = "true";
      } else if (i + 1 < argc && !absl::StartsWith(argv[i + 1], "--")) {
        value = argv[++i];
      } else {
        return absl::InvalidArgumentError(absl::StrCat("--", name, ": missing value"));
      }
    }
    auto [it, inserted] = command_line.try_emplace(option);
    if (!inserted && it->second.is_file != is_file) {
      return absl::InvalidArgumentError(absl::StrCat("--", option->name, " and --", option->name,
                                                     kFileSuffix, " are both set; give one"));
    }
    // A repeated flag takes its last value, so a script can append an override.
    it->second = Given{*std::move(value), is_file};
  }

  for (const auto& owned : options_) {
    Option* option = owned.get();
    option->reset();
    option->source = FlagSource::kDefault;
    option->from_file = false;

    std::optional<Given> given;
    std::string label;  // how the value was given, for errors
    if (auto it = command_line.find(option); it != command_line.end()) {
      given = it->second;
      option->source = FlagSource::kCommandLine;
      label = absl::StrCat("--", option->name, given->is_file ? kFileSuffix : "");
    } else {
      std::string variable = FlagEnvironmentVariable(option->name);
      auto value = env.find(variable);
      auto file = option->is_secret ? env.find(absl::StrCat(variable, "_FILE")) : env.end();
      if (value != env.end() && file != env.end()) {
        return absl::InvalidArgumentError(
            absl::StrCat(variable, " and ", variable, "_FILE are both set; give one"));
      }
      if (value != env.end()) {
        given = Given{value->second, false};
        label = absl::StrCat("--", option->name, " (from ", variable, ")");
      } else if (file != env.end()) {
        given = Given{file->second, true};
        label = absl::StrCat("--", option->name, kFileSuffix, " (from ", variable, "_FILE)");
      }
      if (given) option->source = FlagSource::kEnvironment;
    }

    if (!given) {
      if (!option->required) continue;
      std::string variable = FlagEnvironmentVariable(option->name);
      return absl::InvalidArgumentError(
          option->is_secret
              ? absl::StrCat("--", option->name, ": required; set --", option->name, ", --",
                             option->name, kFileSuffix, ", ", variable, " or ", variable, "_FILE")
              : absl::StrCat("--", option->name, ": required; set --", option->name, " or ",
                             variable));
    }
    std::string value = std::move(given->value);
    if (given->is_file) {
      std::string path = std::move(value);
      absl::Status read = ReadSecretFile(path, &value);
      if (!read.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(label, ": ", read.message()));
      }
      option->from_file = true;
    }
    if (absl::Status set = option->set(value); !set.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(label, ": ", set.message()));
    }
  }
  return absl::OkStatus();
}

void Flags::ParseOrExit(int argc, const char* const* argv) {
  absl::Status status = Parse(argc, argv, ProcessEnvironment());
  if (help_requested_) {
    std::cout << Usage();
    std::cout.flush();
    std::exit(0);
  }
  if (version_requested_) {
    std::cout << VersionLine() << "\n";
    std::cout.flush();
    std::exit(0);
  }
  if (!status.ok()) {
    // One line, so log collectors keep the error whole.
    std::cerr << program_ << ": " << status.message() << " (see " << program_ << " --help)\n";
    std::exit(2);
  }
}

std::string Flags::Usage() const {
  std::string out = absl::StrCat("Usage: ", program_, " [--flag=value ...]\n");
  if (!description_.empty()) absl::StrAppend(&out, description_, "\n");
  absl::StrAppend(&out,
                  "\nEach flag can also be set by its environment variable; the command line "
                  "wins over\nthe environment, which wins over the default.\n\nFlags:\n");
  for (const auto& option : options_) {
    std::string variable = FlagEnvironmentVariable(option->name);
    std::string syntax =
        absl::StrCat("--", option->name, option->is_bool ? "" : "=", option->value_hint);
    std::string env = absl::StrCat("env ", variable);
    if (option->is_secret) {
      absl::StrAppend(&syntax, " | --", option->name, kFileSuffix, "=<path>");
      absl::StrAppend(&env, " | ", variable, "_FILE");
    }
    std::string fallback = option->required    ? "required"
                           : option->is_secret ? "default empty"
                                               : absl::StrCat("default ", option->default_text);
    absl::StrAppend(&out, "  ", syntax, "\n      ", option->help, " (", env, "; ", fallback, ")\n");
  }
  absl::StrAppend(&out, "  --help\n      Print this help and exit.\n");
  absl::StrAppend(&out, "  --version\n      Print the version and build commit and exit.\n");
  return out;
}

std::string Flags::VersionLine() const {
  return absl::StrCat(program_, " ", kVersion, " (commit ", BuildCommit(), ")");
}

std::vector<EffectiveOption> Flags::EffectiveConfig() const {
  std::vector<EffectiveOption> result;
  result.reserve(options_.size());
  for (const auto& option : options_) {
    result.push_back({option->name, option->describe(), option->source});
  }
  return result;
}

std::string Flags::DescribeEffectiveConfig() const {
  std::vector<std::string> parts;
  for (const auto& option : options_) {
    parts.push_back(absl::StrCat(option->name, "=", option->describe(), " (",
                                 SourceName(option->source), option->from_file ? ", file" : "",
                                 ")"));
  }
  return absl::StrJoin(parts, ", ");
}

}  // namespace marketplace::common
