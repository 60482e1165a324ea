// The loader and Communicator against a stand-in libnccl.so.2 (fake_nccl.cc), named by
// UINTX_LIBNCCL (see BUILD): symbols resolve, the version decodes, communicators carry rank,
// world and device, and NCCL errors become uintx::Error with NCCL's text. A second run with a
// library that lacks ncclAllGather checks the missing-symbol message.
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

#include "parallel/communicator.h"
#include "parallel/nccl_library.h"
#include "uintx/error.h"

using namespace uintx;
using namespace uintx::parallel;

TEST_CASE("NCCL from $UINTX_LIBNCCL") {
  const char* path = std::getenv("UINTX_LIBNCCL");
  REQUIRE(path != nullptr);
  const bool incomplete = std::getenv("FAKE_NCCL_INCOMPLETE") != nullptr;
  std::string why;
  if (incomplete) {
    CHECK_FALSE(ncclAvailable(&why));
    CHECK(why.find(std::string(path) + " lacks ncclAllGather") != std::string::npos);
    CHECK(why.find("ncclAllReduce") == std::string::npos);  // only what is missing
    CHECK_THROWS_WITH_AS(Communicator::createAll({0}), doctest::Contains("lacks ncclAllGather"), Error);
    return;
  }
  REQUIRE(ncclAvailable(&why));
  CHECK(why.empty());
  CHECK(ncclLibraryPath() == path);
  CHECK(ncclVersionString() == "2.28.5");
  CHECK(std::string(std::getenv("NCCL_NVLS_ENABLE")) == "0");

  std::vector<Communicator> comms = Communicator::createAll({3, 1, 2});
  REQUIRE(comms.size() == 3);
  for (int r = 0; r < 3; ++r) {
    CHECK(comms[size_t(r)].rank() == r);
    CHECK(comms[size_t(r)].world() == 3);
    CHECK(comms[size_t(r)].get() != nullptr);
  }
  CHECK(comms[0].device() == 3);
  CHECK(comms[1].device() == 1);
  CHECK(comms[2].device() == 2);
  Communicator moved = std::move(comms[0]);
  CHECK(comms[0].get() == nullptr);
  CHECK(moved.device() == 3);

  // NCCL's failure becomes an Error naming the call, the code and NCCL's texts.
  CHECK_THROWS_WITH_AS(Communicator::createAll({0, 9}),
                       doctest::Contains("ncclCommInitAll failed: NCCL error 4 (invalid argument (fake)): fake last error"),
                       Error);
  CHECK_THROWS_WITH_AS(checkNccl(ncclSystemError, "ncclAllReduce"), doctest::Contains("ncclAllReduce failed: NCCL error 2"),
                       Error);
  CHECK_NOTHROW(checkNccl(ncclSuccess, "ncclAllReduce"));
  ncclUniqueId id = Communicator::uniqueId();
  CHECK(id.internal[0] == 7);
}
