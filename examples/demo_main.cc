// The main job of the README: JIT-compiles the DSL example kernels through every stage
// (DSL -> ux IR -> layouts -> gpu/nvvm -> PTX), prints a summary, then runs each kernel on
// the GPU (or, without one, on the CPU interpreter) and checks it against plain C++.
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "codegen/jit_kernel.h"
#include "runtime/cuda_driver.h"
#include "runtime/device_buffer.h"
#include "dsl/interpreter.h"
#include "examples/example_kernels.h"
#include "uintx/error.h"
#include "uintx/half.h"

using namespace uintx;

namespace {

// Runs `program` over a grid of `programs` on the GPU (when `gpu`) or the interpreter.
// `buffers` are host arrays (copied to and from the device), `scalars` follow them.
struct Run {
  bool gpu;
  void operator()(const dsl::KernelProgram& program, const codegen::JitKernel& kernel, unsigned programs,
                  std::vector<std::pair<void*, size_t>> buffers, std::vector<codegen::LaunchArg> scalars) {
    if (!gpu) {
      std::vector<dsl::KernelArg> args;
      for (auto& [p, n] : buffers) args.push_back(dsl::KernelArg::buffer(p, n));
      for (auto& s : scalars)
        args.push_back(s.kind == codegen::LaunchArg::Kind::f32 ? dsl::KernelArg::f32(s.f) : dsl::KernelArg::i32(s.i));
      dsl::interpret(program, {int(programs)}, args);
      return;
    }
    std::vector<runtime::DeviceBuffer> device;
    std::vector<codegen::LaunchArg> args;
    for (auto& [p, n] : buffers) {
      device.emplace_back(n);
      device.back().upload(p, n);
      args.push_back(codegen::LaunchArg::ptr(device.back().get()));
    }
    args.insert(args.end(), scalars.begin(), scalars.end());
    kernel.launch({programs}, nullptr, args);
    for (size_t i = 0; i < buffers.size(); ++i) device[i].download(buffers[i].first, buffers[i].second);
  }
};

}  // namespace

int main() {
  std::string why;
  bool gpu = runtime::cudaDriverAvailable(&why);
  std::printf("uintx demo: JIT-compiling the DSL example kernels for sm_90a\n\n");
  std::printf("%-12s %-44s %9s %10s %8s\n", "kernel", "stages", "PTX bytes", "compile ms", "threads");
  std::mt19937 rng(std::random_device{}());
  std::uniform_real_distribution<float> uni(-1, 1);

  auto vectorAdd = examples::vectorAdd(), fused = examples::fusedChain(), rows = examples::rowSumMax(),
       unpack = examples::unpackInt4();
  std::vector<std::shared_ptr<codegen::JitKernel>> kernels;
  for (auto* p : {&vectorAdd, &fused, &rows, &unpack}) {
    codegen::PtxOptions o;
    o.keepStages = true;
    kernels.push_back(std::make_shared<codegen::JitKernel>(codegen::compileToPtx(*p, o), p->params));
    const codegen::PtxKernel& k = kernels.back()->ptx();
    std::string stages;
    for (auto& [name, text] : k.stages) stages += (stages.empty() ? "" : " > ") + name;
    std::printf("%-12s %-44s %9zu %10.1f %8d\n", k.name.c_str(), stages.c_str(), k.ptx.size(), k.compileMs,
                k.numThreads);
  }
  std::printf("\n(set UINTX_DUMP_IR=<dir> to write every stage to files)\n\n");
  if (gpu) std::printf("running on the GPU: %s\n", runtime::currentCudaDevice().name.c_str());
  else std::printf("no GPU here (%s);\nrunning on the CPU interpreter instead.\n", why.c_str());

  Run run{gpu};
  int failures = 0;
  auto report = [&](const char* name, int bad, int n) {
    std::printf("  %-12s %s (%d of %d elements differ from the C++ reference)\n", name, bad ? "FAILED" : "ok", bad, n);
    failures += bad != 0;
  };
  {  // vector add
    const int n = 100000;  // a multiple of 16
    std::vector<float> x(n), y(n), z(n, NAN);
    for (int i = 0; i < n; ++i) x[i] = uni(rng), y[i] = uni(rng);
    run(vectorAdd, *kernels[0], (n + 1023) / 1024, {{x.data(), n * 4}, {y.data(), n * 4}, {z.data(), n * 4}},
        {codegen::LaunchArg::i32(n)});
    int bad = 0;
    for (int i = 0; i < n; ++i) bad += z[i] != x[i] + y[i];
    report("vector_add", bad, n);
  }
  {  // fused chain on an odd size
    const int n = 77777;
    const float a = 1.5f;
    std::vector<bf16> x(n), y(n);
    std::vector<float> out(n, NAN);
    for (int i = 0; i < n; ++i) x[i] = toBf16(2 * uni(rng)), y[i] = toBf16(2 * uni(rng));
    run(fused, *kernels[1], (n + 511) / 512, {{x.data(), n * 2}, {y.data(), n * 2}, {out.data(), n * 4}},
        {codegen::LaunchArg::f32(a), codegen::LaunchArg::i32(n)});
    int bad = 0;
    for (int i = 0; i < n; ++i) {
      float xf = toFloat(x[i]), yf = toFloat(y[i]);
      float ref = std::max(xf * a + yf, 0.0f) * (xf > yf ? 2.0f : 0.5f) - yf / 4.0f;
      bad += !(std::fabs(out[i] - ref) <= 1e-5f * (1 + std::fabs(ref)));
    }
    report("fused_chain", bad, n);
  }
  {  // row sum and max
    const int r = 100, c = 100;
    std::vector<float> x(r * c), s(r, NAN), m(r, NAN);
    for (auto& v : x) v = uni(rng);
    run(rows, *kernels[2], (r + 15) / 16, {{x.data(), x.size() * 4}, {s.data(), r * 4}, {m.data(), r * 4}},
        {codegen::LaunchArg::i32(r), codegen::LaunchArg::i32(c)});
    int bad = 0;
    for (int i = 0; i < r; ++i) {
      double rs = 0;
      float rm = -INFINITY;
      for (int j = 0; j < c; ++j) rs += x[i * c + j], rm = std::max(rm, x[i * c + j]);
      bad += !(std::fabs(s[i] - rs) <= 1e-4 * (1 + std::fabs(rs))) || m[i] != rm;
    }
    report("row_sum_max", bad, r);
  }
  {  // 4-bit unpack
    const int n = 8192, group = 128;
    std::vector<uint32_t> words(n / 8);
    std::vector<float> scales(n / group), zeros(n / group);
    std::vector<bf16> out(n);
    for (auto& w : words) w = rng();
    for (auto& v : scales) v = 0.01f + 0.05f * std::fabs(uni(rng));
    for (auto& v : zeros) v = 7.5f + 7 * uni(rng);
    run(unpack, *kernels[3], n / 1024, {{words.data(), n / 2}, {scales.data(), n / group * 4},
        {zeros.data(), n / group * 4}, {out.data(), n * 2}}, {codegen::LaunchArg::i32(n)});
    int bad = 0;
    for (int i = 0; i < n; ++i) {
      float q = float((words[i / 8] >> (4 * (i % 8))) & 0xF);
      bad += out[i].bits != toBf16((q - zeros[i / group]) * scales[i / group]).bits;
    }
    report("unpack_int4", bad, n);
  }
  return failures ? 1 : 0;
}
