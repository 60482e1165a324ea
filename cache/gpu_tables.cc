#include "cache/gpu_tables.h"

#include <nlohmann/json.hpp>

#include <cstdlib>
#include <utility>

#include "cache/env_integer.h"
#include "uintx/error.h"

namespace uintx::cache {
namespace {

struct EmbeddedTable {
  const char* file;
  const char* text;
};

const EmbeddedTable kEmbeddedTables[] = {
#include "cache/gpu_tables.inc"
};

// A number of cost_model in [least, 1e9] (a time, a rate or a count: never negative or NaN).
double number(const nlohmann::json& model, const char* name, double least, const std::string& file) {
  if (!model.contains(name) || !model[name].is_number() || !(model[name].get<double>() >= least) ||
      !(model[name].get<double>() <= 1e9))
    throw Error("shipped table " + file + ": cost_model." + name + " must be a number in [" + std::to_string(least) +
                ", 1e9]");
  return model[name].get<double>();
}

}  // namespace

ShippedTable parseShippedTable(const std::string& file, const std::string& text) {
  CacheFileContents contents = parseConfigCacheText(text);
  if (contents.status != CacheFileContents::Status::kOk)
    throw Error("shipped table " + file + ": " + contents.problem);
  if (!contents.skipped_entries.empty())
    throw Error("shipped table " + file + ": bad entry " + contents.skipped_entries.front());
  nlohmann::json doc = nlohmann::json::parse(text);
  if (!doc.contains("cost_model") || !doc["cost_model"].is_object())
    throw Error("shipped table " + file + ": no \"cost_model\" object");
  const nlohmann::json& m = doc["cost_model"];
  ShippedTable table;
  table.file = file;
  table.gpu = contents.gpu;
  table.entries = std::move(contents.entries);
  table.model.smCount = int(number(m, "sm_count", 1, file));
  table.model.copyBytesPerUs = number(m, "copy_tb_per_s", 1e-3, file) * 1e6;
  table.model.memLatencyUs = number(m, "memory_latency_us", 1e-3, file);
  table.model.launchUs = number(m, "launch_us", 0, file);
  table.model.splitReduceUs = number(m, "split_reduce_us", 0, file);
  table.model.stepUs = number(m, "step_us", 0, file);
  table.model.threadStepUs = number(m, "thread_step_us", 0, file);
  table.model.registersPerElement = number(m, "registers_per_element", 0, file);
  // The GEMM's constants come together or not at all (without them the GEMM keeps its rules).
  if (m.contains("tensor_tflops")) {
    table.model.tensorFlopsPerUs = number(m, "tensor_tflops", 1, file) * 1e6;
    table.model.mmaSyncShare = number(m, "mma_sync_share", 0.01, file);
    table.model.decodeUsPerWeight = number(m, "decode_us_per_weight", 0, file);
    table.model.gemmStepUs = number(m, "gemm_step_us", 0, file);
    table.model.gemmChainUsPerWeight = number(m, "gemm_chain_us_per_weight", 0, file);
    table.model.gemmLatencyUs = number(m, "gemm_latency_us", 1e-3, file);
    table.model.l2BytesPerUs = number(m, "l2_tb_per_s", 1e-3, file) * 1e6;
  }
  return table;
}

const std::vector<ShippedTable>& shippedTables() {
  static const std::vector<ShippedTable> tables = [] {
    std::vector<ShippedTable> out;
    for (const EmbeddedTable& t : kEmbeddedTables) out.push_back(parseShippedTable(t.file, t.text));
    return out;
  }();
  return tables;
}

namespace {

const ShippedTable* tableOf(const std::string& gpuName, const std::string& computeCapability) {
  for (const ShippedTable& t : shippedTables())
    if (t.gpu.name == gpuName && t.gpu.compute_capability == computeCapability) return &t;
  return nullptr;
}

}  // namespace

const ShippedTable* shippedTableFor(const std::string& gpuName, const std::string& computeCapability) {
  if (envInteger("UINTX_SHIPPED_TABLES", 0, 1) == 0) return nullptr;
  return tableOf(gpuName, computeCapability);
}

GpuModel gpuModelFor(const std::string& gpuName, const std::string& computeCapability, int smCount) {
  // Not switched off with the tables' entries: those constants are what the cost model, the
  // tables' stand-in, is measured with.
  const ShippedTable* table = tableOf(gpuName, computeCapability);
  GpuModel m = table ? table->model : genericGpuModel(smCount);
  m.smCount = smCount;
  return m;
}

}  // namespace uintx::cache
