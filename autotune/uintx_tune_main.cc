// uintx-tune: pre-warms the config cache and the compiled-kernel cache (docs/CACHE.md).
#include <unistd.h>

#include <iostream>

#include "autotune/gpu_tuner.h"
#include "autotune/tune_cli.h"

int main(int argc, char** argv) {
  using namespace uintx::autotune;
  TuneCliEnvironment environment;
  environment.stdoutIsTerminal = ::isatty(STDOUT_FILENO) == 1;
  // Tune the keys uintx::linear looks up, with the GPU tuner (GEMV and GEMM spaces); it also
  // points the library's caches at --cache / --kernels-dir so the compiled PTX lands there.
  std::vector<std::string> args(argv + 1, argv + argc);
  ParsedTuneArgs parsed = parseTuneArgs(args);  // runTuneCli parses again and reports errors
  if (parsed.options) environment.families = libraryFamilyPolicy(*parsed.options);
  environment.makeTuner = makeGpuTuner;
  return runTuneCli(args, environment, std::cout, std::cerr);
}
