#include "kernels/common/launch.h"

namespace uintx::kernels {

NamedArgs weightArgs(const LinearCall& call) {
  NamedArgs args{{"qweight", LaunchArg::ptr(call.packed)}, {"scales", LaunchArg::ptr(call.scales)}};
  if (call.zeros) args.push_back({"zeros", LaunchArg::ptr(call.zeros)});
  return args;
}

unsigned ceilDiv(int64_t a, int64_t b) { return unsigned((a + b - 1) / b); }

}  // namespace uintx::kernels
