#include <doctest/doctest.h>
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/BuiltinTypes.h"
TEST_CASE("mlir links") {
  mlir::MLIRContext ctx;
  CHECK(mlir::Float32Type::get(&ctx).getIntOrFloatBitWidth() == 32);
}
