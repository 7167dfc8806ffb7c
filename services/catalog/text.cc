#include "services/catalog/text.h"

#include <algorithm>
#include <cctype>
#include <cstdint>

#include <memory>

#include "absl/base/call_once.h"
#include "absl/container/flat_hash_set.h"
#include "unicode/normalizer2.h"
#include "unicode/translit.h"
#include "unicode/uchar.h"
#include "unicode/unistr.h"
#include "unicode/uscript.h"
#include "unicode/uspoof.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace marketplace::catalog {
namespace {

// Base letters of U+00C0..U+00FF; "" is a separator (× and ÷).
constexpr const char* kLatin1[64] = {
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",   // C0
    "d", "n", "o", "o", "o", "o", "o",  "",  "o", "u", "u", "u", "u", "y", "th", "ss",  // D0
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",   // E0
    "d", "n", "o", "o", "o", "o", "o",  "",  "o", "u", "u", "u", "u", "y", "th", "y",   // F0
};

// Base letters of U+0100..U+017F (Latin Extended-A), by ranges.
struct Range {
  uint32_t first, last;
  const char* base;
};
constexpr Range kLatinExtendedA[] = {
    {0x100, 0x105, "a"}, {0x106, 0x10D, "c"}, {0x10E, 0x111, "d"},  {0x112, 0x11B, "e"},
    {0x11C, 0x123, "g"}, {0x124, 0x127, "h"}, {0x128, 0x131, "i"},  {0x132, 0x133, "ij"},
    {0x134, 0x135, "j"}, {0x136, 0x138, "k"}, {0x139, 0x142, "l"},  {0x143, 0x14B, "n"},
    {0x14C, 0x151, "o"}, {0x152, 0x153, "oe"}, {0x154, 0x159, "r"}, {0x15A, 0x161, "s"},
    {0x162, 0x167, "t"}, {0x168, 0x173, "u"}, {0x174, 0x175, "w"},  {0x176, 0x178, "y"},
    {0x179, 0x17E, "z"}, {0x17F, 0x17F, "s"},
};

// Decodes one UTF-8 sequence at `s[i]`; returns its length (0: invalid byte).
int Decode(absl::string_view s, size_t i, uint32_t* cp) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  int len = 0;
  uint32_t value = 0;
  if (c < 0x80) {
    *cp = c;
    return 1;
  } else if ((c & 0xE0) == 0xC0) {
    len = 2, value = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3, value = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4, value = c & 0x07;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (int k = 1; k < len; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
    value = (value << 6) | (b(i + k) & 0x3F);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (value < kMin[len] || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF)) return 0;
  *cp = value;
  return len;
}

// Combining diacritical marks (U+0300..U+036F) carry no letter: dropped, so a decomposed
// "e" + U+0301 folds like "é".
bool IsCombiningMark(uint32_t cp) { return cp >= 0x300 && cp <= 0x36F; }

// Invisible characters: the format characters (Unicode category Cf: soft hyphen, zero-width
// space, non-joiner and joiner, direction marks and embeddings, word joiner, invisible
// operators, byte order mark, tags, ...) and the other default-ignorable code points
// (variation selectors, Hangul fillers, ...). One slipped inside a word ("coc<U+200B>aine",
// "re<U+00AD>plica") is dropped, joining the word, never a separator. The ICU path also asks
// ICU for category Cf (IsDropped), so a format character missing here is dropped there.
bool IsInvisible(uint32_t cp) {
  if (cp < 0xAD) return false;
  return cp == 0xAD || cp == 0x34F || cp == 0x61C || (cp >= 0x600 && cp <= 0x605) || cp == 0x6DD ||
         cp == 0x70F || (cp >= 0x115F && cp <= 0x1160) || (cp >= 0x17B4 && cp <= 0x17B5) ||
         (cp >= 0x180B && cp <= 0x180F) || (cp >= 0x200B && cp <= 0x200F) ||
         (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2060 && cp <= 0x206F) || cp == 0x3164 ||
         (cp >= 0xFE00 && cp <= 0xFE0F) || cp == 0xFEFF || cp == 0xFFA0 ||
         (cp >= 0xFFF0 && cp <= 0xFFFB) || (cp >= 0x1BCA0 && cp <= 0x1BCA3) ||
         (cp >= 0x1D173 && cp <= 0x1D17A) || (cp >= 0xE0000 && cp <= 0xE0FFF);
}

// Punctuation, symbols and spaces outside ASCII that separate words (invisible characters
// aside: IsInvisible is asked first).
bool IsSeparator(uint32_t cp) {
  return (cp >= 0x80 && cp <= 0xBF) || cp == 0xD7 || cp == 0xF7 ||
         (cp >= 0x2000 && cp <= 0x206F) ||  // general punctuation (’ “ – …, spaces)
         (cp >= 0x20A0 && cp <= 0x20CF) ||  // currency symbols
         (cp >= 0x2100 && cp <= 0x2BFF) ||  // letterlike, arrows, maths, shapes, dingbats
         (cp >= 0x3000 && cp <= 0x303F) || cp == 0xFEFF || (cp >= 0x1F000 && cp <= 0x1FAFF);
}

}  // namespace

namespace {
std::string TableFold(absl::string_view utf8) {
  std::string out;
  out.reserve(utf8.size());
  bool pending_space = false;
  auto append = [&](absl::string_view piece) {
    if (pending_space && !out.empty()) out.push_back(' ');
    pending_space = false;
    out.append(piece.data(), piece.size());
  };
  for (size_t i = 0; i < utf8.size();) {
    uint32_t cp = 0;
    int len = Decode(utf8, i, &cp);
    if (len == 0) {
      pending_space = true;
      ++i;
      continue;
    }
    const absl::string_view raw = utf8.substr(i, len);
    i += len;
    if (cp < 0x80) {
      const char c = static_cast<char>(cp);
      if (c >= 'A' && c <= 'Z') {
        const char lower = static_cast<char>(c - 'A' + 'a');
        append(absl::string_view(&lower, 1));
      } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
        append(raw);
      } else {
        pending_space = true;
      }
    } else if (cp >= 0xC0 && cp <= 0xFF) {
      const char* base = kLatin1[cp - 0xC0];
      if (*base == '\0') {
        pending_space = true;
      } else {
        append(base);
      }
    } else if (cp >= 0x100 && cp <= 0x17F) {
      for (const Range& r : kLatinExtendedA) {
        if (cp >= r.first && cp <= r.last) {
          append(r.base);
          break;
        }
      }
    } else if (IsCombiningMark(cp) || IsInvisible(cp)) {
      continue;
    } else if (IsSeparator(cp)) {
      pending_space = true;
    } else {
      append(raw);  // a letter of another script
    }
  }
  return out;
}
}  // namespace

std::vector<std::string> Words(absl::string_view folded) {
  return absl::StrSplit(folded, ' ', absl::SkipEmpty());
}

void PhraseIndex::Add(absl::string_view phrase, std::string tag) {
  std::vector<std::string> words = Words(FoldText(phrase));
  if (words.empty()) return;
  by_first_word_[words.front()].push_back(phrases_.size());
  phrases_.push_back(Phrase{std::move(words), std::move(tag)});
}

std::vector<size_t> PhraseIndex::Matches(const std::vector<std::string>& words) const {
  std::vector<size_t> found;
  for (size_t i = 0; i < words.size(); ++i) {
    auto it = by_first_word_.find(words[i]);
    if (it == by_first_word_.end()) continue;
    for (size_t p : it->second) {
      const std::vector<std::string>& pw = phrases_[p].words;
      if (i + pw.size() > words.size()) continue;
      bool match = true;
      for (size_t k = 1; k < pw.size() && match; ++k) match = words[i + k] == pw[k];
      if (match) found.push_back(p);
    }
  }
  std::sort(found.begin(), found.end());
  found.erase(std::unique(found.begin(), found.end()), found.end());
  return found;
}

std::vector<std::string> PhraseIndex::Mask(std::vector<std::string> words) const {
  std::vector<bool> masked(words.size(), false);
  for (size_t i = 0; i < words.size(); ++i) {
    auto it = by_first_word_.find(words[i]);
    if (it == by_first_word_.end()) continue;
    for (size_t p : it->second) {
      const std::vector<std::string>& pw = phrases_[p].words;
      if (i + pw.size() > words.size()) continue;
      bool match = true;
      for (size_t k = 1; k < pw.size() && match; ++k) match = words[i + k] == pw[k];
      if (match) std::fill(masked.begin() + i, masked.begin() + i + pw.size(), true);
    }
  }
  for (size_t i = 0; i < words.size(); ++i) {
    if (masked[i]) words[i].clear();
  }
  return words;
}

std::vector<std::string> PhraseIndex::Find(const std::vector<std::string>& words) const {
  std::vector<std::string> tags;
  absl::flat_hash_set<std::string> seen;
  for (size_t p : Matches(words)) {
    if (seen.insert(phrases_[p].tag).second) tags.push_back(phrases_[p].tag);
  }
  return tags;
}

std::vector<std::string> PhraseIndex::FindPhrases(const std::vector<std::string>& words) const {
  std::vector<std::string> out;
  absl::flat_hash_set<std::string> seen;
  for (size_t p : Matches(words)) {
    std::string joined = absl::StrJoin(phrases_[p].words, " ");
    if (seen.insert(joined).second) out.push_back(std::move(joined));
  }
  return out;
}

}  // namespace marketplace::catalog

namespace marketplace::catalog {
namespace {

// Whether the hand table above folds `utf8` exactly as ICU's "NFKC; Any-Latin; Latin-ASCII"
// would: ASCII, Latin-1, Latin Extended-A, combining marks and the separator ranges (a test
// checks the two agree on every code point of those ranges). Anything else goes through ICU.
bool TableSuffices(absl::string_view utf8) {
  for (size_t i = 0; i < utf8.size();) {
    if (static_cast<unsigned char>(utf8[i]) < 0x80) {
      ++i;
      continue;
    }
    uint32_t cp = 0;
    const int len = Decode(utf8, i, &cp);
    if (len == 0) {
      ++i;  // invalid byte: a separator either way
      continue;
    }
    i += len;
    // U+00AA ª, U+00B2 ², U+00B3 ³, U+00B9 ¹, U+00BA º, U+00BC-BE fractions: NFKC gives
    // letters or digits, the table separators; ĸ, Ŀ, ŀ and ŉ fold differently too.
    if (cp == 0xAA || cp == 0xB2 || cp == 0xB3 || cp == 0xB9 || cp == 0xBA ||
        (cp >= 0xBC && cp <= 0xBE) || cp == 0xB5 || cp == 0x138 || cp == 0x13F || cp == 0x140 ||
        cp == 0x149) {
      return false;
    }
    if (cp <= 0x17F || IsCombiningMark(cp)) continue;
    // General punctuation and currency symbols; not the letterlike block (NFKC maps ℡, №, ...).
    if ((cp >= 0x2000 && cp <= 0x206F) ||
        (cp >= 0x20A0 && cp <= 0x20CF) || (cp >= 0x1F000 && cp <= 0x1FAFF) || cp == 0xFEFF) {
      continue;
    }
    return false;
  }
  return true;
}

bool IsGreekOrCyrillic(UChar32 c) {
  UErrorCode status = U_ZERO_ERROR;
  const UScriptCode script = uscript_getScript(c, &status);
  return script == USCRIPT_GREEK || script == USCRIPT_CYRILLIC;
}

// The confusable skeleton of each Greek and Cyrillic letter when it is one ASCII letter
// (Cyrillic "а", "е", "о", "р", "с" -> a e o p c; Greek "ο", "ρ", "ν" -> o p v), computed once
// from ICU's confusables data. Used inside words that mix them with Latin letters: a Greek
// letter slipped into "réplique" reads as the Latin letter it imitates.
class Confusables {
 public:
  static const Confusables& Get() {
    static const Confusables* instance = new Confusables();
    return *instance;
  }
  // 0 when the letter has no one-letter ASCII skeleton.
  char Latin(UChar32 c) const {
    if (c < kFirst || c > kLast) return 0;
    return table_[c - kFirst];
  }

 private:
  static constexpr UChar32 kFirst = 0x370, kLast = 0x52F;
  Confusables() {
    UErrorCode status = U_ZERO_ERROR;
    USpoofChecker* checker = uspoof_open(&status);
    for (UChar32 c = kFirst; c <= kLast; ++c) {
      table_[c - kFirst] = 0;
      if (U_FAILURE(status) || !u_isalpha(c)) continue;
      icu::UnicodeString skeleton;
      UErrorCode s = U_ZERO_ERROR;
      uspoof_getSkeletonUnicodeString(checker, 0, icu::UnicodeString(c), skeleton, &s);
      if (U_FAILURE(s) || skeleton.length() != 1) continue;
      const UChar32 k = u_tolower(skeleton.char32At(0));
      if (k >= 'a' && k <= 'z') table_[c - kFirst] = static_cast<char>(k);
    }
    if (checker != nullptr) uspoof_close(checker);
  }
  char table_[kLast - kFirst + 1];
};

// "Any-Latin; Latin-ASCII": a Transliterator is not safe to share between threads, so each
// thread clones its own from one built once.
icu::Transliterator& ThreadTransliterator() {
  static const icu::Transliterator* prototype = [] {
    UErrorCode status = U_ZERO_ERROR;
    icu::Transliterator* t = icu::Transliterator::createInstance(
        "Any-Latin; Latin-ASCII", UTRANS_FORWARD, status);
    return U_SUCCESS(status) ? t : nullptr;
  }();
  thread_local std::unique_ptr<icu::Transliterator> mine(
      prototype == nullptr ? nullptr : prototype->clone());
  return *mine;
}

// Invisible characters the ICU path drops: IsInvisible's and anything else of category Cf.
bool IsDropped(UChar32 c) { return IsInvisible(c) || u_charType(c) == U_FORMAT_CHAR; }

// Letters, digits and marks; also the invisible characters, which are part of the word they
// stand in (and dropped from it).
bool IsWordChar(UChar32 c) {
  if (u_isalnum(c) || IsDropped(c)) return true;
  const int8_t type = u_charType(c);
  return type == U_NON_SPACING_MARK || type == U_COMBINING_SPACING_MARK ||
         type == U_ENCLOSING_MARK;
}

std::string IcuFold(absl::string_view utf8) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfkc = icu::Normalizer2::getNFKCInstance(status);
  icu::UnicodeString text = icu::UnicodeString::fromUTF8(
      icu::StringPiece(utf8.data(), static_cast<int32_t>(utf8.size())));
  if (U_SUCCESS(status)) {
    icu::UnicodeString normalized = nfkc->normalize(text, status);
    if (U_SUCCESS(status)) text = std::move(normalized);
  }
  // Separators become spaces; words mixing Latin letters with Greek or Cyrillic look-alikes
  // get the Latin letters those imitate.
  icu::UnicodeString out;
  const Confusables& confusables = Confusables::Get();
  int32_t i = 0;
  while (i < text.length()) {
    const UChar32 c = text.char32At(i);
    if (!IsWordChar(c)) {
      out.append(static_cast<UChar>(' '));
      i += U16_LENGTH(c);
      continue;
    }
    int32_t end = i;
    bool latin = false, other = false;
    while (end < text.length()) {
      const UChar32 w = text.char32At(end);
      if (!IsWordChar(w)) break;
      if (u_isalpha(w)) {
        const UScriptCode script = uscript_getScript(w, &status);
        latin = latin || script == USCRIPT_LATIN;
        other = other || IsGreekOrCyrillic(w);
      }
      end += U16_LENGTH(w);
    }
    icu::UnicodeString word;
    bool ascii = true;
    for (int32_t k = i; k < end;) {
      const UChar32 w = text.char32At(k);
      const char look_alike = latin && other ? confusables.Latin(w) : 0;
      if (IsDropped(w)) {
        // invisible: the word goes on without it
      } else if (look_alike != 0) {
        word.append(static_cast<UChar>(look_alike));
      } else {
        word.append(w);
        ascii = ascii && w < 0x80;
      }
      k += U16_LENGTH(w);
    }
    // Transliteration only where the word is not ASCII: it is the costly step.
    if (!ascii) ThreadTransliterator().transliterate(word);
    out.append(word);
    i = end;
  }
  std::string result;
  out.toUTF8String(result);
  return TableFold(result);
}

}  // namespace

std::string FoldText(absl::string_view utf8) {
  if (TableSuffices(utf8)) return TableFold(utf8);
  return IcuFold(utf8);
}

std::string FoldTextWithIcu(absl::string_view utf8) { return IcuFold(utf8); }

namespace {

// What ContactForm changes in a code point outside ASCII: -1 when it keeps it, 0 when it drops
// it, else the ASCII character it becomes. `c` is already NFKC.
int ContactChar(UChar32 c) {
  if (IsDropped(c)) return 0;
  if (c == 0x3002) return '.';  // ideographic full stop (also U+FF61 after NFKC)
  const int8_t type = u_charType(c);
  if (type == U_DECIMAL_DIGIT_NUMBER) {
    const int32_t digit = u_charDigitValue(c);
    return digit >= 0 && digit <= 9 ? '0' + digit : -1;
  }
  if (type == U_SPACE_SEPARATOR) return ' ';
  if (type == U_DASH_PUNCTUATION || type == U_START_PUNCTUATION || type == U_END_PUNCTUATION ||
      type == U_CONNECTOR_PUNCTUATION || type == U_OTHER_PUNCTUATION ||
      type == U_INITIAL_PUNCTUATION || type == U_FINAL_PUNCTUATION) {
    return '-';
  }
  return -1;
}

}  // namespace

std::string ContactForm(absl::string_view utf8) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* nfkc = icu::Normalizer2::getNFKCInstance(status);
  if (U_FAILURE(status)) return std::string(utf8);
  // Most listings need nothing: NFKC already and no character ContactChar changes.
  bool unchanged = true;
  for (size_t i = 0; i < utf8.size() && unchanged;) {
    if (static_cast<unsigned char>(utf8[i]) < 0x80) {
      ++i;
      continue;
    }
    uint32_t cp = 0;
    const int len = Decode(utf8, i, &cp);
    unchanged = len != 0 && ContactChar(static_cast<UChar32>(cp)) < 0;
    i += len;
  }
  if (unchanged &&
      nfkc->isNormalizedUTF8(icu::StringPiece(utf8.data(), static_cast<int32_t>(utf8.size())),
                             status) &&
      U_SUCCESS(status)) {
    return std::string(utf8);
  }
  status = U_ZERO_ERROR;
  icu::UnicodeString text = nfkc->normalize(icu::UnicodeString::fromUTF8(icu::StringPiece(
                                                utf8.data(), static_cast<int32_t>(utf8.size()))),
                                            status);
  if (U_FAILURE(status)) return std::string(utf8);
  icu::UnicodeString out;
  for (int32_t i = 0; i < text.length();) {
    const UChar32 c = text.char32At(i);
    i += U16_LENGTH(c);
    const int replacement = c < 0x80 ? -1 : ContactChar(c);
    if (replacement < 0) {
      out.append(c);
    } else if (replacement > 0) {
      out.append(static_cast<UChar>(replacement));
    }
  }
  std::string result;
  out.toUTF8String(result);
  return result;
}

namespace {

// Digit-for-letter swaps of an alternative reading; '1' reads as `one`.
char LeetLetter(char c, char one) {
  switch (c) {
    case '0': return 'o';
    case '1': return one;
    case '3': return 'e';
    case '4': return 'a';
    case '5': return 's';
    case '7': return 't';
    default: return 0;
  }
}

bool HasLetter(absl::string_view w) {
  for (char c : w) {
    if (c >= 'a' && c <= 'z') return true;
  }
  return false;
}

// Whether `utf8[i]` stands between two letters or digits of one word ("f*ck", "sh!t").
bool InsideWord(absl::string_view utf8, size_t i) {
  return i > 0 && i + 1 < utf8.size() && std::isalnum(static_cast<unsigned char>(utf8[i - 1])) &&
         std::isalnum(static_cast<unsigned char>(utf8[i + 1]));
}

bool HasMaskedLetter(absl::string_view utf8) {
  for (size_t i = utf8.find('*'); i != absl::string_view::npos; i = utf8.find('*', i + 1)) {
    if (InsideWord(utf8, i)) return true;
  }
  return false;
}

// `star`: the vowel a '*' inside a word reads as ("f*ck"), or 0 to leave it a separator.
std::string Reading(absl::string_view utf8, char one, char star) {
  // "@", "$" and "!" inside a word are letters in disguise: "r@plica", "$extoy", "sh!t".
  std::string raw(utf8);
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '!' && InsideWord(utf8, i)) raw[i] = 'i';
    if (raw[i] == '*' && star != 0 && InsideWord(utf8, i)) raw[i] = star;
    if (raw[i] != '@' && raw[i] != '$') continue;
    const bool before = i > 0 && std::isalnum(static_cast<unsigned char>(raw[i - 1]));
    const bool after =
        i + 1 < raw.size() && std::isalnum(static_cast<unsigned char>(raw[i + 1]));
    if (raw[i] == '$' ? (after || before) : (before && after)) raw[i] = raw[i] == '@' ? 'a' : 's';
  }
  // A wider gap between spelled-out letters ends a word: "f a k e   p a s s p o r t" is two.
  constexpr char kGap[] = "zqgapqz";
  std::string gapped;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == ' ' && i + 1 < raw.size() && raw[i + 1] == ' ') {
      while (i + 1 < raw.size() && raw[i + 1] == ' ') ++i;
      absl::StrAppend(&gapped, " ", kGap, " ");
      continue;
    }
    gapped.push_back(raw[i]);
  }
  std::vector<std::string> words = Words(FoldText(gapped));
  // Digits inside words that have letters: "c0pie", "r3pl1ca". Pure numbers stay.
  for (std::string& w : words) {
    if (!HasLetter(w)) continue;
    for (char& c : w) {
      if (const char l = LeetLetter(c, one); l != 0) c = l;
    }
  }
  // Runs of 3 or more one-character words are one spelled-out word: "r e p l i c a".
  std::vector<std::string> joined;
  for (size_t i = 0; i < words.size();) {
    size_t end = i;
    int letters = 0;
    while (end < words.size() && words[end].size() == 1) {
      letters += HasLetter(words[end]) ? 1 : 0;
      ++end;
    }
    if (end - i >= 3 && letters >= 2) {
      std::string word;
      for (size_t k = i; k < end; ++k) {
        const char l = LeetLetter(words[k][0], one);
        word.push_back(l != 0 ? l : words[k][0]);
      }
      joined.push_back(std::move(word));
      i = end;
    } else if (end > i) {
      for (size_t k = i; k < end; ++k) joined.push_back(words[k]);
      i = end;
    } else {
      joined.push_back(words[i++]);
    }
  }
  joined.erase(std::remove(joined.begin(), joined.end(), kGap), joined.end());
  // A letter repeated 3 times or more counts once: "cocaaaine", "fuuuck".
  for (std::string& w : joined) {
    std::string squeezed;
    for (size_t k = 0; k < w.size();) {
      size_t run = k;
      while (run < w.size() && w[run] == w[k]) ++run;
      const bool letter = w[k] >= 'a' && w[k] <= 'z';
      squeezed.append(letter && run - k >= 3 ? 1 : run - k, w[k]);
      k = run;
    }
    w = std::move(squeezed);
  }
  return absl::StrJoin(joined, " ");
}

}  // namespace

namespace {
// Whether `plain` (folded) and `utf8` show any of the tricks Reading undoes; most listings
// do not, and then cost one fold here.
bool MayBeObfuscated(absl::string_view utf8, absl::string_view plain) {
  if (utf8.find('@') != absl::string_view::npos || utf8.find('$') != absl::string_view::npos) {
    return true;
  }
  for (size_t i = utf8.find_first_of("!*"); i != absl::string_view::npos;
       i = utf8.find_first_of("!*", i + 1)) {
    if (InsideWord(utf8, i)) return true;
  }
  int single_run = 0;
  for (absl::string_view w : absl::StrSplit(plain, ' ', absl::SkipEmpty())) {
    single_run = w.size() == 1 ? single_run + 1 : 0;
    if (single_run >= 3) return true;
    bool letter = false, digit = false;
    for (size_t i = 0; i < w.size(); ++i) {
      letter = letter || (w[i] >= 'a' && w[i] <= 'z');
      digit = digit || (w[i] >= '0' && w[i] <= '9');
      if (i >= 2 && w[i] == w[i - 1] && w[i] == w[i - 2] && w[i] >= 'a' && w[i] <= 'z') {
        return true;
      }
    }
    if (letter && digit) return true;
  }
  return false;
}
}  // namespace

std::vector<std::string> AlternativeReadings(absl::string_view utf8) {
  return AlternativeReadings(utf8, FoldText(utf8));
}

std::vector<std::string> AlternativeReadings(absl::string_view utf8, absl::string_view plain) {
  std::vector<std::string> out;
  if (!MayBeObfuscated(utf8, plain)) return out;
  // A '*' inside a word hides a letter, most often a vowel: each vowel is a reading.
  const std::string stars = HasMaskedLetter(utf8) ? "aeiou" : std::string(1, '\0');
  for (char one : {'i', 'l'}) {
    for (char star : stars) {
      std::string reading = Reading(utf8, one, star);
      if (reading != plain && std::find(out.begin(), out.end(), reading) == out.end()) {
        out.push_back(std::move(reading));
      }
    }
    if (utf8.find('1') == absl::string_view::npos) break;
  }
  return out;
}

}  // namespace marketplace::catalog
