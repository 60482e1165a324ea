// The bit-width registry: everything the library (and later the GPU kernels) needs to know
// about one quantized bit width. Adding a width is one registerBitWidth() call; see
// docs/ADDING_A_BITWIDTH.md. Built in: 1, 2, 3, 4 (asymmetric grouped) and 8 (symmetric int8).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace uintx {

// How values of a width are quantized.
enum class QuantScheme {
  asymmetric_grouped,     // q in [0, 2^b-1], W ~= (q - zero) * scale, one (scale, zero) per group along K
  symmetric_per_channel,  // q in [-(2^(b-1)-1), 2^(b-1)-1], W ~= q * scale, one scale per output row
};

struct BitWidthSpec {
  int bits = 0;       // 1..16
  std::string name;   // e.g. "uint4", "int8"
  QuantScheme scheme = QuantScheme::asymmetric_grouped;
  int32_t q_min = 0;  // range of the quantized values
  int32_t q_max = 0;
  // Packing rule: the b-bit code stored in the word for a value q, and back. Codes occupy bits
  // [j*b, (j+1)*b) of a word for value j (see bitOffset); bits above the last value are zero.
  std::function<uint32_t(int32_t q)> encode;
  std::function<int32_t(uint32_t code)> decode;
  // Dequantization rule: the float a quantized value stands for (zero is 0 when !hasZeros()).
  std::function<float(int32_t q, float scale, float zero)> dequantize;

  bool hasZeros() const { return scheme == QuantScheme::asymmetric_grouped; }
  bool isSymmetric() const { return scheme == QuantScheme::symmetric_per_channel; }
  // Values per packed word: floor(packing_bitwidth / bits); 0 if the width does not fit.
  int valuesPerWord(int packing_bitwidth) const { return bits > 0 ? packing_bitwidth / bits : 0; }
  // In-word element order: value j (j-th along K within the word) starts at this bit.
  int bitOffset(int j) const { return j * bits; }
  // Bits at the top of a word that hold no value (always zero): e.g. 2 for 3-bit in 32.
  int unusedBits(int packing_bitwidth) const {
    return packing_bitwidth - valuesPerWord(packing_bitwidth) * bits;
  }
};

// The two standard rules; a new width is usually one of these with a different `bits`.
// Both throw uintx::Error for bits outside 1..16.
BitWidthSpec unsignedAsymmetricWidth(int bits);  // "uint<b>": code = q
BitWidthSpec signedSymmetricWidth(int bits);     // "int<b>": code = q in b-bit two's complement

// Adds a width; throws uintx::Error if bits is outside 1..16, a rule is missing, or the
// width is already registered.
void registerBitWidth(BitWidthSpec spec);
bool isBitWidthRegistered(int bits);
// Throws uintx::Error naming the width and the registered ones if it is unknown.
const BitWidthSpec& bitWidthSpec(int bits);
std::vector<int> registeredBitWidths();  // ascending

}  // namespace uintx
