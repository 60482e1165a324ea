#include "kernels/gemm/cost_model.h"

#include <algorithm>
#include <cmath>

#include "codegen/layout.h"
#include "kernels/gemm/config_space.h"
#include "kernels/gemm/tail_reduce.h"

namespace uintx::kernels {

double predictGemmUs(const QuantSpec& q, const GemmConfig& c, int64_t M, bool int8, const cache::GpuModel& gpu) {
  const double sms = gpu.smCount;
  const int eb = int8 ? 1 : 2;
  const double threads = 32.0 * c.numWarps;
  // The dot as the tensor cores see it: transposed configs put the weight rows on its m side.
  const int dotM = c.weightsAsA ? c.blockN : c.blockM, dotN = c.weightsAsA ? c.blockM : c.blockN;
  const bool wgmma = codegen::useWgmma(dotM, dotN, c.blockK, c.numWarps, eb);

  const double programs = std::ceil(double(q.N) / c.blockN) * std::ceil(double(M) / c.blockM) * c.splitK;
  const double steps = std::ceil(std::ceil(double(q.K) / c.blockK) / c.splitK);
  // Resident programs per SM: the grid's share, bounded by shared memory, registers, threads.
  GemmConfig shape = c;
  if (c.weightsAsA) std::swap(shape.blockM, shape.blockN);
  const double shared = double(std::max<int64_t>(1, gemmSharedBytes(gemmKeyOf(q, M, int8), c)));
  const double registers = 32.0 + std::max(0, gemmRegisterEstimate(shape, int8));
  const double fit = std::max(1.0, std::min({std::floor(double(codegen::kMaxSharedBytes) / shared),
                                             std::floor(65536.0 / (registers * threads)), std::floor(2048.0 / threads)}));
  const double resident = std::clamp(std::ceil(programs / sms), 1.0, fit);
  const double activeSms = std::min(sms, std::ceil(programs / resident));
  const double waves = std::ceil(programs / (sms * resident));

  // One step of every resident program of an SM.
  const double groupBytes = q.groupSize < q.K ? double(c.blockN) * c.blockK / q.groupSize * (q.symmetric ? 2.0 : 4.0) : 0.0;
  const double weightBytes = resident * (double(c.blockN) * c.blockK * q.bits / 8.0 + groupBytes);
  const double activationBytes = resident * double(std::min<int64_t>(c.blockM, M)) * c.blockK * eb;
  const double ahead = c.stages > 1 ? c.stages - 1 : 1;  // steps of loads each program keeps in flight
  const double bandwidth = std::min(gpu.copyBytesPerUs / activeSms, ahead * weightBytes / gpu.gemmLatencyUs);
  const double memoryUs = weightBytes / bandwidth + activationBytes / (gpu.l2BytesPerUs / sms);
  const double flopsPerUs = gpu.tensorFlopsPerUs / sms * (int8 ? 2.0 : 1.0) * (wgmma ? 1.0 : gpu.mmaSyncShare);
  const double tensorUs = resident * 2.0 * c.blockM * c.blockN * c.blockK / flopsPerUs;
  // 8-bit weights with int8 activations go to the tensor cores as loaded; others are decoded.
  const double decodeUs = int8 && q.bits == 8 ? 0.0 : resident * double(c.blockN) * c.blockK * gpu.decodeUsPerWeight;
  // A program's own step is a chain (wait for the loads, decode, stage, multiply) that other
  // programs of the SM may hide but its own threads cannot: longer the more weights each
  // thread decodes.
  const double weightsPerThread = int8 && q.bits == 8 ? 0.0 : double(c.blockN) * c.blockK / threads;
  const double chainUs = gpu.gemmStepUs + weightsPerThread * gpu.gemmChainUsPerWeight;
  const double stepUs = std::max({chainUs, memoryUs, tensorUs + decodeUs});

  double us = gpu.launchUs + waves * steps * stepUs;
  // A tail split: the whole waves, then the tail tiles' slices (a fraction of the steps each),
  // their partials and the reduce.
  const TailSplit tail = tailSplitOf(q, c, M, uint64_t(sms));
  if (tail.tailTiles() > 0) {
    const double tailPrograms = double(tail.tailTiles() * tail.slices);
    us = gpu.launchUs + std::ceil(double(tail.fullTiles) / sms) * steps * stepUs +
         std::ceil(tailPrograms / sms) * steps / tail.slices * stepUs + gpu.splitReduceUs +
         tailPrograms * c.blockM * c.blockN * 8.0 / gpu.copyBytesPerUs;
  }
  if (c.splitK > 1)  // f32 partials written and read back, and the reduce kernel
    us += gpu.splitReduceUs + double(c.splitK) * double(M) * double(q.N) * 8.0 / gpu.copyBytesPerUs;
  return us;
}

}  // namespace uintx::kernels
