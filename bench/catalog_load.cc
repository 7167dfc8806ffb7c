// Load on catalog_server for bench/catalog_bench.sh; prints one row of the benchmark table.
//   --mode=seed          writes --listings LIVE listings straight into the database (one
//                        INSERT ... SELECT over MariaDB's sequence engine), then exits;
//   --mode=GetListing    anonymous GetListing of a random seeded listing (each listing once per
//                        --listings calls: the ids are a permutation of the seeded ones);
//   --mode=ListListings  anonymous first pages (20) of ListListings: --list_filter=none
//                        (unfiltered), category (a category with sub-categories: half the
//                        listings) or text (query "rouge coton": two words of the seeded
//                        titles that together match 1 % of the listings). A call counts when
//                        it answers 20 listings; they are counted on the wire, not parsed (see
//                        CountListings).
#include <atomic>
#include <cstdio>
#include <memory>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "bench/bench_db.h"
#include "bench/loadgen.h"
#include "common/config.h"
#include "common/db/connection_pool.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "protos/marketplace/catalog/v1/catalog.grpc.pb.h"

namespace {

namespace v1 = marketplace::catalog::v1;

// The listings of a serialized ListListingsResponse, counted without parsing them (-1 when the
// bytes are not a message). The load generator shares its core with MariaDB: parsing 20
// listings a call cost it more than the server spends answering a page kept in memory, so
// it, not the server, set the rate.
int CountListings(const grpc::ByteBuffer& buffer) {
  using google::protobuf::internal::WireFormatLite;
  grpc::Slice slice;
  if (!buffer.DumpToSingleSlice(&slice).ok()) return -1;
  google::protobuf::io::CodedInputStream in(slice.begin(), static_cast<int>(slice.size()));
  int n = 0;
  while (const uint32_t tag = in.ReadTag()) {
    if (WireFormatLite::GetTagFieldNumber(tag) == v1::ListListingsResponse::kListingsFieldNumber &&
        WireFormatLite::GetTagWireType(tag) == WireFormatLite::WIRETYPE_LENGTH_DELIMITED) {
      uint32_t length = 0;
      if (!in.ReadVarint32(&length) || !in.Skip(static_cast<int>(length))) return -1;
      ++n;
    } else if (!WireFormatLite::SkipField(&in, tag)) {
      return -1;
    }
  }
  return in.ConsumedEntireMessage() ? n : -1;
}

int Seed(const marketplace::common::db::DbOptions& options, int64_t listings) {
  auto pool = marketplace::common::db::ConnectionPool::Create(options);
  if (!pool.ok()) {
    std::fprintf(stderr, "seed: %s\n", std::string(pool.status().message()).c_str());
    return 1;
  }
  v1::Listing l;
  l.set_title("Peluche ourson brun 30 cm");
  l.set_description("Peluche ourson toute douce, lavable en machine, idéale dès la naissance.");
  l.set_category_id("toys-plush");
  l.set_condition(v1::NEW);
  l.mutable_price()->set_currency_code("EUR");
  l.mutable_price()->set_amount_minor(1990);
  l.set_quantity(3);
  l.add_image_urls("https://img.example/ourson.jpg");
  (*l.mutable_attributes())["age_range"] = "0+";
  std::string content;
  l.SerializeToString(&content);
  // The sequence engine's table name carries the bound; it is a number formatted here, never
  // user input.
  // Rows as this release writes them: the content in its columns (fields_at = updated_at)
  // and, for replicas of the previous release, serialized in `content`.
  const std::string sql = absl::StrCat(
      "INSERT INTO listings (listing_id, seller_id, state, category_id, title_folded, content, "
      "title, description, brand, item_condition, price_currency, price_minor, quantity, "
      "image_urls, attributes, findings, "
      "reason_codes, explanation, rules_version, ever_decided, created_at, updated_at, "
      "fields_at) "
      // Issued ids: "lst_" + 24 lowercase hex digits; sellers 32 lowercase hex digits. Titles
      // carry a colour (one of 10, by seq % 10) and a material (one of 10, by seq / 10 % 10):
      // "rouge coton" matches 1 % of the listings.
      "SELECT CONCAT('lst_', LPAD(LOWER(HEX(seq)), 24, '0')), "
      "LPAD(LOWER(HEX(seq % 1000)), 32, '0'), 'LIVE', "
      "ELT(1 + seq % 4, 'toys-plush', 'toys-dolls', 'fashion-women', 'shoes'), "
      "CONCAT(' peluche ourson ', seq, ' ', "
      "ELT(1 + seq % 10, 'rouge', 'bleu', 'vert', 'jaune', 'noir', 'blanc', 'gris', 'rose', "
      "'violet', 'orange'), ' ', "
      "ELT(1 + (seq DIV 10) % 10, 'coton', 'laine', 'soie', 'velours', 'lin', 'cuir', "
      "'feutre', 'polaire', 'jute', 'satin'), ' '), "
      "?, ?, ?, '', 'NEW', 'EUR', 1990, 3, ?, ?, '[]', "
      "'', '', 'bench', TRUE, "
      "NOW(6) - INTERVAL 1 HOUR, NOW(6) - INTERVAL 1 HOUR, NOW(6) - INTERVAL 1 HOUR "
      "FROM seq_0_to_",
      listings - 1);
  auto n = (*pool)->Execute(sql, {content, l.title(), l.description(), l.image_urls(0),
                                  std::string("{\"age_range\":\"0+\"}")});
  if (!n.ok()) {
    std::fprintf(stderr, "seed: %s\n", std::string(n.status().message()).c_str());
    return 1;
  }
  // The title words of the rows just written, as migration 0005 fills them for rows written
  // before it (the server writes them with every listing it writes).
  auto words = (*pool)->Execute(
      "INSERT IGNORE INTO listing_words (word, seq) "
      "SELECT SUBSTRING_INDEX(SUBSTRING_INDEX(TRIM(l.title_folded), ' ', n.seq), ' ', -1), l.seq "
      "FROM listings l JOIN seq_1_to_100 n ON n.seq <= CHAR_LENGTH(TRIM(l.title_folded)) - "
      "CHAR_LENGTH(REPLACE(TRIM(l.title_folded), ' ', '')) + 1 "
      "WHERE TRIM(l.title_folded) <> ''",
      {});
  if (!words.ok()) {
    std::fprintf(stderr, "seed words: %s\n", std::string(words.status().message()).c_str());
    return 1;
  }
  std::fprintf(stderr, "seeded %lld listings\n", static_cast<long long>(*n));
  return 0;
}

}  // namespace

int Main(int argc, char** argv) {
  std::string target = "127.0.0.1:7002", mode = "GetListing", list_filter = "none";
  int64_t concurrency = 32, server_pid = 0, listings = 100000;
  double reference_qps = 0;
  std::string reference_text = "0";
  absl::Duration duration = absl::Seconds(10), warmup = absl::Seconds(2);
  bool header = false;
  int64_t warm_calls = 0;
  marketplace::common::db::DbOptions db;
  marketplace::common::Flags flags("catalog_load", "Load on catalog_server.");
  flags.AddString("target", &target, target, "catalog_server host:port.");
  flags.AddString("mode", &mode, mode, "seed, GetListing or ListListings.");
  flags.AddEnum("list_filter", &list_filter, "none", {"none", "category", "text"},
                "ListListings: unfiltered, by category, or by a two-word text query.");
  flags.AddInt64("listings", &listings, listings, 1, 10000000, "Listings seeded.");
  flags.AddInt64("concurrency", &concurrency, concurrency, 1, 10000, "Calls in flight.");
  flags.AddDuration("duration", &duration, duration, "Measured time.");
  flags.AddDuration("warmup", &warmup, warmup, "Unmeasured time first.");
  flags.AddInt64("server_pid", &server_pid, 0, 0, 1 << 30, "Server process, for CPU and RSS.");
  int64_t rate = 0;
  flags.AddInt64("rate", &rate, 0, 0, 10000000,
                 "Calls per second at a fixed rate (open loop, at most --concurrency in flight; "
                 "to compare latencies at a given load); 0: closed loop, --concurrency always "
                 "in flight (the maximum rate).");
  flags.AddString("reference_qps", &reference_text, "0", "Echo QPS of the same run.");
  flags.AddBool("header", &header, false, "Print the table header first.");
  flags.AddInt64("warm_calls", &warm_calls, 0, 0, 100000000,
                 "Calls made (and their rate printed) before the time-based warm-up: with "
                 "--listings of them, GetListing reads every listing once.");
  marketplace::bench::AddDbFlags(flags, &db, "catalog", "seed");
  flags.ParseOrExit(argc, argv);
  reference_qps = std::atof(reference_text.c_str());
  db.pool_size = 1;
  db.read_timeout = absl::Minutes(10);
  if (mode == "seed") return Seed(db, listings);

  auto channel = grpc::CreateChannel(target, grpc::InsecureChannelCredentials());
  auto stub = v1::CatalogService::NewStub(channel);
  std::atomic<uint64_t> counter{0};
  marketplace::bench::IssueFn issue;
  if (mode == "GetListing") {
    issue = [&](int, std::function<void(bool)> done) {
      struct Call {
        grpc::ClientContext context;
        v1::GetListingRequest request;
        v1::Listing response;
      };
      auto call = std::make_shared<Call>();
      // A multiplicative hash spreads consecutive calls over the whole table.
      const uint64_t i = (counter.fetch_add(1) * 2654435761u) % static_cast<uint64_t>(listings);
      call->request.set_listing_id(absl::StrFormat("lst_%024x", i));
      stub->async()->GetListing(
          &call->context, &call->request, &call->response,
          [call, done](grpc::Status s) mutable {
            const bool ok = s.ok() && call->response.state() == v1::LIVE;
            marketplace::bench::Report(call, done, ok);
          });
    };
  } else if (mode == "ListListings") {
    v1::ListListingsRequest request;
    request.set_page_size(20);
    if (list_filter == "category") request.set_category_id("toys-children");
    if (list_filter == "text") request.set_query("rouge coton");
    const std::string bytes = request.SerializeAsString();
    grpc::Slice slice(bytes.data(), bytes.size());
    const grpc::ByteBuffer serialized(&slice, 1);
    auto generic = std::make_shared<grpc::GenericStub>(channel);
    issue = [generic, serialized](int, std::function<void(bool)> done) {
      struct Call {
        grpc::ClientContext context;
        grpc::ByteBuffer request;
        grpc::ByteBuffer response;
      };
      auto call = std::make_shared<Call>();
      call->request = serialized;
      generic->UnaryCall(&call->context, "/marketplace.catalog.v1.CatalogService/ListListings",
                         grpc::StubOptions(), &call->request, &call->response,
                         [call, done](grpc::Status s) mutable {
                           const bool ok = s.ok() && CountListings(call->response) == 20;
                           marketplace::bench::Report(call, done, ok);
                         });
    };
  } else {
    std::fprintf(stderr, "--mode: must be seed, GetListing or ListListings\n");
    return 2;
  }
  if (warm_calls > 0) {
    const absl::Time start = absl::Now();
    const int64_t ok =
        marketplace::bench::RunCalls(static_cast<int>(concurrency), warm_calls, issue);
    const double qps = static_cast<double>(ok) / absl::ToDoubleSeconds(absl::Now() - start);
    std::printf("catalog %s, first %lld calls: %.0f QPS = %.2f of the reference (%lld failed)\n",
                mode.c_str(), static_cast<long long>(warm_calls), qps,
                reference_qps > 0 ? qps / reference_qps : 0.0,
                static_cast<long long>(warm_calls - ok));
  }
  auto before = marketplace::bench::ReadProcessStats(static_cast<pid_t>(server_pid));
  marketplace::bench::LoadResult result = marketplace::bench::RunLoad(
      static_cast<int>(concurrency), static_cast<double>(rate), warmup, duration, issue);
  if (mode == "ListListings" && list_filter != "none") mode = absl::StrCat(mode, " ", list_filter);
  auto after = marketplace::bench::ReadProcessStats(static_cast<pid_t>(server_pid));
  double cpu = before.ok() && after.ok() ? after->cpu_seconds - before->cpu_seconds : 0;
  int64_t rss = after.ok() ? after->rss_bytes : 0;
  if (header) std::printf("%s\n", marketplace::bench::HeaderRow().c_str());
  std::printf("%s\n", marketplace::bench::FormatRow(absl::StrCat("catalog ", mode), result,
                                                    reference_qps, cpu, rss)
                          .c_str());
  return result.calls > 0 ? 0 : 1;
}

int main(int argc, char** argv) { marketplace::bench::ExitLoadTool(Main(argc, argv)); }
