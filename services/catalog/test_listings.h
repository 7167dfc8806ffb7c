// Listings for catalog tests: clean listings every moderation rule passes, each with its own
// description, so that a seller's several test listings are not near-duplicates of each other
// (the DUPLICATE_LISTING rule compares a listing with the seller's LIVE and PENDING_REVIEW ones).
#ifndef SERVICES_CATALOG_TEST_LISTINGS_H_
#define SERVICES_CATALOG_TEST_LISTINGS_H_

#include <atomic>
#include <string>

#include "protos/marketplace/catalog/v1/catalog.pb.h"

namespace marketplace::catalog::testing {

// Twelve words drawn from a vocabulary of plain words by a fixed sequence: two calls share
// about two words, far under the duplicate threshold.
inline std::string DistinctDescription() {
  static const char* const kWords[] = {
      "rouge", "bleu", "vert", "jaune", "orange", "violet", "rose", "gris", "blanc", "noir",
      "doux", "moelleux", "leger", "solide", "coton", "laine", "lin", "velours", "satin",
      "brode", "cousu", "lavable", "propre", "joli", "grand", "petit", "moyen", "rond", "carre",
      "long", "court", "epais", "chaud", "frais", "calme", "sage", "drole", "tendre", "calin",
      "sourire", "oreille", "patte", "queue", "museau", "ruban", "noeud", "bouton", "poche",
      "etoile", "lune", "soleil", "nuage", "fleur", "arbre", "feuille", "foret", "jardin",
      "maison", "chambre", "coussin", "couverture", "panier", "boite", "cadeau", "fete",
      "anniversaire", "ete", "hiver", "printemps", "automne", "matin", "soir", "nuit", "jour",
      "voyage", "promenade", "parc", "plage", "montagne", "riviere", "lac", "bateau", "train",
      "avion", "velo", "ballon", "livre", "histoire", "chanson", "musique", "danse", "jeu",
      "rire", "ami", "famille", "village", "ferme", "verger", "moulin", "colline", "prairie"};
  constexpr size_t kCount = sizeof(kWords) / sizeof(kWords[0]);
  static std::atomic<size_t> calls{0};
  size_t state = ++calls * 2654435761u + 12345;
  std::string out = "Peluche";
  for (int i = 0; i < 12; ++i) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    out += " ";
    out += kWords[(state >> 33) % kCount];
  }
  return out + ".";
}

// A clean plush toy listing (toys-plush, new, 19.90 EUR, age range 0+, one image).
inline v1::Listing CleanPlush(const std::string& title, int64_t quantity) {
  v1::Listing l;
  l.set_title(title);
  l.set_description(DistinctDescription());
  l.set_category_id("toys-plush");
  l.set_condition(v1::NEW);
  l.mutable_price()->set_currency_code("EUR");
  l.mutable_price()->set_amount_minor(1990);
  l.set_quantity(quantity);
  l.add_image_urls("https://img.example/ourson.jpg");
  (*l.mutable_attributes())["age_range"] = "0+";
  return l;
}

}  // namespace marketplace::catalog::testing

#endif  // SERVICES_CATALOG_TEST_LISTINGS_H_
