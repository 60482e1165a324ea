// On the GPU: uintx-tune's path (runTuneCli + the GPU tuner) tunes a small shape end to end
// into a temporary config cache and kernels directory; then a fresh process
// (bench/first_call_latency, fork + exec) runs uintx::linear from those caches: no MLIR
// compilation, and the config it ran is the tuned one.
// The child binary: $UINTX_FIRST_CALL_LATENCY, else the Bazel runfiles, else
// <this binary's dir>/../../bench/first_call_latency (bazel-bin's layout).
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <sstream>

#include "cache/config_cache.h"
#include "kernels/int8_gemm/int8_gemm.h"
#include "kernels/quantize_rows/quantize_rows.h"
#include "kernels/split_k_reduce/split_k_reduce.h"
#include "kernels/gemv/config_space.h"
#include "kernels/gemm/config_space.h"
#include "autotune/gpu_tuner.h"
#include "autotune/tune_cli.h"
#include "runtime/cuda_driver.h"
#include "dispatch/kernel_store.h"
#include "kernels/families.h"
#include "kernels/gemm/default_config.h"
#include "kernels/gemv/default_config.h"
#include "kernels/common/quant_spec.h"
#include "tests/autotune/temp_dir.h"

using namespace uintx;
using namespace uintx::autotune;
using namespace uintx::cache;
using namespace uintx::kernels;

namespace {

std::string firstCallLatencyBinary() {
  namespace fs = std::filesystem;
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv("UINTX_FIRST_CALL_LATENCY")) candidates.push_back(env);
  if (const char* srcdir = std::getenv("TEST_SRCDIR")) {
    const char* ws = std::getenv("TEST_WORKSPACE");
    candidates.push_back(fs::path(srcdir) / (ws ? ws : "uintx") / "bench/first_call_latency");
  }
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    candidates.push_back(fs::path(self.string() + ".runfiles") / "uintx/bench/first_call_latency");
    candidates.push_back(self.parent_path() / "../../bench/first_call_latency");
  }
  for (const fs::path& p : candidates)
    if (::access(p.c_str(), X_OK) == 0) return p.string();
  return "";
}

struct ChildRun {
  int exitCode = -1;
  std::string output;  // stdout and stderr
};

ChildRun runChild(const std::vector<std::string>& argv) {
  int pipeFds[2];
  REQUIRE(::pipe(pipeFds) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(pipeFds[1], 1);
    ::dup2(pipeFds[1], 2);
    ::close(pipeFds[0]);
    ::close(pipeFds[1]);
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(pipeFds[1]);
  ChildRun run;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(pipeFds[0], buffer, sizeof buffer)) > 0) run.output.append(buffer, size_t(n));
  ::close(pipeFds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  run.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

// Every "name=value" token of the output; a value runs to the end of its token, except
// "config=" which runs to the end of its line (configs print as "A=1 B=2 ...").
std::map<std::string, std::string> fields(const std::string& output) {
  std::map<std::string, std::string> f;
  std::istringstream lines(output);
  std::string line;
  while (std::getline(lines, line)) {
    size_t config = line.find("config=");
    if (config != std::string::npos && (config == 0 || line[config - 1] == ' ') &&
        line.compare(0, 11, "plan_config") != 0) {
      f["config"] = line.substr(config + 7);
      line = line.substr(0, config);
    }
    std::istringstream tokens(line);
    std::string token;
    while (tokens >> token) {
      size_t eq = token.find('=');
      if (eq != std::string::npos && !f.count(token.substr(0, eq))) f[token.substr(0, eq)] = token.substr(eq + 1);
    }
  }
  return f;
}

KernelKey smallKey(int bucket, int64_t N = 1024) {
  KernelKey k;
  k.bit_width = 4;
  k.group_size = 128;
  k.packing_bitwidth = 32;
  k.act_dtype = k.out_dtype = "bf16";
  k.N = N;
  k.K = 1024;
  k.m_bucket = bucket;
  k.family = kernels::chooseFamily(kernels::quantSpecOf(kernels::weightFormatOf(k)), bucket, false);  // what linear() looks up
  return k;
}

}  // namespace

TEST_CASE("the GPU tuner times the whole GEMV and GEMM spaces, reports progress and returns a config of them") {
  testing::TempDir dir;
  setCacheSettings({"", dir.file("kernels")});
  std::vector<std::string> notes;
  GpuTunerOptions options;
  options.note = [&](const std::string& m) { notes.push_back(m); };
  GpuTuner tuner(options);
  runtime::CudaDeviceInfo device = runtime::currentCudaDevice();
  CHECK(tuner.gpu().name == device.name);

  // Another shape than the end-to-end test's: kernels compiled here stay in this process's
  // memory, and that test needs its own compiled into its own kernels directory.
  KernelKey key = smallKey(1, 2048);
  std::vector<kernels::GemvConfig> space = gemvConfigSpace(key, device.smCount);
  int calls = 0, lastDone = 0, lastTotal = 0;
  TuneResult r = tuner.tune(key, [&](int done, int total) {
    CHECK(done == lastDone + 1);
    lastDone = done;
    lastTotal = total;
    ++calls;
  });
  for (const std::string& n : notes) MESSAGE(n);
  REQUIRE_MESSAGE(r.ok, r.error);
  CHECK(calls == 2 * int(space.size()));  // each config compiled, then each timed
  CHECK(lastTotal == 2 * int(space.size()));
  CHECK(r.time_us > 0);
  CHECK(r.time_us < 1e4);
  bool inSpace = false;
  for (const auto& c : space) inSpace |= toKernelConfig(c) == r.config;
  CHECK(inSpace);

  // A width no kernel decodes: a failed result naming the width, not a throw.
  KernelKey unknown = key;
  unknown.bit_width = 12;
  unknown.group_size = int(unknown.K);
  TuneResult bad = tuner.tune(unknown, nullptr);
  CHECK(!bad.ok);
  CHECK(bad.error.find("12") != std::string::npos);

  // Tensor-core GEMM keys: every config of gemmConfigSpace is timed (split-K among them
  // when the grid is small), and the winner is one of them.
  KernelKey gemm = smallKey(64, 2048);
  REQUIRE(gemm.family == uintx::cache::KernelFamily::gemm);
  std::vector<kernels::GemmConfig> gemmSpace = gemmConfigSpace(gemm, device.smCount);
  int gemmCalls = 0;
  TuneResult g = tuner.tune(gemm, [&](int, int total) {
    CHECK(total == 2 * int(gemmSpace.size()));
    ++gemmCalls;
  });
  for (const std::string& n : notes) MESSAGE(n);
  REQUIRE_MESSAGE(g.ok, g.error);
  CHECK(gemmCalls == 2 * int(gemmSpace.size()));
  CHECK(g.time_us > 0);
  bool inGemmSpace = false;
  for (const auto& c : gemmSpace) inGemmSpace |= toKernelConfig(c) == g.config;
  CHECK(inGemmSpace);

  // int8 activations (4-bit g128 weights: BLOCK_K = 128, one group per K step), from the
  // int8 space.
  KernelKey int8Key = gemm;
  int8Key.family = uintx::cache::KernelFamily::gemm_int8;
  TuneResult gi = tuner.tune(int8Key, nullptr);
  for (const std::string& n : notes) MESSAGE(n);
  REQUIRE_MESSAGE(gi.ok, gi.error);
  CHECK(kernels::gemmConfigFrom(gi.config).blockK == 128);
  bool inInt8Space = false;
  for (const auto& c : gemmConfigSpace(int8Key, device.smCount)) inInt8Space |= toKernelConfig(c) == gi.config;
  CHECK(inInt8Space);
}

TEST_CASE("uintx-tune end to end, then a fresh process uses the caches: no compiles, the tuned config") {
  const std::string child = firstCallLatencyBinary();
  REQUIRE_MESSAGE(!child.empty(), "first_call_latency not found; set UINTX_FIRST_CALL_LATENCY");
  testing::TempDir dir;
  const std::string cache = dir.file("cfg.json"), kernelsDir = dir.file("kernels");

  const std::vector<std::string> args = {"--shapes", "1024x1024", "--bits", "4", "--group-size", "128",
                                         "--batch", "1,16", "--cache", cache, "--kernels-dir", kernelsDir};
  TuneCliEnvironment environment;
  environment.families = libraryFamilyPolicy(*parseTuneArgs(args).options);
  environment.makeTuner = makeGpuTuner;
  std::ostringstream out, err;
  int code = runTuneCli(args, environment, out, err);
  INFO("uintx-tune stdout:\n" << out.str() << "stderr:\n" << err.str());
  REQUIRE(code == kExitOk);

  runtime::CudaDeviceInfo device = runtime::currentCudaDevice();
  CacheFileContents contents = readConfigCacheFile(cache);
  REQUIRE(contents.status == CacheFileContents::Status::kOk);
  CHECK(contents.gpu.name == device.name);
  CHECK(contents.entries.size() == 2);
  size_t kernelFiles = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(kernelsDir))
    kernelFiles += e.is_regular_file() && e.path().extension() == ".ptx";
  CHECK(kernelFiles >= 2);

  for (int bucket : {1, 16}) {
    KernelKey key = smallKey(bucket);
    CHECK(kernels::chooseFamily(kernels::quantSpecOf(kernels::weightFormatOf(key)), bucket, false) == key.family);
    auto entry = contents.entries.find(key.toString());
    REQUIRE_MESSAGE(entry != contents.entries.end(), key.toString());
    kernels::QuantSpec q = kernels::quantSpecOf(kernels::weightFormatOf(key));
    if (key.family == uintx::cache::KernelFamily::gemm) CHECK(kernels::gemmSupports(q, kernels::gemmConfigFrom(entry->second.config), false));
    else CHECK_NOTHROW(kernels::validateGemvConfig(q, kernels::gemvConfigFrom(entry->second.config)));
    CHECK(entry->second.time_us > 0);

    ChildRun run = runChild({child, "--cache", cache, "--kernels-dir", kernelsDir, "--shape", "1024x1024",
                             "--batch", std::to_string(bucket)});
    INFO("first_call_latency M=" << bucket << ":\n" << run.output);
    CHECK(run.exitCode == 0);
    auto f = fields(run.output);
    CHECK(f["key"] == key.toString());
    CHECK(f["compiles"] == "0");
    CHECK(std::atoi(f["disk_hits"].c_str()) >= 1);
    CHECK(f["tuned"] == "yes");
    CHECK(f["plan_config"] == "tuned");
    CHECK(f["config"] == entry->second.config.toString());
    MESSAGE("warm first call, M=" << bucket << ": first_linear_ms=" << f["first_linear_ms"]
                                  << " process_to_first_result_excl_weight_prepare_ms="
                                  << f["process_to_first_result_excl_weight_prepare_ms"]);
  }
}
