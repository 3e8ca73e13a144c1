#include "tools/cli/exit_status.h"

#include <new>
#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "isa/program.h"
#include "isa/text.h"
#include "sim/base/config.h"
#include "sim/base/fault.h"
#include "tools/cli/commands.h"
#include "tools/compiler/graph.h"
#include "tools/tensor_io/npy.h"

namespace tpu::cli {

namespace {

// "unknown option '--confg'; did you mean '--config'?" and the like for the
// first word `at` (the innermost subcommand given) could not place; empty when
// that word is neither a long option nor a subcommand's name.
std::string unknown_name(const CLI::App& at) {
  const std::vector<std::string> extra = at.remaining();
  if (extra.empty() || extra.front().empty()) return "";
  const std::string& word = extra.front();
  std::vector<std::string> names;
  if (word.rfind("--", 0) == 0) {
    const std::string option = word.substr(0, word.find('='));
    for (const CLI::Option* o : at.get_options())
      for (const std::string& name : o->get_lnames()) names.push_back("--" + name);
    return "unknown option '" + option + "'" + isa::did_you_mean(option, {names.begin(), names.end()});
  }
  if (word[0] == '-') return "";
  for (const CLI::App* sub : at.get_subcommands([](const CLI::App*) { return true; })) names.push_back(sub->get_name());
  if (names.empty()) return "";
  const std::string suggestion = isa::did_you_mean(word, {names.begin(), names.end()});
  if (!suggestion.empty()) return "unknown subcommand '" + word + "'" + suggestion;
  std::string all;
  for (const std::string& name : names) all += (all.empty() ? "" : ", ") + name;
  return "unknown subcommand '" + word + "'; the subcommands are " + all;
}

}  // namespace

int report_usage_error(const CLI::App& app, const CLI::ParseError& error, std::ostream& out, std::ostream& err) {
  if (error.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(error, out, err);  // --help
  const CLI::App* at = &app;
  std::string command = "tpusim";
  while (!at->get_subcommands().empty()) {
    at = at->get_subcommands().front();
    command += " " + at->get_name();
  }
  const std::string unknown = unknown_name(*at);
  const std::string where = at == &app ? "" : command + ": ";
  err << "error: " << (unknown.empty() ? std::string(error.what()) : where + unknown) << "\n"
      << "Run '" << command << " --help' for more information.\n";
  return 1;
}

int report_error(std::exception_ptr error, std::ostream& err) {
  try {
    std::rethrow_exception(error);
  } catch (const CommandExit& e) {
    return e.status;
  } catch (const isa::ProgramError& e) {
    err << "error: " << e.what() << "\n";
    return 1;
  } catch (const tensor_io::TensorFileError& e) {
    err << "error: " << e.what() << "\n";
    return 1;
  } catch (const compiler::ModelError& e) {
    err << "model error: " << e.what() << "\n";
    return 1;
  } catch (const sim::ConfigError& e) {
    err << "configuration error:\n" << e.what() << "\n";
    return 2;
  } catch (const std::runtime_error& e) {
    err << "error: " << e.what() << "\n";
    return 1;
  } catch (const std::invalid_argument& e) {
    err << "error: " << e.what() << "\n";
    return 1;
  } catch (const sim::InternalError& e) {
    err << "internal error: " << e.what() << " (a bug in tpusim: please report it)\n";
    return 4;
  } catch (const std::bad_alloc&) {
    err << "error: out of memory: the model or program needs more memory than this machine has\n";
    return 1;
  } catch (const std::exception& e) {
    err << "internal error: " << e.what() << " (a bug in tpusim: please report it)\n";
    return 4;
  } catch (...) {
    err << "internal error: an exception of unknown type (a bug in tpusim: please report it)\n";
    return 4;
  }
}

}  // namespace tpu::cli
