#include "common/change_poll_cache.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "common/logging.h"

namespace marketplace::common {
namespace {

// How long an eviction is remembered, and the longest read whose value may still be stored
// (half of it, so every eviction newer than a storable read's ticket is still known).
constexpr absl::Duration kEvictionMemory = absl::Seconds(10);

ChangePollCacheObserver& Discard() {
  static ChangePollCacheObserver* none = new ChangePollCacheObserver();
  return *none;
}

}  // namespace

ChangePollCacheCore::ChangePollCacheCore(ChangedSinceFn changed_since, const Clock* clock,
                                         ChangePollCacheOptions options,
                                         ChangePollCacheObserver* observer)
    : changed_since_(std::move(changed_since)),
      clock_(clock),
      options_(options),
      observer_(observer != nullptr ? observer : &Discard()),
      last_start_(clock->Now()),
      last_full_start_(last_start_),
      poller_(options.poll_interval, [this] {
        if (absl::Status s = Poll(); !s.ok()) {
          LogWarn("change poll cache: poll failed", {{"error", s.ToString()}});
        }
        return false;
      }) {}

ChangePollCacheCore::~ChangePollCacheCore() { poller_.Stop(); }

void ChangePollCacheCore::StartPolling() {
  if (enabled()) poller_.Start();
}

std::shared_ptr<const void> ChangePollCacheCore::FindErased(absl::string_view key) {
  const absl::Time now = clock_->Now();
  std::shared_ptr<const void> value;
  {
    absl::ReaderMutexLock lock(&mu_);
    if (now - last_poll_start_ <= options_.max_poll_age) {
      auto it = entries_.find(key);
      if (it != entries_.end() && it->second.expires_at > now) value = it->second.value;
    }
  }
  if (value != nullptr) {
    hits_.fetch_add(1, std::memory_order_relaxed);
    observer_->OnHit();
  } else {
    misses_.fetch_add(1, std::memory_order_relaxed);
    observer_->OnMiss();
  }
  return value;
}

ChangePollCacheCore::Ticket ChangePollCacheCore::BeginRead() {
  absl::ReaderMutexLock lock(&mu_);
  return {epoch_, clock_->Now()};
}

void ChangePollCacheCore::PutErased(absl::string_view key, std::shared_ptr<const void> value,
                                    const Ticket& ticket) {
  if (!enabled()) return;
  const absl::Time now = clock_->Now();
  if (now - ticket.taken >= kEvictionMemory / 2) return;
  absl::MutexLock lock(&mu_);
  if (auto e = evicted_.find(key); e != evicted_.end() && e->second.epoch > ticket.epoch) {
    return;  // changed while it was read
  }
  if (entries_.size() >= options_.capacity && !entries_.contains(key)) entries_.clear();
  entries_[key] = {std::move(value), now + options_.ttl};
}

void ChangePollCacheCore::Evict(absl::string_view key) {
  if (!enabled()) return;
  const absl::Time now = clock_->Now();
  absl::MutexLock lock(&mu_);
  EvictLocked({std::string(key)}, now);
}

void ChangePollCacheCore::EvictLocked(std::vector<std::string> keys, absl::Time at) {
  ++epoch_;
  int64_t evicted = 0;
  for (std::string& key : keys) {
    evicted += static_cast<int64_t>(entries_.erase(key));
    evicted_[std::move(key)] = {epoch_, at};
  }
  evictions_ += evicted;
  observer_->OnEvictions(evicted);
}

absl::Status ChangePollCacheCore::Poll() {
  absl::MutexLock poll_lock(&poll_mu_);
  const absl::Time start = clock_->Now();
  const bool full = start - last_full_start_ >= options_.full_poll_interval;
  const absl::Time from =
      full ? last_full_start_ - options_.overlap : last_start_ - options_.recent_overlap;
  absl::StatusOr<std::vector<std::pair<std::string, absl::Time>>> rows = changed_since_(from);
  if (!rows.ok()) {
    absl::MutexLock lock(&mu_);
    ++poll_failures_;
    observer_->OnPollFailure();
    return rows.status();
  }
  std::vector<std::string> changed;
  for (auto& [key, changed_at] : *rows) {
    auto [it, inserted] = seen_.try_emplace(key, changed_at);
    if (inserted || it->second != changed_at) {
      it->second = changed_at;
      changed.push_back(std::move(key));
    }
  }
  last_start_ = start;
  if (full) last_full_start_ = start;
  // What no later poll can return again.
  const absl::Time horizon =
      std::min(last_full_start_ - options_.overlap, last_start_ - options_.recent_overlap);
  absl::erase_if(seen_, [&](const auto& kv) { return kv.second < horizon; });

  absl::MutexLock lock(&mu_);
  EvictLocked(std::move(changed), start);
  // Forgotten here, once a poll, not on every Evict: a write does not pay for a scan.
  absl::erase_if(evicted_, [&](const auto& kv) { return kv.second.at < start - kEvictionMemory; });
  ++polls_;
  last_poll_start_ = start;
  return absl::OkStatus();
}

ChangePollCacheCore::Totals ChangePollCacheCore::totals() const {
  absl::ReaderMutexLock lock(&mu_);
  return {hits_.load(), misses_.load(), evictions_, polls_, poll_failures_};
}

}  // namespace marketplace::common
