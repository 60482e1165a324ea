// QuantizedWeight <-> safetensors. The loader treats every byte as untrusted: each length,
// offset and shape is checked against the file size and the metadata before any copy.
#include <charconv>
#include <fstream>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "packing/bit_width_registry.h"
#include "packing/quantized_weight.h"
#include "uintx/error.h"

namespace uintx {

namespace {

constexpr const char* kFormatName = "uintx.quantized_weight";
constexpr const char* kFormatVersion = "1";
constexpr uint64_t kMaxHeaderBytes = uint64_t(100) << 20;  // safetensors' own limit

using json = nlohmann::json;

struct TensorSpec {
  std::string name;
  ScalarType dtype;
  std::vector<int64_t> shape;
  const std::vector<uint8_t>* bytes;  // for writing; nullptr when reading
};

std::vector<TensorSpec> expectedTensors(const WeightFormat& f, bool hasZeros, bool hasBias,
                                        const std::vector<uint8_t>* packed = nullptr,
                                        const std::vector<uint8_t>* scales = nullptr,
                                        const std::vector<uint8_t>* zeros = nullptr,
                                        const std::vector<uint8_t>* bias = nullptr) {
  std::vector<TensorSpec> t;
  t.push_back({"qweight", f.wordType(), {f.N, f.wordsPerRow()}, packed});
  t.push_back({"scales", f.scale_dtype, {f.N, f.numGroups()}, scales});
  if (hasZeros) t.push_back({"zeros", f.scale_dtype, {f.N, f.numGroups()}, zeros});
  if (hasBias) t.push_back({"bias", f.scale_dtype, {f.N}, bias});
  return t;
}

std::string metadataString(const json& meta, const char* key) {
  auto it = meta.find(key);
  if (it == meta.end()) throw Error(std::string("__metadata__ has no '") + key + "' entry");
  if (!it->is_string()) throw Error(std::string("__metadata__ entry '") + key + "' is not a string");
  return it->get<std::string>();
}

int64_t metadataInt(const json& meta, const char* key) {
  std::string s = metadataString(meta, key);
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty())
    throw Error(std::string("__metadata__ entry '") + key + "' = '" + s + "' is not an integer");
  return v;
}

int narrowInt(int64_t v, const char* key) {
  if (v < std::numeric_limits<int>::min() || v > std::numeric_limits<int>::max())
    throw Error(std::string("__metadata__ entry '") + key + "' = " + std::to_string(v) + " is out of range");
  return int(v);
}

ScalarType floatTypeFromName(const std::string& name) {
  for (ScalarType t : {ScalarType::f32, ScalarType::bf16, ScalarType::f16})
    if (name == scalarTypeName(t)) return t;
  throw Error("__metadata__ entry 'scale_dtype' = '" + name + "' is not one of f32, bf16, f16");
}

QuantizedWeight parse(const uint8_t* data, size_t size) {
  if (size < 8) throw Error("file is " + std::to_string(size) + " bytes: too short for a safetensors header (8-byte length)");
  uint64_t headerLen = 0;
  for (int i = 0; i < 8; ++i) headerLen |= uint64_t(data[i]) << (8 * i);
  if (headerLen > kMaxHeaderBytes || headerLen > size - 8)
    throw Error("header length " + std::to_string(headerLen) + " exceeds the file's " + std::to_string(size - 8) +
                " remaining bytes (truncated or not a safetensors file)");
  const uint8_t* body = data + 8 + headerLen;
  const uint64_t bodySize = size - 8 - headerLen;

  json header;
  try {
    header = json::parse(data + 8, body);
  } catch (const json::exception& e) {
    throw Error(std::string("safetensors header is not valid JSON: ") + e.what());
  }
  if (!header.is_object()) throw Error("safetensors header is not a JSON object");
  auto metaIt = header.find("__metadata__");
  if (metaIt == header.end() || !metaIt->is_object())
    throw Error("not a uintx weight file: the safetensors header has no __metadata__ object");
  const json& meta = *metaIt;
  if (metadataString(meta, "format") != kFormatName)
    throw Error("not a uintx weight file: __metadata__ format = '" + metadataString(meta, "format") + "', expected '" +
                kFormatName + "'");
  if (metadataString(meta, "format_version") != kFormatVersion)
    throw Error("unsupported uintx weight file version '" + metadataString(meta, "format_version") +
                "': this library reads version " + kFormatVersion);

  WeightFormat f;
  f.bit_width = narrowInt(metadataInt(meta, "bit_width"), "bit_width");
  f.group_size = narrowInt(metadataInt(meta, "group_size"), "group_size");
  f.packing_bitwidth = narrowInt(metadataInt(meta, "packing_bitwidth"), "packing_bitwidth");
  f.N = metadataInt(meta, "N");
  f.K = metadataInt(meta, "K");
  f.scale_dtype = floatTypeFromName(metadataString(meta, "scale_dtype"));
  f.validate();  // bounds N and K, so the sizes below cannot overflow

  const bool hasBias = header.contains("bias");
  std::vector<TensorSpec> tensors = expectedTensors(f, f.hasZeros(), hasBias);
  size_t expectedKeys = tensors.size() + 1;
  if (header.size() != expectedKeys) {
    for (const auto& [key, value] : header.items()) {
      bool known = key == "__metadata__";
      for (const TensorSpec& t : tensors) known = known || key == t.name;
      if (!known) throw Error("unexpected tensor '" + key + "' in a uintx weight file");
    }
  }
  std::vector<std::vector<uint8_t>> buffers;
  for (const TensorSpec& t : tensors) {
    auto it = header.find(t.name);
    if (it == header.end()) throw Error("tensor '" + t.name + "' is missing");
    const json& e = *it;
    const std::string where = "tensor '" + t.name + "': ";
    if (!e.is_object() || !e.contains("dtype") || !e.contains("shape") || !e.contains("data_offsets"))
      throw Error(where + "entry needs dtype, shape and data_offsets");
    if (!e["dtype"].is_string() || e["dtype"].get<std::string>() != safetensorsDtypeName(t.dtype))
      throw Error(where + "dtype " + e["dtype"].dump() + " does not match the metadata, expected " + safetensorsDtypeName(t.dtype));
    const json& shape = e["shape"];
    bool shapeOk = shape.is_array() && shape.size() == t.shape.size();
    for (size_t d = 0; shapeOk && d < t.shape.size(); ++d)
      shapeOk = shape[d].is_number_integer() && shape[d].get<int64_t>() == t.shape[d];
    if (!shapeOk) throw Error(where + "shape " + shape.dump() + " does not match the metadata");
    const json& off = e["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      throw Error(where + "data_offsets " + off.dump() + " is not a pair of unsigned integers");
    uint64_t begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
    uint64_t bytes = elementSize(t.dtype);
    for (int64_t d : t.shape) bytes *= uint64_t(d);
    if (begin > end || end > bodySize)
      throw Error(where + "data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
                  "] fall outside the " + std::to_string(bodySize) + "-byte data section (truncated file?)");
    if (end - begin != bytes)
      throw Error(where + "holds " + std::to_string(end - begin) + " bytes, its shape needs " + std::to_string(bytes));
    buffers.emplace_back(body + begin, body + end);
  }
  std::vector<uint8_t> zeros, bias;
  size_t next = 2;
  if (f.hasZeros()) zeros = std::move(buffers[next++]);
  if (hasBias) bias = std::move(buffers[next++]);
  return QuantizedWeight(f, std::move(buffers[0]), std::move(buffers[1]), std::move(zeros), std::move(bias));
}

}  // namespace

std::vector<uint8_t> QuantizedWeight::toSafetensors() const {
  const WeightFormat& f = format_;
  json header;
  header["__metadata__"] = {{"format", kFormatName},
                            {"format_version", kFormatVersion},
                            {"bit_width", std::to_string(f.bit_width)},
                            {"group_size", std::to_string(f.group_size)},
                            {"packing_bitwidth", std::to_string(f.packing_bitwidth)},
                            {"N", std::to_string(f.N)},
                            {"K", std::to_string(f.K)},
                            {"scale_dtype", scalarTypeName(f.scale_dtype)},
                            {"bit_width_name", f.spec().name}};
  uint64_t offset = 0;
  std::vector<TensorSpec> tensors = expectedTensors(f, hasZeros(), hasBias(), &packed_, &scales_, &zeros_, &bias_);
  for (const TensorSpec& t : tensors) {
    header[t.name] = {{"dtype", safetensorsDtypeName(t.dtype)},
                      {"shape", t.shape},
                      {"data_offsets", {offset, offset + t.bytes->size()}}};
    offset += t.bytes->size();
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // data section starts 8-byte aligned
  std::vector<uint8_t> out(8);
  for (int i = 0; i < 8; ++i) out[size_t(i)] = uint8_t(uint64_t(text.size()) >> (8 * i));
  out.insert(out.end(), text.begin(), text.end());
  for (const TensorSpec& t : tensors) out.insert(out.end(), t.bytes->begin(), t.bytes->end());
  return out;
}

QuantizedWeight QuantizedWeight::fromSafetensors(const uint8_t* data, size_t size) {
  try {
    return parse(data, size);
  } catch (const Error& e) {
    throw Error(std::string("invalid uintx safetensors data: ") + e.what());
  } catch (const json::exception& e) {  // a type mismatch the checks above did not anticipate
    throw Error(std::string("invalid uintx safetensors data: malformed header: ") + e.what());
  }
}

void QuantizedWeight::save(const std::string& path) const {
  std::vector<uint8_t> bytes = toSafetensors();
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (!file) throw Error("cannot open '" + path + "' for writing");
  file.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  if (!file) throw Error("writing '" + path + "' failed");
}

QuantizedWeight QuantizedWeight::load(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw Error("cannot open '" + path + "' for reading");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  try {
    return fromSafetensors(bytes.data(), bytes.size());
  } catch (const Error& e) {
    throw Error("'" + path + "': " + e.what());
  }
}

}  // namespace uintx
