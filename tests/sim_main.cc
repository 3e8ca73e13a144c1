// main() for test binaries that simulate: gtest's, plus the sc_main symbol
// Debian's libsystemc.so needs (its own main() is not used).

#include <gtest/gtest.h>

#include <cstdlib>

extern "C" int sc_main(int, char**) { return 1; }

int main(int argc, char** argv) {
  setenv("SYSTEMC_DISABLE_COPYRIGHT_MESSAGE", "1", 1);
  testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
