// The hand-written PTX of the GPU test must be valid sm_90a code: ptxas (found through
// $UINTX_CUDA_PATH, else /usr/local/cuda) assembles it, and names both kernels.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "tests/runtime/test_kernels_ptx.h"

TEST_CASE("ptxas accepts the runtime test kernels for sm_90a") {
  const char* env = std::getenv("UINTX_CUDA_PATH");
  std::string ptxas = std::string((env && *env) ? env : "/usr/local/cuda") + "/bin/ptxas";
  if (access(ptxas.c_str(), X_OK) != 0) {
    MESSAGE("skipped: no ptxas at " << ptxas);
    return;
  }
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string dir = (tmp && *tmp) ? tmp : "/tmp";
  std::string ptxPath = dir + "/runtime_test_kernels_" + std::to_string(getpid()) + ".ptx";
  std::string cubinPath = ptxPath + ".cubin";
  {
    std::ofstream out(ptxPath);
    out << uintx::testing::kTestKernelsPtx;
  }
  std::string command =
      "'" + ptxas + "' -arch=sm_90a -v '" + ptxPath + "' -o '" + cubinPath + "' 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string output;
  char buffer[512];
  while (std::fgets(buffer, sizeof(buffer), pipe)) output += buffer;
  int status = pclose(pipe);
  INFO("ptxas output:\n" << output);
  CHECK(status == 0);
  CHECK(output.find("Compiling entry function 'vector_add'") != std::string::npos);
  CHECK(output.find("Compiling entry function 'reverse_in_block'") != std::string::npos);
  std::remove(ptxPath.c_str());
  std::remove(cubinPath.c_str());
}
