#pragma once

#include <string>

namespace tpu::isa {

// isa/ISA.md: the instruction set reference, generated from isa/isa.def.
std::string reference_markdown();

}  // namespace tpu::isa
