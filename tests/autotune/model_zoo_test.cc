// The built-in model zoo: every family the benchmark promises, shapes that follow from each
// model's config, selection by name, and clear errors for a malformed zoo file.
#include <doctest/doctest.h>

#include <map>
#include <set>

#include "autotune/model_zoo.h"
#include "autotune/tune_cli.h"
#include "uintx/error.h"

using namespace uintx;
using namespace uintx::autotune;

namespace {

const ZooLayer& layerNamed(const std::string& name) {
  for (const ZooLayer& l : modelZoo())
    if (l.name() == name) return l;
  FAIL("no zoo layer " << name);
  throw 0;
}

}  // namespace

TEST_CASE("the built-in zoo holds every promised model, with shapes from their configs") {
  std::set<std::string> models;
  for (const ZooLayer& l : modelZoo()) models.insert(l.model);
  for (const char* m : {"llama3.1-8b", "llama3.1-70b", "qwen2.5-7b", "qwen2.5-32b", "gemma2-9b", "phi3-mini",
                        "mixtral-8x7b", "llama3.1-70b-tp2", "llama3.1-70b-tp4", "llama3.1-70b-tp8"})
    CHECK_MESSAGE(models.count(m), m);
  // Llama-3.1-70B: hidden 8192, 64 query and 8 key/value heads of 128, MLP 28672.
  CHECK(layerNamed("llama3.1-70b.qkv").N == (64 + 2 * 8) * 128);
  CHECK(layerNamed("llama3.1-70b.down").K == 28672);
  // Tensor-parallel shards: column-parallel layers split N, row-parallel layers split K.
  for (int tp : {2, 4, 8}) {
    const std::string shard = "llama3.1-70b-tp" + std::to_string(tp) + ".";
    for (const char* column : {"qkv", "gate_up", "gate"}) {
      CHECK(layerNamed(shard + column).N * tp == layerNamed(std::string("llama3.1-70b.") + column).N);
      CHECK(layerNamed(shard + column).K == layerNamed(std::string("llama3.1-70b.") + column).K);
    }
    for (const char* row : {"o", "down"}) {
      CHECK(layerNamed(shard + row).K * tp == layerNamed(std::string("llama3.1-70b.") + row).K);
      CHECK(layerNamed(shard + row).N == layerNamed(std::string("llama3.1-70b.") + row).N);
    }
  }
  // Every K takes group sizes 64 and 128 (the benchmark's W2 and W4 formats).
  for (const ZooLayer& l : modelZoo()) CHECK_MESSAGE(l.K % 128 == 0, l.name());
}

TEST_CASE("zoo selection by family, model, kind or layer; unknown names are errors") {
  const auto& zoo = modelZoo();
  CHECK(selectZooLayers(zoo, "").size() == zoo.size());
  auto downs = selectZooLayers(zoo, "down");
  CHECK(downs.size() >= 8);
  for (const ZooLayer& l : downs) CHECK(l.kind == "down");
  auto mixed = selectZooLayers(zoo, "phi3-mini,phi,phi3-mini.o");
  CHECK(mixed.size() == 6);  // each layer once
  CHECK_THROWS_WITH_AS(selectZooLayers(zoo, "llama4"), doctest::Contains("llama4"), Error);
  // Shapes shared by several layers are listed once, with every layer's name.
  auto shapes = distinctShapes(selectZooLayers(zoo, "llama3.1-8b,mixtral-8x7b"));
  std::map<std::pair<int64_t, int64_t>, int> seen;
  for (const ZooShape& s : shapes) CHECK(++seen[{s.N, s.K}] == 1);
  bool shared = false;
  for (const ZooShape& s : shapes)
    if (s.N == 14336 && s.K == 4096) shared = s.layers == "llama3.1-8b.gate;mixtral-8x7b.expert_w1";
  CHECK(shared);
}

TEST_CASE("a malformed zoo names its line") {
  CHECK_THROWS_WITH_AS(parseModelZoo("family,model,layer,kind,N,K\na,b,c,d,4096\n"),
                       doctest::Contains("line 2"), Error);
  CHECK_THROWS_WITH_AS(parseModelZoo("# c\nfamily,model,layer,kind,N,K\na,b,c,d,4096,-1\n"),
                       doctest::Contains("line 3"), Error);
  CHECK_THROWS_WITH_AS(parseModelZoo("a,b,c,d,1,1\n"), doctest::Contains("header"), Error);
  CHECK_THROWS_WITH_AS(parseModelZoo("family,model,layer,kind,N,K\n,b,c,d,1,1\n"), doctest::Contains("empty"),
                       Error);
  CHECK(parseModelZoo("family,model,layer,kind,N,K\na,b,c,d,16,32\n").at(0).K == 32);
}

TEST_CASE("uintx-tune --zoo plans the zoo's distinct shapes") {
  ParsedTuneArgs parsed = parseTuneArgs({"--zoo", "llama3.1-8b", "--bits", "4", "--group-size", "128", "--batch", "1"});
  REQUIRE(parsed.options);
  CHECK(parsed.options->shapes.size() == distinctShapes(selectZooLayers(modelZoo(), "llama3.1-8b")).size());
  ParsedTuneArgs all = parseTuneArgs({"--zoo", "all", "--int8-dynamic", "--shapes", "64x64"});
  REQUIRE(all.options);
  CHECK(all.options->shapes.size() == distinctShapes(modelZoo()).size() + 1);
  ParsedTuneArgs bad = parseTuneArgs({"--zoo", "gpt5", "--bits", "4", "--group-size", "128"});
  CHECK(!bad.options);
  CHECK(bad.error.find("gpt5") != std::string::npos);
}
