#pragma once

// tpusim's exit statuses, as the README states them: 0 success, 1 bad input
// (or not enough memory), 2 bad configuration, 3 the program faulted, 4 an
// internal error (a bug in tpusim). What a subcommand throws maps onto them here.

#include <exception>
#include <iosfwd>

namespace CLI {
class App;
class ParseError;
}  // namespace CLI

namespace tpu::cli {

// Writes why `error` ended the command to `err` and returns the exit status it calls for.
int report_error(std::exception_ptr error, std::ostream& err);

// What parsing the command line of `app` ended with: a request for help
// (printed to `out`, status 0) or a usage mistake (status 1, bad input), whose
// message names the nearest valid subcommand or option to a mistyped one.
int report_usage_error(const CLI::App& app, const CLI::ParseError& error, std::ostream& out, std::ostream& err);

}  // namespace tpu::cli
