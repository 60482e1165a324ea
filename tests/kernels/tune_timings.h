// The timings uintx-tune logs with $UINTX_TUNE_TIMINGS (lines `"key",index,"config",us`: every
// candidate of each key), for the tests that judge defaults against them.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
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

// How the configs chosen for a file's keys fared against each key's best timed candidate.
struct Judged {
  int keys = 0, within10 = 0;
  int untimed = 0;  // keys whose chosen config was not among the timed candidates (not judged)
  double geomean = 1, worst = 0;
};

// `choose(key text)` gives the config (its toString()) a key would run.
template <class Choose>
Judged judgeChoices(const std::string& path, Choose choose) {
  Judged j;
  double logRatio = 0;
  for (const auto& [keyText, timed] : readTuneTimings(path)) {
    const std::string chosen = choose(keyText);
    double best = INFINITY, chosenUs = NAN;
    for (const TimedCandidate& t : timed) {
      best = std::min(best, t.us);
      if (t.config == chosen) chosenUs = t.us;
    }
    if (!std::isfinite(chosenUs)) {
      ++j.untimed;
      continue;
    }
    ++j.keys;
    j.within10 += chosenUs <= 1.10 * best;
    j.worst = std::max(j.worst, chosenUs / best);
    logRatio += std::log(chosenUs / best);
  }
  if (j.keys) j.geomean = std::exp(logRatio / j.keys);
  MESSAGE(path << ": " << j.within10 << " of " << j.keys << " keys within 10% of the best, geometric mean "
               << j.geomean << ", worst " << j.worst << "; choice not timed on " << j.untimed);
  return j;
}

}  // namespace uintx::testing
