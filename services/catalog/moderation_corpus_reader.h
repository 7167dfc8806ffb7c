// The labelled moderation corpus format (services/catalog/README.md, "Moderation corpus"): one
// JSON object per line with a listing, its seller's context and the expected verdict and
// reasons. Read by the corpus test and, as input only, by the moderation benchmarks.
#ifndef SERVICES_CATALOG_MODERATION_CORPUS_READER_H_
#define SERVICES_CATALOG_MODERATION_CORPUS_READER_H_

#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/catalog/moderation.h"

namespace marketplace::catalog {

struct CorpusItem {
  std::string id;
  ListingContent listing;
  SellerContext seller;  // decided_listings 100 when the line has no seller
  Verdict expected_verdict = Verdict::kPass;
  std::set<std::string> expected_reasons;
};

// Every item of the file, in order. An unreadable file, a line that is not JSON, a missing id,
// a duplicate id, a bad price or an unknown verdict is an error naming the line.
absl::StatusOr<std::vector<CorpusItem>> ReadModerationCorpus(const std::string& path);

}  // namespace marketplace::catalog

#endif  // SERVICES_CATALOG_MODERATION_CORPUS_READER_H_
