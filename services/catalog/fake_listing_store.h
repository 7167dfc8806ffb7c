#ifndef MARKETPLACE_SERVICES_CATALOG_FAKE_LISTING_STORE_H_
#define MARKETPLACE_SERVICES_CATALOG_FAKE_LISTING_STORE_H_

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "services/catalog/listing_store.h"

namespace marketplace::catalog {

// ListingStore in memory, for unit tests of the domain: one transaction at a time, applied as
// it goes (a failing unit of work is not rolled back: tests look at what succeeded).
class FakeListingStore final : public ListingStore, private ListingTransaction {
 public:
  using Event = std::variant<ListingDecided, ListingReported, ListingSuspended>;

  // What the domain wrote.
  std::map<std::string, ListingRecord> listings;
  std::vector<Transition> transitions;
  std::map<std::string, ReviewEntry> queue;
  std::vector<ListingReport> reports;
  std::map<std::string, SellerModerationSetting> sellers;
  std::vector<Event> events;

  absl::Status Transact(const Work& work) override {
    absl::MutexLock lock(&mu_);
    return work(*this);
  }
  absl::Status TransactReadOnly(const Work& work) override { return Transact(work); }
  absl::StatusOr<ListingRecord> CreateOnce(const CreateRequestKey&,
                                           const CreateWork& work) override {
    absl::MutexLock lock(&mu_);
    return work(*this);
  }
  void ReadListing(absl::string_view id, ReadDone done) override {
    std::optional<ListingRecord> found;
    {
      absl::MutexLock lock(&mu_);
      if (auto it = listings.find(std::string(id)); it != listings.end()) found = it->second;
    }
    done(std::move(found));
  }
  absl::StatusOr<std::vector<ListingRecord>> ListListings(const ListingQuery&) override {
    return absl::UnimplementedError("not in the fake");
  }
  absl::StatusOr<std::vector<Review>> ListReviews(const ReviewQuery&) override {
    return absl::UnimplementedError("not in the fake");
  }
  absl::StatusOr<std::vector<std::pair<std::string, absl::Time>>> ListChangedSince(
      absl::Time) override {
    return std::vector<std::pair<std::string, absl::Time>>();
  }
  absl::StatusOr<int64_t> PurgeRequestIds() override { return 0; }

 private:
  absl::Status InsertListing(ListingRecord& l) override {
    l.seq = static_cast<int64_t>(listings.size()) + 1;
    listings[l.listing_id] = l;
    return absl::OkStatus();
  }
  absl::StatusOr<std::optional<ListingRecord>> FindListing(absl::string_view id, bool) override {
    auto it = listings.find(std::string(id));
    if (it == listings.end()) return std::optional<ListingRecord>();
    return std::optional<ListingRecord>(it->second);
  }
  absl::Status SaveListing(ListingRecord& l, absl::Time now) override {
    l.updated_at = std::max(now, l.updated_at + absl::Microseconds(1));
    listings[l.listing_id] = l;
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<ListingRecord>> LockSellerListings(
      absl::string_view seller_id, const std::vector<ListingState>& states) override {
    std::vector<ListingRecord> out;
    for (const auto& [id, l] : listings) {
      if (l.seller_id == seller_id &&
          std::find(states.begin(), states.end(), l.state) != states.end()) {
        out.push_back(l);
      }
    }
    return out;
  }
  absl::StatusOr<int64_t> CountDecidedListings(absl::string_view seller_id,
                                               absl::string_view listing_id) override {
    return std::count_if(listings.begin(), listings.end(), [&](const auto& kv) {
      return kv.second.seller_id == seller_id && kv.first != listing_id && kv.second.ever_decided;
    });
  }
  absl::StatusOr<std::vector<SellerListing>> RecentLiveListings(absl::string_view seller_id,
                                                                absl::string_view listing_id,
                                                                int) override {
    std::vector<SellerListing> out;
    for (const auto& [id, l] : listings) {
      if (l.seller_id == seller_id && id != listing_id && l.state == ListingState::kLive) {
        out.push_back({id, l.content.title, l.content.description});
      }
    }
    return out;
  }
  absl::StatusOr<std::optional<SellerModerationSetting>> FindSellerModeration(
      absl::string_view seller_id) override {
    auto it = sellers.find(std::string(seller_id));
    if (it == sellers.end()) return std::optional<SellerModerationSetting>();
    return std::optional<SellerModerationSetting>(it->second);
  }
  absl::Status SaveSellerModeration(const SellerModerationSetting& s) override {
    sellers[s.seller_id] = s;
    return absl::OkStatus();
  }
  absl::StatusOr<int64_t> AppendTransition(const Transition& t) override {
    transitions.push_back(t);
    transitions.back().id = static_cast<int64_t>(transitions.size());
    return transitions.back().id;
  }
  absl::StatusOr<std::vector<Transition>> ListTransitions(absl::string_view id) override {
    std::vector<Transition> out;
    for (const Transition& t : transitions) {
      if (t.listing_id == id) out.push_back(t);
    }
    return out;
  }
  absl::StatusOr<std::optional<int64_t>> LatestRejection(absl::string_view id) override {
    std::optional<int64_t> out;
    for (const Transition& t : transitions) {
      if (t.listing_id == id && t.to == ListingState::kRejected) out = t.id;
    }
    return out;
  }
  absl::Status Enqueue(const ReviewEntry& e) override {
    queue[e.listing_id] = e;
    return absl::OkStatus();
  }
  absl::Status Dequeue(absl::string_view id) override {
    queue.erase(std::string(id));
    return absl::OkStatus();
  }
  absl::StatusOr<std::optional<ReviewEntry>> LockReviewEntry(absl::string_view id) override {
    auto it = queue.find(std::string(id));
    if (it == queue.end()) return std::optional<ReviewEntry>();
    return std::optional<ReviewEntry>(it->second);
  }
  absl::StatusOr<bool> TryClaim(absl::string_view, absl::string_view, absl::Time,
                                absl::Time) override {
    return absl::UnimplementedError("not in the fake");
  }
  absl::StatusOr<std::optional<Review>> FindPendingReview(absl::string_view) override {
    return absl::UnimplementedError("not in the fake");
  }
  absl::StatusOr<bool> HasReported(absl::string_view id, absl::string_view reporter) override {
    return std::any_of(reports.begin(), reports.end(), [&](const ListingReport& r) {
      return r.listing_id == id && r.reporter_id == reporter;
    });
  }
  absl::Status InsertReport(const ListingReport& r) override {
    reports.push_back(r);
    return absl::OkStatus();
  }
  absl::StatusOr<int64_t> CountOpenReports(absl::string_view id) override {
    return std::count_if(reports.begin(), reports.end(),
                         [&](const ListingReport& r) { return r.listing_id == id; });
  }
  absl::Status CloseReports(absl::string_view) override { return absl::OkStatus(); }
  absl::StatusOr<bool> HasAppeal(int64_t) override { return false; }
  absl::Status InsertAppeal(int64_t, const ListingRecord&, absl::string_view, absl::Time) override {
    return absl::OkStatus();
  }
  absl::Status Publish(const ListingDecided& e) override {
    events.push_back(e);
    return absl::OkStatus();
  }
  absl::Status Publish(const ListingReported& e) override {
    events.push_back(e);
    return absl::OkStatus();
  }
  absl::Status Publish(const ListingSuspended& e) override {
    events.push_back(e);
    return absl::OkStatus();
  }

  absl::Mutex mu_;
};

}  // namespace marketplace::catalog

#endif  // MARKETPLACE_SERVICES_CATALOG_FAKE_LISTING_STORE_H_
