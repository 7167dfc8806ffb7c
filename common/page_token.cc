#include "common/page_token.h"

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/errors.h"
#include "common/ids.h"

namespace marketplace::common {
namespace {

constexpr char kVersion[] = "p1";

absl::Status NotOurs() {
  return InvalidField("page_token", "must be a next_page_token from a previous response");
}

// 16 hex digits of SHA-256: enough to tell filters apart, short in the token.
std::string FilterDigest(absl::string_view filters) { return Sha256Hex(filters).substr(0, 16); }

}  // namespace

std::string EncodePageToken(absl::string_view cursor, absl::string_view filters) {
  return absl::WebSafeBase64Escape(absl::StrCat(kVersion, "|", FilterDigest(filters), "|", cursor));
}

absl::StatusOr<std::string> DecodePageToken(absl::string_view token, absl::string_view filters,
                                            absl::string_view filter_names) {
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw)) return NotOurs();
  std::vector<std::string> parts = absl::StrSplit(raw, absl::MaxSplits('|', 2));
  if (parts.size() != 3 || parts[0] != kVersion || parts[2].empty()) return NotOurs();
  if (parts[1] != FilterDigest(filters)) {
    return InvalidField(
        "page_token",
        absl::StrCat("was issued for other filters",
                     filter_names.empty() ? "" : absl::StrCat(" (", filter_names, ")"),
                     "; repeat the first request's filters or start again without page_token"));
  }
  return parts[2];
}

std::string EncodeTimeIdCursor(const TimeIdCursor& cursor) {
  return absl::StrCat(absl::ToUnixMicros(cursor.time), ":", cursor.id);
}

absl::StatusOr<TimeIdCursor> DecodeTimeIdCursor(absl::string_view cursor) {
  std::vector<std::string> parts = absl::StrSplit(cursor, absl::MaxSplits(':', 1));
  int64_t micros = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &micros) || parts[1].empty()) {
    return NotOurs();
  }
  return TimeIdCursor{absl::FromUnixMicros(micros), parts[1]};
}

absl::StatusOr<int> PageSize(int32_t requested, int default_size, int max_size) {
  if (requested < 0 || requested > max_size) {
    return InvalidField("page_size",
                        absl::StrCat("must be 0-", max_size, " (0: ", default_size, ")"));
  }
  return requested == 0 ? default_size : requested;
}

}  // namespace marketplace::common
