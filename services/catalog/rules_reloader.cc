#include "services/catalog/rules_reloader.h"

#include <sys/stat.h>

#include <csignal>
#include <utility>

#include "common/logging.h"

namespace marketplace::catalog {
namespace {

// Last modification of `path` in nanoseconds, 0 when it cannot be read.
int64_t ModifiedAt(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return 0;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

extern "C" void OnSighup(int) { RulesReloader::RequestReload(); }

}  // namespace

std::atomic<bool> RulesReloader::requested_{false};

RulesReloader::RulesReloader(LiveRules* rules, std::string categories_file, std::string rules_file,
                             absl::Duration interval)
    : rules_(rules),
      categories_file_(std::move(categories_file)),
      rules_file_(std::move(rules_file)),
      seen_(Fingerprint()),
      interval_(interval),
      next_check_(absl::Now() + interval),
      thread_(absl::Seconds(1), [this] {
        Check();
        return false;
      }) {}

RulesReloader::~RulesReloader() { Stop(); }

void RulesReloader::ReloadOnSighup() { std::signal(SIGHUP, OnSighup); }

int64_t RulesReloader::Fingerprint() const {
  return ModifiedAt(categories_file_) ^ ModifiedAt(rules_file_);
}

void RulesReloader::Check() {
  const bool asked = requested_.exchange(false);
  if (!asked && absl::Now() < next_check_) return;
  next_check_ = absl::Now() + interval_;
  const int64_t now_seen = Fingerprint();
  if (!asked && now_seen == seen_) return;
  seen_ = now_seen;
  if (absl::Status s = rules_->Reload(); !s.ok()) {
    common::LogError("moderation rules reload refused; previous rules stay in force",
                     {{"error", std::string(s.message())}});
  } else {
    common::LogInfo("moderation rules reloaded", {{"version", rules_->Current()->version()}});
  }
}

}  // namespace marketplace::catalog
