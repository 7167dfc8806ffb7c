#ifndef MARKETPLACE_SERVICES_CATALOG_MYSQL_LISTING_ROWS_H_
#define MARKETPLACE_SERVICES_CATALOG_MYSQL_LISTING_ROWS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/db/connection.h"
#include "common/db/sql_value.h"
#include "services/catalog/listing_record.h"

namespace marketplace::catalog {

// How a ListingRecord maps onto a `listings` row (migrations 0001 and 0003), for
// mysql_listing_store.cc and the code step that fills the columns.

// The columns ListingFromRow reads, each prefixed with `prefix` ("" or "l."); `content` only
// for rows whose columns do not hold the listing.
std::string ListingColumns(absl::string_view prefix);
[[nodiscard]] absl::StatusOr<ListingRecord> ListingFromRow(const common::db::Row& row);

// The content columns every write sets ("title, description, ..."; fields_at excluded) and
// their values for `listing`, in the same order.
const std::vector<std::string>& ContentColumnNames();
std::vector<common::db::SqlValue> ContentValues(const ListingRecord& listing);

// Words of the title between spaces, so that LIKE '% word %' finds whole words.
std::string FoldedTitle(const ListingRecord& listing);

// Code step 0004_fill_listing_columns: fills the columns of the rows whose listing is only in
// `content` (written before migration 0003, or by a replica of that release since).
// Re-runnable: a row whose columns hold it already is left alone, and a row written while the
// step runs keeps what was written.
[[nodiscard]] absl::Status FillListingColumns(common::db::Connection& conn);

}  // namespace marketplace::catalog

#endif  // MARKETPLACE_SERVICES_CATALOG_MYSQL_LISTING_ROWS_H_
