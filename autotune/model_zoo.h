// The model-shape zoo: the linear layers of public model families (bench/model_zoo.csv, built
// into the binary), for the benchmark and for `uintx-tune --zoo`.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace uintx::autotune {

struct ZooLayer {
  std::string family, model, layer, kind;
  int64_t N = 0, K = 0;  // out_features x in_features
  std::string name() const { return model + "." + layer; }
};

// Parses the zoo's CSV text (header `family,model,layer,kind,N,K`, `#` comments). Throws
// uintx::Error naming the line on a malformed row.
std::vector<ZooLayer> parseModelZoo(const std::string& csv);

// The zoo built into this binary.
const std::vector<ZooLayer>& modelZoo();

// The layers any of whose family, model, kind or name equals one of `names` (comma-separated);
// every layer for an empty `names`. Throws uintx::Error when a name matches nothing.
std::vector<ZooLayer> selectZooLayers(const std::vector<ZooLayer>& zoo, const std::string& names);

// One entry per distinct (N, K), in first-seen order; `name` lists every layer of that shape.
struct ZooShape {
  int64_t N = 0, K = 0;
  std::string kind;    // the first layer's kind
  std::string layers;  // "model.layer;model.layer"
};
std::vector<ZooShape> distinctShapes(const std::vector<ZooLayer>& layers);

}  // namespace uintx::autotune
