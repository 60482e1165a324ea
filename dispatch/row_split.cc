#include "dispatch/row_split.h"

namespace uintx::dispatch {

int64_t separateTailRows(int64_t M, int64_t rowsPerProgram, cache::KernelFamily family) {
  const int64_t rest = rowsPerProgram >= 128 ? M % rowsPerProgram : 0;
  const bool separate = M > rowsPerProgram && rest > 0 && rest <= rowsPerProgram / 4 && family != cache::KernelFamily::gemm_int8;
  return separate ? rest : 0;
}

}  // namespace uintx::dispatch
