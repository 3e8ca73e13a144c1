// What the assembler accepts, and what it makes of it.

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <stdexcept>

#include "isa/assembler.h"
#include "isa/disassembler.h"
#include "isa/encoding.h"

namespace tpu::isa {
namespace {

// Throws (failing the test) unless the source assembles.
Program assemble_ok(const std::string& source, const std::string& name = "test.s") {
  const AssembleResult r = assemble(source, name);
  if (!r.ok()) throw std::runtime_error(format_diagnostic(r.errors[0]));
  return r.program;
}

Instruction decoded(const Word& w) {
  Instruction insn;
  std::string error;
  EXPECT_TRUE(decode(w, &insn, &error)) << error;
  return insn;
}

TEST(Assembler, NamedOperandsFlagsAndDefaults) {
  const Program p = assemble_ok("mmul ub=0x100 acc=0 rows=200 stride=256 accumulate\n");
  ASSERT_EQ(p.text.size(), 1u);
  MatMulArgs a;
  unpack(p.text[0], a);
  EXPECT_EQ(a.ub, 0x100u);
  EXPECT_EQ(a.rows, 200u);
  EXPECT_EQ(a.stride, 256u);
  EXPECT_EQ(a.lines, 1u);  // default
  EXPECT_TRUE(a.accumulate);
  EXPECT_FALSE(a.swap);
}

TEST(Assembler, PositionalOperandsFillNonFlagFieldsInOrder) {
  const Program named = assemble_ok("rhm host=16 ub=32 len=8 repeat=2\n");
  const Program positional = assemble_ok("rhm 16, 32, 8, 2\n");
  EXPECT_EQ(named.text, positional.text);
  const Program mixed = assemble_ok("rhm 16 len=8 32\n");  // ub is the next free positional field
  EXPECT_EQ(decoded(mixed.text[0]).get("ub"), 32);
}

TEST(Assembler, EnumNamesMasksAndNumbers) {
  const Program p = assemble_ok(
      "act acc=0 ub=0 rows=4 cols=8 stride=8 func=tanh pool=max mult=1<<30 frac=4\n"
      "sync units=matrix|activation\n"
      "vop add 0 0 0 8 mult=-5 func=2\n");
  const Instruction act = decoded(p.text[0]);
  EXPECT_EQ(act.get("func"), static_cast<int64_t>(ActFunc::tanh));
  EXPECT_EQ(act.get("pool"), static_cast<int64_t>(Pool::max));
  EXPECT_EQ(act.get("mult"), int64_t{1} << 30);
  const Instruction sync = decoded(p.text[1]);
  EXPECT_EQ(sync.get("units"), (1 << static_cast<int>(Unit::matrix)) | (1 << static_cast<int>(Unit::activation)));
  const Instruction vop = decoded(p.text[2]);
  EXPECT_EQ(vop.get("op"), static_cast<int64_t>(VecOp::add));
  EXPECT_EQ(vop.get("mult"), -5);
  EXPECT_EQ(vop.get("func"), static_cast<int64_t>(ActFunc::relu6));
}

TEST(Assembler, ExpressionsAndSymbols) {
  const Program p = assemble_ok(
      ".equ ROW, 256\n"
      ".equ BASE, (ROW*4 + 0x10)\n"
      "tag id=BASE\n"
      "nop repeat=(ROW/2)-(1<<2)\n"
      "tag id=0b1010_1010\n"
      "tag id=(0o17 ^ 3)\n"
      "tag id=~0&0xff\n"
      "tag id=-(-7)%4\n");
  EXPECT_EQ(decoded(p.text[0]).get("id"), 1040);
  EXPECT_EQ(decoded(p.text[1]).get("repeat"), 124);
  EXPECT_EQ(decoded(p.text[2]).get("id"), 0xaa);
  EXPECT_EQ(decoded(p.text[3]).get("id"), 0xf ^ 3);
  EXPECT_EQ(decoded(p.text[4]).get("id"), 0xff);
  EXPECT_EQ(decoded(p.text[5]).get("id"), 3);
}

TEST(Assembler, OperatorPrecedenceFollowsC) {
  const Program p = assemble_ok("tag id=2+3*4\ntag id=(2+3)*4\ntag id=1|2&3\ntag id=1<<2+1\ntag id=10-4-3\n");
  EXPECT_EQ(decoded(p.text[0]).get("id"), 14);
  EXPECT_EQ(decoded(p.text[1]).get("id"), 20);
  EXPECT_EQ(decoded(p.text[2]).get("id"), 3);
  EXPECT_EQ(decoded(p.text[3]).get("id"), 8);
  EXPECT_EQ(decoded(p.text[4]).get("id"), 3);
}

TEST(Assembler, LabelsNameDataAddressesAndProgramCounters) {
  const Program p = assemble_ok(
      "start: rhm host=input ub=0 len=input_end-input\n"
      "       rdw dram=w k=2 n=2\n"
      "here:  tag id=here\n"
      "halt\n"
      ".host\n"
      ".org 0x40\n"
      "input: .byte 1, -2, 0xff\n"
      "input_end:\n"
      ".dram\n"
      ".org 0x1000\n"
      "w: .half 0x0201, 0x0403\n");
  EXPECT_EQ(decoded(p.text[0]).get("host"), 0x40);
  EXPECT_EQ(decoded(p.text[0]).get("len"), 3);
  EXPECT_EQ(decoded(p.text[1]).get("dram"), 0x1000);
  EXPECT_EQ(decoded(p.text[2]).get("id"), 2);
  ASSERT_EQ(p.host.segments().size(), 1u);
  EXPECT_EQ(p.host.segments().at(0x40), (std::vector<uint8_t>{1, 0xfe, 0xff}));
  EXPECT_EQ(p.dram.segments().at(0x1000), (std::vector<uint8_t>{1, 2, 3, 4}));
}

TEST(Assembler, DataDirectives) {
  const Program p = assemble_ok(
      ".dram\n"
      ".word 0x04030201, -1\n"
      ".quad 0x0807060504030201\n"
      ".align 32\n"
      ".fill 3, 0x1234, 2\n"
      ".org 0x100\n"
      ".fill 2, 7\n");
  const auto& seg = p.dram.segments();
  ASSERT_EQ(seg.size(), 3u);
  EXPECT_EQ(seg.at(0), (std::vector<uint8_t>{1, 2, 3, 4, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(seg.at(32), (std::vector<uint8_t>{0x34, 0x12, 0x34, 0x12, 0x34, 0x12}));
  EXPECT_EQ(seg.at(0x100), (std::vector<uint8_t>{7, 7}));
}

TEST(Assembler, IncbinReadsRelativeToTheSource) {
  const std::string dir = testing::TempDir();
  {
    std::ofstream f(dir + "blob.bin", std::ios::binary);
    f << "ABCDEFGH";
  }
  const Program p = assemble_ok(".host\n.incbin \"blob.bin\"\n.org 0x20\n.incbin \"blob.bin\", 2, 3\n", dir + "prog.s");
  EXPECT_EQ(p.host.segments().at(0), (std::vector<uint8_t>{'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'}));
  EXPECT_EQ(p.host.segments().at(0x20), (std::vector<uint8_t>{'C', 'D', 'E'}));
  std::remove((dir + "blob.bin").c_str());
}

TEST(Assembler, TensorsAndMetadata) {
  const Program p = assemble_ok(
      ".meta model \"mlp \\\"tiny\\\"\"\n"
      ".meta \"batch size\" \"8\"\n"
      ".tensor x input i8 [8, 784] host=buf scale=0.5 zp=-3\n"
      ".tensor y output i32 [] ub=0x200\n"
      ".host\nbuf: .byte 0\n");
  ASSERT_EQ(p.metadata.size(), 2u);
  EXPECT_EQ(p.metadata[0], (std::pair<std::string, std::string>{"model", "mlp \"tiny\""}));
  EXPECT_EQ(p.metadata[1].first, "batch size");
  ASSERT_EQ(p.tensors.size(), 2u);
  const TensorDesc& x = p.tensors[0];
  EXPECT_EQ(x.name, "x");
  EXPECT_EQ(x.role, TensorRole::kInput);
  EXPECT_EQ(x.dtype, DType::kI8);
  EXPECT_EQ(x.shape, (std::vector<int64_t>{8, 784}));
  EXPECT_EQ(x.space, Space::kHost);
  EXPECT_EQ(x.addr, 0u);
  EXPECT_EQ(x.scale, 0.5);
  EXPECT_EQ(x.zero_point, -3);
  EXPECT_TRUE(p.tensors[1].shape.empty());
  EXPECT_EQ(p.tensors[1].space, Space::kUb);
}

TEST(Assembler, CommentsBlankLinesAndCrlf) {
  const Program p = assemble_ok("; header\r\n\r\n  # hash comment\r\nnop // trailing\r\nhalt ; done\r\n");
  ASSERT_EQ(p.text.size(), 2u);
  EXPECT_EQ(decoded(p.text[1]).opcode(), Opcode::halt);
}

TEST(Assembler, RawWordsPassThroughUndecoded) {
  const Program p = assemble_ok(".insn 0xff\n.insn 0x" + std::string(64, 'a') + "\n");
  EXPECT_EQ(p.text[0].get(0, 8), 0xffu);
  EXPECT_EQ(p.text[1].limbs[3], 0xaaaaaaaaaaaaaaaaull);
  const std::string listing = disassemble(p);
  EXPECT_NE(listing.find("illegal opcode 0xff"), std::string::npos);
  EXPECT_EQ(assemble_ok(listing).text, p.text);
}

TEST(Assembler, ReportsEveryBadLineNotOnlyTheFirst) {
  const AssembleResult r = assemble("mmult\nhalt\nfoo\nnop repeat=0\n", "many.s");
  ASSERT_EQ(r.errors.size(), 3u);
  EXPECT_EQ(r.errors[0].line, 1);
  EXPECT_EQ(r.errors[1].line, 3);
  EXPECT_EQ(r.errors[2].line, 4);
  EXPECT_TRUE(r.program.text.empty());  // nothing is produced from a source with errors
}

TEST(Assembler, DiagnosticShowsTheLineAndACaret) {
  const AssembleResult r = assemble("  mmul ub=0 acc=0 rows=70000 stride=1\n", "p.s");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(format_diagnostic(r.errors[0]),
            "p.s:1:24: error: value 70000 is out of range for 'rows' (16-bit field: 1 to 65535)\n"
            "      mmul ub=0 acc=0 rows=70000 stride=1\n"
            "                           ^~~~~\n");
}

TEST(Assembler, MissingFileIsAnError) {
  const AssembleResult r = assemble_file("/nonexistent/x.s");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(format_diagnostic(r.errors[0]).rfind("/nonexistent/x.s: error: cannot open", 0), 0u);
}

}  // namespace
}  // namespace tpu::isa
