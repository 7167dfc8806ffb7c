#include "services/catalog/moderation_corpus_reader.h"

#include <fstream>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "services/catalog/text.h"

namespace marketplace::catalog {
namespace {

SellerListingState StateOf(const std::string& name) {
  if (name == "LIVE") return SellerListingState::kLive;
  if (name == "PENDING_REVIEW") return SellerListingState::kPendingReview;
  return SellerListingState::kOther;
}

absl::StatusOr<CorpusItem> ParseItem(const nlohmann::json& item) {
  CorpusItem c;
  if (!item.contains("id") || !item["id"].is_string()) {
    return absl::InvalidArgumentError("no id");
  }
  c.id = item["id"].get<std::string>();
  ListingContent& l = c.listing;
  l.title = item.value("title", "");
  l.description = item.value("description", "");
  l.category_id = item.value("category_id", "");
  l.brand = item.value("brand", "");
  if (item.contains("price")) {
    auto price = common::Money::Of(item["price"].value("currency_code", ""),
                                   item["price"].value("amount_minor", int64_t{0}));
    if (!price.ok()) return absl::InvalidArgumentError(absl::StrCat(c.id, ": bad price"));
    l.price = *price;
  }
  for (int i = 0; i < item.value("images", 1); ++i) {
    l.image_urls.push_back(absl::StrCat("https://img.example/", c.id, "/", i));
  }
  if (item.contains("attributes")) {
    for (auto it = item["attributes"].begin(); it != item["attributes"].end(); ++it) {
      if (it.value().is_string()) l.attributes[it.key()] = it.value().get<std::string>();
    }
  }
  c.seller.decided_listings = 100;
  if (item.contains("seller")) {
    const auto& s = item["seller"];
    c.seller.decided_listings = s.value("decided_listings", int64_t{100});
    const std::string level = s.value("level", "STANDARD");
    c.seller.level = level == "AT_RISK"   ? SellerModerationLevel::kAtRisk
                     : level == "TRUSTED" ? SellerModerationLevel::kTrusted
                                          : SellerModerationLevel::kStandard;
    for (const auto& b : s.value("authorized_brands", nlohmann::json::array())) {
      c.seller.authorized_brands.insert(FoldText(b.get<std::string>()));
    }
    for (const auto& o : s.value("other_live_listings", nlohmann::json::array())) {
      c.seller.other_listings.push_back({o.value("listing_id", "other"), o.value("title", ""),
                                         o.value("description", ""),
                                         StateOf(o.value("state", "LIVE"))});
    }
  }
  const std::string verdict = item.value("expected_verdict", "");
  if (verdict == "PASS") {
    c.expected_verdict = Verdict::kPass;
  } else if (verdict == "REVIEW") {
    c.expected_verdict = Verdict::kReview;
  } else if (verdict == "REJECT") {
    c.expected_verdict = Verdict::kReject;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(c.id, ": unknown expected_verdict"));
  }
  for (const auto& r : item.value("expected_reasons", nlohmann::json::array())) {
    c.expected_reasons.insert(r.get<std::string>());
  }
  return c;
}

}  // namespace

absl::StatusOr<std::vector<CorpusItem>> ReadModerationCorpus(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot read"));
  std::vector<CorpusItem> out;
  std::set<std::string> ids;
  std::string line;
  for (int line_no = 1; std::getline(in, line); ++line_no) {
    if (line.empty()) continue;
    nlohmann::json item = nlohmann::json::parse(line, nullptr, false);
    if (item.is_discarded()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ":", line_no, ": not JSON"));
    }
    absl::StatusOr<CorpusItem> c;
    try {
      c = ParseItem(item);
    } catch (const nlohmann::json::exception& e) {
      c = absl::InvalidArgumentError(e.what());
    }
    if (!c.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ":", line_no, ": ", c.status().message()));
    }
    if (!ids.insert(c->id).second) {
      return absl::InvalidArgumentError(absl::StrCat(path, ":", line_no, ": duplicate id ", c->id));
    }
    out.push_back(*std::move(c));
  }
  return out;
}

}  // namespace marketplace::catalog
