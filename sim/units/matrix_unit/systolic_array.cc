#include "sim/units/matrix_unit/systolic_array.h"

#include <algorithm>
#include <cstring>

namespace tpu::sim {

SystolicArray::SystolicArray(uint64_t rows, uint64_t cols)
    : rows_(rows),
      cols_(cols),
      x_(rows * cols, 0),
      sel_(rows * cols, kBubble),
      tag_(rows * cols, 0),
      psum_(rows * cols, 0),
      chain_(rows * cols, 0),
      skew_(rows) {
  w_[0].assign(rows * cols, 0);
  w_[1].assign(rows * cols, 0);
}

void SystolicArray::step(const Injection* in, std::vector<Output>& outputs) {
  const uint64_t R = rows_, C = cols_;
  // Results computed by the bottom row last cycle leave the array now.
  const uint64_t bottom = (R - 1) * C;
  for (uint64_t c = 0; c < C; ++c) {
    if (sel_[bottom + c] == kBubble) continue;
    outputs.push_back({tag_[bottom + c], static_cast<uint32_t>(c), psum_[bottom + c]});
    // An input retires when it leaves the last column of the bottom row.
    if (c == C - 1) --in_flight_;
  }
  // The vector entering now joins the skew buffer; row k takes element k of
  // the vector that entered k cycles ago.
  Entered& slot = skew_[cycle_ % R];
  if (in != nullptr) {
    slot.x.assign(in->x, in->x + R);
    slot.sel = in->reg;
    slot.tag = in->tag;
    ++in_flight_;
  } else {
    slot.sel = kBubble;
  }
  // Inputs move one column right; partial sums one row down. Rows are updated
  // bottom-up so each reads the row above as it was last cycle.
  for (uint64_t k = R; k-- > 0;) {
    int16_t* x = &x_[k * C];
    uint8_t* sel = &sel_[k * C];
    uint64_t* tag = &tag_[k * C];
    std::memmove(x + 1, x, (C - 1) * sizeof *x);
    std::memmove(sel + 1, sel, (C - 1) * sizeof *sel);
    std::memmove(tag + 1, tag, (C - 1) * sizeof *tag);
    const Entered& e = skew_[(cycle_ + R - k) % R];
    const bool valid = e.sel != kBubble && !(k > cycle_);  // nothing entered before cycle 0
    x[0] = valid ? e.x[k] : 0;
    sel[0] = valid ? e.sel : kBubble;
    tag[0] = valid ? e.tag : 0;
    int32_t* p = &psum_[k * C];
    const int32_t* above = k > 0 ? &psum_[(k - 1) * C] : nullptr;
    const int16_t* w0 = &w_[0][k * C];
    const int16_t* w1 = &w_[1][k * C];
    for (uint64_t c = 0; c < C; ++c) {
      const int32_t w = sel[c] == 1 ? w1[c] : w0[c];
      const int32_t in_sum = above ? above[c] : 0;
      p[c] = static_cast<int32_t>(static_cast<uint32_t>(in_sum) + static_cast<uint32_t>(int32_t(x[c]) * w));
    }
  }
  ++cycle_;
}

void SystolicArray::shift(const int16_t* row) {
  std::memmove(chain_.data() + cols_, chain_.data(), (rows_ - 1) * cols_ * sizeof(int16_t));
  std::memcpy(chain_.data(), row, cols_ * sizeof(int16_t));
}

void SystolicArray::latch(uint8_t reg) { w_[reg] = chain_; }

bool SystolicArray::row0_uses(uint8_t reg) const {
  return std::find(sel_.begin(), sel_.begin() + static_cast<long>(cols_), reg) !=
         sel_.begin() + static_cast<long>(cols_);
}

}  // namespace tpu::sim
