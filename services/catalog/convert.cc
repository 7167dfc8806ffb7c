#include "services/catalog/convert.h"

#include <string>
#include <utility>

#include "common/money_proto.h"
#include "common/proto_time.h"

namespace marketplace::catalog {

// The domain enums carry the API's values; a new API value fails these until it is mapped.
static_assert(static_cast<int>(ListingState::kWithdrawn) == v1::WITHDRAWN);
static_assert(static_cast<int>(ListingState::kSuspended) == v1::SUSPENDED);
static_assert(static_cast<int>(ReviewReason::kAppeal) == v1::APPEAL);
static_assert(v1::ListingState_MAX == v1::WITHDRAWN && v1::ReviewReason_MAX == v1::APPEAL);

v1::ListingState StateToProto(ListingState state) { return static_cast<v1::ListingState>(state); }

ListingState StateFromProto(v1::ListingState state) {
  return v1::ListingState_IsValid(state) ? static_cast<ListingState>(state)
                                         : ListingState::kUnspecified;
}

v1::ReviewReason ReviewReasonToProto(ReviewReason reason) {
  return static_cast<v1::ReviewReason>(reason);
}

ReviewReason ReviewReasonFromProto(v1::ReviewReason reason) {
  return v1::ReviewReason_IsValid(reason) ? static_cast<ReviewReason>(reason)
                                          : ReviewReason::kUnspecified;
}

v1::SellerModeration ModerationToProto(const SellerModerationSetting& setting) {
  v1::SellerModeration out;
  out.set_seller_id(setting.seller_id);
  out.set_level(ModerationLevelToProto(setting.level));
  for (const std::string& b : setting.authorized_brands) out.add_authorized_brands(b);
  out.set_updated_by(setting.updated_by);
  if (!setting.updated_by.empty()) common::ToTimestamp(setting.updated_at, out.mutable_updated_at());
  return out;
}

v1::SellerModerationLevel ModerationLevelToProto(SellerModerationLevel level) {
  switch (level) {
    case SellerModerationLevel::kStandard:
      return v1::STANDARD;
    case SellerModerationLevel::kAtRisk:
      return v1::AT_RISK;
    case SellerModerationLevel::kTrusted:
      return v1::TRUSTED;
  }
  return v1::STANDARD;
}

SellerModerationLevel ModerationLevelFromProto(v1::SellerModerationLevel level) {
  if (level == v1::AT_RISK) return SellerModerationLevel::kAtRisk;
  if (level == v1::TRUSTED) return SellerModerationLevel::kTrusted;
  return SellerModerationLevel::kStandard;
}

v1::Listing ListingToProto(const ListingRecord& r) {
  v1::Listing l;
  l.set_listing_id(r.listing_id);
  l.set_seller_id(r.seller_id);
  l.set_title(r.content.title);
  l.set_description(r.content.description);
  l.set_category_id(r.content.category_id);
  l.set_brand(r.content.brand);
  v1::ItemCondition condition = v1::ITEM_CONDITION_UNSPECIFIED;
  v1::ItemCondition_Parse(r.condition, &condition);
  l.set_condition(condition);
  if (r.content.price) common::MoneyToProto(*r.content.price, l.mutable_price());
  l.set_quantity(r.quantity);
  for (const std::string& url : r.content.image_urls) l.add_image_urls(url);
  for (const auto& [key, value] : r.content.attributes) (*l.mutable_attributes())[key] = value;
  l.set_state(StateToProto(r.state));
  for (const std::string& code : r.reason_codes) l.add_reason_codes(code);
  l.set_explanation(r.explanation);
  for (const Finding& f : r.findings) {
    v1::ModerationFinding* out = l.add_findings();
    out->set_rule(f.rule);
    out->set_verdict(f.verdict == Verdict::kReject   ? v1::REJECT
                     : f.verdict == Verdict::kReview ? v1::REVIEW
                                                     : v1::PASS);
    out->set_reason_code(f.reason_code);
    out->set_explanation(f.explanation);
  }
  l.set_rules_version(r.rules_version);
  if (r.created_at != absl::Time()) common::ToTimestamp(r.created_at, l.mutable_create_time());
  if (r.updated_at != absl::Time()) common::ToTimestamp(r.updated_at, l.mutable_update_time());
  return l;
}

v1::Listing PublicView(v1::Listing l) {
  l.clear_reason_codes();
  l.clear_explanation();
  l.clear_findings();
  l.clear_rules_version();
  return l;
}

void CopyContentFromProto(const v1::Listing& in, ListingRecord* out) {
  ListingContent& c = out->content;
  c.title = in.title();
  c.description = in.description();
  c.category_id = in.category_id();
  c.brand = in.brand();
  c.price.reset();
  if (in.has_price()) {
    absl::StatusOr<common::Money> price =
        common::Money::Of(in.price().currency_code(), in.price().amount_minor());
    if (price.ok()) c.price = *std::move(price);
  }
  c.image_urls.assign(in.image_urls().begin(), in.image_urls().end());
  c.attributes.clear();
  for (const auto& [key, value] : in.attributes()) c.attributes[key] = value;
  out->condition = in.condition() == v1::ITEM_CONDITION_UNSPECIFIED
                       ? std::string()
                       : v1::ItemCondition_Name(in.condition());
  out->quantity = in.quantity();
}

ListingRecord ListingFromProto(const v1::Listing& l) {
  ListingRecord r;
  CopyContentFromProto(l, &r);
  r.listing_id = l.listing_id();
  r.seller_id = l.seller_id();
  r.state = StateFromProto(l.state());
  r.reason_codes.assign(l.reason_codes().begin(), l.reason_codes().end());
  r.explanation = l.explanation();
  for (const v1::ModerationFinding& f : l.findings()) {
    r.findings.push_back({f.rule(),
                          f.verdict() == v1::REJECT   ? Verdict::kReject
                          : f.verdict() == v1::REVIEW ? Verdict::kReview
                                                      : Verdict::kPass,
                          f.reason_code(), f.explanation()});
  }
  r.rules_version = l.rules_version();
  if (l.has_create_time()) {
    r.created_at = common::FromTimestamp(l.create_time(), "create_time").value_or(absl::Time());
  }
  if (l.has_update_time()) {
    r.updated_at = common::FromTimestamp(l.update_time(), "update_time").value_or(absl::Time());
  }
  return r;
}

v1::Review ReviewToProto(const Review& review, absl::Time now) {
  const ReviewEntry& e = review.entry;
  v1::Review r;
  r.set_listing_id(e.listing_id);
  r.set_seller_id(e.seller_id);
  r.set_reason(ReviewReasonToProto(e.reason));
  common::ToTimestamp(e.enqueued_at, r.mutable_enqueue_time());
  if (e.claimed_by && e.claim_expires_at && *e.claim_expires_at > now) {
    r.set_claimed_by(*e.claimed_by);
    common::ToTimestamp(*e.claim_expires_at, r.mutable_claim_expire_time());
  }
  r.set_appeal_statement(e.appeal_statement);
  *r.mutable_listing() = ListingToProto(review.listing);
  return r;
}

v1::ListingTransition TransitionToProto(const Transition& t) {
  v1::ListingTransition out;
  out.set_actor(t.actor);
  common::ToTimestamp(t.at, out.mutable_time());
  out.set_from_state(StateToProto(t.from));
  out.set_to_state(StateToProto(t.to));
  for (const std::string& code : t.reason_codes) out.add_reason_codes(code);
  out.set_explanation(t.explanation);
  out.set_rules_version(t.rules_version);
  return out;
}

namespace {

// The fields ListingApproved and ListingRejected share.
template <typename Decided>
Decided DecisionToProto(const ListingDecided& e) {
  Decided out;
  out.set_listing_id(e.listing_id);
  out.set_seller_id(e.seller_id);
  out.set_decided_by(e.decided_by);
  common::ToTimestamp(e.at, out.mutable_decide_time());
  out.set_rules_version(e.rules_version);
  return out;
}

}  // namespace

v1::ListingApproved ApprovedToProto(const ListingDecided& e) {
  return DecisionToProto<v1::ListingApproved>(e);
}

v1::ListingRejected RejectedToProto(const ListingDecided& e) {
  v1::ListingRejected out = DecisionToProto<v1::ListingRejected>(e);
  for (const std::string& code : e.reason_codes) out.add_reason_codes(code);
  out.set_explanation(e.explanation);
  return out;
}

v1::ListingReported ReportedToProto(const ListingReported& e) {
  v1::ListingReported out;
  out.set_listing_id(e.listing_id);
  out.set_seller_id(e.seller_id);
  out.set_reporter_id(e.reporter_id);
  v1::ReportReason reason = v1::REPORT_REASON_UNSPECIFIED;
  v1::ReportReason_Parse(e.reason, &reason);
  out.set_reason(reason);
  out.set_open_reports(e.open_reports);
  out.set_sent_to_review(e.sent_to_review);
  common::ToTimestamp(e.at, out.mutable_report_time());
  out.set_held(e.held);
  return out;
}

v1::ListingSuspended SuspendedToProto(const ListingSuspended& e) {
  v1::ListingSuspended out;
  out.set_listing_id(e.listing_id);
  out.set_seller_id(e.seller_id);
  out.set_suspended_by(e.suspended_by);
  out.set_reason_code(e.reason_code);
  common::ToTimestamp(e.at, out.mutable_suspend_time());
  return out;
}

}  // namespace marketplace::catalog
