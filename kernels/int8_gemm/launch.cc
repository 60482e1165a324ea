#include "kernels/int8_gemm/launch.h"

#include "kernels/gemm/launch.h"
#include "kernels/gemm/tail_reduce.h"
#include "kernels/int8_gemm/int8_gemm.h"
#include "kernels/quantize_rows/quantize_rows.h"
#include "kernels/split_k_reduce/split_k_reduce.h"

namespace uintx::kernels {

namespace {

class Int8GemmPlan : public KernelPlan {
 public:
  Int8GemmPlan(const QuantSpec& q, dsl::DType act, dsl::DType out, bool hasBias, const GemmConfig& c,
               const CompileFn& compile)
      : q_(q), c_(c), hasBias_(hasBias) {
    main_ = compile(buildInt8Gemm(q, act, hasBias, c, out));
    quantize_ = compile(buildQuantizeRows(q.K, act));
    if (c.splitK > 1) reduce_ = compile(buildSplitKReduce(q.N, c.splitK, out, hasBias, q.scaleDtype));
    if (c.tailSplit > 1) reduce_ = compile(buildTailReduce(q, c, out, hasBias));
  }

  int64_t rowsPerProgram() const override { return c_.blockM; }
  size_t workspaceBytes(int64_t M) const override { return rowsOffset(M) + rowsBytes(M) + size_t(M) * 4; }

  void launch(const LinearCall& call, CUstream stream) const override {
    const CUdeviceptr partial = call.workspace;
    const CUdeviceptr xq = partial + rowsOffset(call.M);
    const CUdeviceptr xscale = xq + rowsBytes(call.M);
    const LaunchArg M = LaunchArg::i32(int32_t(call.M));
    quantize_->launch({unsigned(call.M)}, stream,
                      NamedArgs{{"x", LaunchArg::ptr(call.x)}, {"xq", LaunchArg::ptr(xq)},
                                {"xscale", LaunchArg::ptr(xscale)}, {"M", M}});
    NamedArgs args = weightArgs(call);
    if (c_.tmaCopies) {  // the int8 rows of x and of the weights, as tensors
      for (auto& [name, arg] : args)
        if (name == "qweight") arg = LaunchArg::tensor(call.packed, q_.N, q_.K, q_.rowBytes());
      args.push_back({"xq", LaunchArg::tensor(xq, call.M, q_.K, q_.K)});
    } else {
      args.push_back({"xq", LaunchArg::ptr(xq)});
    }
    args.push_back({"xscale", LaunchArg::ptr(xscale)});
    args.push_back({"M", M});
    if (c_.tailSplit > 1) return launchTailSplit(*main_, *reduce_, q_, c_, args, call, partial, hasBias_, stream);
    addOutputArgs(args, call, c_.splitK, hasBias_, partial);
    main_->launch({ceilDiv(q_.N, c_.blockN), ceilDiv(call.M, c_.blockM), unsigned(c_.splitK)}, stream, args);
    if (c_.splitK > 1) launchSplitKReduce(*reduce_, call, q_.N, partial, stream);
  }

 private:
  // The int8 rows of x after the partials, both padded to 16 bytes so that the rows and the
  // scales after them stay aligned (the TMA reads the rows from a 16-byte aligned base).
  size_t rowsOffset(int64_t M) const { return (partialBytes(q_, c_, M, *main_) + 15) / 16 * 16; }
  size_t rowsBytes(int64_t M) const { return (size_t(M) * size_t(q_.K) + 15) / 16 * 16; }

  QuantSpec q_;
  GemmConfig c_;
  bool hasBias_;
  std::shared_ptr<codegen::JitKernel> main_, quantize_, reduce_;
};

}  // namespace

std::unique_ptr<KernelPlan> makeInt8GemmPlan(const QuantSpec& q, dsl::DType act, dsl::DType out, bool hasBias,
                                             const GemmConfig& config, const CompileFn& compile) {
  return std::make_unique<Int8GemmPlan>(q, act, out, hasBias, config, compile);
}

}  // namespace uintx::kernels
