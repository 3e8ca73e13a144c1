#include "tools/cli/exit_status.h"

#include <new>
#include <ostream>
#include <stdexcept>

#include "isa/program.h"
#include "sim/base/config.h"
#include "sim/base/fault.h"
#include "tools/cli/commands.h"
#include "tools/compiler/graph.h"
#include "tools/tensor_io/npy.h"

namespace tpu::cli {

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
