#include "services/catalog/text.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace marketplace::catalog {
namespace {

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

TEST(FoldTextTest, KeepsOtherScripts) {
  EXPECT_EQ(FoldText("Кукла Barbie"), "Кукла barbie");
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
