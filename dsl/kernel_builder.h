// The C++ surface of the kernel language, read like Triton Python:
//
//   KernelBuilder kb("add");
//   Value x = kb.pointerArg("x", DType::f32), y = kb.pointerArg("y", DType::f32);
//   Value n = kb.scalarArg("n", DType::i32);
//   Value offs = kb.programId(0) * 1024 + kb.arange(0, 1024);
//   Value mask = offs < n;
//   kb.store(y + offs, load(x + offs, mask) * 2.0f, mask);
//   KernelProgram program = kb.finish();
//
// Every builder call checks its operands eagerly and throws uintx::Error naming the op, the
// types and the rule, so a malformed program never reaches the verifier or codegen.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"

namespace uintx::dsl {

// Scalar types of the language. Unsigned types are signless in the IR; the builder picks the
// unsigned flavour of shifts, divisions, comparisons and casts for them.
enum class DType { f32, bf16, f16, i8, u8, i32, u32, i1 };

const char* dtypeName(DType t);
int dtypeBits(DType t);
bool isFloat(DType t);
bool isUnsigned(DType t);

// The scf.for attribute that carries forLoop's `stages` (absent when 1).
constexpr const char* kNumStagesAttr = "ux.num_stages";
// The scf.for attribute that asks for forLoop's `warpSpecialized` (absent when false).
constexpr const char* kWarpSpecializedAttr = "ux.warp_specialized";

class KernelBuilder;

// A scalar, a tile, a pointer or a tile of pointers. Cheap to copy.
class Value {
 public:
  Value() = default;
  Value(KernelBuilder* kb, mlir::Value v, DType dtype, bool isPointer)
      : kb_(kb), v_(v), dtype_(dtype), isPointer_(isPointer) {}

  mlir::Value ir() const { return v_; }
  DType dtype() const { return dtype_; }  // element type, or the pointee for pointers
  bool isPointer() const { return isPointer_; }
  bool isTile() const;
  bool isTensorDesc() const;  // a tensorArg: only loadBlock takes it
  std::vector<int64_t> shape() const;  // empty for scalars
  KernelBuilder* builder() const { return kb_; }
  std::string typeString() const;  // "tensor<128xf32>", "ptr<bf16>", "i32", ...

 private:
  KernelBuilder* kb_ = nullptr;
  mlir::Value v_;
  DType dtype_ = DType::f32;
  bool isPointer_ = false;
};

// What a pointer argument's memory is to the kernels around a launch.
enum class PointerAccess {
  // Activations, outputs, workspaces: the kernels before this one on the stream may write it.
  streamOrdered,
  // Written by nothing while kernels run (weights, scales, zeros and bias uploaded once): the
  // kernel may read it before it waits for the kernels before it (codegen/lowering/lower_kernel.cc).
  constant,
};

// How a kernel overlaps its neighbours on the stream (programmatic dependent launch; the
// placement rules and measurements are in codegen/lowering/lower_kernel.cc).
enum class LaunchOverlap {
  // Wait for the kernels before at entry; let the next kernel launch when this one's programs
  // have exited.
  standard,
  // Issue the loads of constant data that come first (PointerAccess::constant), then wait; let
  // the next kernel launch at entry. For kernels that stream constant data, such as the GEMV:
  // the next kernel's programs take the slots of finished ones and start loading during this
  // kernel's tail. Launched to overlap only when its grid fills the device (codegen/jit_kernel.cc).
  early,
};

// Kernel parameter as the launcher must pass it.
struct KernelParam {
  std::string name;
  DType dtype;
  bool isPointer;
  int divisibility = 1;  // integer scalars: promised divisor; pointers: required byte alignment
  PointerAccess access = PointerAccess::streamOrdered;  // pointers and tensors
  std::vector<int64_t> block;  // tensors (tensorArg): the block shape; empty otherwise
  bool isTensor() const { return !block.empty(); }
};

// A finished program: the ux-dialect module plus what codegen and launchers need to know.
struct KernelProgram {
  std::string name;
  std::shared_ptr<mlir::MLIRContext> context;  // owns the module's types; shared by copies
  std::shared_ptr<mlir::OwningOpRef<mlir::ModuleOp>> module;
  std::vector<KernelParam> params;
  int numWarps = 4;
  int vec = 4;  // elements per thread along the last dimension (codegen's vector width)
  LaunchOverlap launchOverlap = LaunchOverlap::standard;
  std::string irText() const;  // the module printed in generic-free MLIR syntax
  mlir::ModuleOp moduleOp() const { return module->get(); }
  int numThreads() const;  // threadsPerProgram of its kernel
};

// The threads a launch of the kernel `op` (or the module holding it) takes: numWarps * 32, and a
// producer warpgroup (128) more when a loop is warp-specialized (forLoop's warpSpecialized).
int threadsPerProgram(mlir::Operation* op, int numWarps);

// Creates an MLIRContext with the dialects the language uses loaded.
std::shared_ptr<mlir::MLIRContext> makeDslContext();

class KernelBuilder {
 public:
  explicit KernelBuilder(std::string name, std::shared_ptr<mlir::MLIRContext> ctx = nullptr);
  ~KernelBuilder();

  // Parameters, in launch order. Must come before any other op.
  Value pointerArg(const std::string& name, DType pointee, PointerAccess access = PointerAccess::streamOrdered);
  // `divisibility` (a power of two) promises that an integer argument is a multiple of it,
  // as Triton's tt.divisibility does: masks like `offs < n` then stay uniform over vectors.
  // Launchers check the promise.
  Value scalarArg(const std::string& name, DType dtype, int divisibility = 1);
  // A row-major 2-D tensor of `dtype` read in blocks of `block` = {rows, cols} (loadBlock);
  // its base, sizes and row stride come at launch. Copied by the GPU's tensor memory
  // accelerator: each row of the tensor must start 16-byte aligned, and the block follow
  // dsl/tensor_block.h's rules.
  Value tensorArg(const std::string& name, DType dtype, const std::vector<int64_t>& block,
                  PointerAccess access = PointerAccess::streamOrdered);
  // Warps per program (CTA); codegen spreads tiles over numWarps * 32 threads.
  void setNumWarps(int numWarps);
  // Elements each thread holds along the last dimension of 2-D tiles (a power of two;
  // default 4: 16-byte accesses of 32-bit data).
  void setVectorWidth(int vec);
  // Default LaunchOverlap::standard.
  void setLaunchOverlap(LaunchOverlap overlap) { launchOverlap_ = overlap; }

  Value programId(int axis);
  Value numPrograms(int axis);
  Value arange(int start, int end);  // end - start must be a power of two
  Value full(const std::vector<int64_t>& shape, double value, DType dtype);
  Value zeros(const std::vector<int64_t>& shape, DType dtype) { return full(shape, 0, dtype); }
  Value constant(double value, DType dtype);  // a scalar

  Value load(Value ptr, Value mask = {}, Value other = {});
  Value load(Value ptr, Value mask, double other);
  void store(Value ptr, Value value, Value mask = {});
  // The block of `desc` whose first element is (row, col) (i32 scalars); elements outside
  // the tensor, including negative coordinates, read as 0. col times the element size must be
  // a multiple of 16 bytes (the TMA faults otherwise; the interpreter throws). In a pipelined
  // loop it is copied ahead like a load (forLoop's `stages`).
  Value loadBlock(Value desc, Value row, Value col);
  void atomicAdd(Value ptr, Value value, Value mask = {});

  // for (i = lo; i < hi; i += step) with carried values; the body returns the next values.
  // `stages` >= 2 asks the code generator to pipeline the loop (Triton's num_stages): the
  // body's loads that feed a `dot` are copied into a ring of `stages` shared-memory buffers,
  // `stages - 1` steps ahead (cp.async). Results are the same; the interpreter ignores it.
  // `warpSpecialized` (a top-level pipelined loop whose copied loads are all loadBlock) adds a
  // warpgroup of producer warps that only copy, while the numWarps warps compute
  // (codegen/lowering/warp_specialized_loops.cc); the program continues after the loop in
  // those warps.
  using LoopBody = std::function<std::vector<Value>(Value i, const std::vector<Value>& carried)>;
  std::vector<Value> forLoop(Value lo, Value hi, Value step, const std::vector<Value>& init,
                             const LoopBody& body, int stages = 1, bool warpSpecialized = false);
  std::vector<Value> forLoop(int lo, Value hi, int step, const std::vector<Value>& init,
                             const LoopBody& body, int stages = 1, bool warpSpecialized = false);

  // Verifies and returns the program; the builder cannot be used afterwards.
  KernelProgram finish();

  // Internals shared with the free functions below.
  mlir::OpBuilder& ir() { return builder_; }
  mlir::Location loc() const { return loc_; }
  mlir::MLIRContext* context() const { return ctx_.get(); }
  [[noreturn]] void fail(const std::string& op, const std::string& message) const;

 private:
  std::string name_;
  std::shared_ptr<mlir::MLIRContext> ctx_;
  mlir::OwningOpRef<mlir::ModuleOp> module_;
  mlir::OpBuilder builder_;
  mlir::Location loc_;
  mlir::Operation* func_ = nullptr;
  std::vector<KernelParam> params_;
  std::vector<int> divisibility_;
  int numWarps_ = 4;
  LaunchOverlap launchOverlap_ = LaunchOverlap::standard;
  int vec_ = 4;
  bool bodyStarted_ = false;
  void startBody();
  friend class Value;
};

// Elementwise arithmetic with Triton's broadcasting: scalars splat, dimensions of size 1
// stretch. Both sides must have the same dtype; a C++ number takes the other side's dtype.
Value operator+(Value a, Value b);
Value operator-(Value a, Value b);
Value operator*(Value a, Value b);
Value operator/(Value a, Value b);
Value operator%(Value a, Value b);
Value operator&(Value a, Value b);
Value operator|(Value a, Value b);
Value operator^(Value a, Value b);
Value operator<<(Value a, Value b);
Value operator>>(Value a, Value b);
Value operator<(Value a, Value b);
Value operator<=(Value a, Value b);
Value operator>(Value a, Value b);
Value operator>=(Value a, Value b);
Value operator==(Value a, Value b);
Value operator!=(Value a, Value b);
Value operator-(Value a);

// Mixed forms with C++ numbers.
#define UINTX_DSL_SCALAR_OPS(OP)            \
  Value operator OP(Value a, double b);     \
  Value operator OP(double a, Value b);
UINTX_DSL_SCALAR_OPS(+)
UINTX_DSL_SCALAR_OPS(-)
UINTX_DSL_SCALAR_OPS(*)
UINTX_DSL_SCALAR_OPS(/)
UINTX_DSL_SCALAR_OPS(%)
UINTX_DSL_SCALAR_OPS(&)
UINTX_DSL_SCALAR_OPS(|)
UINTX_DSL_SCALAR_OPS(^)
UINTX_DSL_SCALAR_OPS(<<)
UINTX_DSL_SCALAR_OPS(>>)
UINTX_DSL_SCALAR_OPS(<)
UINTX_DSL_SCALAR_OPS(<=)
UINTX_DSL_SCALAR_OPS(>)
UINTX_DSL_SCALAR_OPS(>=)
UINTX_DSL_SCALAR_OPS(==)
UINTX_DSL_SCALAR_OPS(!=)
#undef UINTX_DSL_SCALAR_OPS

Value maximum(Value a, Value b);
Value minimum(Value a, Value b);
Value maximum(Value a, double b);
Value minimum(Value a, double b);
// a * b + c rounded once (fused), element-wise; on 16-bit float tiles two lanes per instruction.
Value fma(Value a, Value b, Value c);
Value where(Value cond, Value a, Value b);
Value where(Value cond, Value a, double b);
Value cast(Value v, DType to);     // value conversion (round to nearest, ints saturate not)
Value bitcast(Value v, DType to);  // same bit width, reinterpret

Value expandDims(Value v, int axis);
Value broadcastTo(Value v, const std::vector<int64_t>& shape);
Value reshape(Value v, const std::vector<int64_t>& shape);
Value trans(Value v);
Value sum(Value v, int axis);
Value max(Value v, int axis);
Value dot(Value a, Value b, Value acc);
// Splits each u32 word along the last dimension into 32/bits fields, lowest bits first:
// [..., W] -> [..., W * 32/bits] of u32 (bits in 1, 2, 4, 8, 16). Codegen keeps a word and
// its fields in one thread: set the kernel's vector width to at least 32/bits.
Value unpackBits(Value words, int bits);
// The same fields as 16-bit floats offset by a magic number: field u becomes halfMagic(as) + u,
// exactly (as = bf16 for bits 1, 2, 4; f16 for bits 1, 2, 4, 8). Two neighbouring fields then
// take one register (no int-to-float conversion), so that subtracting the magic number and the
// zero point and applying the scale are packed two-lane operations.
Value unpackBits(Value words, int bits, DType as);
double halfMagic(DType as);  // 128 for bf16, 1024 for f16
bool unpacksToHalf(int bits, DType as);  // the widths unpackBits(words, bits, as) takes
Value load(Value ptr, Value mask = {}, Value other = {});
Value load(Value ptr, Value mask, double other);

}  // namespace uintx::dsl
