#include "kernels/gemm/launch.h"

namespace uintx::kernels {

size_t gemmOutputTiles(const QuantSpec& q, const GemmConfig& c, int64_t M) {
  return c.splitK > 1 ? size_t(ceilDiv(q.N, c.blockN)) * ceilDiv(M, c.blockM) : 0;
}

namespace {

class GemmPlan : public KernelPlan {
 public:
  GemmPlan(const QuantSpec& q, dsl::DType act, dsl::DType out, bool hasBias, const GemmConfig& c,
           const CompileFn& compile)
      : q_(q), c_(c), hasBias_(hasBias) {
    main_ = compile(buildGemm(q, act, hasBias, c, out));
  }

  size_t workspaceBytes(int64_t M) const override { return splitKPartialBytes(c_.splitK, M, q_.N); }
  size_t counters(int64_t M) const override { return gemmOutputTiles(q_, c_, M); }
  int64_t rowsPerProgram() const override { return c_.blockM; }

  void launch(const LinearCall& call, CUstream stream) const override {
    NamedArgs args = weightArgs(call);
    args.push_back({"x", LaunchArg::ptr(call.x)});
    args.push_back({"M", LaunchArg::i32(int32_t(call.M))});
    addOutputArgs(args, call, c_.splitK, hasBias_, call.workspace);
    main_->launch({ceilDiv(q_.N, c_.blockN), ceilDiv(call.M, c_.blockM), unsigned(c_.splitK)}, stream, args);
  }

 private:
  QuantSpec q_;
  GemmConfig c_;
  bool hasBias_;
  std::shared_ptr<codegen::JitKernel> main_;
};

}  // namespace

std::unique_ptr<KernelPlan> makeGemmPlan(const QuantSpec& q, dsl::DType act, dsl::DType out, bool hasBias,
                                         const GemmConfig& config, const CompileFn& compile) {
  return std::make_unique<GemmPlan>(q, act, out, hasBias, config, compile);
}

}  // namespace uintx::kernels
