#include "services/catalog/listings.h"

#include <algorithm>
#include <set>
#include <utility>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "common/db/migrations.h"
#include "common/db/transaction.h"
#include "common/errors.h"
#include "common/money.h"
#include "common/money_proto.h"
#include "common/status_macros.h"
#include "google/protobuf/util/message_differencer.h"
#include "services/catalog/catalog_migrations.h"
#include "services/catalog/moderation.h"
#include "services/catalog/text.h"

namespace marketplace::catalog {
namespace {

using common::auth::Caller;
using common::db::Row;
using common::db::SqlValue;
using common::db::Transaction;

constexpr char kSystemActor[] = "system";
constexpr int kDefaultPageSize = 20;
constexpr int kMaxPageSize = 100;

// ---------------------------------------------------------------------------------------------
// Callers.

absl::StatusOr<const Caller*> RequireCaller(const MaybeCaller& caller) {
  if (!caller.has_value()) return common::Unauthenticated("this method needs an access token");
  return &*caller;
}

bool IsStaff(const Caller& c) { return c.HasRole("MODERATOR") || c.HasRole("ADMIN"); }
bool IsReader(const Caller& c) { return IsStaff(c) || c.HasRole("SUPPORT_AGENT"); }
bool IsOwner(const Caller& c, const v1::Listing& l) {
  return c.HasRole("SELLER") && c.subject == l.seller_id();
}

absl::Status RequireStaff(const Caller& c) {
  if (IsStaff(c)) return absl::OkStatus();
  return common::PermissionDenied("only MODERATOR or ADMIN may do this");
}

// ---------------------------------------------------------------------------------------------
// Field rules.

size_t CodePoints(absl::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

bool IsBlank(absl::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return absl::ascii_isspace(c); });
}

absl::Status ValidateId(absl::string_view field, absl::string_view id) {
  if (id.empty() || id.size() > 64) return common::InvalidField(field, "must be 1-64 characters");
  for (char c : id) {
    if (!absl::ascii_isalnum(c) && c != '_' && c != '-' && c != '.' && c != ':') {
      return common::InvalidField(field, "must be characters of [A-Za-z0-9_.:-]");
    }
  }
  return absl::OkStatus();
}

bool IsReasonCode(absl::string_view code) {
  if (code.empty() || code.size() > 64) return false;
  for (char c : code) {
    if (!absl::ascii_isupper(c) && !absl::ascii_isdigit(c) && c != '_') return false;
  }
  return absl::ascii_isupper(code[0]);
}

bool IsCategoryId(absl::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '-') return false;
  }
  return true;
}

bool IsAttributeKey(absl::string_view key) {
  if (key.empty() || key.size() > 64) return false;
  for (char c : key) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '_') return false;
  }
  return true;
}

const std::set<std::string>& UpdatablePaths() {
  static const auto* paths =
      new std::set<std::string>{"title", "description", "category_id", "brand",     "condition",
                                "price", "quantity",    "image_urls",  "attributes"};
  return *paths;
}

// Checks the content fields named in `paths` of `listing`, adding violations.
void ValidateContent(const v1::Listing& l, const std::set<std::string>& paths,
                     std::vector<common::FieldViolation>& out) {
  auto has = [&paths](const char* p) { return paths.count(p) > 0; };
  if (has("title") && (l.title().empty() || CodePoints(l.title()) > 200 || IsBlank(l.title()))) {
    out.push_back({"listing.title", "must be 1-200 characters, not only whitespace"});
  }
  if (has("description") && CodePoints(l.description()) > 5000) {
    out.push_back({"listing.description", "must be at most 5000 characters"});
  }
  if (has("category_id") && !l.category_id().empty() && !IsCategoryId(l.category_id())) {
    out.push_back({"listing.category_id", "must be 1-64 characters of [a-z0-9-]"});
  }
  if (has("brand") && CodePoints(l.brand()) > 100) {
    out.push_back({"listing.brand", "must be at most 100 characters"});
  }
  if (has("condition") && (l.condition() == v1::ITEM_CONDITION_UNSPECIFIED ||
                           !v1::ItemCondition_IsValid(l.condition()))) {
    out.push_back({"listing.condition",
                   "must be one of NEW, USED_LIKE_NEW, USED_GOOD, "
                   "USED_FAIR, REFURBISHED"});
  }
  if (has("price") && l.has_price()) {
    absl::Status s =
        common::MoneyFromProto(l.price(), "listing.price", common::AmountRule::kPositive)
            .status();
    if (!s.ok()) {
      std::vector<common::FieldViolation> v = common::FieldViolationsOf(s);
      if (v.empty()) v.push_back({"listing.price", std::string(s.message())});
      out.insert(out.end(), v.begin(), v.end());
    }
  }
  if (has("quantity") && (l.quantity() < 0 || l.quantity() > 1000000)) {
    out.push_back({"listing.quantity", "must be 0-1000000"});
  }
  if (has("image_urls")) {
    if (l.image_urls_size() > 20) out.push_back({"listing.image_urls", "at most 20 URLs"});
    for (int i = 0; i < l.image_urls_size(); ++i) {
      const std::string& url = l.image_urls(i);
      if (url.size() <= 8 || url.size() > 2048 || url.compare(0, 8, "https://") != 0 ||
          std::any_of(url.begin(), url.end(),
                      [](char c) { return absl::ascii_isspace(c) || absl::ascii_iscntrl(c); })) {
        out.push_back({absl::StrCat("listing.image_urls[", i, "]"),
                       "must be an https:// URL of at most 2048 characters"});
      }
    }
  }
  if (has("attributes")) {
    if (l.attributes_size() > 50) out.push_back({"listing.attributes", "at most 50 attributes"});
    for (const auto& [key, value] : l.attributes()) {
      if (!IsAttributeKey(key)) {
        out.push_back({absl::StrCat("listing.attributes[", key, "]"),
                       "key must be 1-64 characters of [a-z0-9_]"});
      } else if (value.empty() || CodePoints(value) > 500) {
        out.push_back(
            {absl::StrCat("listing.attributes[", key, "]"), "value must be 1-500 characters"});
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Storage.

std::string StateName(v1::ListingState s) { return v1::ListingState_Name(s); }

v1::ListingState ParseState(const std::string& name) {
  v1::ListingState s = v1::LISTING_STATE_UNSPECIFIED;
  v1::ListingState_Parse(name, &s);
  return s;
}

google::protobuf::Timestamp ToTimestamp(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t micros = absl::ToUnixMicros(t);
  ts.set_seconds(micros / 1000000 - (micros % 1000000 < 0 ? 1 : 0));
  ts.set_nanos(static_cast<int32_t>(((micros % 1000000) + 1000000) % 1000000) * 1000);
  return ts;
}

// A listing as stored, with the columns that are not part of the API view.
struct Stored {
  int64_t seq = 0;
  v1::Listing listing;  // full view
  std::optional<std::string> state_before_suspension;
  bool ever_decided = false;
  absl::Time updated_at;  // as loaded: every save moves it strictly forward
};

constexpr char kListingColumns[] =
    "seq, listing_id, seller_id, state, content, reason_codes, explanation, rules_version, "
    "state_before_suspension, ever_decided, created_at, updated_at";

absl::StatusOr<Stored> StoredFromRow(const Row& row) {
  Stored s;
  ASSIGN_OR_RETURN(s.seq, row.GetInt64("seq"));
  ASSIGN_OR_RETURN(std::string content, row.GetString("content"));
  if (!s.listing.ParseFromString(content)) {
    return absl::InternalError("listings.content does not parse");
  }
  ASSIGN_OR_RETURN(std::string id, row.GetString("listing_id"));
  ASSIGN_OR_RETURN(std::string seller, row.GetString("seller_id"));
  ASSIGN_OR_RETURN(std::string state, row.GetString("state"));
  ASSIGN_OR_RETURN(std::string codes, row.GetString("reason_codes"));
  ASSIGN_OR_RETURN(std::string explanation, row.GetString("explanation"));
  ASSIGN_OR_RETURN(std::string version, row.GetString("rules_version"));
  ASSIGN_OR_RETURN(s.state_before_suspension, row.GetOptionalString("state_before_suspension"));
  ASSIGN_OR_RETURN(s.ever_decided, row.GetBool("ever_decided"));
  ASSIGN_OR_RETURN(absl::Time created, row.GetTime("created_at"));
  ASSIGN_OR_RETURN(s.updated_at, row.GetTime("updated_at"));
  v1::Listing& l = s.listing;
  l.set_listing_id(std::move(id));
  l.set_seller_id(std::move(seller));
  l.set_state(ParseState(state));
  l.clear_reason_codes();
  for (absl::string_view c : absl::StrSplit(codes, ',', absl::SkipEmpty())) {
    l.add_reason_codes(std::string(c));
  }
  l.set_explanation(std::move(explanation));
  l.set_rules_version(std::move(version));
  *l.mutable_create_time() = ToTimestamp(created);
  *l.mutable_update_time() = ToTimestamp(s.updated_at);
  return s;
}

// What goes in listings.content: the content fields and the findings.
std::string ContentBytes(const v1::Listing& l) {
  v1::Listing c = l;
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

std::string FoldedTitle(const v1::Listing& l) {
  return absl::StrCat(" ", FoldText(l.title()), " ");
}

absl::StatusOr<std::optional<Stored>> LoadListing(Transaction& tx, absl::string_view id,
                                                  bool for_update) {
  ASSIGN_OR_RETURN(
      std::vector<Row> rows,
      tx.Query(absl::StrCat("SELECT ", kListingColumns, " FROM listings WHERE listing_id = ?",
                            for_update ? " FOR UPDATE" : ""),
               {std::string(id)}));
  if (rows.empty()) return std::optional<Stored>();
  ASSIGN_OR_RETURN(Stored s, StoredFromRow(rows[0]));
  return std::optional<Stored>(std::move(s));
}

// Writes the listing back with an updated_at strictly later than the one it was loaded with, even
// when two writes share a clock reading or a replica's clock is behind: the public view caches
// of all replicas find changed listings by that column (public_view_cache.h).
absl::Status SaveListing(Transaction& tx, Stored& s, absl::Time now) {
  s.updated_at = std::max(now, s.updated_at + absl::Microseconds(1));
  v1::Listing& l = s.listing;
  *l.mutable_update_time() = ToTimestamp(s.updated_at);
  SqlValue before = nullptr;
  if (s.state_before_suspension) before = *s.state_before_suspension;
  ASSIGN_OR_RETURN(
      int64_t n,
      tx.Execute("UPDATE listings SET state = ?, category_id = ?, title_folded = ?, content = ?, "
                 "reason_codes = ?, explanation = ?, rules_version = ?, "
                 "state_before_suspension = ?, ever_decided = ?, updated_at = ? "
                 "WHERE listing_id = ?",
                 {StateName(l.state()), l.category_id(), FoldedTitle(l), ContentBytes(l),
                  absl::StrJoin(l.reason_codes(), ","), l.explanation(), l.rules_version(), before,
                  s.ever_decided, s.updated_at, l.listing_id()}));
  if (n != 1) return absl::InternalError("listing row vanished during its update");
  return absl::OkStatus();
}

absl::StatusOr<int64_t> RecordTransition(Transaction& tx, const std::string& listing_id,
                                         const std::string& actor, v1::ListingState from,
                                         v1::ListingState to, const std::vector<std::string>& codes,
                                         const std::string& explanation,
                                         const std::string& rules_version, absl::Time now) {
  RETURN_IF_ERROR(
      tx.Execute("INSERT INTO listing_transitions (listing_id, actor, at, from_state, to_state, "
                 "reason_codes, explanation, rules_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                 {listing_id, actor, now,
                  from == v1::LISTING_STATE_UNSPECIFIED ? std::string() : StateName(from),
                  StateName(to), absl::StrJoin(codes, ","), explanation, rules_version})
          .status());
  return tx.LastInsertId();
}

absl::Status Enqueue(Transaction& tx, const v1::Listing& l, v1::ReviewReason reason,
                     const std::string& statement, absl::Time now) {
  return tx
      .Execute(
          "INSERT INTO review_queue (listing_id, seller_id, reason, enqueued_at, claimed_by, "
          "claim_expires_at, appeal_statement) VALUES (?, ?, ?, ?, NULL, NULL, ?) "
          "ON DUPLICATE KEY UPDATE reason = VALUES(reason), enqueued_at = VALUES(enqueued_at), "
          "claimed_by = NULL, claim_expires_at = NULL, "
          "appeal_statement = VALUES(appeal_statement)",
          {l.listing_id(), l.seller_id(), v1::ReviewReason_Name(reason), now, statement})
      .status();
}

absl::Status Dequeue(Transaction& tx, const std::string& listing_id) {
  return tx.Execute("DELETE FROM review_queue WHERE listing_id = ?", {listing_id}).status();
}

v1::Listing PublicView(v1::Listing l) {
  l.clear_reason_codes();
  l.clear_explanation();
  l.clear_findings();
  l.clear_rules_version();
  return l;
}

std::string NewListingId() {
  thread_local absl::BitGen gen;
  return absl::StrCat("lst_", absl::Hex(absl::Uniform<uint64_t>(gen), absl::kZeroPad16),
                      absl::Hex(absl::Uniform<uint32_t>(gen), absl::kZeroPad8));
}

// FNV-1a: a stable fingerprint of the filters a page token was made for.
std::string Fingerprint(absl::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return absl::StrCat(absl::Hex(h, absl::kZeroPad16));
}

std::string MakePageToken(absl::string_view cursor, absl::string_view filters) {
  return absl::WebSafeBase64Escape(absl::StrCat("v1|", Fingerprint(filters), "|", cursor));
}

// The cursor of a token made for `filters`; INVALID_ARGUMENT otherwise.
absl::StatusOr<std::string> ParsePageToken(absl::string_view token, absl::string_view filters) {
  std::string raw;
  const absl::Status bad =
      common::InvalidField("page_token", "must be a next_page_token returned for the same filters");
  if (!absl::WebSafeBase64Unescape(token, &raw)) return bad;
  std::vector<std::string> parts = absl::StrSplit(raw, absl::MaxSplits('|', 2));
  if (parts.size() != 3 || parts[0] != "v1" || parts[1] != Fingerprint(filters)) return bad;
  return parts[2];
}

absl::StatusOr<int> PageSize(int32_t requested) {
  if (requested < 0 || requested > kMaxPageSize) {
    return common::InvalidField("page_size", "must be 0-100 (0: 20)");
  }
  return requested == 0 ? kDefaultPageSize : requested;
}

std::string Placeholders(size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) absl::StrAppend(&out, i ? ", ?" : "?");
  return out;
}

}  // namespace

// =============================================================================================

absl::Status ApplyCatalogMigrations(common::db::ConnectionPool& pool) {
  RETURN_IF_ERROR(common::db::ApplyMigrations(pool, "catalog", CatalogMigrations()));
  RETURN_IF_ERROR(common::outbox::ApplyOutboxMigrations(pool));
  return common::idempotency::ApplyIdempotencyMigrations(pool);
}

Listings::Listings(common::db::ConnectionPool* pool, LiveRules* rules,
                   common::identity_client::SellerDirectory* sellers,
                   const common::Clock* clock, ListingsOptions options)
    : pool_(pool),
      rules_(rules),
      sellers_(sellers),
      clock_(clock),
      options_(std::move(options)),
      public_cache_(pool, clock, options_.public_cache),
      outbox_("catalog", clock),
      idempotency_(clock),
      point_reader_(std::make_unique<common::db::BatchedReader>(
          pool, common::db::BatchedReader::Options{
                    .table = "listings",
                    .columns = kListingColumns,
                    .key_column = "listing_id",
                    .ascii_case_insensitive = true,  // CHARACTER SET ascii, _ci collation
                    .threads = std::max(1, options_.point_read_threads)})) {
  public_cache_.StartPolling();
}

namespace {

// The seller of `subject` must be APPROVED and active per the directory.
absl::Status RequireApprovedSeller(common::identity_client::SellerDirectory& sellers,
                                   const std::string& subject) {
  ASSIGN_OR_RETURN(common::identity_client::SellerStatus status, sellers.GetSeller(subject));
  if (!status.found || !status.approved_active) {
    return common::FailedPrecondition(
        "SELLER_NOT_APPROVED", "only APPROVED, active sellers may create or submit listings");
  }
  return absl::OkStatus();
}

absl::StatusOr<Stored> LoadOwned(Transaction& tx, const Caller& caller, const std::string& id) {
  ASSIGN_OR_RETURN(std::optional<Stored> s, LoadListing(tx, id, /*for_update=*/true));
  if (!s) return common::NotFound("listing", id);
  if (!IsOwner(caller, s->listing)) {
    return common::PermissionDenied("only the listing's seller may do this");
  }
  return *std::move(s);
}

absl::Status InvalidState(const v1::Listing& l, absl::string_view what) {
  return common::FailedPrecondition(
      "INVALID_STATE", absl::StrCat("cannot ", what, " a listing in state ", StateName(l.state())));
}

struct Moderated {
  v1::ListingState to;
  std::vector<std::string> codes;
  std::string explanation;
};

}  // namespace

// Runs the rules over `s` and moves it to LIVE, REJECTED or PENDING_REVIEW, with the
// transition, queue entry and event. `s` is updated and saved.
static absl::Status ModerateAndSave(Transaction& tx, Stored& s, const RuleSet& rules,
                                    const ListingsOptions& options,
                                    const common::outbox::Outbox& outbox, absl::Time now) {
  v1::Listing& l = s.listing;
  ListingContent content;
  content.title = l.title();
  content.description = l.description();
  content.category_id = l.category_id();
  content.brand = l.brand();
  if (l.has_price()) {
    absl::StatusOr<common::Money> price =
        common::Money::Of(l.price().currency_code(), l.price().amount_minor());
    if (price.ok()) content.price = *price;
  }
  content.image_urls.assign(l.image_urls().begin(), l.image_urls().end());
  for (const auto& [k, v] : l.attributes()) content.attributes[k] = v;

  SellerContext seller;
  seller.new_seller_listings = options.new_seller_listings;
  ASSIGN_OR_RETURN(std::vector<Row> count,
                   tx.Query("SELECT COUNT(*) AS n FROM listings WHERE seller_id = ? AND "
                            "ever_decided AND listing_id <> ?",
                            {l.seller_id(), l.listing_id()}));
  ASSIGN_OR_RETURN(seller.decided_listings, count[0].GetInt64("n"));
  ASSIGN_OR_RETURN(std::vector<Row> mod,
                   tx.Query("SELECT level, authorized_brands FROM seller_moderation "
                            "WHERE seller_id = ?",
                            {l.seller_id()}));
  if (!mod.empty()) {
    ASSIGN_OR_RETURN(std::string level, mod[0].GetString("level"));
    ASSIGN_OR_RETURN(std::string brands, mod[0].GetString("authorized_brands"));
    if (level == "AT_RISK") seller.level = SellerModerationLevel::kAtRisk;
    if (level == "TRUSTED") seller.level = SellerModerationLevel::kTrusted;
    for (absl::string_view b : absl::StrSplit(brands, '\n', absl::SkipEmpty())) {
      seller.authorized_brands.insert(FoldText(b));
    }
  }
  ASSIGN_OR_RETURN(std::vector<Row> others,
                   tx.Query("SELECT listing_id, content FROM listings WHERE seller_id = ? AND "
                            "state = 'LIVE' AND listing_id <> ? ORDER BY seq DESC LIMIT 200",
                            {l.seller_id(), l.listing_id()}));
  for (const Row& row : others) {
    v1::Listing other;
    ASSIGN_OR_RETURN(std::string id, row.GetString("listing_id"));
    ASSIGN_OR_RETURN(std::string bytes, row.GetString("content"));
    if (!other.ParseFromString(bytes)) return absl::InternalError("listings.content");
    seller.other_live_listings.push_back({id, other.title(), other.description()});
  }

  Evaluation e = Evaluate(rules, content, seller);
  const v1::ListingState from = l.state();
  l.clear_findings();
  std::vector<std::string> codes;
  std::vector<std::string> explanations;
  for (const Finding& f : e.findings) {
    v1::ModerationFinding* out = l.add_findings();
    out->set_rule(f.rule);
    out->set_verdict(f.verdict == Verdict::kReject ? v1::REJECT : v1::REVIEW);
    out->set_reason_code(f.reason_code);
    out->set_explanation(f.explanation);
    if (std::find(codes.begin(), codes.end(), f.reason_code) == codes.end()) {
      codes.push_back(f.reason_code);
    }
    explanations.push_back(f.explanation);
  }
  l.set_rules_version(e.rules_version);
  l.clear_reason_codes();
  for (const std::string& c : codes) l.add_reason_codes(c);
  l.set_explanation(absl::StrJoin(explanations, "; "));

  if (e.verdict == Verdict::kPass) {
    l.set_state(v1::LIVE);
    s.ever_decided = true;
    RETURN_IF_ERROR(Dequeue(tx, l.listing_id()));
    v1::ListingApproved event;
    event.set_listing_id(l.listing_id());
    event.set_seller_id(l.seller_id());
    event.set_decided_by(kSystemActor);
    *event.mutable_decide_time() = ToTimestamp(now);
    event.set_rules_version(e.rules_version);
    RETURN_IF_ERROR(outbox.Enqueue(tx, kTopicListingApproved, l.listing_id(), event).status());
  } else if (e.verdict == Verdict::kReject) {
    l.set_state(v1::REJECTED);
    s.ever_decided = true;
    RETURN_IF_ERROR(Dequeue(tx, l.listing_id()));
    v1::ListingRejected event;
    event.set_listing_id(l.listing_id());
    event.set_seller_id(l.seller_id());
    event.set_decided_by(kSystemActor);
    *event.mutable_decide_time() = ToTimestamp(now);
    for (const std::string& c : codes) event.add_reason_codes(c);
    event.set_explanation(l.explanation());
    event.set_rules_version(e.rules_version);
    RETURN_IF_ERROR(outbox.Enqueue(tx, kTopicListingRejected, l.listing_id(), event).status());
  } else {
    l.set_state(v1::PENDING_REVIEW);
    RETURN_IF_ERROR(Enqueue(tx, l, v1::RULES, "", now));
  }
  RETURN_IF_ERROR(SaveListing(tx, s, now));
  return RecordTransition(tx, l.listing_id(), kSystemActor, from, l.state(), codes, l.explanation(),
                          e.rules_version, now)
      .status();
}

// ---------------------------------------------------------------------------------------------

absl::StatusOr<v1::Listing> Listings::CreateListing(const MaybeCaller& maybe_caller,
                                                    const v1::CreateListingRequest& request) {
  ASSIGN_OR_RETURN(const Caller* caller, RequireCaller(maybe_caller));
  if (!caller->HasRole("SELLER")) return common::PermissionDenied("only sellers create listings");
  RETURN_IF_ERROR(common::idempotency::ValidateRequestId("request_id", request.request_id()));
  std::vector<common::FieldViolation> violations;
  ValidateContent(request.listing(), UpdatablePaths(), violations);
  if (!violations.empty()) return common::InvalidFields(std::move(violations));
  RETURN_IF_ERROR(RequireApprovedSeller(*sellers_, caller->subject));

  const common::idempotency::RequestKey key{caller->subject, kCreateListingMethod,
                                            request.request_id()};
  return common::idempotency::RunIdempotent<v1::Listing>(
      *pool_, idempotency_, key, common::idempotency::RequestHash(request),
      [&](Transaction& tx) -> absl::StatusOr<v1::Listing> {
        const absl::Time now = clock_->Now();
        v1::Listing l;
        const v1::Listing& in = request.listing();
        l.set_title(in.title());
        l.set_description(in.description());
        l.set_category_id(in.category_id());
        l.set_brand(in.brand());
        l.set_condition(in.condition());
        if (in.has_price()) *l.mutable_price() = in.price();
        l.set_quantity(in.quantity());
        *l.mutable_image_urls() = in.image_urls();
        *l.mutable_attributes() = in.attributes();
        l.set_listing_id(NewListingId());
        l.set_seller_id(caller->subject);
        l.set_state(v1::DRAFT);
        RETURN_IF_ERROR(
            tx.Execute("INSERT INTO listings (listing_id, seller_id, state, category_id, "
                       "title_folded, content, reason_codes, explanation, rules_version, "
                       "ever_decided, created_at, updated_at) "
                       "VALUES (?, ?, 'DRAFT', ?, ?, ?, '', '', '', FALSE, ?, ?)",
                       {l.listing_id(), l.seller_id(), l.category_id(), FoldedTitle(l),
                        ContentBytes(l), now, now})
                .status());
        RETURN_IF_ERROR(RecordTransition(tx, l.listing_id(), caller->subject,
                                         v1::LISTING_STATE_UNSPECIFIED, v1::DRAFT, {}, "", "", now)
                            .status());
        *l.mutable_create_time() = ToTimestamp(now);
        *l.mutable_update_time() = ToTimestamp(now);
        return l;
      });
}

absl::StatusOr<v1::Listing> Listings::UpdateListing(const MaybeCaller& maybe_caller,
                                                    const v1::UpdateListingRequest& request) {
  ASSIGN_OR_RETURN(const Caller* caller, RequireCaller(maybe_caller));
  const std::string& id = request.listing().listing_id();
  RETURN_IF_ERROR(ValidateId("listing.listing_id", id));
  if (request.update_mask().paths_size() == 0) {
    return common::InvalidField("update_mask", "must name at least one field");
  }
  std::set<std::string> paths;
  for (const std::string& p : request.update_mask().paths()) {
    if (!UpdatablePaths().count(p)) {
      return common::InvalidField("update_mask",
                                  absl::StrCat("\"", p,
                                               "\" is not an updatable field (title, "
                                               "description, category_id, brand, condition, price, "
                                               "quantity, image_urls, attributes)"));
    }
    paths.insert(p);
  }
  std::vector<common::FieldViolation> violations;
  ValidateContent(request.listing(), paths, violations);
  if (!violations.empty()) return common::InvalidFields(std::move(violations));
  const bool moderated_change = paths.size() > 1 || !paths.count("quantity");
  std::shared_ptr<const RuleSet> rules = rules_->Current();
  // Whether the listing is LIVE is known only inside the transaction; the seller check is a
  // remote call, made once beforehand when it may be needed.
  // Its failure matters only for a LIVE listing whose content changes.
  absl::Status seller_status = absl::OkStatus();
  if (moderated_change && caller->HasRole("SELLER")) {
    seller_status = RequireApprovedSeller(*sellers_, caller->subject);
  }

  return common::db::RunInTransaction(*pool_, [&](Transaction& tx) -> absl::StatusOr<v1::Listing> {
    const absl::Time now = clock_->Now();
    ASSIGN_OR_RETURN(Stored s, LoadOwned(tx, *caller, id));
    v1::Listing& l = s.listing;
    const v1::ListingState state = l.state();
    if (state == v1::PENDING_REVIEW || state == v1::SUSPENDED) {
      return InvalidState(l, "update");
    }
    const v1::Listing before = l;
    const v1::Listing& in = request.listing();
    for (const std::string& p : paths) {
      if (p == "title") l.set_title(in.title());
      if (p == "description") l.set_description(in.description());
      if (p == "category_id") l.set_category_id(in.category_id());
      if (p == "brand") l.set_brand(in.brand());
      if (p == "condition") l.set_condition(in.condition());
      if (p == "price") {
        if (in.has_price()) {
          *l.mutable_price() = in.price();
        } else {
          l.clear_price();
        }
      }
      if (p == "quantity") l.set_quantity(in.quantity());
      if (p == "image_urls") *l.mutable_image_urls() = in.image_urls();
      if (p == "attributes") *l.mutable_attributes() = in.attributes();
    }
    v1::Listing a = before, b = l;
    a.set_quantity(0);
    b.set_quantity(0);
    const bool content_changed = !google::protobuf::util::MessageDifferencer::Equals(a, b);
    if (state == v1::LIVE && content_changed) {
      RETURN_IF_ERROR(seller_status);
      RETURN_IF_ERROR(ModerateAndSave(tx, s, *rules, options_, outbox_, now));
    } else {
      RETURN_IF_ERROR(SaveListing(tx, s, now));
    }
    return l;
  });
}

absl::StatusOr<v1::Listing> Listings::SubmitListing(const MaybeCaller& maybe_caller,
                                                    const v1::SubmitListingRequest& request) {
  ASSIGN_OR_RETURN(const Caller* caller, RequireCaller(maybe_caller));
  RETURN_IF_ERROR(ValidateId("listing_id", request.listing_id()));
  if (!caller->HasRole("SELLER")) return common::PermissionDenied("only sellers submit listings");
  RETURN_IF_ERROR(RequireApprovedSeller(*sellers_, caller->subject));
  std::shared_ptr<const RuleSet> rules = rules_->Current();
  return common::db::RunInTransaction(*pool_, [&](Transaction& tx) -> absl::StatusOr<v1::Listing> {
    const absl::Time now = clock_->Now();
    ASSIGN_OR_RETURN(Stored s, LoadOwned(tx, *caller, request.listing_id()));
    const v1::ListingState state = s.listing.state();
    if (state != v1::DRAFT && state != v1::REJECTED && state != v1::WITHDRAWN) {
      return InvalidState(s.listing, "submit");
    }
    RETURN_IF_ERROR(ModerateAndSave(tx, s, *rules, options_, outbox_, now));
    return s.listing;
  });
}

absl::StatusOr<v1::Listing> Listings::GetListing(const MaybeCaller& caller,
                                                 const v1::GetListingRequest& request) {
  absl::Notification done;
  absl::StatusOr<v1::Listing> out;
  GetListingAsync(caller, request, [&](absl::StatusOr<v1::Listing> result) {
    out = std::move(result);
    done.Notify();
  });
  done.WaitForNotification();
  return out;
}

void Listings::GetListingAsync(const MaybeCaller& caller, const v1::GetListingRequest& request,
                               std::function<void(absl::StatusOr<v1::Listing>)> done) {
  if (absl::Status valid = ValidateId("listing_id", request.listing_id()); !valid.ok()) {
    done(valid);
    return;
  }
  const bool may_see_all = caller && (caller->HasRole("SELLER") || IsReader(*caller));
  const bool use_cache = public_cache_.enabled() && !may_see_all;
  PublicViewCache::Ticket ticket;
  if (use_cache) {
    if (std::shared_ptr<const v1::Listing> view = public_cache_.Find(request.listing_id())) {
      done(*view);
      return;
    }
    ticket = public_cache_.BeginRead();
  }
  // One row in autocommit, read together with the other GetListing calls of the moment.
  point_reader_->Read(
      request.listing_id(),
      [this, caller, use_cache, ticket, listing_id = request.listing_id(),
       done = std::move(done)](absl::StatusOr<std::optional<Row>> row) {
        done([&]() -> absl::StatusOr<v1::Listing> {
          if (!row.ok()) return row.status();
          if (!row->has_value()) return common::NotFound("listing", listing_id);
          ASSIGN_OR_RETURN(Stored s, StoredFromRow(**row));
          const bool full = caller && (IsOwner(*caller, s.listing) || IsReader(*caller));
          if (full) return std::move(s.listing);
          if (s.listing.state() != v1::LIVE) return common::NotFound("listing", listing_id);
          v1::Listing view = PublicView(std::move(s.listing));
          if (use_cache) public_cache_.Put(listing_id, view, ticket);
          return view;
        }());
      });
}

absl::StatusOr<v1::ListListingsResponse> Listings::ListListings(
    const MaybeCaller& caller, const v1::ListListingsRequest& request) {
  ASSIGN_OR_RETURN(int page_size, PageSize(request.page_size()));
  if (CodePoints(request.query()) > 100) {
    return common::InvalidField("query", "must be at most 100 characters");
  }
  if (!request.seller_id().empty()) RETURN_IF_ERROR(ValidateId("seller_id", request.seller_id()));
  std::set<std::string> states;
  for (int s : request.states()) {
    if (s == v1::LISTING_STATE_UNSPECIFIED || !v1::ListingState_IsValid(s)) {
      return common::InvalidField("states", "must be valid listing states");
    }
    states.insert(StateName(static_cast<v1::ListingState>(s)));
  }
  if (states.empty()) states.insert("LIVE");
  const bool privileged =
      caller && (IsReader(*caller) || (caller->HasRole("SELLER") && !request.seller_id().empty() &&
                                       request.seller_id() == caller->subject));
  if (!privileged && (states.size() != 1 || *states.begin() != "LIVE")) {
    return common::PermissionDenied(
        "only the seller itself (seller_id = caller) and staff may list other states than LIVE");
  }
  std::vector<std::string> categories;
  if (!request.category_id().empty()) {
    std::shared_ptr<const RuleSet> rules = rules_->Current();
    if (rules->FindCategory(request.category_id()) == nullptr) {
      return common::NotFound("category", request.category_id());
    }
    categories = rules->Subtree(request.category_id());
  }
  const std::vector<std::string> words = Words(FoldText(request.query()));
  const std::string filters =
      absl::StrCat(request.category_id(), "|", request.seller_id(), "|", absl::StrJoin(words, " "),
                   "|", absl::StrJoin(states, ","));
  std::optional<int64_t> after;
  if (!request.page_token().empty()) {
    ASSIGN_OR_RETURN(std::string cursor, ParsePageToken(request.page_token(), filters));
    int64_t seq = 0;
    if (!absl::SimpleAtoi(cursor, &seq)) {
      return common::InvalidField("page_token", "must be a next_page_token returned before");
    }
    after = seq;
  }

  std::string sql = absl::StrCat("SELECT ", kListingColumns, " FROM listings WHERE state IN (",
                                 Placeholders(states.size()), ")");
  std::vector<SqlValue> params(states.begin(), states.end());
  if (!request.seller_id().empty()) {
    sql += " AND seller_id = ?";
    params.push_back(request.seller_id());
  }
  if (!categories.empty()) {
    absl::StrAppend(&sql, " AND category_id IN (", Placeholders(categories.size()), ")");
    params.insert(params.end(), categories.begin(), categories.end());
  }
  for (const std::string& w : words) {
    // Folded words are letters and digits only: nothing LIKE would interpret.
    sql += " AND title_folded LIKE ?";
    params.push_back(absl::StrCat("% ", w, " %"));
  }
  if (after) {
    sql += " AND seq < ?";
    params.push_back(*after);
  }
  absl::StrAppend(&sql, " ORDER BY seq DESC LIMIT ", page_size + 1);

  ASSIGN_OR_RETURN(std::vector<Row> rows, pool_->Query(sql, params));
  v1::ListListingsResponse response;
  for (size_t i = 0; i < rows.size() && i < static_cast<size_t>(page_size); ++i) {
    ASSIGN_OR_RETURN(Stored s, StoredFromRow(rows[i]));
    const bool full = caller && (IsOwner(*caller, s.listing) || IsReader(*caller));
    *response.add_listings() = full ? s.listing : PublicView(s.listing);
    if (i + 1 == static_cast<size_t>(page_size) && rows.size() > i + 1) {
      response.set_next_page_token(MakePageToken(absl::StrCat(s.seq), filters));
    }
  }
  return response;
}

absl::StatusOr<v1::Listing> Listings::WithdrawListing(const MaybeCaller& maybe_caller,
                                                      const v1::WithdrawListingRequest& request) {
  ASSIGN_OR_RETURN(const Caller* caller, RequireCaller(maybe_caller));
  RETURN_IF_ERROR(ValidateId("listing_id", request.listing_id()));
  return common::db::RunInTransaction(*pool_, [&](Transaction& tx) -> absl::StatusOr<v1::Listing> {
    const absl::Time now = clock_->Now();
    ASSIGN_OR_RETURN(Stored s, LoadOwned(tx, *caller, request.listing_id()));
    const v1::ListingState from = s.listing.state();
    if (from == v1::WITHDRAWN || from == v1::SUSPENDED) {
      return InvalidState(s.listing, "withdraw");
    }
    s.listing.set_state(v1::WITHDRAWN);
    RETURN_IF_ERROR(Dequeue(tx, s.listing.listing_id()));
    RETURN_IF_ERROR(SaveListing(tx, s, now));
    RETURN_IF_ERROR(RecordTransition(tx, s.listing.listing_id(), caller->subject, from,
                                     v1::WITHDRAWN, {}, "withdrawn by the seller", "", now)
                        .status());
    return s.listing;
  });
}

absl::StatusOr<v1::ListCategoriesResponse> Listings::ListCategories() {
  std::shared_ptr<const RuleSet> rules = rules_->Current();
  v1::ListCategoriesResponse response;
  response.set_rules_version(rules->version());
  for (const Category& c : rules->categories()) {
    const ResolvedCategory* r = rules->FindCategory(c.id);
    v1::Category* out = response.add_categories();
    out->set_category_id(c.id);
    out->set_parent_id(c.parent_id);
    out->set_name(c.name);
    if (r != nullptr) {
      out->set_age_restricted(r->age_restricted);
      for (const std::string& a : r->required_attributes) out->add_required_attributes(a);
      out->set_brands_need_authorization(r->brands_need_authorization);
    }
  }
  return response;
}

absl::StatusOr<v1::ReportListingResponse> Listings::ReportListing(
    const MaybeCaller& maybe_caller, const v1::ReportListingRequest& request) {
  ASSIGN_OR_RETURN(const Caller* caller, RequireCaller(maybe_caller));
  if (!caller->HasRole("BUYER")) return common::PermissionDenied("only buyers report listings");
  RETURN_IF_ERROR(ValidateId("listing_id", request.listing_id()));
  if (request.reason() == v1::REPORT_REASON_UNSPECIFIED ||
      !v1::ReportReason_IsValid(request.reason())) {
    return common::InvalidField("reason",
                                "must be one of COUNTERFEIT, PROHIBITED, "
                                "WRONG_CATEGORY, MISLEADING, OTHER");
  }
  if (CodePoints(request.comment()) > 1000) {
    return common::InvalidField("comment", "must be at most 1000 characters");
  }
  if (request.reason() == v1::OTHER && IsBlank(request.comment())) {
    return common::InvalidField("comment", "is required for reason OTHER");
  }
  return common::db::RunInTransaction(
      *pool_, [&](Transaction& tx) -> absl::StatusOr<v1::ReportListingResponse> {
        const absl::Time now = clock_->Now();
        // The listing's row lock serialises the reports of one listing.
        ASSIGN_OR_RETURN(std::optional<Stored> s,
                         LoadListing(tx, request.listing_id(), /*for_update=*/true));
        if (!s || s->listing.state() != v1::LIVE) {
          return common::NotFound("listing", request.listing_id());
        }
        if (s->listing.seller_id() == caller->subject) {
          return common::PermissionDenied("a seller cannot report its own listing");
        }
        ASSIGN_OR_RETURN(std::vector<Row> existing,
                         tx.Query("SELECT id FROM reports WHERE listing_id = ? AND "
                                  "reporter_id = ?",
                                  {request.listing_id(), caller->subject}));
        if (!existing.empty()) {
          return common::WithReason(
              absl::AlreadyExistsError("this buyer already reported this listing"),
              "ALREADY_REPORTED");
        }
        RETURN_IF_ERROR(
            tx.Execute("INSERT INTO reports (listing_id, reporter_id, reason, "
                       "comment, is_open, created_at) VALUES (?, ?, ?, ?, TRUE, ?)",
                       {request.listing_id(), caller->subject,
                        v1::ReportReason_Name(request.reason()), request.comment(), now})
                .status());
        ASSIGN_OR_RETURN(std::vector<Row> open,
                         tx.Query("SELECT COUNT(*) AS n FROM reports WHERE listing_id = ? AND "
                                  "is_open",
                                  {request.listing_id()}));
        v1::ReportListingResponse response;
        ASSIGN_OR_RETURN(int64_t n, open[0].GetInt64("n"));
        response.set_open_reports(n);
        if (n >= options_.report_threshold) {
          v1::Listing& l = s->listing;
          l.set_state(v1::PENDING_REVIEW);
          l.clear_reason_codes();
          l.add_reason_codes("REPORTED");
          l.set_explanation(absl::StrCat(n, " buyers reported this listing"));
          RETURN_IF_ERROR(Enqueue(tx, l, v1::REPORTS, "", now));
          RETURN_IF_ERROR(SaveListing(tx, *s, now));
          RETURN_IF_ERROR(RecordTransition(tx, l.listing_id(), kSystemActor, v1::LIVE,
                                           v1::PENDING_REVIEW, {"REPORTED"}, l.explanation(), "",
                                           now)
                              .status());
          response.set_sent_to_review(true);
        }
        v1::ListingReported event;
        event.set_listing_id(request.listing_id());
        event.set_seller_id(s->listing.seller_id());
        event.set_reporter_id(caller->subject);
        event.set_reason(request.reason());
        event.set_open_reports(n);
        event.set_sent_to_review(response.sent_to_review());
        *event.mutable_report_time() = ToTimestamp(now);
        RETURN_IF_ERROR(
            outbox_.Enqueue(tx, kTopicListingReported, request.listing_id(), event).status());
        return response;
      });
}

namespace {

absl::StatusOr<v1::Review> ReviewFromRow(const Row& row, absl::Time now) {
  v1::Review r;
  ASSIGN_OR_RETURN(std::string id, row.GetString("q_listing_id"));
  ASSIGN_OR_RETURN(std::string seller, row.GetString("q_seller_id"));
  ASSIGN_OR_RETURN(std::string reason, row.GetString("q_reason"));
  ASSIGN_OR_RETURN(absl::Time enqueued, row.GetTime("q_enqueued_at"));
  ASSIGN_OR_RETURN(std::optional<std::string> by, row.GetOptionalString("q_claimed_by"));
  ASSIGN_OR_RETURN(std::optional<absl::Time> until, row.GetOptionalTime("q_claim_expires_at"));
  ASSIGN_OR_RETURN(std::string statement, row.GetString("q_appeal_statement"));
  r.set_listing_id(id);
  r.set_seller_id(seller);
  v1::ReviewReason rr = v1::REVIEW_REASON_UNSPECIFIED;
  v1::ReviewReason_Parse(reason, &rr);
  r.set_reason(rr);
  *r.mutable_enqueue_time() = ToTimestamp(enqueued);
  if (by && until && *until > now) {
    r.set_claimed_by(*by);
    *r.mutable_claim_expire_time() = ToTimestamp(*until);
  }
  r.set_appeal_statement(statement);
  ASSIGN_OR_RETURN(Stored s, StoredFromRow(row));
  *r.mutable_listing() = s.listing;
  return r;
}

constexpr char kReviewColumns[] =
    "q.listing_id AS q_listing_id, q.seller_id AS q_seller_id, q.reason AS q_reason, "
    "q.enqueued_at AS q_enqueued_at, q.claimed_by AS q_claimed_by, "
    "q.claim_expires_at AS q_claim_expires_at, q.appeal_statement AS q_appeal_statement, "
    "l.seq, l.listing_id, l.seller_id, l.state, l.content, l.reason_codes, l.explanation, "
    "l.rules_version, l.state_before_suspension, l.ever_decided, l.created_at, l.updated_at";

}  // namespace

absl::StatusOr<v1::ListReviewQueueResponse> Listings::ListReviewQueue(
    const MaybeCaller& maybe_caller, const v1::ListReviewQueueRequest& request) {
  ASSIGN_OR_RETURN(const Caller* caller, RequireCaller(maybe_caller));
  RETURN_IF_ERROR(RequireStaff(*caller));
  ASSIGN_OR_RETURN(int page_size, PageSize(request.page_size()));
  if (!v1::ReviewReason_IsValid(request.reason())) {
    return common::InvalidField("reason", "must be a ReviewReason");
  }
  std::vector<std::string> categories;
  if (!request.category_id().empty()) {
    std::shared_ptr<const RuleSet> rules = rules_->Current();
    if (rules->FindCategory(request.category_id()) == nullptr) {
      return common::NotFound("category", request.category_id());
    }
    categories = rules->Subtree(request.category_id());
  }
  const absl::Time now = clock_->Now();
  const std::string filters =
      absl::StrCat(request.reason(), "|", request.category_id(), "|", request.unclaimed_only());
  std::string sql =
      absl::StrCat("SELECT ", kReviewColumns,
                   " FROM review_queue q JOIN listings l ON l.listing_id = q.listing_id "
                   "WHERE l.state = 'PENDING_REVIEW'");
  std::vector<SqlValue> params;
  if (request.reason() != v1::REVIEW_REASON_UNSPECIFIED) {
    sql += " AND q.reason = ?";
    params.push_back(v1::ReviewReason_Name(request.reason()));
  }
  if (!categories.empty()) {
    absl::StrAppend(&sql, " AND l.category_id IN (", Placeholders(categories.size()), ")");
    params.insert(params.end(), categories.begin(), categories.end());
  }
  if (request.unclaimed_only()) {
    sql += " AND (q.claimed_by IS NULL OR q.claim_expires_at <= ?)";
    params.push_back(now);
  }
  if (!request.page_token().empty()) {
    ASSIGN_OR_RETURN(std::string cursor, ParsePageToken(request.page_token(), filters));
    std::vector<std::string> parts = absl::StrSplit(cursor, absl::MaxSplits('|', 1));
    int64_t micros = 0;
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &micros)) {
      return common::InvalidField("page_token", "must be a next_page_token returned before");
    }
    const absl::Time at = absl::FromUnixMicros(micros);
    sql += " AND (q.enqueued_at > ? OR (q.enqueued_at = ? AND q.listing_id > ?))";
    params.push_back(at);
    params.push_back(at);
    params.push_back(parts[1]);
  }
  absl::StrAppend(&sql, " ORDER BY q.enqueued_at, q.listing_id LIMIT ", page_size + 1);
  ASSIGN_OR_RETURN(std::vector<Row> rows, pool_->Query(sql, params));
  v1::ListReviewQueueResponse response;
  for (size_t i = 0; i < rows.size() && i < static_cast<size_t>(page_size); ++i) {
    ASSIGN_OR_RETURN(v1::Review r, ReviewFromRow(rows[i], now));
    if (i + 1 == static_cast<size_t>(page_size) && rows.size() > i + 1) {
      ASSIGN_OR_RETURN(absl::Time at, rows[i].GetTime("q_enqueued_at"));
      response.set_next_page_token(
          MakePageToken(absl::StrCat(absl::ToUnixMicros(at), "|", r.listing_id()), filters));
    }
    *response.add_reviews() = std::move(r);
  }
  return response;
}

absl::StatusOr<v1::Review> Listings::ClaimReview(const MaybeCaller& maybe_caller,
                                                 const v1::ClaimReviewRequest& request) {
  ASSIGN_OR_RETURN(const Caller* caller, RequireCaller(maybe_caller));
  RETURN_IF_ERROR(RequireStaff(*caller));
  RETURN_IF_ERROR(ValidateId("listing_id", request.listing_id()));
  return common::db::RunInTransaction(*pool_, [&](Transaction& tx) -> absl::StatusOr<v1::Review> {
    const absl::Time now = clock_->Now();
    const absl::Time until = now + options_.claim_timeout;
    // One conditional UPDATE: it succeeds for at most one moderator while a claim runs.
    ASSIGN_OR_RETURN(
        int64_t n,
        tx.Execute("UPDATE review_queue q JOIN listings l ON l.listing_id = q.listing_id "
                   "SET q.claimed_by = ?, q.claim_expires_at = ? "
                   "WHERE q.listing_id = ? AND l.state = 'PENDING_REVIEW' AND "
                   "(q.claimed_by IS NULL OR q.claim_expires_at <= ? OR q.claimed_by = ?)",
                   {caller->subject, until, request.listing_id(), now, caller->subject}));
    ASSIGN_OR_RETURN(std::vector<Row> rows,
                     tx.Query(absl::StrCat("SELECT ", kReviewColumns,
                                           " FROM review_queue q JOIN listings l ON l.listing_id = "
                                           "q.listing_id WHERE q.listing_id = ? AND "
                                           "l.state = 'PENDING_REVIEW'"),
                              {request.listing_id()}));
    if (rows.empty()) return common::NotFound("review", request.listing_id());
    if (n == 0) {
      return common::FailedPrecondition("REVIEW_ALREADY_CLAIMED",
                                        "another moderator holds this review");
    }
    return ReviewFromRow(rows[0], now);
  });
}

absl::StatusOr<v1::Listing> Listings::DecideReview(const MaybeCaller& maybe_caller,
                                                   const v1::DecideReviewRequest& request) {
  ASSIGN_OR_RETURN(const Caller* caller, RequireCaller(maybe_caller));
  RETURN_IF_ERROR(RequireStaff(*caller));
  RETURN_IF_ERROR(ValidateId("listing_id", request.listing_id()));
  const bool approve = request.decision() == v1::APPROVE;
  if (!approve && request.decision() != v1::REJECT_LISTING) {
    return common::InvalidField("decision", "must be APPROVE or REJECT_LISTING");
  }
  std::vector<common::FieldViolation> violations;
  if (approve && request.reason_codes_size() > 0) {
    violations.push_back({"reason_codes", "must be empty for APPROVE"});
  }
  if (!approve && (request.reason_codes_size() < 1 || request.reason_codes_size() > 10)) {
    violations.push_back({"reason_codes", "must hold 1-10 codes for REJECT_LISTING"});
  }
  for (int i = 0; i < request.reason_codes_size(); ++i) {
    if (!IsReasonCode(request.reason_codes(i))) {
      violations.push_back(
          {absl::StrCat("reason_codes[", i, "]"), "must be 1-64 characters of UPPER_SNAKE_CASE"});
    }
  }
  if (CodePoints(request.note()) > 2000) {
    violations.push_back({"note", "must be at most 2000 characters"});
  }
  if (!approve && IsBlank(request.note())) {
    violations.push_back({"note", "is required for REJECT_LISTING"});
  }
  if (!violations.empty()) return common::InvalidFields(std::move(violations));

  return common::db::RunInTransaction(*pool_, [&](Transaction& tx) -> absl::StatusOr<v1::Listing> {
    const absl::Time now = clock_->Now();
    ASSIGN_OR_RETURN(std::optional<Stored> s,
                     LoadListing(tx, request.listing_id(), /*for_update=*/true));
    if (!s || s->listing.state() != v1::PENDING_REVIEW) {
      return common::NotFound("review", request.listing_id());
    }
    ASSIGN_OR_RETURN(std::vector<Row> q,
                     tx.Query("SELECT claimed_by, claim_expires_at FROM review_queue "
                              "WHERE listing_id = ? FOR UPDATE",
                              {request.listing_id()}));
    if (q.empty()) return common::NotFound("review", request.listing_id());
    ASSIGN_OR_RETURN(std::optional<std::string> by, q[0].GetOptionalString("claimed_by"));
    ASSIGN_OR_RETURN(std::optional<absl::Time> until, q[0].GetOptionalTime("claim_expires_at"));
    if (!by || *by != caller->subject || !until || *until <= now) {
      return common::FailedPrecondition("REVIEW_NOT_CLAIMED",
                                        "claim the review (ClaimReview) before deciding it");
    }
    v1::Listing& l = s->listing;
    const v1::ListingState from = l.state();
    std::vector<std::string> codes(request.reason_codes().begin(), request.reason_codes().end());
    l.set_state(approve ? v1::LIVE : v1::REJECTED);
    l.clear_reason_codes();
    for (const std::string& c : codes) l.add_reason_codes(c);
    l.set_explanation(request.note());
    s->ever_decided = true;
    RETURN_IF_ERROR(Dequeue(tx, l.listing_id()));
    RETURN_IF_ERROR(
        tx.Execute("UPDATE reports SET is_open = FALSE WHERE listing_id = ? AND is_open",
                   {l.listing_id()})
            .status());
    RETURN_IF_ERROR(SaveListing(tx, *s, now));
    RETURN_IF_ERROR(RecordTransition(tx, l.listing_id(), caller->subject, from, l.state(), codes,
                                     request.note(), "", now)
                        .status());
    if (approve) {
      v1::ListingApproved event;
      event.set_listing_id(l.listing_id());
      event.set_seller_id(l.seller_id());
      event.set_decided_by(caller->subject);
      *event.mutable_decide_time() = ToTimestamp(now);
      event.set_rules_version(l.rules_version());
      RETURN_IF_ERROR(outbox_.Enqueue(tx, kTopicListingApproved, l.listing_id(), event).status());
    } else {
      v1::ListingRejected event;
      event.set_listing_id(l.listing_id());
      event.set_seller_id(l.seller_id());
      event.set_decided_by(caller->subject);
      *event.mutable_decide_time() = ToTimestamp(now);
      for (const std::string& c : codes) event.add_reason_codes(c);
      event.set_explanation(request.note());
      event.set_rules_version(l.rules_version());
      RETURN_IF_ERROR(outbox_.Enqueue(tx, kTopicListingRejected, l.listing_id(), event).status());
    }
    return l;
  });
}

absl::StatusOr<v1::Listing> Listings::AppealDecision(const MaybeCaller& maybe_caller,
                                                     const v1::AppealDecisionRequest& request) {
  ASSIGN_OR_RETURN(const Caller* caller, RequireCaller(maybe_caller));
  RETURN_IF_ERROR(ValidateId("listing_id", request.listing_id()));
  if (IsBlank(request.statement()) || CodePoints(request.statement()) > 2000) {
    return common::InvalidField("statement", "must be 1-2000 characters, not only whitespace");
  }
  return common::db::RunInTransaction(*pool_, [&](Transaction& tx) -> absl::StatusOr<v1::Listing> {
    const absl::Time now = clock_->Now();
    ASSIGN_OR_RETURN(Stored s, LoadOwned(tx, *caller, request.listing_id()));
    v1::Listing& l = s.listing;
    if (l.state() != v1::REJECTED) return InvalidState(l, "appeal");
    ASSIGN_OR_RETURN(std::vector<Row> decision,
                     tx.Query("SELECT id FROM listing_transitions WHERE listing_id = ? AND "
                              "to_state = 'REJECTED' ORDER BY id DESC LIMIT 1",
                              {l.listing_id()}));
    if (decision.empty()) return absl::InternalError("REJECTED listing without a decision");
    ASSIGN_OR_RETURN(int64_t decision_id, decision[0].GetInt64("id"));
    ASSIGN_OR_RETURN(
        std::vector<Row> existing,
        tx.Query("SELECT decision_id FROM appeals WHERE decision_id = ?", {decision_id}));
    if (!existing.empty()) {
      return common::WithReason(absl::AlreadyExistsError("this decision was appealed already"),
                                "ALREADY_APPEALED");
    }
    RETURN_IF_ERROR(
        tx.Execute("INSERT INTO appeals (decision_id, listing_id, seller_id, "
                   "statement, created_at) VALUES (?, ?, ?, ?, ?)",
                   {decision_id, l.listing_id(), l.seller_id(), request.statement(), now})
            .status());
    l.set_state(v1::PENDING_REVIEW);
    RETURN_IF_ERROR(Enqueue(tx, l, v1::APPEAL, request.statement(), now));
    RETURN_IF_ERROR(SaveListing(tx, s, now));
    RETURN_IF_ERROR(RecordTransition(tx, l.listing_id(), caller->subject, v1::REJECTED,
                                     v1::PENDING_REVIEW, {"APPEAL"}, request.statement(), "", now)
                        .status());
    return l;
  });
}

absl::StatusOr<v1::GetModerationHistoryResponse> Listings::GetModerationHistory(
    const MaybeCaller& maybe_caller, const v1::GetModerationHistoryRequest& request) {
  ASSIGN_OR_RETURN(const Caller* caller, RequireCaller(maybe_caller));
  RETURN_IF_ERROR(ValidateId("listing_id", request.listing_id()));
  common::db::TransactionOptions ro;
  ro.read_only = true;
  return common::db::RunInTransaction(
      *pool_,
      [&](Transaction& tx) -> absl::StatusOr<v1::GetModerationHistoryResponse> {
        ASSIGN_OR_RETURN(std::optional<Stored> s,
                         LoadListing(tx, request.listing_id(), /*for_update=*/false));
        if (!s) return common::NotFound("listing", request.listing_id());
        if (!IsOwner(*caller, s->listing) && !IsReader(*caller)) {
          if (s->listing.state() != v1::LIVE) {
            return common::NotFound("listing", request.listing_id());
          }
          return common::PermissionDenied("only the seller and staff see a listing's history");
        }
        ASSIGN_OR_RETURN(std::vector<Row> rows,
                         tx.Query("SELECT actor, at, from_state, to_state, reason_codes, "
                                  "explanation, rules_version FROM listing_transitions "
                                  "WHERE listing_id = ? ORDER BY id",
                                  {request.listing_id()}));
        v1::GetModerationHistoryResponse response;
        for (const Row& row : rows) {
          v1::ListingTransition* t = response.add_transitions();
          ASSIGN_OR_RETURN(std::string actor, row.GetString("actor"));
          ASSIGN_OR_RETURN(absl::Time at, row.GetTime("at"));
          ASSIGN_OR_RETURN(std::string from, row.GetString("from_state"));
          ASSIGN_OR_RETURN(std::string to, row.GetString("to_state"));
          ASSIGN_OR_RETURN(std::string codes, row.GetString("reason_codes"));
          ASSIGN_OR_RETURN(std::string explanation, row.GetString("explanation"));
          ASSIGN_OR_RETURN(std::string version, row.GetString("rules_version"));
          t->set_actor(actor);
          *t->mutable_time() = ToTimestamp(at);
          t->set_from_state(ParseState(from));
          t->set_to_state(ParseState(to));
          for (absl::string_view c : absl::StrSplit(codes, ',', absl::SkipEmpty())) {
            t->add_reason_codes(std::string(c));
          }
          t->set_explanation(explanation);
          t->set_rules_version(version);
        }
        return response;
      },
      ro);
}

absl::StatusOr<v1::SellerModeration> Listings::SetSellerModerationLevel(
    const MaybeCaller& maybe_caller, const v1::SetSellerModerationLevelRequest& request) {
  ASSIGN_OR_RETURN(const Caller* caller, RequireCaller(maybe_caller));
  RETURN_IF_ERROR(RequireStaff(*caller));
  RETURN_IF_ERROR(ValidateId("seller_id", request.seller_id()));
  if (request.level() == v1::SELLER_MODERATION_LEVEL_UNSPECIFIED ||
      !v1::SellerModerationLevel_IsValid(request.level())) {
    return common::InvalidField("level", "must be STANDARD, AT_RISK or TRUSTED");
  }
  if (request.authorized_brands_size() > 100) {
    return common::InvalidField("authorized_brands", "at most 100 brands");
  }
  for (int i = 0; i < request.authorized_brands_size(); ++i) {
    const std::string& b = request.authorized_brands(i);
    if (IsBlank(b) || CodePoints(b) > 100 || b.find('\n') != std::string::npos) {
      return common::InvalidField(absl::StrCat("authorized_brands[", i, "]"),
                                  "must be 1-100 characters on one line");
    }
  }
  RETURN_IF_ERROR(common::db::RunInTransaction(*pool_, [&](Transaction& tx) -> absl::Status {
    return tx
        .Execute(
            "INSERT INTO seller_moderation (seller_id, level, authorized_brands, "
            "updated_by, updated_at) VALUES (?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE "
            "level = VALUES(level), authorized_brands = VALUES(authorized_brands), "
            "updated_by = VALUES(updated_by), updated_at = VALUES(updated_at)",
            {request.seller_id(), v1::SellerModerationLevel_Name(request.level()),
             absl::StrJoin(request.authorized_brands(), "\n"), caller->subject, clock_->Now()})
        .status();
  }));
  v1::SellerModeration out;
  out.set_seller_id(request.seller_id());
  out.set_level(request.level());
  *out.mutable_authorized_brands() = request.authorized_brands();
  return out;
}

namespace {
absl::Status RequireEnforcer(const Caller& c) {
  if (IsStaff(c) || (c.HasRole("SERVICE") && c.HasScope("catalog.enforcement"))) {
    return absl::OkStatus();
  }
  return common::PermissionDenied(
      "only MODERATOR, ADMIN or SERVICE with catalog.enforcement may do this");
}
}  // namespace

absl::StatusOr<v1::SuspendSellerListingsResponse> Listings::SuspendSellerListings(
    const MaybeCaller& maybe_caller, const v1::SuspendSellerListingsRequest& request) {
  ASSIGN_OR_RETURN(const Caller* caller, RequireCaller(maybe_caller));
  RETURN_IF_ERROR(RequireEnforcer(*caller));
  RETURN_IF_ERROR(ValidateId("seller_id", request.seller_id()));
  if (!IsReasonCode(request.reason_code())) {
    return common::InvalidField("reason_code", "must be 1-64 characters of UPPER_SNAKE_CASE");
  }
  if (CodePoints(request.explanation()) > 2000) {
    return common::InvalidField("explanation", "must be at most 2000 characters");
  }
  return common::db::RunInTransaction(
      *pool_, [&](Transaction& tx) -> absl::StatusOr<v1::SuspendSellerListingsResponse> {
        const absl::Time now = clock_->Now();
        ASSIGN_OR_RETURN(std::vector<Row> rows,
                         tx.Query(absl::StrCat("SELECT ", kListingColumns,
                                               " FROM listings WHERE seller_id = ? AND state "
                                               "IN ('LIVE', 'PENDING_REVIEW') ORDER BY seq "
                                               "FOR UPDATE"),
                                  {request.seller_id()}));
        v1::SuspendSellerListingsResponse response;
        for (const Row& row : rows) {
          ASSIGN_OR_RETURN(Stored s, StoredFromRow(row));
          const v1::ListingState from = s.listing.state();
          s.state_before_suspension = StateName(from);
          s.listing.set_state(v1::SUSPENDED);
          RETURN_IF_ERROR(SaveListing(tx, s, now));
          RETURN_IF_ERROR(RecordTransition(tx, s.listing.listing_id(), caller->subject, from,
                                           v1::SUSPENDED, {request.reason_code()},
                                           request.explanation(), "", now)
                              .status());
          v1::ListingSuspended event;
          event.set_listing_id(s.listing.listing_id());
          event.set_seller_id(s.listing.seller_id());
          event.set_suspended_by(caller->subject);
          event.set_reason_code(request.reason_code());
          *event.mutable_suspend_time() = ToTimestamp(now);
          RETURN_IF_ERROR(
              outbox_.Enqueue(tx, kTopicListingSuspended, s.listing.listing_id(), event).status());
          response.set_suspended(response.suspended() + 1);
        }
        return response;
      });
}

absl::StatusOr<v1::RestoreSellerListingsResponse> Listings::RestoreSellerListings(
    const MaybeCaller& maybe_caller, const v1::RestoreSellerListingsRequest& request) {
  ASSIGN_OR_RETURN(const Caller* caller, RequireCaller(maybe_caller));
  RETURN_IF_ERROR(RequireEnforcer(*caller));
  RETURN_IF_ERROR(ValidateId("seller_id", request.seller_id()));
  return common::db::RunInTransaction(
      *pool_, [&](Transaction& tx) -> absl::StatusOr<v1::RestoreSellerListingsResponse> {
        const absl::Time now = clock_->Now();
        ASSIGN_OR_RETURN(std::vector<Row> rows,
                         tx.Query(absl::StrCat("SELECT ", kListingColumns,
                                               " FROM listings WHERE seller_id = ? AND state = "
                                               "'SUSPENDED' ORDER BY seq FOR UPDATE"),
                                  {request.seller_id()}));
        v1::RestoreSellerListingsResponse response;
        for (const Row& row : rows) {
          ASSIGN_OR_RETURN(Stored s, StoredFromRow(row));
          v1::ListingState to = s.state_before_suspension ? ParseState(*s.state_before_suspension)
                                                          : v1::PENDING_REVIEW;
          if (to != v1::LIVE && to != v1::PENDING_REVIEW) to = v1::PENDING_REVIEW;
          s.state_before_suspension.reset();
          s.listing.set_state(to);
          if (to == v1::PENDING_REVIEW) {
            // The queue row was kept while suspended; recreate it if it is gone.
            ASSIGN_OR_RETURN(std::vector<Row> q,
                             tx.Query("SELECT listing_id FROM review_queue WHERE listing_id = ?",
                                      {s.listing.listing_id()}));
            if (q.empty()) RETURN_IF_ERROR(Enqueue(tx, s.listing, v1::RULES, "", now));
          }
          RETURN_IF_ERROR(SaveListing(tx, s, now));
          RETURN_IF_ERROR(RecordTransition(tx, s.listing.listing_id(), caller->subject,
                                           v1::SUSPENDED, to, {"RESTORED"},
                                           "seller listings restored", "", now)
                              .status());
          response.set_restored(response.restored() + 1);
        }
        return response;
      });
}

}  // namespace marketplace::catalog
