#include "tests/codegen/ptxas.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace uintx::testing {

std::string findPtxas() {
  for (const char* env : {"UINTX_CUDA_PATH", "CUDA_PATH"}) {
    const char* root = std::getenv(env);
    if (root && *root) {
      std::string p = std::string(root) + "/bin/ptxas";
      if (access(p.c_str(), X_OK) == 0) return p;
    }
  }
  std::string p = "/usr/local/cuda/bin/ptxas";
  return access(p.c_str(), X_OK) == 0 ? p : "";
}

int runPtxas(const std::string& ptx, const std::string& arch, std::string* log) {
  std::string ptxas = findPtxas();
  if (ptxas.empty()) {
    *log = "ptxas not found";
    return -1;
  }
  char dir[] = "/tmp/uintx_ptxas_XXXXXX";
  if (!mkdtemp(dir)) return -1;
  std::string in = std::string(dir) + "/k.ptx", out = std::string(dir) + "/k.cubin",
              err = std::string(dir) + "/log.txt";
  std::ofstream(in) << ptx;
  std::string cmd = ptxas + " -arch=" + arch + " -v " + in + " -o " + out + " > " + err + " 2>&1";
  int status = std::system(cmd.c_str());
  std::ifstream f(err);
  std::stringstream ss;
  ss << f.rdbuf();
  *log = ss.str();
  std::remove(in.c_str());
  std::remove(out.c_str());
  std::remove(err.c_str());
  rmdir(dir);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace uintx::testing
