// Reading JSON from a file someone else may have written. nlohmann's parser is iterative,
// but dump() and comparisons recurse once per nesting level: bound the depth before parsing,
// and print values only as short escaped excerpts.
#pragma once
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace uintx {

// Our files (config caches, safetensors headers) nest a few levels; much deeper is not ours.
constexpr int kMaxJsonDepth = 32;

// The deepest [ / { nesting of JSON text, counting brackets outside strings only; counting
// stops once it passes `limit`.
int jsonNestingDepth(std::string_view text, int limit = kMaxJsonDepth);

// nlohmann's lexer takes a NUL byte for the end of its input, so whatever follows one would be
// ignored rather than refused: text from a file with a NUL in it is not JSON to us.
inline bool hasNulByte(std::string_view text) { return text.find('\0') != std::string_view::npos; }

// `value` as compact ASCII JSON (controls escaped), at most maxChars of it, then "...".
// Call only on values of depth-checked documents.
std::string jsonExcerpt(const nlohmann::json& value, size_t maxChars = 48);

}  // namespace uintx
