// The tables shipped with the library, one per GPU model (tables/*.json, built into the
// binary): tuned configs for the model-shape zoo and the cost model's constants. A table is a
// config-cache file (docs/CACHE.md) with one more member, "cost_model". Precedence of configs:
// the user's config cache, then the GPU's table, then the cost model's default.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "cache/config_cache.h"
#include "cache/gpu_model.h"

namespace uintx::cache {

struct ShippedTable {
  std::string file;  // e.g. "nvidia_h200.json"
  GpuIdentity gpu;
  GpuModel model;
  std::map<std::string, CacheEntry> entries;  // keyed by KernelKey::toString()
};

// Parses one table's text; throws uintx::Error naming `file` and the problem.
ShippedTable parseShippedTable(const std::string& file, const std::string& text);

// Every table built into this binary.
const std::vector<ShippedTable>& shippedTables();

// The table of the GPU with this name and compute capability, or null: none matches, or
// $UINTX_SHIPPED_TABLES is "0" (the tables switched off, e.g. to measure the cost model).
const ShippedTable* shippedTableFor(const std::string& gpuName, const std::string& computeCapability);

// The cost-model constants for a device: its table's, else generic ones, with the device's own
// SM count either way (a partitioned GPU has fewer). $UINTX_SHIPPED_TABLES=0 leaves them on.
GpuModel gpuModelFor(const std::string& gpuName, const std::string& computeCapability, int smCount);

}  // namespace uintx::cache
