// QuantizedWeight <-> safetensors. The loader treats every byte as untrusted: each length,
// offset and shape is checked against the file size and the metadata before any copy.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <new>
#include <nlohmann/json.hpp>
#include <string>

#include "packing/bit_width_registry.h"
#include "packing/json_limits.h"
#include "packing/quantized_weight.h"
#include "uintx/error.h"

namespace uintx {

namespace {

constexpr const char* kFormatName = "uintx.quantized_weight";
constexpr const char* kFormatVersion = "1";
constexpr uint64_t kMaxHeaderBytes = uint64_t(100) << 20;  // safetensors' own limit
// Our header is 3 levels deep; printing or destroying a deeper value recurses once per level.
constexpr int kMaxHeaderDepth = 32;
// One layer's weight; far above any real one, low enough that a sparse or hostile file is
// refused before it is read into memory.
constexpr uint64_t kMaxFileBytes = uint64_t(64) << 30;
// How much of an untrusted value an error message shows.
constexpr size_t kMaxQuotedChars = 48;

using json = nlohmann::json;

struct TensorSpec {
  std::string name;
  ScalarType dtype;
  std::vector<int64_t> shape;
  const std::vector<uint8_t>* bytes;  // for writing; nullptr when reading
};

// An untrusted value for an error message: escaped, at most kMaxQuotedChars of it.
std::string excerpt(const json& value) { return jsonExcerpt(value, kMaxQuotedChars); }

// An untrusted string, escaped as above, in single quotes.
std::string excerpt(const std::string& text) {
  std::string escaped = json(text).dump(-1, ' ', /*ensure_ascii=*/true, json::error_handler_t::replace);
  escaped = escaped.substr(1, escaped.size() - 2);
  if (escaped.size() > kMaxQuotedChars) escaped = escaped.substr(0, kMaxQuotedChars) + "...";
  return "'" + escaped + "'";
}

std::string decimal(uint64_t v) { return std::to_string(v); }

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
    throw Error(std::string("__metadata__ entry '") + key + "' = " + excerpt(s) + " is not an integer");
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
  throw Error("__metadata__ entry 'scale_dtype' = " + excerpt(name) + " is not one of f32, bf16, f16");
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

  const std::string_view headerText(reinterpret_cast<const char*>(data + 8), size_t(headerLen));
  if (hasNulByte(headerText)) throw Error("safetensors header contains a NUL byte (not JSON text)");
  if (jsonNestingDepth(headerText, kMaxHeaderDepth) > kMaxHeaderDepth)
    throw Error("safetensors header is nested deeper than " + std::to_string(kMaxHeaderDepth) + " levels");
  json header;
  try {
    header = json::parse(data + 8, body);
  } catch (const json::exception& e) {
    // The parser's message quotes the offending token; keep it short.
    throw Error("safetensors header is not valid JSON: " + std::string(e.what()).substr(0, 160));
  }
  if (!header.is_object()) throw Error("safetensors header is not a JSON object");
  auto metaIt = header.find("__metadata__");
  if (metaIt == header.end() || !metaIt->is_object())
    throw Error("not a uintx weight file: the safetensors header has no __metadata__ object");
  const json& meta = *metaIt;
  if (metadataString(meta, "format") != kFormatName)
    throw Error("not a uintx weight file: __metadata__ format = " + excerpt(metadataString(meta, "format")) +
                ", expected '" + kFormatName + "'");
  if (metadataString(meta, "format_version") != kFormatVersion)
    throw Error("unsupported uintx weight file version " + excerpt(metadataString(meta, "format_version")) +
                ": this library reads version " + kFormatVersion);

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
      if (!known) throw Error("unexpected tensor " + excerpt(key) + " in a uintx weight file");
    }
  }
  struct Extent {
    uint64_t begin, end;
    const std::string* name;
  };
  std::vector<Extent> extents;
  for (const TensorSpec& t : tensors) {
    auto it = header.find(t.name);
    if (it == header.end()) throw Error("tensor '" + t.name + "' is missing");
    const json& e = *it;
    const std::string where = "tensor '" + t.name + "': ";
    if (!e.is_object() || !e.contains("dtype") || !e.contains("shape") || !e.contains("data_offsets"))
      throw Error(where + "entry needs dtype, shape and data_offsets");
    if (!e["dtype"].is_string() || e["dtype"].get<std::string>() != safetensorsDtypeName(t.dtype))
      throw Error(where + "dtype " + excerpt(e["dtype"]) + " does not match the metadata, expected " + safetensorsDtypeName(t.dtype));
    const json& shape = e["shape"];
    bool shapeOk = shape.is_array() && shape.size() == t.shape.size();
    for (size_t d = 0; shapeOk && d < t.shape.size(); ++d)
      shapeOk = shape[d].is_number_integer() && shape[d].get<int64_t>() == t.shape[d];
    if (!shapeOk) throw Error(where + "shape " + excerpt(shape) + " does not match the metadata");
    const json& off = e["data_offsets"];
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      throw Error(where + "data_offsets " + excerpt(off) + " is not a pair of unsigned integers");
    uint64_t begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
    uint64_t bytes = elementSize(t.dtype);
    for (int64_t d : t.shape)
      if (__builtin_mul_overflow(bytes, uint64_t(d), &bytes))
        throw Error(where + "shape " + excerpt(shape) + " has more bytes than fit in 64 bits");
    if (begin > end || end > bodySize)
      throw Error(where + "data_offsets [" + decimal(begin) + ", " + decimal(end) + "] fall outside the " +
                  decimal(bodySize) + "-byte data section (truncated file?)");
    if (end - begin != bytes)
      throw Error(where + "holds " + decimal(end - begin) + " bytes, its shape needs " + decimal(bytes));
    extents.push_back({begin, end, &t.name});
  }
  // The format's data section is the tensors back to back: nothing hidden between or after
  // them, no byte read as two tensors.
  std::vector<Extent> byOffset = extents;
  std::stable_sort(byOffset.begin(), byOffset.end(),
                   [](const Extent& a, const Extent& b) { return a.begin < b.begin || (a.begin == b.begin && a.end < b.end); });
  uint64_t expectedBegin = 0;
  const std::string* previous = nullptr;
  for (const Extent& x : byOffset) {
    if (x.begin < expectedBegin)
      throw Error("tensors '" + *previous + "' and '" + *x.name + "' overlap in the data section");
    if (x.begin > expectedBegin)
      throw Error("tensor '" + *x.name + "' begins at data offset " + decimal(x.begin) + ", expected " +
                  decimal(expectedBegin) + ": the data section has a gap");
    expectedBegin = x.end;
    previous = x.name;
  }
  if (expectedBegin != bodySize)
    throw Error("the data section has " + decimal(bodySize - expectedBegin) +
                " byte(s) after the last tensor: a file ends where its last tensor ends");
  std::vector<std::vector<uint8_t>> buffers;
  for (const Extent& x : extents) buffers.emplace_back(body + x.begin, body + x.end);
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
    throw Error("invalid uintx safetensors data: malformed header: " + std::string(e.what()).substr(0, 160));
  } catch (const std::bad_alloc&) {
    throw Error("invalid uintx safetensors data: out of memory while reading it (" + decimal(size) + " bytes)");
  } catch (const std::length_error&) {
    throw Error("invalid uintx safetensors data: a size in it is too large (" + decimal(size) + " bytes)");
  }
}

// Written to a temporary file beside the target, then renamed over it: a save that fails (a
// full disk, a file size limit) leaves the previous file whole and no cut one. Every system call
// is checked (an ofstream wrote its last buffered bytes in its destructor, after any check).
// Regular files only, as load reads: the target is looked at before anything is opened, so a
// FIFO never blocks the caller; a symbolic link is followed, its target replaced.
void QuantizedWeight::save(const std::string& path) const {
  std::vector<uint8_t> bytes = toSafetensors();
  std::string target = path;
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (!S_ISREG(st.st_mode)) throw Error("'" + path + "' is not a regular file: not overwritten");
    if (char* real = ::realpath(path.c_str(), nullptr)) target = real, std::free(real);
  } else if (errno != ENOENT) {
    throw Error("cannot write '" + path + "': " + std::strerror(errno));
  }
  const size_t slash = target.rfind('/');
  std::string temp = (slash == std::string::npos ? std::string() : target.substr(0, slash + 1)) + ".uintx-save-XXXXXX";
  const int fd = ::mkstemp(temp.data());
  if (fd < 0) throw Error("cannot write '" + path + "': creating a file beside it failed: " + std::strerror(errno));
  auto fail = [&](const std::string& what, bool open) {
    const std::string reason = std::strerror(errno);
    if (open) ::close(fd);
    ::unlink(temp.c_str());
    throw Error(what + " '" + path + "' failed: " + reason + " (the previous file, if any, is unchanged)");
  };
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) errno = EIO;  // no progress and no reason given
    if (n <= 0) fail("writing", true);
    done += size_t(n);
  }
  if (::fchmod(fd, 0644) != 0 || ::fsync(fd) != 0) fail("writing", true);
  if (::close(fd) != 0) fail("writing", false);
  if (::rename(temp.c_str(), target.c_str()) != 0) fail("replacing", false);
}

QuantizedWeight QuantizedWeight::load(const std::string& path) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it. Symlinks
  // are followed: model hubs keep weights as links into a blob store.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) throw Error("cannot open '" + path + "' for reading: " + std::strerror(errno));
  std::vector<uint8_t> bytes;
  try {
    struct stat st;
    if (::fstat(fd, &st) != 0) throw Error("cannot stat '" + path + "': " + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) throw Error("'" + path + "' is not a regular file");
    if (uint64_t(st.st_size) > kMaxFileBytes)
      throw Error("'" + path + "' is " + decimal(uint64_t(st.st_size)) + " bytes, above the " +
                  decimal(kMaxFileBytes) + "-byte limit for one weight file");
    bytes.resize(size_t(st.st_size));
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::pread(fd, bytes.data() + done, bytes.size() - done, off_t(done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw Error("cannot read '" + path + "': " + std::strerror(errno));
      if (n == 0) throw Error("'" + path + "' shrank while being read");
      done += size_t(n);
    }
  } catch (const std::bad_alloc&) {
    ::close(fd);
    throw Error("'" + path + "': out of memory reading " + decimal(bytes.capacity()) + " bytes");
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  try {
    return fromSafetensors(bytes.data(), bytes.size());
  } catch (const Error& e) {
    throw Error("'" + path + "': " + e.what());
  }
}

}  // namespace uintx
