#include <doctest/doctest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "autotune/progress_bar.h"
#include "autotune/tune_cli.h"
#include "tests/autotune/temp_dir.h"

using namespace uintx;
using namespace uintx::autotune;
using namespace uintx::cache;
using uintx::autotune::testing::TempDir;

namespace {

std::vector<std::string> words(const std::string& line) {
  std::vector<std::string> out;
  std::istringstream in(line);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

std::vector<std::string> linesOf(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

const std::string kGood = "--shapes 4096x4096,14336x4096 --bits 4 --group-size 128 --packing 32 "
                          "--batch 1,16,64,4096 --cache cfg.json";

// Runs the parser; returns its error ("" on success).
std::string parseError(const std::string& line) {
  ParsedTuneArgs parsed = parseTuneArgs(words(line));
  CHECK(parsed.options.has_value() == parsed.error.empty());
  return parsed.error;
}

class FakeTuner : public Tuner {
 public:
  std::set<std::string> failFamilies;
  std::vector<std::string> tuned;
  GpuIdentity gpu() const override { return {"Fake GPU", "9.0"}; }
  TuneResult tune(const KernelKey& key, ProgressFn progress) override {
    tuned.push_back(key.toString());
    for (int i = 0; i <= 4; ++i) progress(i, 4);
    if (failFamilies.count(familyName(key.family))) return {false, {}, 0, "no config fits"};
    // A config derived from the key, so the test can check what was stored where.
    return {true, KernelConfig{{{"N_mod", static_cast<int>(key.N % 1000)}, {"M", key.m_bucket}}},
            1.5 * key.m_bucket, ""};
  }
};

struct CliRun {
  int code;
  std::string out, err;
};

CliRun runCli(const std::string& line, TuneCliEnvironment env) {
  std::ostringstream out, err;
  int code = runTuneCli(words(line), env, out, err);
  return {code, out.str(), err.str()};
}

TuneCliEnvironment fakeEnvironment(FakeTuner* tuner) {
  TuneCliEnvironment env;
  env.gpuDriverLoadable = [](std::string*) { return true; };
  env.makeTuner = [tuner](const TuneOptions&, std::string*) -> std::unique_ptr<Tuner> {
    struct Forward : Tuner {
      FakeTuner* t;
      explicit Forward(FakeTuner* t) : t(t) {}
      GpuIdentity gpu() const override { return t->gpu(); }
      TuneResult tune(const KernelKey& k, ProgressFn p) override { return t->tune(k, p); }
    };
    return std::make_unique<Forward>(tuner);
  };
  double now = 0;
  env.clock = [now]() mutable { return now += 1.0; };
  env.env = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
  return env;
}

}  // namespace

TEST_CASE("the documented command line parses") {
  ParsedTuneArgs parsed = parseTuneArgs(words(kGood + " --kernels-dir /k --act-dtype fp16 --weight-only"));
  REQUIRE(parsed.options);
  const TuneOptions& o = *parsed.options;
  CHECK(o.action == TuneOptions::Action::kTune);
  REQUIRE(o.shapes.size() == 2);
  CHECK(o.shapes[1].N == 14336);
  CHECK(o.shapes[1].K == 4096);
  CHECK(o.bits == 4);
  CHECK(o.group_size == 128);
  CHECK(o.packing == 32);
  CHECK(o.batches == std::vector<int64_t>{1, 16, 64, 4096});
  CHECK(o.cache_path == "cfg.json");
  CHECK(o.kernels_dir == "/k");
  CHECK(o.act_dtype == "fp16");
  CHECK(o.out_dtype == "fp16");
  CHECK(o.quant == QuantMode::kWeightOnly);
  // --flag=value works too.
  ParsedTuneArgs eq = parseTuneArgs({"--shapes=64x128", "--bits=3", "--group-size=64"});
  REQUIRE(eq.options);
  CHECK(eq.options->bits == 3);
  CHECK(eq.options->batches.empty());
  CHECK(eq.options->cache_path.empty());

  ParsedTuneArgs list = parseTuneArgs({"--list", "x.json"});
  REQUIRE(list.options);
  CHECK(list.options->action == TuneOptions::Action::kList);
  CHECK(list.options->list_path == "x.json");
  CHECK(parseTuneArgs({"--bogus", "--help"}).options->action == TuneOptions::Action::kHelp);

  ParsedTuneArgs int8 = parseTuneArgs({"--int8-dynamic", "--shapes", "4096x4096"});
  REQUIRE(int8.options);
  CHECK(int8.options->bits == 8);
  CHECK(int8.options->group_size == 0);
  // Weight-only 8-bit weights: one scale per row, the group is K.
  CHECK(parseTuneArgs(words("--shapes 4096x4096 --bits 8 --group-size 4096")).options);
}

TEST_CASE("argument errors name the argument") {
  struct Case {
    std::string line, mustMention;
  };
  const std::vector<Case> cases = {
      {"--shapes 4096x --bits 4 --group-size 128", "'4096x'"},
      {"--shapes 4096x4096,x4096 --bits 4 --group-size 128", "'x4096'"},
      {"--shapes 4096*4096 --bits 4 --group-size 128", "--shapes"},
      {"--shapes 0x4096 --bits 4 --group-size 128", "'0x4096'"},
      {"--shapes -1x4096 --bits 4 --group-size 128", "'-1x4096'"},
      {kGood + " --frobnicate", "'--frobnicate'"},
      {kGood + " stray", "'stray'"},
      {"--shapes 4096x4096 --bits 9 --group-size 128", "--bits 9"},
      {"--shapes 4096x4096 --bits 0 --group-size 128", "--bits"},
      {"--shapes 4096x4096 --bits four --group-size 128", "'four'"},
      {"--shapes 4096x4096 --group-size 128", "--bits"},
      {"--shapes 4096x4096 --bits 4", "--group-size"},
      {"--shapes 4096x4000 --bits 4 --group-size 128", "--group-size 128"},
      {"--shapes 4096x4096 --bits 4 --group-size 128 --packing 12", "--packing"},
      {"--shapes 4096x4096 --bits 4 --group-size 128 --batch 1,,4", "--batch"},
      {"--shapes 4096x4096 --bits 4 --group-size 128 --batch 0", "'0'"},
      {"--shapes 4096x4096 --bits 4 --group-size 128 --act-dtype f32", "--act-dtype"},
      {"--shapes 4096x4096 --bits 4 --group-size 128 --out-dtype int4", "--out-dtype"},
      {"--shapes 4096x4096 --bits 4 --group-size 128 --cache", "--cache"},
      {"--shapes 4096x4096 --bits 4 --group-size 128 --cache --force", "--cache"},
      {"--shapes 4096x4096 --bits 4 --bits 4 --group-size 128", "--bits"},
      {"--shapes 4096x4096 --bits 4 --group-size 128 --weight-only --int8-dynamic", "--int8-dynamic"},
      {"--int8-dynamic --shapes 4096x4096 --bits 4", "--bits 4"},
      {"--int8-dynamic --shapes 4096x4096 --group-size 128", "--group-size"},
      {"--bits 4 --group-size 128", "--shapes"},
      {"--list x.json --shapes 4096x4096", "--shapes"},
      {"--force=yes --shapes 4096x4096 --bits 4 --group-size 128", "--force"},
      // Formats the library refuses: found here, not after the GPU started, key by key.
      {"--shapes 4096x4096 --bits 5 --group-size 128", "unknown bit width 5"},
      {"--shapes 4096x4096 --bits 4 --group-size 16", "group_size = 16 is not supported"},
      {"--shapes 4096x4096 --bits 4 --group-size 1024", "on shape 4096x4096"},
      {"--shapes 4096x4096 --bits 8 --group-size 128", "per output channel"},
      {"", "--shapes"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.line);
    std::string error = parseError(c.line);
    REQUIRE(!error.empty());
    CHECK(error.find(c.mustMention) != std::string::npos);
    // Through the CLI entry point: exit code 2, message on stderr, nothing tuned.
    CliRun run = runCli(c.line, TuneCliEnvironment{});
    CHECK(run.code == kExitBadArguments);
    CHECK(run.err.find(c.mustMention) != std::string::npos);
    CHECK(run.out.empty());
  }
}

TEST_CASE("planning covers every shape x bucket x family once") {
  TuneOptions o = *parseTuneArgs(words("--shapes 4096x4096,14336x4096,4096x4096 --bits 4 "
                                       "--group-size 128 --batch 1,2,3,4,100,5000,9999")).options;
  auto keys = planTuningKeys(o);
  // Buckets: 1,2,4,128,4096. Families: <=8 -> gemv + gemv_tiled, else gemm. Two distinct shapes.
  std::set<std::string> expected;
  for (int64_t n : {4096, 14336})
    for (int b : {1, 2, 4, 128, 4096})
      for (std::string f : b <= 8 ? std::vector<std::string>{"gemv", "gemv_tiled"}
                                  : std::vector<std::string>{"gemm"})
        expected.insert("family=" + f + ";bits=4;group=128;pack=32;act=bf16;out=bf16;N=" +
                        std::to_string(n) + ";K=4096;M=" + std::to_string(b));
  std::set<std::string> got;
  for (const auto& k : keys) got.insert(k.toString());
  CHECK(got == expected);
  CHECK(keys.size() == expected.size());

  TuneOptions all = *parseTuneArgs(words("--int8-dynamic --shapes 256x512")).options;
  auto int8Keys = planTuningKeys(all);
  CHECK(int8Keys.size() == 13);  // every bucket 1..4096
  for (const auto& k : int8Keys) {
    CHECK(k.family == uintx::cache::KernelFamily::gemm_int8);
    CHECK(k.group_size == 512);  // per output channel
    CHECK(k.bit_width == 8);
  }
}

TEST_CASE("no GPU driver: exit code 3 and a clear message") {
  TuneCliEnvironment env;
  env.gpuDriverLoadable = [](std::string* why) {
    *why = "dlopen(\"libcuda.so.1\") failed: not found";
    return false;
  };
  env.env = [](const std::string&) -> std::optional<std::string> { return "/tmp/unused"; };
  CliRun run = runCli(kGood, env);
  CHECK(run.code == kExitNoGpu);
  CHECK(run.err.find("no GPU") != std::string::npos);
  CHECK(run.err.find("libcuda.so.1") != std::string::npos);

  // A driver but no tuner in this build: also 3, saying so.
  env.gpuDriverLoadable = [](std::string*) { return true; };
  run = runCli(kGood, env);
  CHECK(run.code == kExitNoGpu);
  CHECK(run.err.find("no GPU tuner") != std::string::npos);
}

TEST_CASE("a tuning run fills the cache, prints plain lines, and skips what is cached") {
  TempDir dir;
  const std::string cache = dir.file("cfg.json");
  FakeTuner tuner;
  const std::string line = "--shapes 4096x4096,14336x4096 --bits 4 --group-size 128 --batch 1,64 --cache " + cache;
  CliRun run = runCli(line, fakeEnvironment(&tuner));
  CHECK(run.code == kExitOk);
  CHECK(run.err.empty());
  // 2 shapes x (bucket 1: gemv, gemv_splitk; bucket 64: gemm) = 6 keys.
  CHECK(tuner.tuned.size() == 6);
  CacheFileContents contents = readConfigCacheFile(cache);
  REQUIRE(contents.status == CacheFileContents::Status::kOk);
  CHECK(contents.gpu.name == "Fake GPU");
  CHECK(contents.entries.size() == 6);
  for (const auto& [text, entry] : contents.entries) {
    KernelKey key = KernelKey::parse(text);
    CHECK(entry.config.params.at("N_mod") == key.N % 1000);
    CHECK(entry.time_us == 1.5 * key.m_bucket);
  }
  // Piped output: no carriage returns or escape codes; one "[i/6] key: ..." line per key.
  CHECK(run.out.find('\r') == std::string::npos);
  CHECK(run.out.find('\x1b') == std::string::npos);
  int stepLines = 0;
  for (const auto& l : linesOf(run.out))
    if (l.rfind("[", 0) == 0) {
      ++stepLines;
      CHECK(l.rfind("[" + std::to_string(stepLines) + "/6] family=", 0) == 0);
      CHECK(l.find("ETA") != std::string::npos);
    }
  CHECK(stepLines == 6);

  // Second run: everything cached, nothing tuned.
  tuner.tuned.clear();
  run = runCli(line, fakeEnvironment(&tuner));
  CHECK(run.code == kExitOk);
  CHECK(tuner.tuned.empty());
  CHECK(run.out.find("6 already cached, 0 to tune") != std::string::npos);
  // --force re-tunes.
  run = runCli(line + " --force", fakeEnvironment(&tuner));
  CHECK(tuner.tuned.size() == 6);

  // --list shows every entry.
  run = runCli("--list " + cache, TuneCliEnvironment{});
  CHECK(run.code == kExitOk);
  CHECK(run.out.find("gpu: Fake GPU (compute capability 9.0)") != std::string::npos);
  CHECK(run.out.find("entries: 6") != std::string::npos);
  for (const auto& [text, entry] : contents.entries) CHECK(run.out.find(text) != std::string::npos);
}

TEST_CASE("a failing key gives exit code 4; the others are saved") {
  TempDir dir;
  FakeTuner tuner;
  tuner.failFamilies = {"gemv_tiled"};
  CliRun run = runCli("--shapes 128x256 --bits 4 --group-size 64 --batch 1,32 --cache " + dir.file("c.json"),
                      fakeEnvironment(&tuner));
  CHECK(run.code == kExitTuningFailed);
  CHECK(run.err.find("gemv_tiled") != std::string::npos);
  CHECK(run.err.find("no config fits") != std::string::npos);
  CHECK(readConfigCacheFile(dir.file("c.json")).entries.size() == 2);  // gemv M=1, gemm M=32
}

TEST_CASE("--list errors: missing and corrupt files give exit code 5") {
  TempDir dir;
  CliRun run = runCli("--list " + dir.file("nope.json"), TuneCliEnvironment{});
  CHECK(run.code == kExitCacheError);
  CHECK(run.err.find("does not exist") != std::string::npos);
  std::ofstream(dir.file("bad.json")) << "{\"schema_version\": 1, \"gpu\"";
  run = runCli("--list " + dir.file("bad.json"), TuneCliEnvironment{});
  CHECK(run.code == kExitCacheError);
  CHECK(run.err.find("bad.json") != std::string::npos);
  CHECK(run.err.find("not valid JSON") != std::string::npos);
}

TEST_CASE("--list prints a file's huge times whole") {
  TempDir dir;
  std::ofstream(dir.file("big.json"))
      << R"({"schema_version": 1, "gpu": {"name": "G", "compute_capability": "9.0"}, "entries": {)"
      << R"("family=gemv;bits=4;group=128;pack=32;act=bf16;out=bf16;N=64;K=128;M=1":)"
      << R"( {"config": {"BLOCK_N": 8}, "time_us": 1e300}}})";
  CliRun run = runCli("--list " + dir.file("big.json"), TuneCliEnvironment{});
  CHECK(run.code == kExitOk);
  CHECK(run.out.find("1e+300 us") != std::string::npos);
}

TEST_CASE("--help prints usage with the exit codes") {
  CliRun run = runCli("--help", TuneCliEnvironment{});
  CHECK(run.code == 0);
  CHECK(run.out.find("Exit codes") != std::string::npos);
  CHECK(run.out.find("--shapes") != std::string::npos);
}

TEST_CASE("progress bar: plain lines when piped, a bar with ETA on a terminal") {
  double now = 100;
  auto clock = [&now] { return now; };
  std::ostringstream plain;
  ProgressBar bar(plain, /*interactive=*/false, 4, clock);
  for (int i = 0; i < 4; ++i) {
    bar.beginStep("key" + std::to_string(i));
    for (int c = 0; c <= 10; ++c) bar.stepProgress(c, 10);
    now += 10;  // each step takes 10 s
    bar.endStep("ok");
  }
  bar.finish("done");
  auto lines = linesOf(plain.str());
  REQUIRE(lines.size() == 5);
  CHECK(lines[0] == "[1/4] key0: ok (elapsed 0:10, ETA 0:30)");
  CHECK(lines[1] == "[2/4] key1: ok (elapsed 0:20, ETA 0:20)");
  CHECK(lines[3] == "[4/4] key3: ok (elapsed 0:40, ETA 0:00)");
  CHECK(lines[4] == "done");

  now = 0;
  std::ostringstream tty;
  ProgressBar live(tty, /*interactive=*/true, 2, clock);
  live.beginStep("k");
  now = 30;
  live.stepProgress(1, 2);  // a quarter done after 30 s -> 90 s left
  CHECK(live.etaSeconds() == doctest::Approx(90));
  CHECK(live.barText().find("ETA 1:30") != std::string::npos);
  CHECK(live.barText().rfind("[#######.......................] 0/2 25%", 0) == 0);
  CHECK(tty.str().find("\r\x1b[K") != std::string::npos);

  CHECK(ProgressBar::formatDuration(-1) == "--:--");
  CHECK(ProgressBar::formatDuration(59.4) == "0:59");
  CHECK(ProgressBar::formatDuration(3723) == "1:02:03");
}
