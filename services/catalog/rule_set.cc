#include "services/catalog/rule_set.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace marketplace::catalog {
namespace {

using Json = nlohmann::json;

// Reads a JSON document, remembering the first broken rule with its path.
class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  bool ok() const { return error_.empty(); }
  absl::Status status() const {
    return ok() ? absl::OkStatus() : absl::InvalidArgumentError(error_);
  }
  void Fail(absl::string_view path, absl::string_view rule) {
    if (ok()) error_ = absl::StrCat(file_, ": ", path, ": ", rule);
  }

  // Refuses keys outside `allowed`: a typo in a rules file must not pass silently.
  void OnlyKeys(const Json& object, absl::string_view path,
                std::initializer_list<absl::string_view> allowed) {
    for (auto it = object.begin(); it != object.end(); ++it) {
      bool known = false;
      for (absl::string_view key : allowed) known = known || it.key() == key;
      if (!known) Fail(absl::StrCat(path, ".", it.key()), "is not a known key");
    }
  }

  const Json* Child(const Json& object, absl::string_view path, const char* key, bool required) {
    if (!object.is_object()) {
      Fail(path, "must be an object");
      return nullptr;
    }
    auto it = object.find(key);
    if (it == object.end()) {
      if (required) Fail(absl::StrCat(path, ".", key), "is required");
      return nullptr;
    }
    return &*it;
  }

  std::string String(const Json& object, absl::string_view path, const char* key, bool required,
                     size_t min_len, size_t max_len) {
    const Json* v = Child(object, path, key, required);
    if (v == nullptr) return "";
    const std::string where = absl::StrCat(path, ".", key);
    if (!v->is_string()) {
      Fail(where, "must be a string");
      return "";
    }
    std::string s = v->get<std::string>();
    if (s.size() < min_len || s.size() > max_len) {
      Fail(where, absl::StrCat("must be ", min_len, " to ", max_len, " bytes long"));
    }
    return s;
  }

  bool Bool(const Json& object, absl::string_view path, const char* key) {
    const Json* v = Child(object, path, key, false);
    if (v == nullptr) return false;
    if (!v->is_boolean()) {
      Fail(absl::StrCat(path, ".", key), "must be true or false");
      return false;
    }
    return v->get<bool>();
  }

  int64_t Int(const Json& object, absl::string_view path, const char* key, int64_t min,
              int64_t max, int64_t fallback, bool required = false) {
    const Json* v = Child(object, path, key, required);
    if (v == nullptr) return fallback;
    const std::string where = absl::StrCat(path, ".", key);
    if (!v->is_number_integer()) {
      Fail(where, "must be an integer");
      return fallback;
    }
    int64_t n = v->get<int64_t>();
    if (n < min || n > max) Fail(where, absl::StrCat("must be between ", min, " and ", max));
    return n;
  }

  double Ratio(const Json& object, absl::string_view path, const char* key, double min,
               double max, double fallback) {
    const Json* v = Child(object, path, key, false);
    if (v == nullptr) return fallback;
    const std::string where = absl::StrCat(path, ".", key);
    if (!v->is_number()) {
      Fail(where, "must be a number");
      return fallback;
    }
    double d = v->get<double>();
    if (!(d >= min && d <= max)) Fail(where, absl::StrCat("must be between ", min, " and ", max));
    return d;
  }

  std::vector<std::string> Strings(const Json& object, absl::string_view path, const char* key,
                                   bool required) {
    std::vector<std::string> out;
    const Json* v = Child(object, path, key, required);
    if (v == nullptr) return out;
    const std::string where = absl::StrCat(path, ".", key);
    if (!v->is_array()) {
      Fail(where, "must be a list of strings");
      return out;
    }
    for (size_t i = 0; i < v->size(); ++i) {
      const Json& item = (*v)[i];
      if (!item.is_string() || item.get<std::string>().empty()) {
        Fail(absl::StrCat(where, "[", i, "]"), "must be a non-empty string");
        continue;
      }
      out.push_back(item.get<std::string>());
    }
    return out;
  }

  // {"en": ["term", ...], "fr": [...]}: at least one language, each with at least one term
  // that folds to some words.
  // An optional "source" key names where the terms come from.
  std::map<std::string, std::vector<std::string>> TermsByLanguage(const Json& v,
                                                                  absl::string_view path,
                                                                  std::string* source = nullptr) {
    std::map<std::string, std::vector<std::string>> out;
    if (!v.is_object() || v.empty()) {
      Fail(path, "must map language codes to lists of terms");
      return out;
    }
    for (auto it = v.begin(); it != v.end(); ++it) {
      const std::string& lang = it.key();
      if (lang == "source") {
        std::string s = String(v, path, "source", true, 1, 500);
        if (source != nullptr) *source = std::move(s);
        continue;
      }
      if (lang.size() < 2 || lang.size() > 8) {
        Fail(absl::StrCat(path, ".", lang), "is not a language code (2-8 letters)");
      }
      std::vector<std::string> terms = Strings(v, path, lang.c_str(), true);
      for (size_t i = 0; i < terms.size(); ++i) {
        if (Words(FoldText(terms[i])).empty()) {
          Fail(absl::StrCat(path, ".", lang, "[", i, "]"), "has no letters or digits");
        }
      }
      out[lang] = std::move(terms);
    }
    return out;
  }

  std::optional<common::Money> Money(const Json& object, absl::string_view path,
                                     const char* key) {
    const Json* v = Child(object, path, key, false);
    if (v == nullptr) return std::nullopt;
    const std::string where = absl::StrCat(path, ".", key);
    OnlyKeys(*v, where, {"currency_code", "amount_minor"});
    std::string currency = String(*v, where, "currency_code", true, 3, 3);
    int64_t amount =
        Int(*v, where, "amount_minor", 1, common::kMaxAmountMinor, 0, /*required=*/true);
    if (!ok()) return std::nullopt;
    auto money = common::Money::Of(currency, amount);
    if (!money.ok()) {
      Fail(absl::StrCat(where, ".currency_code"), "must be a supported ISO 4217 code");
      return std::nullopt;
    }
    return *money;
  }

 private:
  std::string file_;
  std::string error_;
};

bool IsCategoryId(absl::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

bool IsReasonCode(absl::string_view code) {
  if (code.empty() || code.size() > 64) return false;
  for (char c : code) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

absl::StatusOr<Json> ParseJson(absl::string_view file, absl::string_view text) {
  Json doc = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false,
                         /*ignore_comments=*/false);
  if (doc.is_discarded()) return absl::InvalidArgumentError(absl::StrCat(file, ": not valid JSON"));
  if (!doc.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(file, ": must be a JSON object"));
  }
  return doc;
}

}  // namespace

absl::string_view VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kPass: return "PASS";
    case Verdict::kReview: return "REVIEW";
    case Verdict::kReject: return "REJECT";
  }
  return "PASS";
}

absl::StatusOr<std::shared_ptr<const RuleSet>> RuleSet::Parse(
    absl::string_view categories_json, absl::string_view rules_json,
    std::shared_ptr<const CategoryClassifier> classifier) {
  constexpr absl::string_view kCategoriesFile = "categories.json";
  constexpr absl::string_view kRulesFile = "moderation_rules.json";
  auto categories_doc = ParseJson(kCategoriesFile, categories_json);
  if (!categories_doc.ok()) return categories_doc.status();
  auto rules_doc = ParseJson(kRulesFile, rules_json);
  if (!rules_doc.ok()) return rules_doc.status();

  std::shared_ptr<RuleSet> set(new RuleSet());

  // --- the rules file first: categories refer to its term groups ---
  Reader rules(std::string{kRulesFile});
  const Json& r = *rules_doc;
  rules.OnlyKeys(r, "$", {"version", "term_lists", "term_groups", "restricted_term_groups",
                          "brands", "contact_terms", "email_terms", "allowed_phrases",
                          "new_item_terms", "not_new_phrases", "accessory_terms", "copy_terms",
                          "copy_terms_except_categories",
                          "category_families", "thresholds"});
  const std::string rules_version = rules.String(r, "$", "version", true, 1, 64);

  if (const Json* lists = rules.Child(r, "$", "term_lists", true); lists != nullptr) {
    if (!lists->is_array()) rules.Fail("$.term_lists", "must be a list");
    for (size_t i = 0; rules.ok() && lists->is_array() && i < lists->size(); ++i) {
      const std::string path = absl::StrCat("$.term_lists[", i, "]");
      const Json& item = (*lists)[i];
      rules.OnlyKeys(item, path, {"reason_code", "verdict", "explanation", "source", "terms",
                                  "except_categories", "unless_terms"});
      TermList list;
      list.reason_code = rules.String(item, path, "reason_code", true, 1, 64);
      if (rules.ok() && !IsReasonCode(list.reason_code)) {
        rules.Fail(path + ".reason_code", "must be UPPER_SNAKE_CASE");
      }
      const std::string verdict = rules.String(item, path, "verdict", true, 1, 16);
      if (verdict == "REJECT") {
        list.verdict = Verdict::kReject;
      } else if (verdict == "REVIEW") {
        list.verdict = Verdict::kReview;
      } else if (rules.ok()) {
        rules.Fail(path + ".verdict", "must be REJECT or REVIEW");
      }
      list.explanation = rules.String(item, path, "explanation", true, 1, 500);
      list.source = rules.String(item, path, "source", false, 1, 500);
      list.except_categories = rules.Strings(item, path, "except_categories", false);
      if (const Json* unless = rules.Child(item, path, "unless_terms", false); unless != nullptr) {
        for (const auto& [lang, terms] : rules.TermsByLanguage(*unless, path + ".unless_terms")) {
          for (const std::string& term : terms) list.unless.Add(term, "unless");
        }
      }
      if (const Json* terms = rules.Child(item, path, "terms", true); terms != nullptr) {
        list.terms_by_language = rules.TermsByLanguage(*terms, path + ".terms");
      }
      if (!list.source.empty()) set->sources_[absl::StrCat("term_lists[", i, "]")] = list.source;
      for (const auto& [lang, terms] : list.terms_by_language) {
        for (const std::string& term : terms) set->term_list_index_.Add(term, std::to_string(i));
      }
      set->term_lists_.push_back(std::move(list));
    }
  }

  absl::flat_hash_set<std::string> groups;
  if (const Json* g = rules.Child(r, "$", "term_groups", true); g != nullptr) {
    if (!g->is_object()) rules.Fail("$.term_groups", "must map group names to term lists");
    for (auto it = g->begin(); rules.ok() && g->is_object() && it != g->end(); ++it) {
      const std::string path = absl::StrCat("$.term_groups.", it.key());
      if (!IsCategoryId(it.key())) rules.Fail(path, "group names are 1-64 of [a-z0-9-]");
      std::string source;
      for (const auto& [lang, terms] : rules.TermsByLanguage(it.value(), path, &source)) {
        for (const std::string& term : terms) set->term_group_index_.Add(term, it.key());
      }
      if (!source.empty()) set->sources_[absl::StrCat("term_groups.", it.key())] = source;
      groups.insert(it.key());
    }
  }
  set->restricted_groups_ = rules.Strings(r, "$", "restricted_term_groups", false);
  set->copy_except_categories_ = rules.Strings(r, "$", "copy_terms_except_categories", false);
  for (size_t g = 0; g < set->restricted_groups_.size(); ++g) {
    if (rules.ok() && !groups.contains(set->restricted_groups_[g])) {
      rules.Fail(absl::StrCat("$.restricted_term_groups[", g, "]"), "must name a term group");
    }
  }

  if (const Json* brands = rules.Child(r, "$", "brands", false); brands != nullptr) {
    if (!brands->is_array()) rules.Fail("$.brands", "must be a list");
    absl::flat_hash_set<std::string> names;
    for (size_t i = 0; rules.ok() && brands->is_array() && i < brands->size(); ++i) {
      const std::string path = absl::StrCat("$.brands[", i, "]");
      const Json& item = (*brands)[i];
      rules.OnlyKeys(item, path, {"name", "aliases", "requires_authorization", "match_title",
                                  "reference_price", "reference_categories"});
      Brand brand;
      brand.name = rules.String(item, path, "name", true, 1, 100);
      brand.aliases = rules.Strings(item, path, "aliases", false);
      brand.requires_authorization = rules.Bool(item, path, "requires_authorization");
      brand.match_title = item.is_object() && item.contains("match_title")
                              ? rules.Bool(item, path, "match_title")
                              : true;
      brand.reference_price = rules.Money(item, path, "reference_price");
      brand.reference_categories = rules.Strings(item, path, "reference_categories", false);
      if (rules.ok() && !names.insert(FoldText(brand.name)).second) {
        rules.Fail(path + ".name", "is listed twice");
      }
      for (PhraseIndex* index : {&set->brand_index_, &set->brand_title_index_}) {
        if (index != &set->brand_title_index_ || brand.match_title) {
          index->Add(brand.name, std::to_string(i));
        }
        for (const std::string& alias : brand.aliases) index->Add(alias, std::to_string(i));
      }
      set->brands_.push_back(std::move(brand));
    }
  }

  const std::pair<const char*, PhraseIndex*> plain_lists[] = {
      {"contact_terms", &set->contact_term_index_},
      {"email_terms", &set->email_term_index_},
      {"allowed_phrases", &set->allowed_phrase_index_},
      {"new_item_terms", &set->new_item_index_},
      {"not_new_phrases", &set->not_new_index_},
      {"accessory_terms", &set->accessory_index_},
      {"copy_terms", &set->copy_index_},
  };
  for (const auto& [key, index] : plain_lists) {
    const Json* list = rules.Child(r, "$", key, false);
    if (list == nullptr) continue;
    std::string source;
    for (const auto& [lang, terms] :
         rules.TermsByLanguage(*list, absl::StrCat("$.", key), &source)) {
      for (const std::string& term : terms) index->Add(term, key);
    }
    if (!source.empty()) set->sources_[key] = source;
  }

  // {"toys": {"categories": ["toys-children"]}, "weapons": {"restricted": true, ...}}
  if (const Json* f = rules.Child(r, "$", "category_families", false); f != nullptr) {
    if (!f->is_object()) rules.Fail("$.category_families", "must map family names to objects");
    for (auto it = f->begin(); rules.ok() && f->is_object() && it != f->end(); ++it) {
      const std::string path = absl::StrCat("$.category_families.", it.key());
      rules.OnlyKeys(it.value(), path, {"categories", "restricted"});
      CategoryFamily family;
      family.name = it.key();
      family.categories = rules.Strings(it.value(), path, "categories", false);
      family.restricted = rules.Bool(it.value(), path, "restricted");
      set->families_.push_back(std::move(family));
    }
  }

  if (const Json* t = rules.Child(r, "$", "thresholds", false); t != nullptr) {
    const std::string path = "$.thresholds";
    rules.OnlyKeys(*t, path,
                   {"price_low_ratio", "price_high_ratio", "counterfeit_price_ratio",
                    "duplicate_similarity", "min_title_chars", "min_description_words",
                    "min_images", "new_seller_listings", "classifier_restricted_probability",
                    "counterfeit_price_ratio_new",
                    "classifier_other_probability"});
    Thresholds& th = set->thresholds_;
    th.price_low_ratio = rules.Ratio(*t, path, "price_low_ratio", 0, 1, th.price_low_ratio);
    th.price_high_ratio = rules.Ratio(*t, path, "price_high_ratio", 1, 1000, th.price_high_ratio);
    th.counterfeit_price_ratio =
        rules.Ratio(*t, path, "counterfeit_price_ratio", 0, 1, th.counterfeit_price_ratio);
    th.duplicate_similarity =
        rules.Ratio(*t, path, "duplicate_similarity", 0.1, 1, th.duplicate_similarity);
    th.counterfeit_price_ratio_new = rules.Ratio(*t, path, "counterfeit_price_ratio_new", 0, 1,
                                                 th.counterfeit_price_ratio_new);
    th.classifier_restricted_probability = rules.Ratio(
        *t, path, "classifier_restricted_probability", 0.5, 1, th.classifier_restricted_probability);
    th.classifier_other_probability = rules.Ratio(*t, path, "classifier_other_probability", 0.5,
                                                  1, th.classifier_other_probability);
    th.min_title_chars = rules.Int(*t, path, "min_title_chars", 1, 200, th.min_title_chars);
    th.min_description_words =
        rules.Int(*t, path, "min_description_words", 0, 500, th.min_description_words);
    th.min_images = rules.Int(*t, path, "min_images", 0, 20, th.min_images);
    th.new_seller_listings =
        rules.Int(*t, path, "new_seller_listings", 0, 1000, th.new_seller_listings);
  }
  if (!rules.ok()) return rules.status();

  // --- the category tree ---
  Reader cats(std::string{kCategoriesFile});
  const Json& c = *categories_doc;
  cats.OnlyKeys(c, "$", {"version", "categories"});
  const std::string categories_version = cats.String(c, "$", "version", true, 1, 64);
  const Json* list = cats.Child(c, "$", "categories", true);
  if (list != nullptr && (!list->is_array() || list->empty())) {
    cats.Fail("$.categories", "must be a non-empty list");
  }
  for (size_t i = 0; cats.ok() && list != nullptr && i < list->size(); ++i) {
    const std::string path = absl::StrCat("$.categories[", i, "]");
    const Json& item = (*list)[i];
    cats.OnlyKeys(item, path,
                  {"id", "parent", "name", "age_restricted", "children", "excluded_term_groups",
                   "required_attributes", "brands_need_authorization", "typical_price"});
    Category cat;
    cat.id = cats.String(item, path, "id", true, 1, 64);
    if (cats.ok() && !IsCategoryId(cat.id)) cats.Fail(path + ".id", "must be 1-64 of [a-z0-9-]");
    if (cats.ok() && set->resolved_.contains(cat.id)) cats.Fail(path + ".id", "is listed twice");
    cat.parent_id = cats.String(item, path, "parent", false, 1, 64);
    if (cats.ok() && !cat.parent_id.empty() && !set->resolved_.contains(cat.parent_id)) {
      cats.Fail(path + ".parent", "must name a category listed before this one");
    }
    cat.name = cats.String(item, path, "name", true, 1, 100);
    cat.age_restricted = cats.Bool(item, path, "age_restricted");
    cat.children = cats.Bool(item, path, "children");
    cat.excluded_term_groups = cats.Strings(item, path, "excluded_term_groups", false);
    for (size_t g = 0; g < cat.excluded_term_groups.size(); ++g) {
      if (!groups.contains(cat.excluded_term_groups[g])) {
        cats.Fail(absl::StrCat(path, ".excluded_term_groups[", g, "]"),
                  "must name a term group of moderation_rules.json");
      }
    }
    cat.required_attributes = cats.Strings(item, path, "required_attributes", false);
    cat.brands_need_authorization = cats.Bool(item, path, "brands_need_authorization");
    if (const Json* p = cats.Child(item, path, "typical_price", false); p != nullptr) {
      const std::string where = path + ".typical_price";
      cats.OnlyKeys(*p, where, {"currency_code", "min_minor", "max_minor"});
      PriceRange range;
      range.currency_code = cats.String(*p, where, "currency_code", true, 3, 3);
      if (cats.ok() && common::FindCurrency(range.currency_code) == nullptr) {
        cats.Fail(where + ".currency_code", "must be a supported ISO 4217 code");
      }
      range.min_minor = cats.Int(*p, where, "min_minor", 1, common::kMaxAmountMinor, 0, true);
      range.max_minor = cats.Int(*p, where, "max_minor", 1, common::kMaxAmountMinor, 0, true);
      if (cats.ok() && range.max_minor < range.min_minor) {
        cats.Fail(where + ".max_minor", "must be >= min_minor");
      }
      cat.typical_price = range;
    }
    if (!cats.ok()) break;

    // Resolve against the parent, which is already resolved (parents come first).
    ResolvedCategory resolved;
    if (!cat.parent_id.empty()) {
      resolved = set->resolved_.at(cat.parent_id);
      set->children_[cat.parent_id].push_back(cat.id);
    }
    resolved.path.push_back(cat.id);
    resolved.age_restricted = resolved.age_restricted || cat.age_restricted;
    resolved.children = resolved.children || cat.children;
    for (const std::string& g : cat.excluded_term_groups) {
      resolved.excluded_term_groups.push_back(g);
    }
    for (const std::string& a : cat.required_attributes) resolved.required_attributes.push_back(a);
    resolved.brands_need_authorization =
        resolved.brands_need_authorization || cat.brands_need_authorization;
    if (cat.typical_price.has_value()) resolved.typical_price = cat.typical_price;
    set->categories_.push_back(std::move(cat));
    set->resolved_[set->categories_.back().id] = std::move(resolved);
  }
  if (!cats.ok()) return cats.status();
  for (size_t i = 0; i < set->brands_.size(); ++i) {
    const std::vector<std::string>& refs = set->brands_[i].reference_categories;
    for (size_t k = 0; k < refs.size(); ++k) {
      if (!set->resolved_.contains(refs[k])) {
        rules.Fail(absl::StrCat("$.brands[", i, "].reference_categories[", k, "]"),
                   "must name a category of categories.json");
      }
    }
  }
  for (size_t k = 0; k < set->copy_except_categories_.size(); ++k) {
    if (!set->resolved_.contains(set->copy_except_categories_[k])) {
      rules.Fail(absl::StrCat("$.copy_terms_except_categories[", k, "]"),
                 "must name a category of categories.json");
    }
  }
  for (size_t i = 0; i < set->term_lists_.size(); ++i) {
    const std::vector<std::string>& except = set->term_lists_[i].except_categories;
    for (size_t k = 0; k < except.size(); ++k) {
      if (!set->resolved_.contains(except[k])) {
        rules.Fail(absl::StrCat("$.term_lists[", i, "].except_categories[", k, "]"),
                   "must name a category of categories.json");
      }
    }
  }
  for (size_t i = 0; i < set->families_.size(); ++i) {
    const std::vector<std::string>& cats_of = set->families_[i].categories;
    for (size_t k = 0; k < cats_of.size(); ++k) {
      if (!set->resolved_.contains(cats_of[k])) {
        rules.Fail(absl::StrCat("$.category_families.", set->families_[i].name, ".categories[",
                                k, "]"),
                   "must name a category of categories.json");
      }
    }
  }
  if (!rules.ok()) return rules.status();
  // Categories are stored in a vector that no longer grows: point into it now.
  for (const Category& cat : set->categories_) set->resolved_[cat.id].category = &cat;

  set->version_ = absl::StrCat(categories_version, "+", rules_version);
  if (classifier != nullptr) absl::StrAppend(&set->version_, "+", classifier->Version());
  set->classifier_ = std::move(classifier);
  return std::shared_ptr<const RuleSet>(std::move(set));
}

const ResolvedCategory* RuleSet::FindCategory(absl::string_view id) const {
  auto it = resolved_.find(id);
  return it == resolved_.end() ? nullptr : &it->second;
}

bool RuleSet::IsRestrictedGroup(absl::string_view group) const {
  return std::find(restricted_groups_.begin(), restricted_groups_.end(), group) !=
         restricted_groups_.end();
}

const CategoryFamily* RuleSet::FindFamily(absl::string_view name) const {
  for (const CategoryFamily& f : families_) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

bool RuleSet::IsWithin(absl::string_view category_id, absl::string_view ancestor_id) const {
  const ResolvedCategory* category = FindCategory(category_id);
  if (category == nullptr) return false;
  return std::find(category->path.begin(), category->path.end(), ancestor_id) !=
         category->path.end();
}

std::vector<std::string> RuleSet::Subtree(absl::string_view id) const {
  std::vector<std::string> out;
  if (!resolved_.contains(id)) return out;
  out.emplace_back(id);
  for (size_t i = 0; i < out.size(); ++i) {
    auto it = children_.find(out[i]);
    if (it == children_.end()) continue;
    for (const std::string& child : it->second) out.push_back(child);
  }
  return out;
}

}  // namespace marketplace::catalog
