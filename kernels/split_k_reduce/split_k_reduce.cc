#include "kernels/split_k_reduce/split_k_reduce.h"

#include "kernels/common/quant_spec.h"

namespace uintx::kernels {

using namespace uintx::dsl;

KernelProgram buildSplitKReduce(int64_t N, int splitK, DType act, bool hasBias, DType biasDtype, int block) {
  KernelBuilder kb("splitk_reduce_" + std::string(dtypeName(act)));
  Value partial = kb.pointerArg("partial", DType::f32);
  Value bias = hasBias ? kb.pointerArg("bias", biasDtype, kWeightData) : Value();
  Value y = kb.pointerArg("y", act);
  Value M = kb.scalarArg("M", DType::i32);
  Value rn = kb.programId(0) * block + kb.arange(0, block);
  Value m = kb.programId(1);
  Value mask = rn < int(N);
  Value r = kb.zeros({block}, DType::f32);
  for (int s = 0; s < splitK; ++s) r = r + load(partial + ((M * s + m) * int(N) + rn), mask, 0.0);
  if (bias.builder()) r = r + cast(load(bias + rn, mask, 0.0), DType::f32);
  kb.store(y + (m * int(N) + rn), cast(r, act), mask);
  return kb.finish();
}

void launchSplitKReduce(const codegen::JitKernel& reduce, const LinearCall& call, int64_t N, CUdeviceptr partial,
                        CUstream stream) {
  NamedArgs args{{"partial", codegen::LaunchArg::ptr(partial)}, {"y", codegen::LaunchArg::ptr(call.y)},
                 {"M", codegen::LaunchArg::i32(int32_t(call.M))}};
  if (call.bias) args.push_back({"bias", codegen::LaunchArg::ptr(call.bias)});
  reduce.launch({unsigned((N + 255) / 256), unsigned(call.M)}, stream, args);
}

}  // namespace uintx::kernels
