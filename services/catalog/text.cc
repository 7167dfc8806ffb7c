#include "services/catalog/text.h"

#include <algorithm>
#include <cstdint>

#include "absl/container/flat_hash_set.h"
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

// Punctuation, symbols and spaces outside ASCII that separate words.
bool IsSeparator(uint32_t cp) {
  return (cp >= 0x80 && cp <= 0xBF) || cp == 0xD7 || cp == 0xF7 ||
         (cp >= 0x2000 && cp <= 0x206F) ||  // general punctuation (’ “ – …, spaces)
         (cp >= 0x20A0 && cp <= 0x20CF) ||  // currency symbols
         (cp >= 0x2100 && cp <= 0x2BFF) ||  // letterlike, arrows, maths, shapes, dingbats
         (cp >= 0x3000 && cp <= 0x303F) || cp == 0xFEFF || (cp >= 0x1F000 && cp <= 0x1FAFF);
}

}  // namespace

std::string FoldText(absl::string_view utf8) {
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
    } else if (IsCombiningMark(cp)) {
      continue;
    } else if (IsSeparator(cp)) {
      pending_space = true;
    } else {
      append(raw);  // a letter of another script
    }
  }
  return out;
}

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
