#pragma once

// Small text utilities shared by the assembler, the disassembler and the
// command line: nearest-name suggestions and string quoting.

#include <string>
#include <string_view>
#include <vector>

namespace tpu::isa {

// The candidate closest to `word` by edit distance, or empty when none is close
// enough to be a plausible typo.
std::string nearest(std::string_view word, const std::vector<std::string_view>& candidates);

// "; did you mean 'x'?" for the nearest candidate, or empty.
std::string did_you_mean(std::string_view word, const std::vector<std::string_view>& candidates);

// A double-quoted string literal with \" \\ \n \t and \xNN escapes.
std::string quote(std::string_view s);

}  // namespace tpu::isa
