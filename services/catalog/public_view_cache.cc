#include "services/catalog/public_view_cache.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "common/logging.h"
#include "common/status_macros.h"

namespace marketplace::catalog {
namespace {

// How long an eviction is remembered, and the longest read whose view may still be stored
// (half of it, so every eviction newer than a storable read's ticket is still known).
constexpr absl::Duration kEvictionMemory = absl::Seconds(10);

// Listing ids compare exactly, in the database (ascii_bin, migration 0005) as here: the cache
// keys them as given. (`storage` is unused: kept so that a folding rule has one place.)
absl::string_view Key(absl::string_view id, std::string& /*storage*/) { return id; }

// What the cache reports to when the options name no observer.
CatalogObserver& Discard() {
  static NoCatalogObserver* none = new NoCatalogObserver();
  return *none;
}

}  // namespace

PublicViewCache::PublicViewCache(ListingStore* store, const common::Clock* clock,
                                 PublicViewCacheOptions options)
    : store_(store),
      clock_(clock),
      options_(options),
      observer_(options.observer != nullptr ? *options.observer : Discard()),
      last_start_(clock->Now()),
      last_full_start_(last_start_),
      poller_(options.poll_interval, [this] {
        if (absl::Status s = Poll(); !s.ok()) {
          common::LogWarn("public view cache poll failed", {{"error", s.ToString()}});
        }
        return false;
      }) {}

PublicViewCache::~PublicViewCache() { poller_.Stop(); }

void PublicViewCache::StartPolling() {
  if (enabled()) poller_.Start();
}

std::shared_ptr<const v1::Listing> PublicViewCache::Find(absl::string_view listing_id) {
  const absl::Time now = clock_->Now();
  std::shared_ptr<const v1::Listing> view;
  std::string folded;
  const absl::string_view key = Key(listing_id, folded);
  {
    absl::ReaderMutexLock lock(&mu_);
    if (now - last_poll_start_ <= options_.max_poll_age) {
      auto it = entries_.find(key);
      if (it != entries_.end() && it->second.expires_at > now) view = it->second.view;
    }
  }
  if (view != nullptr) {
    hits_.fetch_add(1, std::memory_order_relaxed);
    observer_.OnPublicCacheHit();
  } else {
    misses_.fetch_add(1, std::memory_order_relaxed);
    observer_.OnPublicCacheMiss();
  }
  return view;
}

PublicViewCache::Ticket PublicViewCache::BeginRead() {
  absl::ReaderMutexLock lock(&mu_);
  return {epoch_, clock_->Now()};
}

void PublicViewCache::Put(absl::string_view listing_id, v1::Listing view, const Ticket& ticket) {
  const absl::Time now = clock_->Now();
  if (now - ticket.taken >= kEvictionMemory / 2) return;
  std::string folded;
  const absl::string_view key = Key(listing_id, folded);
  auto shared = std::make_shared<const v1::Listing>(std::move(view));
  absl::MutexLock lock(&mu_);
  if (auto e = evicted_.find(key); e != evicted_.end() && e->second.epoch > ticket.epoch) {
    return;  // changed while it was read
  }
  if (entries_.size() >= options_.capacity && !entries_.contains(key)) entries_.clear();
  entries_[key] = {std::move(shared), now + options_.ttl};
}

absl::Status PublicViewCache::Poll() {
  absl::MutexLock poll_lock(&poll_mu_);
  const absl::Time start = clock_->Now();
  const bool full = start - last_full_start_ >= options_.full_poll_interval;
  const absl::Time from =
      full ? last_full_start_ - options_.overlap : last_start_ - options_.recent_overlap;
  absl::StatusOr<std::vector<std::pair<std::string, absl::Time>>> rows =
      store_->ListChangedSince(from);
  if (!rows.ok()) {
    absl::MutexLock lock(&mu_);
    ++poll_failures_;
    observer_.OnPublicCachePollFailure();
    return rows.status();
  }
  std::vector<std::string> changed;
  for (auto& [id, updated] : *rows) {
    absl::AsciiStrToLower(&id);
    auto [it, inserted] = seen_.try_emplace(id, updated);
    if (inserted || it->second != updated) {
      it->second = updated;
      changed.push_back(std::move(id));
    }
  }
  last_start_ = start;
  if (full) last_full_start_ = start;
  // What no later poll can return again.
  const absl::Time horizon =
      std::min(last_full_start_ - options_.overlap, last_start_ - options_.recent_overlap);
  absl::erase_if(seen_, [&](const auto& kv) { return kv.second < horizon; });

  absl::MutexLock lock(&mu_);
  ++epoch_;
  int64_t evicted = 0;
  for (std::string& id : changed) {
    evicted += static_cast<int64_t>(entries_.erase(id));
    evicted_[std::move(id)] = {epoch_, start};
  }
  absl::erase_if(evicted_, [&](const auto& kv) { return kv.second.at < start - kEvictionMemory; });
  evictions_ += evicted;
  observer_.OnPublicCacheEvictions(evicted);
  ++polls_;
  last_poll_start_ = start;
  return absl::OkStatus();
}

PublicViewCache::Totals PublicViewCache::totals() const {
  absl::ReaderMutexLock lock(&mu_);
  return {hits_.load(), misses_.load(), evictions_, polls_, poll_failures_};
}

}  // namespace marketplace::catalog
