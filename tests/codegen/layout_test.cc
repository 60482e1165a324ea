// Layouts cover every element of a tile, and threads hold the elements the formulas say.
#include <doctest/doctest.h>

#include <map>
#include <set>

#include "codegen/layout.h"

using namespace uintx::codegen;

// CPU model of the coordinate the lowering computes for thread `tid`, local element k.
static std::vector<int64_t> coords(const Layout& l, const ThreadElements& te, int tid, int k) {
  const BlockedParams& p = l.params;
  int lane = tid % 32, warp = tid / 32;
  std::vector<int64_t> c;
  auto idx = te.split(k);
  for (int i = 0; i < l.rank(); ++i) {
    int pd = l.dims[i];
    int laneStride = 1 << p.laneShift(pd), warpStride = 1 << p.warpShift(pd);
    int lc = (lane / laneStride) % p.threadsPerWarp[pd], wc = (warp / warpStride) % p.warpsPerCta[pd];
    int64_t base = int64_t(lc) * p.sizePerThread[pd] + int64_t(wc) * p.sizePerThread[pd] * p.threadsPerWarp[pd];
    c.push_back((base + te.offsetAlong(i, idx[i])) % te.shape[i]);
  }
  return c;
}

TEST_CASE("default layouts cover every element exactly when the tile is large enough") {
  for (auto shape : std::vector<std::vector<int64_t>>{{1024}, {16, 128}, {64, 64}, {128, 32}, {8, 512}}) {
    for (int warps : {1, 4, 8}) {
      BlockedParams p = defaultParams(shape, warps, 4);
      CAPTURE(p.toString());
      int tpw = 1;
      for (int t : p.threadsPerWarp) tpw *= t;
      CHECK(tpw == 32);
      CHECK(p.numWarps() == warps);
      Layout l = Layout::blocked(p);
      ThreadElements te = threadElements(l, shape);
      std::map<std::vector<int64_t>, int> seen;
      for (int tid = 0; tid < warps * 32; ++tid)
        for (int k = 0; k < te.count(); ++k) seen[coords(l, te, tid, k)]++;
      int64_t numel = 1;
      for (auto d : shape) numel *= d;
      CHECK(int64_t(seen.size()) == numel);
    }
  }
}

TEST_CASE("small tiles wrap: every element is held, some by several threads") {
  BlockedParams p = defaultParams({4, 8}, 4, 4);
  Layout l = Layout::blocked(p);
  ThreadElements te = threadElements(l, {4, 8});
  std::set<std::vector<int64_t>> seen;
  for (int tid = 0; tid < 128; ++tid)
    for (int k = 0; k < te.count(); ++k) {
      auto c = coords(l, te, tid, k);
      CHECK(c[0] < 4);
      CHECK(c[1] < 8);
      seen.insert(c);
    }
  CHECK(seen.size() == 32);
}

TEST_CASE("a slice keeps the parent's coordinates along the kept dimension") {
  BlockedParams p = defaultParams({16, 128}, 4, 4);
  Layout parent = Layout::blocked(p), rows = parent.slice(1);
  ThreadElements tp = threadElements(parent, {16, 128}), tr = threadElements(rows, {16});
  for (int tid = 0; tid < 128; ++tid)
    for (int k = 0; k < tr.count(); ++k) {
      auto rc = coords(rows, tr, tid, k);
      // The same row appears among the parent's elements of this thread.
      bool found = false;
      for (int j = 0; j < tp.count(); ++j) found |= coords(parent, tp, tid, j)[0] == rc[0];
      CHECK(found);
    }
}

// The w operand of an mma.sync dot in registers: thread (g, c) of warp v must hold, for n8
// block j, w row j * 8 * warps + 8 v + g (the row the accumulator layout gives its columns) and
// S consecutive k from c * S of every 4S block, so that every 8-byte step of its run is one
// mma k step of the same k for all four threads of a row.
TEST_CASE("mma register operand: rows of the n8 blocks, consecutive k runs per thread") {
  struct Case { int64_t BM, BN, BK; int warps, eb, vec, S; };
  for (Case t : {Case{16, 128, 128, 4, 2, 32, 32}, Case{16, 64, 64, 4, 2, 32, 16}, Case{16, 256, 64, 8, 1, 16, 16},
                 Case{64, 128, 64, 4, 2, 32, 16}}) {
    CAPTURE(t.BM);
    CAPTURE(t.BN);
    CAPTURE(t.BK);
    CAPTURE(t.warps);
    auto p = mmaRegisterOperandParams(t.BM, t.BN, t.BK, t.warps, t.eb, t.vec);
    REQUIRE(p.has_value());
    REQUIRE(mmaLayouts(t.BM, t.BN, t.BK, t.warps).warpsM == 1);
    Layout l = Layout::blocked(*p);
    ThreadElements te = threadElements(l, {t.BN, t.BK});
    std::set<std::vector<int64_t>> seen;
    for (int tid = 0; tid < 32 * t.warps; ++tid) {
      int g = tid % 32 / 4, c = tid % 4, v = tid / 32;
      for (int k = 0; k < te.count(); ++k) {
        auto rc = coords(l, te, tid, k);
        auto idx = te.split(k);
        CHECK(rc[0] == idx[0] * 8 * t.warps + 8 * v + g);
        CHECK(rc[1] == idx[1] / t.S * 4 * t.S + c * t.S + idx[1] % t.S);
        seen.insert(rc);
      }
    }
    CHECK(int64_t(seen.size()) == t.BN * t.BK);  // every element once
  }
  // Not that form: warps split along M (each w row would be needed by several warps), a run
  // shorter than one 8-byte k step, and rows that do not fill the warps' n8 blocks.
  CHECK(!mmaRegisterOperandParams(64, 64, 64, 4, 2, 32));
  CHECK(!mmaRegisterOperandParams(16, 128, 32, 4, 2, 2));
  CHECK(!mmaRegisterOperandParams(16, 16, 64, 4, 2, 32));
}
