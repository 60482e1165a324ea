// How a tile is spread over the threads of a CTA (Triton's "blocked" and "slice" layouts).
//
// A BlockedParams describes a rank-R grid: each thread owns sizePerThread[d] consecutive
// elements along dim d, a warp spreads threadsPerWarp[d] threads along d, and the CTA spreads
// warpsPerCta[d] warps along d. The last dimension is always the fastest (row-major).
// A tile of any shape can use the params of its rank: when a dimension is larger than the
// params cover, each thread repeats its pattern ("reps"); when smaller, threads wrap around
// and hold duplicates (coordinates are taken modulo the size, all sizes are powers of two).
//
// A Layout is BlockedParams plus the list of the params' dimensions the tile has. A slice
// layout (the result of reducing a dimension away, or the input of expand_dims) drops
// dimensions but keeps the thread decomposition, so that expand_dims and broadcasts need no
// data movement.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace uintx::codegen {

struct BlockedParams {
  std::vector<int> sizePerThread, threadsPerWarp, warpsPerCta;
  int rank() const { return int(sizePerThread.size()); }
  int numWarps() const;
  int laneShift(int d) const;  // lowest lane bit of dimension d
  int warpShift(int d) const;  // lowest warp bit of dimension d
  bool operator==(const BlockedParams& o) const {
    return sizePerThread == o.sizePerThread && threadsPerWarp == o.threadsPerWarp &&
           warpsPerCta == o.warpsPerCta;
  }
  std::string toString() const;
};

// The default params for tiles up to `maxShape`: `vec` elements per thread along the last
// dimension (16-byte accesses for 32-bit data), lanes then warps spread over the remaining
// extent, fastest dimension first for lanes and slowest first for warps.
BlockedParams defaultParams(const std::vector<int64_t>& maxShape, int numWarps, int vec);

// The tensor-core (mma.sync) accumulator layout for acc[BM, BN] += a[BM, BK] @ w[BN, BK]^T
// with numWarps warps split as warpsM x warpsN: the m16n8 C fragment. The operands are
// staged through shared memory by the dot lowering and keep whatever layout they have.
struct MmaLayouts {
  BlockedParams acc;
  int warpsM = 1, warpsN = 1;
};
// Throws uintx::Error when the tile cannot be split (BM % 16*warpsM, BN % 8*warpsN, BK % 32).
MmaLayouts mmaLayouts(int64_t BM, int64_t BN, int64_t BK, int numWarps);

// The w operand of an mma.sync dot in registers. When every warp computes all BM rows of the
// accumulator (mmaLayouts gives warpsM == 1), no two warps share a row of w, so the w tile can
// feed the mma B fragments straight from the registers it was loaded or dequantized in: no
// shared memory, no barrier, no ldmatrix. Thread (g = lane / 4, c = lane % 4) of warp v holds w
// rows j * 8 * numWarps + 8 v + g (its n8 block j) and, of every k block 4S wide, the S
// consecutive k from c * S. Each mma step takes 8 bytes of every thread's run: the mma's k
// order is a permutation of the tile's (thread c's logical k 2c, 2c+1, 2c+8, 2c+9 of a 16-bit
// m16n8k16 are its four consecutive k), and the a fragments are read from shared memory in the
// same permuted order, so the products and their sum are unchanged. Returns the w tile's
// params (S = min(vec, BK / 4)), or nullopt when the tile does not fit that form (or when the
// environment sets UINTX_DOT_W_IN_SHARED, which keeps w in shared memory, for comparisons).
std::optional<BlockedParams> mmaRegisterOperandParams(int64_t BM, int64_t BN, int64_t BK, int numWarps,
                                                      int elemBytes, int vec);

// The a operand of an mma.sync dot in registers, for an a tile the program computes (the
// transposed GEMM, y^T = w x^T: dequantized weights as a, activations as the shared-memory
// operand). The params are mmaRegisterOperandParams': thread (g, c) of warp v holds a rows
// rep*8*numWarps + 8v + g and, of every k block 4S wide, the S consecutive k from c * S. Reps
// 2i and 2i + 1 are rows g and g + 8 of the A fragment of m16 block i, which are the
// accumulator's local rows 2i, 2i + 1 when every warp computes rows of its own (mmaLayouts
// gives warpsM == numWarps): the fragments are built from the registers the program computed
// them in, and no two warps decode the same weight. The mma's k order is permuted as for w in
// registers, the shared operand read in the same order. 16-bit elements; nullopt when the tile
// does not fit that form.
std::optional<BlockedParams> mmaRegisterOperandAParams(int64_t BM, int64_t BN, int64_t BK, int numWarps,
                                                       int elemBytes, int vec);

// True when the dot runs on sm_90's warpgroup MMA (wgmma) instead of mma.sync: every warp
// owns 16 or 32 rows (BM = 16 or 32 * numWarps, numWarps a multiple of 4, one or two m64
// blocks per warpgroup),
// 16 <= BN <= 256 a multiple of 16, and BK a multiple of 128 bytes (the swizzle's row). Both operands are then read
// by the tensor cores from shared memory (descriptors, no ldmatrix), and the accumulator layout
// is wgmmaLayouts(): mma.sync's fragment with all warps along M.
bool useWgmma(int64_t BM, int64_t BN, int64_t BK, int numWarps, int elemBytes);
MmaLayouts wgmmaLayouts(int numWarps);

// The a operand of a wgmma dot in registers (16-bit elements), for an a tile the program
// computes (e.g. dequantized weights) rather than loads: each warp holds the m64nNk16 A
// fragments of its 16 rows of every m64 block, thread (g = lane / 4, c = lane % 4) rows g and
// g + 8 and, of every 16 k, the pairs 2c, 2c + 1 and 2c + 8, 2c + 9. That is the accumulator's
// layout (wgmmaLayouts) over [BM, BK]: rows rep*8*numWarps + 8w + g, pairs 8j + 2c. So the rows
// a thread feeds are the rows its accumulators hold, with no permutation, and wgmma reads a from
// the registers the program computed it in: no staging, no barrier. nullopt where the dot is
// not a wgmma or the elements are not 16-bit.
std::optional<BlockedParams> wgmmaRegisterOperandParams(int64_t BM, int64_t BN, int64_t BK, int numWarps,
                                                        int elemBytes);

// Shared memory one CTA may use on sm_90 (dynamic, opted into at launch), and an estimate of
// what a dot needs of it (for search spaces): its operands a[BM, BK] and w[BN, BK] row-major,
// rows padded by 16 bytes, once when staged from registers, `stages` times (each rounded up
// to 128 bytes) when the loop pipelines their loads into a ring (`async*`). wgmma tiles have
// no padding but 1024-byte buffers; the lowering's own count (PtxKernel::sharedBytes) is exact.
constexpr int64_t kMaxSharedBytes = 227 * 1024;
int64_t pipelinedDotBytes(int64_t BM, int64_t BN, int64_t BK, int elemBytes, int stages, bool asyncA, bool asyncW);

struct Layout {
  // Which form the params have. The tensor-core forms are blocked params of a fixed shape,
  // named in the IR for readers (layout_attr.h); == ignores the form (equal params spread a
  // tile the same way).
  enum class Form { blocked, mmaAccumulator, wgmmaAccumulator, mmaOperandB };

  BlockedParams params;
  std::vector<int> dims;  // params dimension of each tile dimension, increasing
  Form form = Form::blocked;

  static Layout blocked(const BlockedParams& p);
  Layout slice(int tileDim) const;  // drops tile dimension `tileDim`
  int rank() const { return int(dims.size()); }
  // Equal when every kept dimension maps threads to coordinates the same way (params of
  // dropped dimensions matter only through the lane and warp bits they take).
  bool operator==(const Layout& o) const;
  bool operator!=(const Layout& o) const { return !(*this == o); }
  std::string toString() const;
};

// The elements one thread holds of a tile of `shape` in `layout`, in a fixed order: row-major
// over tile dimensions, and within a dimension rep-major then the per-thread run, so that a
// thread's consecutive elements along the last dimension are adjacent in the list.
struct ThreadElements {
  std::vector<int64_t> shape;
  std::vector<int> countPerDim;   // elements per thread along each tile dim
  std::vector<int> runPerDim;     // min(sizePerThread, size): the contiguous run
  int count() const;
  // Per-dim local index of the flat local index `i`.
  std::vector<int> split(int i) const;
  int flatten(const std::vector<int>& idx) const;
  // The offset of local index idx[d] along d, without the thread's base: rep*cover + v.
  int64_t offsetAlong(int d, int idx) const { return int64_t(idx / runPerDim[d]) * coverPerDim[d] + idx % runPerDim[d]; }
  std::vector<int64_t> coverPerDim;  // sizePerThread*threadsPerWarp*warpsPerCta of the dim
};

ThreadElements threadElements(const Layout& layout, const std::vector<int64_t>& shape);

// True when a tile of `shape` has the same elements in the same threads and order under
// both layouts (dimensions of size 1 hold coordinate 0 whatever their params).
bool equivalentFor(const Layout& a, const Layout& b, const std::vector<int64_t>& shape);

}  // namespace uintx::codegen
