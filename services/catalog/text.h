#ifndef MARKETPLACE_SERVICES_CATALOG_TEXT_H_
#define MARKETPLACE_SERVICES_CATALOG_TEXT_H_

#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"

namespace marketplace::catalog {

// Text as the moderation rules see it: lower case ASCII letters and digits, accents removed
// ("Éléphant" -> "elephant", "Straße" -> "strasse", "Œuvre" -> "oeuvre"), every character
// that is not a letter or digit turned into a single space, no leading or trailing space.
// Invalid UTF-8 bytes count as spaces. Invisible characters (Unicode category Cf and the other
// default-ignorable code points: soft hyphen U+00AD, zero-width space U+200B, non-joiner and
// joiner U+200C/U+200D, direction marks, word joiner U+2060, byte order mark U+FEFF, variation
// selectors, ...) are dropped, not separators: "Coc<U+200B>aine" -> "cocaine".
//
// Text that is ASCII, Latin-1 or Latin Extended-A is folded by a table (the fast path: most
// listings); anything else goes through ICU: NFKC (full-width "ｗｈａｔｓａｐｐ" -> "whatsapp",
// ligatures), then in words that mix Latin letters with Greek or Cyrillic ones, each of those
// replaced by the Latin letter its confusable skeleton (uspoof_getSkeleton) names ("rеplica"
// with a Cyrillic "е"), then the "Any-Latin; Latin-ASCII" transliteration ("Кукла" ->
// "kukla", "ρέπλικα" -> "replika"). Thread-safe.
std::string FoldText(absl::string_view utf8);

// FoldText always through ICU (for tests that check the table agrees with it).
std::string FoldTextWithIcu(absl::string_view utf8);

// `utf8` as the contact rules (phone numbers, links, e-mail addresses) read it, case, accents,
// ASCII punctuation and line breaks kept: NFKC (full-width and mathematical digits and letters
// become ASCII ones, "．" and the one-dot leader "․" a ".", "＠" an "@", the spaces of other
// widths a " "), decimal digits of other scripts their ASCII digit ("٠٦" -> "06"), the
// ideographic full stop "。" (a dot in web addresses) a ".", other spaces outside ASCII a " ",
// other punctuation outside ASCII (dashes, bullets, middle dots, quotes) a "-", and the
// invisible characters FoldText drops removed ("06<U+200B>12" -> "0612"). Symbols (€, ×)
// stay. Text with none of these is returned as it is. Thread-safe.
std::string ContactForm(absl::string_view utf8);

// Other readings of `utf8` an obfuscating seller may mean, each folded like FoldText, only
// those that differ from FoldText(utf8) (so usually none): "@" and "$" inside or at the edge
// of a word read as "a" and "s" ("r@plica", "$extoy"); in words that have letters, digits read
// as letters (0 -> o, 1 -> i, and in a second reading 1 -> l, 3 -> e, 4 -> a, 5 -> s, 7 -> t:
// "c0pie", "r3pl1ca"); runs of three or more one-character words are joined ("r e p l i c a",
// "r.e.p.l.i.c.a", "r-e-p-l-i-c-a"); a letter repeated three times or more counts once
// ("cocaaaine"). The plain reading is kept beside them: prices and phone numbers stay.
std::vector<std::string> AlternativeReadings(absl::string_view utf8);
// The same when the caller has FoldText(utf8) already (saves a fold).
std::vector<std::string> AlternativeReadings(absl::string_view utf8, absl::string_view folded);

// The words of a folded text (split on spaces).
std::vector<std::string> Words(absl::string_view folded);

// Folds each of `phrases` ("sex toy", "Kalachnikov") into its words, for PhraseIndex.
class PhraseIndex {
 public:
  PhraseIndex() = default;
  // Adds a phrase of one or more words; `tag` is returned when it matches. Empty phrases (after
  // folding) are ignored.
  void Add(absl::string_view phrase, std::string tag);

  // The tags of every phrase that occurs in `words` as a run of whole words, each tag once, in
  // the order phrases were added. "ass" matches the word "ass", never "classic" or "assassin".
  std::vector<std::string> Find(const std::vector<std::string>& words) const;
  // The phrases (folded, space-joined) found, each once, in the order they were added.
  std::vector<std::string> FindPhrases(const std::vector<std::string>& words) const;

  // `words` with every word of every matched phrase replaced by "" (so that no other phrase
  // can match across or inside it): how allowed phrases ("couleur ivoire") shield their words
  // from the term lists.
  std::vector<std::string> Mask(std::vector<std::string> words) const;

  bool empty() const { return phrases_.empty(); }

 private:
  struct Phrase {
    std::vector<std::string> words;
    std::string tag;
  };
  std::vector<size_t> Matches(const std::vector<std::string>& words) const;
  std::vector<Phrase> phrases_;
  // Phrase indexes by their first word: a lookup per word of the text, not a scan per phrase.
  absl::flat_hash_map<std::string, std::vector<size_t>> by_first_word_;
};

}  // namespace marketplace::catalog

#endif  // MARKETPLACE_SERVICES_CATALOG_TEXT_H_
