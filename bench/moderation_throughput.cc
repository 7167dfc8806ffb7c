// Moderation throughput: listings evaluated per second on one core by the rule engine alone
// (no storage, no RPC), with the shipped rules. Reference, in the same process and on the same
// listings: one pass of text folding over each listing's title and description, the least any
// text rule must do; the ratio says how many such passes one full evaluation costs.
//
//   moderation_throughput --duration=5s [--header]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/config.h"
#include "services/catalog/live_rules.h"
#include "services/catalog/moderation.h"
#include "services/catalog/moderation_corpus_reader.h"

namespace {

using marketplace::catalog::Evaluate;
using marketplace::catalog::ListingContent;
using marketplace::catalog::SellerContext;

// A mix of clean and problematic listings, in several languages, of realistic length.
std::vector<ListingContent> Listings() {
  struct Seed {
    const char* title;
    const char* description;
    const char* category;
    const char* brand;
    int64_t price;
  };
  const Seed seeds[] = {
      {"Peluche ourson brun 30 cm", "Peluche ourson toute douce, lavable en machine, idéale dès "
       "la naissance. Fabriquée en Europe, normes CE, garnissage hypoallergénique.",
       "toys-plush", "", 1990},
      {"Sac Hermès Birkin 30 gold", "Sac Birkin 30 en cuir Togo, couleur gold, avec dustbag et "
       "boîte d'origine, facture disponible sur demande, très bon état général.",
       "luxury-bags", "Hermès", 45000},
      {"Vibromasseur rose silencieux", "Sextoy rechargeable très discret, livré dans un "
       "emballage neutre, garantie deux ans, silicone médical.", "toys-dolls", "", 3990},
      {"iPhone 13 128 Go bleu", "Téléphone en excellent état, batterie 91 %, vendu avec coque "
       "et chargeur, débloqué tout opérateur. Contact WhatsApp 06 12 34 56 78.",
       "phones", "Apple", 42000},
      {"Winter jacket men size L", "Warm down jacket, water repellent, worn twice, no stains or "
       "tears, from a smoke-free home. Machine washable at thirty degrees.",
       "fashion-men", "", 6500},
      {"Kochbuch vegetarisch neu", "Über zweihundert vegetarische Rezepte für jeden Tag, mit "
       "Farbfotos, Hardcover, originalverpackt und ungelesen.", "books-non-fiction", "", 1800},
      {"Bicicleta de montaña 29 pulgadas", "Cuadro de aluminio, horquilla con suspensión, "
       "frenos de disco hidráulicos, revisada en taller la semana pasada.",
       "sports-cycling", "", 48000},
      {"Réplique montre Rolex Submariner", "Qualité miroir, mouvement automatique, livrée en "
       "boîte, écrivez à vendeur@example.com pour le prix de gros.",
       "luxury-watches", "Rolex", 15000},
  };
  std::vector<ListingContent> out;
  for (const Seed& s : seeds) {
    ListingContent l;
    l.title = s.title;
    l.description = s.description;
    l.category_id = s.category;
    l.brand = s.brand;
    l.price = *marketplace::common::Money::Of("EUR", s.price);
    l.image_urls = {"https://img.example/1.jpg", "https://img.example/2.jpg"};
    l.attributes = {{"age_range", "0+"}, {"size", "L"}, {"storage", "128 GB"}};
    out.push_back(std::move(l));
  }
  return out;
}

// The listings of a corpus file (moderation_corpus.jsonl format): its own length mix.
std::vector<ListingContent> CorpusListings(const std::string& path) {
  std::vector<ListingContent> out;
  auto items = marketplace::catalog::ReadModerationCorpus(path);
  if (!items.ok()) return out;
  for (auto& item : *items) out.push_back(std::move(item.listing));
  return out;
}

// Runs `body(listing)` round-robin for `duration`; returns calls per second.
template <typename Body>
double Measure(const std::vector<ListingContent>& listings, absl::Duration duration, Body body) {
  using Clock = std::chrono::steady_clock;
  const auto end = Clock::now() + absl::ToChronoNanoseconds(duration);
  int64_t calls = 0;
  size_t sink = 0;
  const auto start = Clock::now();
  while (Clock::now() < end) {
    for (int i = 0; i < 256; ++i) sink += body(listings[calls++ % listings.size()]);
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (sink == 42) std::printf(" ");  // keeps the work observable
  return static_cast<double>(calls) / seconds;
}

}  // namespace

int main(int argc, char** argv) {
  absl::Duration duration = absl::Seconds(5);
  bool header = false;
  std::string categories = "services/catalog/data/categories.json";
  std::string rules_file = "services/catalog/data/moderation_rules.json";
  marketplace::common::Flags flags("moderation_throughput",
                                   "Listings per second evaluated by the moderation rules.");
  flags.AddDuration("duration", &duration, duration, "How long each measurement runs.");
  flags.AddBool("header", &header, false, "Print the table header first.");
  flags.AddString("categories", &categories, categories, "Category file.");
  flags.AddString("rules", &rules_file, rules_file, "Moderation rules file.");
  std::string corpus = "services/catalog/data/moderation_corpus.jsonl";
  flags.AddString("corpus", &corpus, corpus,
                  "Labelled corpus whose listings give the length mix (empty: skip).");
  flags.ParseOrExit(argc, argv);
  auto live = marketplace::catalog::LiveRules::Load(categories, rules_file);
  if (!live.ok()) {
    std::fprintf(stderr, "moderation_throughput: %s\n", live.status().ToString().c_str());
    return 1;
  }
  const auto rules = (*live)->Current();
  const std::vector<ListingContent> listings = Listings();
  SellerContext seller;
  seller.decided_listings = 100;
  seller.other_listings.push_back(
      {"lst-1", "Peluche lapin blanc 25 cm", "Lapin tout doux aux longues oreilles, lavable."});

  const double fold_rate = Measure(listings, duration, [](const ListingContent& l) {
    return marketplace::catalog::FoldText(absl::StrCat(l.title, "\n", l.description)).size();
  });
  const double evaluate_rate = Measure(listings, duration, [&](const ListingContent& l) {
    return Evaluate(*rules, l, seller).findings.size();
  });
  if (header) {
    std::printf("%-34s %14s %12s\n", "moderation (one core)", "listings/s", "vs fold");
  }
  std::printf("%-34s %14.0f %12.3f\n", "text folding only (reference)", fold_rate, 1.0);
  std::printf("%-34s %14.0f %12.3f\n", "Evaluate, all rules", evaluate_rate,
              evaluate_rate / fold_rate);

  if (!corpus.empty()) {
    std::vector<ListingContent> mix = CorpusListings(corpus);
    if (mix.empty()) {
      std::fprintf(stderr, "moderation_throughput: no listings in %s\n", corpus.c_str());
      return 1;
    }
    std::vector<size_t> lengths;
    for (const ListingContent& l : mix) lengths.push_back(l.title.size() + l.description.size());
    std::sort(lengths.begin(), lengths.end());
    const double corpus_rate = Measure(mix, duration, [&](const ListingContent& l) {
      return Evaluate(*rules, l, seller).findings.size();
    });
    std::printf("%-34s %14.0f %12.3f   (%zu listings, median %zu bytes)\n",
                "Evaluate, corpus length mix", corpus_rate, corpus_rate / fold_rate, mix.size(),
                lengths[lengths.size() / 2]);
    // Text outside Latin-1 takes the ICU path (NFKC, skeletons, transliteration).
    std::vector<ListingContent> scripts = mix;
    for (ListingContent& l : scripts) l.title += " \u0420\u0435\u043F\u043B\u0438\u043A\u0430 ρέπλικα";
    const double icu_rate = Measure(scripts, duration, [&](const ListingContent& l) {
      return Evaluate(*rules, l, seller).findings.size();
    });
    std::printf("%-34s %14.0f %12.3f\n", "Evaluate, corpus + Cyrillic/Greek", icu_rate,
                icu_rate / fold_rate);
    std::vector<ListingContent> long_ones = mix;
    for (ListingContent& l : long_ones) {
      std::string d = l.description;
      while (d.size() < 5000) d += " " + l.description;
      l.description = d.substr(0, 5000);
    }
    const double long_rate = Measure(long_ones, duration, [&](const ListingContent& l) {
      return Evaluate(*rules, l, seller).findings.size();
    });
    std::printf("%-34s %14.0f %12.3f\n", "Evaluate, 5000-byte descriptions", long_rate,
                long_rate / fold_rate);
  }
  return 0;
}
