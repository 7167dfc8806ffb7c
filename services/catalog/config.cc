#include "services/catalog/config.h"

namespace marketplace::catalog {

void AddFlags(common::Flags& flags, CatalogConfig* c) {
  flags.AddString("categories_file", &c->categories_file, "services/catalog/data/categories.json",
                  "Category tree (JSON, README \"Data files\").");
  flags.AddString("moderation_rules_file", &c->rules_file,
                  "services/catalog/data/moderation_rules.json",
                  "Moderation rules and word lists (JSON, README \"Data files\").");
  flags.AddString("category_model_file", &c->category_model_file,
                  "services/catalog/data/category_model.ftz",
                  "fastText model of the learned category check, loaded at start (README "
                  "\"Category model\"); a missing or corrupt file stops the server.");
  flags.AddDuration("rules_check_interval", &c->rules_check_interval, absl::Seconds(10),
                    "How often the data files are checked for changes (a changed file is "
                    "reloaded; SIGHUP reloads at the next check).");
  flags.AddInt64("report_threshold", &c->report_threshold, 3, 1, 1000,
                 "Open counted reports from distinct buyers that send a LIVE listing back to "
                 "review.");
  flags.AddDuration("report_min_account_age", &c->report_min_account_age, absl::Hours(168),
                    "Reports count toward the threshold only from accounts at least this old "
                    "(per identity's create_time) or with a paid order (payments' "
                    "payments.payment_held events).");
  flags.AddInt64("report_rate_limit", &c->report_rate_limit, 20, 1, 100000,
                 "Reports one account may make per --report_rate_window.");
  flags.AddDuration("report_rate_window", &c->report_rate_window, absl::Hours(1), absl::Seconds(1),
                    absl::Hours(24 * 30), "Window of --report_rate_limit.");
  flags.AddInt64("report_burst_limit", &c->report_burst_limit, 5, 1, 100000,
                 "Counted reports on one seller's listings per --report_burst_window beyond "
                 "which further reports on that seller are held for a moderator.");
  flags.AddDuration("report_burst_window", &c->report_burst_window, absl::Hours(1),
                    absl::Seconds(1), absl::Hours(24 * 30), "Window of --report_burst_limit.");
  flags.AddDuration("claim_timeout", &c->claim_timeout, absl::Minutes(15),
                    "How long a moderator's claim on a review lasts.");
  flags.AddInt64("new_seller_listings", &c->new_seller_listings, -1, -1, 1000,
                 "Decided listings under which a seller's clean listings still go to review; "
                 "-1: the rules file's thresholds.new_seller_listings.");
  flags.AddDuration("public_cache_ttl", &c->public_cache_ttl, absl::Minutes(1),
                    "Longest GetListing keeps a public view of a LIVE listing in memory for "
                    "callers other than sellers and staff. Views are evicted when their listing "
                    "changes (seen by a poll of the listings table every --public_cache_poll); "
                    "the TTL bounds staleness only for a write that committed more than "
                    "--public_cache_overlap after it began. 0s: no cache.");
  flags.AddDuration("public_cache_poll", &c->public_cache_poll, absl::Milliseconds(200),
                    absl::Milliseconds(1), absl::InfiniteDuration(),
                    "How often the listings changed since the last poll are evicted from the "
                    "public view cache: a change shows to public readers of every replica within "
                    "about this long. Views are not served while polls fail for over 2s.");
  flags.AddDuration("public_cache_overlap", &c->public_cache_overlap, absl::Seconds(30),
                    "Every 5s a poll also re-reads the changes of this long before the previous "
                    "such poll (writes that committed long after they began, clock differences "
                    "between replicas); other polls look back 2s.");
  flags.AddInt64("public_cache_capacity", &c->public_cache_capacity, 200000, 1, 100000000,
                 "Most public views kept in memory (about 1-2 KiB each; the cache is emptied "
                 "when full).");
  flags.AddInt64("point_read_threads", &c->point_read_threads, 2, 1, 64,
                 "GetListing reads at the database at once, each on a pool connection; the "
                 "reads asked for meanwhile go together in the next statement.");
  common::outbox::AddRelayFlags(flags, &c->events, "");
  common::identity_client::AddIdentityClientFlags(flags, &c->identity);
}

absl::Status CatalogConfig::Validate() const {
  if (categories_file.empty() || rules_file.empty()) {
    return absl::InvalidArgumentError(
        "--categories_file and --moderation_rules_file: must name the data files");
  }
  if (category_model_file.empty()) {
    return absl::InvalidArgumentError("--category_model_file: must name the category model");
  }
  if (absl::Status s = common::outbox::ParseSubscriberSpecs(events.subscribers).status();
      !s.ok()) {
    return s;
  }
  return absl::OkStatus();
}

CatalogOptions CatalogConfig::Options() const {
  CatalogOptions options;
  options.report_threshold = report_threshold;
  options.report_min_account_age = report_min_account_age;
  options.report_rate_limit = report_rate_limit;
  options.report_rate_window = report_rate_window;
  options.report_burst_limit = report_burst_limit;
  options.report_burst_window = report_burst_window;
  options.claim_timeout = claim_timeout;
  if (new_seller_listings >= 0) options.new_seller_listings = new_seller_listings;
  return options;
}

PublicViewCacheOptions CatalogConfig::PublicCache(common::ChangePollCacheObserver* observer) const {
  PublicViewCacheOptions options;
  options.ttl = public_cache_ttl;
  options.poll_interval = public_cache_poll;
  options.overlap = public_cache_overlap;
  options.capacity = static_cast<size_t>(public_cache_capacity);
  options.observer = observer;
  return options;
}

MysqlListingStore::Options CatalogConfig::Store() const {
  return {.point_read_threads = static_cast<int>(point_read_threads)};
}

}  // namespace marketplace::catalog
