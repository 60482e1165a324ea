#include "kernels/common/pipelined_loop.h"

namespace uintx::kernels {

using namespace uintx::dsl;

std::vector<Value> pipelinedLoop(KernelBuilder& kb, Value lo, Value hi, int step, const std::vector<Value>& acc,
                                 const LoadStep& load, const ComputeStep& compute, bool prefetch, int sharedStages,
                                 bool warpSpecialized) {
  size_t n = acc.size();
  std::vector<Value> init = acc;
  if (prefetch) {
    std::vector<Value> first = load(lo);
    init.insert(init.end(), first.begin(), first.end());
  }
  Value last = lo + (hi - lo - 1) / step * step;  // the last step's k0
  auto results = kb.forLoop(lo, hi, kb.constant(step, DType::i32), init, [&](Value k0, const std::vector<Value>& c) {
    std::vector<Value> a(c.begin(), c.begin() + n), loaded, next;
    if (prefetch) {
      loaded.assign(c.begin() + n, c.end());
      next = load(minimum(k0 + step, last));
    } else {
      loaded = load(k0);
    }
    std::vector<Value> out = compute(k0, loaded, a);
    out.insert(out.end(), next.begin(), next.end());
    return out;
  }, sharedStages, warpSpecialized);
  results.resize(n);
  return results;
}

}  // namespace uintx::kernels
