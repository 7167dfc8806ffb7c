// Cost of the deadline arithmetic the SLA scanner runs for every clock (a benchmark, not a
// test): bazel run -c opt //common/time:business_time_benchmark
#include <string>

#include "absl/time/civil_time.h"
#include "benchmark/benchmark.h"
#include "common/time/business_time.h"
#include "google/protobuf/text_format.h"

namespace marketplace::common {
namespace {

BusinessSchedule Office() {
  marketplace::support::v1::BusinessSchedule proto;
  std::string text = R"pb(time_zone: "Europe/Berlin")pb";
  for (int wd = 1; wd <= 5; ++wd) {
    text += " hours { weekday: " + std::to_string(wd) + " open_minute: 540 close_minute: 720 }";
    text += " hours { weekday: " + std::to_string(wd) + " open_minute: 780 close_minute: 1080 }";
  }
  // A year of holidays, one a month.
  for (int m = 1; m <= 12; ++m)
    text += " holidays: \"2026-" + std::string(m < 10 ? "0" : "") + std::to_string(m) + "-15\"";
  google::protobuf::TextFormat::ParseFromString(text, &proto);
  return *BusinessSchedule::FromProto(proto);
}

void BM_AddBusinessTime(benchmark::State& state) {
  const BusinessSchedule office = Office();
  const absl::Duration d = absl::Hours(state.range(0));
  absl::Time start = absl::FromCivil(absl::CivilMinute(2026, 1, 13, 15, 7), office.zone());
  for (auto _ : state) {
    benchmark::DoNotOptimize(AddBusinessTime(start, d, office));
    start += absl::Minutes(37);  // a different start each time
  }
}
// 1 hour, 1 day, 1 week, 90 days of business time.
BENCHMARK(BM_AddBusinessTime)->Arg(1)->Arg(24)->Arg(168)->Arg(2160);

void BM_BusinessTimeBetween(benchmark::State& state) {
  const BusinessSchedule office = Office();
  const absl::Duration span = absl::Hours(state.range(0));
  absl::Time start = absl::FromCivil(absl::CivilMinute(2026, 1, 13, 15, 7), office.zone());
  for (auto _ : state) {
    benchmark::DoNotOptimize(BusinessTimeBetween(start, start + span, office));
    start += absl::Minutes(37);
  }
}
BENCHMARK(BM_BusinessTimeBetween)->Arg(1)->Arg(24)->Arg(168)->Arg(2160);

}  // namespace
}  // namespace marketplace::common

BENCHMARK_MAIN();
