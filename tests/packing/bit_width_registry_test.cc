// The registry: built-in widths, the queries kernels use, and adding widths at run time
// (one registerBitWidth call each) that then work end to end.
#include <doctest/doctest.h>

#include <atomic>
#include <cmath>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "packing/bit_width_registry.h"
#include "packing/quantize.h"
#include "tests/packing/test_util.h"
#include "uintx/error.h"

using namespace uintx;

TEST_CASE("built-in widths and their kernel-facing properties") {
  CHECK(registeredBitWidths() == std::vector<int>{1, 2, 3, 4, 8});
  const BitWidthSpec& u4 = bitWidthSpec(4);
  CHECK(u4.name == "uint4");
  CHECK(u4.hasZeros());
  CHECK(u4.q_min == 0);
  CHECK(u4.q_max == 15);
  CHECK(u4.valuesPerWord(32) == 8);
  CHECK(u4.valuesPerWord(8) == 2);
  CHECK(u4.bitOffset(5) == 20);
  const BitWidthSpec& u3 = bitWidthSpec(3);
  CHECK(u3.valuesPerWord(32) == 10);
  CHECK(u3.unusedBits(32) == 2);
  CHECK(u3.valuesPerWord(16) == 5);
  CHECK(u3.unusedBits(16) == 1);
  CHECK(u3.valuesPerWord(8) == 2);
  CHECK(u3.unusedBits(8) == 2);
  const BitWidthSpec& i8 = bitWidthSpec(8);
  CHECK(i8.name == "int8");
  CHECK(!i8.hasZeros());
  CHECK(i8.isSymmetric());
  CHECK(i8.q_min == -128);
  CHECK(i8.q_max == 127);
  CHECK(i8.encode(-1) == 0xFFu);
  CHECK(i8.decode(0x81) == -127);
  CHECK(i8.dequantize(-3, 0.5f, 123.0f) == -1.5f);
  CHECK(u4.dequantize(3, 0.5f, 1.5f) == 0.75f);
  for (int b : {1, 2, 3, 4}) CHECK(bitWidthSpec(b).q_max == (1 << b) - 1);
}

TEST_CASE("unknown and duplicate registrations are clear errors") {
  CHECK_THROWS_WITH_AS(bitWidthSpec(7), doctest::Contains("unknown bit width 7: registered widths are 1, 2, 3, 4"), Error);
  CHECK_THROWS_WITH_AS(registerBitWidth(unsignedAsymmetricWidth(4)), doctest::Contains("bit width 4 is already registered"), Error);
  CHECK_THROWS_WITH_AS(registerBitWidth(unsignedAsymmetricWidth(17)), doctest::Contains("bits = 17 is outside the supported range 1..16"), Error);
  // The rule helpers themselves refuse such widths: their masks would shift by 32 or more
  // bits, or by -1 (undefined behaviour), before registration could say no.
  for (int bits : {0, -1, 17, 32, 33, 40}) {
    CAPTURE(bits);
    CHECK_THROWS_WITH_AS(unsignedAsymmetricWidth(bits), doctest::Contains("outside the supported range 1..16"), Error);
    CHECK_THROWS_WITH_AS(signedSymmetricWidth(bits), doctest::Contains("outside the supported range 1..16"), Error);
  }
  CHECK(signedSymmetricWidth(16).q_min == -32768);
  BitWidthSpec noRules;
  noRules.bits = 9;
  CHECK_THROWS_WITH_AS(registerBitWidth(noRules), doctest::Contains("needs encode, decode and dequantize"), Error);
}

TEST_CASE("a width registered at run time works end to end") {
  // One call per width: 5- and 6-bit asymmetric, 4-bit-style packing rules.
  registerBitWidth(unsignedAsymmetricWidth(5));
  registerBitWidth(unsignedAsymmetricWidth(6));
  const int64_t N = 16, K = 480;  // 480 = 6 words of 5-bit values in 32... times 16
  std::vector<float> w = testing::randomNormal(size_t(N * K), 77);
  double previous = testing::sqnrDb(w, quantize(w.data(), N, K, {4, 32, 32, ScalarType::f32}).dequantize());
  for (int bits : {5, 6}) {
    CAPTURE(bits);
    for (int pb : {8, 16, 32}) {
      QuantizedWeight q = quantize(w.data(), N, K, {bits, 32, pb, ScalarType::f32});
      CHECK(q.packedBytes() == size_t(N * ((K + pb / bits - 1) / (pb / bits)) * pb / 8));
      std::vector<uint8_t> bytes = q.toSafetensors();
      CHECK(QuantizedWeight::fromSafetensors(bytes.data(), bytes.size()).dequantize() == q.dequantize());
    }
    double db = testing::sqnrDb(w, quantize(w.data(), N, K, {bits, 32, 32, ScalarType::f32}).dequantize());
    CHECK(db > previous + 4.0);  // about 6 dB per bit
    previous = db;
  }
}

TEST_CASE("a width whose range or codes do not fit its bits is refused at registration") {
  // q range wider than the bits: codes would be masked into other values silently.
  BitWidthSpec wide = unsignedAsymmetricWidth(10);
  wide.q_max = 2047;
  CHECK_THROWS_WITH_AS(registerBitWidth(wide), doctest::Contains("q range [0, 2047] does not fit in 10 bits"), Error);
  // encode producing a code above 2^bits - 1.
  BitWidthSpec shifted = unsignedAsymmetricWidth(11);
  shifted.encode = [](int32_t q) { return uint32_t(q) + 1; };
  shifted.decode = [](uint32_t code) { return int32_t(code) - 1; };  // a true inverse: only the fit fails
  CHECK_THROWS_WITH_AS(registerBitWidth(shifted), doctest::Contains("encode(2047) = 2048 does not fit in 11 bits"), Error);
  // decode that is not encode's inverse.
  BitWidthSpec halved = unsignedAsymmetricWidth(12);
  halved.decode = [](uint32_t code) { return int32_t(code / 2); };
  CHECK_THROWS_WITH_AS(registerBitWidth(halved), doctest::Contains("decode(encode(1)) = 0"), Error);
  // A symmetric range that needs one more bit than declared.
  BitWidthSpec signedWide = signedSymmetricWidth(13);
  signedWide.q_min = -5000, signedWide.q_max = 5000;
  CHECK_THROWS_WITH_AS(registerBitWidth(signedWide), doctest::Contains("does not fit in 13 bits"), Error);
  for (int bits : {10, 11, 12, 13}) CHECK_FALSE(isBitWidthRegistered(bits));
  CHECK_NOTHROW(registerBitWidth(unsignedAsymmetricWidth(16)));
  CHECK(isBitWidthRegistered(16));
}

TEST_CASE("a width's name must be short printable ASCII") {
  // An invalid UTF-8 byte made save() throw nlohmann's type_error (not a uintx::Error) for
  // every weight of the width; control bytes reached terminals through messages.
  for (std::string name : {std::string("uint14\xff"), std::string("\x1b[2Juint14"), std::string(),
                           std::string(1000, 'a'), std::string("uint\n14")}) {
    CAPTURE(name.size());
    BitWidthSpec spec = unsignedAsymmetricWidth(14);
    spec.name = name;
    CHECK_THROWS_WITH_AS(registerBitWidth(spec), doctest::Contains("must be 1 to 64 printable ASCII characters"), Error);
    try {
      registerBitWidth(spec);
    } catch (const Error& e) {
      const std::string message = e.what();
      CHECK(message.find('\x1b') == std::string::npos);  // shown escaped, never as the byte
      CHECK(message.find('\n') == std::string::npos);
      CHECK(message.size() < 400);  // cut, not 1000 bytes long
    }
  }
  CHECK_FALSE(isBitWidthRegistered(14));
}

TEST_CASE("a rule that throws or dequantizes to a non-finite float is refused at registration") {
  // A rule's own exception (a table's .at()) came out of registerBitWidth as it was, naming
  // neither the width nor the value.
  BitWidthSpec throwingEncode = unsignedAsymmetricWidth(15);
  throwingEncode.encode = [](int32_t q) -> uint32_t {
    if (q == 3) throw std::out_of_range("vector::_M_range_check");
    return uint32_t(q);
  };
  CHECK_THROWS_WITH_AS(registerBitWidth(throwingEncode),
                       doctest::Contains("width 15 (uint15): encode(3) threw: vector::_M_range_check"), Error);
  BitWidthSpec throwingDecode = unsignedAsymmetricWidth(15);
  throwingDecode.decode = [](uint32_t code) -> int32_t {
    if (code == 9) throw 42;  // not even a std::exception
    return int32_t(code);
  };
  CHECK_THROWS_WITH_AS(registerBitWidth(throwingDecode), doctest::Contains("decode(9) threw an exception"), Error);
  BitWidthSpec throwingDequantize = unsignedAsymmetricWidth(15);
  throwingDequantize.dequantize = [](int32_t, float, float) -> float { throw std::runtime_error("no table"); };
  CHECK_THROWS_WITH_AS(registerBitWidth(throwingDequantize), doctest::Contains("dequantize(0, 1, 0) threw: no table"),
                       Error);
  // A table with a hole: quantize stores scale 1 and zero 0 for a group of zeros, and such a
  // group's weights would not be finite.
  BitWidthSpec nanTable = unsignedAsymmetricWidth(15);
  nanTable.dequantize = [](int32_t q, float scale, float zero) {
    return q == 7 ? std::nanf("") : (float(q) - zero) * scale;
  };
  CHECK_THROWS_WITH_AS(registerBitWidth(nanTable), doctest::Contains("dequantize(7, 1, 0) = nan: must be a finite float"),
                       Error);
  CHECK_FALSE(isBitWidthRegistered(15));
}

// Registration beside lookups and quantize calls on other threads (the registry's lock; a
// reference from bitWidthSpec stays valid while widths are added), and one width registered
// by two threads at once: exactly one succeeds.
TEST_CASE("registering widths while other threads look widths up and quantize") {
  const int64_t N = 4, K = 128;
  std::vector<float> w = testing::randomNormal(size_t(N * K), 5);
  const BitWidthSpec& u4 = bitWidthSpec(4);
  std::atomic<int> failures{0}, registered{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&] {
      try {
        registerBitWidth(unsignedAsymmetricWidth(7));
        ++registered;
      } catch (const Error&) {  // already registered by the other thread
      }
    });
  threads.emplace_back([&] {
    for (int bits : {9, 10, 11, 12, 13}) {
      BitWidthSpec s = unsignedAsymmetricWidth(bits);
      s.name = "late" + std::to_string(bits);
      registerBitWidth(s);
    }
  });
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        try {
          QuantizedWeight q = quantize(w.data(), N, K, {4, 32, 32, ScalarType::f32});
          if (q.dequantize().size() != size_t(N * K) || registeredBitWidths().empty()) ++failures;
          (void)isBitWidthRegistered(9);
        } catch (...) {
          ++failures;
        }
      }
    });
  for (auto& th : threads) th.join();
  CHECK(failures == 0);
  CHECK(registered == 1);
  CHECK(&bitWidthSpec(4) == &u4);
  for (int bits : {7, 9, 10, 11, 12, 13}) CHECK(isBitWidthRegistered(bits));
  CHECK(bitWidthSpec(12).name == "late12");
}
