// Every kind of mistake in an .s file gets file:line:column, a message that
// says what is wrong, and a suggestion where one exists.

#include <gtest/gtest.h>

#include "isa/assembler.h"

namespace tpu::isa {
namespace {

struct BadSource {
  const char* name;
  std::string source;
  int line;
  int column;
  std::string message;  // must appear in the diagnostic
};

void PrintTo(const BadSource& c, std::ostream* os) { *os << c.name; }

class AssemblerErrors : public testing::TestWithParam<BadSource> {};

TEST_P(AssemblerErrors, NameThePlaceAndTheProblem) {
  const BadSource& c = GetParam();
  const AssembleResult r = assemble(c.source, "bad.s");
  ASSERT_FALSE(r.ok()) << "accepted: " << c.source;
  const Diagnostic& d = r.errors[0];
  EXPECT_EQ(d.file, "bad.s");
  EXPECT_EQ(d.line, c.line) << d.message;
  EXPECT_EQ(d.column, c.column) << d.message;
  EXPECT_NE(d.message.find(c.message), std::string::npos) << "got: " << d.message << "\nwant: " << c.message;
  EXPECT_EQ(r.errors.size(), 1u) << format_diagnostic(r.errors.back());
}

const std::string kHalt = "halt\n";

INSTANTIATE_TEST_SUITE_P(
    Assembler, AssemblerErrors,
    testing::Values(
        BadSource{"UnknownMnemonic", kHalt + "  mmult ub=0\n", 2, 3, "unknown mnemonic 'mmult'; did you mean 'mmul'?"},
        BadSource{"UnknownMnemonicFarFromAny", "frobnicate\n", 1, 1, "unknown mnemonic 'frobnicate'"},
        BadSource{"UnknownOperand", "mmul ub=0 acc=0 rows=1 strid=1\n", 1, 24,
                  "'mmul' has no operand 'strid'; did you mean 'stride'?"},
        BadSource{"ValueOutOfRange", "mmul ub=0 acc=0 rows=65536 stride=1\n", 1, 22,
                  "value 65536 is out of range for 'rows' (16-bit field: 1 to 65535)"},
        BadSource{"CountOfZero", "nop repeat=0\n", 1, 12,
                  "value 0 is out of range for 'repeat' (16-bit field: 1 to 65535)"},
        BadSource{"NegativeUnsigned", "tag id=-1\n", 1, 8,
                  "value -1 is out of range for 'id' (32-bit field: 0 to 4294967295)"},
        BadSource{"SignedTooSmall", "vop add 0 0 0 1 mult=1 za=-129\n", 1, 27,
                  "value -129 is out of range for 'za' (8-bit field: -128 to 127)"},
        BadSource{"MissingRequired", "mmul ub=0 acc=0\n", 1, 1, "'mmul' is missing rows, stride"},
        BadSource{"DuplicateOperand", "tag id=1 id=2\n", 1, 10, "operand 'id' is given twice (first at column 5)"},
        BadSource{"TooManyOperands", "tag 1 2\n", 1, 7, "too many operands for 'tag'"},
        BadSource{"UndefinedSymbol", ".equ ROWS, 4\nnop repeat=ROWZ\n", 2, 12,
                  "undefined symbol 'ROWZ'; did you mean 'ROWS'?"},
        BadSource{"SymbolRedefined", ".equ A, 1\n.equ A, 2\n", 2, 6, "symbol 'A' is already defined at line 1"},
        BadSource{"LabelRedefined", "x: nop\nx: halt\n", 2, 1, "symbol 'x' is already defined at line 1"},
        BadSource{"BadEnumName", "act 0 0 1 1 1 func=relux mult=1\n", 1, 20,
                  "'relux' is not one of identity, relu, relu6, sigmoid, tanh, gelu; did you mean 'relu'?"},
        BadSource{"MaskNamesControl", "sync units=matrix|control\n", 1, 19, "'control' cannot be named in 'units'"},
        BadSource{"FlagWithValue", "mmul 0 0 1 1 accumulate=2\n", 1, 25,
                  "value 2 is out of range for 'accumulate' (1-bit field: 0 or 1)"},
        BadSource{"MalformedNumber", "tag id=0x1g\n", 1, 8, "malformed number '0x1g'"},
        BadSource{"NumberTooLarge", "tag id=99999999999999999999\n", 1, 8, "does not fit in 63 bits"},
        BadSource{"DivisionByZero", "tag id=4/0\n", 1, 9, "division by zero"},
        BadSource{"UnbalancedParenthesis", "tag id=(1+2\n", 1, 8, "unclosed '('"},
        BadSource{"UnmatchedParenthesis", "tag id=1+2)\n", 1, 11, "unmatched ')'"},
        BadSource{"TrailingGarbage", "tag id=3$\n", 1, 9, "unexpected '$'"},
        BadSource{"MissingValueAfterEquals", "tag id=\n", 1, 7, "missing value after '='"},
        BadSource{"UnterminatedString", ".meta k \"open\n", 1, 9, "unterminated string"},
        BadSource{"UnknownDirective", ".bytes 1\n", 1, 1, "unknown directive '.bytes'; did you mean '.byte'?"},
        BadSource{"DataInText", ".byte 1\n", 1, 1, "'.byte' places data, which belongs in .dram or .host"},
        BadSource{"InstructionInData", ".dram\nnop\n", 2, 1, "instruction 'nop' in the .dram section"},
        BadSource{"ByteOutOfRange", ".host\n.byte 1, 256\n", 2, 10, "value 256 does not fit in 1 byte (-128 to 255)"},
        BadSource{"OverlappingData", ".host\n.fill 8, 0\n.org 4\n.byte 1\n", 4, 1,
                  "data at 0x4 (1 bytes) in .host overlaps data placed at line 2"},
        BadSource{"OrgInText", ".org 0\n", 1, 1, "'.org' applies to .dram and .host"},
        BadSource{"AlignNotPowerOfTwo", ".dram\n.align 3\n", 2, 8, "alignment 3 is not a power of two"},
        BadSource{"IncbinMissingFile", ".host\n.incbin \"no/such/file.bin\"\n", 2, 9, "cannot open 'no/such/file.bin'"},
        BadSource{"BadTensorDtype", ".tensor x input int8 [1] host=0\n", 1, 17, "unknown dtype 'int8'"},
        BadSource{"BadTensorRole", ".tensor x inout i8 [1] host=0\n", 1, 11, "tensor role must be 'input' or 'output'"},
        BadSource{"TensorWithoutAddress", ".tensor x input i8 [1] scale=1\n", 1, 24, "needs an address"},
        BadSource{"TensorShapeNegative", ".tensor x input i8 [2,-1] host=0\n", 1, 23, "dimension -1 is negative"},
        BadSource{"TensorDeclaredTwice", ".tensor x input i8 [1] host=0\n.tensor x output i8 [1] host=0\n", 2, 9,
                  "tensor 'x' is declared twice"},
        BadSource{"TensorBadScale", ".tensor x input i8 [1] host=0 scale=abc\n", 1, 37, "malformed number 'abc'"},
        BadSource{"BadEscape", ".meta k \"a\\q\"\n", 1, 11, "unknown escape '\\q'"},
        BadSource{"BadLabel", "1x: nop\n", 1, 1, "label '1x' is not an identifier"},
        BadSource{"EquWithoutValue", ".equ X\n", 1, 1, "'.equ' takes a name and a value"},
        BadSource{"ShiftTooFar", "tag id=1<<64\n", 1, 9, "shift count 64 is outside 0 to 63"},
        BadSource{"Overflow", "tag id=0x7fffffffffffffff+1\n", 1, 26, "expression overflows 64 bits"},
        BadSource{"BadRawWord", ".insn 0xzz\n", 1, 7, "'z' is not a hex digit"}),
    [](const testing::TestParamInfo<BadSource>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace tpu::isa
