// Test passes that print what the lowering's analyses conclude, as remarks on the ops they are
// about, so that tests/mlir/ can check them with FileCheck.

#include "codegen/async_loads.h"
#include "codegen/axis_info.h"
#include "codegen/passes.h"
#include "dsl/UxDialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Pass/Pass.h"

namespace uintx::codegen {

using namespace mlir;

namespace {

struct TestAxisInfoPass : PassWrapper<TestAxisInfoPass, OperationPass<func::FuncOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(TestAxisInfoPass)

  StringRef getArgument() const override { return "ux-test-axis-info"; }
  StringRef getDescription() const override { return "Prints the axis info of every integer and pointer result"; }

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal()) return;
    AxisAnalysis axis(func);
    func.walk([&](Operation* op) {
      if (op->getNumResults() != 1) return;
      Value v = op->getResult(0);
      Type e = ux::elementType(v.getType());
      if (!e.isSignlessInteger() && !isa<ux::PointerType>(e)) return;
      AxisInfo a = axis.get(v);
      auto remark = op->emitRemark() << "contiguity = " << a.contiguity << ", divisibility = " << a.divisibility
                                     << ", constancy = " << a.constancy;
      if (a.constant) remark << ", constant = " << *a.constant;
    });
  }
};

struct TestAsyncLoadsPass : PassWrapper<TestAsyncLoadsPass, OperationPass<func::FuncOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(TestAsyncLoadsPass)

  StringRef getArgument() const override { return "ux-test-async-loads"; }
  StringRef getDescription() const override {
    return "Marks the loads of each pipelined loop that the lowering may issue as cp.async";
  }

  void runOnOperation() override {
    getOperation().walk([&](scf::ForOp loop) {
      int stages = loopStages(loop);
      if (stages < 2) return;
      std::vector<AsyncLoad> loads = findAsyncLoads(loop);
      loop->emitRemark() << "pipelined: " << stages << " stages, " << loads.size() << " async loads";
      for (const AsyncLoad& a : loads)
        a.op()->emitRemark() << "async load, address from " << a.addressOps.size() << " ops";
    });
  }
};

}  // namespace

std::unique_ptr<Pass> createTestAxisInfoPass() { return std::make_unique<TestAxisInfoPass>(); }
std::unique_ptr<Pass> createTestAsyncLoadsPass() { return std::make_unique<TestAsyncLoadsPass>(); }

}  // namespace uintx::codegen
