#include "services/gateway/config.h"

#include <map>

#include "absl/strings/match.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace marketplace::gateway {
namespace {

using ::testing::HasSubstr;

// Plaintext backends unless the arguments say something of TLS.
absl::Status Parse(std::vector<const char*> args, GatewayConfig* config) {
  common::Flags flags("gateway");
  AddFlags(flags, config);
  bool tls_given = false;
  for (const char* arg : args) {
    tls_given |= absl::StartsWith(arg, "--tls_") || absl::StartsWith(arg, "--insecure");
  }
  if (!tls_given) args.push_back("--insecure");
  args.insert(args.begin(), "gateway");
  if (absl::Status s = flags.Parse(static_cast<int>(args.size()), args.data(), {}); !s.ok()) return s;
  return config->Validate();
}

TEST(GatewayConfigTest, Defaults) {
  GatewayConfig c;
  ASSERT_TRUE(Parse({"--descriptor_set=x.pb", "--backends=a.B=127.0.0.1:1, c.D=h:2"}, &c).ok());
  EXPECT_EQ(c.backends.size(), 2u);
  EXPECT_EQ(c.backends["c.D"], "h:2");
  EXPECT_EQ(c.default_deadline, absl::Seconds(10));
  EXPECT_EQ(c.Http().max_body_bytes, 1024u * 1024u);
  EXPECT_EQ(c.Http().max_header_bytes, 16u * 1024u);
  EXPECT_EQ(c.Http().port, 8080);
  EXPECT_TRUE(c.cors_origins.empty());
}

TEST(GatewayConfigTest, RefusalsNameTheFlag) {
  const std::vector<std::pair<std::vector<const char*>, std::string>> cases = {
      {{"--descriptor_set=x", "--backends=nothing"}, "--backends"},
      {{"--descriptor_set=x", "--backends=a=h:1,a=h:2"}, "--backends"},
      {{"--descriptor_set=x", "--backends=a=h:1", "--cors_allowed_origins=*"}, "cors_allowed_origins"},
      {{"--descriptor_set=x", "--backends=a=h:1", "--cors_allowed_origins=https://a.com/"}, "cors_allowed_origins"},
      {{"--descriptor_set=x", "--backends=a=h:1", "--cors_allowed_origins=a.com"}, "cors_allowed_origins"},
      {{"--descriptor_set=x", "--backends=a=h:1", "--forward_headers=Authorization"}, "forward_headers"},
      {{"--descriptor_set=x", "--backends=a=h:1", "--forward_headers=grpc-foo"}, "forward_headers"},
      {{"--descriptor_set=x", "--backends=a=h:1", "--http_address=nope"}, "http_address"},
      {{"--descriptor_set=x", "--backends=a=h:1", "--max_body_bytes=0"}, "max_body_bytes"},
      {{"--descriptor_set=x", "--backends=a=h:1", "--route_body_limits=a.B.C"}, "route_body_limits"},
      {{"--descriptor_set=x", "--backends=a=h:1", "--route_body_limits=a.B.C=0"}, "route_body_limits"},
      {{"--descriptor_set=x", "--backends=a=h:1", "--route_body_limits=a.B.C=67108865"},
       "route_body_limits"},
      {{"--descriptor_set=x", "--backends=a=h:1", "--route_body_limits=a.B.C=1k"}, "route_body_limits"},
      {{"--descriptor_set=x", "--backends=a=h:1", "--route_body_limits=a.B.C=5,a.B.C=6"},
       "route_body_limits"},
      {{"--backends=a=h:1"}, "descriptor_set"},
      // Calls to the backends: TLS, or plaintext when asked for.
      {{"--descriptor_set=x", "--backends=a=h:1", "--insecure=false"}, "--tls_cert_file"},
      {{"--descriptor_set=x", "--backends=a=h:1", "--tls_cert_file=/nonexistent.pem",
        "--tls_key_file=/nonexistent.key"},
       "--tls_cert_file"},
  };
  for (const auto& [args, flag] : cases) {
    GatewayConfig c;
    absl::Status s = Parse(args, &c);
    ASSERT_FALSE(s.ok()) << flag;
    EXPECT_THAT(std::string(s.message()), HasSubstr(flag));
  }
  GatewayConfig c;
  ASSERT_TRUE(Parse({"--descriptor_set=x", "--backends=a=h:1",
                     "--cors_allowed_origins=https://shop.example.com,http://localhost:3000",
                     "--forward_headers=x-client-version", "--max_body_bytes=2048",
                     "--route_body_limits=a.B.C=4096,a.B.D=10"},
                    &c)
                  .ok());
  EXPECT_EQ(c.cors_origins.size(), 2u);
  EXPECT_EQ(c.Gateway().forward_headers[0], "x-client-version");
  EXPECT_EQ(c.Gateway().max_body_bytes, 2048u);
  EXPECT_EQ(c.Gateway().route_body_limits,
            (std::map<std::string, size_t>{{"a.B.C", 4096}, {"a.B.D", 10}}));
}

}  // namespace
}  // namespace marketplace::gateway
