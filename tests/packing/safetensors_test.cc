// safetensors round trips, and hostile inputs: every truncation, random byte flips, foreign files.
// Run under AddressSanitizer: bazel test --config=asan //tests/packing:safetensors_test
#include <doctest/doctest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <csignal>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "packing/quantize.h"
#include "tests/packing/test_util.h"
#include "uintx/error.h"

using namespace uintx;

static QuantizedWeight smallWeight(int bits, int group, int pb, ScalarType dt, bool withBias) {
  const int64_t N = 6, K = 128;
  std::vector<float> w = testing::randomNormal(size_t(N * K), uint32_t(bits + pb));
  std::vector<float> bias = testing::randomNormal(size_t(N), 17);
  return quantize(w.data(), N, K, {bits, group, pb, dt}, withBias ? bias.data() : nullptr);
}

static void checkSame(const QuantizedWeight& a, const QuantizedWeight& b) {
  const WeightFormat &fa = a.format(), &fb = b.format();
  CHECK(fa.bit_width == fb.bit_width);
  CHECK(fa.group_size == fb.group_size);
  CHECK(fa.packing_bitwidth == fb.packing_bitwidth);
  CHECK(fa.N == fb.N);
  CHECK(fa.K == fb.K);
  CHECK(fa.scale_dtype == fb.scale_dtype);
  auto bytes = [](const uint8_t* p, size_t n) { return std::vector<uint8_t>(p, p + n); };
  CHECK(bytes(a.packedData(), a.packedBytes()) == bytes(b.packedData(), b.packedBytes()));
  CHECK(bytes(a.scalesData(), a.scalesBytes()) == bytes(b.scalesData(), b.scalesBytes()));
  CHECK(bytes(a.zerosData(), a.zerosBytes()) == bytes(b.zerosData(), b.zerosBytes()));
  CHECK(bytes(a.biasData(), a.biasBytes()) == bytes(b.biasData(), b.biasBytes()));
}

static std::vector<uint8_t> fileBytes(const std::string& header, const std::vector<uint8_t>& body) {
  std::vector<uint8_t> out(8);
  for (int i = 0; i < 8; ++i) out[size_t(i)] = uint8_t(uint64_t(header.size()) >> (8 * i));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

// Loading either works or throws uintx::Error; anything else (a crash, another exception) fails.
static bool loadsOrThrowsError(const std::vector<uint8_t>& bytes) {
  try {
    QuantizedWeight w = QuantizedWeight::fromSafetensors(bytes.data(), bytes.size());
    (void)w.dequantize();
    return true;
  } catch (const Error&) {
    return false;
  }
}

TEST_CASE("round trip through bytes and through a file") {
  for (auto [bits, group, pb] : {std::tuple{4, 64, 32}, std::tuple{8, 0, 8}, std::tuple{2, 32, 16}, std::tuple{3, 128, 32}, std::tuple{1, 32, 8}}) {
    for (ScalarType dt : {ScalarType::bf16, ScalarType::f16, ScalarType::f32}) {
      for (bool withBias : {false, true}) {
        QuantizedWeight q = smallWeight(bits, group, pb, dt, withBias);
        std::vector<uint8_t> bytes = q.toSafetensors();
        checkSame(q, QuantizedWeight::fromSafetensors(bytes.data(), bytes.size()));
      }
    }
  }
  QuantizedWeight q = smallWeight(4, 64, 32, ScalarType::bf16, true);
  std::string path = std::string(std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp") + "/w.safetensors";
  q.save(path);
  checkSame(q, QuantizedWeight::load(path));
  CHECK_THROWS_WITH_AS(QuantizedWeight::load(path + ".missing"), doctest::Contains("cannot open"), Error);
}

TEST_CASE("the file is standard safetensors with the documented header") {
  QuantizedWeight q = smallWeight(4, 64, 32, ScalarType::bf16, true);
  std::vector<uint8_t> bytes = q.toSafetensors();
  uint64_t len = 0;
  for (int i = 0; i < 8; ++i) len |= uint64_t(bytes[size_t(i)]) << (8 * i);
  CHECK((8 + len) % 8 == 0);
  auto header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + ptrdiff_t(len));
  CHECK(header["__metadata__"]["format"] == "uintx.quantized_weight");
  CHECK(header["__metadata__"]["format_version"] == "1");
  CHECK(header["__metadata__"]["bit_width"] == "4");
  CHECK(header["__metadata__"]["group_size"] == "64");
  CHECK(header["__metadata__"]["packing_bitwidth"] == "32");
  CHECK(header["__metadata__"]["N"] == "6");
  CHECK(header["__metadata__"]["K"] == "128");
  CHECK(header["qweight"]["dtype"] == "U32");
  CHECK(header["qweight"]["shape"] == nlohmann::json::array({6, 16}));
  CHECK(header["scales"]["shape"] == nlohmann::json::array({6, 2}));
  CHECK(header["zeros"]["dtype"] == "BF16");
  CHECK(header["bias"]["shape"] == nlohmann::json::array({6}));
  // qweight's bytes are the packed words as they are.
  uint64_t begin = header["qweight"]["data_offsets"][0];
  CHECK(std::memcmp(bytes.data() + 8 + len + begin, q.packedData(), q.packedBytes()) == 0);
}

TEST_CASE("every truncation is a clear error") {
  QuantizedWeight q = smallWeight(4, 64, 32, ScalarType::bf16, true);
  std::vector<uint8_t> bytes = q.toSafetensors();
  for (size_t len = 0; len < bytes.size(); ++len) {
    // A copy of exactly `len` bytes, so AddressSanitizer sees any read past the end.
    std::vector<uint8_t> cut(bytes.begin(), bytes.begin() + ptrdiff_t(len));
    CAPTURE(len);
    CHECK_THROWS_AS(QuantizedWeight::fromSafetensors(cut.data(), cut.size()), Error);
  }
  std::vector<uint8_t> cut(bytes.begin(), bytes.end() - 1);
  CHECK_THROWS_WITH_AS(QuantizedWeight::fromSafetensors(cut.data(), cut.size()), doctest::Contains("truncated"), Error);
}

TEST_CASE("random byte flips never crash") {
  std::mt19937 rng(2024);
  for (auto [bits, group, pb] : {std::tuple{4, 64, 32}, std::tuple{8, 0, 8}, std::tuple{3, 32, 16}}) {
    const std::vector<uint8_t> bytes = smallWeight(bits, group, pb, ScalarType::bf16, true).toSafetensors();
    uint64_t headerEnd = 8;
    for (int i = 0; i < 8; ++i) headerEnd += uint64_t(bytes[size_t(i)]) << (8 * i);
    int loaded = 0, rejected = 0;
    for (int trial = 0; trial < 1500; ++trial) {
      std::vector<uint8_t> m = bytes;
      int flips = 1 + int(rng() % 4);
      for (int f = 0; f < flips; ++f) {
        // Half the flips land in the header, where they matter most.
        size_t pos = trial % 2 ? rng() % headerEnd : rng() % m.size();
        m[pos] = trial % 3 ? uint8_t(m[pos] ^ (1u << (rng() % 8))) : uint8_t(rng());
      }
      if (trial % 7 == 0) m.resize(rng() % m.size());
      (loadsOrThrowsError(m) ? loaded : rejected)++;
    }
    MESSAGE("flips: " << loaded << " loaded, " << rejected << " rejected");
    CHECK(rejected > 0);
    CHECK(loaded > 0);
  }
}

TEST_CASE("foreign and inconsistent files are rejected with the reason") {
  auto load = [](const std::vector<uint8_t>& b) { return QuantizedWeight::fromSafetensors(b.data(), b.size()); };
  std::string text = "hello, this is not a safetensors file at all";
  CHECK_THROWS_WITH_AS(load(std::vector<uint8_t>(text.begin(), text.end())), doctest::Contains("header length"), Error);
  CHECK_THROWS_WITH_AS(load({1, 2, 3}), doctest::Contains("too short"), Error);
  CHECK_THROWS_WITH_AS(load(fileBytes("{not json", {})), doctest::Contains("not valid JSON"), Error);
  CHECK_THROWS_WITH_AS(load(fileBytes("[1, 2]", {})), doctest::Contains("not a JSON object"), Error);
  // A valid safetensors file of someone else's model.
  std::vector<uint8_t> body(16, 0);
  CHECK_THROWS_WITH_AS(load(fileBytes(R"({"weight": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}})", body)),
                       doctest::Contains("not a uintx weight file"), Error);
  CHECK_THROWS_WITH_AS(load(fileBytes(R"({"__metadata__": {"format": "pt"}})", {})), doctest::Contains("format = 'pt'"), Error);

  // Edit a good header one field at a time.
  QuantizedWeight q = smallWeight(4, 64, 32, ScalarType::bf16, false);
  std::vector<uint8_t> good = q.toSafetensors();
  uint64_t len = 0;
  for (int i = 0; i < 8; ++i) len |= uint64_t(good[size_t(i)]) << (8 * i);
  const nlohmann::json header = nlohmann::json::parse(good.begin() + 8, good.begin() + 8 + ptrdiff_t(len));
  const std::vector<uint8_t> data(good.begin() + 8 + ptrdiff_t(len), good.end());
  auto edited = [&](auto edit) {
    nlohmann::json h = header;
    edit(h);
    return fileBytes(h.dump(), data);
  };
  CHECK_NOTHROW(load(edited([](nlohmann::json&) {})));
  CHECK_THROWS_WITH_AS(load(edited([](auto& h) { h["__metadata__"]["format_version"] = "2"; })), doctest::Contains("version '2'"), Error);
  CHECK_THROWS_WITH_AS(load(edited([](auto& h) { h["__metadata__"]["bit_width"] = "7"; })), doctest::Contains("unknown bit width 7"), Error);
  CHECK_THROWS_WITH_AS(load(edited([](auto& h) { h["__metadata__"]["bit_width"] = "4x"; })), doctest::Contains("'bit_width' = '4x' is not an integer"), Error);
  CHECK_THROWS_WITH_AS(load(edited([](auto& h) { h["__metadata__"]["K"] = 128; })), doctest::Contains("'K' is not a string"), Error);
  CHECK_THROWS_WITH_AS(load(edited([](auto& h) { h["__metadata__"]["group_size"] = "48"; })), doctest::Contains("group_size = 48"), Error);
  CHECK_THROWS_WITH_AS(load(edited([](auto& h) { h["__metadata__"]["N"] = "99999999999999"; })), doctest::Contains("N = 99999999999999 is invalid"), Error);
  CHECK_THROWS_WITH_AS(load(edited([](auto& h) { h["__metadata__"]["N"] = "7"; })), doctest::Contains("shape [6,16] does not match"), Error);
  CHECK_THROWS_WITH_AS(load(edited([](auto& h) { h["scales"]["dtype"] = "F16"; })), doctest::Contains("dtype \"F16\" does not match"), Error);
  CHECK_THROWS_WITH_AS(load(edited([](auto& h) { h["qweight"]["data_offsets"][1] = 1u << 30; })), doctest::Contains("outside the"), Error);
  CHECK_THROWS_WITH_AS(load(edited([](auto& h) { h["qweight"]["data_offsets"][0] = 4; })), doctest::Contains("its shape needs 384"), Error);
  CHECK_THROWS_WITH_AS(load(edited([](auto& h) { h["qweight"]["data_offsets"] = {-1, 2}; })), doctest::Contains("pair of unsigned"), Error);
  CHECK_THROWS_WITH_AS(load(edited([](auto& h) { h.erase("zeros"); })), doctest::Contains("tensor 'zeros' is missing"), Error);
  CHECK_THROWS_WITH_AS(load(edited([](auto& h) { h["extra"] = h["scales"]; })), doctest::Contains("unexpected tensor 'extra'"), Error);
  CHECK_THROWS_WITH_AS(load(edited([](auto& h) { h["qweight"] = 3; })), doctest::Contains("needs dtype, shape and data_offsets"), Error);
}

// A good file split into its header (parsed) and data section, to be edited and reassembled.
struct SplitFile {
  nlohmann::json header;
  std::vector<uint8_t> data;
};
static SplitFile splitFile(const std::vector<uint8_t>& bytes) {
  uint64_t len = 0;
  for (int i = 0; i < 8; ++i) len |= uint64_t(bytes[size_t(i)]) << (8 * i);
  return {nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + ptrdiff_t(len)),
          std::vector<uint8_t>(bytes.begin() + 8 + ptrdiff_t(len), bytes.end())};
}

static std::string nested(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST_CASE("a header nested 200k deep is an error, not a stack overflow") {
  auto load = [](const std::vector<uint8_t>& b) { return QuantizedWeight::fromSafetensors(b.data(), b.size()); };
  const std::string deep = nested(200000);
  // In a place whose value an error message prints (a dtype that does not match), and as the
  // whole header.
  const SplitFile good = splitFile(smallWeight(4, 64, 32, ScalarType::bf16, false).toSafetensors());
  nlohmann::json h = good.header;
  h["scales"]["dtype"] = "@deep@";
  std::string text = h.dump();
  text.replace(text.find("\"@deep@\""), 8, deep);
  CHECK_THROWS_WITH_AS(load(fileBytes(text, good.data)), doctest::Contains("nested deeper than"), Error);
  CHECK_THROWS_WITH_AS(load(fileBytes(deep, {})), doctest::Contains("nested deeper than"), Error);
  // A NUL ends nlohmann's input: bytes after it would be hidden in an accepted header.
  CHECK_THROWS_WITH_AS(load(fileBytes(good.header.dump() + std::string(1, '\0') + "{\"x\": 1}", good.data)),
                       doctest::Contains("NUL byte"), Error);
  // Brackets inside strings are text, not nesting.
  CHECK_THROWS_WITH_AS(load(fileBytes(R"({"__metadata__": {"format": ")" + deep + R"("}})", {})),
                       doctest::Contains("not a uintx weight file"), Error);
}

TEST_CASE("error messages print at most a short escaped prefix of untrusted text") {
  auto load = [](const std::vector<uint8_t>& b) { return QuantizedWeight::fromSafetensors(b.data(), b.size()); };
  const SplitFile good = splitFile(smallWeight(4, 64, 32, ScalarType::bf16, false).toSafetensors());
  nlohmann::json h = good.header;
  h["scales"]["dtype"] = std::string(100000, 'x');
  try {
    load(fileBytes(h.dump(), good.data));
    FAIL("a 100000-character dtype was accepted");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).size() < 400);
  }
  h = good.header;
  h["\x1b[2Jevil"] = h["scales"];
  try {
    load(fileBytes(h.dump(), good.data));
    FAIL("an unknown tensor was accepted");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find('\x1b') == std::string::npos);
    CHECK(std::string(e.what()).find("\\u001b[2Jevil") != std::string::npos);
  }
}

TEST_CASE("the data section must be exactly the tensors, contiguous, in offset order") {
  auto load = [](const std::vector<uint8_t>& b) { return QuantizedWeight::fromSafetensors(b.data(), b.size()); };
  const SplitFile good = splitFile(smallWeight(4, 64, 32, ScalarType::bf16, true).toSafetensors());
  CHECK_NOTHROW(load(fileBytes(good.header.dump(), good.data)));
  // Header length one byte short: the header's last byte becomes data.
  {
    std::string text = good.header.dump() + " ";
    std::vector<uint8_t> bytes = fileBytes(text, good.data);
    bytes[0] = uint8_t(bytes[0] - 1);
    CHECK_THROWS_WITH_AS(load(bytes), doctest::Contains("1 byte(s) after the last tensor"), Error);
  }
  // Trailing garbage after the last tensor.
  {
    std::vector<uint8_t> data = good.data;
    data.push_back(0xAB);
    CHECK_THROWS_WITH_AS(load(fileBytes(good.header.dump(), data)), doctest::Contains("1 byte(s) after the last tensor"), Error);
  }
  // A gap between two tensors.
  {
    nlohmann::json h = good.header;
    std::vector<uint8_t> data = good.data;
    const uint64_t scalesBegin = h["scales"]["data_offsets"][0];
    data.insert(data.begin() + ptrdiff_t(scalesBegin), 8, 0xCD);
    for (const char* name : {"scales", "zeros", "bias"})
      for (int i : {0, 1}) h[name]["data_offsets"][i] = h[name]["data_offsets"][i].get<uint64_t>() + 8;
    const std::string expected = "expected " + std::to_string(scalesBegin);
    CHECK_THROWS_WITH_AS(load(fileBytes(h.dump(), data)), doctest::Contains(expected.c_str()), Error);
  }
  // Two tensors sharing bytes: zeros read from the scales' bytes, the data section one tensor shorter.
  {
    nlohmann::json h = good.header;
    std::vector<uint8_t> data = good.data;
    const uint64_t zerosBegin = h["zeros"]["data_offsets"][0], zerosEnd = h["zeros"]["data_offsets"][1];
    const uint64_t zerosBytes = zerosEnd - zerosBegin;
    data.erase(data.begin() + ptrdiff_t(zerosBegin), data.begin() + ptrdiff_t(zerosEnd));
    h["zeros"]["data_offsets"] = h["scales"]["data_offsets"];
    for (int i : {0, 1}) h["bias"]["data_offsets"][i] = h["bias"]["data_offsets"][i].get<uint64_t>() - zerosBytes;
    CHECK_THROWS_WITH_AS(load(fileBytes(h.dump(), data)), doctest::Contains("overlap"), Error);
  }
}

static std::string tempPath(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  return std::string(base ? base : "/tmp") + "/" + name;
}

TEST_CASE("load reads only regular files and fails with uintx::Error otherwise") {
  const std::string fifo = tempPath("weights.fifo");
  ::unlink(fifo.c_str());
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_THROWS_WITH_AS(QuantizedWeight::load(fifo), doctest::Contains("not a regular file"), Error);
  CHECK_THROWS_WITH_AS(QuantizedWeight::load("/dev/zero"), doctest::Contains("not a regular file"), Error);
  const std::string dir = tempPath("weights.dir");
  ::mkdir(dir.c_str(), 0700);
  CHECK_THROWS_WITH_AS(QuantizedWeight::load(dir), doctest::Contains("not a regular file"), Error);
  // A symlink to a good file loads (model hubs keep weights as links into a blob store).
  const std::string real = tempPath("weights.real"), link = tempPath("weights.link");
  smallWeight(4, 64, 32, ScalarType::bf16, false).save(real);
  ::unlink(link.c_str());
  REQUIRE(::symlink(real.c_str(), link.c_str()) == 0);
  CHECK_NOTHROW(QuantizedWeight::load(link));
}

TEST_CASE("save writes regular files only and reports every failed write") {
  const std::vector<float> w = testing::randomNormal(32, 3);
  const QuantizedWeight small = quantize(w.data(), 1, 32, {4, 32, 32, ScalarType::bf16});  // a file of < 1 KiB
  REQUIRE(small.toSafetensors().size() < 1024);  // below the size an ofstream writes through
  // A FIFO without a reader: the save blocked forever in open(); now an error at once.
  const std::string fifo = tempPath("save.fifo");
  ::unlink(fifo.c_str());
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_THROWS_WITH_AS(small.save(fifo), doctest::Contains("is not a regular file"), Error);
  struct stat st;
  REQUIRE(::stat(fifo.c_str(), &st) == 0);
  CHECK(S_ISFIFO(st.st_mode));  // left as it was
  // /dev/full fails every write; the ofstream's buffered bytes failed only in its destructor,
  // after the last check, so the save "succeeded".
  CHECK_THROWS_WITH_AS(small.save("/dev/full"), doctest::Contains("is not a regular file"), Error);
  const std::string dir = tempPath("save.dir");
  ::mkdir(dir.c_str(), 0700);
  CHECK_THROWS_WITH_AS(small.save(dir), doctest::Contains("is not a regular file"), Error);
  // A regular file whose writes fail (a file size limit of 100 bytes, in a child process so the
  // limit does not reach this process's log): the save must say so, and leave the file it was
  // to replace whole.
  const std::string limited = tempPath("save.limited");
  const QuantizedWeight previous = smallWeight(4, 64, 32, ScalarType::bf16, true);
  previous.save(limited);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::signal(SIGXFSZ, SIG_IGN);  // a write past the limit fails with EFBIG instead of killing
    struct rlimit limit = {100, 100};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    try {
      small.save(limited);
      ::_exit(1);
    } catch (const Error& e) {
      ::_exit(std::string(e.what()).find("writing '" + limited + "' failed") != std::string::npos ? 0 : 2);
    }
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  checkSame(previous, QuantizedWeight::load(limited));  // not cut: the previous file
  // No temporary file is left beside it.
  const std::string dirOf = limited.substr(0, limited.rfind('/'));
  int leftovers = 0;
  for (const auto& e : std::filesystem::directory_iterator(dirOf))
    leftovers += e.path().filename().string().rfind(".uintx-save-", 0) == 0;
  CHECK(leftovers == 0);
  // A good save over an existing file replaces it whole; through a symbolic link, its target.
  small.save(limited);
  checkSame(small, QuantizedWeight::load(limited));
  const std::string link = tempPath("save.link");
  ::unlink(link.c_str());
  REQUIRE(::symlink(limited.c_str(), link.c_str()) == 0);
  previous.save(link);
  REQUIRE(::lstat(link.c_str(), &st) == 0);
  CHECK(S_ISLNK(st.st_mode));
  checkSame(previous, QuantizedWeight::load(limited));
}
