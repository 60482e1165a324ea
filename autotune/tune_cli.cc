#include "autotune/tune_cli.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <set>

#include "cache/config_cache.h"
#include "cache/printable_text.h"
#include "autotune/cuda_driver_probe.h"
#include "autotune/model_zoo.h"
#include "packing/weight_format.h"
#include "uintx/error.h"

namespace uintx::autotune {
namespace {

// A decimal integer in 1..max with nothing else around it; nullopt otherwise.
std::optional<int64_t> parsePositive(const std::string& text, int64_t max) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  if (value < 1 || value > max) return std::nullopt;
  return value;
}

std::vector<std::string> splitCommas(const std::string& text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    parts.push_back(text.substr(start, comma - start));
    if (comma == std::string::npos) return parts;
    start = comma + 1;
  }
}

constexpr int64_t kMaxDimension = INT32_MAX;  // keys hold group_size (may be K) in an int

struct FlagSpec {
  bool takesValue;
};

const std::map<std::string, FlagSpec>& flagTable() {
  static const std::map<std::string, FlagSpec> table = {
      {"--shapes", {true}},      {"--bits", {true}},       {"--group-size", {true}},
      {"--packing", {true}},     {"--batch", {true}},      {"--cache", {true}},
      {"--kernels-dir", {true}}, {"--act-dtype", {true}},  {"--out-dtype", {true}},
      {"--list", {true}},        {"--weight-only", {false}}, {"--int8-dynamic", {false}},
      {"--force", {false}},      {"--zoo", {true}},
  };
  return table;
}

bool isSupportedDtype(const std::string& dtype) { return dtype == "bf16" || dtype == "fp16"; }

std::string quote(const std::string& s) { return "'" + s + "'"; }

std::string formatTimeUs(double us) {
  char buffer[40];  // "%.6g" keeps any finite double short (a file's time may be 1e300)
  std::snprintf(buffer, sizeof buffer, us < 1e9 ? "%.2f us" : "%.6g us", us);
  return buffer;
}

// The parse proper; throws Error with the message that names the argument.
TuneOptions parseOrThrow(const std::vector<std::string>& args) {
  TuneOptions options;
  for (const std::string& arg : args)
    if (arg == "--help" || arg == "-h") {
      options.action = TuneOptions::Action::kHelp;
      return options;
    }

  std::map<std::string, std::string> values;  // flag -> value ("" for booleans)
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.rfind("--", 0) != 0)
      throw Error("unexpected argument " + quote(arg) + ": uintx-tune takes only --flags");
    size_t eq = arg.find('=');
    std::string name = arg.substr(0, eq);
    auto spec = flagTable().find(name);
    if (spec == flagTable().end()) throw Error("unknown argument " + quote(name));
    if (values.count(name)) throw Error(name + " is given twice");
    std::string value;
    if (!spec->second.takesValue) {
      if (eq != std::string::npos) throw Error(name + " takes no value (got " + quote(arg) + ")");
    } else if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
    } else {
      if (i + 1 == args.size() || args[i + 1].rfind("--", 0) == 0)
        throw Error(name + " needs a value");
      value = args[++i];
    }
    if (spec->second.takesValue && value.empty()) throw Error(name + " needs a non-empty value");
    values[name] = value;
  }

  if (values.count("--list")) {
    for (const auto& [name, value] : values)
      if (name != "--list") throw Error("--list cannot be combined with " + name);
    options.action = TuneOptions::Action::kList;
    options.list_path = values["--list"];
    return options;
  }

  if (values.count("--weight-only") && values.count("--int8-dynamic"))
    throw Error("--weight-only and --int8-dynamic exclude each other");
  if (values.count("--int8-dynamic")) options.quant = QuantMode::kInt8Dynamic;

  if (!values.count("--shapes") && !values.count("--zoo"))
    throw Error("--shapes or --zoo is required (e.g. --shapes 4096x4096, --zoo llama3.1-8b)");
  if (values.count("--zoo")) {
    const std::string& names = values["--zoo"];
    for (const ZooShape& shape : distinctShapes(selectZooLayers(modelZoo(), names == "all" ? "" : names)))
      options.shapes.push_back({shape.N, shape.K});
  }
  for (const std::string& item : values.count("--shapes") ? splitCommas(values["--shapes"]) : std::vector<std::string>{}) {
    size_t x = item.find('x');
    std::optional<int64_t> n, k;
    if (x != std::string::npos) {
      n = parsePositive(item.substr(0, x), kMaxDimension);
      k = parsePositive(item.substr(x + 1), kMaxDimension);
    }
    if (!n || !k)
      throw Error("--shapes: " + quote(item) +
                  " is not NxK (two positive integers joined by 'x', e.g. 4096x4096)");
    options.shapes.push_back({*n, *k});
  }

  if (values.count("--bits")) {
    auto bits = parsePositive(values["--bits"], 1 << 20);
    if (!bits) throw Error("--bits: " + quote(values["--bits"]) + " is not a positive integer");
    options.bits = static_cast<int>(*bits);
  }
  if (options.quant == QuantMode::kInt8Dynamic) {
    if (options.bits == 0) options.bits = 8;
    if (options.bits != 8)
      throw Error("--bits " + std::to_string(options.bits) + " is not allowed with --int8-dynamic, "
                  "which uses 8-bit weights");
    if (values.count("--group-size"))
      throw Error("--group-size is not allowed with --int8-dynamic: its weights have one scale "
                  "per output channel (group size = K)");
  } else {
    if (options.bits == 0) throw Error("--bits is required (1..8)");
    if (options.bits > 8)
      throw Error("--bits " + std::to_string(options.bits) + " is out of range: weights take 1..8 bits");
    if (!values.count("--group-size")) throw Error("--group-size is required (e.g. --group-size 128)");
    auto group = parsePositive(values["--group-size"], kMaxDimension);
    if (!group)
      throw Error("--group-size: " + quote(values["--group-size"]) + " is not a positive integer");
    options.group_size = static_cast<int>(*group);
    for (const WeightShape& shape : options.shapes)
      if (shape.K % options.group_size != 0)
        throw Error("--group-size " + std::to_string(options.group_size) + " does not divide K = " +
                    std::to_string(shape.K) + " of shape " + std::to_string(shape.N) + "x" +
                    std::to_string(shape.K) + " (groups run along K)");
  }

  if (values.count("--packing")) {
    auto packing = parsePositive(values["--packing"], 1 << 20);
    if (!packing || (*packing != 8 && *packing != 16 && *packing != 32))
      throw Error("--packing: " + quote(values["--packing"]) + " must be 8, 16 or 32");
    options.packing = static_cast<int>(*packing);
  }
  if (options.bits > options.packing)
    throw Error("--packing " + std::to_string(options.packing) + " is narrower than --bits " +
                std::to_string(options.bits));
  // Each shape's weight must be one the library can hold; otherwise every key would fail only
  // after the GPU started (--bits 5 has no registered width, --group-size 16 is no group size,
  // 8-bit weights take one scale per row).
  for (const WeightShape& shape : options.shapes) {
    WeightFormat format;
    format.bit_width = options.bits;
    format.group_size = options.group_size > 0 ? options.group_size : static_cast<int>(shape.K);
    format.packing_bitwidth = options.packing;
    format.N = shape.N;
    format.K = shape.K;
    try {
      format.validate();
    } catch (const Error& e) {
      throw Error("--bits " + std::to_string(options.bits) + " --group-size " + std::to_string(format.group_size) +
                  " --packing " + std::to_string(options.packing) + " on shape " + std::to_string(shape.N) + "x" +
                  std::to_string(shape.K) + " is not a weight format uintx supports: " + e.what());
    }
  }

  if (values.count("--batch"))
    for (const std::string& item : splitCommas(values["--batch"])) {
      auto m = parsePositive(item, kMaxDimension);
      if (!m) throw Error("--batch: " + quote(item) + " is not a positive integer");
      options.batches.push_back(*m);
    }

  if (values.count("--act-dtype")) options.act_dtype = values["--act-dtype"];
  if (!isSupportedDtype(options.act_dtype))
    throw Error("--act-dtype: " + quote(options.act_dtype) + " is not supported (bf16 or fp16)");
  options.out_dtype = values.count("--out-dtype") ? values["--out-dtype"] : options.act_dtype;
  if (!isSupportedDtype(options.out_dtype))
    throw Error("--out-dtype: " + quote(options.out_dtype) + " is not supported (bf16 or fp16)");

  if (values.count("--cache")) options.cache_path = values["--cache"];
  if (values.count("--kernels-dir")) options.kernels_dir = values["--kernels-dir"];
  options.force = values.count("--force") > 0;
  return options;
}

}  // namespace

ParsedTuneArgs parseTuneArgs(const std::vector<std::string>& args) {
  ParsedTuneArgs parsed;
  try {
    parsed.options = parseOrThrow(args);
  } catch (const std::exception& e) {
    parsed.error = e.what();
  }
  return parsed;
}

std::string tuneUsage() {
  return R"(Usage:
  uintx-tune --shapes NxK[,NxK...] --bits B --group-size G [options]
  uintx-tune --int8-dynamic --shapes NxK[,NxK...] [options]
  uintx-tune --zoo all|NAME[,NAME...] --bits B --group-size G [options]
  uintx-tune --list CACHE.json
  uintx-tune --help

Tunes every kernel the shapes and batch sizes need on this machine's GPU and writes the
config cache (JSON) and the compiled-kernel cache, so that serving starts without tuning.

  --shapes NxK,...     weight shapes, out_features x in_features (e.g. 4096x4096,14336x4096)
  --zoo NAMES          the layers of the built-in model zoo (bench/model_zoo.csv) whose
                       family, model, kind or model.layer is one of NAMES, or all of them
                       (e.g. --zoo llama3.1-8b,qwen, --zoo down); adds to --shapes
  --bits B             weight bits, 1..8 (weight-only; --int8-dynamic implies 8)
  --group-size G       quantization group along K; must divide every K (weight-only)
  --packing P          bits per packed word: 8, 16 or 32 (default 32)
  --batch M,...        batch sizes (rows of x) to tune for; each maps to an M bucket
                       (1,2,4,...,2048,4096+). Default: every bucket
  --act-dtype T        activation dtype: bf16 (default) or fp16
  --out-dtype T        output dtype: bf16 or fp16 (default: the activation dtype)
  --weight-only        bf16/fp16 activations x low-bit weights (the default)
  --int8-dynamic       int8 activations quantized per row at run time x int8 weights
  --cache FILE         config cache (default: $UINTX_CONFIG_CACHE, else
                       $XDG_CACHE_HOME/uintx/configs.json, else ~/.cache/uintx/configs.json)
  --kernels-dir DIR    compiled-kernel cache (default: $UINTX_KERNEL_CACHE_DIR, else
                       $XDG_CACHE_HOME/uintx/kernels, else ~/.cache/uintx/kernels)
  --force              re-tune keys that are already in the cache
  --list FILE          print what a config cache holds, then exit
  --help, -h           this text

Exit codes:
  0  success
  1  internal error (a bug; please report it)
  2  bad arguments (the message names the argument)
  3  no GPU: the CUDA driver (libcuda.so.1) cannot be loaded, or no tuner can start
  4  tuning failed for at least one key (the others are saved)
  5  cache error: the cache cannot be written, or --list cannot read it
)";
}

std::vector<cache::KernelFamily> defaultFamilies(int mBucket, QuantMode mode) {
  if (mode == QuantMode::kInt8Dynamic) return {cache::KernelFamily::gemm_int8};
  // Small M is memory-bound: a GEMV (one row or 16 rows per program, depending on the format).
  if (mBucket <= 8) return {cache::KernelFamily::gemv, cache::KernelFamily::gemv_tiled};
  return {cache::KernelFamily::gemm};
}

std::vector<cache::KernelKey> planTuningKeys(const TuneOptions& options, const FamilyPolicy& families) {
  std::vector<int> buckets;
  if (options.batches.empty()) {
    for (int b = 1; b <= cache::KernelKey::kMaxMBucket; b *= 2) buckets.push_back(b);
  } else {
    for (int64_t m : options.batches) buckets.push_back(cache::KernelKey::mBucket(m));
  }
  std::sort(buckets.begin(), buckets.end());
  buckets.erase(std::unique(buckets.begin(), buckets.end()), buckets.end());

  std::vector<cache::KernelKey> keys;
  std::set<std::string> seen;
  for (const WeightShape& shape : options.shapes)
    for (int bucket : buckets)
      for (cache::KernelFamily family : (families ? families : defaultFamilies)(bucket, options.quant)) {
        cache::KernelKey key;
        key.family = family;
        key.bit_width = options.bits;
        key.group_size = options.group_size > 0 ? options.group_size : static_cast<int>(shape.K);
        key.packing_bitwidth = options.packing;
        key.act_dtype = options.act_dtype;
        key.out_dtype = options.out_dtype.empty() ? options.act_dtype : options.out_dtype;
        key.N = shape.N;
        key.K = shape.K;
        key.m_bucket = bucket;
        if (seen.insert(key.toString()).second) keys.push_back(key);
      }
  return keys;
}

int listConfigCache(const std::string& path, std::ostream& out, std::ostream& err) {
  cache::CacheFileContents contents;
  try {
    contents = cache::readConfigCacheFile(path);
  } catch (const std::exception& e) {
    err << "uintx-tune: error: --list: " << e.what() << "\n";
    return kExitCacheError;
  }
  using Status = cache::CacheFileContents::Status;
  if (contents.status == Status::kMissing) {
    err << "uintx-tune: error: --list: cache file '" << path << "' does not exist\n";
    return kExitCacheError;
  }
  if (contents.status != Status::kOk) {
    err << "uintx-tune: error: --list: cache file '" << path << "' is unusable: "
        << contents.problem << "\n";
    return kExitCacheError;
  }
  for (const std::string& skipped : contents.skipped_entries)
    err << "uintx-tune: warning: ignored entry " << skipped << "\n";
  out << "cache: " << path << "\n"
      << "schema_version: " << contents.schema_version << "\n"
      << "gpu: " << cache::printableText(contents.gpu.name) << " (compute capability " << cache::printableText(contents.gpu.compute_capability)
      << ")\n"
      << "entries: " << contents.entries.size() << "\n";
  size_t width = 0;
  for (const auto& [key, entry] : contents.entries) width = std::max(width, key.size());
  for (const auto& [key, entry] : contents.entries)
    out << key << std::string(width - key.size() + 2, ' ') << formatTimeUs(entry.time_us) << "  "
        << (entry.tuned_at.empty() ? "-" : entry.tuned_at) << "  " << entry.config.toString()
        << "\n";
  return kExitOk;
}

int runTuneCli(const std::vector<std::string>& args, const TuneCliEnvironment& environment,
               std::ostream& out, std::ostream& err) {
  ParsedTuneArgs parsed = parseTuneArgs(args);
  if (!parsed.options) {
    err << "uintx-tune: error: " << parsed.error << "\nTry 'uintx-tune --help'.\n";
    return kExitBadArguments;
  }
  TuneOptions options = *parsed.options;
  if (options.action == TuneOptions::Action::kHelp) {
    out << tuneUsage();
    return kExitOk;
  }
  if (options.action == TuneOptions::Action::kList) return listConfigCache(options.list_path, out, err);

  try {
    try {
      if (options.kernels_dir.empty()) options.kernels_dir = cache::defaultKernelCacheDir(environment.env);
    } catch (const Error& e) {
      err << "uintx-tune: error: " << e.what() << "\n";
      return kExitCacheError;
    }
    const std::vector<cache::KernelKey> keys = planTuningKeys(options, environment.families);

    std::string why;
    bool driver = environment.gpuDriverLoadable ? environment.gpuDriverLoadable(&why)
                                                : cudaDriverLoadable(&why, environment.env);
    if (!driver) {
      err << "uintx-tune: no GPU: the CUDA driver cannot be loaded (" << why
          << "). Run uintx-tune on the machine that will serve, with its NVIDIA driver.\n";
      return kExitNoGpu;
    }
    std::unique_ptr<Tuner> tuner;
    why = "this build of uintx-tune has no GPU tuner linked in";
    if (environment.makeTuner) tuner = environment.makeTuner(options, &why);
    if (!tuner) {
      err << "uintx-tune: cannot start tuning: " << why << "\n";
      return kExitNoGpu;
    }

    const cache::GpuIdentity gpu = tuner->gpu();
    // The default file is per GPU model, so it is known only now.
    if (options.cache_path.empty()) {
      try {
        options.cache_path = cache::defaultConfigCachePath(gpu.name, gpu.compute_capability, environment.env);
      } catch (const Error& e) {
        err << "uintx-tune: error: " << e.what() << "\n";
        return kExitCacheError;
      }
    }
    cache::ConfigCache cache(options.cache_path, gpu.name, gpu.compute_capability,
                      [&err](const std::string& message) {
                        err << "uintx-tune: warning: " << message << "\n";
                      });
    std::vector<cache::KernelKey> todo;
    for (const cache::KernelKey& key : keys)
      if (options.force || !cache.lookup(key)) todo.push_back(key);
    out << "uintx-tune: GPU " << cache::printableText(gpu.name) << " (compute capability "
        << cache::printableText(gpu.compute_capability)
        << "); cache " << options.cache_path << "; kernels " << options.kernels_dir << "\n"
        << "uintx-tune: " << keys.size() << " keys, " << keys.size() - todo.size()
        << " already cached, " << todo.size() << " to tune\n";

    ProgressBar bar(out, environment.stdoutIsTerminal, static_cast<int>(todo.size()),
                    environment.clock);
    std::vector<std::string> failures;
    for (const cache::KernelKey& key : todo) {
      const std::string name = key.toString();
      bar.beginStep(name);
      TuneResult result;
      try {
        result = tuner->tune(key, [&bar](int done, int total) { bar.stepProgress(done, total); });
      } catch (const std::exception& e) {
        result.ok = false;
        result.error = e.what();
      }
      if (!result.ok) {
        failures.push_back(name + ": " + result.error);
        bar.endStep("FAILED: " + result.error);
        continue;
      }
      try {
        cache.insert(key, result.config, result.time_us);
        cache.save();  // after every key, so an interrupted run keeps what it finished
      } catch (const Error& e) {
        bar.finish("uintx-tune: stopped");
        err << "uintx-tune: error: cannot save the config cache: " << e.what() << "\n";
        return kExitCacheError;
      }
      bar.endStep(formatTimeUs(result.time_us) + " " + result.config.toString());
    }
    bar.finish("uintx-tune: tuned " + std::to_string(todo.size() - failures.size()) + " of " +
               std::to_string(todo.size()) + " keys; cache " + options.cache_path);
    if (!failures.empty()) {
      err << "uintx-tune: tuning failed for " << failures.size() << " key(s):\n";
      for (const std::string& failure : failures) err << "  " << failure << "\n";
      return kExitTuningFailed;
    }
    return kExitOk;
  } catch (const std::exception& e) {
    err << "uintx-tune: internal error: " << e.what() << "\n";
    return kExitInternalError;
  }
}

}  // namespace uintx::autotune
