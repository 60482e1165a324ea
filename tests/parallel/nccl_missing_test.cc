// Run with UINTX_LIBNCCL pointing to a file that does not exist (see BUILD): loading is
// lazy, so nothing fails until a communicator is created, and then the error says what was
// tried and how to fix it. NCCL_NVLS_ENABLE starts as 1 (BUILD) and must be forced to 0.
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

#include "parallel/communicator.h"
#include "parallel/nccl_library.h"
#include "uintx/error.h"

using namespace uintx;
using namespace uintx::parallel;

TEST_CASE("a missing NCCL is a clear error when a communicator is created") {
  const char* path = std::getenv("UINTX_LIBNCCL");
  REQUIRE(path != nullptr);
  REQUIRE(std::string(path).find("does-not-exist") != std::string::npos);
  REQUIRE(std::string(std::getenv("NCCL_NVLS_ENABLE")) == "1");

  std::string message;
  try {
    Communicator::createAll({0, 1});
  } catch (const Error& e) {
    message = e.what();
  }
  CHECK(message.find("NCCL is not available") != std::string::npos);
  CHECK(message.find(path) != std::string::npos);          // the path tried
  CHECK(message.find("$UINTX_LIBNCCL") != std::string::npos);
  CHECK(message.find("nvidia-nccl-cu13") != std::string::npos);  // how to get one
  // An explicit path is never replaced by another NCCL (this machine may have one installed).
  CHECK(message.find("tried:\n  " + std::string(path) + ":") != std::string::npos);
  CHECK(message.find("\n  libnccl.so.2:") == std::string::npos);

  std::string why;
  CHECK_FALSE(ncclAvailable(&why));
  CHECK(why == message);
  CHECK(ncclLibraryPath().empty());
  CHECK_THROWS_WITH_AS(nccl(), doctest::Contains("NCCL is not available"), Error);
  CHECK_THROWS_WITH_AS(Communicator::uniqueId(), doctest::Contains("NCCL is not available"), Error);
  // Multicast was switched off before the (failed) load, overriding the 1 from the environment.
  CHECK(std::string(std::getenv("NCCL_NVLS_ENABLE")) == "0");
}

TEST_CASE("communicator arguments are checked before NCCL is needed") {
  CHECK_THROWS_WITH_AS(Communicator::createAll({}), doctest::Contains("needs at least one device"), Error);
  CHECK_THROWS_WITH_AS(Communicator::createAll({0, 0}), doctest::Contains("repeats a device"), Error);
  CHECK_THROWS_WITH_AS(Communicator::createRank(ncclUniqueId{}, 2, 2), doctest::Contains("rank 2 must lie in [0, world = 2)"),
                       Error);
}
