#ifndef MARKETPLACE_SERVICES_CATALOG_RULES_RELOADER_H_
#define MARKETPLACE_SERVICES_CATALOG_RULES_RELOADER_H_

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "common/periodic.h"
#include "services/catalog/live_rules.h"

namespace marketplace::catalog {

// Reloads the moderation data files when one changes (checked every `interval`), or at the
// next check after RequestReload() (SIGHUP). A bad file keeps the rules in force, logged.
class RulesReloader {
 public:
  // `rules` must outlive the reloader. Nothing runs before Start().
  RulesReloader(LiveRules* rules, std::string categories_file, std::string rules_file,
                absl::Duration interval);
  ~RulesReloader();  // stops

  void Start() { thread_.Start(); }
  void Stop() { thread_.Stop(); }

  // Async-signal-safe: only sets a flag.
  static void RequestReload() { requested_.store(true); }
  // Makes SIGHUP call RequestReload().
  static void ReloadOnSighup();

  // One check (the thread's pass; tests call it).
  void Check();

 private:
  // Modification times of both files, 0 for one that cannot be read.
  int64_t Fingerprint() const;

  static std::atomic<bool> requested_;
  LiveRules* const rules_;
  const std::string categories_file_;
  const std::string rules_file_;
  int64_t seen_;
  // Checks run every second so that a SIGHUP is honoured within one; files are looked at
  // every `interval`.
  const absl::Duration interval_;
  absl::Time next_check_;
  common::PeriodicThread thread_;
};

}  // namespace marketplace::catalog

#endif  // MARKETPLACE_SERVICES_CATALOG_RULES_RELOADER_H_
