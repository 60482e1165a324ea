// Packing q values along K into little-endian words: value j of a word occupies bits
// [j*b, (j+1)*b); a row's last word is padded with code 0; bits above the last value are 0.
#pragma once
#include <cstdint>
#include <vector>

#include "packing/weight_format.h"

namespace uintx {

// q: [N, K] row-major, each within the width's [q_min, q_max] (throws otherwise).
// Returns the packed bytes of [N, wordsPerRow()] words.
std::vector<uint8_t> packValues(const WeightFormat& format, const int32_t* q);
// The inverse: [N, K] q values. `packed` must hold format.packedBytes() bytes.
std::vector<int32_t> unpackValues(const WeightFormat& format, const uint8_t* packed);

}  // namespace uintx
