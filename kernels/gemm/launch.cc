#include "kernels/gemm/launch.h"

#include "kernels/gemm/tail_reduce.h"
#include "kernels/split_k_reduce/split_k_reduce.h"

namespace uintx::kernels {

size_t partialBytes(const QuantSpec& q, const GemmConfig& c, int64_t M, const codegen::JitKernel& main) {
  if (c.tailSplit > 1) return tailPartialBytes(q, c, M, main.smCount());
  return c.splitK > 1 ? (size_t(c.splitK) * size_t(M) * size_t(q.N) * 4 + 255) / 256 * 256 : 0;
}

namespace {

class GemmPlan : public KernelPlan {
 public:
  GemmPlan(const QuantSpec& q, dsl::DType act, dsl::DType out, bool hasBias, const GemmConfig& c,
           const CompileFn& compile)
      : q_(q), c_(c), hasBias_(hasBias) {
    main_ = compile(buildGemm(q, act, hasBias, c, out));
    if (c.splitK > 1) reduce_ = compile(buildSplitKReduce(q.N, c.splitK, out, hasBias, q.scaleDtype));
    if (c.tailSplit > 1) reduce_ = compile(buildTailReduce(q, c, out, hasBias));
  }

  size_t workspaceBytes(int64_t M) const override { return partialBytes(q_, c_, M, *main_); }
  int64_t rowsPerProgram() const override { return c_.blockM; }

  void launch(const LinearCall& call, CUstream stream) const override {
    NamedArgs args = weightArgs(call);
    args.push_back({"x", c_.tmaCopies ? LaunchArg::tensor(call.x, call.M, q_.K, q_.K) : LaunchArg::ptr(call.x)});
    args.push_back({"M", LaunchArg::i32(int32_t(call.M))});
    if (c_.tailSplit > 1) return launchTailSplit(*main_, *reduce_, q_, c_, args, call, call.workspace, hasBias_, stream);
    addOutputArgs(args, call, c_.splitK, hasBias_, call.workspace);
    main_->launch({ceilDiv(q_.N, c_.blockN), ceilDiv(call.M, c_.blockM), unsigned(c_.splitK)}, stream, args);
    if (c_.splitK > 1) launchSplitKReduce(*reduce_, call, q_.N, call.workspace, stream);
  }

 private:
  QuantSpec q_;
  GemmConfig c_;
  bool hasBias_;
  std::shared_ptr<codegen::JitKernel> main_, reduce_;
};

}  // namespace

std::unique_ptr<KernelPlan> makeGemmPlan(const QuantSpec& q, dsl::DType act, dsl::DType out, bool hasBias,
                                         const GemmConfig& config, const CompileFn& compile) {
  return std::make_unique<GemmPlan>(q, act, out, hasBias, config, compile);
}

}  // namespace uintx::kernels
