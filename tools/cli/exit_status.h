#pragma once

// tpusim's exit statuses, as the README states them: 0 success, 1 bad input
// (or not enough memory), 2 bad configuration, 3 the program faulted, 4 an
// internal error (a bug in tpusim). What a subcommand throws maps onto them here.

#include <exception>
#include <iosfwd>

namespace tpu::cli {

// Writes why `error` ended the command to `err` and returns the exit status it calls for.
int report_error(std::exception_ptr error, std::ostream& err);

}  // namespace tpu::cli
