#include "kernels/common/launch.h"

namespace uintx::kernels {

NamedArgs weightArgs(const LinearCall& call) {
  NamedArgs args{{"qweight", LaunchArg::ptr(call.packed)}, {"scales", LaunchArg::ptr(call.scales)}};
  if (call.zeros) args.push_back({"zeros", LaunchArg::ptr(call.zeros)});
  return args;
}

void addOutputArgs(NamedArgs& args, const LinearCall& call, int splitK, bool hasBias, CUdeviceptr partial) {
  if (splitK > 1) {
    args.push_back({"partial", LaunchArg::ptr(partial)});
    return;
  }
  args.push_back({"y", LaunchArg::ptr(call.y)});
  if (hasBias) args.push_back({"bias", LaunchArg::ptr(call.bias)});
}

unsigned ceilDiv(int64_t a, int64_t b) { return unsigned((a + b - 1) / b); }

}  // namespace uintx::kernels
