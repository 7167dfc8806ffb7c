#ifndef MARKETPLACE_SERVICES_CATALOG_MYSQL_LISTING_STORE_H_
#define MARKETPLACE_SERVICES_CATALOG_MYSQL_LISTING_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/db/batched_reader.h"
#include "common/db/connection_pool.h"
#include "common/idempotency/idempotency.h"
#include "common/outbox/outbox.h"
#include "services/catalog/listing_store.h"

namespace marketplace::catalog {

// Creates or upgrades the catalog's tables, the outbox's and the request-id store's, then
// runs the catalog's code steps (README "Listing columns").
[[nodiscard]] absl::Status ApplyCatalogMigrations(common::db::ConnectionPool& pool);

// Full method name CreateListing's request ids are stored under.
inline constexpr char kCreateListingMethod[] =
    "/marketplace.catalog.v1.CatalogService/CreateListing";

// ListingStore on MySQL/MariaDB: every statement of the catalog lives in this file's .cc.
// Thread-safe.
class MysqlListingStore final : public ListingStore {
 public:
  struct Options {
    // GetListing reads at the database at once (each holds a pool connection while it runs);
    // the reads asked for meanwhile go together in the next statement.
    int point_read_threads = 2;
  };

  // `pool` and `clock` must outlive the store; `clock` stamps outbox events and request ids.
  MysqlListingStore(common::db::ConnectionPool* pool, const common::Clock* clock, Options options);
  ~MysqlListingStore() override;

  [[nodiscard]] absl::Status Transact(const Work& work) override;
  [[nodiscard]] absl::Status TransactReadOnly(const Work& work) override;
  [[nodiscard]] absl::StatusOr<ListingRecord> CreateOnce(const CreateRequestKey& key,
                                                         const CreateWork& work) override;
  [[nodiscard]] absl::StatusOr<std::optional<absl::StatusOr<ListingRecord>>> FindCreated(
      const CreateRequestKey& key) override;
  void ReadListing(absl::string_view listing_id, ReadDone done) override;
  [[nodiscard]] absl::StatusOr<std::vector<ListingRecord>> ListListings(
      const ListingQuery& query) override;
  [[nodiscard]] absl::StatusOr<std::vector<Review>> ListReviews(const ReviewQuery& query) override;
  [[nodiscard]] absl::StatusOr<std::vector<std::pair<std::string, absl::Time>>> ListChangedSince(
      absl::Time from) override;
  [[nodiscard]] absl::StatusOr<int64_t> PurgeRequestIds() override;

 private:
  common::db::ConnectionPool* pool_;
  common::outbox::Outbox outbox_;
  common::idempotency::IdempotencyStore idempotency_;
  // GetListing's reads, batched (last: destroyed first, answering what is queued).
  std::unique_ptr<common::db::BatchedReader> point_reader_;
};

}  // namespace marketplace::catalog

#endif  // MARKETPLACE_SERVICES_CATALOG_MYSQL_LISTING_STORE_H_
