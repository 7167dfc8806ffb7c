#ifndef MARKETPLACE_SERVICES_CATALOG_MODERATION_H_
#define MARKETPLACE_SERVICES_CATALOG_MODERATION_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "common/money.h"
#include "services/catalog/rule_set.h"

namespace marketplace::catalog {

// What the rules look at in a listing.
struct ListingContent {
  std::string title;
  std::string description;
  std::string category_id;
  std::string brand;  // as the seller gave it; may be empty
  std::optional<common::Money> price;
  std::vector<std::string> image_urls;
  std::map<std::string, std::string> attributes;
};

// How closely a seller is watched (set by staff, later from sellerkpi's health).
enum class SellerModerationLevel {
  kStandard = 0,
  kAtRisk = 1,   // every listing goes to human review
  kTrusted = 2,  // skips the new-seller review
};

// Another LIVE listing of the same seller, for the duplicate rule.
struct SellerListing {
  std::string listing_id;
  std::string title;
  std::string description;
};

struct SellerContext {
  // Listings of this seller that were ever approved or rejected.
  int64_t decided_listings = 0;
  SellerModerationLevel level = SellerModerationLevel::kStandard;
  // Brands (folded with FoldText) the seller is authorised to sell.
  absl::flat_hash_set<std::string> authorized_brands;
  std::vector<SellerListing> other_live_listings;
  // Replaces the rules file's thresholds.new_seller_listings when set (a server setting).
  std::optional<int64_t> new_seller_listings;
};

// What one rule found.
struct Finding {
  std::string rule;         // "forbidden_terms", "category_mismatch", ...
  Verdict verdict;          // REVIEW or REJECT
  std::string reason_code;  // UPPER_SNAKE_CASE, e.g. CATEGORY_MISMATCH
  std::string explanation;  // for the seller, naming what was found
};

struct Evaluation {
  Verdict verdict = Verdict::kPass;  // the strongest verdict of the findings
  std::vector<Finding> findings;     // empty when everything passed
  std::string rules_version;
};

// Runs every rule over `listing`. The rules (reason codes):
//   forbidden_terms     a term of a term list (PROHIBITED_PRODUCT, COUNTERFEIT_ADMITTED, ...)
//                       as whole words, case- and accent-insensitive; the list's verdict;
//   category_mismatch   a term of a group the category excludes (adult terms under children's
//                       toys): REJECT CATEGORY_MISMATCH;
//   unknown_category    REJECT UNKNOWN_CATEGORY;
//   required_fields     title, description, images, price, required attributes:
//                       REJECT MISSING_REQUIRED_FIELDS naming each;
//   brand_authorization a brand that needs authorisation in this category, given or named in
//                       the title, without the seller's authorisation: REVIEW
//                       BRAND_AUTHORIZATION_REQUIRED;
//   counterfeit_price   below the brand's reference price × counterfeit_price_ratio, in the
//                       brand's reference categories: REVIEW COUNTERFEIT_SUSPECTED;
//   price_anomaly       outside the category's typical range (× price_low/high_ratio):
//                       REVIEW PRICE_ANOMALY;
//   duplicate           word-shingle similarity with another live listing of the seller at or
//                       above duplicate_similarity: REVIEW DUPLICATE_LISTING;
//   contact_details     an email address (also written out: an email term such as
//                       "arobase") or a web link: REJECT OFF_PLATFORM_CONTACT; a phone number
//                       (9-12 digits) or a messaging term ("whatsapp"): REVIEW
//                       OFF_PLATFORM_CONTACT;
// then the seller policy: a listing that passed every rule goes to REVIEW with NEW_SELLER
// (fewer than new_seller_listings decided) or SELLER_AT_RISK.
Evaluation Evaluate(const RuleSet& rules, const ListingContent& listing,
                    const SellerContext& seller);

// Similarity of two texts in [0, 1]: Jaccard index of their folded word pairs.
double TextSimilarity(absl::string_view a, absl::string_view b);

}  // namespace marketplace::catalog

#endif  // MARKETPLACE_SERVICES_CATALOG_MODERATION_H_
