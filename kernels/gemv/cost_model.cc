#include "kernels/gemv/cost_model.h"

#include <algorithm>
#include <cmath>

namespace uintx::kernels {

double predictGemvUs(const QuantSpec& q, const GemvConfig& c, int64_t M, const cache::GpuModel& gpu) {
  const double sms = gpu.smCount;
  const double groups = double(q.N) * (double(q.K) / double(q.groupSize));
  const double weightBytes = double(q.N) * double(q.K) * q.bits / 8.0 + groups * (q.symmetric ? 2.0 : 4.0);
  // Rows of x a program serves share its weight loads; past a few rows the math, not the
  // loads, bounds a program, so rows beyond 4 add no bytes in flight.
  const double rowsPerLoad = double(std::min(c.blockM, 4));
  const double elementsPerThread = gemvElementsPerThread(c) * rowsPerLoad;
  const double programs = std::ceil(double(q.N) / c.blockN) * std::ceil(double(M) / c.blockM) * c.splitK;
  const double threads = 32.0 * c.numWarps;
  // Programs resident per SM: the grid's share, bounded by 2048 threads and by registers.
  const double registers = 32.0 + elementsPerThread * gpu.registersPerElement;
  const double threadLimit = std::min(2048.0, std::max(threads, 65536.0 / registers));
  const double resident =
      std::max(1.0, std::min({std::ceil(programs / sms), std::floor(threadLimit / threads), 32.0}));
  const double inFlightPerSm = resident * threads * elementsPerThread * q.bits / 8.0 / rowsPerLoad;
  const double activeSms = std::min(sms, programs);
  const double bandwidth = std::min(gpu.copyBytesPerUs, activeSms * inFlightPerSm / gpu.memLatencyUs);
  // A last wave that fills only part of the SMs costs a whole wave.
  const double slots = sms * resident;
  const double waves = std::ceil(programs / slots);
  const double waveEfficiency = programs > slots ? programs / (waves * slots) : 1.0;
  // Steps of the longest slice; a last step past K costs a whole step.
  const double steps = std::ceil(double(gemvSteps(q, c)) / c.splitK);
  // Every thread pays its loop and address arithmetic once per step, whatever it loads.
  const double threadStepsPerSm = programs * threads * steps / activeSms;
  double us = gpu.launchUs + weightBytes / bandwidth / waveEfficiency + steps * gpu.stepUs +
              threadStepsPerSm * gpu.threadStepUs;
  if (c.splitK > 1)  // f32 partials written and read back, and the reduce kernel
    us += gpu.splitReduceUs + double(c.splitK) * double(M) * double(q.N) * 8.0 / gpu.copyBytesPerUs;
  return us;
}

}  // namespace uintx::kernels
