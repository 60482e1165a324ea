#include "dispatch/call_key.h"

#include "kernels/common/quant_spec.h"
#include "kernels/families.h"

namespace uintx::dispatch {

cache::KernelKey callKey(const WeightFormat& f, ScalarType act, int64_t M, bool int8) {
  cache::KernelKey k;
  k.family = kernels::chooseFamily(kernels::quantSpecOf(f), M, int8);
  k.bit_width = f.bit_width;
  k.group_size = f.group_size;
  k.packing_bitwidth = f.packing_bitwidth;
  k.act_dtype = act == ScalarType::bf16 ? "bf16" : "fp16";
  k.out_dtype = k.act_dtype;
  k.N = f.N;
  k.K = f.K;
  k.m_bucket = cache::KernelKey::mBucket(M);
  return k;
}

}  // namespace uintx::dispatch
