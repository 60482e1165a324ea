// tp_mlp: a Llama-70B-sized gated MLP block (8192 -> 28672 -> 8192, 4-bit g128 weights)
// sharded Megatron-style over W GPUs of one process (a thread per GPU, NCCL for the
// all-reduce), checked against the same block on one GPU and against float64, then timed.
//
//   tp_mlp [--world N] [--batch 1,16,256] [--quick] [--dtype bf16|fp16] [--iters 20]
//
// --world: GPUs to shard over (default: all visible); --quick: 1024 -> 4096 -> 1024.
// NCCL: $UINTX_LIBNCCL, else libnccl.so.2, else the nvidia-nccl-cu13 pip package.
// NVLink multicast stays off (NCCL_NVLS_ENABLE=0, set first thing).
//
// Accuracy: the TP block must equal the one-GPU block within 1e-3 (relative L2): the down
// projection's partial sums are all-reduced in f32 and rounded once, so only the order of the
// sums differs. Both blocks are also compared with a float64 reference of the same quantized
// block on sampled rows: bound 8e-3 in bf16 (its own roundings of g, u, h and y), 1e-3 in fp16.
#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "runtime/cuda_driver.h"
#include "runtime/cuda_stream.h"
#include "runtime/device_buffer.h"
#include "parallel/communicator.h"
#include "parallel/mlp_block.h"
#include "parallel/nccl_library.h"
#include "uintx/error.h"
#include "uintx/half.h"
#include "uintx/uintx.h"

using namespace uintx;
using namespace uintx::parallel;

namespace {

struct Options {
  int world = 0;  // 0: all visible GPUs
  std::vector<int64_t> batches = {1, 16, 256};
  bool quick = false;
  ScalarType dtype = ScalarType::bf16;
  int iters = 20;
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr, "tp_mlp: %s\nusage: tp_mlp [--world N] [--batch 1,16,256] [--quick] [--dtype bf16|fp16] [--iters 20]\n",
               why.c_str());
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(a + " needs a value");
      return argv[++i];
    };
    if (a == "--world") {
      o.world = std::atoi(value().c_str());
      if (o.world < 1) usage("--world must be >= 1");
    } else if (a == "--batch") {
      o.batches.clear();
      std::stringstream ss(value());
      for (std::string m; std::getline(ss, m, ',');) {
        int64_t v = std::atoll(m.c_str());
        if (v < 1) usage("--batch takes positive integers, got '" + m + "'");
        o.batches.push_back(v);
      }
    } else if (a == "--quick") {
      o.quick = true;
    } else if (a == "--dtype") {
      std::string d = value();
      if (d == "bf16") o.dtype = ScalarType::bf16;
      else if (d == "fp16") o.dtype = ScalarType::f16;
      else usage("--dtype is bf16 or fp16, got " + d);
    } else if (a == "--iters") {
      o.iters = std::atoi(value().c_str());
      if (o.iters < 1) usage("--iters must be >= 1");
    } else {
      usage("unknown argument " + a);
    }
  }
  return o;
}

// A weight [N, K] ~ N(0, 1/K) quantized to 4-bit g128, built in row blocks on every core
// (a row block's packed words, scales and zeros are contiguous rows of the whole weight's),
// with its dequantized values for the float64 reference.
struct Weight {
  QuantizedWeight q;
  std::vector<float> dq;
};

Weight makeWeight(int64_t N, int64_t K, uint32_t seed) {
  const int threads = int(std::max(1u, std::min(32u, std::thread::hardware_concurrency())));
  const int64_t rowsPer = (N + threads - 1) / threads;
  const QuantizeOptions options{4, 128, 32, ScalarType::bf16};
  std::vector<std::vector<uint8_t>> packed(threads), scales(threads), zeros(threads);
  std::vector<float> dq(static_cast<size_t>(N * K));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      int64_t r0 = std::min(N, t * rowsPer), r1 = std::min(N, r0 + rowsPer);
      if (r0 == r1) return;
      std::mt19937 rng(seed * 1000 + uint32_t(t));
      std::normal_distribution<float> d(0, float(1 / std::sqrt(double(K))));
      std::vector<float> w(size_t((r1 - r0) * K));
      for (float& v : w) v = d(rng);
      QuantizedWeight block = quantize(w.data(), r1 - r0, K, options);
      packed[t].assign(block.packedData(), block.packedData() + block.packedBytes());
      scales[t].assign(block.scalesData(), block.scalesData() + block.scalesBytes());
      zeros[t].assign(block.zerosData(), block.zerosData() + block.zerosBytes());
      std::vector<float> part = block.dequantize();
      std::copy(part.begin(), part.end(), dq.begin() + r0 * K);
    });
  for (auto& th : pool) th.join();
  std::vector<uint8_t> p, s, z;
  for (int t = 0; t < threads; ++t) {
    p.insert(p.end(), packed[t].begin(), packed[t].end());
    s.insert(s.end(), scales[t].begin(), scales[t].end());
    z.insert(z.end(), zeros[t].begin(), zeros[t].end());
  }
  WeightFormat f;
  f.bit_width = 4, f.group_size = 128, f.packing_bitwidth = 32, f.N = N, f.K = K, f.scale_dtype = ScalarType::bf16;
  return Weight{QuantizedWeight(f, std::move(p), std::move(s), std::move(z)), std::move(dq)};
}

double toDouble(uint16_t bits, ScalarType t) { return t == ScalarType::bf16 ? toFloat(bf16{bits}) : toFloat(fp16{bits}); }
uint16_t fromFloat(float v, ScalarType t) { return t == ScalarType::bf16 ? toBf16(v).bits : toFp16(v).bits; }
double roundTo(double v, ScalarType t) { return toDouble(fromFloat(float(v), t), t); }

// y = x @ W^T in float64 over all cores.
std::vector<double> linearRef(const std::vector<double>& x, const Weight& w) {
  const int64_t N = w.q.format().N, K = w.q.format().K;
  std::vector<double> y(static_cast<size_t>(N));
  const int threads = int(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (int64_t n = t; n < N; n += threads) {
        const float* row = &w.dq[size_t(n * K)];
        double s = 0;
        for (int64_t k = 0; k < K; ++k) s += x[size_t(k)] * row[k];
        y[size_t(n)] = s;
      }
    });
  for (auto& th : pool) th.join();
  return y;
}

// One row of the block in float64, rounding g, u and h to the activation dtype where the GPU does.
std::vector<double> mlpRef(const std::vector<double>& x, const Weight& gate, const Weight& up, const Weight& down,
                           ScalarType t) {
  std::vector<double> g = linearRef(x, gate), u = linearRef(x, up), h(g.size());
  for (size_t i = 0; i < g.size(); ++i) {
    double gi = roundTo(g[i], t), ui = roundTo(u[i], t);
    h[i] = roundTo(gi / (1 + std::exp(-gi)) * ui, t);
  }
  return linearRef(h, down);
}

double relativeError(const std::vector<double>& a, const std::vector<double>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!std::isfinite(a[i]) || !std::isfinite(b[i])) return INFINITY;
    num += (a[i] - b[i]) * (a[i] - b[i]);
    den += b[i] * b[i];
  }
  return std::sqrt(num / std::max(den, 1e-300));
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

void makeCurrent(int device) {
  const runtime::CudaDriverApi& api = runtime::cudaDriver();
  CUdevice d = 0;
  runtime::checkCuda(api.cuDeviceGet(&d, device), "cuDeviceGet");
  CUcontext ctx = nullptr;
  runtime::checkCuda(api.cuDevicePrimaryCtxRetain(&ctx, d), "cuDevicePrimaryCtxRetain");  // kept for the process
  runtime::checkCuda(api.cuCtxSetCurrent(ctx), "cuCtxSetCurrent");
}

std::string deviceName(int device) {
  char name[256] = {};
  CUdevice d = 0;
  runtime::checkCuda(runtime::cudaDriver().cuDeviceGet(&d, device), "cuDeviceGet");
  runtime::checkCuda(runtime::cudaDriver().cuDeviceGetName(name, sizeof(name) - 1, d), "cuDeviceGetName");
  return name;
}

// A failure in one rank would leave the others waiting in a collective: report and leave.
template <class F>
void runOrDie(const char* what, F f) {
  try {
    f();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tp_mlp: %s failed: %s\n", what, e.what());
    std::fflush(stderr);
    std::_Exit(1);
  }
}

struct Result {
  std::vector<uint16_t> y;  // [M, H]
  double latencyUs = 0;     // median over iterations
};

double secondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  disableNvlinkMulticast();  // NCCL_NVLS_ENABLE=0 before anything can initialize NCCL
  setenv("NCCL_NVLS_ENABLE", "0", 1);
  Options opt = parse(argc, argv);
  int visible = 0;
  runOrDie("finding GPUs", [&] { runtime::checkCuda(runtime::cudaDriver().cuDeviceGetCount(&visible), "cuDeviceGetCount"); });
  const int world = opt.world ? opt.world : visible;
  if (world > visible) usage("--world " + std::to_string(world) + " but only " + std::to_string(visible) + " GPU(s) visible");
  const int64_t H = opt.quick ? 1024 : 8192, I = opt.quick ? 4096 : 28672;
  const ScalarType t = opt.dtype;
  std::printf("tp_mlp: gated MLP %lld -> %lld -> %lld, 4-bit g128 weights, %s activations, %d GPU(s) of %d: ",
              (long long)H, (long long)I, (long long)H, scalarTypeName(t), world, visible);
  for (int d = 0; d < world; ++d) std::printf("%s%s", d ? ", " : "", deviceName(d).c_str());
  std::printf("\nNCCL_NVLS_ENABLE=%s\n", std::getenv("NCCL_NVLS_ENABLE"));

  auto t0 = std::chrono::steady_clock::now();
  Weight gate = makeWeight(I, H, 1), up = makeWeight(I, H, 2), down = makeWeight(H, I, 3);
  std::printf("weights quantized in %.1f s\n", secondsSince(t0));

  // Activations for every batch size, shared by both runs.
  std::vector<std::vector<uint16_t>> xs;
  std::mt19937 rng(7);
  std::normal_distribution<float> normal(0, 1);
  for (int64_t M : opt.batches) {
    std::vector<uint16_t> x(static_cast<size_t>(M * H));
    for (auto& v : x) v = fromFloat(normal(rng), t);
    xs.push_back(std::move(x));
  }

  // One GPU: the unsharded block.
  std::vector<Result> single(opt.batches.size());
  std::thread([&] {
    runOrDie("the one-GPU block", [&] {
      makeCurrent(0);
      GatedMlp mlp(gate.q, up.q, down.q);
      runtime::CudaStream stream;
      for (size_t b = 0; b < opt.batches.size(); ++b) {
        const int64_t M = opt.batches[b];
        runtime::DeviceBuffer dx = runtime::DeviceBuffer::fromHost(xs[b]), dy(size_t(M * H) * 2);
        DeviceMatrix x{(void*)dx.get(), M, H, t}, y{(void*)dy.get(), M, H, t};
        mlp.forward(x, y, stream.get());  // compiles the kernels, sizes the workspace
        stream.synchronize();
        single[b].y = dy.toHost<uint16_t>();
        std::vector<double> us;
        for (int i = 0; i < opt.iters; ++i) {
          runtime::GpuTimer timer;
          timer.start(stream.get());
          mlp.forward(x, y, stream.get());
          timer.stop(stream.get());
          us.push_back(1e3 * timer.elapsedMs());
        }
        single[b].latencyUs = median(us);
      }
    });
  }).join();

  // W GPUs: a thread per rank, one communicator each.
  std::vector<int> devices(static_cast<size_t>(world));
  for (int d = 0; d < world; ++d) devices[size_t(d)] = d;
  std::vector<Communicator> comms;
  runOrDie("creating the NCCL communicators", [&] { comms = Communicator::createAll(devices); });
  std::printf("NCCL %s from %s\n", ncclVersionString().c_str(), ncclLibraryPath().c_str());
  std::vector<std::vector<Result>> perRank(size_t(world), std::vector<Result>(opt.batches.size()));
  std::vector<std::vector<double>> rankUs(opt.batches.size(), std::vector<double>(size_t(world * opt.iters)));
  std::barrier sync(world);
  std::vector<std::thread> ranks;
  for (int r = 0; r < world; ++r)
    ranks.emplace_back([&, r] {
      runOrDie("a tensor-parallel rank", [&] {
        makeCurrent(devices[size_t(r)]);
        TensorParallelMlp mlp(gate.q, up.q, down.q, comms[size_t(r)]);
        runtime::CudaStream stream;
        for (size_t b = 0; b < opt.batches.size(); ++b) {
          const int64_t M = opt.batches[b];
          runtime::DeviceBuffer dx = runtime::DeviceBuffer::fromHost(xs[b]), dy(size_t(M * H) * 2);
          DeviceMatrix x{(void*)dx.get(), M, H, t}, y{(void*)dy.get(), M, H, t};
          sync.arrive_and_wait();
          mlp.forward(x, y, stream.get());
          stream.synchronize();
          perRank[size_t(r)][b].y = dy.toHost<uint16_t>();
          for (int i = 0; i < opt.iters; ++i) {
            sync.arrive_and_wait();  // start together: the all-reduce waits for the slowest rank
            runtime::GpuTimer timer;
            timer.start(stream.get());
            mlp.forward(x, y, stream.get());
            timer.stop(stream.get());
            rankUs[b][size_t(i * world + r)] = 1e3 * timer.elapsedMs();
          }
        }
      });
    });
  for (auto& th : ranks) th.join();

  // Accuracy and timings.
  bool ok = true;
  const double tol = t == ScalarType::f16 ? 1e-3 : 8e-3;
  std::printf("\n%6s %12s %12s %9s %11s %14s %13s %13s %10s\n", "M", "1 GPU (us)", "TP (us)", "speedup", "efficiency",
              "TP vs 1 GPU", "TP vs f64", "1 GPU vs f64", "ranks same");
  for (size_t b = 0; b < opt.batches.size(); ++b) {
    const int64_t M = opt.batches[b];
    std::vector<double> ySingle(static_cast<size_t>(M * H)), yTp(static_cast<size_t>(M * H));
    for (size_t i = 0; i < ySingle.size(); ++i) {
      ySingle[i] = toDouble(single[b].y[i], t);
      yTp[i] = toDouble(perRank[0][b].y[i], t);
    }
    bool ranksSame = true;
    for (int r = 1; r < world; ++r) ranksSame = ranksSame && perRank[size_t(r)][b].y == perRank[0][b].y;
    std::vector<int64_t> sampled = M == 1 ? std::vector<int64_t>{0} : std::vector<int64_t>{0, M - 1};
    std::vector<double> ref, tpRows, singleRows;
    for (int64_t m : sampled) {
      std::vector<double> x(static_cast<size_t>(H));
      for (int64_t k = 0; k < H; ++k) x[size_t(k)] = toDouble(xs[b][size_t(m * H + k)], t);
      std::vector<double> y = mlpRef(x, gate, up, down, t);
      ref.insert(ref.end(), y.begin(), y.end());
      tpRows.insert(tpRows.end(), yTp.begin() + m * H, yTp.begin() + (m + 1) * H);
      singleRows.insert(singleRows.end(), ySingle.begin() + m * H, ySingle.begin() + (m + 1) * H);
    }
    double tpVsSingle = relativeError(yTp, ySingle), tpVsRef = relativeError(tpRows, ref),
           singleVsRef = relativeError(singleRows, ref);
    // Per iteration the block takes as long as its slowest rank.
    std::vector<double> iterUs;
    for (int i = 0; i < opt.iters; ++i)
      iterUs.push_back(*std::max_element(rankUs[b].begin() + i * world, rankUs[b].begin() + (i + 1) * world));
    double tpUs = median(iterUs), speedup = single[b].latencyUs / tpUs;
    std::printf("%6lld %12.1f %12.1f %8.2fx %10.1f%% %14.2e %13.2e %13.2e %10s\n", (long long)M, single[b].latencyUs,
                tpUs, speedup, 100 * speedup / world, tpVsSingle, tpVsRef, singleVsRef, ranksSame ? "yes" : "NO");
    ok = ok && ranksSame && tpVsSingle <= 1e-3 && tpVsRef <= tol && singleVsRef <= tol;
  }
  std::printf("\nlatency: CUDA events around one block, median of %d; TP: the slowest rank per iteration.\n"
              "efficiency = (1-GPU latency) / (W x TP latency). bounds (relative L2): TP vs 1 GPU 1e-3; vs f64 %.0e for %s.\n%s\n",
              opt.iters, tol, scalarTypeName(t), ok ? "PASS" : "FAIL");
  std::fflush(stdout);
  comms.clear();
  return ok ? 0 : 1;
}
