// The timings uintx-tune logs with $UINTX_TUNE_TIMINGS (lines `"key",index,"config",us`: every
// candidate of each key), for the cost-model tests.
#pragma once

#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace uintx::testing {

struct TimedCandidate {
  std::string config;  // the config's toString()
  double us = 0;
};

// Key text -> its candidates in the file's order.
inline std::map<std::string, std::vector<TimedCandidate>> readTuneTimings(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  std::map<std::string, std::vector<TimedCandidate>> out;
  for (std::string line; std::getline(in, line);) {
    const size_t keyEnd = line.find('"', 1), cfgStart = line.find('"', keyEnd + 1), cfgEnd = line.find('"', cfgStart + 1);
    REQUIRE(cfgEnd != std::string::npos);
    out[line.substr(1, keyEnd - 1)].push_back({line.substr(cfgStart + 1, cfgEnd - cfgStart - 1), std::stod(line.substr(cfgEnd + 2))});
  }
  return out;
}

}  // namespace uintx::testing
