// The kernels directory's entries read back strictly: what this build writes is accepted, and a
// cut or edited header is passed over (the kernel is compiled again), never half-read.
#include <doctest/doctest.h>

#include <string>

#include "dispatch/stored_kernel.h"

using namespace uintx;

TEST_CASE("a stored kernel entry round-trips, and a bad header is refused") {
  codegen::PtxKernel k;
  k.name = "gemv_w4";
  k.ptx = ".version 8.0\n.target sm_90a\n";
  k.numThreads = 256;
  k.sharedBytes = 49152;
  const std::string text = dispatch::storedKernelText(k);
  auto back = dispatch::parseStoredKernel(text, "gemv_w4", 256);
  REQUIRE(back.has_value());
  CHECK(back->name == "gemv_w4");
  CHECK(back->ptx == k.ptx);
  CHECK(back->numThreads == 256);
  CHECK(back->sharedBytes == 49152);

  const std::string ptx = "\n.version 8.0\n";
  CHECK_FALSE(dispatch::parseStoredKernel(text, "gemv_w4", 128));                     // another program's threads
  CHECK_FALSE(dispatch::parseStoredKernel("256 232449" + ptx, "g", 256));             // past 227 KiB
  CHECK(dispatch::parseStoredKernel("256 232448" + ptx, "g", 256));                   // 227 KiB exactly
  // sscanf("%d %d") took each of these: an overflowing number (undefined), trailing text, a
  // sign, a leading space.
  CHECK_FALSE(dispatch::parseStoredKernel("256 99999999999999999999" + ptx, "g", 256));
  CHECK_FALSE(dispatch::parseStoredKernel("256 0junk" + ptx, "g", 256));
  CHECK_FALSE(dispatch::parseStoredKernel("256 0 7" + ptx, "g", 256));
  CHECK_FALSE(dispatch::parseStoredKernel("+256 0" + ptx, "g", 256));
  CHECK_FALSE(dispatch::parseStoredKernel("256 -0" + ptx, "g", 256));
  CHECK_FALSE(dispatch::parseStoredKernel(" 256 0" + ptx, "g", 256));
  CHECK_FALSE(dispatch::parseStoredKernel("256  0" + ptx, "g", 256));
  // No newline, or nothing after it: no PTX.
  CHECK_FALSE(dispatch::parseStoredKernel("256 0", "g", 256));
  CHECK_FALSE(dispatch::parseStoredKernel("256 0\n", "g", 256));
  CHECK_FALSE(dispatch::parseStoredKernel("", "g", 256));
}
