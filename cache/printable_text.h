// Text from a cache file (GPU names, keys, dates) as it may be printed to a terminal or log.
#pragma once
#include <string>
#include <string_view>

namespace uintx::cache {

// Bytes outside printable ASCII (controls, DEL, every byte >= 0x80) become "\xNN" and '\' becomes
// "\\", so a file cannot move the cursor, retitle the terminal or forge log lines. Text longer
// than maxChars is cut and ends in "...".
std::string printableText(std::string_view text, size_t maxChars = 200);

}  // namespace uintx::cache
