// Benchmark (not a test): uintx::linear against bf16 cuBLAS (y = x @ W^T) on the grid of
// ANCHORS.md, in one process. Weights are rotated across copies that together exceed twice
// the 50 MB L2, each call is timed with CUDA events, and the median is reported. Every
// measured uintx output is first compared with cuBLAS run on the dequantized weight.
// With --graph each cell is timed as ANCHORS.md times its systems instead: the `reps` calls
// captured in one CUDA graph, the graph replayed 5 times, the median replay / reps.
// Each cell also reports its fraction of the roofline: max(bytes / copy ceiling, flops / tensor
// peak), both ceilings measured at the start of the same run (docs/PERFORMANCE.md).
//   linear_vs_cublas [--shapes 8192x8192,...] [--zoo all|NAMES] [--batch 1,16] [--reps 20]
//                    [--variants w4,w8,w8a8,w4a8,w2 (a -fp16 suffix: fp16 activations)]
//                    [--max-m 4096] [--large-m] [--quick] [--csv PATH] [--kernel-cache] [--graph]
// --zoo takes the layers of bench/model_zoo.csv by family, model, kind or model.layer; without
// --batch it runs M = 1, 2, 3, 4, 8, 16, 24, 32, 64, 96, 128, 256, 300, 512, 1000, 1024, 2048, 4096.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "autotune/model_zoo.h"
#include "baseline/cublas_baseline.h"
#include "runtime/cuda_graph.h"
#include "runtime/cuda_driver.h"
#include "runtime/cuda_stream.h"
#include "runtime/device_buffer.h"
#include "uintx/error.h"
#include "uintx/half.h"
#include "uintx/uintx.h"

using namespace uintx;
using Clock = std::chrono::steady_clock;

namespace {

int failures = 0;  // outputs off the reference by more than 1e-2: the exit status says so

struct Shape {
  int64_t N, K;
  std::string kind = "-", layers = "-";  // from the zoo
};
// int8 variants quantize x per row too, so their error against cuBLAS on the dequantized
// weight (with x unquantized) includes the activation quantization: bound 3e-2, not 1e-2.
struct Variant {
  std::string name;
  QuantizeOptions options;
  LinearOptions linear;
  double tolerance = 1e-2;
  bool fp16 = false;  // fp16 activations and output (the reference is cuBLAS fp16)
};

struct Options {
  std::vector<Shape> shapes{{4096, 4096}, {14336, 4096}, {8192, 8192}, {28672, 8192}};
  std::vector<int64_t> batches{1, 16, 64, 256, 4096};
  std::vector<std::string> variants{"w4", "w8"};
  int reps = 20;
  int64_t maxM = 4096;
  bool largeM = false, quick = false, kernelCache = false, graph = false;
  std::string csvPath;
};

Variant baseVariantNamed(const std::string& name) {
  if (name == "w2") return {"w2", {.bit_width = 2, .group_size = 64, .packing_bitwidth = 32}};
  if (name == "w4") return {"w4", {.bit_width = 4, .group_size = 128, .packing_bitwidth = 32}};
  if (name == "w8") return {"w8", {.bit_width = 8, .group_size = 0, .packing_bitwidth = 32}};
  if (name == "w8a8")
    return {"w8a8", {.bit_width = 8, .group_size = 0, .packing_bitwidth = 32}, {.int8Activations = true}, 3e-2};
  if (name == "w4a8")
    return {"w4a8", {.bit_width = 4, .group_size = 128, .packing_bitwidth = 32}, {.int8Activations = true}, 3e-2};
  throw Error("unknown variant '" + name + "': expected w2, w4, w8, w8a8 or w4a8, each optionally with -fp16");
}

Variant variantNamed(const std::string& name) {
  const std::string suffix = "-fp16";
  if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
    Variant v = baseVariantNamed(name.substr(0, name.size() - suffix.size()));
    v.name = name;
    v.fp16 = true;
    return v;
  }
  return baseVariantNamed(name);
}

std::vector<std::string> splitCommas(const std::string& s) {
  std::vector<std::string> out;
  for (size_t b = 0, e; b <= s.size(); b = e + 1) {
    e = std::min(s.find(',', b), s.size());
    if (e > b) out.push_back(s.substr(b, e - b));
  }
  return out;
}

Options parseArgs(int argc, char** argv) {
  Options o;
  bool zoo = false, batchGiven = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw Error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--shapes") {
      o.shapes.clear();
      for (auto& s : splitCommas(value())) {
        size_t x = s.find('x');
        if (x == std::string::npos) throw Error("shape '" + s + "' must be NxK, e.g. 8192x8192");
        o.shapes.push_back({std::stoll(s.substr(0, x)), std::stoll(s.substr(x + 1))});
      }
    } else if (a == "--zoo") {
      zoo = true;
      const std::string names = value();
      o.shapes.clear();
      for (const autotune::ZooShape& z :
           autotune::distinctShapes(autotune::selectZooLayers(autotune::modelZoo(), names == "all" ? "" : names)))
        o.shapes.push_back({z.N, z.K, z.kind, z.layers});
    } else if (a == "--batch") {
      batchGiven = true;
      o.batches.clear();
      for (auto& s : splitCommas(value())) o.batches.push_back(std::stoll(s));
    } else if (a == "--variants") {
      o.variants = splitCommas(value());
      for (auto& v : o.variants) variantNamed(v);  // validates
    } else if (a == "--reps") o.reps = std::max(1, std::stoi(value()));
    else if (a == "--max-m") o.maxM = std::stoll(value());
    else if (a == "--csv") o.csvPath = value();
    else if (a == "--large-m") o.largeM = true;
    else if (a == "--quick") o.quick = true;
    else if (a == "--kernel-cache") o.kernelCache = true;
    else if (a == "--graph") o.graph = true;
    else throw Error("unknown flag '" + a + "' (see the comment at the top of linear_vs_cublas.cc)");
  }
  // The zoo's batch sizes (issue 19): powers of two and odd values between them.
  if (zoo && !batchGiven) o.batches = {1, 2, 3, 4, 8, 16, 24, 32, 64, 96, 128, 256, 300, 512, 1000, 1024, 2048, 4096};
  std::erase_if(o.batches, [&](int64_t m) { return m < 1 || m > o.maxM; });
  if (o.batches.empty() || o.shapes.empty()) throw Error("no batch size in [1, --max-m] or no shape to run");
  return o;
}

// N(0,1) values, filled by one thread per core (a 28672x8192 layer is 235M values).
std::vector<float> randomNormal(size_t n, uint64_t seed) {
  std::vector<float> v(n);
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      std::mt19937_64 rng(seed * 1000 + t);
      std::normal_distribution<float> normal;
      for (size_t i = n * t / threads; i < n * (t + 1) / threads; ++i) v[i] = normal(rng);
    });
  for (auto& th : pool) th.join();
  return v;
}

std::vector<bf16> toBf16(const std::vector<float>& v) {
  std::vector<bf16> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = uintx::toBf16(v[i]);
  return out;
}

// Enough copies that cycling through them streams more than 2 x 50 MB L2 (at least 2).
int copiesToExceedL2(size_t bytesPerCopy) {
  const size_t l2Twice = 2 * 50'000'000;
  return int(std::clamp<size_t>(l2Twice / bytesPerCopy + 1, 2, 64));
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Median device time (us) of call(rep, stream), each call between two events. Calls are
// queued back to back behind a memset "spacer" (re-issued every 16 calls) so the GPU never
// idles waiting for the host, which would add launch latency to small kernels. With `graph`,
// the `reps` calls are captured as one CUDA graph and each of 5 replays is timed: no launch
// gaps between kernels (ANCHORS.md's method); NaN when the calls cannot be captured.
template <typename Call>
double medianDeviceUs(const runtime::CudaStream& s, const runtime::DeviceBuffer& spacer, int reps, bool graph, Call&& call) {
  std::vector<double> us;
  if (graph) {
    auto g = runtime::LaunchGraph::capture(s.get(), [&] {
      for (int i = 0; i < reps; ++i) call(i, s.get());
    });
    if (!g) return NAN;
    g->launch(s.get());  // warm-up replay
    for (int r = 0; r < 5; ++r) {
      runtime::GpuTimer t;
      t.start(s.get());
      g->launch(s.get());
      t.stop(s.get());
      s.synchronize();
      us.push_back(t.elapsedMs() * 1e3 / reps);
    }
    return median(us);
  }
  std::vector<runtime::GpuTimer> timers(reps);
  for (int i = 0; i < reps; ++i) {
    if (i % 16 == 0)
      runtime::checkCuda(runtime::cudaDriver().cuMemsetD32Async(spacer.get(), 0, spacer.size() / 4, s.get()), "cuMemsetD32Async");
    timers[i].start(s.get());
    call(i, s.get());
    timers[i].stop(s.get());
  }
  s.synchronize();
  for (auto& t : timers) us.push_back(t.elapsedMs() * 1e3);
  return median(us);
}

// ||y - ref|| / ||ref|| over the rows of two [M, N] device matrices of bf16 or fp16: all rows
// up to 2^26 elements, else the first and the last 64 rows (every row block's edges).
double relativeError(const runtime::DeviceBuffer& y, const runtime::DeviceBuffer& ref, int64_t M, int64_t N, bool isFp16) {
  std::vector<std::pair<int64_t, int64_t>> ranges;  // [first row, row count)
  if (M * N <= (int64_t(1) << 26)) ranges = {{0, M}};
  else ranges = {{0, std::min<int64_t>(64, M)}, {std::max<int64_t>(64, M - 64), std::min<int64_t>(64, M - 64)}};
  double diff = 0, norm = 0;
  for (auto [first, rows] : ranges) {
    if (rows <= 0) continue;
    const size_t count = size_t(rows * N), offset = size_t(first * N) * 2;
    std::vector<uint16_t> a(count), b(count);
    y.download(a.data(), count * 2, offset);
    ref.download(b.data(), count * 2, offset);
    for (size_t i = 0; i < count; ++i) {
      double r = isFp16 ? toFloat(fp16{b[i]}) : toFloat(bf16{b[i]});
      double d = (isFp16 ? toFloat(fp16{a[i]}) : toFloat(bf16{a[i]})) - r;
      diff += d * d;
      norm += r * r;
    }
  }
  return std::sqrt(diff) / std::max(std::sqrt(norm), 1e-30);
}

// The two ceilings a cell is held against, measured in the same run: device-to-device copy
// (bytes read + written per second) and bf16 tensor-core throughput (cuBLAS, 8192^3).
struct Ceilings {
  double copyBytesPerS = 0, tensorFlopsPerS = 0;
};

Ceilings measureCeilings(const runtime::CudaStream& s, CublasBf16Gemm& cublas) {
  Ceilings c;
  const size_t bytes = size_t(2) << 30;
  {
    runtime::DeviceBuffer a(bytes), b(bytes);
    std::vector<double> us;
    for (int r = 0; r < 6; ++r) {
      runtime::GpuTimer t;
      t.start(s.get());
      runtime::checkCuda(runtime::cudaDriver().cuMemcpyDtoDAsync_v2(b.get(), a.get(), bytes, s.get()), "cuMemcpyDtoDAsync");
      t.stop(s.get());
      s.synchronize();
      if (r > 0) us.push_back(t.elapsedMs() * 1e3);
    }
    c.copyBytesPerS = 2.0 * bytes / (median(us) * 1e-6);
  }
  const long n = 8192;
  runtime::DeviceBuffer x(size_t(n) * n * 2), w(size_t(n) * n * 2), y(size_t(n) * n * 2);
  for (const runtime::DeviceBuffer* b : {&x, &w})  // bf16 0.0078125: finite products
    runtime::checkCuda(runtime::cudaDriver().cuMemsetD32Async(b->get(), 0x3c003c00, b->size() / 4, s.get()),
                       "cuMemsetD32Async");
  std::vector<double> us;
  for (int r = 0; r < 6; ++r) {
    runtime::GpuTimer t;
    t.start(s.get());
    cublas.run(n, n, n, x.get(), w.get(), y.get(), s.get());
    t.stop(s.get());
    s.synchronize();
    if (r > 0) us.push_back(t.elapsedMs() * 1e3);
  }
  c.tensorFlopsPerS = 2.0 * n * n * n / (median(us) * 1e-6);
  return c;
}

// One table: a header and rows of cells, printed aligned or as CSV.
struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;

  void print(FILE* out) const {
    std::vector<size_t> width(header.size());
    for (size_t c = 0; c < header.size(); ++c) {
      width[c] = header[c].size();
      for (auto& r : rows) width[c] = std::max(width[c], r[c].size());
    }
    auto line = [&](const std::vector<std::string>& r) {
      for (size_t c = 0; c < r.size(); ++c) std::fprintf(out, "%*s  ", int(width[c]), r[c].c_str());
      std::fprintf(out, "\n");
    };
    line(header);
    for (auto& r : rows) line(r);
  }
  void writeCsv(const std::string& path) const {
    std::ofstream f(path);
    if (!f) throw Error("cannot write --csv file '" + path + "'");
    auto line = [&](const std::vector<std::string>& r) {
      for (size_t c = 0; c < r.size(); ++c) f << (c ? "," : "") << r[c];
      f << "\n";
    };
    line(header);
    for (auto& r : rows) line(r);
  }
};

std::string fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

DeviceMatrix matrix(const runtime::DeviceBuffer& b, int64_t rows, int64_t cols, ScalarType dtype = ScalarType::bf16) {
  return {reinterpret_cast<const void*>(b.get()), rows, cols, dtype};
}

std::vector<fp16> toFp16(const std::vector<float>& v) {
  std::vector<fp16> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = uintx::toFp16(v[i]);
  return out;
}

// The whole grid of one shape: cuBLAS first, then each uintx variant; appends table rows.
void benchShape(const Options& o, const Shape& sh, const runtime::CudaStream& s, const runtime::DeviceBuffer& spacer,
                CublasBf16Gemm& cublas, const Ceilings& ceilings, Table& table) {
  const int64_t N = sh.N, K = sh.K, maxM = *std::max_element(o.batches.begin(), o.batches.end());
  const std::string shapeName = std::to_string(N) + "x" + std::to_string(K);
  std::fprintf(stderr, "[%s] generating and quantizing weights\n", shapeName.c_str());
  std::vector<float> w = randomNormal(size_t(N) * K, uint64_t(N * 7 + K));
  const std::vector<float> xf = randomNormal(size_t(maxM) * K, 1);
  runtime::DeviceBuffer x = runtime::DeviceBuffer::fromHost(toBf16(xf));
  std::optional<runtime::DeviceBuffer> x16;  // fp16 activations, made when a variant asks
  runtime::DeviceBuffer y(size_t(maxM) * N * 2), ref(size_t(maxM) * N * 2);
  auto quickSkip = [&](int64_t M) { return o.quick && double(M) * N * K >= std::ldexp(1.0, 36); };

  // Rows of the table for this shape, filled column by column.
  std::vector<std::vector<std::string>> rows;
  std::vector<double> cublasUs;
  {
    std::vector<bf16> wb = toBf16(w);
    std::vector<runtime::DeviceBuffer> copies;
    for (int c = 0, n = copiesToExceedL2(wb.size() * 2); c < n; ++c) copies.push_back(runtime::DeviceBuffer::fromHost(wb));
    for (int64_t M : o.batches) {
      std::vector<std::string> row{shapeName, sh.kind, sh.layers, std::to_string(M)};
      double us = NAN;
      if (!quickSkip(M)) {
        for (int i = 0; i < 3; ++i) cublas.run(M, N, K, x.get(), copies[i % copies.size()].get(), y.get(), s.get());
        us = medianDeviceUs(s, spacer, o.reps, o.graph, [&](int i, CUstream st) {
          cublas.run(M, N, K, x.get(), copies[i % copies.size()].get(), y.get(), st);
        });
      }
      cublasUs.push_back(us);
      row.push_back(std::isnan(us) ? "skipped" : fmt("%.1f", us));
      row.push_back(M == 1 && !std::isnan(us) ? fmt("%.2f", 2.0 * N * K / (us * 1e-6) / 1e12) : "-");
      rows.push_back(row);
    }
  }

  for (const std::string& vname : o.variants) {
    Variant v = variantNamed(vname);
    std::optional<QuantizedWeight> quantized;
    try {
      quantized.emplace(quantize(w.data(), N, K, v.options));
    } catch (const Error& e) {  // a format this shape cannot take (group size vs K): its cells only
      std::fprintf(stderr, "[%s] %s skipped: %s\n", shapeName.c_str(), vname.c_str(), e.what());
      for (auto& row : rows) row.insert(row.end(), {"n/a", "-", "-", "-", "-", "-"});
      continue;
    }
    const QuantizedWeight& q = *quantized;
    runtime::DeviceBuffer dequant = v.fp16 ? runtime::DeviceBuffer::fromHost(toFp16(q.dequantize()))
                                           : runtime::DeviceBuffer::fromHost(toBf16(q.dequantize()));
    if (v.fp16 && !x16) x16 = runtime::DeviceBuffer::fromHost(toFp16(xf));
    const runtime::DeviceBuffer& xv = v.fp16 ? *x16 : x;
    const ScalarType act = v.fp16 ? ScalarType::f16 : ScalarType::bf16;
    size_t weightBytes = q.packedBytes() + q.scalesBytes() + q.zerosBytes();
    std::vector<DeviceWeight> copies;
    copies.reserve(64);
    for (int c = 0, n = copiesToExceedL2(weightBytes); c < n; ++c) copies.emplace_back(q);
    for (size_t b = 0; b < o.batches.size(); ++b) {
      const int64_t M = o.batches[b];
      std::vector<std::string>& row = rows[b];
      if (quickSkip(M) || (M > 256 && !o.largeM)) {
        row.insert(row.end(), {"skipped", "-", "-", "-", "-", "-"});
        continue;
      }
      std::fprintf(stderr, "[%s] %s M=%lld\n", shapeName.c_str(), vname.c_str(), (long long)M);
      auto call = [&](int i, CUstream st) {
        linear(matrix(xv, M, K, act), copies[i % copies.size()], matrix(y, M, N, act), st, v.linear);
      };
      // Poisoned first (all-ones bf16 are NaN): an element the kernel does not write fails.
      s.synchronize();
      std::vector<uint8_t> poison(size_t(M) * N * 2, 0xFF);
      y.upload(poison.data(), poison.size());
      // The first call of a (format, shape, M bucket) compiles and loads the kernel.
      auto t0 = Clock::now();
      call(0, s.get());
      s.synchronize();
      double firstMs = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      // Correctness before speed: cuBLAS on the dequantized weight is the reference.
      if (v.fp16) cublas.runFp16(M, N, K, xv.get(), dequant.get(), ref.get(), s.get());
      else cublas.run(M, N, K, x.get(), dequant.get(), ref.get(), s.get());
      s.synchronize();
      double err = relativeError(y, ref, M, N, v.fp16);
      for (int i = 1; i < 3; ++i) call(i, s.get());
      double us = medianDeviceUs(s, spacer, o.reps, o.graph, call);
      // The roofline: every byte moved once at the copy ceiling, or the tensor cores at the
      // measured bf16 peak (twice that for int8 x int8), whichever is slower.
      double bytes = double(weightBytes) + 2.0 * M * K + 2.0 * M * N;
      double peak = ceilings.tensorFlopsPerS * (v.linear.int8Activations ? 2 : 1);
      double roofUs = std::max(bytes / ceilings.copyBytesPerS, 2.0 * M * N * K / peak) * 1e6;
      row.push_back(fmt("%.1f", us));
      row.push_back(std::isnan(cublasUs[b]) ? "-" : fmt("%.2fx", cublasUs[b] / us));
      row.push_back(M == 1 ? fmt("%.2f", bytes / (us * 1e-6) / 1e12) : "-");
      row.push_back(fmt("%.2f", roofUs / us));
      if (!(err <= v.tolerance)) ++failures;
      row.push_back((err <= v.tolerance ? "" : "FAIL ") + fmt("%.1e", err));
      row.push_back(fmt("%.0f", firstMs));
    }
  }
  for (auto& r : rows) table.rows.push_back(r);
}

// Host cost of a cached uintx::linear call (4096x4096, W4 g128, M=1): the time spent inside
// linear() itself, and the rate of 1000 back-to-back calls with one sync at the end.
void benchHostOverhead(const runtime::CudaStream& s) {
  const int64_t N = 4096, K = 4096, calls = 1000;
  QuantizedWeight q = quantize(randomNormal(size_t(N) * K, 2).data(), N, K, variantNamed("w4").options);
  DeviceWeight w(q);
  runtime::DeviceBuffer x = runtime::DeviceBuffer::fromHost(toBf16(randomNormal(size_t(K), 3))), y(size_t(N) * 2);
  for (int i = 0; i < 3; ++i) linear(matrix(x, 1, K), w, matrix(y, 1, N), s.get());
  s.synchronize();
  std::vector<double> inside;
  auto t0 = Clock::now();
  for (int i = 0; i < calls; ++i) {
    auto c0 = Clock::now();
    linear(matrix(x, 1, K), w, matrix(y, 1, N), s.get());
    inside.push_back(std::chrono::duration<double, std::micro>(Clock::now() - c0).count());
  }
  s.synchronize();
  double total = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
  std::printf("back-to-back cached calls (4096x4096 w4 M=1): %.2f us per call over %lld calls\n",
              total / calls, (long long)calls);
  std::printf("host overhead per call: %.2f us (median time inside linear())\n", median(inside));
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Options o = parseArgs(argc, argv);
    std::string why;
    if (!runtime::cudaDriverAvailable(&why)) {
      std::fprintf(stderr, "linear_vs_cublas needs an NVIDIA GPU and its driver: %s\n", why.c_str());
      return 2;
    }
    if (!cublasAvailable(&why)) {
      std::fprintf(stderr, "linear_vs_cublas needs cuBLAS for the baseline: %s\n", why.c_str());
      return 2;
    }
    // Without the on-disk kernel cache the first call of each row is a cold JIT + load.
    if (!o.kernelCache) setCacheSettings({cacheSettings().configCachePath, ""});
    runtime::CudaDeviceInfo dev = runtime::currentCudaDevice();
    std::printf("device: %s (%s, %d SMs), reps %d, %s, bf16 activations\n", dev.name.c_str(),
                dev.smArch().c_str(), dev.smCount, o.reps,
                o.graph ? "median of 5 CUDA-graph replays of the reps calls, per call" : "median per call");
    runtime::CudaStream stream;
    runtime::DeviceBuffer spacer(size_t(1) << 30);
    CublasBf16Gemm cublas;
    const Ceilings ceilings = measureCeilings(stream, cublas);
    std::printf("ceilings: copy %.2f TB/s (read + written), bf16 tensor cores %.0f TFLOP/s (cuBLAS 8192^3)\n",
                ceilings.copyBytesPerS / 1e12, ceilings.tensorFlopsPerS / 1e12);

    Table table;
    table.header = {"shape", "kind", "layers", "M", "cublas_us", "cublas_TB/s"};
    for (auto& v : o.variants)
      for (const char* col : {"_us", "_speedup", "_TB/s", "_roof", "_relerr", "_first_ms"}) table.header.push_back(v + col);
    for (const Shape& sh : o.shapes) {
      benchShape(o, sh, stream, spacer, cublas, ceilings, table);
      if (!o.csvPath.empty()) table.writeCsv(o.csvPath);  // rewritten after every shape: a run cut short keeps its rows
    }
    std::printf("w4: W4A16 g128 packing 32 bf16 scales; w8: W8A16 per-channel; w2: W2A16 g64; w8a8 / w4a8: the\n"
                "same weights with int8 dynamic activations; -fp16: fp16 activations (speedup still vs cuBLAS bf16).\n"
                "TB/s at M=1 only; roof = roofline time / time; relerr vs cuBLAS on the dequantized weight\n"
                "(FAIL above 1e-2, 3e-2 for int8 activations); first_ms = JIT + load + run.\n");
    table.print(stdout);
    benchHostOverhead(stream);
    if (failures) std::printf("%d output(s) FAILED the 1e-2 relative error check\n", failures);
    return failures ? 3 : 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "linear_vs_cublas: %s\n", e.what());
    return 1;
  }
}
