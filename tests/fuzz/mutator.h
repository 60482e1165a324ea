// Deterministic structure-blind mutations of seed files, for the parser fuzz tests: each test
// feeds a few thousand mutants of its checked-in seeds (tests/fuzz/seeds/) to one parser, and
// every mutant must either parse or be rejected with uintx::Error (or the parser's miss),
// never crash, hang or throw anything else. Under --config=asan a memory error fails too.
#pragma once
#include <cstdint>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace uintx::fuzz {

inline std::string readSeed(const std::string& name) {
  std::ifstream in("tests/fuzz/seeds/" + name, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class Mutator {
 public:
  explicit Mutator(uint64_t seed) : rng_(seed) {}

  // 1 to 4 edits of `input`; `donor` supplies spliced ranges.
  std::string mutate(const std::string& input, const std::string& donor) {
    std::string s = input;
    const int edits = 1 + int(rng_() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t pos = s.empty() ? 0 : rng_() % (s.size() + 1);
      switch (rng_() % 8) {
        case 0:  // flip one bit
          if (pos < s.size()) s[pos] = char(s[pos] ^ (1 << (rng_() % 8)));
          break;
        case 1:  // overwrite a byte
          if (pos < s.size()) s[pos] = char(rng_());
          break;
        case 2:  // insert random bytes
          for (size_t n = 1 + rng_() % 8; n > 0; --n) s.insert(s.begin() + ptrdiff_t(pos), char(rng_()));
          break;
        case 3:  // delete a range
          s.erase(pos, 1 + rng_() % 16);
          break;
        case 4: {  // duplicate a range in place
          const std::string part = s.substr(pos, 1 + rng_() % 32);
          s.insert(pos, part);
          break;
        }
        case 5: {  // insert a token parsers treat specially
          static const char* tokens[] = {"[", "]", "{", "}", "\"", "\\", ",", ":", "-1", "0", "18446744073709551615",
                                         "9223372036854775808", "4294967297", "1e999", "-0", "null", "true",
                                         "\"\\u0000\"", "\x1b[2J", "\n", " ", "\xff\xfe", "[[[[[[[[[[[[[[[[[[[["};
          s.insert(pos, tokens[rng_() % (sizeof tokens / sizeof *tokens)]);
          break;
        }
        case 6:  // truncate
          s.resize(pos);
          break;
        default: {  // splice a range of the donor
          if (donor.empty()) break;
          const size_t from = rng_() % donor.size();
          s.insert(pos, donor.substr(from, 1 + rng_() % 64));
          break;
        }
      }
    }
    return s;
  }

  uint64_t next() { return rng_(); }

 private:
  std::mt19937_64 rng_;
};

}  // namespace uintx::fuzz
