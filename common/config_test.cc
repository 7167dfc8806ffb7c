#include "common/config.h"

#include "common/version.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace marketplace::common {
namespace {

using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::Not;

// The typed config struct of an imaginary service, declared the way services declare theirs.
struct ShopConfig {
  std::string region;
  std::string db_password;
  int64_t pool_size = 0;
  int port = 0;
  int metrics_port = 0;
  bool read_only = false;
  absl::Duration timeout;
  std::string log_level;
};

class FlagsTest : public ::testing::Test {
 protected:
  FlagsTest() {
    flags_.AddString("region", &config_.region, "eu-west", "Region this replica serves.");
    flags_.AddSecret("db_password", &config_.db_password, "MariaDB password.");
    flags_.AddInt64("pool_size", &config_.pool_size, 8, 1, 64, "Database connections.");
    flags_.AddPort("port", &config_.port, 50051, "gRPC listen port.");
    flags_.AddPort("metrics_port", &config_.metrics_port, 9090, "Prometheus port.",
                   /*allow_zero=*/true);
    flags_.AddBool("read_only", &config_.read_only, false, "Refuse writes.");
    flags_.AddDuration("timeout", &config_.timeout, absl::Seconds(30), "Per-call deadline.");
    flags_.AddEnum("log_level", &config_.log_level, "info", {"debug", "info", "warn", "error"},
                   "Least severe level logged.");
  }

  absl::Status Parse(std::vector<std::string> args, const Environment& env = {}) {
    args.insert(args.begin(), "shop");
    std::vector<const char*> argv;
    for (const std::string& arg : args) argv.push_back(arg.c_str());
    return flags_.Parse(static_cast<int>(argv.size()), argv.data(), env);
  }

  // A file with `content`, removed at the end of the test.
  std::string WriteFile(const std::string& content) {
    std::string path = ::testing::TempDir() + "/secret_" + std::to_string(files_.size());
    std::ofstream(path) << content;
    files_.push_back(path);
    return path;
  }

  ~FlagsTest() override {
    for (const std::string& path : files_) unlink(path.c_str());
  }

  ShopConfig config_;
  Flags flags_{"shop", "Sells things."};
  std::vector<std::string> files_;
};

TEST_F(FlagsTest, DefaultsApplyWhenNothingIsGiven) {
  ASSERT_TRUE(Parse({}).ok());
  EXPECT_EQ(config_.region, "eu-west");
  EXPECT_EQ(config_.db_password, "");
  EXPECT_EQ(config_.pool_size, 8);
  EXPECT_EQ(config_.port, 50051);
  EXPECT_EQ(config_.metrics_port, 9090);
  EXPECT_FALSE(config_.read_only);
  EXPECT_EQ(config_.timeout, absl::Seconds(30));
  EXPECT_EQ(config_.log_level, "info");
}

TEST_F(FlagsTest, AcceptsEqualsAndSeparateValueForms) {
  ASSERT_TRUE(Parse({"--region=us-east", "--pool_size", "16", "--port=8443", "--read_only",
                     "--timeout", "250ms", "--log_level=debug", "--metrics_port", "0"})
                  .ok());
  EXPECT_EQ(config_.region, "us-east");
  EXPECT_EQ(config_.pool_size, 16);
  EXPECT_EQ(config_.port, 8443);
  EXPECT_EQ(config_.metrics_port, 0);
  EXPECT_TRUE(config_.read_only);
  EXPECT_EQ(config_.timeout, absl::Milliseconds(250));
  EXPECT_EQ(config_.log_level, "debug");
}

TEST_F(FlagsTest, StringMayBeEmptyOrContainEquals) {
  ASSERT_TRUE(Parse({"--region=a=b"}).ok());
  EXPECT_EQ(config_.region, "a=b");
  ASSERT_TRUE(Parse({"--region="}).ok());
  EXPECT_EQ(config_.region, "");
}

TEST_F(FlagsTest, Int64IsCheckedAgainstItsRange) {
  ASSERT_TRUE(Parse({"--pool_size=1"}).ok());
  EXPECT_EQ(config_.pool_size, 1);
  ASSERT_TRUE(Parse({"--pool_size=64"}).ok());
  EXPECT_EQ(config_.pool_size, 64);
  EXPECT_EQ(Parse({"--pool_size=65"}).message(),
            "--pool_size: must be an integer in [1, 64], got \"65\"");
  EXPECT_EQ(Parse({"--pool_size=0"}).message(),
            "--pool_size: must be an integer in [1, 64], got \"0\"");
  EXPECT_EQ(Parse({"--pool_size=eight"}).message(),
            "--pool_size: must be an integer in [1, 64], got \"eight\"");
  EXPECT_EQ(Parse({"--pool_size=99999999999999999999"}).message(),
            "--pool_size: must be an integer in [1, 64], got \"99999999999999999999\"");
}

TEST_F(FlagsTest, PortMustBeInRange) {
  absl::Status status = Parse({"--port=abc"});
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "--port: must be an integer in [1, 65535], got \"abc\"");
  EXPECT_EQ(Parse({"--port=0"}).message(), "--port: must be an integer in [1, 65535], got \"0\"");
  EXPECT_EQ(Parse({"--port=65536"}).message(),
            "--port: must be an integer in [1, 65535], got \"65536\"");
  EXPECT_EQ(Parse({"--metrics_port=-1"}).message(),
            "--metrics_port: must be an integer in [0, 65535], got \"-1\"");
  ASSERT_TRUE(Parse({"--port=65535"}).ok());
  EXPECT_EQ(config_.port, 65535);
}

TEST_F(FlagsTest, BoolForms) {
  ASSERT_TRUE(Parse({"--read_only=true"}).ok());
  EXPECT_TRUE(config_.read_only);
  ASSERT_TRUE(Parse({"--read_only=false"}).ok());
  EXPECT_FALSE(config_.read_only);
  ASSERT_TRUE(Parse({"--read_only=1"}).ok());
  EXPECT_TRUE(config_.read_only);
  ASSERT_TRUE(Parse({"--read_only=NO"}).ok());
  EXPECT_FALSE(config_.read_only);
  EXPECT_EQ(Parse({"--read_only=maybe"}).message(),
            "--read_only: must be true or false, got \"maybe\"");
}

TEST_F(FlagsTest, BareBoolDoesNotTakeTheNextArgument) {
  // "false" is not consumed as the bool's value, so it is an unexpected argument.
  EXPECT_EQ(Parse({"--read_only", "false"}).message(), "unexpected argument \"false\"");
  ASSERT_TRUE(Parse({"--read_only", "--port=1"}).ok());
  EXPECT_TRUE(config_.read_only);
  EXPECT_EQ(config_.port, 1);
}

TEST_F(FlagsTest, DurationNeedsAUnit) {
  ASSERT_TRUE(Parse({"--timeout=5m"}).ok());
  EXPECT_EQ(config_.timeout, absl::Minutes(5));
  ASSERT_TRUE(Parse({"--timeout=1h30m"}).ok());
  EXPECT_EQ(config_.timeout, absl::Minutes(90));
  ASSERT_TRUE(Parse({"--timeout=0"}).ok());
  EXPECT_EQ(config_.timeout, absl::ZeroDuration());
  for (const char* bad : {"30", "soon", "-5s", "inf"}) {
    EXPECT_EQ(Parse({std::string("--timeout=") + bad}).message(),
              std::string("--timeout: must be a non-negative duration such as 250ms, 30s or "
                          "5m, got \"") +
                  bad + "\"")
        << bad;
  }
}

TEST_F(FlagsTest, EnumAcceptsOnlyItsValues) {
  ASSERT_TRUE(Parse({"--log_level=warn"}).ok());
  EXPECT_EQ(config_.log_level, "warn");
  EXPECT_EQ(Parse({"--log_level=verbose"}).message(),
            "--log_level: must be one of [debug, info, warn, error], got \"verbose\"");
  EXPECT_EQ(Parse({"--log_level=INFO"}).message(),
            "--log_level: must be one of [debug, info, warn, error], got \"INFO\"");
}

TEST_F(FlagsTest, CommandLineWinsOverEnvironmentWhichWinsOverDefault) {
  Environment env = {{"MP_PORT", "7000"}, {"MP_REGION", "ap-south"}, {"MP_TIMEOUT", "2s"}};
  ASSERT_TRUE(Parse({"--port=8000"}, env).ok());
  EXPECT_EQ(config_.port, 8000);          // flag
  EXPECT_EQ(config_.region, "ap-south");  // environment
  EXPECT_EQ(config_.timeout, absl::Seconds(2));
  EXPECT_EQ(config_.pool_size, 8);  // default
  EXPECT_THAT(flags_.EffectiveConfig(),
              testing::Contains(testing::AllOf(
                  Field(&EffectiveOption::name, "port"), Field(&EffectiveOption::value, "8000"),
                  Field(&EffectiveOption::source, FlagSource::kCommandLine))));
}

TEST_F(FlagsTest, EnvironmentValuesAreValidatedAndNamed) {
  EXPECT_EQ(Parse({}, {{"MP_PORT", "http"}}).message(),
            "--port (from MP_PORT): must be an integer in [1, 65535], got \"http\"");
  // A valid flag hides a bad environment value: the command line wins.
  EXPECT_TRUE(Parse({"--port=1"}, {{"MP_PORT", "http"}}).ok());
  // Variables of other programs are none of our business.
  EXPECT_TRUE(Parse({}, {{"MP_SOMETHING_ELSE", "x"}, {"PATH", "/bin"}}).ok());
}

TEST_F(FlagsTest, RepeatedFlagTakesTheLastValue) {
  ASSERT_TRUE(Parse({"--port=1", "--port=2"}).ok());
  EXPECT_EQ(config_.port, 2);
}

TEST_F(FlagsTest, UnknownFlagIsAnErrorWithASuggestion) {
  EXPECT_EQ(Parse({"--prot=1"}).message(), "unknown flag --prot (did you mean --port?)");
  EXPECT_EQ(Parse({"--pool-size=1"}).message(),
            "unknown flag --pool-size (did you mean --pool_size?)");
  EXPECT_EQ(Parse({"--colour=red"}).message(), "unknown flag --colour");
  EXPECT_EQ(Parse({"--prot=1"}).code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(FlagsTest, MalformedArguments) {
  EXPECT_EQ(Parse({"-port=1"}).message(), "unexpected argument \"-port=1\" (flags start with --)");
  EXPECT_EQ(Parse({"positional"}).message(), "unexpected argument \"positional\"");
  EXPECT_EQ(Parse({"--port"}).message(), "--port: missing value");
  EXPECT_EQ(Parse({"--port", "--region=x"}).message(), "--port: missing value");
  EXPECT_EQ(Parse({"--", "extra"}).message(), "unexpected argument \"extra\"");
  EXPECT_TRUE(Parse({"--port=5", "--"}).ok());
}

TEST_F(FlagsTest, ErrorValuesAreEscapedOntoOneLine) {
  std::string message(Parse({"--port=1\n2"}).message());
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  EXPECT_THAT(message, HasSubstr("got \"1\\n2\""));
}

TEST_F(FlagsTest, SecretFromValueFileOrEnvironment) {
  ASSERT_TRUE(Parse({"--db_password=hunter2"}).ok());
  EXPECT_EQ(config_.db_password, "hunter2");

  std::string path = WriteFile("from-file\n");
  ASSERT_TRUE(Parse({"--db_password_file", path}).ok());
  EXPECT_EQ(config_.db_password, "from-file");

  ASSERT_TRUE(Parse({}, {{"MP_DB_PASSWORD", "from-env"}}).ok());
  EXPECT_EQ(config_.db_password, "from-env");

  ASSERT_TRUE(Parse({}, {{"MP_DB_PASSWORD_FILE", path}}).ok());
  EXPECT_EQ(config_.db_password, "from-file");

  // The command line (either form) wins over the environment (either form).
  ASSERT_TRUE(Parse({"--db_password_file=" + path}, {{"MP_DB_PASSWORD", "from-env"}}).ok());
  EXPECT_EQ(config_.db_password, "from-file");
}

TEST_F(FlagsTest, SecretFileErrors) {
  EXPECT_EQ(Parse({"--db_password_file=/nonexistent/x"}).message(),
            "--db_password_file: cannot read /nonexistent/x: No such file or directory");
  EXPECT_EQ(Parse({}, {{"MP_DB_PASSWORD_FILE", "/nonexistent/x"}}).message(),
            "--db_password_file (from MP_DB_PASSWORD_FILE): cannot read /nonexistent/x: No such "
            "file or directory");
  EXPECT_EQ(Parse({"--db_password_file=" + ::testing::TempDir()}).message(),
            "--db_password_file: cannot read " + ::testing::TempDir() + ": Is a directory");
  EXPECT_EQ(Parse({"--db_password=a", "--db_password_file=/x"}).message(),
            "--db_password and --db_password_file are both set; give one");
  EXPECT_EQ(Parse({}, {{"MP_DB_PASSWORD", "a"}, {"MP_DB_PASSWORD_FILE", "/x"}}).message(),
            "MP_DB_PASSWORD and MP_DB_PASSWORD_FILE are both set; give one");
}

TEST_F(FlagsTest, SecretNeverAppearsInTheEffectiveConfig) {
  ASSERT_TRUE(Parse({"--db_password=hunter2", "--port=8443"}).ok());
  std::string described = flags_.DescribeEffectiveConfig();
  EXPECT_THAT(described, Not(HasSubstr("hunter2")));
  EXPECT_THAT(described, HasSubstr("db_password=[REDACTED] (flag)"));
  EXPECT_THAT(described, HasSubstr("port=8443 (flag)"));
  EXPECT_THAT(described, HasSubstr("region=\"eu-west\" (default)"));
  EXPECT_THAT(described, HasSubstr("timeout=30s (default)"));
  for (const EffectiveOption& option : flags_.EffectiveConfig()) {
    EXPECT_THAT(option.value, Not(HasSubstr("hunter2")));
  }

  std::string path = WriteFile("s3cr3t-from-file");
  ASSERT_TRUE(Parse({}, {{"MP_DB_PASSWORD_FILE", path}}).ok());
  described = flags_.DescribeEffectiveConfig();
  EXPECT_THAT(described, Not(HasSubstr("s3cr3t")));
  EXPECT_THAT(described, HasSubstr("db_password=[REDACTED] (env, file)"));
  EXPECT_THAT(flags_.Usage(), Not(HasSubstr("s3cr3t")));
}

TEST_F(FlagsTest, DescribeListsEveryOptionInDeclarationOrder) {
  ASSERT_TRUE(Parse({}).ok());
  EXPECT_EQ(flags_.DescribeEffectiveConfig(),
            "region=\"eu-west\" (default), db_password=\"\" (default), pool_size=8 (default), "
            "port=50051 (default), metrics_port=9090 (default), read_only=false (default), "
            "timeout=30s (default), log_level=info (default)");
}

TEST_F(FlagsTest, HelpListsEveryOptionWithEnvDefaultAndHelp) {
  ASSERT_TRUE(Parse({"--port=bad", "--help"}).ok());
  EXPECT_TRUE(flags_.help_requested());
  std::string usage = flags_.Usage();
  EXPECT_THAT(usage, HasSubstr("Usage: shop"));
  EXPECT_THAT(usage, HasSubstr("Sells things."));
  EXPECT_THAT(usage, HasSubstr("  --port=<port 1..65535>\n"
                               "      gRPC listen port. (env MP_PORT; default 50051)\n"));
  EXPECT_THAT(usage, HasSubstr("  --metrics_port=<port 0..65535>\n"));
  EXPECT_THAT(usage, HasSubstr("  --db_password=<secret> | --db_password_file=<path>\n"
                               "      MariaDB password. (env MP_DB_PASSWORD | MP_DB_PASSWORD_FILE; "
                               "default empty)\n"));
  EXPECT_THAT(usage, HasSubstr("  --pool_size=<integer 1..64>\n"
                               "      Database connections. (env MP_POOL_SIZE; default 8)\n"));
  EXPECT_THAT(usage, HasSubstr("  --read_only[=<true|false>]\n"
                               "      Refuse writes. (env MP_READ_ONLY; default false)\n"));
  EXPECT_THAT(usage, HasSubstr("  --timeout=<duration>\n"
                               "      Per-call deadline. (env MP_TIMEOUT; default 30s)\n"));
  EXPECT_THAT(usage, HasSubstr("  --log_level=<debug|info|warn|error>\n"
                               "      Least severe level logged. (env MP_LOG_LEVEL; default "
                               "info)\n"));
  EXPECT_THAT(usage, HasSubstr("  --region=<string>\n"
                               "      Region this replica serves. (env MP_REGION; default "
                               "\"eu-west\")\n"));
  EXPECT_THAT(usage, HasSubstr("  --help\n"));
}

TEST(FlagsRequiredTest, RequiredOptionMustBeGiven) {
  std::string password;
  std::string region;
  Flags flags("shop");
  flags.AddSecret("db_password", &password, "MariaDB password.").Required();
  flags.AddString("region", &region, "", "Region.").Required();
  const char* argv[] = {"shop", "--region=eu"};
  EXPECT_EQ(flags.Parse(2, argv, {}).message(),
            "--db_password: required; set --db_password, --db_password_file, MP_DB_PASSWORD or "
            "MP_DB_PASSWORD_FILE");
  EXPECT_EQ(flags.Parse(1, argv, {{"MP_DB_PASSWORD", "x"}}).message(),
            "--region: required; set --region or MP_REGION");
  EXPECT_TRUE(flags.Parse(2, argv, {{"MP_DB_PASSWORD", "x"}}).ok());
  EXPECT_THAT(flags.Usage(), HasSubstr("(env MP_REGION; required)"));
}

TEST(FlagsDeclarationTest, BadDeclarationsFailParse) {
  const char* argv[] = {"shop"};
  {
    int port = 0;
    Flags flags("shop");
    flags.AddPort("port", &port, 1, "a");
    flags.AddPort("port", &port, 2, "b");
    EXPECT_EQ(flags.Parse(1, argv, {}).message(), "flag --port is declared twice");
  }
  {
    int64_t n = 0;
    Flags flags("shop");
    flags.AddInt64("workers", &n, 0, 1, 8, "w");
    EXPECT_EQ(flags.Parse(1, argv, {}).message(),
              "flag --workers: default 0 breaks its rule: must be an integer in [1, 8]");
  }
  {
    std::string s;
    Flags flags("shop");
    flags.AddString("Bad-Name", &s, "", "x");
    EXPECT_THAT(flags.Parse(1, argv, {}).message(), HasSubstr("flag \"Bad-Name\""));
  }
  {
    std::string a, b;
    Flags flags("shop");
    flags.AddSecret("key", &a, "x");
    flags.AddString("key_file", &b, "", "y");
    EXPECT_EQ(flags.Parse(1, argv, {}).message(), "flag --key_file is declared twice");
  }
  {
    std::string level;
    Flags flags("shop");
    flags.AddEnum("level", &level, "loud", {"quiet"}, "x");
    EXPECT_THAT(flags.Parse(1, argv, {}).message(), HasSubstr("default \"loud\" breaks its rule"));
  }
}

TEST(DurationBoundsTest, ValuesOutsideTheBoundsAreRefusedNamingTheRange) {
  absl::Duration interval;
  Flags flags("prog");
  flags.AddDuration("interval", &interval, absl::Seconds(5), absl::Milliseconds(100),
                    absl::Hours(1), "Poll interval.");
  const char* ok[] = {"prog", "--interval=2s"};
  ASSERT_TRUE(flags.Parse(2, ok, {}).ok());
  EXPECT_EQ(interval, absl::Seconds(2));
  for (const char* bad : {"--interval=50ms", "--interval=2h", "--interval=-1s"}) {
    const char* argv[] = {"prog", bad};
    absl::Status status = flags.Parse(2, argv, {});
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(status.message().find("[100ms, 1h]"), absl::string_view::npos) << status;
  }
}

TEST(DurationBoundsTest, ADefaultOutsideItsBoundsIsADeclarationError) {
  absl::Duration interval;
  Flags flags("prog");
  flags.AddDuration("interval", &interval, absl::Seconds(0), absl::Seconds(1),
                    absl::InfiniteDuration(), "Poll interval.");
  const char* argv[] = {"prog"};
  EXPECT_FALSE(flags.Parse(1, argv, {}).ok());
}

TEST(FlagEnvironmentVariableTest, PrefixedUpperCase) {
  EXPECT_EQ(FlagEnvironmentVariable("db_password"), "MP_DB_PASSWORD");
}

TEST(ProcessEnvironmentTest, ReadsTheRealEnvironment) {
  setenv("MP_CONFIG_TEST_VALUE", "a=b", 1);
  Environment env = ProcessEnvironment();
  EXPECT_EQ(env["MP_CONFIG_TEST_VALUE"], "a=b");
}

TEST(ParseOrExitTest, HelpExitsZeroAndErrorsExitTwo) {
  int port = 0;
  Flags flags("shop");
  flags.AddPort("port", &port, 50051, "gRPC listen port.");
  const char* help[] = {"shop", "--help"};
  EXPECT_EXIT(flags.ParseOrExit(2, help), testing::ExitedWithCode(0), "");
  const char* bad[] = {"shop", "--port=x"};
  EXPECT_EXIT(flags.ParseOrExit(2, bad), testing::ExitedWithCode(2),
              "shop: --port: must be an integer in \\[1, 65535\\], got \"x\"");
}

// --version wins over bad values, like --help; without //common:build_info linked (this test)
// the commit is "unknown".
TEST_F(FlagsTest, VersionIsRequestedEvenWithBadValues) {
  ASSERT_TRUE(Parse({"--port=bad", "--version"}).ok());
  EXPECT_TRUE(flags_.version_requested());
  EXPECT_FALSE(flags_.help_requested());
  EXPECT_EQ(flags_.VersionLine(), absl::StrCat("shop ", kVersion, " (commit unknown)"));
  EXPECT_THAT(flags_.Usage(), HasSubstr("  --version\n"));
}

TEST(ParseOrExitTest, VersionPrintsVersionAndCommitAndExitsZero) {
  int port = 0;
  Flags flags("shop");
  flags.AddPort("port", &port, 50051, "gRPC listen port.");
  const char* version[] = {"shop", "--version"};
  EXPECT_EXIT(
      {
        flags.ParseOrExit(2, version);
        std::exit(3);
      },
      testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace marketplace::common
