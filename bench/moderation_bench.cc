// Moderation cost per listing on one core, no storage or RPC: text folding (FoldText), the rule
// engine in force (Evaluate over data/categories.json + data/moderation_rules.json, via
// LiveRules) and the category model (FastTextCategoryClassifier::Predict over
// data/category_model.ftz, which Evaluate consults as the server does), one thread, on the listings of data/moderation_corpus.jsonl (their
// own length mix; the corpus is read as benchmark input only). Then the same listings with
// their description lengthened to 5,000 characters. Prints listings per second for each step
// alone, for Evaluate with the model as the server runs it (the figure the target of
// >= 20,000/s/core is about) and for the rules plus a prediction for every listing, per
// second of the thread's CPU time (per core, whatever else runs on the machine) and, for
// reference, per elapsed second.
//
//   moderation_bench --duration=5s [--header]
#include <algorithm>
#include <time.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "common/config.h"
#include "services/catalog/fasttext_category_classifier.h"
#include "services/catalog/live_rules.h"
#include "services/catalog/moderation.h"
#include "services/catalog/moderation_corpus_reader.h"
#include "services/catalog/text.h"

namespace {

namespace catalog = marketplace::catalog;

struct Input {
  catalog::ListingContent listing;
  catalog::SellerContext seller;
};

// The corpus's listings with their sellers (the corpus test's reader); empty on error.
std::vector<Input> ReadCorpus(const std::string& path) {
  std::vector<Input> out;
  auto items = catalog::ReadModerationCorpus(path);
  if (!items.ok()) {
    std::fprintf(stderr, "moderation_bench: %s\n", std::string(items.status().message()).c_str());
    return out;
  }
  for (catalog::CorpusItem& item : *items) {
    out.push_back({std::move(item.listing), std::move(item.seller)});
  }
  return out;
}

// The same listings, each description lengthened to 5,000 bytes with the other listings'
// descriptions (cut at a space, so words stay whole).
std::vector<Input> WithLongDescriptions(const std::vector<Input>& inputs, size_t length) {
  std::vector<Input> out = inputs;
  for (size_t i = 0; i < out.size(); ++i) {
    std::string& d = out[i].listing.description;
    for (size_t j = i + 1; d.size() < length; ++j) {
      absl::StrAppend(&d, " ", inputs[j % inputs.size()].listing.description);
    }
    const size_t cut = d.rfind(' ', length);
    d.resize(cut == std::string::npos ? length : cut);
  }
  return out;
}

size_t CodePoints(const std::string& s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

// Median of the listings' title + " " + description length, in characters (code points).
size_t MedianLength(const std::vector<Input>& inputs) {
  std::vector<size_t> lengths;
  for (const Input& in : inputs) {
    lengths.push_back(CodePoints(in.listing.title) + 1 + CodePoints(in.listing.description));
  }
  std::sort(lengths.begin(), lengths.end());
  return lengths.empty() ? 0 : lengths[lengths.size() / 2];
}

double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Rate {
  double per_cpu_second;   // listings per second of this thread's CPU time: per core
  double per_wall_second;  // the same over elapsed time (lower when the core is shared)
};

// Runs `body(input)` round-robin for `duration` of elapsed time. The figure per core divides
// by the thread's own CPU time, so that other processes on a shared machine do not count.
template <typename Body>
Rate Measure(const std::vector<Input>& inputs, absl::Duration duration, Body body) {
  using Clock = std::chrono::steady_clock;
  const auto end = Clock::now() + absl::ToChronoNanoseconds(duration);
  int64_t calls = 0;
  size_t sink = 0;
  const auto start = Clock::now();
  const double cpu_start = ThreadCpuSeconds();
  while (Clock::now() < end) {
    for (int i = 0; i < 64; ++i) sink += body(inputs[calls++ % inputs.size()]);
  }
  const double cpu = ThreadCpuSeconds() - cpu_start;
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (sink == 42) std::printf(" ");  // keeps the work observable
  return {static_cast<double>(calls) / cpu, static_cast<double>(calls) / seconds};
}

}  // namespace

int main(int argc, char** argv) {
  absl::Duration duration = absl::Seconds(5);
  bool header = false;
  std::string categories = "services/catalog/data/categories.json";
  std::string rules_file = "services/catalog/data/moderation_rules.json";
  std::string model_file = "services/catalog/data/category_model.ftz";
  std::string corpus = "services/catalog/data/moderation_corpus.jsonl";
  marketplace::common::Flags flags(
      "moderation_bench", "Listings per second on one core: folding, rules and category model.");
  flags.AddDuration("duration", &duration, duration, "How long each measurement runs.");
  flags.AddBool("header", &header, false, "Print the table header first.");
  flags.AddString("categories", &categories, categories, "Category file.");
  flags.AddString("rules", &rules_file, rules_file, "Moderation rules file.");
  flags.AddString("category_model", &model_file, model_file, "fastText category model.");
  flags.AddString("corpus", &corpus, corpus, "Listings to moderate (JSON lines).");
  flags.ParseOrExit(argc, argv);

  // The rules as the server runs them (with the model) and alone, for the steps' own rows.
  auto live = catalog::LiveRules::Load(categories, rules_file,
                                       catalog::FastTextModelLoader(model_file));
  auto live_alone = catalog::LiveRules::Load(categories, rules_file);
  if (!live.ok() || !live_alone.ok()) {
    std::fprintf(stderr, "moderation_bench: %s\n",
                 (live.ok() ? live_alone.status() : live.status()).ToString().c_str());
    return 1;
  }
  const auto rules = (*live)->Current();
  const auto rules_alone = (*live_alone)->Current();
  const catalog::CategoryClassifier& classifier = *rules->classifier();
  const std::vector<Input> listings = ReadCorpus(corpus);
  if (listings.empty()) {
    std::fprintf(stderr, "moderation_bench: no listings in %s\n", corpus.c_str());
    return 1;
  }
  const std::vector<Input> long_listings = WithLongDescriptions(listings, 5000);

  auto fold = [](const Input& in) {
    return catalog::FoldText(absl::StrCat(in.listing.title, " ", in.listing.description)).size();
  };
  auto evaluate = [&](const Input& in) {
    return catalog::Evaluate(*rules_alone, in.listing, in.seller).findings.size();
  };
  auto predict = [&](const Input& in) {
    const std::string folded =
        catalog::FoldText(absl::StrCat(in.listing.title, " ", in.listing.description));
    return classifier.Predict(folded, 1).size();
  };
  // What the server does: Evaluate folds the text and asks the model itself (not for a listing
  // the rules already refuse, nor when the term groups found a mismatch).
  auto server = [&](const Input& in) {
    return catalog::Evaluate(*rules, in.listing, in.seller, rules->classifier()).findings.size();
  };
  // An upper bound: the rules alone and a prediction for every listing.
  auto all = [&](const Input& in) {
    const std::string folded =
        catalog::FoldText(absl::StrCat(in.listing.title, " ", in.listing.description));
    return catalog::Evaluate(*rules_alone, in.listing, in.seller).findings.size() +
           classifier.Predict(folded, 1).size();
  };

  if (header) {
    std::printf("moderation, one thread (model %s, rules %s)\n", classifier.Version().c_str(),
                rules->version().c_str());
    std::printf("%-46s %14s %12s %14s\n", "step", "listings/s/core", "us/listing",
                "(wall: /s)");
  }
  auto row = [](const std::string& name, Rate rate) {
    std::printf("%-46s %14.0f %12.1f %14.0f\n", name.c_str(), rate.per_cpu_second,
                1e6 / rate.per_cpu_second, rate.per_wall_second);
  };
  for (const auto& [set, name] :
       {std::pair{&listings, absl::StrCat("corpus mix (", listings.size(), " listings, median ",
                                          MedianLength(listings), " chars)")},
        std::pair{&long_listings, absl::StrCat("5,000-char descriptions (median ",
                                               MedianLength(long_listings), " chars)")}}) {
    std::printf("%s\n", name.c_str());
    row("  FoldText of title + description", Measure(*set, duration, fold));
    row("  Evaluate, rules alone", Measure(*set, duration, evaluate));
    row("  FoldText + category model Predict", Measure(*set, duration, predict));
    row("  Evaluate with the model (as the server)", Measure(*set, duration, server));
    row("  Evaluate + Predict for every listing", Measure(*set, duration, all));
  }
  return 0;
}
