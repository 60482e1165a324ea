// Tensor arguments (KernelBuilder::tensorArg) at launch, on the fake driver: the tensor map
// the runtime encodes has the box and swizzle the code generator laid shared memory out for
// (dsl/tensor_block.h), and what the TMA cannot take fails with a message before any launch.
#include <doctest/doctest.h>

#include "codegen/jit_kernel.h"
#include "examples/example_kernels.h"
#include "runtime/device_buffer.h"
#include "tests/runtime/fake_driver.h"
#include "uintx/error.h"

using namespace uintx;
using codegen::JitKernel;
using codegen::LaunchArg;
using uintx::testing::queryFake;

namespace {
const bool kDriverPathOverridden = uintx::testing::useFakeDriver();

struct Map {
  long long dtype, rank, cols, rows, strideBytes, boxCols, boxRows, swizzle, count;
};
Map mapOf(const char* query) {
  const long long* f = queryFake<const long long*>(query);
  return Map{f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8]};
}
// A tensor argument's two maps (dsl/tensor_block.h), encoded one after the other.
Map lastMap() { return mapOf("fakeLastTensorMap"); }          // map 1: atoms
Map previousMap() { return mapOf("fakePreviousTensorMap"); }  // map 0: rows in order
}  // namespace

TEST_CASE("a launch encodes each tensor argument's map with its block's box and swizzle") {
  REQUIRE(kDriverPathOverridden);
  runtime::DeviceBuffer x(300 * 1024), w(520 * 1024), y(300 * 520 * 4);
  auto gemm = JitKernel::compile(examples::blockMatmul(dsl::DType::i8, 128, 128, 128, 4));
  const long long before = lastMap().count;
  gemm->launch({5, 3, 1}, nullptr,
               {LaunchArg::tensor(x.get(), 300, 1000, 1024), LaunchArg::tensor(w.get(), 520, 1000, 1024),
                LaunchArg::ptr(y.get()), LaunchArg::i32(300), LaunchArg::i32(520), LaunchArg::i32(1000)});
  Map m = lastMap();  // w's atoms map, encoded last
  CHECK(m.count == before + 4);  // two maps of each tensor
  CHECK(m.dtype == CU_TENSOR_MAP_DATA_TYPE_UINT8);
  CHECK(m.rank == 2);
  CHECK(m.cols == 1000);
  CHECK(m.rows == 520);
  CHECK(m.strideBytes == 1024);
  CHECK(m.boxCols == 128);  // one 128-byte column block
  CHECK(m.boxRows == 8);    // one swizzle atom per copy
  CHECK(m.swizzle == CU_TENSOR_MAP_SWIZZLE_128B);
  Map inOrder = previousMap();  // w's map of whole column blocks
  CHECK(inOrder.rows == 520);
  CHECK(inOrder.strideBytes == 1024);
  CHECK(inOrder.boxCols == 128);
  CHECK(inOrder.boxRows == 128);  // the block's 128 rows in one copy
  CHECK(inOrder.swizzle == CU_TENSOR_MAP_SWIZZLE_128B);

  runtime::DeviceBuffer out(48 * 192 * 2);
  JitKernel::compile(examples::blockCopy(dsl::DType::bf16, 16, 32))
      ->launch({3, 3, 1}, nullptr,
               {LaunchArg::tensor(x.get(), 37, 100, 112), LaunchArg::ptr(out.get()), LaunchArg::i32(96),
                LaunchArg::i32(0), LaunchArg::i32(0)});
  m = lastMap();
  CHECK(m.dtype == CU_TENSOR_MAP_DATA_TYPE_BFLOAT16);
  CHECK(m.strideBytes == 224);
  CHECK(m.boxCols == 32);  // rows of 64 bytes: copied whole, unswizzled, by either map
  CHECK(m.boxRows == 16);
  CHECK(m.swizzle == CU_TENSOR_MAP_SWIZZLE_NONE);
  CHECK(previousMap().boxRows == 16);
}

TEST_CASE("tensor arguments the TMA cannot take are rejected before the launch") {
  REQUIRE(kDriverPathOverridden);
  auto k = JitKernel::compile(examples::blockRowSum(16, 32, 2));
  runtime::DeviceBuffer x(64 * 64 * 4), out(64 * 4);
  auto args = [&](LaunchArg tensor) {
    return std::vector<LaunchArg>{tensor, LaunchArg::ptr(out.get()), LaunchArg::i32(16), LaunchArg::i32(60)};
  };
  CHECK_NOTHROW(k->checkArgs(args(LaunchArg::tensor(x.get(), 16, 60, 64))));
  CHECK_THROWS_WITH(k->checkArgs(args(LaunchArg::tensor(x.get() + 4, 16, 60, 64))), doctest::Contains("not 16-byte aligned"));
  CHECK_THROWS_WITH(k->checkArgs(args(LaunchArg::tensor(0, 16, 60, 64))), doctest::Contains("null base pointer"));
  CHECK_THROWS_WITH(k->checkArgs(args(LaunchArg::tensor(x.get(), 16, 60, 61))), doctest::Contains("multiple of 16"));
  CHECK_THROWS_WITH(k->checkArgs(args(LaunchArg::tensor(x.get(), 16, 60, 32))), doctest::Contains("less than the row"));
  CHECK_THROWS_WITH(k->checkArgs(args(LaunchArg::tensor(x.get(), 0, 60, 64))), doctest::Contains("must be in [1, 2^31]"));
  CHECK_THROWS_WITH(k->checkArgs(args(LaunchArg::ptr(x.get()))), doctest::Contains("parameter 0 'x': expected a tensor"));
  auto copy = JitKernel::compile(examples::vectorAdd());
  CHECK_THROWS_WITH(copy->checkArgs({LaunchArg::tensor(x.get(), 1, 16, 16), LaunchArg::ptr(x.get()), LaunchArg::ptr(x.get()),
                                     LaunchArg::i32(16)}),
                    doctest::Contains("got a tensor"));
}
