#include "autotune/model_zoo.h"

#include <set>
#include <sstream>
#include <utility>

#include "uintx/error.h"

namespace uintx::autotune {
namespace {

struct EmbeddedFile {
  const char* name;
  const char* text;
};
const EmbeddedFile kEmbedded[] = {
#include "autotune/model_zoo_csv.inc"
};
const char* const kBuiltInZoo = kEmbedded[0].text;

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::string part;
  std::istringstream in(text);
  while (std::getline(in, part, separator)) parts.push_back(part);
  if (!text.empty() && text.back() == separator) parts.emplace_back();
  return parts;
}

int64_t parseDimension(const std::string& text, int line) {
  int64_t value = 0;
  if (text.empty() || text.size() > 9) throw Error("model zoo line " + std::to_string(line) + ": bad dimension '" + text + "'");
  for (char c : text) {
    if (c < '0' || c > '9') throw Error("model zoo line " + std::to_string(line) + ": bad dimension '" + text + "'");
    value = value * 10 + (c - '0');
  }
  if (value < 1) throw Error("model zoo line " + std::to_string(line) + ": dimension must be positive");
  return value;
}

}  // namespace

std::vector<ZooLayer> parseModelZoo(const std::string& csv) {
  std::vector<ZooLayer> layers;
  std::istringstream in(csv);
  std::string text;
  bool sawHeader = false;
  for (int line = 1; std::getline(in, text); ++line) {
    if (text.empty() || text[0] == '#') continue;
    if (!sawHeader) {
      if (text != "family,model,layer,kind,N,K")
        throw Error("model zoo line " + std::to_string(line) + ": expected the header family,model,layer,kind,N,K");
      sawHeader = true;
      continue;
    }
    std::vector<std::string> f = split(text, ',');
    if (f.size() != 6) throw Error("model zoo line " + std::to_string(line) + ": expected 6 fields");
    for (int i = 0; i < 4; ++i)
      if (f[i].empty()) throw Error("model zoo line " + std::to_string(line) + ": empty field");
    layers.push_back({f[0], f[1], f[2], f[3], parseDimension(f[4], line), parseDimension(f[5], line)});
  }
  if (!sawHeader) throw Error("model zoo: no header line");
  return layers;
}

const std::vector<ZooLayer>& modelZoo() {
  static const std::vector<ZooLayer> zoo = parseModelZoo(kBuiltInZoo);
  return zoo;
}

std::vector<ZooLayer> selectZooLayers(const std::vector<ZooLayer>& zoo, const std::string& names) {
  if (names.empty()) return zoo;
  std::vector<ZooLayer> selected;
  std::set<size_t> taken;
  for (const std::string& name : split(names, ',')) {
    bool matched = false;
    for (size_t i = 0; i < zoo.size(); ++i) {
      const ZooLayer& l = zoo[i];
      if (name != l.family && name != l.model && name != l.kind && name != l.name()) continue;
      matched = true;
      if (taken.insert(i).second) selected.push_back(l);
    }
    if (!matched) throw Error("model zoo: '" + name + "' names no family, model, kind or layer");
  }
  return selected;
}

std::vector<ZooShape> distinctShapes(const std::vector<ZooLayer>& layers) {
  std::vector<ZooShape> shapes;
  for (const ZooLayer& l : layers) {
    bool found = false;
    for (ZooShape& s : shapes)
      if (s.N == l.N && s.K == l.K) {
        s.layers += ";" + l.name();
        found = true;
      }
    if (!found) shapes.push_back({l.N, l.K, l.kind, l.name()});
  }
  return shapes;
}

}  // namespace uintx::autotune
