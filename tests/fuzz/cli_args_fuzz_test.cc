// Mutants of uintx-tune command lines: parseTuneArgs never throws, accepts only options the
// tuner can plan (dimensions, bits, group and packing in range), and runTuneCli answers every
// mutant with one of its documented exit codes, without a GPU.
#include <doctest/doctest.h>

#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "autotune/tune_cli.h"
#include "tests/fuzz/mutator.h"

using namespace uintx;

namespace {

const std::vector<std::vector<std::string>>& seedCommandLines() {
  static const std::vector<std::vector<std::string>> seeds = {
      {"--shapes", "4096x4096,14336x4096", "--bits", "4", "--group-size", "128"},
      {"--shapes", "8192x8192", "--bits", "2", "--group-size", "64", "--packing", "16", "--batch", "1,3,300"},
      {"--int8-dynamic", "--shapes", "28672x8192", "--batch", "1,16,64,4096", "--act-dtype", "fp16"},
      {"--shapes", "1024x1024", "--bits", "8", "--group-size", "1024", "--out-dtype", "bf16", "--force"},
      {"--list", "configs.json"},
      {"--help"},
  };
  return seeds;
}

// A new command line: some arguments mutated, dropped, duplicated or taken from another seed.
std::vector<std::string> mutateCommandLine(fuzz::Mutator& mutator) {
  const auto& seeds = seedCommandLines();
  std::vector<std::string> args = seeds[mutator.next() % seeds.size()];
  const auto& donor = seeds[mutator.next() % seeds.size()];
  const int edits = 1 + int(mutator.next() % 3);
  for (int e = 0; e < edits; ++e) {
    const size_t at = args.empty() ? 0 : mutator.next() % args.size();
    const std::string& other = donor[mutator.next() % donor.size()];
    switch (mutator.next() % 4) {
      case 0:
        if (!args.empty()) args[at] = mutator.mutate(args[at], other);
        break;
      case 1:
        if (!args.empty()) args.erase(args.begin() + ptrdiff_t(at));
        break;
      case 2:
        args.insert(args.begin() + ptrdiff_t(at), other);
        break;
      default:
        args.insert(args.begin() + ptrdiff_t(at), mutator.mutate(other, other));
        break;
    }
  }
  return args;
}

std::string joined(const std::vector<std::string>& args) {
  std::string s;
  for (const std::string& a : args) s += "[" + a + "] ";
  return s;
}

}  // namespace

TEST_CASE("uintx-tune arguments: every mutant is parsed into a plannable run or named as bad") {
  fuzz::Mutator mutator(271828);
  int accepted = 0, refused = 0;
  for (int i = 0; i < 4000; ++i) {
    const std::vector<std::string> args = mutateCommandLine(mutator);
    autotune::ParsedTuneArgs parsed;
    try {
      parsed = autotune::parseTuneArgs(args);
    } catch (const std::exception& e) {
      FAIL("mutant " << i << " threw: " << e.what() << " for " << joined(args));
    }
    if (!parsed.options) {
      ++refused;
      CHECK_MESSAGE(!parsed.error.empty(), "refused without a reason: " << joined(args));
      continue;
    }
    ++accepted;
    const autotune::TuneOptions& options = *parsed.options;
    if (options.action != autotune::TuneOptions::Action::kTune) continue;
    INFO("mutant " << i << ": " << joined(args));
    CHECK(!options.shapes.empty());
    for (const autotune::WeightShape& shape : options.shapes) {
      CHECK(shape.N >= 1);
      CHECK(shape.K >= 1);
      CHECK(shape.K <= INT32_MAX);
      if (options.group_size > 0) CHECK(shape.K % options.group_size == 0);
    }
    CHECK(options.bits >= 1);
    CHECK(options.bits <= 8);
    CHECK((options.packing == 8 || options.packing == 16 || options.packing == 32));
    for (int64_t m : options.batches) CHECK(m >= 1);
    CHECK((options.act_dtype == "bf16" || options.act_dtype == "fp16"));
    // Planning only a few keys' worth: a mutant may ask for many shapes.
    if (options.shapes.size() <= 16) {
      for (const cache::KernelKey& key : autotune::planTuningKeys(options)) {
        CHECK(key.bit_width == options.bits);
        CHECK(key.m_bucket >= 1);
        CHECK(key.m_bucket <= cache::KernelKey::kMaxMBucket);
      }
    }
  }
  MESSAGE("uintx-tune mutants: " << accepted << " accepted, " << refused << " refused");
  CHECK(accepted > 0);
  CHECK(refused > 0);
}

TEST_CASE("uintx-tune: every mutant ends with a documented exit code when no GPU is there") {
  const char* base = std::getenv("TEST_TMPDIR");
  const std::string dir = std::string(base ? base : "/tmp");
  autotune::TuneCliEnvironment environment;
  environment.gpuDriverLoadable = [](std::string* why) {
    *why = "libcuda.so.1: not found (fuzz test)";
    return false;
  };
  environment.env = [dir](const std::string& name) -> std::optional<std::string> {
    if (name == "HOME" || name == "XDG_CACHE_HOME") return dir;
    return std::nullopt;
  };
  fuzz::Mutator mutator(161803);
  for (int i = 0; i < 1000; ++i) {
    std::vector<std::string> args = mutateCommandLine(mutator);
    // Paths given to the CLI stay inside the test's directory.
    for (size_t a = 0; a + 1 < args.size(); ++a)
      if (args[a] == "--list" || args[a] == "--cache" || args[a] == "--kernels-dir")
        args[a + 1] = dir + "/missing_" + std::to_string(i);
    std::ostringstream out, err;
    int code = -1;
    try {
      code = autotune::runTuneCli(args, environment, out, err);
    } catch (const std::exception& e) {
      FAIL("mutant " << i << " threw: " << e.what() << " for " << joined(args));
    }
    INFO("mutant " << i << ": " << joined(args) << " -> " << err.str());
    CHECK(code >= autotune::kExitOk);
    CHECK(code <= autotune::kExitCacheError);
    CHECK(code != autotune::kExitInternalError);
    if (code != autotune::kExitOk) CHECK(!err.str().empty());
  }
}
