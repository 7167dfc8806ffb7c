#ifndef MARKETPLACE_SERVICES_CATALOG_MODERATION_H_
#define MARKETPLACE_SERVICES_CATALOG_MODERATION_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "common/money.h"
#include "services/catalog/category_classifier.h"
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
  std::map<std::string, std::string> attributes;  // as the seller gave them
  // The item's condition as the rules read it ("new", "like_new", "used", "refurbished"),
  // from the listing's condition field; unset: the attribute "condition" is read instead.
  // (The attribute stays as given: buyers see it, so the text rules read it.)
  std::optional<std::string> condition;
};

// How closely a seller is watched (set by staff, later from sellerkpi's health).
enum class SellerModerationLevel {
  kStandard = 0,
  kAtRisk = 1,   // every listing goes to human review
  kTrusted = 2,  // skips the new-seller review
};

// The state of another listing of the seller, as far as the duplicate rule cares: LIVE and
// PENDING_REVIEW listings are compared with (DUPLICATE_LISTING), and so are listings a
// moderator rejected that nobody approved since (COPY_OF_REJECTED_LISTING: a copy must not
// get past the moderator's verdict); other withdrawn or rejected ones may be listed again.
enum class SellerListingState {
  kLive = 0,
  kPendingReview = 1,
  kOther = 2,
  kRejectedByModerator = 3,
};

// Another listing of the same seller, for the duplicate rule.
struct SellerListing {
  std::string listing_id;
  std::string title;
  std::string description;
  SellerListingState state = SellerListingState::kLive;
};

struct SellerContext {
  // Listings of this seller that were ever approved or rejected.
  int64_t decided_listings = 0;
  SellerModerationLevel level = SellerModerationLevel::kStandard;
  // Brands (folded with FoldText) the seller is authorised to sell.
  absl::flat_hash_set<std::string> authorized_brands;
  // The seller's other LIVE and PENDING_REVIEW listings (newest first), and its listings a
  // moderator rejected (kRejectedByModerator, most recently rejected first); others are
  // ignored.
  std::vector<SellerListing> other_listings;
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

// Runs every rule over `listing`. Texts are matched as FoldText folds them and, for term
// lists, term groups and brand names, also in each of their AlternativeReadings (digits for
// letters, spelled-out words, ...). The text rules (forbidden_terms, copy_of_brand,
// category_mismatch's term groups, contact_details) read everything buyers read: the title
// and description, the brand field, and every attribute (its key and value), the brand and
// each attribute a segment of its own, so that no phrase or number runs from one into the
// next ("size 38" and "ean 3760..." never join into a phone number). The rules (reason codes;
// verdicts follow the policy table of catalog.proto and the catalog README):
//   forbidden_terms     a term of a term list (PROHIBITED_PRODUCT: weapons, drugs, wildlife,
//                       fake documents, prescription medicines; COUNTERFEIT_ADMITTED;
//                       OFFENSIVE_LANGUAGE) as whole words, case- and accent-insensitive, the
//                       words of allowed phrases ("pistolet à colle", "ivory colour") masked
//                       first; the list's verdict;
//   category_mismatch   a term of a group the category excludes: REJECT CATEGORY_MISMATCH for
//                       a restricted group (adult, weapons, drugs) in a children's category,
//                       REVIEW otherwise; with a `classifier`, the same from its prediction
//                       (thresholds.classifier_*_probability);
//   unknown_category    REJECT UNKNOWN_CATEGORY;
//   required_fields     title, description, images, price, required attributes and the brand
//                       where the category requires it: REJECT MISSING_REQUIRED_FIELDS naming
//                       each;
//   brand_authorization a gated brand (requires_authorization), given or named in the title,
//                       in a category that gates brands, on a NEW item (`condition` "new",
//                       when unset the attribute condition "new", or neither and a new-item
//                       term such as "neuf", "sealed", "OVP" in the text), not an accessory
//                       ("coque", "compatible", "strap"), without the seller's authorisation:
//                       REVIEW BRAND_AUTHORIZATION_REQUIRED;
//   counterfeit_price   below the brand's reference price × counterfeit_price_ratio, in the
//                       brand's reference categories, not for accessories: REVIEW
//                       COUNTERFEIT_SUSPECTED;
//   price_anomaly       outside the category's typical range (× price_low/high_ratio):
//                       REVIEW PRICE_ANOMALY;
//   duplicate           MinHash similarity (DuplicateSignature) with another LIVE or
//                       PENDING_REVIEW listing of the seller at or above
//                       duplicate_similarity: REVIEW DUPLICATE_LISTING naming that listing;
//                       the same with a listing of the seller a moderator rejected
//                       (kRejectedByModerator): REVIEW COPY_OF_REJECTED_LISTING naming it;
//   contact_details     an email address (also written out: "arobase", "at gmail"), a web
//                       link, a phone number (9-12 digits in groups separated by up to three
//                       spaces or punctuation marks: spaces, one '.' or '-', brackets, or the
//                       same other marks throughout from a leading 0 or '+': "06, 12, 34, 56,
//                       78"; or six or more number words in a row: "zero six douze ...", or
//                       five pairs: "06 douze 34 cinquante 78") or a messaging term
//                       ("whatsapp", "contact me on"): REJECT OFF_PLATFORM_CONTACT. Addresses
//                       and numbers are read in ContactForm (full-width, mathematical and other
//                       scripts' digits and dots as ASCII, invisible characters removed);
// then the seller policy: a listing that passed every rule goes to REVIEW with NEW_SELLER
// (fewer than new_seller_listings decided) or SELLER_AT_RISK.
//
// `classifier` may be null (rules only). Thread-safe for concurrent calls.
Evaluation Evaluate(const RuleSet& rules, const ListingContent& listing,
                    const SellerContext& seller, const CategoryClassifier* classifier = nullptr);

// Similarity of two texts in [0, 1]: estimated Jaccard index of their shingle sets (see
// DuplicateSignature).
double TextSimilarity(absl::string_view a, absl::string_view b);

// A MinHash signature of a text for the duplicate rule: the text folded; its shingles are its
// numbers and its words of three letters or more, stop words aside ("avec", "the", "und"),
// cut to their first five letters (so "lavable"/"lavables", "toute"/"tout" count alike;
// single words, not pairs, so that a reordered rewording still matches); a bottom-k MinHash
// signature: the kMinHashes least of the shingles' 64-bit hashes, sorted. Of the k least
// hashes of the union of two signatures, the share present in both estimates the Jaccard index
// of the two shingle sets (exactly, for texts of fewer than k shingles). Empty for a text
// without words.
inline constexpr int kMinHashes = 128;
std::vector<uint64_t> DuplicateSignature(absl::string_view text);
// The same from FoldText(text).
std::vector<uint64_t> SignatureOfFolded(absl::string_view folded);
double SignatureSimilarity(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b);

}  // namespace marketplace::catalog

#endif  // MARKETPLACE_SERVICES_CATALOG_MODERATION_H_
