// Shape ops, reductions, dot, loops with carried values and the memory ops (masked loads and
// stores, atomics) against plain C++, with tails and multi-program grids.
#include "tests/interpreter/test_util.h"
#include "uintx/error.h"

using namespace uintx;
using namespace uintx::dsl;
using namespace uintx::interp_test;

TEST_CASE("expandDims, broadcasting and broadcastTo build an outer sum") {
  const int R = 16, C = 64;
  KernelBuilder kb("outer");
  Value px = kb.pointerArg("x", DType::f32), py = kb.pointerArg("y", DType::f32);
  Value po = kb.pointerArg("out", DType::f32), pb = kb.pointerArg("out_b", DType::f32);
  Value r = kb.arange(0, R), c = kb.arange(0, C);
  Value xv = load(px + c), yv = load(py + r);
  Value idx = expandDims(r, 1) * C + expandDims(c, 0);             // [R, C] via broadcasting
  kb.store(po + idx, expandDims(xv, 0) * 10.0 + expandDims(yv, 1));
  Value xb = broadcastTo(expandDims(xv, 0), {R, C});                 // explicit broadcast
  Value yb = broadcastTo(expandDims(yv, 1), {R, C});
  kb.store(pb + idx, xb - yb);
  auto x = randomFloats<float>(C, 200), y = randomFloats<float>(R, 201);
  std::vector<float> out(R * C), outB(R * C), want(R * C), wantB(R * C);
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < C; ++j) {
      want[i * C + j] = x[j] * 10.0f + y[i];
      wantB[i * C + j] = x[j] - y[i];
    }
  interpret(kb.finish(), {}, {KernelArg::buffer(x), KernelArg::buffer(y), KernelArg::buffer(out), KernelArg::buffer(outB)});
  checkExact(out, want, "outer via broadcasting");
  checkExact(outB, wantB, "outer via broadcastTo");
}

TEST_CASE("reshape keeps row-major order; trans swaps the axes") {
  const int R = 8, C = 16;
  KernelBuilder kb("reshape_trans");
  Value px = kb.pointerArg("x", DType::i32), po = kb.pointerArg("out", DType::i32);
  Value pf = kb.pointerArg("flat", DType::i32);
  Value r = expandDims(kb.arange(0, R), 1), c = expandDims(kb.arange(0, C), 0);
  Value t = load(px + (r * C + c));                // [8, 16]
  Value u = trans(reshape(t, {C, R}));             // [16, 8] -> [8, 16]
  kb.store(po + (r * C + c), u);
  kb.store(pf + kb.arange(0, R * C), reshape(trans(t), {R * C}));  // [16, 8] flattened
  auto x = randomInts<int32_t>(R * C, 210);
  std::vector<int32_t> out(R * C), flat(R * C), want(R * C), wantFlat(R * C);
  for (int i = 0; i < R; ++i)
    for (int j = 0; j < C; ++j) want[i * C + j] = x[j * R + i];
  for (int a = 0; a < C; ++a)
    for (int b = 0; b < R; ++b) wantFlat[a * R + b] = x[b * C + a];
  interpret(kb.finish(), {}, {KernelArg::buffer(x), KernelArg::buffer(out), KernelArg::buffer(flat)});
  checkExact(out, want, "trans(reshape(t))");
  checkExact(flat, wantFlat, "reshape(trans(t))");
}

namespace {

// For a [rows, cols] matrix: programs along axis 0 of the grid take BC columns each and all
// rows (BR >= rows); colRed[c] = reduce over rows (axis 0), rowPart[pid * rows + r] = reduce
// over this program's columns (axis 1). Masked lanes load `fill`.
template <class T>
void runReductions(bool isSum, int rows, int cols, const std::vector<T>& x, double fill,
                   std::vector<T>& colRed, std::vector<T>& rowPart) {
  const int BR = 64, BC = 32;
  KernelBuilder kb(isSum ? "sums" : "maxes");
  DType t = DTypeOf<T>::value;
  Value px = kb.pointerArg("x", t), pc = kb.pointerArg("col", t), pr = kb.pointerArg("row_part", t);
  Value nr = kb.scalarArg("rows", DType::i32), nc = kb.scalarArg("cols", DType::i32);
  Value pid = kb.programId(0);
  Value r = kb.arange(0, BR), c = pid * BC + kb.arange(0, BC);
  Value r2 = expandDims(r, 1), c2 = expandDims(c, 0);
  Value mask = (r2 < nr) & (c2 < nc);
  Value tile = load(px + (r2 * nc + c2), mask, fill);
  Value col = isSum ? sum(tile, 0) : max(tile, 0);
  Value row = isSum ? sum(tile, 1) : max(tile, 1);
  kb.store(pc + c, col, c < nc);
  kb.store(pr + (pid * nr + r), row, r < nr);
  int programs = (cols + BC - 1) / BC;
  colRed.assign(cols, T());
  rowPart.assign(size_t(programs) * rows, T());
  std::vector<T> xs = x;
  interpret(kb.finish(), {programs, 1, 1},
            {KernelArg::buffer(xs), KernelArg::buffer(colRed), KernelArg::buffer(rowPart), KernelArg::i32(rows),
             KernelArg::i32(cols)});
}

}  // namespace

TEST_CASE("sum and max along both axes of 2-D tiles (f32, bf16, i32)") {
  const int rows = 37, cols = 100, BC = 32, programs = (cols + BC - 1) / BC;
  // f32: in-order float accumulation.
  auto x = randomFloats<float>(rows * cols, 220);
  std::vector<float> col, part;
  for (bool isSum : {true, false}) {
    runReductions<float>(isSum, rows, cols, x, isSum ? 0.0 : -INFINITY, col, part);
    std::vector<float> wantCol(cols), wantPart(size_t(programs) * rows);
    for (int c = 0; c < cols; ++c) {
      float a = x[c];
      for (int r = 1; r < rows; ++r) a = isSum ? a + x[r * cols + c] : std::max(a, x[r * cols + c]);
      wantCol[c] = a;
    }
    for (int p = 0; p < programs; ++p)
      for (int r = 0; r < rows; ++r) {
        float a = x[r * cols + p * BC];
        for (int c = p * BC + 1; c < std::min(cols, (p + 1) * BC); ++c)
          a = isSum ? a + x[r * cols + c] : std::max(a, x[r * cols + c]);
        wantPart[size_t(p) * rows + r] = a;
      }
    checkExact(col, wantCol, isSum ? "f32 sum axis 0" : "f32 max axis 0");
    checkExact(part, wantPart, isSum ? "f32 sum axis 1" : "f32 max axis 1");
  }
  // bf16: accumulate in f32, round once.
  auto xb = randomFloats<bf16>(rows * cols, 221, false, 8);
  std::vector<bf16> colB, partB;
  runReductions<bf16>(true, rows, cols, xb, 0.0, colB, partB);
  std::vector<bf16> wantColB(cols);
  for (int c = 0; c < cols; ++c) {
    float a = 0;
    for (int r = 0; r < rows; ++r) a += value(xb[r * cols + c]);
    wantColB[c] = fromFloat<bf16>(roundBf16(a));
  }
  checkExact(colB, wantColB, "bf16 sum axis 0 (f32 accumulation)");
  // i32: wrapping sums, signed max.
  auto xi = randomInts<int32_t>(rows * cols, 222);
  std::vector<int32_t> colI, partI;
  for (bool isSum : {true, false}) {
    runReductions<int32_t>(isSum, rows, cols, xi, isSum ? 0.0 : double(INT32_MIN), colI, partI);
    std::vector<int32_t> wantCol(cols), wantPart(size_t(programs) * rows);
    for (int c = 0; c < cols; ++c) {
      uint32_t s = 0;
      int32_t m = INT32_MIN;
      for (int r = 0; r < rows; ++r) {
        s += uint32_t(xi[r * cols + c]);
        m = std::max(m, xi[r * cols + c]);
      }
      wantCol[c] = isSum ? int32_t(s) : m;
    }
    for (int p = 0; p < programs; ++p)
      for (int r = 0; r < rows; ++r) {
        uint32_t s = 0;
        int32_t m = INT32_MIN;
        for (int c = p * BC; c < std::min(cols, (p + 1) * BC); ++c) {
          s += uint32_t(xi[r * cols + c]);
          m = std::max(m, xi[r * cols + c]);
        }
        wantPart[size_t(p) * rows + r] = isSum ? int32_t(s) : m;
      }
    checkExact(colI, wantCol, isSum ? "i32 sum axis 0" : "i32 max axis 0");
    checkExact(partI, wantPart, isSum ? "i32 sum axis 1" : "i32 max axis 1");
  }
}

TEST_CASE("1-D reduction to a scalar; max propagates NaN") {
  KernelBuilder kb("scalar_reduce");
  Value px = kb.pointerArg("x", DType::f32), po = kb.pointerArg("out", DType::f32);
  Value v = load(px + kb.arange(0, 128));
  kb.store(po, sum(v, 0));
  kb.store(po + 1, max(v, 0));
  KernelProgram p = kb.finish();
  auto x = randomFloats<float>(128, 230);
  std::vector<float> out(2);
  float s = 0, m = -INFINITY;
  for (float f : x) {
    s += f;
    m = std::max(m, f);
  }
  interpret(p, {}, {KernelArg::buffer(x), KernelArg::buffer(out)});
  checkExact(out, std::vector<float>{s, m}, "sum / max to scalar");
  x[77] = NAN;
  interpret(p, {}, {KernelArg::buffer(x), KernelArg::buffer(out)});
  CHECK(std::isnan(out[0]));
  CHECK(std::isnan(out[1]));
}

namespace {

// C[M, N] = A[M, K] @ B[K, N] (B given transposed as Bt[N, K] when `transB`), tiles BMxBN,
// looping over K in steps of BK with the accumulator carried by forLoop.
template <class In, class Acc>
std::vector<Acc> runGemm(int M, int N, int K, const std::vector<In>& a, const std::vector<In>& b, bool transB) {
  const int BM = 32, BN = 16, BK = 32;
  KernelBuilder kb("gemm");
  DType ti = DTypeOf<In>::value, ta = DTypeOf<Acc>::value;
  Value pa = kb.pointerArg("a", ti), pb = kb.pointerArg("b", ti), pc = kb.pointerArg("c", ta);
  Value m = kb.scalarArg("M", DType::i32), n = kb.scalarArg("N", DType::i32), k = kb.scalarArg("K", DType::i32);
  Value rm = expandDims(kb.programId(0) * BM + kb.arange(0, BM), 1);  // [BM, 1]
  Value rn = expandDims(kb.programId(1) * BN + kb.arange(0, BN), 0);  // [1, BN]
  Value rkRow = expandDims(kb.arange(0, BK), 0), rkCol = expandDims(kb.arange(0, BK), 1);
  auto out = kb.forLoop(0, k, BK, {kb.zeros({BM, BN}, ta)}, [&](Value k0, const std::vector<Value>& acc) {
    Value ka = k0 + rkRow, kbk = k0 + rkCol;
    Value at = load(pa + (rm * k + ka), (rm < m) & (ka < k), 0.0);  // [BM, BK]
    Value bt;
    if (transB) {
      Value rnCol = trans(rn);                                        // [BN, 1]
      bt = trans(load(pb + (rnCol * k + ka), (rnCol < n) & (ka < k), 0.0));  // [BN, BK] -> [BK, BN]
    } else {
      bt = load(pb + (kbk * n + rn), (kbk < k) & (rn < n), 0.0);     // [BK, BN]
    }
    return std::vector<Value>{dot(at, bt, acc[0])};
  });
  kb.store(pc + (rm * n + rn), out[0], (rm < m) & (rn < n));
  std::vector<In> as = a, bs = b;
  std::vector<Acc> c(size_t(M) * N);
  interpret(kb.finish(), {(M + BM - 1) / BM, (N + BN - 1) / BN, 1},
            {KernelArg::buffer(as), KernelArg::buffer(bs), KernelArg::buffer(c), KernelArg::i32(M), KernelArg::i32(N),
             KernelArg::i32(K)});
  return c;
}

}  // namespace

TEST_CASE("dot bf16 -> f32 and i8 -> i32 inside a K loop, with tails and a 2-D grid") {
  const int M = 50, N = 40, K = 100;
  for (bool transB : {false, true}) {
    auto a = randomFloats<bf16>(size_t(M) * K, 240, false, 4), b = randomFloats<bf16>(size_t(K) * N, 241, false, 4);
    std::vector<float> want(size_t(M) * N);
    for (int i = 0; i < M; ++i)
      for (int j = 0; j < N; ++j) {
        float s = 0;  // f32 accumulation in k order (each bf16 product is exact in f32)
        for (int k = 0; k < K; ++k)
          s += value(a[i * K + k]) * value(transB ? b[j * K + k] : b[k * N + j]);
        want[i * N + j] = s;
      }
    checkExact(runGemm<bf16, float>(M, N, K, a, b, transB), want, transB ? "bf16 dot, B transposed" : "bf16 dot");
  }
  auto a8 = randomInts<int8_t>(size_t(M) * K, 242), b8 = randomInts<int8_t>(size_t(K) * N, 243);
  std::vector<int32_t> want8(size_t(M) * N);
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      int32_t s = 0;
      for (int k = 0; k < K; ++k) s += int32_t(a8[i * K + k]) * int32_t(b8[k * N + j]);
      want8[i * N + j] = s;
    }
  checkExact(runGemm<int8_t, int32_t>(M, N, K, a8, b8, false), want8, "i8 dot");
  auto h = randomFloats<fp16>(size_t(M) * K, 244, false, 4), hb = randomFloats<fp16>(size_t(K) * N, 245, false, 4);
  std::vector<float> wantH(size_t(M) * N);
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < N; ++j) {
      float s = 0;
      for (int k = 0; k < K; ++k) s += value(h[i * K + k]) * value(hb[k * N + j]);
      wantH[i * N + j] = s;
    }
  checkExact(runGemm<fp16, float>(M, N, K, h, hb, false), wantH, "f16 dot");
}

TEST_CASE("forLoop carries several values; step > 1, nonzero start, zero trips") {
  // out[0] = sum of x[lo], x[lo+step], ...; out[1] = trip count; out[2] = last i (or -1).
  KernelBuilder kb("loop");
  Value px = kb.pointerArg("x", DType::f32), po = kb.pointerArg("out", DType::f32);
  Value lo = kb.scalarArg("lo", DType::i32), hi = kb.scalarArg("hi", DType::i32);
  Value step = kb.scalarArg("step", DType::i32);
  auto res = kb.forLoop(lo, hi, step, {kb.constant(0, DType::f32), kb.constant(0, DType::i32), kb.constant(-1, DType::i32)},
                        [&](Value i, const std::vector<Value>& c) {
                          return std::vector<Value>{c[0] + load(px + i), c[1] + 1, i};
                        });
  kb.store(po, res[0]);
  kb.store(po + 1, cast(res[1], DType::f32));
  kb.store(po + 2, cast(res[2], DType::f32));
  KernelProgram p = kb.finish();
  auto x = randomFloats<float>(100, 250);
  for (auto [l, h, s] : {std::tuple{0, 100, 1}, {3, 97, 7}, {50, 50, 1}, {60, 10, 2}, {-5, 0, 5}}) {
    if (l < 0) continue;
    std::vector<float> out(3), want(3);
    float sum = 0;
    int trips = 0, last = -1;
    for (int i = l; i < h; i += s) {
      sum += x[i];
      ++trips;
      last = i;
    }
    want = {sum, float(trips), float(last)};
    interpret(p, {}, {KernelArg::buffer(x), KernelArg::buffer(out), KernelArg::i32(l), KernelArg::i32(h), KernelArg::i32(s)});
    checkExact(out, want, "loop " + std::to_string(l) + ".." + std::to_string(h) + " step " + std::to_string(s));
  }
  std::vector<float> out(3);
  CHECK_THROWS_WITH_AS(interpret(p, {}, {KernelArg::buffer(x), KernelArg::buffer(out), KernelArg::i32(0),
                                         KernelArg::i32(10), KernelArg::i32(0)}),
                       doctest::Contains("scf.for: step 0 must be positive"), Error);
}

TEST_CASE("forLoop swapping carried values (yield permutes iter args)") {
  KernelBuilder kb("swap");
  Value po = kb.pointerArg("out", DType::i32);
  Value n = kb.scalarArg("n", DType::i32);
  auto res = kb.forLoop(0, n, 1, {kb.constant(1, DType::i32), kb.constant(2, DType::i32)},
                        [&](Value, const std::vector<Value>& c) { return std::vector<Value>{c[1], c[0]}; });
  kb.store(po, res[0]);
  kb.store(po + 1, res[1]);
  KernelProgram p = kb.finish();
  for (int trips : {0, 1, 2, 5}) {
    std::vector<int32_t> out(2);
    interpret(p, {}, {KernelArg::buffer(out), KernelArg::i32(trips)});
    checkExact(out, trips % 2 ? std::vector<int32_t>{2, 1} : std::vector<int32_t>{1, 2}, "swap");
  }
}

TEST_CASE("atomicAdd from several programs, lanes colliding, with a mask") {
  const int n = 1000, block = 128, bins = 7;
  KernelBuilder kb("histogram");
  Value px = kb.pointerArg("x", DType::f32), pf = kb.pointerArg("fsum", DType::f32);
  Value pi = kb.pointerArg("count", DType::i32), pp = kb.pointerArg("programs", DType::u32);
  Value nn = kb.scalarArg("n", DType::i32);
  Value offs = kb.programId(0) * block + kb.arange(0, block);
  Value mask = offs < nn;
  kb.atomicAdd(pf + offs % bins, load(px + offs, mask, 0.0), mask);
  kb.atomicAdd(pi + offs % bins, kb.full({block}, 1, DType::i32), mask);
  kb.atomicAdd(pp, kb.constant(1, DType::u32));  // scalar atomic: one per program
  auto x = randomFloats<float>(n, 260);
  std::vector<float> fsum(bins, 0.5f), wantF(bins, 0.5f);
  std::vector<int32_t> count(bins, 0), wantC(bins, 0);
  std::vector<uint32_t> programs(1, 10);
  for (int i = 0; i < n; ++i) {  // program order, then lane order
    wantF[i % bins] += x[i];
    wantC[i % bins] += 1;
  }
  interpret(kb.finish(), grid1(n, block),
            {KernelArg::buffer(x), KernelArg::buffer(fsum), KernelArg::buffer(count), KernelArg::buffer(programs),
             KernelArg::i32(n)});
  checkExact(fsum, wantF, "f32 atomic sums");
  checkExact(count, wantC, "i32 atomic counts");
  CHECK(programs[0] == 10u + 8u);
}

TEST_CASE("load with mask and `other` tile; store with mask leaves other lanes alone") {
  const int n = 300, block = 64, programs = 5;  // 320 lanes, 20 masked
  KernelBuilder kb("masked");
  Value px = kb.pointerArg("x", DType::bf16), pa = kb.pointerArg("all", DType::bf16);
  Value pe = kb.pointerArg("even", DType::bf16);
  Value nn = kb.scalarArg("n", DType::i32);
  Value offs = kb.programId(0) * block + kb.arange(0, block);
  Value mask = offs < nn;
  Value other = cast(cast(offs, DType::f32) * -0.5, DType::bf16);  // a tile, not a constant
  Value v = load(px + offs, mask, other);
  kb.store(pa + offs, v);                                   // every lane, buffer has 320
  kb.store(pe + offs, v, mask & ((offs % 2) == 0));         // even in-range lanes only
  auto x = randomFloats<bf16>(n, 270);
  std::vector<bf16> all(programs * block), even(n, fromFloat<bf16>(42.0f));
  std::vector<bf16> wantAll(programs * block), wantEven = even;
  for (int i = 0; i < programs * block; ++i) wantAll[i] = i < n ? x[i] : fromFloat<bf16>(roundBf16(i * -0.5));
  for (int i = 0; i < n; i += 2) wantEven[i] = x[i];
  interpret(kb.finish(), {programs, 1, 1},
            {KernelArg::buffer(x), KernelArg::buffer(all), KernelArg::buffer(even), KernelArg::i32(n)});
  checkExact(all, wantAll, "load other");
  checkExact(even, wantEven, "masked store");
}

TEST_CASE("program ids and counts on a 3-D grid, visited z, y, x") {
  KernelBuilder kb("grid3");
  Value po = kb.pointerArg("out", DType::i32), pc = kb.pointerArg("order", DType::i32);
  Value x = kb.programId(0), y = kb.programId(1), z = kb.programId(2);
  Value nx = kb.numPrograms(0), ny = kb.numPrograms(1), nz = kb.numPrograms(2);
  Value linear = (z * ny + y) * nx + x;
  kb.store(po + linear * 3, x * 100 + nx);
  kb.store(po + linear * 3 + 1, y * 100 + ny);
  kb.store(po + linear * 3 + 2, z * 100 + nz);
  // order[linear] = how many programs ran before this one (atomic counter at order[total]).
  Value total = nx * ny * nz;
  Value counter = load(pc + total);
  kb.store(pc + linear, counter);
  kb.store(pc + total, counter + 1);
  Grid g{3, 2, 4};
  const int total_ = 24;
  std::vector<int32_t> out(total_ * 3), order(total_ + 1, 0), want(total_ * 3), wantOrder(total_ + 1);
  for (int z = 0; z < g.z; ++z)
    for (int y = 0; y < g.y; ++y)
      for (int x = 0; x < g.x; ++x) {
        int l = (z * g.y + y) * g.x + x;
        want[l * 3] = x * 100 + g.x;
        want[l * 3 + 1] = y * 100 + g.y;
        want[l * 3 + 2] = z * 100 + g.z;
        wantOrder[l] = l;
      }
  wantOrder[total_] = total_;
  interpret(kb.finish(), g, {KernelArg::buffer(out), KernelArg::buffer(order)});
  checkExact(out, want, "program ids");
  checkExact(order, wantOrder, "program order");
}
