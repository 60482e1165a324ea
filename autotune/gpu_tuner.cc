#include "autotune/gpu_tuner.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cmath>
#include <functional>
#include <iostream>
#include <optional>
#include <mutex>
#include <random>
#include <thread>

#include "cache/gpu_tables.h"
#include "codegen/jit_kernel.h"
#include "dispatch/kernel_store.h"
#include "kernels/families.h"
#include "runtime/cuda_driver.h"
#include "runtime/cuda_graph.h"
#include "runtime/cuda_stream.h"
#include "runtime/device_buffer.h"
#include "kernels/common/quant_spec.h"
#include "packing/quantize.h"
#include "uintx/error.h"
#include "uintx/half.h"
#include "uintx/uintx.h"

namespace uintx::autotune {

namespace {

std::string firstLine(const std::string& text, size_t max = 300) {
  std::string line = text.substr(0, text.find('\n'));
  return line.size() > max ? line.substr(0, max) + "..." : line;
}

ScalarType actScalarType(const std::string& dtype) {
  if (dtype == "bf16") return ScalarType::bf16;
  if (dtype == "fp16") return ScalarType::f16;
  throw Error("activation dtype '" + dtype + "' is not supported by the kernels (bf16 or fp16)");
}

// Candidates compiled at once: the machine's cores, at most 16 (each compile holds its own MLIR
// context and LLVM module).
int defaultCompileThreads() { return int(std::clamp(std::thread::hardware_concurrency(), 1u, 16u)); }

float halfToFloat(uint16_t bits, ScalarType t) {
  return t == ScalarType::bf16 ? toFloat(bf16{bits}) : toFloat(fp16{bits});
}

}  // namespace

// Random weights of the key's format (several device copies, rotated so that timing reads
// them from HBM, not L2), random activations, and output/partial buffers.
struct GpuTuner::Workload {
  std::string weightKey;  // the format the weights were made for
  std::optional<QuantizedWeight> host;
  std::vector<std::unique_ptr<DeviceWeight>> copies;
  std::string activationKey;  // M and dtype of the activations
  int64_t M = 0;
  ScalarType act = ScalarType::bf16;
  std::vector<uint16_t> xHost;
  runtime::DeviceBuffer x, yRef, yTest, workspace;
  runtime::CudaStream stream;
};

// One config of a key's space: its record for the cache, and how to compile its plan (kernels
// compiled and loaded into the current context; safe on any thread that has the context current).
struct GpuTuner::Candidate {
  std::string name;  // the config's toString(), for notes
  cache::KernelConfig record;
  std::function<std::shared_ptr<const kernels::KernelPlan>()> compile;  // throws when the config cannot compile
};

GpuTuner::GpuTuner(GpuTunerOptions options) : options_(std::move(options)) {
  if (!options_.note) options_.note = [](const std::string& m) { std::cerr << "uintx-tune: note: " << m << "\n"; };
  runtime::ensureCudaContext();
  runtime::CudaDeviceInfo info = runtime::currentCudaDevice();
  gpu_ = {info.name, std::to_string(info.ccMajor) + "." + std::to_string(info.ccMinor)};
  gpuModel_ = cache::gpuModelFor(gpu_.name, gpu_.compute_capability, info.smCount);
}

GpuTuner::~GpuTuner() = default;

TuneResult GpuTuner::tune(const cache::KernelKey& key, ProgressFn progress) {
  try {
    return tuneOrThrow(key, progress);
  } catch (const std::exception& e) {
    TuneResult r;
    r.error = e.what();
    return r;
  } catch (...) {
    TuneResult r;
    r.error = "unknown exception";
    return r;
  }
}

GpuTuner::Workload& GpuTuner::workloadFor(const cache::KernelKey& key) {
  const WeightFormat format = kernels::weightFormatOf(key);
  const std::string weightKey = "bits=" + std::to_string(key.bit_width) + ";group=" + std::to_string(key.group_size) +
                                ";pack=" + std::to_string(key.packing_bitwidth) + ";N=" + std::to_string(key.N) +
                                ";K=" + std::to_string(key.K);
  const std::string activationKey = weightKey + ";act=" + key.act_dtype + ";M=" + std::to_string(key.m_bucket);
  std::mt19937_64 rng(options_.seed ^ std::hash<std::string>()(activationKey));
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  if (!workload_) workload_ = std::make_unique<Workload>();
  Workload& w = *workload_;
  if (w.weightKey != weightKey) {
    w.weightKey.clear();  // (a failure below must not leave a stale key)
    w.activationKey.clear();
    w.copies.clear();  // free the previous format's device memory before allocating
    w.host.reset();
    std::vector<float> dense(size_t(format.N) * size_t(format.K));
    for (float& v : dense) v = uniform(rng);
    QuantizeOptions qo;
    qo.bit_width = format.bit_width;
    qo.group_size = format.group_size;
    qo.packing_bitwidth = format.packing_bitwidth;
    qo.scale_dtype = format.scale_dtype;
    w.host = quantize(dense.data(), format.N, format.K, qo);
    size_t bytes = w.host->packedBytes() + w.host->scalesBytes() + w.host->zerosBytes();
    size_t copies = std::clamp<size_t>((options_.rotatedBytes + bytes - 1) / bytes, 1, size_t(options_.maxCopies));
    for (size_t i = 0; i < copies; ++i) w.copies.push_back(std::make_unique<DeviceWeight>(*w.host));
    w.weightKey = weightKey;
  }
  if (w.activationKey != activationKey) {
    w.activationKey.clear();
    w.M = key.m_bucket;
    w.act = actScalarType(key.act_dtype);
    w.xHost.resize(size_t(w.M) * size_t(key.K));
    for (uint16_t& v : w.xHost) v = w.act == ScalarType::bf16 ? toBf16(uniform(rng)).bits : toFp16(uniform(rng)).bits;
    w.x = runtime::DeviceBuffer::fromHost(w.xHost);
    size_t yBytes = size_t(w.M) * size_t(key.N) * 2;
    w.yRef = runtime::DeviceBuffer(yBytes);
    w.yTest = runtime::DeviceBuffer(yBytes);
    w.workspace = runtime::DeviceBuffer();
    w.activationKey = activationKey;
  }
  return w;
}

std::vector<GpuTuner::Candidate> GpuTuner::candidates(const cache::KernelKey& key, Workload& w) {
  const kernels::QuantSpec q = kernels::quantSpecOf(w.host->format());
  const dsl::DType act = kernels::dslType(w.act);
  // The driver's PTX compile happens here too (load), not at the first launch, so that it runs
  // on the compiling thread.
  const kernels::CompileFn compileAndLoad = [](const dsl::KernelProgram& program) {
    std::shared_ptr<codegen::JitKernel> kernel = dispatch::compiledKernel(program);
    kernel->load();
    return kernel;
  };
  std::vector<Candidate> out;
  for (const cache::KernelConfig& config : kernels::configSpace(key, gpuModel_)) {
    out.push_back({kernels::describeConfig(key.family, config), config,
                   [q, act, config, family = key.family, compileAndLoad]() -> std::shared_ptr<const kernels::KernelPlan> {
                     return kernels::makePlan(family, q, act, act, /*hasBias=*/false, config, compileAndLoad);
                   }});
  }
  return out;
}

namespace {

// Compiles the candidates' plans on worker threads, in the order of the space (compiling, not
// timing, is most of a key's time); take(i) waits for plan i.
class PlanCompiler {
 public:
  using Compile = std::function<std::shared_ptr<const kernels::KernelPlan>(size_t)>;
  PlanCompiler(size_t count, int threads, Compile compile) : results_(count), compile_(std::move(compile)) {
    CUcontext context = runtime::ensureCudaContext();
    for (int t = 0; t < std::max(1, threads); ++t)
      workers_.emplace_back([this, context] {
        (void)runtime::cudaDriver().cuCtxSetCurrent(context);  // modules load into the tuner's context (else the primary one)
        for (size_t i; (i = next_.fetch_add(1)) < results_.size();) {
          Result r;
          try {
            r.plan = compile_(i);
          } catch (const std::exception& e) {
            r.error = e.what();
          } catch (...) {
            r.error = "unknown exception";
          }
          std::lock_guard<std::mutex> lock(mutex_);
          results_[i] = std::move(r);
          results_[i].done = true;
          ready_.notify_all();
        }
      });
  }
  // Stops handing out work and waits for the plans being compiled.
  ~PlanCompiler() {
    next_ = results_.size();
    for (std::thread& t : workers_) t.join();
  }
  // The plan of candidate i, waiting for it; throws its compile error.
  std::shared_ptr<const kernels::KernelPlan> take(size_t i) {
    std::unique_lock<std::mutex> lock(mutex_);
    ready_.wait(lock, [&] { return results_[i].done; });
    if (!results_[i].plan) throw Error(results_[i].error);
    return std::move(results_[i].plan);
  }

 private:
  struct Result {
    bool done = false;
    std::shared_ptr<const kernels::KernelPlan> plan;
    std::string error;
  };
  std::vector<Result> results_;
  Compile compile_;
  std::atomic<size_t> next_{0};
  std::mutex mutex_;
  std::condition_variable ready_;
  std::vector<std::thread> workers_;
};

}  // namespace

// $UINTX_TUNE_TIMINGS names a CSV that every timed candidate is appended to (key, the
// candidate's place in the space (0: the default), config, microseconds): the data the cost
// model's constants are fitted to and checked against (docs/PERFORMANCE.md).
template <typename Candidates, typename Timed>
void logTimings(const cache::KernelKey& key, const Candidates& space, const Timed& timed) {
  const char* path = std::getenv("UINTX_TUNE_TIMINGS");
  if (!path || !*path) return;
  std::string text;
  for (const auto& t : timed)
    text += '"' + key.toString() + "\"," + std::to_string(t.index) + ",\"" + space[size_t(t.index)].name + "\"," +
            std::to_string(t.us) + "\n";
  // A regular file only (a FIFO without a reader would block the tuner: O_NONBLOCK fails at
  // once), every write checked; a failure is reported once and the tuning goes on.
  const int fd = ::open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0644);
  struct stat st;
  bool ok = fd >= 0 && ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  for (size_t done = 0; ok && done < text.size();) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    done += ok ? size_t(n) : 0;
  }
  if (fd >= 0 && ::close(fd) != 0) ok = false;
  if (!ok) dispatch::warnOnce("UINTX_TUNE_TIMINGS: cannot append to '" + std::string(path) + "' (a regular file is needed)");
}

TuneResult GpuTuner::tuneOrThrow(const cache::KernelKey& key, const ProgressFn& progress) {
  if (key.out_dtype != key.act_dtype)
    throw Error("out dtype '" + key.out_dtype + "' differs from act dtype '" + key.act_dtype +
                "': uintx::linear writes y in x's dtype");
  runtime::ensureCudaContext();
  Workload& w = workloadFor(key);
  const std::vector<Candidate> space = candidates(key, w);
  const CUstream stream = w.stream.get();
  const int total = int(space.size());

  const int copies = int(w.copies.size());
  // Every sample replays the same number of launches, a multiple of the copies (>= 8).
  const int perSample = copies * ((8 + copies - 1) / copies);

  // y = x @ dequant(copy)^T through a candidate's plan, on the workload's stream.
  using Launch = std::function<void(const DeviceWeight& copy, CUdeviceptr y)>;
  auto launchOf = [&w](std::shared_ptr<const kernels::KernelPlan> plan) -> Launch {
    size_t bytes = plan->workspaceBytes(w.M);
    if (w.workspace.size() < bytes) {
      w.stream.synchronize();  // earlier candidates may still use the old buffer
      w.workspace = runtime::DeviceBuffer(bytes);
    }
    return [plan, &w](const DeviceWeight& copy, CUdeviceptr y) {
      kernels::LinearCall call;
      call.x = w.x.get();
      call.y = y;
      call.packed = copy.packed();
      call.scales = copy.scales();
      call.zeros = copy.zeros();
      call.workspace = w.workspace.get();
      call.M = w.M;
      plan->launch(call, w.stream.get());
    };
  };
  auto launchOn = [&](const Launch& launch, int i, CUdeviceptr y) {
    launch(*w.copies[size_t(i % copies)], y);
  };

  struct Timed {
    int index;  // in `space`
    Launch launch;
    double us;
  };
  std::vector<Timed> timed;
  std::string firstFailure;
  // Every plan is compiled before any is timed: compile threads running beside the timing
  // could delay its launches and inflate the times.
  std::vector<std::shared_ptr<const kernels::KernelPlan>> plans(space.size());
  std::vector<std::string> compileErrors(space.size());
  {
    PlanCompiler compiler(space.size(), options_.compileThreads > 0 ? options_.compileThreads : defaultCompileThreads(),
                          [&space](size_t i) { return space[i].compile(); });
    for (int i = 0; i < total; ++i) {
      try {
        plans[size_t(i)] = compiler.take(size_t(i));
      } catch (const std::exception& e) {
        compileErrors[size_t(i)] = e.what();
      }
      if (progress) progress(i + 1, 2 * total);
    }
  }
  for (int i = 0; i < total; ++i) {
    const Candidate& c = space[size_t(i)];
    try {
      if (!plans[size_t(i)]) throw Error(compileErrors[size_t(i)]);
      Launch l = launchOf(std::move(plans[size_t(i)]));
      for (int r = 0; r < options_.warmup; ++r) launchOn(l, r, w.yTest.get());
      w.stream.synchronize();
      auto graph = runtime::LaunchGraph::capture(stream, [&] {
        for (int r = 0; r < perSample; ++r) launchOn(l, r, w.yTest.get());
      });
      std::vector<runtime::CudaEvent> starts(size_t(options_.repeats)), stops(size_t(options_.repeats));
      for (int s = 0; s < options_.repeats; ++s) {
        starts[size_t(s)].record(stream);
        if (graph) {
          graph->launch(stream);
        } else {
          for (int r = 0; r < perSample; ++r) launchOn(l, r, w.yTest.get());
        }
        stops[size_t(s)].record(stream);
      }
      std::vector<double> us;
      for (int s = 0; s < options_.repeats; ++s)
        us.push_back(1000.0 * runtime::CudaEvent::elapsedMs(starts[size_t(s)], stops[size_t(s)]) / perSample);
      std::nth_element(us.begin(), us.begin() + us.size() / 2, us.end());
      timed.push_back({i, std::move(l), us[us.size() / 2]});
    } catch (const std::exception& e) {
      std::string why = firstLine(e.what());
      if (firstFailure.empty()) firstFailure = c.name + ": " + why;
      options_.note(key.toString() + ": skipped config " + c.name + ": " + why);
      try {
        w.stream.synchronize();  // a failed launch may leave work queued
      } catch (const std::exception&) {
      }
    }
    if (progress) progress(total + i + 1, 2 * total);
  }
  if (timed.empty())
    throw Error("none of the " + std::to_string(total) + " configs could run; first failure: " + firstFailure);
  logTimings(key, space, timed);

  // Correctness: the reference is the default config's output (space[0]), itself checked
  // on sampled rows against a CPU float64 reference, so a broken config cannot win.
  const size_t yCount = size_t(w.M) * size_t(key.N);
  auto run = [&](const Launch& l, runtime::DeviceBuffer& y) {
    runtime::checkCuda(runtime::cudaDriver().cuMemsetD8_v2(y.get(), 0xFF, y.size()), "cuMemsetD8");  // NaN: unwritten shows
    launchOn(l, 0, y.get());
    w.stream.synchronize();
    std::vector<uint16_t> bits(yCount);
    y.download(bits.data(), yCount * 2);
    std::vector<float> out(yCount);
    for (size_t i = 0; i < yCount; ++i) out[i] = halfToFloat(bits[i], w.act);
    return out;
  };
  const Timed& reference = *std::min_element(timed.begin(), timed.end(),
                                             [](const Timed& a, const Timed& b) { return a.index < b.index; });
  const std::vector<float> yRef = run(reference.launch, w.yRef);
  {
    // Sampled rows of W, dequantized on the CPU; the first (up to) 8 rows of x.
    std::mt19937_64 rng(options_.seed + 1);
    std::vector<float> got, want;
    int64_t rows = std::min<int64_t>(w.M, 8);
    for (int s = 0; s < 8; ++s) {
      int64_t n = int64_t(rng() % uint64_t(key.N));
      std::vector<float> wRow = w.host->sliceRows(n, n + 1).dequantize();
      for (int64_t m = 0; m < rows; ++m) {
        double sum = 0;
        for (int64_t k = 0; k < key.K; ++k)
          sum += double(halfToFloat(w.xHost[size_t(m * key.K + k)], w.act)) * wRow[size_t(k)];
        want.push_back(float(sum));
        got.push_back(yRef[size_t(m * key.N + n)]);
      }
    }
    // int8 activations add their own rounding (per-row scale / 127) to the product.
    double bound = key.family == cache::KernelFamily::gemm_int8 ? 3e-2 : 1e-2;
    double err = relativeError(got, want);
    if (!(err < bound))
      throw Error("the reference config " + space[size_t(reference.index)].name +
                  " disagrees with the CPU reference (relative error " + std::to_string(err) +
                  "): a kernel bug; nothing recorded");
  }

  std::vector<const Timed*> byTime;
  for (const Timed& t : timed) byTime.push_back(&t);
  std::stable_sort(byTime.begin(), byTime.end(), [](const Timed* a, const Timed* b) { return a->us < b->us; });
  for (const Timed* t : byTime) {
    if (t != &reference) {
      std::string why = disagreement(run(t->launch, w.yTest), yRef, options_.agreement);
      if (!why.empty()) {
        options_.note(key.toString() + ": rejected config " + space[size_t(t->index)].name +
                      ": its output differs from the default config's: " + why);
        continue;
      }
    }
    TuneResult result;
    result.ok = true;
    result.config = space[size_t(t->index)].record;
    result.time_us = t->us;
    return result;
  }
  throw Error("no config's output matched the reference config's");  // unreachable: the reference itself passes
}

FamilyPolicy libraryFamilyPolicy(const TuneOptions& options) {
  return [options](int mBucket, QuantMode mode) {
    std::vector<cache::KernelFamily> families;
    for (const WeightShape& shape : options.shapes) {
      cache::KernelFamily family = cache::KernelFamily::gemv;
      try {
        WeightFormat f;
        f.bit_width = options.bits;
        f.group_size = options.group_size > 0 ? options.group_size : int(shape.K);
        f.packing_bitwidth = options.packing;
        f.N = shape.N;
        f.K = shape.K;
        f.validate();
        family = kernels::chooseFamily(kernels::quantSpecOf(f), mBucket, mode == QuantMode::kInt8Dynamic);
      } catch (const std::exception&) {
      }
      if (std::find(families.begin(), families.end(), family) == families.end()) families.push_back(family);
    }
    return families;
  };
}

std::unique_ptr<Tuner> makeGpuTuner(const TuneOptions& options, std::string* why) {
  std::string driverWhy;
  if (!runtime::cudaDriverAvailable(&driverWhy)) {
    if (why) *why = "the CUDA driver cannot be used: " + driverWhy;
    return nullptr;
  }
  setCacheSettings({options.cache_path, options.kernels_dir});
  try {
    return std::make_unique<GpuTuner>();
  } catch (const std::exception& e) {
    if (why) *why = e.what();
    return nullptr;
  }
}

}  // namespace uintx::autotune
