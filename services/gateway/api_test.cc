#include <map>
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/text_format.h"
#include "google/protobuf/timestamp.pb.h"
#include "gtest/gtest.h"
#include "services/gateway/api.h"
#include "services/gateway/golden.h"
#include "services/gateway/transcoder.h"

namespace marketplace::gateway {
namespace {

using ::testing::HasSubstr;

constexpr char kDescriptorSet[] = "protos/api_descriptor_set.pb";

const std::map<std::string, std::string> kAllBackends = {
    {"marketplace.catalog.v1.CatalogService", "127.0.0.1:1"},
    {"marketplace.identity.v1.Identity", "127.0.0.1:2"},
    {"marketplace.payments.v1.Payments", "127.0.0.1:3"},
    {"marketplace.sellerkpi.v1.SellerKpiService", "127.0.0.1:4"},
    {"marketplace.events.v1.EventSink", "127.0.0.1:5"},
};

// The real descriptor set: every annotated method of every service is routed, EventSink never.
TEST(ApiTest, LoadsTheServiceDescriptorSet) {
  auto api = Api::Load(kDescriptorSet, kAllBackends);
  ASSERT_TRUE(api.ok()) << api.status().message();
  int annotated = 0;
  for (const auto& file_name : {"protos/marketplace/catalog/v1/catalog.proto",
                                "protos/marketplace/identity/v1/identity.proto",
                                "protos/marketplace/payments/v1/payments.proto",
                                "protos/marketplace/sellerkpi/v1/sellerkpi.proto"}) {
    const auto* file = (*api)->pool().FindFileByName(file_name);
    ASSERT_NE(file, nullptr) << file_name;
    for (int s = 0; s < file->service_count(); ++s) annotated += file->service(s)->method_count();
  }
  size_t primary = 0;
  for (const Route& r : (*api)->routes()) {
    primary += r.binding == 0 ? 1 : 0;
    EXPECT_NE(r.service, "marketplace.events.v1.EventSink");
  }
  EXPECT_EQ(primary, static_cast<size_t>(annotated));
  auto m = (*api)->router().Match("GET", "/v1/listings/lst_0123456789abcdef01234567");
  ASSERT_EQ(m.outcome, Router::Outcome::kMatched);
  EXPECT_EQ((*api)->routes()[m.id].grpc_path, "/marketplace.catalog.v1.CatalogService/GetListing");
  EXPECT_EQ((*api)->routes()[m.id].backend, "127.0.0.1:1");
  EXPECT_EQ((*api)->router().Match("POST", "/marketplace.events.v1.EventSink/Deliver").outcome,
            Router::Outcome::kNotFound);
}

// Every annotated method of every service, generated from the descriptor set (a new method is
// covered without new test code): a request path made from its template matches its own
// route, its variables land in the right fields, an empty body transcodes, and an empty
// response converts to JSON.
TEST(ApiTest, EveryRouteRoundTrips) {
  auto api = Api::Load(kDescriptorSet, kAllBackends);
  ASSERT_TRUE(api.ok()) << api.status().message();
  Transcoder transcoder(api->get(), false);
  google::protobuf::DynamicMessageFactory factory(&(*api)->pool());
  for (size_t id = 0; id < (*api)->routes().size(); ++id) {
    const Route& route = (*api)->routes()[id];
    SCOPED_TRACE(route.name + " " + route.http_method + " " + route.path.text);
    // One value per variable; enums take their first non-zero value's name.
    std::vector<std::string> expected;
    const std::string path = SamplePath(route, &expected);
    auto m = (*api)->router().Match(route.http_method, path);
    ASSERT_EQ(m.outcome, Router::Outcome::kMatched) << path;
    ASSERT_EQ((*api)->routes()[m.id].grpc_path, route.grpc_path) << path;
    std::string binary;
    auto error = transcoder.BuildRequest(route, m.values, "", route.body.empty() ? "" : "{}", &binary);
    ASSERT_FALSE(error.has_value()) << path << " " << error->body;
    std::unique_ptr<google::protobuf::Message> request(
        factory.GetPrototype(route.method->input_type())->New());
    ASSERT_TRUE(request->ParseFromString(binary));
    for (size_t v = 0; v < route.path_fields.size(); ++v) {
      const google::protobuf::Message* msg = request.get();
      const auto& fields = route.path_fields[v].fields;
      for (size_t k = 0; k + 1 < fields.size(); ++k) {
        msg = &msg->GetReflection()->GetMessage(*msg, fields[k]);
      }
      const auto* leaf = fields.back();
      std::string got;
      if (leaf->type() == google::protobuf::FieldDescriptor::TYPE_ENUM) {
        got = msg->GetReflection()->GetEnum(*msg, leaf)->name();
      } else if (leaf->cpp_type() == google::protobuf::FieldDescriptor::CPPTYPE_STRING) {
        got = msg->GetReflection()->GetString(*msg, leaf);
      } else {
        got = "7";  // numbers: parsed, checked by the transcoder
      }
      EXPECT_EQ(got, expected[v]) << route.path_fields[v].text;
    }
    std::string json;
    ASSERT_FALSE(transcoder.ResponseToJson(route, "", &json).has_value());
    EXPECT_EQ(json, "{}");
  }
}

TEST(ApiTest, ServiceWithoutBackendIsSkippedUnknownBackendIsAnError) {
  auto api = Api::Load(kDescriptorSet, {{"marketplace.catalog.v1.CatalogService", "x:1"}});
  ASSERT_TRUE(api.ok()) << api.status();
  EXPECT_EQ((*api)->router().Match("POST", "/v1/sessions:login").outcome,
            Router::Outcome::kNotFound);
  auto bad = Api::Load(kDescriptorSet, {{"marketplace.nothing.v1.Nope", "x:1"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("marketplace.nothing.v1.Nope"));
  EXPECT_FALSE(Api::Load("/nonexistent.pb", {}).ok());
}

// A test API with every field kind.
constexpr char kTestFile[] = R"pb(
  name: "gwtest.proto"
  package: "gwtest"
  dependency: "google/protobuf/timestamp.proto"
  syntax: "proto3"
  message_type {
    name: "Inner"
    field { name: "label" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
    field { name: "count" number: 2 label: LABEL_OPTIONAL type: TYPE_INT64 }
  }
  message_type {
    name: "Req"
    field { name: "id" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
    field { name: "page_size" number: 2 label: LABEL_OPTIONAL type: TYPE_INT32 }
    field { name: "big" number: 3 label: LABEL_OPTIONAL type: TYPE_INT64 }
    field { name: "flag" number: 4 label: LABEL_OPTIONAL type: TYPE_BOOL }
    field { name: "color" number: 5 label: LABEL_OPTIONAL type: TYPE_ENUM type_name: ".gwtest.Color" }
    field { name: "data" number: 6 label: LABEL_OPTIONAL type: TYPE_BYTES }
    field { name: "tags" number: 7 label: LABEL_REPEATED type: TYPE_STRING }
    field { name: "nums" number: 8 label: LABEL_REPEATED type: TYPE_INT32 }
    field { name: "inner" number: 9 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".gwtest.Inner" }
    field { name: "inners" number: 10 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".gwtest.Inner" }
    field { name: "labels" number: 11 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".gwtest.Req.LabelsEntry" }
    field { name: "at" number: 12 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".google.protobuf.Timestamp" }
    nested_type {
      name: "LabelsEntry"
      field { name: "key" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
      field { name: "value" number: 2 label: LABEL_OPTIONAL type: TYPE_STRING }
      options { map_entry: true }
    }
  }
  enum_type {
    name: "Color"
    value { name: "COLOR_UNSPECIFIED" number: 0 }
    value { name: "RED" number: 1 }
  }
  service {
    name: "Svc"
    method { name: "Get" input_type: ".gwtest.Req" output_type: ".gwtest.Req"
             options { [google.api.http] { get: "/v1/things/{id}" } } }
    method { name: "Create" input_type: ".gwtest.Req" output_type: ".gwtest.Req"
             options { [google.api.http] { post: "/v1/things" body: "*" } } }
    method { name: "Update" input_type: ".gwtest.Req" output_type: ".gwtest.Req"
             options { [google.api.http] { patch: "/v1/things/{inner.label}" body: "inner" } } }
    method { name: "SetTags" input_type: ".gwtest.Req" output_type: ".gwtest.Req"
             options { [google.api.http] { put: "/v1/things/{id}/tags" body: "tags" } } }
    method { name: "Alt" input_type: ".gwtest.Req" output_type: ".gwtest.Req"
             options { [google.api.http] { get: "/v1/alt/{id}" response_body: "inner"
                                           additional_bindings { get: "/v2/alt/{id}" } } } }
    method { name: "Stream" input_type: ".gwtest.Req" output_type: ".gwtest.Req"
             server_streaming: true
             options { [google.api.http] { get: "/v1/stream" } } }
    method { name: "Internal" input_type: ".gwtest.Req" output_type: ".gwtest.Req" }
  }
)pb";

google::protobuf::FileDescriptorSet TestSet(const std::string& file_text) {
  google::protobuf::FileDescriptorSet set;
  google::protobuf::Timestamp::descriptor()->file()->CopyTo(set.add_file());
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(file_text, set.add_file()));
  return set;
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

class TranscoderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto api = Api::Build(TestSet(kTestFile), {{"gwtest.Svc", "127.0.0.1:1"}});
    ASSERT_TRUE(api.ok()) << api.status();
    api_ = *std::move(api);
    transcoder_ = std::make_unique<Transcoder>(api_.get(), false);
  }

  const Route& RouteFor(const std::string& method, const std::string& path,
                        std::vector<std::string>* values) {
    auto m = api_->router().Match(method, path);
    EXPECT_EQ(m.outcome, Router::Outcome::kMatched) << method << " " << path;
    *values = m.values;
    return api_->routes()[m.id < 0 ? 0 : m.id];
  }

  // The request as text format, or "ERROR <status> <body>".
  std::string Build(const std::string& method, const std::string& path, const std::string& query,
                    const std::string& body, Transcoder* t = nullptr) {
    std::vector<std::string> values;
    const Route& route = RouteFor(method, path, &values);
    std::string binary;
    auto error = (t ? t : transcoder_.get())->BuildRequest(route, values, query, body, &binary);
    if (error) return "ERROR " + std::to_string(error->http_status) + " " + error->body;
    std::unique_ptr<google::protobuf::Message> msg(
        factory_.GetPrototype(route.method->input_type())->New());
    EXPECT_TRUE(msg->ParseFromString(binary));
    return msg->ShortDebugString();
  }

  std::unique_ptr<Api> api_;
  std::unique_ptr<Transcoder> transcoder_;
  google::protobuf::DynamicMessageFactory factory_;
};

TEST_F(TranscoderTest, RoutesSkipStreamingAndUnannotated) {
  std::vector<std::string> names;
  for (const Route& r : api_->routes()) names.push_back(r.name + "#" + std::to_string(r.binding));
  EXPECT_THAT(names, ::testing::UnorderedElementsAre("gwtest.Svc.Get#0", "gwtest.Svc.Create#0",
                                                     "gwtest.Svc.Update#0", "gwtest.Svc.SetTags#0",
                                                     "gwtest.Svc.Alt#0", "gwtest.Svc.Alt#1"));
}

TEST_F(TranscoderTest, PathAndQueryForEachFieldKind) {
  EXPECT_EQ(Build("GET", "/v1/things/a%20b", "", ""), "id: \"a b\"");
  EXPECT_EQ(Build("GET", "/v1/things/x",
                  "page_size=10&big=9007199254740993&flag=true&color=RED&data=AQI%3D"
                  "&tags=a&tags=b+c&nums=1&nums=2&inner.label=l&inner.count=-3"
                  "&at=2024-01-02T03:04:05.000006Z",
                  ""),
            "id: \"x\" page_size: 10 big: 9007199254740993 flag: true color: RED data: \"\\001\\002\" "
            "tags: \"a\" tags: \"b c\" nums: 1 nums: 2 inner { label: \"l\" count: -3 } "
            "at { seconds: 1704164645 nanos: 6000 }");
  // lowerCamelCase names and enum numbers.
  EXPECT_EQ(Build("GET", "/v1/things/x", "pageSize=3&color=1", ""),
            "id: \"x\" page_size: 3 color: RED");
}

TEST_F(TranscoderTest, BadQueryValuesNameTheParameter) {
  for (const auto& [query, field] : std::vector<std::pair<std::string, std::string>>{
           {"page_size=ten", "page_size"},
           {"flag=yes", "flag"},
           {"color=BLUE", "color"},
           {"inners.label=x", "inners.label"},
           {"inners=x", "inners"},
           {"labels=x", "labels"},
           {"inner=x", "inner"},
           {"nope=1", "nope"},
           {"id=y", "id"},
           {"at=yesterday", "at"},
           {"page_size=%zz", "page_size"},
           {"page_size=%ZZ", "page_size"},
           {"page_size=%FF", "page_size"},
           {"tags=ok&inner.label=%E2%28", "inner.label"},
           {"page%5Fsize=%ZZ", "page_size"},
           {"page%ZZsize=1", "page%ZZsize"},
           {"=%ZZ", "query"},
       }) {
    const std::string out = Build("GET", "/v1/things/x", query, "");
    EXPECT_THAT(out, HasSubstr("ERROR 400 ")) << query;
    EXPECT_THAT(out, HasSubstr("\"field\":\"" + field + "\"")) << query << " -> " << out;
    EXPECT_THAT(out, HasSubstr("\"status\":\"INVALID_ARGUMENT\"")) << query;
    EXPECT_THAT(out, HasSubstr("type.googleapis.com/google.rpc.BadRequest")) << query;
  }
}

TEST_F(TranscoderTest, BodyStarFillsTheRequest) {
  EXPECT_EQ(Build("POST", "/v1/things", "", R"({"id":"a","pageSize":2,"big":"5","color":"RED"})"),
            "id: \"a\" page_size: 2 big: 5 color: RED");
  EXPECT_EQ(Build("POST", "/v1/things", "", ""), "");
  EXPECT_THAT(Build("POST", "/v1/things", "id=x", "{}"), HasSubstr("ERROR 400"));
  const std::string bad = Build("POST", "/v1/things", "", R"({"id": )");
  EXPECT_THAT(bad, HasSubstr("ERROR 400"));
  EXPECT_THAT(bad, HasSubstr("\"field\":\"body\""));
  // Unknown fields are refused unless allowed.
  EXPECT_THAT(Build("POST", "/v1/things", "", R"({"id":"a","extra":1})"), HasSubstr("ERROR 400"));
  Transcoder lenient(api_.get(), true);
  EXPECT_EQ(Build("POST", "/v1/things", "", R"({"id":"a","extra":1})", &lenient), "id: \"a\"");
}

TEST_F(TranscoderTest, BodyFieldAndPathIntoTheSameMessage) {
  EXPECT_EQ(Build("PATCH", "/v1/things/lbl", "page_size=4", R"({"count":"7"})"),
            "page_size: 4 inner { label: \"lbl\" count: 7 }");
  // The path wins over the body for the field it binds.
  EXPECT_EQ(Build("PATCH", "/v1/things/lbl", "", R"({"label":"other"})"),
            "inner { label: \"lbl\" }");
  EXPECT_THAT(Build("PATCH", "/v1/things/lbl", "inner.count=1", "{}"), HasSubstr("bound by the body"));
  // A repeated body field.
  EXPECT_EQ(Build("PUT", "/v1/things/x/tags", "", R"(["a","b"])"),
            "id: \"x\" tags: \"a\" tags: \"b\"");
  // The body cannot reach outside its field.
  EXPECT_THAT(Build("PUT", "/v1/things/x/tags", "", R"(["a"], "id": "y")"), HasSubstr("ERROR 400"));
}

TEST_F(TranscoderTest, ResponseJson) {
  std::vector<std::string> values;
  const Route& get = RouteFor("GET", "/v1/things/x", &values);
  std::unique_ptr<google::protobuf::Message> msg(factory_.GetPrototype(get.method->output_type())->New());
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(
      "id: \"x\" page_size: 3 big: 12 color: RED inner { label: \"l\" }", msg.get()));
  std::string json;
  ASSERT_FALSE(transcoder_->ResponseToJson(get, msg->SerializeAsString(), &json));
  EXPECT_EQ(json, R"({"id":"x","pageSize":3,"big":"12","color":"RED","inner":{"label":"l"}})");
  const Route& alt = RouteFor("GET", "/v1/alt/x", &values);
  ASSERT_FALSE(transcoder_->ResponseToJson(alt, msg->SerializeAsString(), &json));
  EXPECT_EQ(json, R"({"label":"l"})");
}

TEST(ApiBuildTest, StartupRefusals) {
  struct Case {
    std::string from, to, expect;
  };
  for (const Case& c : std::vector<Case>{
           {R"(get: "/v1/things/{id}")", R"(get: "/v1/things/{tags}")", "tags"},
           {R"(get: "/v1/things/{id}")", R"(get: "/v1/things/{inner}")", "inner"},
           {R"(get: "/v1/things/{id}")", R"(get: "/v1/things/{labels}")", "labels"},
           {R"(get: "/v1/things/{id}")", R"(get: "/v1/things/{nope}")", "nope"},
           {R"(get: "/v1/things/{id}")", R"(get: "/v1/things/{inners.label}")", "inners"},
           {R"(get: "/v1/things/{id}")", R"(get: "/v1/alt/{page_size}")", "gwtest.Svc.Alt"},
           {R"(get: "/v1/things/{id}")", R"(get: "/v1/things/{id")", "gwtest.Svc.Get"},
           {R"(body: "inner")", R"(body: "missing")", "missing"},
           {R"(response_body: "inner")", R"(response_body: "id")", "id"},
       }) {
    auto api = Api::Build(TestSet(Replace(kTestFile, c.from, c.to)), {{"gwtest.Svc", "x:1"}});
    ASSERT_FALSE(api.ok()) << c.to;
    EXPECT_THAT(std::string(api.status().message()), HasSubstr(c.expect)) << api.status();
  }
  // A conflict names both methods.
  auto api = Api::Build(TestSet(Replace(kTestFile, R"(get: "/v1/things/{id}")", R"(get: "/v1/alt/{page_size}")")),
                        {{"gwtest.Svc", "x:1"}});
  ASSERT_FALSE(api.ok());
  EXPECT_THAT(std::string(api.status().message()), HasSubstr("gwtest.Svc.Get"));
  EXPECT_THAT(std::string(api.status().message()), HasSubstr("gwtest.Svc.Alt"));
}

}  // namespace
}  // namespace marketplace::gateway
