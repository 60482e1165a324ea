#include "codegen/layout.h"

#include <algorithm>
#include <cstdlib>

#include "uintx/error.h"

namespace uintx::codegen {

static int log2i(int v);

int BlockedParams::numWarps() const {
  int n = 1;
  for (int w : warpsPerCta) n *= w;
  return n;
}

static std::string list(const std::vector<int>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + std::to_string(v[i]);
  return s + "]";
}

static int log2i(int v) {
  int l = 0;
  while ((1 << l) < v) ++l;
  return l;
}

int BlockedParams::laneShift(int d) const {
  int s = 0;
  for (int i = d + 1; i < rank(); ++i) s += log2i(threadsPerWarp[i]);
  return s;
}

int BlockedParams::warpShift(int d) const {
  int s = 0;
  for (int i = d + 1; i < rank(); ++i) s += log2i(warpsPerCta[i]);
  return s;
}

std::string BlockedParams::toString() const {
  return "blocked<spt=" + list(sizePerThread) + " tpw=" + list(threadsPerWarp) +
         " wpc=" + list(warpsPerCta) + ">";
}

BlockedParams defaultParams(const std::vector<int64_t>& maxShape, int numWarps, int vec) {
  int r = int(maxShape.size());
  BlockedParams p;
  p.sizePerThread.assign(r, 1);
  p.threadsPerWarp.assign(r, 1);
  p.warpsPerCta.assign(r, 1);
  p.sizePerThread[r - 1] = int(std::min<int64_t>(vec, maxShape[r - 1]));
  std::vector<int64_t> left(maxShape);
  left[r - 1] = std::max<int64_t>(1, left[r - 1] / p.sizePerThread[r - 1]);
  int lanes = 32;
  for (int d = r - 1; d >= 0 && lanes > 1; --d) {
    int t = int(std::min<int64_t>(lanes, left[d]));
    p.threadsPerWarp[d] = t;
    lanes /= t;
    left[d] /= t;
  }
  p.threadsPerWarp[r - 1] *= lanes;  // tile smaller than a warp: lanes wrap on the last dim
  int warps = numWarps;
  for (int d = 0; d < r && warps > 1; ++d) {
    int w = int(std::min<int64_t>(warps, std::max<int64_t>(1, left[d])));
    p.warpsPerCta[d] = w;
    warps /= w;
    left[d] = std::max<int64_t>(1, left[d] / w);
  }
  p.warpsPerCta[0] *= warps;
  return p;
}

MmaLayouts mmaLayouts(int64_t BM, int64_t BN, int64_t BK, int numWarps) {
  MmaLayouts m;
  // The split with the fewest fragment reads per warp (each warp reads BM/warpsM rows of a
  // and BN/warpsN rows of w from shared memory); ties go to fewer warps along M.
  int64_t best = -1;
  for (int wm = 1; wm <= numWarps; wm *= 2) {
    int wn = numWarps / wm;
    if (BM % (16 * wm) || BN % (8 * wn)) continue;
    int64_t cost = BM / wm + BN / wn;
    if (best < 0 || cost < best) best = cost, m.warpsM = wm, m.warpsN = wn;
  }
  if (best < 0) m.warpsM = 1, m.warpsN = numWarps;
  if (BM % (16 * m.warpsM) || BN % (8 * m.warpsN) || BK % 32)
    throw Error("dot tile [" + std::to_string(BM) + "x" + std::to_string(BK) + "] @ [" + std::to_string(BK) + "x" +
                std::to_string(BN) + "] with " + std::to_string(numWarps) +
                " warps: needs BM a multiple of 16*warpsM, BN of 8*warpsN and BK of 32");
  m.acc = {{1, 2}, {8, 4}, {m.warpsM, m.warpsN}};
  return m;
}

std::optional<BlockedParams> mmaRegisterOperandParams(int64_t BM, int64_t BN, int64_t BK, int numWarps,
                                                      int elemBytes, int vec) {
  if (std::getenv("UINTX_DOT_W_IN_SHARED")) return std::nullopt;  // to compare the two forms
  if (BM % 16 || BN % (8 * numWarps) || BK % 32) return std::nullopt;
  if (mmaLayouts(BM, BN, BK, numWarps).warpsM != 1) return std::nullopt;
  int64_t S = std::min<int64_t>(vec, BK / 4);
  if (S < 1 || (S * elemBytes) % 8 || BK % (4 * S)) return std::nullopt;
  return BlockedParams{{1, int(S)}, {8, 4}, {numWarps, 1}};
}

std::optional<BlockedParams> mmaRegisterOperandAParams(int64_t BM, int64_t BN, int64_t BK, int numWarps,
                                                       int elemBytes, int vec) {
  if (elemBytes != 2 || BM % (16 * numWarps) || BN % 8 || BK % 32) return std::nullopt;
  if (mmaLayouts(BM, BN, BK, numWarps).warpsM != numWarps) return std::nullopt;
  int64_t S = std::min<int64_t>(vec, BK / 4);
  if (S < 2 || S % 4 || BK % (4 * S)) return std::nullopt;
  return BlockedParams{{1, int(S)}, {8, 4}, {numWarps, 1}};
}

bool useWgmma(int64_t BM, int64_t BN, int64_t BK, int numWarps, int elemBytes) {
  return numWarps % 4 == 0 && (BM == 16 * numWarps || BM == 32 * numWarps) && BN % 16 == 0 && BN >= 16 &&
         BN <= 256 && BK * elemBytes % 128 == 0;
}

MmaLayouts wgmmaLayouts(int numWarps) {
  MmaLayouts m;
  m.warpsM = numWarps, m.warpsN = 1;
  m.acc = {{1, 2}, {8, 4}, {numWarps, 1}};
  return m;
}

std::optional<BlockedParams> wgmmaRegisterOperandParams(int64_t BM, int64_t BN, int64_t BK, int numWarps,
                                                        int elemBytes) {
  if (elemBytes != 2 || !useWgmma(BM, BN, BK, numWarps, elemBytes)) return std::nullopt;
  return wgmmaLayouts(numWarps).acc;
}

int64_t pipelinedDotBytes(int64_t BM, int64_t BN, int64_t BK, int elemBytes, int stages, bool asyncA, bool asyncW) {
  int64_t row = BK * elemBytes + 16;
  auto ring = [&](int64_t rows) { return stages * ((rows * row + 127) / 128 * 128); };
  return (asyncA ? ring(BM) : BM * row) + (asyncW ? ring(BN) : BN * row);
}

Layout Layout::blocked(const BlockedParams& p) {
  Layout l;
  l.params = p;
  for (int d = 0; d < p.rank(); ++d) l.dims.push_back(d);
  return l;
}

Layout Layout::slice(int tileDim) const {
  Layout l = *this;
  l.dims.erase(l.dims.begin() + tileDim);
  return l;
}

bool Layout::operator==(const Layout& o) const {
  if (dims.size() != o.dims.size()) return false;
  const BlockedParams &p = params, &q = o.params;
  for (size_t i = 0; i < dims.size(); ++i) {
    int a = dims[i], b = o.dims[i];
    if (p.sizePerThread[a] != q.sizePerThread[b] || p.threadsPerWarp[a] != q.threadsPerWarp[b] ||
        p.warpsPerCta[a] != q.warpsPerCta[b] || p.laneShift(a) != q.laneShift(b) || p.warpShift(a) != q.warpShift(b))
      return false;
  }
  return true;
}

bool equivalentFor(const Layout& a, const Layout& b, const std::vector<int64_t>& shape) {
  if (a.dims.size() != b.dims.size() || a.dims.size() != shape.size()) return false;
  const BlockedParams &p = a.params, &q = b.params;
  for (size_t i = 0; i < shape.size(); ++i) {
    int x = a.dims[i], y = b.dims[i];
    if (p.laneShift(x) != q.laneShift(y) || p.warpShift(x) != q.warpShift(y))
      return false;
    if (shape[i] == 1) continue;
    if (p.sizePerThread[x] != q.sizePerThread[y] || p.threadsPerWarp[x] != q.threadsPerWarp[y] ||
        p.warpsPerCta[x] != q.warpsPerCta[y])
      return false;
  }
  return true;
}

std::string Layout::toString() const {
  if (int(dims.size()) == params.rank()) return params.toString();
  return "slice<" + params.toString() + " dims=" + list(dims) + ">";
}

int ThreadElements::count() const {
  int n = 1;
  for (int c : countPerDim) n *= c;
  return n;
}

std::vector<int> ThreadElements::split(int i) const {
  std::vector<int> idx(countPerDim.size());
  for (int d = int(countPerDim.size()) - 1; d >= 0; --d) {
    idx[d] = i % countPerDim[d];
    i /= countPerDim[d];
  }
  return idx;
}

int ThreadElements::flatten(const std::vector<int>& idx) const {
  int i = 0;
  for (size_t d = 0; d < countPerDim.size(); ++d) i = i * countPerDim[d] + idx[d];
  return i;
}

ThreadElements threadElements(const Layout& layout, const std::vector<int64_t>& shape) {
  ThreadElements t;
  t.shape = shape;
  const BlockedParams& p = layout.params;
  for (size_t i = 0; i < shape.size(); ++i) {
    int d = layout.dims[i];
    int64_t cover = int64_t(p.sizePerThread[d]) * p.threadsPerWarp[d] * p.warpsPerCta[d];
    int run = int(std::min<int64_t>(p.sizePerThread[d], shape[i]));
    int reps = int(std::max<int64_t>(1, shape[i] / cover));
    t.runPerDim.push_back(run);
    t.countPerDim.push_back(run * reps);
    t.coverPerDim.push_back(cover);
  }
  return t;
}

}  // namespace uintx::codegen
