// Runs a fuzz target over its seeds in the normal (gcc) build, as a test: the golden files'
// requests (services/gateway/testdata/golden) and the committed regression inputs of the
// target (services/gateway/fuzz/corpus/<target>/). A crash fails the test.
//   replay_main <router|json>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "services/gateway/fuzz/seeds.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <router|json>\n", argv[0]);
    return 2;
  }
  const std::string kind = argv[1];
  std::vector<std::string> inputs =
      marketplace::gateway::SeedsFromGoldenFiles("services/gateway/testdata/golden", kind);
  if (inputs.empty()) {
    std::fprintf(stderr, "no seeds from the golden files\n");
    return 1;
  }
  const std::string corpus = "services/gateway/fuzz/corpus/" + kind;
  if (std::filesystem::exists(corpus)) {
    for (const auto& entry : std::filesystem::directory_iterator(corpus)) {
      std::ifstream in(entry.path(), std::ios::binary);
      std::stringstream s;
      s << in.rdbuf();
      inputs.push_back(s.str());
    }
  }
  // The seeds and a few mutations of each (truncations, a byte flipped), since the gcc build
  // has no fuzzer to make them.
  size_t runs = 0;
  for (const std::string& seed : inputs) {
    std::vector<std::string> variants = {seed};
    for (size_t cut : {seed.size() / 2, seed.size() / 3, size_t{1}}) {
      if (cut < seed.size()) variants.push_back(seed.substr(0, cut));
    }
    for (size_t i = 0; i < seed.size(); i += 7) {
      std::string v = seed;
      v[i] = static_cast<char>(v[i] ^ 0x5a);
      variants.push_back(v);
    }
    for (const std::string& v : variants) {
      LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(v.data()), v.size());
      ++runs;
    }
  }
  std::printf("%s: %zu seeds, %zu inputs run, no crash\n", kind.c_str(), inputs.size(), runs);
  return 0;
}
