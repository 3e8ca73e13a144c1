#pragma once

// The EIE report's parts: eie_report.cc runs and measures, eie_report_text.cc
// writes the markdown and charts from the figures.

#include "tools/sweep/eie_report.h"

namespace tpu::sweep {

// Fills report->markdown and report->charts from its figures.
void write_eie_text(const EieOptions& options, EieReport* report);

}  // namespace tpu::sweep
