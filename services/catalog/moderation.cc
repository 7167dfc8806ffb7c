#include "services/catalog/moderation.h"

#include <algorithm>
#include <cctype>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/catalog/text.h"

namespace marketplace::catalog {
namespace {

void Add(Evaluation& e, absl::string_view rule, Verdict verdict, absl::string_view reason,
         std::string explanation) {
  e.findings.push_back(
      Finding{std::string(rule), verdict, std::string(reason), std::move(explanation)});
}

std::string Quoted(const std::vector<std::string>& items) {
  return absl::StrCat("\"", absl::StrJoin(items, "\", \""), "\"");
}

bool IsEmailChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' ||
         c == '+';
}

// "name@host.tld", also written "name [at] host.tld" / "name(at)host.tld".
bool HasEmail(absl::string_view text) {
  for (size_t at = text.find('@'); at != absl::string_view::npos; at = text.find('@', at + 1)) {
    if (at == 0 || !IsEmailChar(text[at - 1])) continue;
    size_t end = at + 1;
    while (end < text.size() && IsEmailChar(text[end])) ++end;
    absl::string_view host = text.substr(at + 1, end - at - 1);
    size_t dot = host.rfind('.');
    if (dot != absl::string_view::npos && dot > 0 && host.size() - dot - 1 >= 2) return true;
  }
  return false;
}

// "http://", "https://", "www.": taking the buyer elsewhere.
bool HasLink(const std::string& lower) {
  return lower.find("http://") != std::string::npos ||
         lower.find("https://") != std::string::npos || lower.find("www.") != std::string::npos;
}

// A run of 9 to 12 digits, allowing single spaces, dots, dashes, brackets and a leading '+'
// between them (phone numbers). Longer runs are references, serial numbers or EAN/ISBN-13
// codes, not phones.
bool HasPhoneNumber(absl::string_view text) {
  int digits = 0;
  int separators_in_a_row = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    const char c = i < text.size() ? text[i] : '\0';
    if (std::isdigit(static_cast<unsigned char>(c))) {
      ++digits;
      separators_in_a_row = 0;
      continue;
    }
    const bool separator =
        c == ' ' || c == '.' || c == '-' || (c == '+' && digits == 0) || c == '(' || c == ')';
    if (separator && separators_in_a_row == 0 && i < text.size()) {
      ++separators_in_a_row;
      continue;
    }
    if (digits >= 9 && digits <= 12) return true;
    digits = 0;
    separators_in_a_row = 0;
  }
  return false;
}

std::vector<std::string> Bigrams(const std::vector<std::string>& words) {
  std::vector<std::string> out;
  if (words.size() == 1) out.push_back(words[0]);
  for (size_t i = 0; i + 1 < words.size(); ++i) out.push_back(words[i] + " " + words[i + 1]);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

double Jaccard(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  if (a.empty() && b.empty()) return 0;
  size_t common = 0;
  for (size_t i = 0, j = 0; i < a.size() && j < b.size();) {
    if (a[i] == b[j]) {
      ++common, ++i, ++j;
    } else if (a[i] < b[j]) {
      ++i;
    } else {
      ++j;
    }
  }
  return static_cast<double>(common) / static_cast<double>(a.size() + b.size() - common);
}

std::string Price(const std::string& currency, int64_t minor) {
  auto m = common::Money::Of(currency, minor);
  return m.ok() ? m->ToString() : absl::StrCat(minor, " ", currency);
}

}  // namespace

double TextSimilarity(absl::string_view a, absl::string_view b) {
  return Jaccard(Bigrams(Words(FoldText(a))), Bigrams(Words(FoldText(b))));
}

Evaluation Evaluate(const RuleSet& rules, const ListingContent& listing,
                    const SellerContext& seller) {
  Evaluation e;
  e.rules_version = rules.version();
  const Thresholds& th = rules.thresholds();
  const std::string text = absl::StrCat(listing.title, "\n", listing.description);
  const std::vector<std::string> all_words = Words(FoldText(text));
  // Term lists and groups see the text without its allowed phrases ("couleur ivoire").
  const std::vector<std::string> words = rules.allowed_phrase_index().empty()
                                             ? all_words
                                             : rules.allowed_phrase_index().Mask(all_words);

  // forbidden_terms
  for (const std::string& tag : rules.term_list_index().Find(words)) {
    const TermList& list = rules.term_lists()[std::stoul(tag)];
    PhraseIndex just_this;
    for (const auto& [lang, terms] : list.terms_by_language) {
      for (const std::string& t : terms) just_this.Add(t, t);
    }
    Add(e, "forbidden_terms", list.verdict, list.reason_code,
        absl::StrCat(list.explanation, " (found: ", Quoted(just_this.FindPhrases(words)), ")"));
  }

  // unknown_category / category_mismatch
  const ResolvedCategory* category = rules.FindCategory(listing.category_id);
  if (category == nullptr) {
    Add(e, "unknown_category", Verdict::kReject, "UNKNOWN_CATEGORY",
        absl::StrCat("\"", listing.category_id, "\" is not a category of the catalog"));
  } else if (!category->excluded_term_groups.empty()) {
    std::vector<std::string> groups = rules.term_group_index().Find(words);
    for (const std::string& group : groups) {
      if (std::find(category->excluded_term_groups.begin(), category->excluded_term_groups.end(),
                    group) == category->excluded_term_groups.end()) {
        continue;
      }
      Add(e, "category_mismatch", Verdict::kReject, "CATEGORY_MISMATCH",
          absl::StrCat("Products of the \"", group, "\" kind may not be listed in \"",
                       category->category->name, "\""));
    }
  }

  // required_fields
  std::vector<std::string> missing;
  if (FoldText(listing.title).size() < static_cast<size_t>(th.min_title_chars)) {
    missing.push_back(absl::StrCat("a title of at least ", th.min_title_chars, " letters"));
  }
  if (Words(FoldText(listing.description)).size() < static_cast<size_t>(th.min_description_words)) {
    missing.push_back(
        absl::StrCat("a description of at least ", th.min_description_words, " words"));
  }
  if (listing.image_urls.size() < static_cast<size_t>(th.min_images)) {
    missing.push_back(absl::StrCat("at least ", th.min_images, " image(s)"));
  }
  if (!listing.price.has_value()) missing.push_back("a price");
  if (category != nullptr) {
    for (const std::string& attribute : category->required_attributes) {
      auto it = listing.attributes.find(attribute);
      if (it == listing.attributes.end() || Words(FoldText(it->second)).empty()) {
        missing.push_back(absl::StrCat("the attribute \"", attribute, "\""));
      }
    }
  }
  if (!missing.empty()) {
    Add(e, "required_fields", Verdict::kReject, "MISSING_REQUIRED_FIELDS",
        absl::StrCat("The listing needs ", absl::StrJoin(missing, ", ")));
  }

  // brand_authorization / counterfeit_price: the brand given, or any brand named in the title.
  std::vector<std::string> brand_tags = rules.brand_index().Find(Words(FoldText(listing.brand)));
  for (std::string& tag : rules.brand_title_index().Find(Words(FoldText(listing.title)))) {
    if (std::find(brand_tags.begin(), brand_tags.end(), tag) == brand_tags.end()) {
      brand_tags.push_back(std::move(tag));
    }
  }
  for (const std::string& tag : brand_tags) {
    const Brand& brand = rules.brands()[std::stoul(tag)];
    if (category != nullptr && category->brands_need_authorization &&
        brand.requires_authorization && !seller.authorized_brands.contains(FoldText(brand.name))) {
      Add(e, "brand_authorization", Verdict::kReview, "BRAND_AUTHORIZATION_REQUIRED",
          absl::StrCat("Selling ", brand.name,
                       " here needs the brand's authorisation, which this seller has not shown"));
    }
    bool price_applies = brand.reference_categories.empty();
    for (const std::string& ref : brand.reference_categories) {
      price_applies = price_applies || rules.IsWithin(listing.category_id, ref);
    }
    if (price_applies && brand.reference_price.has_value() && listing.price.has_value() &&
        listing.price->currency_code() == brand.reference_price->currency_code() &&
        static_cast<double>(listing.price->amount_minor()) <
            static_cast<double>(brand.reference_price->amount_minor()) *
                th.counterfeit_price_ratio) {
      Add(e, "counterfeit_price", Verdict::kReview, "COUNTERFEIT_SUSPECTED",
          absl::StrCat("The price ", listing.price->ToString(), " is far below the usual ",
                       brand.reference_price->ToString(), " for ", brand.name));
    }
  }

  // price_anomaly
  if (category != nullptr && category->typical_price.has_value() && listing.price.has_value() &&
      listing.price->currency_code() == category->typical_price->currency_code) {
    const PriceRange& range = *category->typical_price;
    const double price = static_cast<double>(listing.price->amount_minor());
    if (price < static_cast<double>(range.min_minor) * th.price_low_ratio ||
        price > static_cast<double>(range.max_minor) * th.price_high_ratio) {
      Add(e, "price_anomaly", Verdict::kReview, "PRICE_ANOMALY",
          absl::StrCat("The price ", listing.price->ToString(), " is far from the usual ",
                       Price(range.currency_code, range.min_minor), " to ",
                       Price(range.currency_code, range.max_minor), " in this category"));
    }
  }

  // duplicate
  if (!seller.other_live_listings.empty()) {
    const std::vector<std::string> mine = Bigrams(words);
    for (const SellerListing& other : seller.other_live_listings) {
      const double similarity = Jaccard(
          mine, Bigrams(Words(FoldText(absl::StrCat(other.title, "\n", other.description)))));
      if (similarity >= th.duplicate_similarity) {
        Add(e, "duplicate", Verdict::kReview, "DUPLICATE_LISTING",
            absl::StrCat("The listing repeats your live listing ", other.listing_id,
                         "; change its quantity instead"));
        break;
      }
    }
  }

  // contact_details
  std::string lower = text;
  for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  const bool email = HasEmail(text) || lower.find("[at]") != std::string::npos ||
                     lower.find("(at)") != std::string::npos ||
                     !rules.email_term_index().Find(all_words).empty();
  if (email || HasLink(lower)) {
    Add(e, "contact_details", Verdict::kReject, "OFF_PLATFORM_CONTACT",
        "Email addresses and web links may not appear in a listing: buyers contact sellers "
        "through the platform");
  } else if (HasPhoneNumber(text) || !rules.contact_term_index().Find(all_words).empty()) {
    Add(e, "contact_details", Verdict::kReview, "OFF_PLATFORM_CONTACT",
        "Phone numbers and messaging apps may not be used to take the sale off the platform");
  }

  for (const Finding& f : e.findings) e.verdict = std::max(e.verdict, f.verdict);

  // Seller policy: new and at-risk sellers' clean listings still get a human look.
  if (e.verdict == Verdict::kPass) {
    if (seller.level == SellerModerationLevel::kAtRisk) {
      Add(e, "seller_policy", Verdict::kReview, "SELLER_AT_RISK",
          "Listings of this seller are checked by a moderator before they go live");
    } else if (seller.level != SellerModerationLevel::kTrusted &&
               seller.decided_listings <
                   seller.new_seller_listings.value_or(th.new_seller_listings)) {
      Add(e, "seller_policy", Verdict::kReview, "NEW_SELLER",
          "The first listings of a new seller are checked by a moderator before they go live");
    }
    if (!e.findings.empty()) e.verdict = Verdict::kReview;
  }
  return e;
}

}  // namespace marketplace::catalog
