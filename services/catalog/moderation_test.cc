#include "services/catalog/moderation.h"

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/catalog/live_rules.h"

namespace marketplace::catalog {
namespace {

using ::testing::Contains;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr char kCategories[] = "services/catalog/data/categories.json";
constexpr char kRules[] = "services/catalog/data/moderation_rules.json";

class ModerationTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto live = LiveRules::Load(kCategories, kRules);
    ASSERT_TRUE(live.ok()) << live.status();
    rules_ = new std::shared_ptr<const RuleSet>((*live)->Current());
  }
  static void TearDownTestSuite() { delete rules_; }

  // A listing every rule passes, to change one thing at a time.
  static ListingContent Plush() {
    ListingContent l;
    l.title = "Peluche ourson brun 30 cm";
    l.description = "Peluche ourson toute douce, lavable en machine, idéale dès la naissance.";
    l.category_id = "toys-plush";
    l.price = *common::Money::Of("EUR", 1990);
    l.image_urls = {"https://img.example/ourson.jpg"};
    l.attributes = {{"age_range", "0+"}};
    return l;
  }
  static SellerContext Established() {
    SellerContext s;
    s.decided_listings = 50;
    return s;
  }
  static Evaluation Run(const ListingContent& l, const SellerContext& s = Established()) {
    return Evaluate(**rules_, l, s);
  }
  static std::vector<std::string> Reasons(const Evaluation& e) {
    std::vector<std::string> out;
    for (const Finding& f : e.findings) out.push_back(f.reason_code);
    return out;
  }

  static std::shared_ptr<const RuleSet>* rules_;
};
std::shared_ptr<const RuleSet>* ModerationTest::rules_ = nullptr;

TEST_F(ModerationTest, AClearListingPasses) {
  Evaluation e = Run(Plush());
  EXPECT_EQ(e.verdict, Verdict::kPass) << ::testing::PrintToString(Reasons(e));
  EXPECT_THAT(e.findings, IsEmpty());
  EXPECT_EQ(e.rules_version, "2026-11-23.2+2026-11-23.2");
}

TEST_F(ModerationTest, ForbiddenTermsMatchWholeWordsWhateverTheCaseAndAccents) {
  ListingContent l = Plush();
  l.title = "Bracelet en IVOIRE véritable";
  l.category_id = "collectibles";
  Evaluation e = Run(l);
  EXPECT_EQ(e.verdict, Verdict::kReject);
  EXPECT_THAT(Reasons(e), Contains("PROHIBITED_PRODUCT"));
  EXPECT_THAT(e.findings[0].explanation, HasSubstr("ivoire"));

  l.title = "Poudre de COCAINE";  // written without the accent of the list's "cocaïne"
  EXPECT_THAT(Reasons(Run(l)), Contains("PROHIBITED_PRODUCT"));
  l.title = "Poudre de cocaïne";
  EXPECT_THAT(Reasons(Run(l)), Contains("PROHIBITED_PRODUCT"));
}

TEST_F(ModerationTest, ClassicDoesNotMatchAss) {
  ListingContent l = Plush();
  l.title = "Classic bass guitar, passport holder";
  l.category_id = "collectibles";
  l.attributes.clear();
  EXPECT_THAT(Reasons(Run(l)), Not(Contains("OFFENSIVE_LANGUAGE")));
  l.title = "Kick-ASS guitar";
  Evaluation e = Run(l);
  EXPECT_THAT(Reasons(e), Contains("OFFENSIVE_LANGUAGE"));
  EXPECT_EQ(e.verdict, Verdict::kReview);
}

TEST_F(ModerationTest, AdultProductInChildrensToysIsACategoryMismatch) {
  ListingContent l = Plush();
  l.title = "Vibromasseur rose silencieux";
  l.description = "Sextoy rechargeable, très discret, livré dans un emballage neutre et sobre.";
  Evaluation e = Run(l);
  EXPECT_EQ(e.verdict, Verdict::kReject);
  EXPECT_THAT(Reasons(e), Contains("CATEGORY_MISMATCH"));

  // The same product in the adult category is not a mismatch.
  l.category_id = "adult-wellness";
  l.attributes.clear();
  EXPECT_THAT(Reasons(Run(l)), Not(Contains("CATEGORY_MISMATCH")));
}

TEST_F(ModerationTest, LuxuryBagFarBelowTheBrandPriceIsCounterfeitSuspicion) {
  ListingContent l;
  l.title = "Sac Hermès Birkin 30 cuir gold";
  l.description = "Sac Birkin 30 en cuir Togo, couleur gold, avec dustbag et boîte d'origine.";
  l.category_id = "luxury-bags";
  l.brand = "Hermès";
  l.price = *common::Money::Of("EUR", 30000);  // 5 % of the 6 000 EUR reference
  l.image_urls = {"https://img.example/birkin.jpg"};
  SellerContext authorized = Established();
  authorized.authorized_brands.insert("hermes");
  Evaluation e = Run(l, authorized);
  EXPECT_EQ(e.verdict, Verdict::kReview);
  EXPECT_THAT(Reasons(e), Contains("COUNTERFEIT_SUSPECTED"));
  EXPECT_THAT(Reasons(e), Not(Contains("BRAND_AUTHORIZATION_REQUIRED")));

  l.price = *common::Money::Of("EUR", 900000);
  EXPECT_THAT(Reasons(Run(l, authorized)), Not(Contains("COUNTERFEIT_SUSPECTED")));
  // Without the authorisation the brand needs in luxury categories: a human looks.
  EXPECT_THAT(Reasons(Run(l)), Contains("BRAND_AUTHORIZATION_REQUIRED"));
  // Named in the title only, the brand still counts.
  l.brand.clear();
  EXPECT_THAT(Reasons(Run(l)), Contains("BRAND_AUTHORIZATION_REQUIRED"));
}

TEST_F(ModerationTest, AdmittedCopiesAreRejected) {
  ListingContent l = Plush();
  l.title = "Sac réplique qualité miroir";
  l.category_id = "fashion-women";
  l.attributes = {{"size", "M"}};
  EXPECT_THAT(Reasons(Run(l)), Contains("COUNTERFEIT_ADMITTED"));
}

TEST_F(ModerationTest, BrandsThatAreCommonWordsCountOnlyInTheBrandField) {
  ListingContent l = Plush();
  l.title = "Apple pie recipe book for children";
  l.description = "Fifty easy apple recipes for little cooks, with pictures on every page.";
  l.category_id = "books-children";
  l.price = *common::Money::Of("EUR", 900);
  l.attributes.clear();
  EXPECT_THAT(Reasons(Run(l)), Not(Contains("COUNTERFEIT_SUSPECTED")));
}

TEST_F(ModerationTest, PriceFarOutsideTheCategoryRangeIsReviewed) {
  ListingContent l = Plush();
  l.price = *common::Money::Of("EUR", 50);  // 0.50 EUR for a plush (usual 5 to 80 EUR)
  EXPECT_THAT(Reasons(Run(l)), Contains("PRICE_ANOMALY"));
  l.price = *common::Money::Of("EUR", 500000);
  EXPECT_THAT(Reasons(Run(l)), Contains("PRICE_ANOMALY"));
  l.price = *common::Money::Of("USD", 50);  // ranges are per currency: no opinion
  EXPECT_THAT(Reasons(Run(l)), Not(Contains("PRICE_ANOMALY")));
}

TEST_F(ModerationTest, NearDuplicateOfTheSellersLiveListingIsReviewed) {
  SellerContext s = Established();
  s.other_listings.push_back(
      {"lst-1", "Peluche ourson brun 30 cm",
       "Peluche ourson toute douce, lavable en machine, idéale dès la naissance !"});
  Evaluation e = Run(Plush(), s);
  EXPECT_THAT(Reasons(e), Contains("DUPLICATE_LISTING"));
  s.other_listings[0] = {"lst-2", "Lapin en peluche blanc",
                              "Grand lapin blanc aux longues oreilles, pour enfants dès 3 ans."};
  EXPECT_THAT(Reasons(Run(Plush(), s)), Not(Contains("DUPLICATE_LISTING")));
}

TEST_F(ModerationTest, MissingFieldsAreNamed) {
  ListingContent l = Plush();
  l.title = "Ours";
  l.description = "Doux.";
  l.image_urls.clear();
  l.price.reset();
  l.attributes.clear();
  Evaluation e = Run(l);
  EXPECT_EQ(e.verdict, Verdict::kReject);
  ASSERT_THAT(Reasons(e), Contains("MISSING_REQUIRED_FIELDS"));
  const std::string& why = e.findings.back().explanation;
  EXPECT_THAT(why, HasSubstr("title"));
  EXPECT_THAT(why, HasSubstr("description"));
  EXPECT_THAT(why, HasSubstr("image"));
  EXPECT_THAT(why, HasSubstr("price"));
  EXPECT_THAT(why, HasSubstr("age_range"));  // inherited from toys-children
}

TEST_F(ModerationTest, ContactDetailsTakingTheSaleElsewhere) {
  ListingContent l = Plush();
  l.description += " Écrivez-moi : ours.vendeur@gmail.com";
  Evaluation e = Run(l);
  EXPECT_EQ(e.verdict, Verdict::kReject);
  EXPECT_THAT(Reasons(e), Contains("OFF_PLATFORM_CONTACT"));

  l = Plush();
  l.description += " Tel 06 12 34 56 78";
  e = Run(l);
  EXPECT_EQ(e.verdict, Verdict::kReview);
  EXPECT_THAT(Reasons(e), Contains("OFF_PLATFORM_CONTACT"));

  l = Plush();
  l.description += " Contact on WhatsApp for a better price";
  EXPECT_THAT(Reasons(Run(l)), Contains("OFF_PLATFORM_CONTACT"));

  l = Plush();
  l.description += " Dimensions 30 x 20 cm, model 2024, 100% coton.";
  EXPECT_THAT(Reasons(Run(l)), Not(Contains("OFF_PLATFORM_CONTACT")));
}

TEST_F(ModerationTest, AllowedPhrasesShieldTheirWords) {
  ListingContent l = Plush();
  l.title = "Robe de mariée couleur ivoire";
  l.description = "Robe longue en dentelle couleur ivoire, portée une fois, taille 38, "
                  "nettoyée au pressing.";
  l.category_id = "fashion-women";
  l.attributes = {{"size", "38"}};
  EXPECT_EQ(Run(l).verdict, Verdict::kPass) << ::testing::PrintToString(Reasons(Run(l)));
  l.description += " Bracelet en ivoire offert.";  // the word alone still counts
  EXPECT_THAT(Reasons(Run(l)), Contains("PROHIBITED_PRODUCT"));

  ListingContent toy = Plush();
  toy.title = "Fusil à eau géant 2 litres";
  toy.category_id = "toys-children";
  EXPECT_THAT(Reasons(Run(toy)), Not(Contains("CATEGORY_MISMATCH")));
  toy.title = "Fusil de chasse calibre 12";
  EXPECT_THAT(Reasons(Run(toy)), Contains("CATEGORY_MISMATCH"));
}

TEST_F(ModerationTest, BrandReferencePricesApplyInTheirCategoriesOnly) {
  ListingContent l = Plush();
  l.title = "Coque iPhone 13 silicone bleue";
  l.description = "Coque souple en silicone pour iPhone 13, neuve dans son emballage d'origine.";
  l.category_id = "home";  // an accessory, not a phone
  l.price = *common::Money::Of("EUR", 990);
  l.attributes.clear();
  EXPECT_THAT(Reasons(Run(l)), Not(Contains("COUNTERFEIT_SUSPECTED")));
  l.title = "iPhone 13 128 Go bleu";
  l.category_id = "phones";
  l.attributes = {{"storage", "128 GB"}};
  SellerContext authorized = Established();
  authorized.authorized_brands.insert("iphone");
  EXPECT_THAT(Reasons(Run(l, authorized)), Contains("COUNTERFEIT_SUSPECTED"));
}

TEST_F(ModerationTest, LongCodesAreNotPhoneNumbersButWrittenOutEmailsAreEmails) {
  ListingContent l = Plush();
  l.category_id = "books-fiction";
  l.attributes.clear();
  l.description += " ISBN 9782070612758, EAN 3760145060014.";
  EXPECT_THAT(Reasons(Run(l)), Not(Contains("OFF_PLATFORM_CONTACT")));
  l = Plush();
  l.description += " Écrivez à jeanne.martin arobase gmail point com.";
  Evaluation e = Run(l);
  EXPECT_THAT(Reasons(e), Contains("OFF_PLATFORM_CONTACT"));
  EXPECT_EQ(e.verdict, Verdict::kReject);
}

TEST_F(ModerationTest, UnknownCategoryIsRejected) {
  ListingContent l = Plush();
  l.category_id = "spaceships";
  EXPECT_THAT(Reasons(Run(l)), Contains("UNKNOWN_CATEGORY"));
}

TEST_F(ModerationTest, NewAndAtRiskSellersGoToHumanReview) {
  SellerContext fresh;
  Evaluation e = Run(Plush(), fresh);
  EXPECT_EQ(e.verdict, Verdict::kReview);
  EXPECT_THAT(Reasons(e), Contains("NEW_SELLER"));

  SellerContext risky = Established();
  risky.level = SellerModerationLevel::kAtRisk;
  EXPECT_THAT(Reasons(Run(Plush(), risky)), Contains("SELLER_AT_RISK"));

  SellerContext trusted;
  trusted.level = SellerModerationLevel::kTrusted;
  EXPECT_EQ(Run(Plush(), trusted).verdict, Verdict::kPass);

  // A rejection stays a rejection whoever the seller is.
  ListingContent bad = Plush();
  bad.title = "Grenade à main factice";
  EXPECT_EQ(Run(bad, fresh).verdict, Verdict::kReject);
}

TEST(TextSimilarityTest, IsAJaccardIndexOfWordPairs) {
  EXPECT_DOUBLE_EQ(TextSimilarity("red wool scarf", "Red wool scarf!"), 1.0);
  EXPECT_DOUBLE_EQ(TextSimilarity("red wool scarf", "blue cotton hat"), 0.0);
  EXPECT_NEAR(TextSimilarity("a b c", "a b d"), 1.0 / 3.0, 1e-9);
}

}  // namespace
}  // namespace marketplace::catalog
