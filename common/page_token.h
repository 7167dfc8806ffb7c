#ifndef MARKETPLACE_COMMON_PAGE_TOKEN_H_
#define MARKETPLACE_COMMON_PAGE_TOKEN_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace marketplace::common {

// AIP-158 page tokens: opaque to clients (web-safe base64), carrying a keyset cursor and bound
// to the filters they were issued for. A token given with other filters, or not made here, is
// INVALID_ARGUMENT naming `page_token`.
//
// `filters` is the canonical text of the filters as the service applies them (after narrowing
// to what the caller may see); only a digest of it goes into the token.
std::string EncodePageToken(absl::string_view cursor, absl::string_view filters);

// The cursor of `token`. `filter_names` (e.g. "buyer_id, seller_id, state") names the filters
// in the error when the token was issued for other values.
absl::StatusOr<std::string> DecodePageToken(absl::string_view token, absl::string_view filters,
                                            absl::string_view filter_names = "");

// The usual keyset cursor: a creation time (microseconds, as the database keeps it) and an id.
struct TimeIdCursor {
  absl::Time time;
  std::string id;
};
std::string EncodeTimeIdCursor(const TimeIdCursor& cursor);
// INVALID_ARGUMENT on `page_token` when `cursor` is not one EncodeTimeIdCursor made.
absl::StatusOr<TimeIdCursor> DecodeTimeIdCursor(absl::string_view cursor);

// `requested` page size checked against [0, max]: 0 means `default_size`. INVALID_ARGUMENT
// on `page_size` otherwise, stating the range and the default.
absl::StatusOr<int> PageSize(int32_t requested, int default_size, int max_size);

}  // namespace marketplace::common

#endif  // MARKETPLACE_COMMON_PAGE_TOKEN_H_
