// Elementwise arithmetic, comparisons, where, casts, bitcasts and shifts against plain C++,
// on random inputs with a masked tail over several programs.
#include <functional>
#include <type_traits>

#include "tests/interpreter/test_util.h"
#include "uintx/error.h"

using namespace uintx;
using namespace uintx::dsl;
using namespace uintx::interp_test;

namespace {

constexpr int kN = 1000, kBlock = 128;  // 8 programs, the last one partly masked

using Fn = std::function<Value(Value, Value)>;

// out[i] = f(x[i], y[i]) for i < n. Masked-off lanes of y load `yOther` (nonzero: integer
// division runs on every lane and must not divide by zero).
template <class In, class Out>
std::vector<Out> runBinary(const Fn& f, std::vector<In> x, std::vector<In> y, double yOther = 1) {
  KernelBuilder kb("binary");
  Value px = kb.pointerArg("x", DTypeOf<In>::value), py = kb.pointerArg("y", DTypeOf<In>::value);
  Value po = kb.pointerArg("out", DTypeOf<Out>::value);
  Value n = kb.scalarArg("n", DType::i32);
  Value offs = kb.programId(0) * kBlock + kb.arange(0, kBlock);
  Value mask = offs < n;
  Value a = load(px + offs, mask, 0.0), b = load(py + offs, mask, yOther);
  kb.store(po + offs, f(a, b), mask);
  KernelProgram p = kb.finish();
  std::vector<Out> out(x.size());
  interpret(p, grid1(int(x.size()), kBlock),
            {KernelArg::buffer(x), KernelArg::buffer(y), KernelArg::buffer(out), KernelArg::i32(int(x.size()))});
  return out;
}

template <class In, class Out>
std::vector<Out> runUnary(const std::function<Value(Value)>& f, std::vector<In> x) {
  std::vector<In> y(x.size());
  return runBinary<In, Out>([&](Value a, Value) { return f(a); }, x, y);
}

// out = f(x, s) with s a kernel scalar parameter (scalar operands splat).
template <class T>
std::vector<T> runWithScalar(const Fn& f, std::vector<T> x, KernelArg s) {
  KernelBuilder kb("with_scalar");
  Value px = kb.pointerArg("x", DTypeOf<T>::value), po = kb.pointerArg("out", DTypeOf<T>::value);
  Value sv = kb.scalarArg("s", DTypeOf<T>::value);
  Value n = kb.scalarArg("n", DType::i32);
  Value offs = kb.programId(0) * kBlock + kb.arange(0, kBlock);
  Value mask = offs < n;
  kb.store(po + offs, f(load(px + offs, mask, 0.0), sv), mask);
  std::vector<T> out(x.size());
  interpret(kb.finish(), grid1(int(x.size()), kBlock),
            {KernelArg::buffer(x), KernelArg::buffer(out), s, KernelArg::i32(int(x.size()))});
  return out;
}

template <class In, class Out, class Ref>
std::vector<Out> reference(const std::vector<In>& x, const std::vector<In>& y, Ref ref) {
  std::vector<Out> want(x.size());
  for (size_t i = 0; i < x.size(); ++i) want[i] = ref(x[i], y[i]);
  return want;
}

float refMaximum(float a, float b) {
  if (std::isnan(a) || std::isnan(b)) return NAN;
  if (a == 0 && b == 0) return (std::signbit(a) && std::signbit(b)) ? -0.0f : 0.0f;
  return a > b ? a : b;
}
float refMinimum(float a, float b) {
  if (std::isnan(a) || std::isnan(b)) return NAN;
  if (a == 0 && b == 0) return (std::signbit(a) || std::signbit(b)) ? -0.0f : 0.0f;
  return a < b ? a : b;
}

template <class T>
void checkFloatOps(uint32_t seed) {
  auto x = randomFloats<T>(kN, seed, true), y = randomFloats<T>(kN, seed + 100, true);
  for (int i = 0; i < 8; ++i) {  // signed-zero pairs for maximum/minimum
    x[i] = fromFloat<T>(i % 2 ? -0.0f : 0.0f);
    y[i] = fromFloat<T>(i % 4 < 2 ? -0.0f : 0.0f);
  }
  auto check = [&](const char* name, const Fn& f, float (*op)(float, float)) {
    auto want = reference<T, T>(x, y, [&](T a, T b) { return fromFloat<T>(roundTo<T>(op(value(a), value(b)))); });
    checkExact(runBinary<T, T>(f, x, y), want, std::string(name) + " " + dtypeName(DTypeOf<T>::value));
  };
  check("+", [](Value a, Value b) { return a + b; }, [](float a, float b) { return a + b; });
  check("-", [](Value a, Value b) { return a - b; }, [](float a, float b) { return a - b; });
  check("*", [](Value a, Value b) { return a * b; }, [](float a, float b) { return a * b; });
  check("/", [](Value a, Value b) { return a / b; }, [](float a, float b) { return a / b; });
  check("maximum", [](Value a, Value b) { return maximum(a, b); }, refMaximum);
  check("minimum", [](Value a, Value b) { return minimum(a, b); }, refMinimum);
  check("unary -", [](Value a, Value) { return -a; }, [](float a, float) { return 0.0f - a; });
  check("a * 3 + 0.5", [](Value a, Value) { return a * 3.0 + 0.5; },
        [](float a, float) { return value(fromFloat<T>(roundTo<T>(a * 3.0f))) + 0.5f; });
}

}  // namespace

TEST_CASE("float arithmetic: f32 in float, bf16/f16 rounded after every op") {
  checkFloatOps<float>(10);
  checkFloatOps<bf16>(20);
  checkFloatOps<fp16>(30);
}

TEST_CASE("f32 op with a scalar parameter") {
  auto x = randomFloats<float>(kN, 40);
  const float s = 2.71828f;
  auto want = x;
  for (auto& v : want) v = v * s - s;
  checkExact(runWithScalar<float>([](Value a, Value b) { return a * b - b; }, x, KernelArg::f32(s)), want,
             "x * s - s");
}

namespace {

// Reference integer semantics: wrap, truncating division, shifts read as unsigned amounts
// clamped at the bit width.
template <class T>
void checkIntOps(uint32_t seed) {
  constexpr int bits = sizeof(T) * 8;
  using U = std::make_unsigned_t<T>;
  const std::string ty = dtypeName(DTypeOf<T>::value);
  auto x = randomInts<T>(kN, seed), y = randomInts<T>(kN, seed + 1);
  auto yNonzero = y;
  for (auto& v : yNonzero) if (v == 0) v = 3;
  auto check = [&](const std::string& name, const Fn& f, auto ref, const std::vector<T>& yy) {
    auto want = reference<T, T>(x, yy, ref);
    checkExact(runBinary<T, T>(f, x, yy), want, name + " " + ty);
  };
  auto wide = [](T v) { return int64_t(v); };
  check("+", [](Value a, Value b) { return a + b; }, [&](T a, T b) { return T(wide(a) + wide(b)); }, y);
  check("-", [](Value a, Value b) { return a - b; }, [&](T a, T b) { return T(wide(a) - wide(b)); }, y);
  check("*", [](Value a, Value b) { return a * b; },
        [&](T a, T b) { return T(uint64_t(wide(a)) * uint64_t(wide(b))); }, y);
  check("/", [](Value a, Value b) { return a / b; }, [&](T a, T b) { return T(wide(a) / wide(b)); }, yNonzero);
  check("%", [](Value a, Value b) { return a % b; }, [&](T a, T b) { return T(wide(a) % wide(b)); }, yNonzero);
  check("&", [](Value a, Value b) { return a & b; }, [](T a, T b) { return T(a & b); }, y);
  check("|", [](Value a, Value b) { return a | b; }, [](T a, T b) { return T(a | b); }, y);
  check("^", [](Value a, Value b) { return a ^ b; }, [](T a, T b) { return T(a ^ b); }, y);
  check("maximum", [](Value a, Value b) { return maximum(a, b); }, [](T a, T b) { return std::max(a, b); }, y);
  check("minimum", [](Value a, Value b) { return minimum(a, b); }, [](T a, T b) { return std::min(a, b); }, y);
  check("unary -", [](Value a, Value) { return -a; }, [&](T a, T) { return T(-wide(a)); }, y);
  // Shift amounts in [-4, 40]: in range, at and past the width, and "negative" (huge unsigned).
  std::vector<T> s(kN);
  std::mt19937 rng(seed + 2);
  for (auto& v : s) v = T(int(rng() % 45) - 4);
  check("<<", [](Value a, Value b) { return a << b; },
        [&](T a, T b) { return U(b) >= bits ? T(0) : T(uint64_t(U(a)) << U(b)); }, s);
  check(">>", [](Value a, Value b) { return a >> b; },
        [&](T a, T b) {
          if constexpr (std::is_signed_v<T>) return U(b) >= bits ? T(a < 0 ? -1 : 0) : T(a >> U(b));
          else return U(b) >= bits ? T(0) : T(a >> b);
        },
        s);
  check("x * 5 + 3", [](Value a, Value) { return a * 5 + 3; },
        [&](T a, T) { return T(uint64_t(wide(a)) * 5 + 3); }, y);
}

}  // namespace

TEST_CASE("integer arithmetic wraps; signed and unsigned division, shifts, min/max") {
  checkIntOps<int32_t>(50);
  checkIntOps<uint32_t>(60);
  checkIntOps<int8_t>(70);
  checkIntOps<uint8_t>(80);
}

TEST_CASE("u32 op with a scalar parameter") {
  auto x = randomInts<uint32_t>(kN, 90);
  const uint32_t s = 0x80000003u;
  auto want = x;
  for (auto& v : want) v = v / s + (v >> 3);
  checkExact(runWithScalar<uint32_t>([](Value a, Value b) { return a / b + (a >> 3); }, x, KernelArg::u32(s)),
             want, "x / s + (x >> 3)");
}

namespace {

// Comparisons give i1; stored as i32 via cast (extui: true -> 1).
template <class T>
void checkComparisons(const std::vector<T>& x, const std::vector<T>& y) {
  const std::string ty = dtypeName(DTypeOf<T>::value);
  auto check = [&](const std::string& name, const Fn& f, auto ref) {
    auto want = reference<T, int32_t>(x, y, [&](T a, T b) { return int32_t(ref(a, b)); });
    checkExact(runBinary<T, int32_t>([&](Value a, Value b) { return cast(f(a, b), DType::i32); }, x, y), want,
               name + " " + ty);
  };
  auto v = [](T a) {
    if constexpr (std::is_integral_v<T>) return a;
    else return value(a);
  };
  check("<", [](Value a, Value b) { return a < b; }, [&](T a, T b) { return v(a) < v(b); });
  check("<=", [](Value a, Value b) { return a <= b; }, [&](T a, T b) { return v(a) <= v(b); });
  check(">", [](Value a, Value b) { return a > b; }, [&](T a, T b) { return v(a) > v(b); });
  check(">=", [](Value a, Value b) { return a >= b; }, [&](T a, T b) { return v(a) >= v(b); });
  check("==", [](Value a, Value b) { return a == b; }, [&](T a, T b) { return v(a) == v(b); });
  check("!=", [](Value a, Value b) { return a != b; }, [&](T a, T b) { return v(a) != v(b); });
}

template <class T>
std::vector<T> withRepeats(std::vector<T> y, const std::vector<T>& x) {
  for (size_t i = 0; i < y.size(); i += 5) y[i] = x[i];  // make == true sometimes
  return y;
}

}  // namespace

TEST_CASE("comparisons: ordered floats (NaN), signed vs unsigned integers") {
  auto fx = randomFloats<float>(kN, 100, true);
  checkComparisons<float>(fx, withRepeats(randomFloats<float>(kN, 101, true), fx));
  auto bx = randomFloats<bf16>(kN, 102, true);
  checkComparisons<bf16>(bx, withRepeats(randomFloats<bf16>(kN, 103, true), bx));
  auto ix = randomInts<int32_t>(kN, 104);
  checkComparisons<int32_t>(ix, withRepeats(randomInts<int32_t>(kN, 105), ix));
  auto ux = randomInts<uint32_t>(kN, 106);
  checkComparisons<uint32_t>(ux, withRepeats(randomInts<uint32_t>(kN, 107), ux));
  auto i8x = randomInts<int8_t>(kN, 108);
  checkComparisons<int8_t>(i8x, withRepeats(randomInts<int8_t>(kN, 109), i8x));
  auto u8x = randomInts<uint8_t>(kN, 110);
  checkComparisons<uint8_t>(u8x, withRepeats(randomInts<uint8_t>(kN, 111), u8x));
}

TEST_CASE("where with tiles, scalars and boolean ops") {
  auto x = randomFloats<float>(kN, 120), y = randomFloats<float>(kN, 121);
  auto want = reference<float, float>(x, y, [](float a, float b) { return a > b ? a : b * 2.0f; });
  checkExact(runBinary<float, float>([](Value a, Value b) { return where(a > b, a, b * 2.0); }, x, y), want,
             "where(a > b, a, 2b)");
  want = reference<float, float>(x, y, [](float a, float b) { return (a > 0) & (b < 0) ? a : -3.5f; });
  checkExact(runBinary<float, float>([](Value a, Value b) { return where((a > 0.0) & (b < 0.0), a, -3.5); }, x, y),
             want, "where((a > 0) & (b < 0), a, -3.5)");
  want = reference<float, float>(x, y, [](float a, float b) { return ((a > 0) | (b > 0)) ^ (a > b) ? 1.0f : 0.0f; });
  checkExact(runBinary<float, float>(
                 [](Value a, Value b) { return cast(((a > 0.0) | (b > 0.0)) ^ (a > b), DType::f32); }, x, y),
             want, "cast(bool ops)");
  auto ix = randomInts<int32_t>(kN, 122), iy = randomInts<int32_t>(kN, 123);
  auto iwant = reference<int32_t, int32_t>(ix, iy, [](int32_t a, int32_t b) { return a < b ? b : 7; });
  checkExact(runBinary<int32_t, int32_t>([](Value a, Value b) { return where(a < b, b, 7.0); }, ix, iy), iwant,
             "where int");
}

namespace {

template <class T>
T refFloatToInt(float v) {
  if (std::isnan(v)) return 0;
  double t = std::trunc(double(v));
  t = std::min(std::max(t, double(std::numeric_limits<T>::min())), double(std::numeric_limits<T>::max()));
  return T(t);
}

template <class In, class Out, class Ref>
void checkCast(const std::vector<In>& x, Ref ref) {
  std::vector<Out> want(x.size());
  for (size_t i = 0; i < x.size(); ++i) want[i] = ref(x[i]);
  checkExact(runUnary<In, Out>([](Value a) { return cast(a, DTypeOf<Out>::value); }, x), want,
             std::string("cast ") + dtypeName(DTypeOf<In>::value) + " -> " + dtypeName(DTypeOf<Out>::value));
}

// Random floats over a wide exponent range, with ties for RNE and specials.
std::vector<float> castInputs(uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<float> v(kN);
  const float special[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 65504.0f, 65520.0f, 1e-8f, 3e9f, -3e9f, 255.9f, -128.5f};
  for (auto& f : v) {
    uint32_t bits = rng();
    if (rng() % 2) bits = (bits & 0x807FFFFF) | ((100u + rng() % 60) << 23);  // moderate exponents
    if (rng() % 4 == 0) bits &= 0xFFFF8000u | 0x00008000u;                    // exact ties for bf16
    f = bitsToFloat(bits);
    if (rng() % 10 == 0) f = special[rng() % 12];
  }
  return v;
}

}  // namespace

TEST_CASE("float casts round to nearest even; float -> int saturates, NaN -> 0") {
  auto f = castInputs(130);
  checkCast<float, bf16>(f, [](float v) { return fromFloat<bf16>(roundBf16(v)); });
  checkCast<float, fp16>(f, [](float v) { return fromFloat<fp16>(roundF16(v)); });
  checkCast<float, int32_t>(f, refFloatToInt<int32_t>);
  checkCast<float, uint32_t>(f, refFloatToInt<uint32_t>);
  checkCast<float, int8_t>(f, refFloatToInt<int8_t>);
  checkCast<float, uint8_t>(f, refFloatToInt<uint8_t>);
  std::vector<bf16> b(f.size());
  std::vector<fp16> h(f.size());
  for (size_t i = 0; i < f.size(); ++i) {
    b[i] = fromFloat<bf16>(roundBf16(f[i]));
    h[i] = fromFloat<fp16>(roundF16(f[i]));
  }
  checkCast<bf16, float>(b, [](bf16 v) { return value(v); });
  checkCast<fp16, float>(h, [](fp16 v) { return value(v); });
  checkCast<bf16, fp16>(b, [](bf16 v) { return fromFloat<fp16>(roundF16(value(v))); });
  checkCast<fp16, bf16>(h, [](fp16 v) { return fromFloat<bf16>(roundBf16(value(v))); });
  checkCast<bf16, int32_t>(b, [](bf16 v) { return refFloatToInt<int32_t>(value(v)); });
  checkCast<fp16, uint8_t>(h, [](fp16 v) { return refFloatToInt<uint8_t>(value(v)); });
}

TEST_CASE("int -> float rounds once (no double rounding through f32)") {
  auto i = randomInts<int32_t>(kN, 140);
  auto u = randomInts<uint32_t>(kN, 141);
  // Values whose bf16 rounding would differ if rounded through f32 first.
  // Exactly above a bf16 tie: f32 rounds down onto the tie, then RNE goes down to even,
  // while one correct rounding goes up.
  i[0] = 0x01010001;
  i[1] = -0x01010001;
  u[0] = 0x80800001u;
  checkCast<int32_t, float>(i, [](int32_t v) { return float(roundRne(double(v), 23, -126, 3.4e38)); });
  checkCast<uint32_t, float>(u, [](uint32_t v) { return float(roundRne(double(v), 23, -126, 3.4e38)); });
  checkCast<int32_t, bf16>(i, [](int32_t v) { return fromFloat<bf16>(roundBf16(double(v))); });
  checkCast<uint32_t, bf16>(u, [](uint32_t v) { return fromFloat<bf16>(roundBf16(double(v))); });
  checkCast<int32_t, fp16>(i, [](int32_t v) { return fromFloat<fp16>(roundF16(double(v))); });
  checkCast<uint32_t, fp16>(u, [](uint32_t v) { return fromFloat<fp16>(roundF16(double(v))); });
  auto i8 = randomInts<int8_t>(kN, 142);
  auto u8 = randomInts<uint8_t>(kN, 143);
  checkCast<int8_t, float>(i8, [](int8_t v) { return float(v); });
  checkCast<uint8_t, float>(u8, [](uint8_t v) { return float(v); });
  checkCast<uint8_t, bf16>(u8, [](uint8_t v) { return fromFloat<bf16>(roundBf16(v)); });
}

TEST_CASE("integer casts: sign/zero extension, truncation, same-width reinterpretation") {
  auto i = randomInts<int32_t>(kN, 150);
  auto u = randomInts<uint32_t>(kN, 151);
  auto i8 = randomInts<int8_t>(kN, 152);
  auto u8 = randomInts<uint8_t>(kN, 153);
  checkCast<int32_t, int8_t>(i, [](int32_t v) { return int8_t(uint8_t(uint32_t(v) & 0xFF)); });
  checkCast<int32_t, uint8_t>(i, [](int32_t v) { return uint8_t(uint32_t(v) & 0xFF); });
  checkCast<uint32_t, uint8_t>(u, [](uint32_t v) { return uint8_t(v & 0xFF); });
  checkCast<int8_t, int32_t>(i8, [](int8_t v) { return int32_t(v); });
  checkCast<int8_t, uint32_t>(i8, [](int8_t v) { return uint32_t(int32_t(v)); });
  checkCast<uint8_t, int32_t>(u8, [](uint8_t v) { return int32_t(v); });
  checkCast<uint8_t, uint32_t>(u8, [](uint8_t v) { return uint32_t(v); });
  checkCast<int32_t, uint32_t>(i, [](int32_t v) { return uint32_t(v); });
  checkCast<uint8_t, int8_t>(u8, [](uint8_t v) { return int8_t(v); });
}

TEST_CASE("bitcast keeps the bits") {
  auto f = castInputs(160);
  auto u = randomInts<uint32_t>(kN, 161);
  auto i = randomInts<int32_t>(kN, 162);
  auto viaMemcpy = [](auto from, auto to) {
    std::memcpy(&to, &from, sizeof(to));
    return to;
  };
  std::vector<uint32_t> wantU(kN);
  for (int k = 0; k < kN; ++k) wantU[k] = viaMemcpy(f[k], uint32_t());
  checkExact(runUnary<float, uint32_t>([](Value a) { return bitcast(a, DType::u32); }, f), wantU, "f32 -> u32");
  std::vector<float> wantF(kN);
  for (int k = 0; k < kN; ++k) wantF[k] = viaMemcpy(u[k], float());
  auto gotF = runUnary<uint32_t, float>([](Value a) { return bitcast(a, DType::f32); }, u);
  // NaN payloads must survive too: compare bits, not values.
  for (int k = 0; k < kN; ++k) REQUIRE(bitsOf(gotF[k]) == bitsOf(wantF[k]));
  for (int k = 0; k < kN; ++k) wantF[k] = viaMemcpy(i[k], float());
  gotF = runUnary<int32_t, float>([](Value a) { return bitcast(a, DType::f32); }, i);
  for (int k = 0; k < kN; ++k) REQUIRE(bitsOf(gotF[k]) == bitsOf(wantF[k]));
  // bf16 <-> f16, including NaN and subnormal bit patterns.
  std::vector<bf16> b(kN);
  std::mt19937 rng(163);
  for (auto& v : b) v.bits = uint16_t(rng());
  auto gotH = runUnary<bf16, fp16>([](Value a) { return bitcast(a, DType::f16); }, b);
  for (int k = 0; k < kN; ++k) REQUIRE(gotH[k].bits == b[k].bits);
  auto gotB = runUnary<fp16, bf16>([](Value a) { return bitcast(a, DType::bf16); }, gotH);
  for (int k = 0; k < kN; ++k) REQUIRE(gotB[k].bits == b[k].bits);
}

TEST_CASE("integer division by zero throws, naming the op") {
  std::vector<int32_t> x(kN, 5), y(kN, 1);
  y[777] = 0;
  CHECK_THROWS_WITH_AS((runBinary<int32_t, int32_t>([](Value a, Value b) { return a / b; }, x, y)),
                       doctest::Contains("arith.divsi: integer division by zero"), Error);
  std::vector<uint32_t> ux(kN, 5), uy(kN, 1);
  uy[3] = 0;
  CHECK_THROWS_WITH_AS((runBinary<uint32_t, uint32_t>([](Value a, Value b) { return a % b; }, ux, uy)),
                       doctest::Contains("arith.remui: integer division by zero"), Error);
}
