#include "services/catalog/mysql_listing_rows.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"
#include "nlohmann/json.hpp"
#include "protos/marketplace/catalog/v1/catalog.pb.h"
#include "services/catalog/convert.h"
#include "services/catalog/text.h"

namespace marketplace::catalog {
namespace {

using common::db::Row;
using common::db::SqlValue;

// Rows the code step converts per statement.
constexpr int kFillBatch = 500;

std::vector<std::string> SplitList(absl::string_view joined, absl::string_view separator) {
  return absl::StrSplit(joined, separator, absl::SkipEmpty());
}

std::string AttributesJson(const std::map<std::string, std::string>& attributes) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [key, value] : attributes) out[key] = value;
  return out.dump();
}

std::string FindingsJson(const std::vector<Finding>& findings) {
  nlohmann::json out = nlohmann::json::array();
  for (const Finding& f : findings) {
    out.push_back({{"rule", f.rule},
                   {"verdict", std::string(VerdictName(f.verdict))},
                   {"reason_code", f.reason_code},
                   {"explanation", f.explanation}});
  }
  return out.dump();
}

absl::StatusOr<nlohmann::json> ParseJson(absl::string_view text, absl::string_view column) {
  if (text.empty()) return nlohmann::json();
  nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return absl::InternalError(absl::StrCat("listings.", column, " is not JSON"));
  }
  return parsed;
}

Verdict VerdictFromName(const std::string& name) {
  if (name == "REJECT") return Verdict::kReject;
  if (name == "REVIEW") return Verdict::kReview;
  return Verdict::kPass;
}

// What listings.content holds: the content fields and the findings.
std::string ContentBytes(const ListingRecord& r) {
  v1::Listing c = ListingToProto(r);
  c.clear_listing_id();
  c.clear_seller_id();
  c.clear_state();
  c.clear_reason_codes();
  c.clear_explanation();
  c.clear_rules_version();
  c.clear_create_time();
  c.clear_update_time();
  std::string out;
  c.SerializeToString(&out);
  return out;
}

// The content of a row of the previous release, from `content`.
absl::Status ContentFromBlob(const std::string& bytes, ListingRecord& r) {
  v1::Listing stored;
  if (!stored.ParseFromString(bytes)) {
    return absl::InternalError(
        absl::StrCat("listings.content of ", r.listing_id, " does not parse"));
  }
  const ListingRecord parsed = ListingFromProto(stored);
  r.content = parsed.content;
  r.condition = parsed.condition;
  r.quantity = parsed.quantity;
  r.findings = parsed.findings;
  return absl::OkStatus();
}

absl::Status ContentFromColumns(const Row& row, ListingRecord& r) {
  ListingContent& c = r.content;
  ASSIGN_OR_RETURN(c.title, row.GetString("title"));
  ASSIGN_OR_RETURN(c.description, row.GetString("description"));
  ASSIGN_OR_RETURN(c.brand, row.GetString("brand"));
  ASSIGN_OR_RETURN(r.condition, row.GetString("item_condition"));
  ASSIGN_OR_RETURN(std::optional<std::string> currency, row.GetOptionalString("price_currency"));
  ASSIGN_OR_RETURN(std::optional<int64_t> minor, row.GetOptionalInt64("price_minor"));
  c.price.reset();
  if (currency && minor) {
    ASSIGN_OR_RETURN(c.price, common::Money::Of(*currency, *minor));
  }
  ASSIGN_OR_RETURN(r.quantity, row.GetInt64("quantity"));
  ASSIGN_OR_RETURN(std::string urls, row.GetString("image_urls"));
  c.image_urls = SplitList(urls, "\n");
  ASSIGN_OR_RETURN(std::string attributes_text, row.GetString("attributes"));
  ASSIGN_OR_RETURN(nlohmann::json attributes, ParseJson(attributes_text, "attributes"));
  c.attributes.clear();
  if (attributes.is_object()) {
    for (const auto& [key, value] : attributes.items()) {
      if (value.is_string()) c.attributes[key] = value.get<std::string>();
    }
  }
  ASSIGN_OR_RETURN(std::string findings_text, row.GetString("findings"));
  ASSIGN_OR_RETURN(nlohmann::json findings, ParseJson(findings_text, "findings"));
  r.findings.clear();
  if (findings.is_array()) {
    for (const nlohmann::json& f : findings) {
      r.findings.push_back({f.value("rule", ""), VerdictFromName(f.value("verdict", "")),
                            f.value("reason_code", ""), f.value("explanation", "")});
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string ListingColumns(absl::string_view p) {
  std::string out = absl::StrJoin(
      {"seq",
       "listing_id",
       "seller_id",
       "state",
       "category_id",
       "title",
       "description",
       "brand",
       "item_condition",
       "price_currency",
       "price_minor",
       "quantity",
       "image_urls",
       "attributes",
       "findings",
       "reason_codes",
       "explanation",
       "rules_version",
       "state_before_suspension",
       "ever_decided",
       "created_at",
       "updated_at",
       "fields_at"},
      ", ", [p](std::string* out, absl::string_view c) { absl::StrAppend(out, p, c); });
  // The serialized message is read only where the columns do not hold the listing.
  absl::StrAppend(&out, ", CASE WHEN ", p, "fields_at = ", p, "updated_at THEN '' ELSE ", p,
                  "content END AS content");
  return out;
}

absl::StatusOr<ListingRecord> ListingFromRow(const Row& row) {
  ListingRecord r;
  ASSIGN_OR_RETURN(r.seq, row.GetInt64("seq"));
  ASSIGN_OR_RETURN(r.listing_id, row.GetString("listing_id"));
  ASSIGN_OR_RETURN(r.seller_id, row.GetString("seller_id"));
  ASSIGN_OR_RETURN(std::string state, row.GetString("state"));
  r.state = StateFromName(state);
  ASSIGN_OR_RETURN(std::string codes, row.GetString("reason_codes"));
  r.reason_codes = SplitList(codes, ",");
  ASSIGN_OR_RETURN(r.explanation, row.GetString("explanation"));
  ASSIGN_OR_RETURN(r.rules_version, row.GetString("rules_version"));
  ASSIGN_OR_RETURN(std::optional<std::string> before,
                   row.GetOptionalString("state_before_suspension"));
  if (before) r.state_before_suspension = StateFromName(*before);
  ASSIGN_OR_RETURN(r.ever_decided, row.GetBool("ever_decided"));
  ASSIGN_OR_RETURN(r.created_at, row.GetTime("created_at"));
  ASSIGN_OR_RETURN(r.updated_at, row.GetTime("updated_at"));
  ASSIGN_OR_RETURN(std::optional<absl::Time> fields_at, row.GetOptionalTime("fields_at"));
  if (fields_at && *fields_at == r.updated_at) {
    RETURN_IF_ERROR(ContentFromColumns(row, r));
  } else {
    ASSIGN_OR_RETURN(std::string content, row.GetString("content"));
    RETURN_IF_ERROR(ContentFromBlob(content, r));
  }
  // The category is a filter column of every release.
  ASSIGN_OR_RETURN(r.content.category_id, row.GetString("category_id"));
  return r;
}

const std::vector<std::string>& ContentColumnNames() {
  static const auto* names = new std::vector<std::string>{
      "category_id",    "title_folded",   "title",       "description", "brand",
      "item_condition", "price_currency", "price_minor", "quantity",    "image_urls",
      "attributes",     "findings",       "content"};
  return *names;
}

std::vector<SqlValue> ContentValues(const ListingRecord& r) {
  const ListingContent& c = r.content;
  SqlValue currency = nullptr;
  SqlValue minor = nullptr;
  if (c.price) {
    currency = c.price->currency_code();
    minor = c.price->amount_minor();
  }
  return {c.category_id,
          FoldedTitle(r),
          c.title,
          c.description,
          c.brand,
          r.condition,
          currency,
          minor,
          r.quantity,
          absl::StrJoin(c.image_urls, "\n"),
          AttributesJson(c.attributes),
          FindingsJson(r.findings),
          ContentBytes(r)};
}

std::string FoldedTitle(const ListingRecord& r) {
  return absl::StrCat(" ", FoldText(r.content.title), " ");
}

absl::Status FillListingColumns(common::db::Connection& conn) {
  std::string assignments;
  for (const std::string& column : ContentColumnNames()) {
    if (column == "content" || column == "category_id" || column == "title_folded") continue;
    absl::StrAppend(&assignments, column, " = ?, ");
  }
  int64_t after = 0;
  while (true) {
    ASSIGN_OR_RETURN(
        std::vector<Row> rows,
        conn.Query(absl::StrCat("SELECT seq, listing_id, content, updated_at FROM listings "
                                "WHERE seq > ? AND (fields_at IS NULL OR fields_at <> updated_at) "
                                "ORDER BY seq LIMIT ",
                                kFillBatch),
                   {after}));
    if (rows.empty()) return absl::OkStatus();
    for (const Row& row : rows) {
      ListingRecord r;
      ASSIGN_OR_RETURN(after, row.GetInt64("seq"));
      ASSIGN_OR_RETURN(r.listing_id, row.GetString("listing_id"));
      ASSIGN_OR_RETURN(std::string content, row.GetString("content"));
      ASSIGN_OR_RETURN(absl::Time updated_at, row.GetTime("updated_at"));
      RETURN_IF_ERROR(ContentFromBlob(content, r));
      std::vector<SqlValue> values = ContentValues(r);
      // Drop category_id and title_folded (the first two: kept as they are) and content.
      values.erase(values.begin(), values.begin() + 2);
      values.pop_back();
      values.push_back(updated_at);
      values.push_back(r.listing_id);
      values.push_back(updated_at);
      // A write since the read moved updated_at: that row keeps what was written.
      RETURN_IF_ERROR(conn.Execute(absl::StrCat("UPDATE listings SET ", assignments,
                                                "fields_at = ? WHERE listing_id = ? AND "
                                                "updated_at = ?"),
                                   values)
                          .status());
    }
  }
}

}  // namespace marketplace::catalog
