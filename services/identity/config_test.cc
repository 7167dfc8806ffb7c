#include "services/identity/config.h"

#include <string>
#include <vector>

#include "common/config.h"
#include "gtest/gtest.h"

namespace marketplace::identity {
namespace {

absl::Status ParseAndValidate(std::vector<std::string> args) {
  IdentityConfig config;
  common::Flags flags("identity_server");
  config.AddFlags(flags);
  args.insert(args.begin(), "identity_server");
  args.push_back("--signing_key_encryption_key=" + std::string(64, 'c'));
  std::vector<const char*> argv;
  for (const std::string& a : args) argv.push_back(a.c_str());
  if (absl::Status s = flags.Parse(static_cast<int>(argv.size()), argv.data(), {}); !s.ok()) {
    return s;
  }
  return config.Validate();
}

TEST(IdentityConfigTest, DefaultsAreValid) { EXPECT_TRUE(ParseAndValidate({}).ok()); }

TEST(IdentityConfigTest, EachBadValueIsRefusedNamingItsFlag) {
  for (const std::string& bad :
       {"--argon2id_memory_kib=1024", "--token_audiences=catalog", "--access_token_ttl=2h",
        "--min_key_rotation_interval=25h", "--caller_check_cache_ttl=11s",
        "--cleanup_interval=500ms", "--bootstrap_admin_email=a@example.com"}) {
    absl::Status status = ParseAndValidate({bad});
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad;
    const std::string flag = bad.substr(2, bad.find('=') - 2);
    EXPECT_NE(status.message().find(flag), absl::string_view::npos) << bad << ": " << status;
  }
}

TEST(IdentityConfigTest, AudiencesAreSplitOnCommasAndTrimmed) {
  IdentityConfig config;
  config.audiences = " identity, catalog ,payments";
  EXPECT_EQ(config.Tokens().audiences,
            (std::vector<std::string>{"identity", "catalog", "payments"}));
}

// The grammar itself is common/outbox:subscribers_test's; here: identity takes the flag and
// refuses a bad value at start, naming it.
TEST(IdentityConfigTest, EventSubscribersAreCheckedAtStart) {
  EXPECT_TRUE(ParseAndValidate({"--event_subscribers=catalog=127.0.0.1:7002:identity.,"
                                "payments=payments:7000:identity."})
                  .ok());
  for (const char* bad : {"catalog", "catalog=host:7002", "=host:1:identity.", "c=:1:x",
                          "c=host::identity."}) {
    absl::Status status = ParseAndValidate({std::string("--event_subscribers=") + bad});
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(status.message().find("event_subscribers"), absl::string_view::npos) << status;
  }
}

}  // namespace
}  // namespace marketplace::identity
