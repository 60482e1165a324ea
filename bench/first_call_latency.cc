// Time to the first result of uintx::linear in a fresh process: run it once with empty
// caches (cold: tuning off, so the default config is compiled) and once after uintx-tune
// filled them (warm: no MLIR compilation, the tuned config). docs/CACHE.md, "First-call latency".
//
//   first_call_latency --cache cfg.json --kernels-dir DIR --shape 4096x4096 --batch 1
//       [--bits 4 --group-size 128 --packing 32 --dtype bf16 --int8-activations]
//       [--launched-at-ns $(date +%s%N)]
//
// Prints key=value lines; "compiles=N disk_hits=N" tells cold from warm (warm: compiles=0),
// and "plan_config=tuned" that the first call ran the cached config. Exit 0 when the call
// ran and its output matched a float64 reference on sampled rows; 1 otherwise; 2 bad arguments.
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>

#include "runtime/cuda_driver.h"
#include "runtime/device_buffer.h"
#include "dispatch/call_key.h"
#include "dispatch/kernel_store.h"
#include "kernels/families.h"
#include "kernels/common/quant_spec.h"
#include "uintx/error.h"
#include "uintx/half.h"
#include "uintx/uintx.h"

using namespace uintx;

namespace {

using Clock = std::chrono::steady_clock;

double msBetween(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

int64_t nowNs(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return int64_t(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// How long ago this process started, from /proc/self/stat (clock ticks since boot: 10 ms
// resolution). -1 if unreadable.
double msSinceProcessStartFromProc() {
  std::ifstream stat("/proc/self/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  size_t close = text.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22 && fields >> field; ++i)
    if (i == 22) {
      double startS = std::stod(field) / double(sysconf(_SC_CLK_TCK));
      return (double(nowNs(CLOCK_BOOTTIME)) / 1e9 - startS) * 1000.0;
    }
  return -1;
}

struct Args {
  std::string cache, kernelsDir;
  bool haveCache = false, haveKernelsDir = false;
  int64_t N = 4096, K = 4096, M = 1;
  int bits = 4, group = 128, packing = 32;
  ScalarType dtype = ScalarType::bf16;
  int64_t launchedAtNs = 0;  // CLOCK_REALTIME of the launch, from the caller (optional)
  bool int8 = false;         // LinearOptions::int8Activations
};

int64_t positive(const std::string& flag, const std::string& text) {
  size_t used = 0;
  long long v = 0;
  try {
    v = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || v < 1) throw Error(flag + ": '" + text + "' is not a positive integer");
  return v;
}

Args parseArgs(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      std::cout << "usage: first_call_latency [--cache FILE] [--kernels-dir DIR] [--shape NxK] [--batch M]\n"
                   "         [--bits B] [--group-size G] [--packing P] [--dtype bf16|fp16] [--int8-activations]\n"
                   "         [--launched-at-ns NS]\n";
      std::exit(0);
    }
    if (flag == "--int8-activations") {
      a.int8 = true;
      continue;
    }
    if (i + 1 >= argc) throw Error(flag + " needs a value");
    std::string v = argv[++i];
    if (flag == "--cache") a.cache = v, a.haveCache = true;
    else if (flag == "--kernels-dir") a.kernelsDir = v, a.haveKernelsDir = true;
    else if (flag == "--shape") {
      size_t x = v.find('x');
      if (x == std::string::npos) throw Error("--shape: '" + v + "' is not NxK");
      a.N = positive("--shape", v.substr(0, x));
      a.K = positive("--shape", v.substr(x + 1));
    } else if (flag == "--batch") a.M = positive(flag, v);
    else if (flag == "--bits") a.bits = int(positive(flag, v));
    else if (flag == "--group-size") a.group = int(positive(flag, v));
    else if (flag == "--packing") a.packing = int(positive(flag, v));
    else if (flag == "--launched-at-ns") a.launchedAtNs = positive(flag, v);
    else if (flag == "--dtype") {
      if (v != "bf16" && v != "fp16") throw Error("--dtype: '" + v + "' must be bf16 or fp16");
      a.dtype = v == "bf16" ? ScalarType::bf16 : ScalarType::f16;
    } else throw Error("unknown argument '" + flag + "'");
  }
  return a;
}

float halfToFloat(uint16_t bits, ScalarType t) {
  return t == ScalarType::bf16 ? toFloat(bf16{bits}) : toFloat(fp16{bits});
}

}  // namespace

int main(int argc, char** argv) {
  const Clock::time_point mainStart = Clock::now();
  const int64_t mainRealtimeNs = nowNs(CLOCK_REALTIME);
  const double procMs = msSinceProcessStartFromProc();

  Args a;
  try {
    a = parseArgs(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "first_call_latency: error: " << e.what() << "\n";
    return 2;
  }
  // Time from the process's start to main(): exact when the caller passed its launch time.
  double startToMainMs = a.launchedAtNs ? double(mainRealtimeNs - a.launchedAtNs) / 1e6 : procMs;
  const char* startSource = a.launchedAtNs ? "launched-at-ns" : "/proc/self/stat, 10 ms ticks";

  try {
    CacheSettings settings = cacheSettings();
    if (a.haveCache) settings.configCachePath = a.cache;
    if (a.haveKernelsDir) settings.kernelsDir = a.kernelsDir;
    setCacheSettings(settings);

    // CUDA: driver, context. Every CUDA program pays this; it is not uintx's first-call cost.
    Clock::time_point t = Clock::now();
    runtime::ensureCudaContext();
    runtime::CudaDeviceInfo device = runtime::currentCudaDevice();
    const double cudaInitMs = msBetween(t, Clock::now());

    // The weight a server would load from disk: random, quantized here, uploaded.
    t = Clock::now();
    std::mt19937 rng(1234);
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    std::vector<float> dense(size_t(a.N * a.K));
    for (float& v : dense) v = uniform(rng);
    QuantizeOptions qo;
    qo.bit_width = a.bits;
    qo.group_size = a.bits == 8 ? 0 : a.group;
    qo.packing_bitwidth = a.packing;
    QuantizedWeight q = quantize(dense.data(), a.N, a.K, qo);
    dense = {};
    DeviceWeight w(q);
    std::vector<uint16_t> xHost(size_t(a.M * a.K));
    for (uint16_t& v : xHost) v = a.dtype == ScalarType::bf16 ? toBf16(uniform(rng)).bits : toFp16(uniform(rng)).bits;
    runtime::DeviceBuffer x = runtime::DeviceBuffer::fromHost(xHost), y(size_t(a.M * a.N) * 2);
    runtime::checkCuda(runtime::cudaDriver().cuCtxSynchronize(), "cuCtxSynchronize");
    const double prepareMs = msBetween(t, Clock::now());

    // The measured call: key, config lookup, kernels (memory / disk / compile), launch, result.
    const Clock::time_point callStart = Clock::now();
    linear({(void*)x.get(), a.M, a.K, a.dtype}, w, {(void*)y.get(), a.M, a.N, a.dtype}, nullptr, {a.int8});
    runtime::checkCuda(runtime::cudaDriver().cuCtxSynchronize(), "cuCtxSynchronize");
    const Clock::time_point firstResult = Clock::now();
    const dispatch::KernelCacheStats stats = dispatch::kernelCacheStats();

    t = Clock::now();
    linear({(void*)x.get(), a.M, a.K, a.dtype}, w, {(void*)y.get(), a.M, a.N, a.dtype}, nullptr, {a.int8});
    runtime::checkCuda(runtime::cudaDriver().cuCtxSynchronize(), "cuCtxSynchronize");
    const double secondMs = msBetween(t, Clock::now());

    const double firstMs = msBetween(callStart, firstResult);
    const double mainToResult = msBetween(mainStart, firstResult);
    std::printf("shape=%lldx%lld M=%lld bits=%d group=%d pack=%d dtype=%s\n", (long long)a.N, (long long)a.K,
                (long long)a.M, a.bits, q.format().group_size, a.packing, scalarTypeName(a.dtype));
    std::printf("gpu=%s cc=%d.%d\n", device.name.c_str(), device.ccMajor, device.ccMinor);
    std::printf("cache=%s kernels_dir=%s\n", settings.configCachePath.c_str(), settings.kernelsDir.c_str());
    std::printf("start_to_main_ms=%.2f (%s)\n", startToMainMs, startSource);
    std::printf("cuda_init_ms=%.2f\n", cudaInitMs);
    std::printf("weight_prepare_ms=%.2f (random quantize + upload; a server loads its weights instead)\n", prepareMs);
    std::printf("first_linear_ms=%.3f (call -> result synchronized)\n", firstMs);
    std::printf("second_linear_ms=%.3f\n", secondMs);
    std::printf("process_to_first_result_ms=%.2f\n", startToMainMs + mainToResult);
    std::printf("process_to_first_result_excl_weight_prepare_ms=%.2f\n", startToMainMs + mainToResult - prepareMs);
    std::printf("compiles=%d disk_hits=%d memory_hits=%d\n", stats.compiles, stats.diskHits, stats.memoryHits);

    // Which config the first call ran: the tuned one if the cache has it, else the default.
    // Proof: its kernel must now be in memory (a memory hit), put there by that call.
    const cache::KernelKey key = dispatch::callKey(q.format(), a.dtype, a.M, a.int8);
    const std::string cc = std::to_string(device.ccMajor) + "." + std::to_string(device.ccMinor);
    const kernels::QuantSpec spec = kernels::quantSpecOf(q.format());
    const dsl::DType dact = kernels::dslType(a.dtype);
    std::optional<cache::KernelConfig> tuned = dispatch::tunedConfig(
        key, device.name, cc, [&](const cache::KernelConfig& c) { return kernels::configError(key.family, spec, c); });
    const cache::KernelConfig expected =
        tuned ? *tuned : kernels::defaultConfig(key.family, spec, key.m_bucket, device.smCount);
    // The plan linear() should have made: all its kernels are in memory, none compiled or read.
    const dispatch::KernelCacheStats before = dispatch::kernelCacheStats();
    kernels::makePlan(key.family, spec, dact, dact, w.hasBias(), expected, dispatch::compiledKernel);
    const dispatch::KernelCacheStats after = dispatch::kernelCacheStats();
    const bool ranExpected = after.compiles == before.compiles && after.diskHits == before.diskHits;
    std::printf("key=%s\n", key.toString().c_str());
    std::printf("tuned=%s config=%s\n", tuned ? "yes" : "no", (tuned ? *tuned : expected).toString().c_str());
    std::printf("plan_config=%s\n", !ranExpected ? "other" : tuned ? "tuned" : "default");

    // The result itself, on 8 sampled rows of W and up to 8 rows of x, against float64.
    std::vector<uint16_t> yHost(size_t(a.M * a.N));
    y.download(yHost.data(), yHost.size() * 2);
    double num = 0, den = 0;
    for (int s = 0; s < 8; ++s) {
      int64_t n = int64_t(rng() % uint64_t(a.N));
      std::vector<float> row = q.sliceRows(n, n + 1).dequantize();
      for (int64_t m = 0; m < std::min<int64_t>(a.M, 8); ++m) {
        double want = 0;
        for (int64_t k = 0; k < a.K; ++k) want += double(halfToFloat(xHost[size_t(m * a.K + k)], a.dtype)) * row[size_t(k)];
        double got = halfToFloat(yHost[size_t(m * a.N + n)], a.dtype);
        num += (got - want) * (got - want);
        den += want * want;
      }
    }
    double relErr = std::sqrt(num / std::max(den, 1e-30));
    bool ok = relErr < (a.int8 ? 3e-2 : 1e-2) && ranExpected;  // int8 x adds its rounding
    std::printf("check_rel_err=%.3g %s\n", relErr, ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "first_call_latency: error: " << e.what() << "\n";
    return 1;
  }
}
