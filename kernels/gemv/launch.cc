#include "kernels/gemv/launch.h"

#include "kernels/split_k_reduce/split_k_reduce.h"

namespace uintx::kernels {

namespace {

class GemvPlan : public KernelPlan {
 public:
  GemvPlan(const QuantSpec& q, dsl::DType act, dsl::DType out, bool hasBias, const GemvConfig& c,
           const CompileFn& compile)
      : q_(q), c_(c), hasBias_(hasBias) {
    main_ = compile(buildGemv(q, act, hasBias, c, out));
    if (c.splitK > 1) reduce_ = compile(buildSplitKReduce(q.N, c.splitK, out, hasBias, q.scaleDtype));
  }

  size_t workspaceBytes(int64_t M) const override {
    return c_.splitK > 1 ? size_t(c_.splitK) * size_t(M) * size_t(q_.N) * 4 : 0;
  }

  void launch(const LinearCall& call, CUstream stream) const override {
    NamedArgs args = weightArgs(call);
    args.push_back({"x", LaunchArg::ptr(call.x)});
    args.push_back({"M", LaunchArg::i32(int32_t(call.M))});
    addOutputArgs(args, call, c_.splitK, hasBias_, call.workspace);
    main_->launch({ceilDiv(q_.N, c_.blockN), unsigned(c_.splitK), ceilDiv(call.M, c_.blockM)}, stream, args);
    if (c_.splitK > 1) launchSplitKReduce(*reduce_, call, q_.N, call.workspace, stream);
  }

 private:
  QuantSpec q_;
  GemvConfig c_;
  bool hasBias_;
  std::shared_ptr<codegen::JitKernel> main_, reduce_;
};

}  // namespace

std::unique_ptr<KernelPlan> makeGemvPlan(const QuantSpec& q, dsl::DType act, dsl::DType out, bool hasBias,
                                         const GemvConfig& config, const CompileFn& compile) {
  return std::make_unique<GemvPlan>(q, act, out, hasBias, config, compile);
}

}  // namespace uintx::kernels
