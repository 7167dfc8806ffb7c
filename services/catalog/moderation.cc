#include "services/catalog/moderation.h"

#include <algorithm>
#include <cctype>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
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

// A web address without its scheme: a name of letters, digits and dashes, then a dot (also
// written "[.]", "(.)" or " dot ") and a common top-level domain in lower case ("monsite.fr",
// "shop[.]com"; "état.De plus" is a missing space, not a domain).
bool HasDomain(absl::string_view text) {
  static const char* const kTlds[] = {"com", "fr", "de", "es", "it", "net", "org", "eu",
                                      "be",  "ch", "at", "nl", "uk", "io", "shop"};
  for (const char* dot : {".", "[.]", "(.)", " dot ", "[dot]", "(dot)"}) {
    const absl::string_view d(dot);
    for (size_t at = text.find(d); at != absl::string_view::npos; at = text.find(d, at + 1)) {
      size_t start = at;
      bool letter = false;
      while (start > 0 && (std::isalnum(static_cast<unsigned char>(text[start - 1])) ||
                           text[start - 1] == '-')) {
        letter = letter || std::isalpha(static_cast<unsigned char>(text[start - 1]));
        --start;
      }
      if (at - start < 2 || !letter) continue;
      const size_t tld_at = at + d.size();
      size_t end = tld_at;
      while (end < text.size() && text[end] >= 'a' && text[end] <= 'z') ++end;
      if (end < text.size() && std::isalnum(static_cast<unsigned char>(text[end]))) continue;
      const absl::string_view tld = text.substr(tld_at, end - tld_at);
      // Spelled "dot", only the domains no language here uses as a word.
      if (d == " dot " && tld != "com" && tld != "fr" && tld != "net" && tld != "org") continue;
      for (const char* t : kTlds) {
        if (tld == t) return true;
      }
    }
  }
  return false;
}

// Whether the seller is authorised for `brand`, or for the brand a product line of it belongs
// to: an authorisation for "samsung" covers "Samsung Galaxy".
bool Authorized(const SellerContext& seller, absl::string_view brand_name) {
  const std::string name = FoldText(brand_name);
  if (seller.authorized_brands.contains(name)) return true;
  for (size_t space = name.find(' '); space != std::string::npos;
       space = name.find(' ', space + 1)) {
    if (seller.authorized_brands.contains(name.substr(0, space))) return true;
  }
  return false;
}

// Spaces and the punctuation marks a phone number is written or disguised with; not a line
// break, nor '%', '$', '@', '&', '=', '<', '>' and other symbols ("1 299,99 €", "98 %").
bool IsNumberSeparator(char c) {
  static constexpr absl::string_view kMarks = " \t.,;:-_/\\*()[]+|~'\"";
  return kMarks.find(c) != absl::string_view::npos;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Digit groups in a row, as HasPhoneNumber reads them.
struct DigitGroups {
  std::vector<absl::string_view> groups;
  // separators[k] stands between groups[k] and groups[k + 1]: one to three characters.
  std::vector<absl::string_view> separators;
  bool after_plus = false;  // a '+' (international prefix) just before the first group
};

// What tells the separator apart: its marks, spaces aside ("" for spaces alone).
std::string SeparatorMarks(absl::string_view separator) {
  std::string marks;
  for (char c : separator) {
    if (c != ' ' && c != '\t') marks.push_back(c);
  }
  return marks;
}

// The separators written between the groups of an ordinary phone number: spaces alone (up to
// three), one '.' or '-', or a bracket with or without spaces ("(0)6", "(555) 123-4567").
bool IsPlainSeparator(absl::string_view separator) {
  const std::string marks = SeparatorMarks(separator);
  return marks.empty() || marks == "(" || marks == ")" ||
         (separator.size() == 1 && (separator[0] == '.' || separator[0] == '-'));
}

// The digits of groups [first, last].
size_t DigitsOf(const DigitGroups& run, size_t first, size_t last) {
  size_t digits = 0;
  for (size_t k = first; k <= last; ++k) digits += run.groups[k].size();
  return digits;
}

bool IsPhoneLength(size_t digits) { return digits >= 9 && digits <= 12; }

// Whether a run of digit groups holds a phone number (see HasPhoneNumber).
bool RunHasPhoneNumber(const DigitGroups& run) {
  const size_t n = run.groups.size();
  // Groups separated as phone numbers usually are: any 9 to 12 digits.
  for (size_t first = 0; first < n;) {
    size_t last = first;
    while (last + 1 < n && IsPlainSeparator(run.separators[last])) ++last;
    if (IsPhoneLength(DigitsOf(run, first, last))) return true;
    first = last + 1;
  }
  // Groups separated by other marks ("06, 12, 34", "06/12/34", "06 . 12 . 34"): the same marks
  // between every two groups, every group of two digits or more, the first starting with 0 or
  // after a '+'. Lists ("36, 38, 40, 42, 44", "tomes 1, 2, 3, ..."), dates ("06/12, 07/12")
  // and decimals ("12,50 / 15,00") are no phone numbers.
  for (size_t first = 0; first + 1 < n;) {
    const std::string marks = SeparatorMarks(run.separators[first]);
    size_t last = first + 1;
    while (last + 1 < n && SeparatorMarks(run.separators[last]) == marks) ++last;
    bool pairs = true;
    for (size_t k = first; k <= last; ++k) pairs = pairs && run.groups[k].size() >= 2;
    const bool starts_like_a_phone = run.groups[first][0] == '0' || (first == 0 && run.after_plus);
    if (!marks.empty() && pairs && starts_like_a_phone &&
        IsPhoneLength(DigitsOf(run, first, last))) {
      return true;
    }
    first = last;
  }
  return false;
}

// A phone number in `text` (ContactForm: full-width, mathematical and other scripts' digits
// are ASCII, invisible characters gone): 9 to 12 digits in groups, each two groups separated
// by one to three spaces or punctuation marks (IsNumberSeparator; not a line break). Either
// separated as phone numbers are written (IsPlainSeparator: "06 12 34 56 78", "07.81.22.45.90",
// "06  12  34  56  78", "+33 (0)6 12 34 56 78"), or by the same other marks throughout,
// starting with 0 or after a '+', in groups of two digits or more ("06, 12, 34, 56, 78",
// "06/12/34/56/78", "06 . 12 . 34 . 56 . 78"). Longer runs are references, serial numbers or
// EAN/ISBN-13 codes, not phones.
bool HasPhoneNumber(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    if (!IsDigit(text[i])) {
      ++i;
      continue;
    }
    DigitGroups run;
    for (size_t k = i; k > 0 && i - k < 3; --k) {
      run.after_plus = text[k - 1] == '+';
      if (text[k - 1] != ' ') break;
    }
    while (true) {
      const size_t start = i;
      while (i < text.size() && IsDigit(text[i])) ++i;
      run.groups.push_back(text.substr(start, i - start));
      size_t next = i;
      while (next < text.size() && next - i < 4 && IsNumberSeparator(text[next])) ++next;
      if (next == i || next - i > 3 || next >= text.size() || !IsDigit(text[next])) break;
      run.separators.push_back(text.substr(i, next - i));
      i = next;
    }
    if (RunHasPhoneNumber(run)) return true;
  }
  return false;
}

uint64_t Mix(uint64_t x) {  // splitmix64 finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

uint64_t HashWord(absl::string_view w) {  // FNV-1a
  uint64_t h = 0xcbf29ce484222325ULL;
  for (char c : w) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

// The number words a phone number may be spelled with, by what they stand for.
enum class NumberWord {
  kNone,   // not a number word
  kDigit,  // 0 to 9: "zero", "six", "eins"
  kTeen,   // 10 to 19 in one word: "dix", "douze", "twelve", "zehn"
  kTens,   // 20 to 90: "trente", "soixante", "forty" (a digit word may follow: "trente quatre")
};

constexpr const char* kDigitWords[] = {
    // fr
    "zero", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf",
    // en
    "oh", "one", "two", "three", "four", "five", "seven", "eight", "nine",
    // de
    "null", "eins", "zwei", "drei", "vier", "funf", "fuenf", "sechs", "sieben", "acht", "neun",
    // es
    "cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve",
    // it
    "due", "quattro", "sei", "sette", "otto", "nove"};
constexpr const char* kTeenWords[] = {
    // fr
    "dix", "onze", "douze", "treize", "quatorze", "quinze", "seize",
    // en
    "ten", "eleven", "twelve",
    // de
    "zehn", "zwolf",
    // es
    "diez",
    // it
    "dieci"};
constexpr const char* kTensWords[] = {
    // fr
    "vingt", "trente", "quarante", "cinquante", "soixante", "septante", "nonante",
    // en
    "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"};

NumberWord NumberWordOf(const std::string& w) {
  static const absl::flat_hash_map<std::string, NumberWord>* kWords = [] {
    auto* words = new absl::flat_hash_map<std::string, NumberWord>();
    for (const char* d : kDigitWords) (*words)[d] = NumberWord::kDigit;
    for (const char* t : kTeenWords) (*words)[t] = NumberWord::kTeen;
    for (const char* t : kTensWords) (*words)[t] = NumberWord::kTens;
    return words;
  }();
  auto it = kWords->find(w);
  return it == kWords->end() ? NumberWord::kNone : it->second;
}

// A phone number written out, in number words and numbers of one or two digits: six or more in
// a row ("zero six douze trente quatre cinquante six"), or five in a row that each stand for
// two digits, one of them at least a word: the ten digits spelled in pairs ("06 douze 34
// cinquante 78"). A word after a tens word is part of its pair ("soixante dix": 70).
bool HasSpelledOutPhone(const std::vector<std::string>& words) {
  int run = 0;
  int pairs = 0, pairs_in_words = 0;
  NumberWord previous = NumberWord::kNone;
  for (const std::string& w : words) {
    const bool digits = !w.empty() && w.size() <= 2 &&
                        std::all_of(w.begin(), w.end(), [](char c) { return c >= '0' && c <= '9'; });
    const NumberWord word = NumberWordOf(w);
    if (word == NumberWord::kNone && !digits) {
      run = pairs = pairs_in_words = 0;
      previous = NumberWord::kNone;
      continue;
    }
    if (++run >= 6) return true;
    const bool pair_word =
        (word == NumberWord::kTeen || word == NumberWord::kTens) && previous != NumberWord::kTens;
    if (pair_word || (digits && w.size() == 2)) {
      ++pairs;
      if (pair_word) ++pairs_in_words;
      if (pairs >= 5 && pairs_in_words > 0) return true;
    } else {
      pairs = pairs_in_words = 0;
    }
    previous = word;
  }
  return false;
}

// Whether any reading's words contain a phrase of `index`.
std::vector<std::string> FindInReadings(const PhraseIndex& index,
                                        const std::vector<std::vector<std::string>>& readings) {
  std::vector<std::string> out;
  for (const std::vector<std::string>& words : readings) {
    for (std::string& tag : index.Find(words)) {
      if (std::find(out.begin(), out.end(), tag) == out.end()) out.push_back(std::move(tag));
    }
  }
  return out;
}

std::string Price(const std::string& currency, int64_t minor) {
  auto m = common::Money::Of(currency, minor);
  return m.ok() ? m->ToString() : absl::StrCat(minor, " ", currency);
}

}  // namespace

std::vector<uint64_t> DuplicateSignature(absl::string_view text) {
  return SignatureOfFolded(FoldText(text));
}

std::vector<uint64_t> SignatureOfFolded(absl::string_view folded) {
  // Words that say nothing about the item, in the catalog's languages.
  static const absl::flat_hash_set<std::string>* kStopWords = new absl::flat_hash_set<std::string>{
      "the", "and", "with", "for", "from", "this", "that", "are", "was", "has", "its", "les",
      "des", "une", "aux", "avec", "pour", "dans", "sur", "par", "son", "ses", "est", "qui",
      "que", "tres", "und", "mit", "der", "die", "das", "den", "dem", "ein", "eine", "fur",
      "ist", "los", "las", "del", "con", "una", "por", "para", "muy", "della", "delle", "per",
      "sono", "molto"};
  std::vector<uint64_t> shingles;
  for (const std::string& w : Words(folded)) {
    const bool number =
        std::all_of(w.begin(), w.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (number || (w.size() >= 3 && !kStopWords->contains(w))) {
      shingles.push_back(HashWord(number ? w : w.substr(0, 5)));
    }
  }
  // Bottom-k MinHash: one mixed hash per distinct shingle, the kMinHashes least kept (sorted).
  for (uint64_t& h : shingles) h = Mix(h);
  std::sort(shingles.begin(), shingles.end());
  shingles.erase(std::unique(shingles.begin(), shingles.end()), shingles.end());
  if (shingles.size() > static_cast<size_t>(kMinHashes)) shingles.resize(kMinHashes);
  return shingles;
}

double SignatureSimilarity(const std::vector<uint64_t>& a, const std::vector<uint64_t>& b) {
  if (a.empty() || b.empty()) return 0;
  // The k least hashes of the union; the share of them present in both estimates the Jaccard
  // index (exact when both sets have fewer than k shingles).
  const size_t k = std::min<size_t>(kMinHashes, a.size() + b.size());
  size_t i = 0, j = 0, taken = 0, both = 0;
  while (taken < k && (i < a.size() || j < b.size())) {
    if (j >= b.size() || (i < a.size() && a[i] < b[j])) {
      ++i;
    } else if (i >= a.size() || b[j] < a[i]) {
      ++j;
    } else {
      ++both, ++i, ++j;
    }
    ++taken;
  }
  return taken == 0 ? 0 : static_cast<double>(both) / static_cast<double>(taken);
}

double TextSimilarity(absl::string_view a, absl::string_view b) {
  return SignatureSimilarity(DuplicateSignature(a), DuplicateSignature(b));
}

Evaluation Evaluate(const RuleSet& rules, const ListingContent& listing,
                    const SellerContext& seller, const CategoryClassifier* classifier) {
  Evaluation e;
  e.rules_version = rules.version();
  const Thresholds& th = rules.thresholds();
  const std::string text = absl::StrCat(listing.title, "\n", listing.description);
  // Folded once each: the newline between them folds to the space joining them.
  const std::string title_folded = FoldText(listing.title);
  const std::string description_folded = FoldText(listing.description);
  const std::string folded =
      title_folded.empty() || description_folded.empty()
          ? absl::StrCat(title_folded, description_folded)
          : absl::StrCat(title_folded, " ", description_folded);
  const std::vector<std::string> all_words = Words(folded);
  // Buyers also read the brand and the attributes, keys ("age_range") as well as values: each
  // is a segment of its own (an attribute's key and value on two lines), read apart from the
  // others, so that numbers of different attributes never join into a phone number, nor words
  // of different fields into a phrase or a copy word next to a brand.
  std::vector<std::string> segments;
  if (!listing.brand.empty()) segments.push_back(listing.brand);
  for (const auto& [key, value] : listing.attributes) {
    segments.push_back(absl::StrCat(key, "\n", value));
  }
  // The plain words of the title and description, then of each segment.
  std::vector<std::vector<std::string>> plain = {all_words};
  // Term lists and groups see every reading of every segment, without its allowed phrases
  // ("couleur ivoire", "pistolet à colle"): the plain ones, then the others.
  // Each field's readings apart as well (`fields`: the title and description, then each
  // segment): a term list's "unless" words count only in the field where its term is, so that
  // an attribute's ordinary "couleur" does not excuse "ivoire" in the title.
  std::vector<std::vector<std::vector<std::string>>> fields;
  std::vector<std::vector<std::string>> alternatives;
  fields.push_back({all_words});
  for (const std::string& alt : AlternativeReadings(text, folded)) {
    alternatives.push_back(Words(alt));
    fields.back().push_back(alternatives.back());
  }
  for (const std::string& segment : segments) {
    const std::string segment_folded = FoldText(segment);
    plain.push_back(Words(segment_folded));
    fields.push_back({plain.back()});
    for (const std::string& alt : AlternativeReadings(segment, segment_folded)) {
      alternatives.push_back(Words(alt));
      fields.back().push_back(alternatives.back());
    }
  }
  std::vector<std::vector<std::string>> readings = plain;
  for (std::vector<std::string>& alt : alternatives) readings.push_back(std::move(alt));
  if (!rules.allowed_phrase_index().empty()) {
    for (auto& r : readings) r = rules.allowed_phrase_index().Mask(std::move(r));
    for (auto& field : fields) {
      for (auto& r : field) r = rules.allowed_phrase_index().Mask(std::move(r));
    }
  }

  // forbidden_terms
  for (const std::string& tag : FindInReadings(rules.term_list_index(), readings)) {
    const TermList& list = rules.term_lists()[std::stoul(tag)];
    bool excepted = false;
    for (const std::string& c : list.except_categories) {
      excepted = excepted || rules.IsWithin(listing.category_id, c);
    }
    if (excepted) continue;
    PhraseIndex just_this;
    for (const auto& [lang, terms] : list.terms_by_language) {
      for (const std::string& t : terms) just_this.Add(t, t);
    }
    // The list's terms found in the fields where none of its "unless" words is.
    std::vector<std::string> found;
    for (const auto& field : fields) {
      if (!list.unless.empty() && !FindInReadings(list.unless, field).empty()) continue;
      for (const auto& r : field) {
        for (std::string& p : just_this.FindPhrases(r)) {
          if (std::find(found.begin(), found.end(), p) == found.end()) {
            found.push_back(std::move(p));
          }
        }
      }
    }
    if (found.empty()) continue;
    Add(e, "forbidden_terms", list.verdict, list.reason_code,
        absl::StrCat(list.explanation, " (found: ", Quoted(found), ")"));
  }

  // A copy word next to a brand name: "Rolex copie", "inspired by Chanel".
  bool copy_excepted = false;
  for (const std::string& c : rules.copy_terms_except_categories()) {
    copy_excepted = copy_excepted || rules.IsWithin(listing.category_id, c);
  }
  if (!rules.copy_index().empty() && !copy_excepted) {
    bool admitted = false;
    for (const auto& r : readings) {
      const std::vector<std::string> brands_masked = rules.brand_index().Mask(r);
      const std::vector<std::string> copies_masked = rules.copy_index().Mask(r);
      std::vector<size_t> brand_at, copy_at;
      for (size_t i = 0; i < r.size(); ++i) {
        if (!r[i].empty() && brands_masked[i].empty()) brand_at.push_back(i);
        if (!r[i].empty() && copies_masked[i].empty()) copy_at.push_back(i);
      }
      for (size_t b : brand_at) {
        for (size_t c : copy_at) {
          admitted = admitted || (b > c ? b - c : c - b) <= 3;
        }
      }
      if (admitted) break;
    }
    if (admitted) {
      Add(e, "copy_of_brand", Verdict::kReject, "COUNTERFEIT_ADMITTED",
          "Copies and imitations of branded goods may not be sold (a copy word next to a "
          "brand name)");
    }
  }

  // unknown_category / category_mismatch
  const ResolvedCategory* category = rules.FindCategory(listing.category_id);
  bool mismatch_found = false;
  if (category == nullptr) {
    Add(e, "unknown_category", Verdict::kReject, "UNKNOWN_CATEGORY",
        absl::StrCat("\"", listing.category_id, "\" is not a category of the catalog"));
  } else if (!category->excluded_term_groups.empty()) {
    for (const std::string& group : FindInReadings(rules.term_group_index(), readings)) {
      if (std::find(category->excluded_term_groups.begin(), category->excluded_term_groups.end(),
                    group) == category->excluded_term_groups.end()) {
        continue;
      }
      const bool refuse = category->children && rules.IsRestrictedGroup(group);
      Add(e, "category_mismatch", refuse ? Verdict::kReject : Verdict::kReview,
          "CATEGORY_MISMATCH",
          absl::StrCat("Products of the \"", group, "\" kind ",
                       refuse ? "may not be listed in \"" : "do not belong in \"",
                       category->category->name, "\""));
      mismatch_found = true;
    }
  }
  // The learned check, beside the term groups: not when the rules already refuse the listing
  // (its decision cannot change; a second reason would only blur the explanation), nor for a
  // category no family covers (the model has no label for it, so any label it gives is wrong).
  const bool refused_already = std::any_of(e.findings.begin(), e.findings.end(),
                                           [](const Finding& f) {
                                             return f.verdict == Verdict::kReject;
                                           });
  bool category_has_family = false;
  if (category != nullptr) {
    for (const CategoryFamily& f : rules.families()) {
      for (const std::string& c : f.categories) {
        category_has_family = category_has_family || rules.IsWithin(listing.category_id, c);
      }
    }
  }
  if (classifier != nullptr && category != nullptr && !mismatch_found && !refused_already &&
      category_has_family && !folded.empty()) {
    const std::vector<FamilyPrediction> top = classifier->Predict(folded, 1);
    if (!top.empty()) {
      const CategoryFamily* family = rules.FindFamily(top[0].family);
      bool covers = family == nullptr;  // an unknown label says nothing
      if (family != nullptr) {
        for (const std::string& c : family->categories) {
          covers = covers || rules.IsWithin(listing.category_id, c);
        }
      }
      if (family != nullptr && !covers) {
        if (family->restricted && category->children &&
            top[0].probability >= th.classifier_restricted_probability) {
          Add(e, "category_classifier", Verdict::kReject, "CATEGORY_MISMATCH",
              absl::StrCat("The listing reads as a \"", family->name,
                           "\" item, which may not be listed in \"", category->category->name,
                           "\""));
        } else if (top[0].probability >= th.classifier_other_probability) {
          Add(e, "category_classifier", Verdict::kReview, "CATEGORY_MISMATCH",
              absl::StrCat("The listing reads as a \"", family->name,
                           "\" item rather than one of \"", category->category->name, "\""));
        }
      }
    }
  }

  // required_fields
  std::vector<std::string> missing;
  if (title_folded.size() < static_cast<size_t>(th.min_title_chars)) {
    missing.push_back(absl::StrCat("a title of at least ", th.min_title_chars, " letters"));
  }
  if (Words(description_folded).size() < static_cast<size_t>(th.min_description_words)) {
    missing.push_back(
        absl::StrCat("a description of at least ", th.min_description_words, " words"));
  }
  if (listing.image_urls.size() < static_cast<size_t>(th.min_images)) {
    missing.push_back(absl::StrCat("at least ", th.min_images, " image(s)"));
  }
  if (!listing.price.has_value()) missing.push_back("a price");
  if (category != nullptr) {
    for (const std::string& attribute : category->required_attributes) {
      if (attribute == "brand") {
        if (Words(FoldText(listing.brand)).empty()) missing.push_back("the brand");
        continue;
      }
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
  std::vector<std::vector<std::string>> title_readings = {Words(title_folded)};
  for (const std::string& alt : AlternativeReadings(listing.title, title_folded)) {
    title_readings.push_back(Words(alt));
  }
  for (std::string& tag : FindInReadings(rules.brand_title_index(), title_readings)) {
    if (std::find(brand_tags.begin(), brand_tags.end(), tag) == brand_tags.end()) {
      brand_tags.push_back(std::move(tag));
    }
  }
  // New-ness: the condition field when given, else the condition attribute, else what the
  // text says.
  bool is_new = false;
  if (listing.condition.has_value()) {
    is_new = *listing.condition == "new";
  } else if (auto it = listing.attributes.find("condition"); it != listing.attributes.end()) {
    is_new = FoldText(it->second) == "new";
  } else {
    is_new = !rules.new_item_index().Find(rules.not_new_index().Mask(all_words)).empty();
  }
  // An accessory says so in its title ("Coque pour iPhone 15"); a phone's description naming
  // its charger does not make it one.
  const bool accessory = !rules.accessory_index().Find(title_readings[0]).empty();
  // One price finding however many of the brands and product lines named apply.
  bool price_flagged = false;
  for (const std::string& tag : brand_tags) {
    const Brand& brand = rules.brands()[std::stoul(tag)];
    if (category != nullptr && category->brands_need_authorization &&
        brand.requires_authorization && is_new && !accessory &&
        !Authorized(seller, brand.name)) {
      Add(e, "brand_authorization", Verdict::kReview, "BRAND_AUTHORIZATION_REQUIRED",
          absl::StrCat("Selling new ", brand.name,
                       " items here needs the brand's authorisation, which this seller has not "
                       "shown"));
    }
    bool price_applies = brand.reference_categories.empty();
    for (const std::string& ref : brand.reference_categories) {
      price_applies = price_applies || rules.IsWithin(listing.category_id, ref);
    }
    if (price_applies && !accessory && !price_flagged && brand.reference_price.has_value() &&
        listing.price.has_value() &&
        listing.price->currency_code() == brand.reference_price->currency_code() &&
        static_cast<double>(listing.price->amount_minor()) <
            static_cast<double>(brand.reference_price->amount_minor()) *
                (is_new ? th.counterfeit_price_ratio_new : th.counterfeit_price_ratio)) {
      Add(e, "counterfeit_price", Verdict::kReview, "COUNTERFEIT_SUSPECTED",
          absl::StrCat("The price ", listing.price->ToString(), " is far below the usual ",
                       brand.reference_price->ToString(), " for ", brand.name));
      price_flagged = true;
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

  // duplicate: of a LIVE or PENDING_REVIEW listing (one finding), and, by the same measure,
  // of a listing a moderator rejected (one finding): a copy of it must not get past the
  // moderator's verdict.
  if (!seller.other_listings.empty()) {
    const std::vector<uint64_t> mine = SignatureOfFolded(folded);
    bool duplicate_found = false;
    bool copy_found = false;
    for (const SellerListing& other : seller.other_listings) {
      if (other.state == SellerListingState::kOther) continue;
      const bool rejected = other.state == SellerListingState::kRejectedByModerator;
      if (rejected ? copy_found : duplicate_found) continue;
      const double similarity = SignatureSimilarity(
          mine, DuplicateSignature(absl::StrCat(other.title, "\n", other.description)));
      if (similarity < th.duplicate_similarity) continue;
      if (rejected) {
        Add(e, "duplicate", Verdict::kReview, "COPY_OF_REJECTED_LISTING",
            absl::StrCat("The listing repeats your listing ", other.listing_id,
                         ", which a moderator rejected (similarity ",
                         absl::StrFormat("%.2f", similarity), "): a moderator decides it"));
        copy_found = true;
      } else {
        Add(e, "duplicate", Verdict::kReview, "DUPLICATE_LISTING",
            absl::StrCat("The listing repeats your ",
                         other.state == SellerListingState::kLive ? "live" : "pending",
                         " listing ", other.listing_id, " (similarity ",
                         absl::StrFormat("%.2f", similarity), "); change its quantity instead"));
        duplicate_found = true;
      }
      if (duplicate_found && copy_found) break;
    }
  }

  // contact_details, on the text with full-width and other look-alike digits, dots and '@'
  // made ASCII and invisible characters removed; each segment on lines of its own (a phone
  // number never spans a line break).
  std::string contact_text = text;
  for (const std::string& segment : segments) absl::StrAppend(&contact_text, "\n", segment);
  const std::string contact = ContactForm(contact_text);
  std::string lower = contact;
  for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  const bool email = HasEmail(contact) || lower.find("[at]") != std::string::npos ||
                     lower.find("(at)") != std::string::npos ||
                     !FindInReadings(rules.email_term_index(), readings).empty();
  if (email || HasLink(lower) || HasDomain(contact)) {
    Add(e, "contact_details", Verdict::kReject, "OFF_PLATFORM_CONTACT",
        "Email addresses and web links may not appear in a listing: buyers contact sellers "
        "through the platform");
  } else if (HasPhoneNumber(contact) ||
             std::any_of(plain.begin(), plain.end(), HasSpelledOutPhone) ||
             !FindInReadings(rules.contact_term_index(), readings).empty()) {
    Add(e, "contact_details", Verdict::kReject, "OFF_PLATFORM_CONTACT",
        "Phone numbers and messaging apps may not appear in a listing: buyers contact sellers "
        "through the platform");
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
