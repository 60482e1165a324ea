// GEMV and GEMM specializations lower to PTX that ptxas accepts, and their K loops have the
// shape the kernels were written for (vector loads, in-thread sums, staged tensor-core operands).
#include <doctest/doctest.h>

#include <regex>
#include <set>
#include <tuple>

#include "codegen/layout.h"
#include "codegen/ptx_compiler.h"
#include "kernels/int8_gemm/int8_gemm.h"
#include "kernels/quantize_rows/quantize_rows.h"
#include "kernels/split_k_reduce/split_k_reduce.h"
#include "kernels/gemm/default_config.h"
#include "kernels/gemm/gemm.h"
#include "kernels/families.h"
#include "kernels/gemv/gemv.h"
#include "packing/weight_format.h"
#include "uintx/error.h"
#include "tests/codegen/ptxas.h"

using namespace uintx;

// A 4096x4096 weight of `bits`: 8-bit per-channel symmetric, narrower widths grouped by 128.
static kernels::QuantSpec spec4096(int bits) {
  kernels::QuantSpec q;
  q.bits = bits;
  q.symmetric = bits == 8;
  q.groupSize = bits == 8 ? 4096 : 128;
  q.N = 4096;
  q.K = 4096;
  return q;
}

TEST_CASE("GEMV specializations assemble for sm_90a") {
  for (int bits : {1, 2, 3, 4, 8}) {
    for (int splitK : {1, 2}) {
      kernels::QuantSpec q = spec4096(bits);
      kernels::GemvConfig c;
      c.splitK = splitK;
      c.blockM = bits == 4 ? 4 : 1;
      CAPTURE(bits);
      CAPTURE(splitK);
      codegen::PtxKernel k = codegen::compileToPtx(kernels::buildGemv(q, dsl::DType::bf16, true, c));
      std::string log;
      int rc = testing::runPtxas(k.ptx, "sm_90a", &log);
      CAPTURE(log);
      CHECK(rc == 0);
      MESSAGE(log);
      if (32 % bits == 0) CHECK(k.ptx.find("ld.global.v4.b32") != std::string::npos);
    }
  }
}

// The K loop's body: the blocks of the control-flow graph's largest cycle (its strongly
// connected blocks, in the PTX's order), so that blocks LLVM placed out of line (a branch
// taken by one thread, a rotated loop's header) count as the loop's.
static std::string mainLoop(const std::string& ptx) {
  struct Block { std::string label, text; std::vector<std::string> targets; bool fallsThrough = true; };
  std::vector<Block> blocks(1);
  static const std::regex labelLine(R"(^(\$L__\w+):)"), branch(R"(^\s*(@!?%p\d+\s+)?bra(\.uni)?\s+(\$L__\w+);)"),
      returns(R"(^\s*(ret|exit);)");
  size_t pos = 0;
  while (pos < ptx.size()) {
    size_t eol = ptx.find('\n', pos);
    if (eol == std::string::npos) eol = ptx.size();
    std::string line = ptx.substr(pos, eol - pos);
    pos = eol + 1;
    std::smatch m;
    if (std::regex_search(line, m, labelLine)) blocks.push_back({m[1].str(), "", {}, true});
    blocks.back().text += line + "\n";
    bool ends = false;
    if (std::regex_search(line, m, branch)) {
      blocks.back().targets.push_back(m[3].str());
      if (!m[1].matched) blocks.back().fallsThrough = false;
      ends = true;
    }
    if (std::regex_search(line, returns)) blocks.back().fallsThrough = false, ends = true;
    if (ends) blocks.push_back({});  // a branch ends its block; what follows starts one
  }
  const size_t n = blocks.size();
  std::vector<std::vector<size_t>> next(n);
  for (size_t i = 0; i < n; ++i) {
    for (const std::string& t : blocks[i].targets)
      for (size_t j = 0; j < n; ++j)
        if (blocks[j].label == t) next[i].push_back(j);
    if (blocks[i].fallsThrough && i + 1 < n) next[i].push_back(i + 1);
  }
  auto reach = [&](size_t from) {
    std::vector<bool> seen(n);
    std::vector<size_t> todo(next[from].begin(), next[from].end());
    while (!todo.empty()) {
      size_t b = todo.back();
      todo.pop_back();
      if (seen[b]) continue;
      seen[b] = true;
      todo.insert(todo.end(), next[b].begin(), next[b].end());
    }
    return seen;
  };
  std::vector<std::vector<bool>> reaches(n);
  for (size_t i = 0; i < n; ++i) reaches[i] = reach(i);
  std::string best;
  for (size_t i = 0; i < n; ++i) {
    if (!reaches[i][i]) continue;
    std::string loop;
    for (size_t j = 0; j < n; ++j)
      if (reaches[i][j] && reaches[j][i]) loop += blocks[j].text;
    if (loop.size() > best.size()) best = loop;
  }
  return best;
}

static int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

// The inner loop sums each thread's K segment in registers (no shuffles, no shared memory),
// reads whole 16-byte vectors of words, and one fma per weight does the multiply-add.
TEST_CASE("GEMV inner loop: segment sums stay in the thread, 16-byte word loads, no spills") {
  struct Spec { int bits, blockM, blockN, blockK, warps; };
  for (Spec t : {Spec{4, 1, 16, 512, 4}, Spec{4, 1, 8, 512, 2}, Spec{8, 1, 16, 512, 4}, Spec{4, 8, 16, 256, 4},
                 Spec{2, 2, 16, 256, 4}}) {
    kernels::QuantSpec q = spec4096(t.bits);
    kernels::GemvConfig c;
    c.blockM = t.blockM;
    c.blockN = t.blockN;
    c.blockK = t.blockK;
    c.numWarps = t.warps;
    CAPTURE(t.bits);
    CAPTURE(c.toString());
    codegen::PtxKernel k = codegen::compileToPtx(kernels::buildGemv(q, dsl::DType::bf16, false, c));
    std::string loop = mainLoop(k.ptx);
    REQUIRE(!loop.empty());
    CHECK(count(loop, "shfl.sync") == 0);
    CHECK(count(loop, "bar.sync") == 0);
    CHECK(count(loop, "st.shared") == 0);
    CHECK(count(loop, "ld.global.v4.b32") >= 1);
    CHECK(count(loop, "ld.global.b32") == 0);  // words and activations come in vectors
    int weightsPerThread = t.blockN * t.blockK / (32 * t.warps);
    CHECK(count(loop, "fma.rn.f32") >= weightsPerThread * t.blockM);
    if (t.blockM == 1) {
      // The paired subnormal decode: one shift per two weights, one mask per weight, no
      // exponent or-ed in (the 1.0f decode takes a shift, an and and an or per weight).
      CHECK(count(loop, "shl.b32") + count(loop, "shr.u32") <= weightsPerThread / 2 + 4);
      CHECK(count(loop, "and.b32") <= weightsPerThread + 4);
      CHECK(count(loop, "or.b32") < weightsPerThread / 2);
    }
    std::string log;
    REQUIRE(testing::runPtxas(k.ptx, "sm_90a", &log) == 0);
    CAPTURE(log);
    CHECK(log.find("0 bytes spill stores") != std::string::npos);
  }
}


// Programmatic dependent launch (codegen/lowering/lower_kernel.cc): a GEMV requests its first
// weight tile before it waits for the kernel before it; an unsplit one lets the next kernel
// launch at entry, a split one (followed by its reduce) has no explicit trigger.
TEST_CASE("GEMV overlap with its neighbours: weights requested before waiting, unsplit triggers at entry") {
  kernels::QuantSpec q = spec4096(4);
  kernels::GemvConfig c;
  c.blockN = 32, c.blockK = 1024, c.numWarps = 8, c.stages = 2;
  std::string ptx = codegen::compileToPtx(kernels::buildGemv(q, dsl::DType::bf16, false, c)).ptx;
  size_t trigger = ptx.find("griddepcontrol.launch_dependents;"), wait = ptx.find("griddepcontrol.wait;");
  REQUIRE(trigger != std::string::npos);
  REQUIRE(wait != std::string::npos);
  CHECK(trigger < wait);
  CHECK(ptx.find("ld.global.v4.b32") < wait);          // the first step's packed words
  CHECK(ptx.find("ld.global.v4.b32", wait) != std::string::npos);  // activations (and the loop) after
  CHECK(wait < ptx.find("st.global"));

  c.splitK = 2;
  std::string split = codegen::compileToPtx(kernels::buildGemv(q, dsl::DType::bf16, false, c)).ptx;
  size_t splitWait = split.find("griddepcontrol.wait;");
  REQUIRE(splitWait != std::string::npos);
  CHECK(split.find("ld.global.v4.b32") < splitWait);
  CHECK(splitWait < split.find("st.global"));
  CHECK(split.find("griddepcontrol.launch_dependents;") == std::string::npos);
}

// W8A8: the row quantization lets the int8 GEMM launch at entry, and the GEMM copies its first
// weight tiles before it waits for the quantized rows (xq), which it copies after.
TEST_CASE("int8 GEMM after the row quantization: weight tiles copied before the wait, xq after") {
  std::string quantize = codegen::compileToPtx(kernels::buildQuantizeRows(4096, dsl::DType::bf16)).ptx;
  size_t trigger = quantize.find("griddepcontrol.launch_dependents;");
  REQUIRE(trigger != std::string::npos);
  CHECK(trigger < quantize.find("ld.global"));
  CHECK(quantize.find("griddepcontrol.wait;") < quantize.find("ld.global"));

  kernels::QuantSpec q = spec4096(8);  // symmetric: int8 bytes
  kernels::GemmConfig c;
  c.blockM = 16, c.blockN = 64, c.blockK = 256, c.numWarps = 4, c.stages = 6, c.weightsAsA = true;
  std::string ptx = codegen::compileToPtx(kernels::buildInt8Gemm(q, dsl::DType::bf16, false, c)).ptx;
  CAPTURE(c.toString());
  size_t wait = ptx.find("griddepcontrol.wait;"), firstCopy = ptx.find("cp.async.cg");
  REQUIRE(wait != std::string::npos);
  REQUIRE(firstCopy != std::string::npos);
  CHECK(firstCopy < wait);                                                  // weights
  CHECK(ptx.find("cp.async.cg", wait) < ptx.find("cp.async.wait_group"));   // xq, in the prologue
  CHECK(ptx.find("griddepcontrol.launch_dependents;") == std::string::npos);
}

TEST_CASE("GEMM specializations assemble and use mma.sync") {
  for (int bits : {4, 8}) {
    for (bool int8 : {false, true}) {
      kernels::QuantSpec q = spec4096(bits);
      kernels::GemmConfig c;
      if (int8 && bits == 4) c.blockK = 128;
      CAPTURE(bits);
      CAPTURE(int8);
      auto program = int8 ? kernels::buildInt8Gemm(q, dsl::DType::bf16, bits == 8, c)
                           : kernels::buildGemm(q, dsl::DType::bf16, true, c);
      codegen::PtxKernel k = codegen::compileToPtx(program);
      std::string log;
      int rc = testing::runPtxas(k.ptx, "sm_90a", &log);
      CAPTURE(log);
      CHECK(rc == 0);
      MESSAGE(log);
      bool wgmma = codegen::useWgmma(c.blockM, c.blockN, c.blockK, c.numWarps, int8 ? 1 : 2);
      std::string mma = wgmma ? (int8 ? "wgmma.mma_async.sync.aligned.m64n128k32.s32.s8.s8" : "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16")
                              : (int8 ? "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32" : "mma.sync.aligned.m16n8k16.row.col.f32.bf16");
      CAPTURE(mma);
      CHECK(k.ptx.find(mma) != std::string::npos);
    }
  }
  codegen::PtxKernel k = codegen::compileToPtx(kernels::buildQuantizeRows(4096, dsl::DType::bf16));
  std::string log;
  CHECK(testing::runPtxas(k.ptx, "sm_90a", &log) == 0);
}

TEST_CASE("split-K GEMMs (f32 partials, no bias parameter) assemble and use mma.sync") {
  for (int bits : {4, 8}) {
    kernels::QuantSpec q = spec4096(bits);
    kernels::GemmConfig c;
    c.splitK = 4;
    CAPTURE(bits);
    codegen::PtxKernel k = codegen::compileToPtx(kernels::buildGemm(q, dsl::DType::bf16, true, c));
    std::string log;
    int rc = testing::runPtxas(k.ptx, "sm_90a", &log);
    CAPTURE(log);
    CHECK(rc == 0);
    CHECK(k.ptx.find("mma.sync.aligned.m16n8k16.row.col.f32.bf16") != std::string::npos);
    CHECK(k.ptx.find("%ctaid.z") != std::string::npos);  // the K slice comes from program_id(2)
  }
  // The int8 GEMM's split-K (8-bit symmetric weights, 16-row tiles as at small M).
  kernels::GemmConfig c;
  c.blockM = 16, c.blockN = 64, c.blockK = 128, c.stages = 3, c.splitK = 4;
  codegen::PtxKernel k = codegen::compileToPtx(kernels::buildInt8Gemm(spec4096(8), dsl::DType::bf16, true, c));
  std::string log;
  CHECK(testing::runPtxas(k.ptx, "sm_90a", &log) == 0);
  CHECK(k.ptx.find("mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32") != std::string::npos);
  CHECK(k.ptx.find("%ctaid.z") != std::string::npos);
}

TEST_CASE("int8 GEMM defaults assemble where K is a multiple of 64 or 32, not 128") {
  for (int64_t K : {4160, 4128})
    for (int M : {16, 64, 256}) {
      kernels::QuantSpec q = spec4096(8);
      q.K = K, q.groupSize = int(K);
      kernels::GemmConfig c = kernels::ruleGemmConfig(q, M, true, 132);
      CAPTURE(K);
      CAPTURE(c.toString());
      codegen::PtxKernel k = codegen::compileToPtx(kernels::buildInt8Gemm(q, dsl::DType::bf16, false, c));
      std::string log;
      CHECK(testing::runPtxas(k.ptx, "sm_90a", &log) == 0);
    }
}

// Each weight of a K step is dequantized once (a layout that made threads repeat the
// dequantization would show more instructions), and the kernel assembles for sm_90a without
// spills. 8-bit codes (bf16 activations) take the f32 form: one fma per weight, a conversion
// per two. 1/2/4-bit codes take the 16-bit form, counted per pair of weights: one byte
// permute, one lop3 (mask and magic number), one packed subtract, one packed fma or multiply
// (symmetric), and no conversion: two decode instructions per weight.
static void checkDequantizedOnceNoSpills(const std::string& loop, const std::string& ptx, int weights, int bits) {
  CAPTURE(bits);
  if (bits == 8) {
    int fma = count(loop, "fma.rn.f32");
    CHECK(fma >= weights);
    CHECK(fma < weights * 3 / 2);
  } else {
    int pairs = weights / 2;
    CHECK(count(loop, "prmt.b32") == pairs);
    CHECK(count(loop, "lop3.b32") == pairs);
    // The magic number comes with the mask, not in an or (ors of registers build addresses).
    CHECK(!std::regex_search(loop, std::regex(R"(or\.b32\s+%r\d+, %r\d+, -?\d+;)")));
    CHECK(count(loop, "sub.rn.bf16x2") == pairs);
    CHECK(count(loop, "fma.rn.bf16x2") + count(loop, "mul.rn.bf16x2") == pairs);
    CHECK(count(loop, "and.b32") <= 8);  // a few for addresses
    CHECK(count(loop, "fma.rn.f32") == 0);
    CHECK(count(loop, "cvt.rn.bf16x2.f32") == 0);
  }
  std::string log;
  REQUIRE(testing::runPtxas(ptx, "sm_90a", &log) == 0);
  CAPTURE(log);
  CHECK(log.find("0 bytes spill stores") != std::string::npos);
}

// With warps split along M, the GEMM's K loop stores every dequantized weight to shared
// memory once per CTA with 16-byte stores, reads the mma fragments with ldmatrix (one x4 per
// 16 rows of a, one per two n8 blocks of w, per 32 bytes of k), and dequantizes each weight
// with one fma: a layout that spread a narrow k step over more lanes than it has columns
// would make threads repeat the dequantization, and the fma count would show it. Pipelined
// (stages >= 2), the activations and the packed words arrive by cp.async, 16 bytes at a
// time, each byte copied once per CTA, and the loop waits for the step's group, then one
// barrier orders the ring; without pipelining, the activations are staged like the weights.
TEST_CASE("GEMM inner loop, w through shared memory: operands staged once, ldmatrix fragments, each weight dequantized once") {
  struct Spec { int bits, blockM, blockN, blockK, warps, stages; };
  for (Spec t : {Spec{8, 64, 64, 32, 4, 2}, Spec{8, 128, 64, 32, 4, 1}, Spec{8, 128, 128, 32, 8, 3}}) {
    kernels::QuantSpec q = spec4096(t.bits);
    kernels::GemmConfig c;
    c.blockM = t.blockM, c.blockN = t.blockN, c.blockK = t.blockK, c.numWarps = t.warps, c.stages = t.stages;
    CAPTURE(c.toString());
    REQUIRE(!codegen::useWgmma(c.blockM, c.blockN, c.blockK, c.numWarps, 2));  // mma.sync tiles
    codegen::MmaLayouts m = codegen::mmaLayouts(c.blockM, c.blockN, c.blockK, c.numWarps);
    REQUIRE(m.warpsM > 1);  // w rows shared by several warps: w goes through shared memory
    codegen::PtxKernel k = codegen::compileToPtx(kernels::buildGemm(q, dsl::DType::bf16, false, c));
    std::string loop = mainLoop(k.ptx);
    REQUIRE(!loop.empty());
    int chunks = c.blockK * 2 / 32;  // 32-byte k steps of bf16
    int mBlocks = c.blockM / 16 / m.warpsM, nBlocks = c.blockN / 8 / m.warpsN;
    CHECK(count(loop, "mma.sync.aligned.m16n8k16") == mBlocks * nBlocks * chunks);
    CHECK(count(loop, "ldmatrix.sync.aligned.m8n8.x4") == (mBlocks + nBlocks / 2) * chunks);
    CHECK(count(loop, "st.shared.b") == 0);  // no scalar stores: st.shared.v4 only
    int threads = 32 * c.numWarps;
    if (c.stages > 1) {
      int copies = (c.blockM * c.blockK * 2 + c.blockN * c.blockK * t.bits / 8) / 16;
      CHECK(count(loop, "cp.async.cg.shared.global") == copies / threads);
      CHECK(count(loop, "cp.async.wait_group " + std::to_string(c.stages - 2) + ";") == 1);
      CHECK(count(loop, "cp.async.commit_group") == 1);
      CHECK(count(loop, "bar.sync") == 2);  // the ring's (which also orders the last step's reads), and the staged weights'
    } else {
      CHECK(count(loop, "cp.async") == 0);
      CHECK(count(loop, "bar.sync") == 2);
    }
    int weightStores = c.blockN * c.blockK * 2 / 16 / threads;
    CHECK(count(loop, "st.shared.v4.b32") >= weightStores);
    checkDequantizedOnceNoSpills(loop, k.ptx, c.blockN * c.blockK / threads, t.bits);
  }
}

// With all warps along N (16-row tiles; 64-row tiles 256 wide on 8 warps), each warp's w rows are
// its own: the dot takes w's B fragments from the registers it was dequantized in
// (codegen/layout.h, mmaRegisterOperandParams), so the loop stores nothing to shared memory
// when pipelined (only the activations, staged, when not), has no ldmatrix (each thread reads
// its a fragments with vector ld.shared), one barrier per step (the ring's), and each weight
// is dequantized once. The mma count is unchanged: every 8 bytes of a thread's k run is one k step.
TEST_CASE("GEMM inner loop, w in registers: no weight staging, no ldmatrix, each weight dequantized once") {
  struct Spec { int bits, blockM, blockN, blockK, warps, stages; };
  for (Spec t : {Spec{4, 16, 128, 128, 4, 3}, Spec{4, 16, 64, 128, 4, 1}, Spec{8, 16, 128, 64, 4, 3},
                 Spec{8, 64, 256, 64, 8, 3}, Spec{4, 16, 256, 128, 8, 2}}) {
    kernels::QuantSpec q = spec4096(t.bits);
    kernels::GemmConfig c;
    c.blockM = t.blockM, c.blockN = t.blockN, c.blockK = t.blockK, c.numWarps = t.warps, c.stages = t.stages;
    CAPTURE(c.toString());
    REQUIRE(!codegen::useWgmma(c.blockM, c.blockN, c.blockK, c.numWarps, 2));
    REQUIRE(codegen::mmaLayouts(c.blockM, c.blockN, c.blockK, c.numWarps).warpsM == 1);
    codegen::PtxKernel k = codegen::compileToPtx(kernels::buildGemm(q, dsl::DType::bf16, false, c));
    std::string loop = mainLoop(k.ptx);
    REQUIRE(!loop.empty());
    int chunks = c.blockK * 2 / 32;
    int mBlocks = c.blockM / 16, nBlocks = c.blockN / 8 / c.numWarps;
    CHECK(count(loop, "mma.sync.aligned.m16n8k16") == mBlocks * nBlocks * chunks);
    CHECK(count(loop, "ldmatrix") == 0);
    CHECK(count(loop, "ld.shared.v4.b32") > 0);
    int threads = 32 * c.numWarps;
    if (c.stages > 1) {
      int copies = (c.blockM * c.blockK * 2 + c.blockN * c.blockK * t.bits / 8) / 16;
      CHECK(count(loop, "cp.async.cg.shared.global") == copies / threads);
      CHECK(count(loop, "st.shared") == 0);
      CHECK(count(loop, "bar.sync") == 1);
    } else {
      CHECK(count(loop, "cp.async") == 0);
      CHECK(count(loop, "st.shared.v4.b32") == c.blockM * c.blockK * 2 / 16 / threads);  // activations only
      CHECK(count(loop, "bar.sync") == 2);
    }
    checkDequantizedOnceNoSpills(loop, k.ptx, c.blockN * c.blockK / threads, t.bits);
  }
}

// Tiles of 16 rows per warp (and whole warpgroups) run on wgmma. W8A8 pipelined: both
// operands are loaded global -> shared memory by cp.async and read by the tensor cores in place
// (descriptors), so the loop has no shared-memory stores, no global loads of its own, no
// ldmatrix, one proxy fence and one barrier per step, and one wgmma per 32 bytes of k and
// warpgroup; the kernel asks for the ring's shared memory (over 48 KiB here). With three
// stages or more a step's wgmmas may run on into the next step: copies then run stages - 2
// steps ahead, each step waits for the previous step's wgmma group only, and the wait for
// the last one comes after the loop.
TEST_CASE("W8A8 GEMM K loop on wgmma: both operands by cp.async, one barrier, no register staging") {
  kernels::QuantSpec q = spec4096(8);
  kernels::GemmConfig c;
  c.blockM = 128, c.blockN = 128, c.blockK = 128, c.numWarps = 8;
  REQUIRE(codegen::useWgmma(c.blockM, c.blockN, c.blockK, c.numWarps, 1));
  for (int stages : {2, 3, 4}) {
    c.stages = stages;
    CAPTURE(c.toString());
    codegen::PtxKernel k = codegen::compileToPtx(kernels::buildInt8Gemm(q, dsl::DType::bf16, false, c));
    std::string loop = mainLoop(k.ptx);
    REQUIRE(!loop.empty());
    int threads = 32 * c.numWarps;
    CHECK(count(loop, "cp.async.cg.shared.global") == (c.blockM + c.blockN) * c.blockK / 16 / threads);
    int ahead = stages >= 3 ? stages - 2 : stages - 1;
    CHECK(count(loop, "cp.async.wait_group " + std::to_string(ahead - 1) + ";") == 1);
    CHECK(count(loop, "fence.proxy.async.shared::cta") == 1);
    CHECK(count(loop, "bar.sync") == 1);
    CHECK(count(loop, "st.shared") == 0);
    CHECK(count(loop, "ld.global") == 0);
    CHECK(count(loop, "ldmatrix") == 0);
    CHECK(count(loop, "mma.sync") == 0);
    CHECK(count(loop, "wgmma.mma_async.sync.aligned.m64n128k32.s32.s8.s8") == c.blockK / 32);
    CHECK(count(loop, "wgmma.wait_group.sync.aligned " + std::to_string(stages >= 3 ? 1 : 0) + ";") == 1);
    CHECK(count(k.ptx, "wgmma.wait_group.sync.aligned 0;") == 1);
    // Rings of 1024-byte aligned buffers: [128 x 128 B] of a and of w per stage.
    int64_t ring = int64_t(stages) * (c.blockM + c.blockN) * c.blockK;
    CHECK(k.sharedBytes >= ring);
    CHECK(k.sharedBytes < ring + 4096);
    CHECK(k.ptx.find(".extern .shared .align 1024 .b8 ux_smem[]") != std::string::npos);
    std::string log;
    REQUIRE(testing::runPtxas(k.ptx, "sm_90a", &log) == 0);
    CAPTURE(log);
    CHECK(log.find("0 bytes spill stores") != std::string::npos);
    CHECK(log.find("C751") == std::string::npos);  // ptxas did not serialize the wgmmas
  }
}

// ptxas takes the kernel with no spills and no serialized wgmmas (C751x).
static void checkAssemblesCleanly(const std::string& ptx) {
  std::string log;
  REQUIRE(testing::runPtxas(ptx, "sm_90a", &log) == 0);
  CAPTURE(log);
  CHECK(log.find("0 bytes spill stores") != std::string::npos);
  CHECK(log.find("C751") == std::string::npos);
}

// W8A8 with TMA copies (GemmConfig::tmaCopies): per step a wait for the step's blocks, warp 0's
// wait for the buffer it refills to be released, one arrival with the step's bytes, the TMA
// copies (issued by one thread) and each warp's release of the
// previous step's buffer; no barrier, no cp.async, no proxy fence (the TMA writes through the
// async proxy that wgmma reads through); the tiles of the rule, the transposed one and a tail
// split, without spills or serialized wgmmas.
TEST_CASE("W8A8 GEMM K loop with TMA copies: mbarrier waits, no cp.async") {
  kernels::QuantSpec q = spec4096(8);
  for (auto [bm, bn, warps, stages, wA, tail] : std::vector<std::array<int, 6>>{
           {128, 128, 8, 4, 0, 1}, {128, 128, 8, 4, 0, 4}, {128, 128, 8, 2, 0, 1}, {64, 128, 4, 6, 0, 1},
           {16, 64, 4, 6, 1, 1}}) {
    kernels::GemmConfig c;
    c.blockM = bm, c.blockN = bn, c.blockK = 128, c.numWarps = warps, c.stages = stages, c.weightsAsA = wA;
    c.tailSplit = tail, c.tmaCopies = 1;
    CAPTURE(c.toString());
    REQUIRE(kernels::gemmSupports(q, c, true));
    codegen::PtxKernel k = codegen::compileToPtx(kernels::buildInt8Gemm(q, dsl::DType::bf16, false, c));
    std::string loop = mainLoop(k.ptx);
    REQUIRE(!loop.empty());
    // wgmma's a operand (x, or the weights when transposed) one copy per 8-row atom, the b
    // operand its 128-byte column block in one copy.
    CHECK(count(loop, "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes") == (wA ? bn : bm) / 8 + 1);
    CHECK(count(loop, "mbarrier.arrive.expect_tx.shared::cta.b64") == 1);
    CHECK(count(loop, "], " + std::to_string((bm + bn) * 128) + "; }") == 1);  // the step's bytes
    CHECK(count(loop, "mbarrier.try_wait.parity") == 2);
    CHECK(count(loop, "mbarrier.arrive.shared::cta.b64") == 1);
    CHECK(count(loop, "bar.sync") == 0);
    CHECK(count(loop, "cp.async.cg") == 0);
    CHECK(count(loop, "cp.async.wait_group") == 0);
    CHECK(count(loop, "fence.proxy.async") == 0);
    CHECK(count(loop, "st.shared") == 0);
    CHECK(count(loop, "ld.global") == 0);
    checkAssemblesCleanly(k.ptx);
  }
}

// W8A8 warp-specialized (GemmConfig::warpSpecialized): a producer warpgroup copies, the 8 warps
// compute; no barrier in either loop, no spills, no serialized wgmmas; with a tail split too.
TEST_CASE("W8A8 GEMM warp-specialized: a producer warpgroup issues the TMA copies") {
  kernels::QuantSpec q = spec4096(8);
  for (int tail : {1, 4}) {
    kernels::GemmConfig c;
    c.blockM = 128, c.blockN = 128, c.blockK = 128, c.numWarps = 8, c.stages = 4, c.tailSplit = tail;
    c.tmaCopies = 1, c.warpSpecialized = 1;
    CAPTURE(c.toString());
    REQUIRE(kernels::gemmSupports(q, c, true));
    codegen::PtxKernel k = codegen::compileToPtx(kernels::buildInt8Gemm(q, dsl::DType::bf16, true, c));
    CHECK(k.numThreads == 384);
    CHECK(count(k.ptx, "cp.async.bulk.tensor.2d") == 128 / 8 + 1);  // x by atoms, w whole
    CHECK(count(k.ptx, "setmaxnreg.") == 2);
    CHECK(count(k.ptx, "bar.sync 1, 256;") >= 1);
    CHECK(count(k.ptx, "cp.async.cg") == 0);
    checkAssemblesCleanly(k.ptx);
  }
}

// W4A16 with TMA copies of x: the activations' block by TMA (as wgmma's a operand a copy per
// 8-row atom, as its b operand one copy; an mbarrier wait), the packed words still by cp.async (with the step's barrier: a ring of each kind);
// x w^T on 128-row tiles and w x^T, without spills or serialized wgmmas.
TEST_CASE("W4A16 GEMM K loop with TMA copies of x") {
  kernels::QuantSpec q = spec4096(4);
  for (auto [bm, bn, warps, wA] : std::vector<std::array<int, 4>>{{128, 128, 8, 0}, {128, 128, 8, 1}}) {
    kernels::GemmConfig c;
    c.blockM = bm, c.blockN = bn, c.blockK = 64, c.numWarps = warps, c.stages = 4, c.weightsAsA = wA, c.tmaCopies = 1;
    CAPTURE(c.toString());
    REQUIRE(kernels::gemmSupports(q, c, false));
    codegen::PtxKernel k = codegen::compileToPtx(kernels::buildGemm(q, dsl::DType::bf16, false, c));
    std::string loop = mainLoop(k.ptx);
    REQUIRE(!loop.empty());
    // x as wgmma's a operand by atoms, as its b operand (transposed) in one copy.
    CHECK(count(loop, "cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes") == (wA ? 1 : bm / 8));
    CHECK(count(loop, "mbarrier.try_wait.parity") == 1);
    CHECK(count(loop, "cp.async.cg.shared.global") >= 1);  // the words
    CHECK(count(loop, "bar.sync") >= 1);
    checkAssemblesCleanly(k.ptx);
  }
}

// The transposed W8A8 GEMM (weightsAsA, few rows of x): the weight rows on wgmma's m64 side
// and the rows of x on its n side (16 or 32), or on mma.sync's m16 and n8; both operands by
// cp.async from their rings, nothing staged through registers.
TEST_CASE("W8A8 GEMM with the weights as the a operand: x on the narrow side, both operands by cp.async") {
  struct Spec { int blockN, blockM, warps; const char* mma; int perStep; };
  for (Spec t : {Spec{64, 16, 4, "wgmma.mma_async.sync.aligned.m64n16k32.s32.s8.s8", 4},
                 Spec{128, 32, 8, "wgmma.mma_async.sync.aligned.m64n32k32.s32.s8.s8", 4},
                 Spec{128, 16, 4, "wgmma.mma_async.sync.aligned.m64n16k32.s32.s8.s8", 8},  // two m64 blocks
                 Spec{64, 8, 4, "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32", 4},
                 Spec{64, 16, 2, "mma.sync.aligned.m16n8k32.row.col.s32.s8.s8.s32", 16}}) {
    kernels::QuantSpec q = spec4096(8);
    kernels::GemmConfig c;
    c.weightsAsA = 1, c.blockN = t.blockN, c.blockM = t.blockM, c.blockK = 128, c.numWarps = t.warps, c.stages = 6;
    CAPTURE(c.toString());
    REQUIRE(kernels::gemmSupports(q, c, true));
    codegen::PtxKernel k = codegen::compileToPtx(kernels::buildInt8Gemm(q, dsl::DType::bf16, false, c));
    std::string loop = mainLoop(k.ptx);
    REQUIRE(!loop.empty());
    int threads = 32 * c.numWarps;
    // 16-byte copies, at least one per thread for each operand (an 8x128 tile of x takes half the threads).
    CHECK(count(loop, "cp.async.cg.shared.global") ==
          (c.blockM * c.blockK / 16 + threads - 1) / threads + c.blockN * c.blockK / 16 / threads);
    CHECK(count(loop, t.mma) == t.perStep);
    CHECK(count(loop, "bar.sync") == 1);
    CHECK(count(loop, "st.shared") == 0);
    CHECK(count(loop, "ld.global") == 0);
    std::string log;
    REQUIRE(testing::runPtxas(k.ptx, "sm_90a", &log) == 0);
    CAPTURE(log);
    CHECK(log.find("0 bytes spill stores") != std::string::npos);
    CHECK(log.find("C7515") == std::string::npos);
  }
}

// W4A16 on wgmma: the activations come by cp.async, the weights are dequantized (one fma
// each) and stored once per CTA in the swizzled form, then one wgmma per 32 bytes of k.
// With 256-row tiles each warpgroup computes two m64 blocks: two wgmmas per 32 bytes of k,
// the same weight tile (staged once) for both. With three stages or more the weights of
// successive steps alternate between two staging buffers, so that a step's wgmmas run on
// while the next step's weights are dequantized and stored: each step waits for the
// previous step's group only.
TEST_CASE("W4A16 GEMM K loop on wgmma: staged weights, two barriers, proxy fences") {
  for (int blockM : {128, 256}) {
    CAPTURE(blockM);
    kernels::QuantSpec q = spec4096(4);
    kernels::GemmConfig c;
    c.blockM = blockM, c.blockN = 128, c.blockK = 64, c.numWarps = 8, c.stages = 3;
    REQUIRE(codegen::useWgmma(c.blockM, c.blockN, c.blockK, c.numWarps, 2));
    codegen::PtxKernel k = codegen::compileToPtx(kernels::buildGemm(q, dsl::DType::bf16, false, c));
    std::string loop = mainLoop(k.ptx);
    REQUIRE(!loop.empty());
    int threads = 32 * c.numWarps;
    int blocksPerWarpgroup = c.blockM / (16 * c.numWarps);
    CHECK(count(loop, "wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16") == blocksPerWarpgroup * c.blockK * 2 / 32);
    CHECK(count(loop, "ldmatrix") == 0);
    CHECK(count(loop, "bar.sync") == 2);
    CHECK(count(loop, "fence.proxy.async.shared::cta") == 2);  // after the ring's copies, after the weights' stores
    CHECK(count(loop, "st.shared.v4.b32") == c.blockN * c.blockK * 2 / 16 / threads);
    CHECK(count(loop, "wgmma.wait_group.sync.aligned 1;") == 1);
    CHECK(count(loop, "wgmma.wait_group.sync.aligned 0;") == 0);
    int64_t ring = int64_t(c.stages) * c.blockM * c.blockK * 2, staging = 2 * int64_t(c.blockN) * c.blockK * 2;
    CHECK(k.sharedBytes >= ring + staging);
    checkDequantizedOnceNoSpills(loop, k.ptx, c.blockN * c.blockK / threads, 4);
    std::string log;
    REQUIRE(testing::runPtxas(k.ptx, "sm_90a", &log) == 0);
    CAPTURE(log);
    CHECK(log.find("C7515") == std::string::npos);  // ptxas did not serialize the wgmmas
  }
}

// The transposed GEMM (weightsAsA): wgmma takes the dequantized weights from the registers
// they were decoded in (its A fragments) and the activations from their cp.async ring, so the
// K loop stores nothing to shared memory and has one barrier (the ring's) and one proxy
// fence. One wgmma per m64 block of weight rows and 16 k; assembled without spills and
// without wgmmas serialized by ptxas.
TEST_CASE("W4A16 GEMM with the weights as wgmma's a operand: no staging, registers straight to wgmma") {
  for (auto [blockN, blockM] : std::vector<std::pair<int, int>>{{256, 128}, {128, 256}, {128, 128}}) {
    kernels::QuantSpec q = spec4096(4);
    kernels::GemmConfig c;
    c.weightsAsA = 1, c.blockN = blockN, c.blockM = blockM, c.blockK = 64, c.numWarps = 8, c.stages = 4;
    CAPTURE(c.toString());
    REQUIRE(kernels::gemmSupports(q, c, false));
    codegen::PtxKernel k = codegen::compileToPtx(kernels::buildGemm(q, dsl::DType::bf16, false, c));
    std::string loop = mainLoop(k.ptx);
    REQUIRE(!loop.empty());
    int mBlocks = c.blockN / 64;
    std::string mma = "wgmma.mma_async.sync.aligned.m64n" + std::to_string(c.blockM) + "k16.f32.bf16.bf16";
    CHECK(count(loop, mma) == mBlocks / 2 * c.blockK / 16);  // per warpgroup: its m64 blocks
    CHECK(count(loop, "st.shared") == 0);
    CHECK(count(loop, "bar.sync") == 1);
    CHECK(count(loop, "fence.proxy.async.shared::cta") == 1);
    // The next step rewrites the fragment registers: each step waits for its own wgmmas.
    CHECK(count(loop, "wgmma.wait_group.sync.aligned 0;") == 1);
    CHECK(count(loop, "wgmma.wait_group.sync.aligned 1;") == 0);
    // Every thread of a quad unpacks the same row of words: one of them copies it.
    CHECK(count(loop, "@q cp.async") > 0);
    std::string log;
    REQUIRE(testing::runPtxas(k.ptx, "sm_90a", &log) == 0);
    CAPTURE(log);
    CHECK(log.find("0 bytes spill stores") != std::string::npos);
    CHECK(log.find("C7515") == std::string::npos);
    CHECK(log.find("C7513") == std::string::npos);  // no fragment written under a wgmma in flight
  }
}

// The transposed GEMM on mma.sync (few rows of x): each warp builds the A fragments of its own
// weight rows from the registers they were dequantized in, and reads the activations' B
// fragments from their cp.async ring with 16-byte loads. The loop stores nothing to shared
// memory, has one barrier (the ring's), one mma per 16 weight rows, 16 k and 8 rows of x, and
// dequantizes each weight once (two decode instructions per weight, 16-bit form).
// correctProducts: the step's products take the zero and scale rather than each weight
// (kernels/gemm/gemm.cc); one more mma per 8 rows of x and 16 k, whose a operand is 1, sums x.
struct TransposedTile { int blockN, blockM, blockK, warps, correctProducts = 0; };

// The W4A16 transposed mma.sync GEMM of `t` with `stages`, compiled: its config, PTX and K loop,
// after checking that the loop runs one mma per 16 weight rows, 16 k and 8 rows of x (and the
// sums of x, where the tile corrects its products).
static std::tuple<kernels::GemmConfig, codegen::PtxKernel, std::string> transposedMmaLoop(TransposedTile t, int stages) {
  kernels::QuantSpec q = spec4096(4);
  kernels::GemmConfig c;
  c.weightsAsA = 1, c.blockN = t.blockN, c.blockM = t.blockM, c.blockK = t.blockK, c.numWarps = t.warps, c.stages = stages;
  c.correctProducts = t.correctProducts;
  CAPTURE(c.toString());
  REQUIRE(kernels::gemmSupports(q, c, false));
  REQUIRE(!codegen::useWgmma(c.blockN, c.blockM, c.blockK, c.numWarps, 2));
  codegen::PtxKernel k = codegen::compileToPtx(kernels::buildGemm(q, dsl::DType::bf16, false, c));
  std::string loop = mainLoop(k.ptx);
  REQUIRE(!loop.empty());
  int sums = c.correctProducts ? (c.blockM / 8) * (c.blockK / 16) : 0;
  CHECK(count(loop, "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32") ==
        c.blockN / (16 * c.numWarps) * (c.blockM / 8) * (c.blockK / 16) + sums);
  return {c, k, loop};
}

TEST_CASE("W4A16 GEMM with the weights as mma.sync's a operand: fragments from registers, no staging") {
  for (TransposedTile t : {TransposedTile{64, 8, 128, 4}, TransposedTile{128, 8, 128, 4}, TransposedTile{64, 16, 128, 2},
                           TransposedTile{64, 32, 128, 2}, TransposedTile{32, 8, 256, 2}}) {
    auto [c, k, loop] = transposedMmaLoop(t, 4);
    CAPTURE(c.toString());
    CHECK(count(loop, "st.shared") == 0);
    CHECK(count(loop, "ldmatrix") == 0);
    CHECK(count(loop, "bar.sync") == 1);
    // 16-byte reads from the rings: each warp reads the whole [blockM, blockK] activation tile
    // once, each thread its own weight words once.
    int threads = 32 * c.numWarps;
    CHECK(count(loop, "ld.shared.v4.b32") + count(loop, "ld.shared.v4.u32") ==
          c.blockM * c.blockK * 2 / 16 / 32 + c.blockN * c.blockK / 2 / 16 / threads);
    checkDequantizedOnceNoSpills(loop, k.ptx, c.blockN * c.blockK / (32 * c.numWarps), 4);
  }
}

// With one stage the transposed mma.sync GEMM keeps no ring: each thread loads the next
// step's weight words (16-byte global loads), factors and activations into registers before
// this step's math, and the activations alone are staged to shared memory for the B fragments
// (two barriers, per group with correctProducts). Each weight is dequantized once, in the registers the A fragments take, or,
// with correctProducts, only unpacked.
TEST_CASE("W4A16 transposed mma.sync GEMM with one stage: next step's words loaded into registers") {
  for (TransposedTile t : {TransposedTile{64, 8, 256, 4}, TransposedTile{32, 8, 512, 2}, TransposedTile{32, 8, 256, 1},
                           TransposedTile{64, 16, 256, 2}, TransposedTile{64, 32, 128, 2}, TransposedTile{32, 8, 128, 2, 1},
                           TransposedTile{64, 16, 128, 2, 1}, TransposedTile{128, 8, 128, 4, 1},
                           TransposedTile{32, 8, 256, 2, 1}, TransposedTile{64, 16, 256, 2, 1}}) {
    auto [c, k, loop] = transposedMmaLoop(t, 1);
    CAPTURE(c.toString());
    int threads = 32 * c.numWarps;
    CHECK(count(loop, "cp.async") == 0);
    CHECK(count(loop, "ldmatrix") == 0);
    // 16-byte loads: the thread's own words, and its share of the activation tile (every warp
    // loads the whole tile: the B fragments of all its columns).
    int wordLoads = c.blockN * c.blockK / 2 / 16 / threads, activationLoads = c.blockM * c.blockK * 2 / 16 / threads;
    CHECK(count(loop, "ld.global.v4.b32") == wordLoads + activationLoads);
    CHECK(count(loop, "st.shared.v4.b32") == activationLoads);  // staged once for both dots
    // Two barriers per staging: one per group's part of a corrected step (group 128 here).
    const int parts = c.correctProducts ? c.blockK / std::min(c.blockK, 128) : 1;
    CHECK(count(loop, "bar.sync") == 2 * parts);
    int weights = c.blockN * c.blockK / threads;
    if (!c.correctProducts) {
      checkDequantizedOnceNoSpills(loop, k.ptx, weights, 4);
      continue;
    }
    // The codes unpacked to magic + u and nothing more per weight; per accumulator, step and
    // group's part of the step two f32 fmas (the zero's term, then the scale).
    CHECK(count(loop, "prmt.b32") == weights / 2);
    CHECK(count(loop, "lop3.b32") == weights / 2);
    CHECK(count(loop, "sub.rn.bf16x2") + count(loop, "fma.rn.bf16x2") + count(loop, "mul.rn.bf16x2") == 0);
    CHECK(count(loop, "fma.rn.f32") == 2 * parts * c.blockN * c.blockM / threads);
    std::string log;
    REQUIRE(testing::runPtxas(k.ptx, "sm_90a", &log) == 0);
    CAPTURE(log);
    CHECK(log.find("0 bytes spill stores") != std::string::npos);
  }
}

// Where the rings and two staging buffers would not fit in shared memory (128x256x128 with 3
// stages: 144 KiB of rings, 2 x 64 KiB of staging), the weights are staged once and each step
// waits for its own wgmmas, as before chains: the config still compiles.
TEST_CASE("W4A16 GEMM on wgmma stages once where two staging buffers do not fit") {
  kernels::QuantSpec q = spec4096(4);
  kernels::GemmConfig c;
  c.blockM = 128, c.blockN = 256, c.blockK = 128, c.numWarps = 8, c.stages = 3;
  REQUIRE(codegen::useWgmma(c.blockM, c.blockN, c.blockK, c.numWarps, 2));
  codegen::PtxKernel k = codegen::compileToPtx(kernels::buildGemm(q, dsl::DType::bf16, false, c));
  std::string loop = mainLoop(k.ptx);
  REQUIRE(!loop.empty());
  CHECK(count(loop, "wgmma.wait_group.sync.aligned 0;") == 1);
  CHECK(count(loop, "wgmma.wait_group.sync.aligned 1;") == 0);
  CHECK(k.sharedBytes <= codegen::kMaxSharedBytes);
  std::string log;
  CHECK(testing::runPtxas(k.ptx, "sm_90a", &log) == 0);
}

// The default GEMM config of every whole-word width compiles at every tile size (16-, 32- and
// 64-row tiles, split and not, and the 128- and 256-row wgmma tiles) and assembles without
// spills and without wgmmas serialized by ptxas: a default whose layout gave a thread part of
// a word would fail here, in codegen, before any GPU run.
TEST_CASE("default GEMM configs compile for 1-, 2-, 4- and 8-bit codes at every M") {
  for (int bits : {1, 2, 4, 8})
    for (int64_t M : {2, 16, 24, 48, 128, 256}) {
      kernels::QuantSpec q = spec4096(bits);
      kernels::GemmConfig c = kernels::ruleGemmConfig(q, M, false, 132);
      CAPTURE(bits);
      CAPTURE(M);
      CAPTURE(c.toString());
      REQUIRE(kernels::gemmSupports(q, c, false));
      codegen::PtxKernel k = codegen::compileToPtx(kernels::buildGemm(q, dsl::DType::bf16, false, c));
      std::string log;
      REQUIRE(testing::runPtxas(k.ptx, "sm_90a", &log) == 0);
      CAPTURE(log);
      CHECK(log.find("0 bytes spill stores") != std::string::npos);
      CHECK(log.find("C7515") == std::string::npos);
    }
  // The int8 GEMM's defaults (8-bit per-channel weights) at its small-M tiles.
  for (int64_t M : {16, 64}) {
    kernels::QuantSpec q = spec4096(8);
    q.symmetric = true, q.groupSize = int(q.K);
    kernels::GemmConfig c = kernels::ruleGemmConfig(q, M, true, 132);
    CAPTURE(M);
    CAPTURE(c.toString());
    codegen::PtxKernel k = codegen::compileToPtx(kernels::buildInt8Gemm(q, dsl::DType::bf16, false, c));
    std::string log;
    REQUIRE(testing::runPtxas(k.ptx, "sm_90a", &log) == 0);
    CAPTURE(log);
    CHECK(log.find("0 bytes spill stores") != std::string::npos);
  }
}

// The root check under families_test's: every kernel of the default plan for awkward formats
// and shapes (odd N, K that is not a power of two or not a multiple of the usual steps, M
// around the tile sizes, int8 or not) compiles and is accepted by ptxas.
TEST_CASE("the default plans of awkward formats and shapes compile and assemble") {
  std::set<std::string> seen;
  int kernels = 0;
  kernels::CompileFn assemble = [&](const dsl::KernelProgram& program) -> std::shared_ptr<codegen::JitKernel> {
    codegen::PtxKernel k = codegen::compileToPtx(program);
    if (!seen.insert(k.ptx).second) return nullptr;
    std::string log;
    INFO(log);
    CHECK(testing::runPtxas(k.ptx, "sm_90a", &log) == 0);
    ++kernels;
    return nullptr;
  };
  for (int bits : {1, 3, 4, 8})
    for (int64_t K : {160, 1000, 4160})
      for (int group : {64, 0}) {
        WeightFormat f;
        f.bit_width = bits, f.N = 1000, f.K = K, f.group_size = group ? group : int(K);
        try {
          f.validate();
        } catch (const Error&) {
          continue;
        }
        kernels::QuantSpec q = kernels::quantSpecOf(f);
        for (bool int8 : {false, true})
          for (int64_t M : {1, 3, 17, 129, 300}) {
            cache::KernelFamily family = kernels::chooseFamily(q, M, int8);
            cache::KernelConfig config = kernels::defaultConfig(family, q, M, 132);
            if (!kernels::configError(family, q, config).empty()) continue;  // refused formats: families_test
            CAPTURE(bits);
            CAPTURE(K);
            CAPTURE(M);
            CAPTURE(int8);
            CHECK_NOTHROW(kernels::makePlan(family, q, dsl::DType::bf16, dsl::DType::bf16, true, config, assemble));
          }
      }
  CHECK(kernels > 20);
}

// A tail split (GemmConfig::tailSplit) keeps the wgmma chains: its programs' K loops run a
// length that is one of two constants (no zero-trip path, whose merge read the int8 GEMM's
// accumulators before their wait and made ptxas serialize the wgmmas, C7514).
TEST_CASE("GEMMs with a tail split: ptxas keeps the wgmmas in flight") {
  kernels::QuantSpec w8;
  w8.bits = 8, w8.symmetric = true, w8.N = 8192, w8.K = 8192, w8.groupSize = 8192;
  kernels::QuantSpec w4;
  w4.bits = 4, w4.N = 8192, w4.K = 8192, w4.groupSize = 128;
  for (auto [int8, bm, bn, bk] : std::vector<std::array<int, 4>>{{1, 128, 128, 128}, {0, 256, 128, 64}, {0, 128, 256, 64}}) {
    kernels::GemmConfig c;
    c.blockM = bm, c.blockN = bn, c.blockK = bk, c.numWarps = 8, c.stages = 4, c.tailSplit = 4;
    CAPTURE(c.toString());
    codegen::PtxKernel k = codegen::compileToPtx(int8 ? kernels::buildInt8Gemm(w8, dsl::DType::bf16, true, c)
                                                      : kernels::buildGemm(w4, dsl::DType::bf16, true, c));
    std::string log;
    REQUIRE(testing::runPtxas(k.ptx, "sm_90a", &log) == 0);
    CAPTURE(log);
    CHECK(log.find("0 bytes spill stores") != std::string::npos);
    CHECK(log.find("C751") == std::string::npos);  // no wgmma serialized
  }
  kernels::GemmConfig wide;  // int8 128x256: the epilogue would spill
  wide.blockM = 128, wide.blockN = 256, wide.blockK = 128, wide.numWarps = 8, wide.stages = 4, wide.tailSplit = 4;
  CHECK(!kernels::gemmSupports(w8, wide, true));
}
