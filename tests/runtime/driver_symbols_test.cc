// Every entry point the loader resolves must be a symbol that libcuda exports. The
// toolkit's link stub (lib64/stubs/libcuda.so) carries the driver's export table; its
// symbol table is read with nm, never loaded.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "runtime/cuda_driver.h"

namespace {

std::string cudaRoot() {
  const char* env = std::getenv("UINTX_CUDA_PATH");
  return (env && *env) ? env : "/usr/local/cuda";
}

}  // namespace

TEST_CASE("the loader's entry points are exported by libcuda") {
  std::string stub = cudaRoot() + "/lib64/stubs/libcuda.so";
  if (FILE* f = std::fopen(stub.c_str(), "rb")) {
    std::fclose(f);
  } else {
    MESSAGE("skipped: no " << stub);
    return;
  }
  std::string command = "nm -D --defined-only '" + stub + "' 2>/dev/null";
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::set<std::string> exported;
  char line[512];
  while (std::fgets(line, sizeof(line), pipe)) {
    std::string text(line);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    size_t space = text.rfind(' ');
    exported.insert(space == std::string::npos ? text : text.substr(space + 1));
  }
  int status = pclose(pipe);
  if (status != 0 && exported.empty()) {
    MESSAGE("skipped: nm is not available");
    return;
  }
  REQUIRE(exported.count("cuInit") == 1);  // the listing was read correctly
  std::vector<std::string> names = {
#define UINTX_NAME(name) #name,
      UINTX_CUDA_DRIVER_ENTRIES(UINTX_NAME)
#undef UINTX_NAME
  };
  CHECK(names.size() >= 30);
  for (const std::string& name : names) {
    INFO("entry point " << name);
    CHECK(exported.count(name) == 1);
  }
}
