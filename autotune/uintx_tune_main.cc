// uintx-tune: pre-warms the config cache and the compiled-kernel cache (docs/CACHE.md).
#include <unistd.h>

#include <iostream>

#include "autotune/tune_cli.h"

int main(int argc, char** argv) {
  using namespace uintx::autotune;
  TuneCliEnvironment environment;
  environment.stdoutIsTerminal = ::isatty(STDOUT_FILENO) == 1;
  // The GPU tuner plugs in here (environment.makeTuner) once it exists; until then a
  // machine with a driver gets exit code 3 and "no GPU tuner linked in".
  std::vector<std::string> args(argv + 1, argv + argc);
  return runTuneCli(args, environment, std::cout, std::cerr);
}
