#ifndef MARKETPLACE_SERVICES_CATALOG_RULE_SET_H_
#define MARKETPLACE_SERVICES_CATALOG_RULE_SET_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/money.h"
#include "services/catalog/category_classifier.h"
#include "services/catalog/text.h"

namespace marketplace::catalog {

// What one rule says about a listing, and what the listing's outcome is: PASS goes live,
// REVIEW goes to a human moderator, REJECT is refused with its reasons.
enum class Verdict { kPass = 0, kReview = 1, kReject = 2 };
absl::string_view VerdictName(Verdict verdict);  // "PASS", "REVIEW", "REJECT"

// A price bound in one currency.
struct PriceRange {
  std::string currency_code;
  int64_t min_minor = 0;
  int64_t max_minor = 0;
};

// A node of the category tree as configured (restrictions apply to the node and everything
// under it).
struct Category {
  std::string id;         // "toys-children-plush": [a-z0-9-], 1-64
  std::string parent_id;  // empty for a root
  std::string name;       // shown to users
  bool age_restricted = false;
  // A children's or baby category: adult, weapon or drug items here are refused
  // (CATEGORY_MISMATCH REJECT) instead of sent to review.
  bool children = false;
  // Term groups (see RuleSet::term_groups) that must not appear in listings here: adult terms
  // under children's toys.
  std::vector<std::string> excluded_term_groups;
  // Attribute keys a listing here must give (on top of those of the ancestors); "brand" names
  // the listing's brand field, not an attribute.
  std::vector<std::string> required_attributes;
  // Listings of any brand marked requires_authorization need the seller's authorisation here.
  bool brands_need_authorization = false;
  // The usual price range; the nearest one up the tree applies.
  std::optional<PriceRange> typical_price;
};

// A category with everything it inherits, ready for the rules.
struct ResolvedCategory {
  const Category* category = nullptr;
  std::vector<std::string> path;  // ids from the root to this one
  bool age_restricted = false;
  bool children = false;
  std::vector<std::string> excluded_term_groups;
  std::vector<std::string> required_attributes;
  bool brands_need_authorization = false;
  std::optional<PriceRange> typical_price;
};

struct Brand {
  std::string name;                    // "Hermès"
  std::vector<std::string> aliases;    // other spellings found in titles
  bool requires_authorization = false;
  // Whether naming the brand in a title counts as claiming it (false for brands that are also
  // common words, like "Apple": then only the listing's brand field and the aliases
  // ("iphone", "airpods") count).
  bool match_title = true;
  // What a genuine new item usually costs at the least: far below it is a counterfeit signal.
  std::optional<common::Money> reference_price;
  // Categories (with everything below them) where the reference price applies; empty: all.
  // A brand's price means nothing for its perfume or a phone case when it is set for bags.
  std::vector<std::string> reference_categories;
};

// A list of terms with the verdict and reason code a match gives.
struct TermList {
  std::string reason_code;  // PROHIBITED_PRODUCT, COUNTERFEIT_ADMITTED, ...
  Verdict verdict = Verdict::kReject;
  std::string explanation;  // shown to the seller, e.g. "This product may not be sold here"
  std::string source;       // where the terms come from (policy page, public list)
  std::map<std::string, std::vector<std::string>> terms_by_language;  // "en" -> terms
  // Categories (with everything below them) where the list does not apply: a book about the
  // history of drugs is a book.
  std::vector<std::string> except_categories;
  // Terms that, anywhere in the listing, cancel the list: "replica" next to "scale model",
  // "jersey" or "maillot" is an official fan shirt or a model, not a counterfeit.
  PhraseIndex unless;
};

// A category family of the learned classifier (category_classifier.h) and the catalog
// categories (with everything below them) it covers.
struct CategoryFamily {
  std::string name;                     // "toys", "weapons", ...
  std::vector<std::string> categories;  // ids of categories.json
  bool restricted = false;              // adult, weapons, drugs
};

struct Thresholds {
  // REVIEW (PRICE_ANOMALY) below typical min × this, or above typical max × price_high_ratio.
  double price_low_ratio = 0.3;
  double price_high_ratio = 20.0;
  // REVIEW (COUNTERFEIT_SUSPECTED) below the brand's reference price × this.
  double counterfeit_price_ratio = 0.3;
  // The same for items stated new (see brand_authorization): a new item far under the
  // brand's price is more suspicious than a worn one.
  double counterfeit_price_ratio_new = 0.5;
  // REVIEW (DUPLICATE_LISTING) at or above this estimated similarity (MinHash over word
  // shingles of the folded text, see moderation.h) with another LIVE or PENDING_REVIEW
  // listing of the same seller.
  double duplicate_similarity = 0.6;
  // The learned category check: a restricted family at or above this probability in a
  // children's category is CATEGORY_MISMATCH REJECT; a family that does not cover the
  // listing's category at or above classifier_other_probability is CATEGORY_MISMATCH REVIEW.
  double classifier_restricted_probability = 0.8;
  double classifier_other_probability = 0.9;
  int min_title_chars = 10;
  int min_description_words = 8;
  int min_images = 1;
  // Sellers with fewer listings than this ever decided go to human review.
  int new_seller_listings = 3;
};

// Everything the moderation rules need, loaded from the two versioned data files and never
// changed afterwards (a reload makes a new RuleSet). Thread-safe to share.
class RuleSet {
 public:
  // Parses and validates the category file and the rules file (JSON; formats in the catalog
  // README). INVALID_ARGUMENT naming the file, the JSON path and the rule broken, e.g.
  // "moderation_rules.json: brands[2].reference_price.amount_minor: must be > 0".
  // `classifier` (the category model, may be null) is consulted by evaluations under these
  // rules; when set, the version gains "+<model version>".
  [[nodiscard]] static absl::StatusOr<std::shared_ptr<const RuleSet>> Parse(
      absl::string_view categories_json, absl::string_view rules_json,
      std::shared_ptr<const CategoryClassifier> classifier = nullptr);

  // "<categories version>+<rules version>[+<model version>]", recorded with every decision.
  const std::string& version() const { return version_; }
  // The category model the rules consult; nullptr: the rules alone.
  const CategoryClassifier* classifier() const { return classifier_.get(); }

  // nullptr when unknown.
  const ResolvedCategory* FindCategory(absl::string_view id) const;
  // Every category in file order.
  const std::vector<Category>& categories() const { return categories_; }
  // `id` and every category below it.
  std::vector<std::string> Subtree(absl::string_view id) const;

  const std::vector<TermList>& term_lists() const { return term_lists_; }
  const PhraseIndex& term_list_index() const { return term_list_index_; }  // tag: list index
  const PhraseIndex& term_group_index() const { return term_group_index_; }  // tag: group
  // Names and aliases of every brand; tag: brand index.
  const PhraseIndex& brand_index() const { return brand_index_; }
  // Only brands with match_title; tag: brand index.
  const PhraseIndex& brand_title_index() const { return brand_title_index_; }
  const std::vector<Brand>& brands() const { return brands_; }
  // Phone and messaging terms (REVIEW) and written-out email addresses (REJECT).
  const PhraseIndex& contact_term_index() const { return contact_term_index_; }
  const PhraseIndex& email_term_index() const { return email_term_index_; }
  // Phrases that are fine whatever terms they contain ("couleur ivoire", "fusil à eau"):
  // their words are masked before the term lists and groups are matched.
  const PhraseIndex& allowed_phrase_index() const { return allowed_phrase_index_; }
  // Groups whose items in a children's category are refused (adult, weapons, drugs).
  bool IsRestrictedGroup(absl::string_view group) const;
  // Terms stating that an item is new ("neuf", "sealed", "OVP"); phrases that say it is not
  // ("comme neuf", "like new"), masked first; terms making an item an accessory of a brand
  // ("coque", "compatible"): the brand authorisation rule applies to new items only, and not
  // to accessories.
  const PhraseIndex& new_item_index() const { return new_item_index_; }
  const PhraseIndex& not_new_index() const { return not_new_index_; }
  const PhraseIndex& accessory_index() const { return accessory_index_; }
  // Words that admit a copy when they stand within 3 words of a brand name ("Rolex copie",
  // "inspired by Chanel", "dupe Dior"): COUNTERFEIT_ADMITTED.
  const PhraseIndex& copy_index() const { return copy_index_; }
  // Categories where that rule does not apply (books: "2 copies" of a Lego book).
  const std::vector<std::string>& copy_terms_except_categories() const {
    return copy_except_categories_;
  }
  // The classifier's families; nullptr when `name` is not one.
  const CategoryFamily* FindFamily(absl::string_view name) const;
  // Every family of category_families, in the file's order.
  const std::vector<CategoryFamily>& families() const { return families_; }
  // The source noted for each term list and group ("term_lists[0]", "term_groups.adult").
  const std::map<std::string, std::string>& sources() const { return sources_; }
  // Whether `category_id` is `ancestor_id` or below it.
  bool IsWithin(absl::string_view category_id, absl::string_view ancestor_id) const;
  const Thresholds& thresholds() const { return thresholds_; }

 private:
  RuleSet() = default;
  // Never copied: resolved categories point into categories_.
  RuleSet(const RuleSet&) = delete;
  RuleSet& operator=(const RuleSet&) = delete;

  std::string version_;
  std::shared_ptr<const CategoryClassifier> classifier_;
  std::vector<Category> categories_;
  absl::flat_hash_map<std::string, ResolvedCategory> resolved_;
  absl::flat_hash_map<std::string, std::vector<std::string>> children_;
  std::vector<TermList> term_lists_;
  PhraseIndex term_list_index_;
  PhraseIndex term_group_index_;
  std::vector<Brand> brands_;
  PhraseIndex brand_index_;
  PhraseIndex brand_title_index_;
  PhraseIndex contact_term_index_;
  PhraseIndex email_term_index_;
  PhraseIndex allowed_phrase_index_;
  PhraseIndex new_item_index_;
  PhraseIndex not_new_index_;
  PhraseIndex accessory_index_;
  PhraseIndex copy_index_;
  std::vector<std::string> copy_except_categories_;
  std::vector<std::string> restricted_groups_;
  std::vector<CategoryFamily> families_;
  std::map<std::string, std::string> sources_;
  Thresholds thresholds_;
};

}  // namespace marketplace::catalog

#endif  // MARKETPLACE_SERVICES_CATALOG_RULE_SET_H_
