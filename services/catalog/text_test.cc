#include "services/catalog/text.h"

#include <string>

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
