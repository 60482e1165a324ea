#include "kernels/int8_gemm/launch.h"

#include "kernels/gemm/launch.h"
#include "kernels/int8_gemm/int8_gemm.h"
#include "kernels/quantize_rows/quantize_rows.h"

namespace uintx::kernels {

namespace {

class Int8GemmPlan : public KernelPlan {
 public:
  Int8GemmPlan(const QuantSpec& q, dsl::DType act, dsl::DType out, bool hasBias, const GemmConfig& c,
               const CompileFn& compile)
      : q_(q), c_(c), hasBias_(hasBias) {
    main_ = compile(buildInt8Gemm(q, act, hasBias, c, out));
    quantize_ = compile(buildQuantizeRows(q.K, act));
  }

  int64_t rowsPerProgram() const override { return c_.blockM; }
  size_t workspaceBytes(int64_t M) const override {
    return splitKPartialBytes(c_.splitK, M, q_.N) + rowsBytes(M) + size_t(M) * 4;
  }
  size_t counters(int64_t M) const override { return gemmOutputTiles(q_, c_, M); }

  void launch(const LinearCall& call, CUstream stream) const override {
    const CUdeviceptr partial = call.workspace;
    const CUdeviceptr xq = partial + splitKPartialBytes(c_.splitK, call.M, q_.N);
    const CUdeviceptr xscale = xq + rowsBytes(call.M);
    const LaunchArg M = LaunchArg::i32(int32_t(call.M));
    quantize_->launch({unsigned(call.M)}, stream,
                      NamedArgs{{"x", LaunchArg::ptr(call.x)}, {"xq", LaunchArg::ptr(xq)},
                                {"xscale", LaunchArg::ptr(xscale)}, {"M", M}});
    NamedArgs args = weightArgs(call);
    args.push_back({"xq", LaunchArg::ptr(xq)});
    args.push_back({"xscale", LaunchArg::ptr(xscale)});
    args.push_back({"M", M});
    addOutputArgs(args, call, c_.splitK, hasBias_, partial);
    main_->launch({ceilDiv(q_.N, c_.blockN), ceilDiv(call.M, c_.blockM), unsigned(c_.splitK)}, stream, args);
  }

 private:
  // The int8 rows of x, padded to 16 bytes so that the scales after them stay aligned.
  size_t rowsBytes(int64_t M) const { return (size_t(M) * size_t(q_.K) + 15) / 16 * 16; }

  QuantSpec q_;
  GemmConfig c_;
  bool hasBias_;
  std::shared_ptr<codegen::JitKernel> main_, quantize_;
};

}  // namespace

std::unique_ptr<KernelPlan> makeInt8GemmPlan(const QuantSpec& q, dsl::DType act, dsl::DType out, bool hasBias,
                                             const GemmConfig& config, const CompileFn& compile) {
  return std::make_unique<Int8GemmPlan>(q, act, out, hasBias, config, compile);
}

}  // namespace uintx::kernels
