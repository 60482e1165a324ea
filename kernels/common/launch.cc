#include "kernels/common/launch.h"

namespace uintx::kernels {

NamedArgs weightArgs(const LinearCall& call) {
  NamedArgs args{{"qweight", LaunchArg::ptr(call.packed)}, {"scales", LaunchArg::ptr(call.scales)}};
  if (call.zeros) args.push_back({"zeros", LaunchArg::ptr(call.zeros)});
  return args;
}

void addOutputArgs(NamedArgs& args, const LinearCall& call, int splitK, bool hasBias, CUdeviceptr partial) {
  args.push_back({"y", LaunchArg::ptr(call.y)});
  if (hasBias) args.push_back({"bias", LaunchArg::ptr(call.bias)});
  if (splitK > 1) {
    args.push_back({"partial", LaunchArg::ptr(partial)});
    args.push_back({"counters", LaunchArg::ptr(call.counters)});
  }
}

size_t splitKPartialBytes(int splitK, int64_t M, int64_t N) {
  return splitK > 1 ? (size_t(splitK) * size_t(M) * size_t(N) * 4 + 255) / 256 * 256 : 0;
}

unsigned ceilDiv(int64_t a, int64_t b) { return unsigned((a + b - 1) / b); }

}  // namespace uintx::kernels
