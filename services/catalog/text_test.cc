#include "services/catalog/text.h"

#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace marketplace::catalog {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(FoldTextTest, LowersAndStripsAccents) {
  EXPECT_EQ(FoldText("Peluche OURSON"), "peluche ourson");
  EXPECT_EQ(FoldText("Éléphant çà et là"), "elephant ca et la");
  EXPECT_EQ(FoldText("Straße Œuvre Æon"), "strasse oeuvre aeon");
  EXPECT_EQ(FoldText("Łódź Škoda Đurđevac"), "lodz skoda durdevac");
  EXPECT_EQ(FoldText("e\xCC\x81t\xC3\xA9"), "ete");  // decomposed and composed é
}

TEST(FoldTextTest, PunctuationAndSpacesSeparateWords) {
  EXPECT_EQ(FoldText("  sac---Hermès, l’original!!  "), "sac hermes l original");
  EXPECT_EQ(FoldText("prix: 12€ — neuf…"), "prix 12 neuf");
  EXPECT_EQ(FoldText("a\xFF" "b"), "a b");  // an invalid byte is a separator
  EXPECT_EQ(FoldText(""), "");
  EXPECT_EQ(FoldText("!!!"), "");
}

TEST(FoldTextTest, TransliteratesOtherScripts) {
  EXPECT_EQ(FoldText("Кукла Barbie"), "kukla barbie");
  EXPECT_EQ(FoldText("ρέπλικα"), "replika");
}

TEST(FoldTextTest, NfkcFoldsFullWidthAndCompatibilityForms) {
  EXPECT_EQ(FoldText("ｗｈａｔｓａｐｐ ０６"), "whatsapp 06");
  EXPECT_EQ(FoldText("ﬁne ①"), "fine 1");
}

TEST(FoldTextTest, LookAlikeLettersInsideLatinWordsFoldToLatin) {
  // Cyrillic е (U+0435) and о (U+043E), Greek ο (U+03BF) and έ (U+03AD) inside Latin words.
  EXPECT_EQ(FoldText("r\u0435plica"), "replica");
  EXPECT_EQ(FoldText("c\u043Ecaine"), "cocaine");
  EXPECT_EQ(FoldText("r\u03ADplique"), "replique");
  EXPECT_EQ(FoldText("c\u03BFpie"), "copie");
}

TEST(FoldTextTest, TableAgreesWithIcuOnLatinRanges) {
  for (char32_t cp = 0xC0; cp <= 0x17F; ++cp) {
    std::string s;
    if (cp < 0x800) {
      s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
    const std::string word = "x" + s + "y";
    EXPECT_EQ(FoldText(word), FoldTextWithIcu(word)) << "U+" << std::hex << cp;
  }
}

// Encodes `cp` in UTF-8.
std::string Utf8(char32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    s.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    s.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    s.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
  return s;
}

// Format characters (Unicode category Cf) and other default-ignorable code points.
constexpr char32_t kInvisible[] = {
    0xAD,   0x34F,  0x61C,  0x180E,  0x200B,  0x200C,  0x200D,  0x200E, 0x200F,
    0x202A, 0x202B, 0x202C, 0x202D,  0x202E,  0x2060,  0x2061,  0x2062, 0x2063,
    0x2064, 0x2066, 0x2067, 0x2068,  0x2069,  0x206A,  0x206F,  0x3164, 0xFE0F,
    0xFEFF, 0xFFA0, 0xFFF9, 0x1D173, 0xE0001, 0xE0041, 0xE007F,
};

TEST(FoldTextTest, InvisibleCharactersInsideAWordAreDroppedNotSeparators) {
  EXPECT_EQ(FoldText("Coc\u200Baine pure 1g"), "cocaine pure 1g");
  EXPECT_EQ(FoldText("Rolex Submariner re\u00ADplica"), "rolex submariner replica");
  EXPECT_EQ(FoldText("r\u200Ce\u200Dp\u2060l\uFEFFica"), "replica");
  EXPECT_EQ(FoldText("\u00C9l\u00E9\u00ADphant"), "elephant");  // with the table's letters
  // Through ICU (Cyrillic, full-width) too.
  EXPECT_EQ(FoldText("Кок\u200Bаин"), "kokain");
  EXPECT_EQ(FoldText("ｃｏｃ\u00ADａｉｎｅ"), "cocaine");
  EXPECT_EQ(FoldText("r\u0435pl\u200Bica"), "replica");  // a look-alike, then a ZWSP
  for (char32_t cp : kInvisible) {
    const std::string word = "co" + Utf8(cp) + "caine";
    EXPECT_EQ(FoldText(word), "cocaine") << "U+" << std::hex << cp;
    EXPECT_EQ(FoldTextWithIcu(word), "cocaine") << "U+" << std::hex << cp;
  }
  // Between words they change nothing; alone they are nothing.
  EXPECT_EQ(FoldText("sac \u200B cuir"), "sac cuir");
  EXPECT_EQ(FoldText("\uFEFFsac, \u200Bcuir\u200B"), "sac cuir");
  EXPECT_EQ(FoldText("\u200B\u00AD"), "");
  // Visible spaces and punctuation still separate.
  EXPECT_EQ(FoldText("sac\u2009cuir\u2013neuf\u00A0noir"), "sac cuir neuf noir");
}

// The table's separators and invisible characters of Latin-1 and general punctuation.
TEST(FoldTextTest, TableAgreesWithIcuOnSeparatorsAndInvisibleCharacters) {
  for (const auto& [first, last] : std::vector<std::pair<char32_t, char32_t>>{
           {0x80, 0xBF}, {0x2000, 0x206F}, {0xFEFF, 0xFEFF}}) {
    for (char32_t cp = first; cp <= last; ++cp) {
      const std::string word = "x" + Utf8(cp) + "y";
      EXPECT_EQ(FoldText(word), FoldTextWithIcu(word)) << "U+" << std::hex << cp;
    }
  }
}

TEST(ContactFormTest, LookAlikeDigitsAndDotsBecomeAscii) {
  EXPECT_EQ(ContactForm("Tel 06 12 34 56 78, l'ours"), "Tel 06 12 34 56 78, l'ours");
  EXPECT_EQ(ContactForm("Éléphant à 20 €"), "Éléphant à 20 €");  // letters and symbols stay
  EXPECT_EQ(ContactForm("０６ １２ ３４"), "06 12 34");          // full-width
  EXPECT_EQ(ContactForm("\U0001D7CE\U0001D7D4 \U0001D7CF\U0001D7D0"), "06 12");  // maths bold
  EXPECT_EQ(ContactForm("\u0660\u0666 \u0661\u0662"), "06 12");                  // Arabic-Indic
  EXPECT_EQ(ContactForm("0\u200B6\u200B1\u200B2\u2060"), "0612");                // invisible
  EXPECT_EQ(ContactForm("ｗｗｗ．ｍｏｎｓｉｔｅ．ｆｒ"), "www.monsite.fr");
  EXPECT_EQ(ContactForm("monsite\u2024fr"), "monsite.fr");  // one dot leader
  EXPECT_EQ(ContactForm("monsite\u3002fr monsite\uFF61fr"), "monsite.fr monsite.fr");
  EXPECT_EQ(ContactForm("jean\uFF20gmail.com"), "jean@gmail.com");
  EXPECT_EQ(ContactForm("06\u00A012\u202F34\u300056"), "06 12 34 56");  // spaces
  EXPECT_EQ(ContactForm("06\u201312\u00B734\u202256"), "06-12-34-56");  // dash, dots
  EXPECT_EQ(ContactForm("120 \u00D7 60 cm"), "120 \u00D7 60 cm");       // a symbol stays
  EXPECT_EQ(ContactForm("ligne 1\nligne 2"), "ligne 1\nligne 2");
}

TEST(AlternativeReadingsTest, DigitsForLettersKeepThePlainReading) {
  EXPECT_THAT(AlternativeReadings("c0pie parfaite"), ElementsAre("copie parfaite"));
  EXPECT_THAT(AlternativeReadings("r3pl1ca bag"), ElementsAre("replica bag", "repllca bag"));
  EXPECT_THAT(AlternativeReadings("R3PL1CA"), ::testing::Contains("replica"));
  EXPECT_THAT(AlternativeReadings("coca1ne"), ::testing::Contains("cocaine"));
  EXPECT_THAT(AlternativeReadings("w33d 5moke"), ElementsAre("weed smoke"));
  // Prices and phone numbers are no words with letters: no other reading.
  EXPECT_THAT(AlternativeReadings("iPhone 13 128 Go, 450 euros"), IsEmpty());
  EXPECT_THAT(AlternativeReadings("06 12 34 56 78"), IsEmpty());
}

TEST(AlternativeReadingsTest, AtAndDollarInsideWords) {
  EXPECT_THAT(AlternativeReadings("r@plica"), ElementsAre("raplica"));
  EXPECT_THAT(AlternativeReadings("$ex toy"), ElementsAre("sex toy"));
  EXPECT_THAT(AlternativeReadings("contrefa\u00e7on @ 20 $"), IsEmpty());
}

TEST(AlternativeReadingsTest, StarAndBangInsideWordsHideALetter) {
  // A '*' stands for any vowel: one reading each; a '!' reads as an 'i'.
  EXPECT_THAT(AlternativeReadings("lowballers f*ck off"), Contains("lowballers fuck off"));
  EXPECT_THAT(AlternativeReadings("lowballers f*ck off"), Contains("lowballers fack off"));
  EXPECT_THAT(AlternativeReadings("barrette de sh!t"), ElementsAre("barrette de shit"));
  // Between words or after a word they are punctuation.
  EXPECT_THAT(AlternativeReadings("Great deal! Free shipping *"), IsEmpty());
  EXPECT_THAT(AlternativeReadings("hotel 5* near the beach"), IsEmpty());
}

TEST(AlternativeReadingsTest, SpelledOutLettersAreJoined) {
  EXPECT_THAT(AlternativeReadings("sac r e p l i c a"), ElementsAre("sac replica"));
  EXPECT_THAT(AlternativeReadings("sac r.e.p.l.i.c.a luxe"), ElementsAre("sac replica luxe"));
  EXPECT_THAT(AlternativeReadings("r-e-p-l-i-q-u-e"), ElementsAre("replique"));
  EXPECT_THAT(AlternativeReadings("r 3 p l i c a"), ElementsAre("replica"));
  // Two or more spaces end a spelled-out word.
  EXPECT_THAT(AlternativeReadings("F a k e   p a s s p o r t, UK"),
              ElementsAre("fake passport uk"));
  // Two single letters are not a spelled-out word.
  EXPECT_THAT(AlternativeReadings("taille S M"), IsEmpty());
}

TEST(AlternativeReadingsTest, RepeatedLettersCountOnce) {
  EXPECT_THAT(AlternativeReadings("cocaaaine"), ElementsAre("cocaine"));
  EXPECT_THAT(AlternativeReadings("fuuuuck"), ElementsAre("fuck"));
  // Doubled letters are spelling, not obfuscation.
  EXPECT_THAT(AlternativeReadings("cannabis free"), IsEmpty());
}

TEST(PhraseIndexTest, MatchesWholeWordsOnly) {
  PhraseIndex index;
  index.Add("ass", "insult");
  EXPECT_THAT(index.Find(Words(FoldText("A classic bass guitar, assassin's creed"))), IsEmpty());
  EXPECT_THAT(index.Find(Words(FoldText("you ASS"))), ElementsAre("insult"));
}

TEST(PhraseIndexTest, AccentsAndCaseDoNotBypassATerm) {
  PhraseIndex index;
  index.Add("cocaïne", "drug");
  EXPECT_THAT(index.Find(Words(FoldText("COCAINE pure"))), ElementsAre("drug"));
  EXPECT_THAT(index.Find(Words(FoldText("Cocaïne"))), ElementsAre("drug"));
  EXPECT_THAT(index.Find(Words(FoldText("coca\xCC\x88ine"))), ElementsAre("drug"));
}

TEST(PhraseIndexTest, MultiWordPhrasesMatchAsARun) {
  PhraseIndex index;
  index.Add("sex toy", "adult");
  index.Add("toy", "toys");
  EXPECT_THAT(index.Find(Words(FoldText("Sex-Toy vibrant"))), ElementsAre("adult", "toys"));
  EXPECT_THAT(index.Find(Words(FoldText("toy for sex education book"))), ElementsAre("toys"));
  EXPECT_THAT(index.FindPhrases(Words(FoldText("sex toy, sex toy"))),
              ElementsAre("sex toy", "toy"));
}

}  // namespace
}  // namespace marketplace::catalog
