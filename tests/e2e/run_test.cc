// tpusim run and tpusim check as users run them: results, files, exit codes
// and the messages for bad input.

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>
#include "tests/support/cli_runner.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

namespace {

namespace fs = std::filesystem;

using tpu::test::Outcome;
using tpu::test::tpusim;

const std::string kSrc = TPUSIM_SOURCE_DIR;

class RunCli : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(testing::TempDir()) / ("tpusim_run_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    ASSERT_EQ(tpusim("asm " + kSrc + "/workloads/asm/fc_layer.s -o " + path("fc.tpb")).status, 0);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  void write(const std::string& name, const std::string& text) const { std::ofstream(path(name)) << text; }
  std::string run_args() const { return "run -c " + kSrc + "/configs/tiny.yaml -p " + path("fc.tpb") + " "; }
  fs::path dir_;
};

TEST_F(RunCli, WritesResultsWithOutputsCountersEnergyAndTheResolvedConfig) {
  const Outcome r = tpusim(run_args() + "--out " + path("run.json"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("array active"), std::string::npos) << r.output;
  std::ifstream f(path("run.json"));
  const nlohmann::json j = nlohmann::json::parse(f);
  EXPECT_EQ(j["status"], "halted");
  EXPECT_EQ(j["outputs"]["y"]["values"], nlohmann::json({18, 0, 25, 127, 0, 2, 0, 0}));
  const auto& c = j["counters"];
  const double total = c["array_active"]["share"].get<double>() + c["weight_stall"]["share"].get<double>() +
                       c["weight_shift"]["share"].get<double>() + c["non_matrix"]["share"].get<double>();
  EXPECT_NEAR(total, 1.0, 1e-12);
  EXPECT_EQ(j["config"]["matrix_unit"]["rows"], 8);
  EXPECT_GT(j["energy"]["total_uj"].get<double>(), 0);
  const double tops = j["throughput"]["tops"].get<double>();
  EXPECT_DOUBLE_EQ(j["efficiency"]["tops_per_w"].get<double>(), tops / j["energy"]["average_power_w"].get<double>());
  EXPECT_DOUBLE_EQ(j["efficiency"]["tops_per_mm2"].get<double>(), tops / j["area"]["total_mm2"].get<double>());
  EXPECT_NEAR(j["efficiency"]["inferences_per_j"].get<double>(),
              j["batch"].get<double>() / (j["energy"]["total_uj"].get<double>() * 1e-6),
              1e-9 * j["efficiency"]["inferences_per_j"].get<double>());
  EXPECT_NEAR(j["energy"]["static_power_w"].get<double>() + j["energy"]["dynamic_power_w"].get<double>(),
              j["energy"]["average_power_w"].get<double>(), 1e-9);
  EXPECT_NE(r.output.find(" TOPS/W "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("area "), std::string::npos) << r.output;
  EXPECT_EQ(j["instructions"]["mmul"], 1);
  // A hand-written program states no MACs: throughput counts what the array did (2 vectors x 4 x 4).
  EXPECT_EQ(j["throughput"]["macs_from"], "matrix_unit.useful_macs");
  EXPECT_EQ(j["throughput"]["macs"], 32);
  EXPECT_EQ(j["throughput"]["macs"], c["useful_macs"]["macs"]);
}

TEST_F(RunCli, LayersPrintAsATableAndAsCsv) {
  const Outcome compiled = tpusim("compile " + kSrc + "/models/lenet_300_100.yaml -c " + kSrc +
                                  "/configs/tiny.yaml -o " + path("l.tpb") + " -q");
  ASSERT_EQ(compiled.status, 0) << compiled.output;
  const Outcome csv = tpusim("run -c " + kSrc + "/configs/tiny.yaml -p " + path("l.tpb") + " -q --layers --csv");
  ASSERT_EQ(csv.status, 0) << csv.output;
  EXPECT_NE(csv.output.find("layer,cycles,MACs,array_active,weight_stall,weight_shift,raw_stall,host_busy,dram_bytes,"
                            "energy_uj\n"),
            std::string::npos)
      << csv.output;
  EXPECT_NE(csv.output.find("\nfc1,"), std::string::npos) << csv.output;
  EXPECT_NE(csv.output.find(",235200,"), std::string::npos) << "fc1: 784 x 300 MACs\n" << csv.output;
  const Outcome table = tpusim("run -c " + kSrc + "/configs/tiny.yaml -p " + path("l.tpb") + " -q --layers");
  EXPECT_NE(table.output.find("layer                          cycles           MACs"), std::string::npos)
      << table.output;
}

TEST_F(RunCli, SameInputsGiveByteIdenticalResults) {
  ASSERT_EQ(tpusim(run_args() + "-q --out " + path("a.json") + " --trace " + path("a.trace")).status, 0);
  ASSERT_EQ(tpusim(run_args() + "-q --out " + path("b.json") + " --trace " + path("b.trace")).status, 0);
  std::ifstream a(path("a.json")), b(path("b.json")), ta(path("a.trace")), tb(path("b.trace"));
  std::stringstream sa, sb, sta, stb;
  sa << a.rdbuf();
  sb << b.rdbuf();
  sta << ta.rdbuf();
  stb << tb.rdbuf();
  EXPECT_EQ(sa.str(), sb.str());
  EXPECT_EQ(sta.str(), stb.str());
}

TEST_F(RunCli, TraceHasOneTrackPerUnitWithoutOverlaps) {
  ASSERT_EQ(tpusim(run_args() + "-q --trace " + path("t.json")).status, 0);
  std::ifstream f(path("t.json"));
  const nlohmann::json j = nlohmann::json::parse(f);
  std::map<int, double> end_of_track;
  int slices = 0;
  for (const auto& e : j["traceEvents"]) {
    if (e["ph"] != "X") continue;
    ++slices;
    const int tid = e["tid"];
    EXPECT_GE(e["ts"].get<double>() + 1e-9, end_of_track[tid]) << e.dump();
    end_of_track[tid] = e["ts"].get<double>() + e["dur"].get<double>();
  }
  // Each unit's instruction (rhm, mmul, act, whm), the tile the weight memory streams, and the
  // sequencer's waits in its three syncs and its halt.
  EXPECT_EQ(slices, 9);
}

// Parses a trace: slices by track name (checking they do not overlap) and counter samples by name.
struct ParsedTrace {
  std::map<std::string, std::vector<nlohmann::json>> slices;
  std::map<std::string, std::vector<nlohmann::json>> counters;
};
ParsedTrace parse_trace(const std::string& file) {
  std::ifstream f(file);
  const nlohmann::json j = nlohmann::json::parse(f);
  std::map<int, std::string> track;
  for (const auto& e : j["traceEvents"])
    if (e["ph"] == "M") track[e["tid"].get<int>()] = e["args"]["name"];
  ParsedTrace t;
  for (const auto& e : j["traceEvents"]) {
    if (e["ph"] == "X") t.slices[track.at(e["tid"].get<int>())].push_back(e);
    if (e["ph"] == "C") t.counters[e["name"]].push_back(e);
  }
  for (const auto& [name, list] : t.slices)
    for (size_t i = 1; i < list.size(); ++i)
      EXPECT_LE(list[i - 1]["args"]["end_cycle"].get<uint64_t>(), list[i]["args"]["start_cycle"].get<uint64_t>())
          << name << " overlaps: " << list[i - 1].dump() << " " << list[i].dump();
  return t;
}

TEST_F(RunCli, TraceShowsEveryUnitTheLayersTheWeightFifoAndThePorts) {
  ASSERT_EQ(tpusim("compile " + kSrc + "/models/lenet_300_100.yaml -c " + kSrc + "/configs/tiny.yaml -o " +
                   path("l.tpb") + " -q")
                .status,
            0);
  ASSERT_EQ(tpusim("run -c " + kSrc + "/configs/tiny.yaml -p " + path("l.tpb") + " -q --no-values --trace " +
                   path("l.trace") + " --out " + path("l.json"))
                .status,
            0);
  std::ifstream rf(path("l.json"));
  const nlohmann::json run = nlohmann::json::parse(rf);
  const ParsedTrace t = parse_trace(path("l.trace"));
  for (const char* unit : {"sequencer", "host_interface", "weight_memory", "matrix_unit", "activation_unit", "layers"})
    EXPECT_TRUE(t.slices.count(unit)) << "no track for " << unit;
  // The layers track: one slice per region, named by the compiler, back to back to the end of the run.
  std::vector<std::string> layers;
  for (const auto& l : t.slices.at("layers")) layers.push_back(l["name"]);
  EXPECT_NE(std::find(layers.begin(), layers.end(), "fc1"), layers.end());
  EXPECT_NE(std::find(layers.begin(), layers.end(), "fc3"), layers.end());
  const auto& last = t.slices.at("layers").back();
  EXPECT_EQ(last["args"]["end_cycle"].get<uint64_t>(), run["cycles"].get<uint64_t>());
  // The sequencer's waits name what they wait for.
  bool sync_on_matrix = false;
  for (const auto& w : t.slices.at("sequencer")) sync_on_matrix |= w["name"] == "sync units=matrix";
  EXPECT_TRUE(sync_on_matrix);
  // Weight-FIFO occupancy stays within the FIFO and ends empty: every tile was taken.
  ASSERT_TRUE(t.counters.count("weight_fifo tiles"));
  const int64_t depth = run["config"]["weight_fifo"]["depth_tiles"];
  for (const auto& c : t.counters.at("weight_fifo tiles")) {
    EXPECT_GE(c["args"]["value"].get<int64_t>(), 0);
    EXPECT_LE(c["args"]["value"].get<int64_t>(), depth);
  }
  EXPECT_EQ(t.counters.at("weight_fifo tiles").back()["args"]["value"].get<int64_t>(), 0);
  // A tile counts from its arrival: one DRAM latency after the weight memory streamed it.
  const double latency_ns = run["config"]["weight_memory"]["latency_ns"], mhz = run["config"]["clock_mhz"];
  const auto latency = static_cast<uint64_t>(std::ceil(latency_ns * mhz / 1000 - 1e-9));
  const uint64_t first_end = t.slices.at("weight_memory").front()["args"]["end_cycle"];
  EXPECT_NEAR(t.counters.at("weight_fifo tiles").front()["ts"].get<double>(), (first_end + latency) / mhz, 1e-9);
  EXPECT_EQ(t.slices.at("weight_memory").size(), run["units"]["weight_memory"]["tiles"].get<size_t>());
  // Unified-buffer port use: within the ports, free at the end, and its area over time the port-cycles counted.
  for (const char* kind : {"read", "write"}) {
    const std::string track = std::string("unified_buffer ") + kind + " ports";
    ASSERT_TRUE(t.counters.count(track)) << track;
    const int64_t ports = run["config"]["unified_buffer"][std::string(kind) + "_ports"];
    uint64_t port_cycles = 0;
    const auto& samples = t.counters.at(track);
    for (size_t i = 0; i < samples.size(); ++i) {
      const int64_t v = samples[i]["args"]["value"];
      EXPECT_GE(v, 0);
      EXPECT_LE(v, ports);
      if (i + 1 < samples.size())
        port_cycles += static_cast<uint64_t>(v) * static_cast<uint64_t>(std::llround(
                                                      (samples[i + 1]["ts"].get<double>() - samples[i]["ts"].get<double>()) * mhz));
    }
    EXPECT_EQ(samples.back()["args"]["value"].get<int64_t>(), 0);
    EXPECT_EQ(port_cycles, run["units"]["unified_buffer"][std::string(kind) + "_port_cycles"].get<uint64_t>()) << kind;
  }
}

TEST_F(RunCli, AFaultedRunsTraceEndsAtTheFault) {
  write("f.s", ".text\nrdw dram=0 k=8 n=8\nmmul ub=0 acc=0 rows=200 stride=0 swap\nnop repeat=150\n"
               "rhm host=0 ub=0 len=8\nhalt\n");
  ASSERT_EQ(tpusim("asm " + path("f.s") + " -o " + path("f.tpb")).status, 0);
  for (const char* fidelity : {"fast", "pe"}) {
    EXPECT_EQ(tpusim("run -c " + kSrc + "/configs/tiny.yaml -p " + path("f.tpb") + " -q --set fidelity=" + fidelity +
                     " --trace " + path("f.trace") + " --out " + path("f.json"))
                  .status,
              3);
    std::ifstream rf(path("f.json"));
    const uint64_t cycles = nlohmann::json::parse(rf)["cycles"];
    const ParsedTrace t = parse_trace(path("f.trace"));
    // The mmul under way and the sequencer's wait for it (the halt) are shown up to the fault.
    ASSERT_EQ(t.slices.count("matrix_unit"), 1u) << fidelity;
    EXPECT_EQ(t.slices.at("matrix_unit").back()["args"]["end_cycle"].get<uint64_t>(), cycles) << fidelity;
    for (const auto& [name, list] : t.slices)
      for (const auto& s : list) EXPECT_LE(s["args"]["end_cycle"].get<uint64_t>(), cycles) << fidelity << " " << name;
  }
}

TEST_F(RunCli, WaveformTracesTheUnitsActivity) {
  ASSERT_EQ(tpusim(run_args() + "-q --vcd " + path("w.vcd")).status, 0);
  std::ifstream f(path("w.vcd"));
  std::stringstream s;
  s << f.rdbuf();
  const std::string vcd = s.str();
  for (const char* signal : {"issue_pc", "matrix_unit", "shadow", "weight_fifo", "activation_unit", "$enddefinitions"})
    EXPECT_NE(vcd.find(signal), std::string::npos) << signal;
  EXPECT_GT(std::count(vcd.begin(), vcd.end(), '#'), 10);  // timestamps of changes
}

TEST_F(RunCli, InputsAndOutputsAsFiles) {
  std::ofstream(path("x.bin"), std::ios::binary) << std::string("\x01\x02\x03\x04\x00\x00\x00\x00", 8);
  const Outcome r = tpusim(run_args() + "-q --input x=" + path("x.bin") + " --output y=" + path("y.bin"));
  ASSERT_EQ(r.status, 0) << r.output;
  std::ifstream y(path("y.bin"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(y)), {});
  ASSERT_EQ(bytes.size(), 8u);
  // y[0][0] = relu(round((1 - 2 + 15 + 0) / 8)) = 2
  EXPECT_EQ(bytes[0], 2);
}

// A .npy file as NumPy writes it (format 1.0).
void write_npy(const std::string& path, const std::string& descr, const std::string& shape, const std::string& data) {
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::ofstream f(path, std::ios::binary);
  f << "\x93NUMPY" << '\x01' << '\x00' << static_cast<char>(header.size() & 0xff)
    << static_cast<char>(header.size() >> 8) << header << data;
}

TEST_F(RunCli, NpyInputsAreQuantizedAndOutputsWritten) {
  // x = [10, 20, 30, 40; -1, -2, -3, -4] at scale 0.05, as float32.
  std::string floats;
  for (float v : {0.5f, 1.0f, 1.5f, 2.0f, -0.05f, -0.1f, -0.15f, -0.2f})
    floats.append(reinterpret_cast<const char*>(&v), 4);
  write_npy(path("x.npy"), "<f4", "(2, 4)", floats);
  const Outcome r = tpusim(run_args() + "-q --input x=" + path("x.npy") + " --output y=" + path("y.npy"));
  ASSERT_EQ(r.status, 0) << r.output;
  std::ifstream y(path("y.npy"), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(y)), {});
  EXPECT_NE(bytes.find("'descr': '|i1'"), std::string::npos);
  EXPECT_NE(bytes.find("'shape': (2, 4)"), std::string::npos);
  EXPECT_EQ(bytes.substr(bytes.size() - 8), std::string("\x12\x00\x19\x7f\x00\x02\x00\x00", 8));
  write_npy(path("bad.npy"), "<f8", "(2, 4)", std::string(64, '\0'));
  const Outcome bad = tpusim(run_args() + "--input x=" + path("bad.npy"));
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.output.find("element type '<f8' is not supported"), std::string::npos) << bad.output;
  std::string nan = floats;
  const float not_a_number = std::nanf("");
  nan.replace(12, 4, reinterpret_cast<const char*>(&not_a_number), 4);
  write_npy(path("nan.npy"), "<f4", "(2, 4)", nan);
  const Outcome bad_value = tpusim(run_args() + "--input x=" + path("nan.npy"));
  EXPECT_EQ(bad_value.status, 1);
  EXPECT_NE(bad_value.output.find("nan.npy: element 3 is not a finite number"), std::string::npos) << bad_value.output;
  write_npy(path("short.npy"), "|i1", "(2, 3)", std::string(6, '\0'));
  EXPECT_NE(tpusim(run_args() + "--input x=" + path("short.npy")).output.find("6 elements; tensor 'x' has 8"),
            std::string::npos);
}

// An ONNX TensorProto as protobuf encodes it: dims (field 1), data_type (2), raw_data (9).
std::string tensor_proto(const std::vector<int>& dims, int data_type, const std::string& raw) {
  std::string p;
  for (int d : dims) p += {'\x08', static_cast<char>(d)};
  p += {'\x10', static_cast<char>(data_type)};
  p += {'\x4a', static_cast<char>(raw.size())};
  return p + raw;
}

TEST_F(RunCli, OnnxPbTensorsGoInAndOutInOnnxImageOrder) {
  write("m.yaml",
        "name: m\ninput: {name: x, shape: [1, 3, 2, 2]}\nlayers:\n  - {name: c, op: conv2d, filters: 2, kernel: 1}\n");
  ASSERT_EQ(tpusim("compile " + path("m.yaml") + " -c " + kSrc + "/configs/tiny.yaml -o " + path("m.tpb")).status, 0);
  const std::string run = "run -q -c " + kSrc + "/configs/tiny.yaml -p " + path("m.tpb") + " ";
  // The same int8 image: .npy in the chip's N, H, W, C; .pb in ONNX's N, C, H, W.
  std::string nhwc, nchw(12, '\0');
  for (int i = 0; i < 12; ++i) nhwc += static_cast<char>(i * 9 - 50);
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 2; ++x)
      for (int c = 0; c < 2; ++c)
        nchw[static_cast<size_t>((c * 3 + y) * 2 + x)] = nhwc[static_cast<size_t>((y * 2 + x) * 2 + c)];
  write_npy(path("x.npy"), "|i1", "(1, 3, 2, 2)", nhwc);
  std::ofstream(path("x.pb"), std::ios::binary) << tensor_proto({1, 2, 3, 2}, 3, nchw);  // 3: INT8
  ASSERT_EQ(tpusim(run + "--input x=" + path("x.npy") + " --output c=" + path("y.npy")).status, 0);
  const Outcome r = tpusim(run + "--input x=" + path("x.pb") + " --output c=" + path("y.pb"));
  ASSERT_EQ(r.status, 0) << r.output;
  std::ifstream fn(path("y.npy"), std::ios::binary), fp(path("y.pb"), std::ios::binary);
  const std::string npy((std::istreambuf_iterator<char>(fn)), {}), pb((std::istreambuf_iterator<char>(fp)), {});
  const std::string y_nhwc = npy.substr(npy.size() - 12);
  std::string y_nchw(12, '\0');
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 2; ++x)
      for (int c = 0; c < 2; ++c)
        y_nchw[static_cast<size_t>((c * 3 + y) * 2 + x)] = y_nhwc[static_cast<size_t>((y * 2 + x) * 2 + c)];
  EXPECT_EQ(pb, tensor_proto({1, 2, 3, 2}, 3, y_nchw));
  EXPECT_NE(y_nhwc, std::string(12, '\0'));

  // [N, C, L] into an image one pixel high: the same values as the NCHW file with H = 1.
  write("m1.yaml",
        "name: m1\ninput: {name: x, shape: [1, 1, 3, 2]}\nlayers:\n  - {name: c, op: conv2d, filters: 2, kernel: 1}\n");
  ASSERT_EQ(tpusim("compile " + path("m1.yaml") + " -c " + kSrc + "/configs/tiny.yaml -o " + path("m1.tpb")).status, 0);
  const std::string run1 = "run -q -c " + kSrc + "/configs/tiny.yaml -p " + path("m1.tpb") + " --output c=";
  const std::string ncl = "\x05\x0a\xf1\x14\x19\x1e";  // C = 2, L = 3
  std::ofstream(path("x3.pb"), std::ios::binary) << tensor_proto({1, 2, 3}, 3, ncl);
  std::ofstream(path("x4.pb"), std::ios::binary) << tensor_proto({1, 2, 1, 3}, 3, ncl);
  ASSERT_EQ(tpusim(run1 + path("y3.npy") + " --input x=" + path("x3.pb")).status, 0);
  ASSERT_EQ(tpusim(run1 + path("y4.npy") + " --input x=" + path("x4.pb")).status, 0);
  std::ifstream f3(path("y3.npy"), std::ios::binary), f4(path("y4.npy"), std::ios::binary);
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(f3)), {}),
            std::string((std::istreambuf_iterator<char>(f4)), {}));

  std::ofstream(path("bad.pb"), std::ios::binary)
      << tensor_proto({1, 2, 3, 2}, 11, std::string(96, '\0'));  // 11: DOUBLE
  const Outcome bad = tpusim(run + "--input x=" + path("bad.pb"));
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.output.find(path("bad.pb") + ": element type 11 is not one the chip takes"), std::string::npos)
      << bad.output;
}

TEST_F(RunCli, CompileTakesCalibrationDataAndReportsBadModels) {
  std::string floats;
  for (int i = 0; i < 2 * 784; ++i) {
    const float v = static_cast<float>(i % 17) / 17.0f - 0.5f;
    floats.append(reinterpret_cast<const char*>(&v), 4);
  }
  write_npy(path("calib.npy"), "<f4", "(2, 784)", floats);
  const std::string config = " -c " + kSrc + "/configs/tpu_v1.yaml ";
  const Outcome ok = tpusim("compile " + kSrc + "/models/lenet_300_100.yaml" + config + "-o " + path("l.tpb") +
                            " --calibrate " + path("calib.npy") + " --percentile 99.9 -q");
  EXPECT_EQ(ok.status, 0) << ok.output;
  const float inf = std::numeric_limits<float>::infinity();
  floats.replace(4 * 100, 4, reinterpret_cast<const char*>(&inf), 4);
  write_npy(path("inf.npy"), "<f4", "(2, 784)", floats);
  const Outcome infinite = tpusim("compile " + kSrc + "/models/lenet_300_100.yaml" + config + "-o " + path("i.tpb") +
                                  " --calibrate " + path("inf.npy"));
  EXPECT_EQ(infinite.status, 1);
  EXPECT_NE(infinite.output.find("inf.npy: element 100 is not a finite number"), std::string::npos) << infinite.output;
  write("bad.yaml", "input: {name: x, shape: [1, 4]}\nlayers:\n  - {name: d, op: dense, unit: 3}\n");
  const Outcome bad = tpusim("compile " + path("bad.yaml") + config + "-o " + path("b.tpb"));
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.output.find("layer 'd' (line 3): unknown attribute 'unit'; did you mean 'units'?"), std::string::npos)
      << bad.output;
  EXPECT_FALSE(fs::exists(path("b.tpb")));
}

TEST_F(RunCli, WorkloadsCompileOnTheFly) {
  write("w.yaml", "name: lenet\nmodel: " + kSrc + "/models/lenet_300_100.yaml\nbatch: 2\n");
  const Outcome r = tpusim("run -c " + kSrc + "/configs/tiny.yaml -w " + path("w.yaml") + " --layers");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("fc1"), std::string::npos) << r.output;
}

// Sets an environment variable (which the tpusim commands a test runs inherit) for a scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_)
      setenv(name_, old_->c_str(), 1);
    else
      unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// The cached program of a workload follows the files its model names, not only the model's text.
TEST_F(RunCli, AWorkloadRecompilesWhenAWeightFileChanges) {
  const std::string cache = path("cache");
  const ScopedEnv env("XDG_CACHE_HOME", cache);
  auto weights = [&](const std::vector<float>& w) {
    write_npy(path("w.npy"), "<f4", "(4, 4)", std::string(reinterpret_cast<const char*>(w.data()), 4 * w.size()));
  };
  auto read = [&](const std::string& name) {
    std::ifstream f(path(name), std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(f)), {});
  };
  write("m.yaml",
        "name: m\ninput: {name: x, shape: [1, 4]}\nlayers:\n  - {name: d, op: dense, units: 4, weights: w.npy}\n");
  write("w.yaml", "name: m\nmodel: m.yaml\nbatch: 1\n");
  std::ofstream(path("x.bin"), std::ios::binary) << std::string("\x0a\x14\x1e\x28", 4);
  const std::string config = " -c " + kSrc + "/configs/tiny.yaml ";
  const std::string run = "run -q" + config + "--input x=" + path("x.bin") + " ";
  weights({1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1});  // y = x
  ASSERT_EQ(tpusim(run + "-w " + path("w.yaml") + " --output d=" + path("a.bin")).status, 0);
  EXPECT_FALSE(fs::is_empty(cache));
  weights({0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 0});  // y = x reversed
  const Outcome r = tpusim(run + "-w " + path("w.yaml") + " --output d=" + path("b.bin"));
  ASSERT_EQ(r.status, 0) << r.output;
  const Outcome compiled = tpusim("compile " + path("m.yaml") + config + "--batch 1 -q -o " + path("m.tpb"));
  ASSERT_EQ(compiled.status, 0) << compiled.output;
  ASSERT_EQ(tpusim(run + "-p " + path("m.tpb") + " --output d=" + path("fresh.bin")).status, 0);
  ASSERT_EQ(read("a.bin").size(), 4u);
  EXPECT_NE(read("b.bin"), read("a.bin"));
  EXPECT_EQ(read("b.bin"), read("fresh.bin"));
  std::string reversed = read("a.bin");
  std::reverse(reversed.begin(), reversed.end());
  EXPECT_EQ(read("b.bin"), reversed);
  // Back to the first weights: the first program again.
  weights({1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1});
  ASSERT_EQ(tpusim(run + "-w " + path("w.yaml") + " --output d=" + path("c.bin")).status, 0);
  EXPECT_EQ(read("c.bin"), read("a.bin"));
}

TEST_F(RunCli, WorkloadsReportTheirDeadlineAndReference) {
  write("w.yaml", "name: lenet\nmodel: " + kSrc +
                      "/models/lenet_300_100.yaml\nbatch: 2\ndeadline_ms: 0.001\n"
                      "reference: {tops: 0.01, source: a test}\n");
  const Outcome r = tpusim("run -c " + kSrc + "/configs/tiny.yaml -w " + path("w.yaml") + " --out " + path("w.json"));
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("ms against its 0.001 ms deadline: missed."), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("lenet measured 0.01 TOPS (a test): simulated "), std::string::npos) << r.output;
  std::ifstream f(path("w.json"));
  const nlohmann::json j = nlohmann::json::parse(f);
  EXPECT_EQ(j["workload"]["name"], "lenet");
  EXPECT_EQ(j["workload"]["deadline_met"], false);
  EXPECT_DOUBLE_EQ(j["workload"]["latency_ms"].get<double>(), j["latency_us"].get<double>() / 1000);
  EXPECT_NEAR(j["workload"]["tops_difference"].get<double>(), j["throughput"]["tops"].get<double>() / 0.01 - 1, 1e-12);
  // A run that does not complete gets no verdict.
  const Outcome stopped =
      tpusim("run -c " + kSrc + "/configs/tiny.yaml -w " + path("w.yaml") + " --set watchdog_cycles=50");
  EXPECT_EQ(stopped.status, 3) << stopped.output;
  EXPECT_NE(stopped.output.find("lenet did not complete (the program faulted): no deadline or throughput verdict."),
            std::string::npos)
      << stopped.output;
}

TEST_F(RunCli, OnnxCasesReportPassAndUnsupported) {
  const std::string node = "/usr/share/libonnx-testdata/data/node/";
  const Outcome r = tpusim("onnx-test -c " + kSrc + "/configs/tpu_v1.yaml " + node + "test_conv_with_strides_padding " +
                           node + "test_gru_defaults");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("PASS test_conv_with_strides_padding"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("UNSUPPORTED test_gru_defaults: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("node '' (GRU): this operator does not run on the chip"), std::string::npos);
  EXPECT_NE(r.output.find("1 passed, 0 failed, 1 skipped"), std::string::npos) << r.output;
}

// A case whose expected output is wrong fails (and the check of what the int8 input alone would explain
// runs the float model with its weights, which compiling had dropped).
TEST_F(RunCli, OnnxCasesWithAWrongExpectationFail) {
  const fs::path src = "/usr/share/libonnx-testdata/data/node/test_conv_with_strides_padding";
  const fs::path dst = dir_ / "test_conv_wrong";
  fs::copy(src, dst, fs::copy_options::recursive);
  const fs::path out = dst / "test_data_set_0" / "output_0.pb";
  std::string bytes;
  {
    std::ifstream f(out, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  ASSERT_GE(bytes.size(), 4u);
  const char big[4] = {0, 0, static_cast<char>(0x80), 0x4f};  // the last value (raw data ends the file) becomes 2^32
  bytes.replace(bytes.size() - 4, 4, big, 4);
  fs::permissions(out, fs::perms::owner_write, fs::perm_options::add);
  std::ofstream(out, std::ios::binary | std::ios::trunc) << bytes;
  const Outcome r = tpusim("onnx-test -c " + kSrc + "/configs/tpu_v1.yaml " + dst.string());
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("FAIL test_conv_wrong: test_data_set_0: value 11 is"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("0 passed, 1 failed, 0 skipped"), std::string::npos) << r.output;
}

TEST_F(RunCli, BrokenOnnxFilesAreRejectedByName) {
  write("broken.onnx", "this is not protobuf");
  const Outcome r =
      tpusim("compile " + path("broken.onnx") + " -c " + kSrc + "/configs/tpu_v1.yaml -o " + path("b.tpb"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find(path("broken.onnx")), std::string::npos) << r.output;
}

TEST_F(RunCli, WrongInputSizeOrNameIsAClearError) {
  std::ofstream(path("short.bin"), std::ios::binary) << "abc";
  Outcome r = tpusim(run_args() + "--input x=" + path("short.bin"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("input 'x' needs 8 bytes, got 3"), std::string::npos) << r.output;
  r = tpusim(run_args() + "--input z=" + path("short.bin"));
  EXPECT_NE(r.output.find("no tensor named 'z'"), std::string::npos) << r.output;
  r = tpusim(run_args() + "--output nope=" + path("o.bin"));
  EXPECT_NE(r.output.find("no output tensor 'nope'"), std::string::npos) << r.output;
}

TEST_F(RunCli, ConfigurationMistakesExitWithStatusTwo) {
  const Outcome r = tpusim(run_args() + "--set matrix_unit.rowz=4 --set fidelity=quick");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("matrix_unit.rowz: unknown key; did you mean 'rows'?"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("fidelity: 'quick' is not one of fast, pe"), std::string::npos) << r.output;
}

TEST_F(RunCli, AFaultExitsWithStatusThreeAndIsInTheResults) {
  write("bad.s", "nop\nmmul ub=0 acc=0 rows=1 stride=8\nhalt\n");
  ASSERT_EQ(tpusim("asm " + path("bad.s") + " -o " + path("bad.tpb")).status, 0);
  const Outcome r = tpusim("run -c " + kSrc + "/configs/tiny.yaml -p " + path("bad.tpb") + " --out " + path("f.json"));
  EXPECT_EQ(r.status, 3);
  EXPECT_NE(r.output.find("fault at pc 1, cycle"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("mmul ub=0x0 acc=0 rows=1 stride=8"), std::string::npos) << r.output;
  std::ifstream f(path("f.json"));
  const nlohmann::json j = nlohmann::json::parse(f);
  EXPECT_EQ(j["fault"]["pc"], 1);
  EXPECT_TRUE(j["efficiency"]["tops_per_w"].is_null());  // it did not finish its inferences
  EXPECT_GT(j["area"]["total_mm2"].get<double>(), 0);
}

TEST_F(RunCli, TimingOnlyRunsGiveTheSameCycles) {
  ASSERT_EQ(tpusim(run_args() + "-q --out " + path("v.json")).status, 0);
  ASSERT_EQ(tpusim(run_args() + "-q --no-values --out " + path("t.json")).status, 0);
  std::ifstream v(path("v.json")), t(path("t.json"));
  const auto jv = nlohmann::json::parse(v), jt = nlohmann::json::parse(t);
  EXPECT_EQ(jv["cycles"], jt["cycles"]);
  EXPECT_EQ(jv["counters"], jt["counters"]);
  EXPECT_EQ(jv["units"], jt["units"]);
}

// A timing-only compile: a program without weights, refused by a run with values, timed as the full one.
TEST_F(RunCli, TimingOnlyProgramsRunOnlyWithoutValues) {
  const std::string model = kSrc + "/models/lenet_300_100.yaml -c " + kSrc + "/configs/tiny.yaml ";
  ASSERT_EQ(tpusim("compile " + model + "-q -o " + path("full.tpb")).status, 0);
  ASSERT_EQ(tpusim("compile " + model + "-q --timing-only -o " + path("t.tpb")).status, 0);
  // Smaller by at least the weights: 784 x 300 + 300 x 100 + 100 x 10 bytes.
  EXPECT_LE(fs::file_size(path("t.tpb")) + 266200, fs::file_size(path("full.tpb"))) << "no weights";
  const std::string run = "run -c " + kSrc + "/configs/tiny.yaml -q --no-values -p ";
  ASSERT_EQ(tpusim(run + path("full.tpb") + " --out " + path("full.json")).status, 0);
  ASSERT_EQ(tpusim(run + path("t.tpb") + " --out " + path("t.json")).status, 0);
  std::ifstream a(path("full.json")), b(path("t.json"));
  const auto ja = nlohmann::json::parse(a), jb = nlohmann::json::parse(b);
  EXPECT_EQ(ja["cycles"], jb["cycles"]);
  EXPECT_EQ(ja["counters"], jb["counters"]);
  const Outcome values = tpusim("run -c " + kSrc + "/configs/tiny.yaml -p " + path("t.tpb") + " --out " + path("v.json"));
  EXPECT_EQ(values.status, 1);
  EXPECT_NE(values.output.find("compiled for timing only: it holds no weights, so it runs only without values"),
            std::string::npos)
      << values.output;
  EXPECT_FALSE(fs::exists(path("v.json")));
  const Outcome both = tpusim("compile " + model + "--timing-only --percentile 99 -o " + path("x.tpb"));
  EXPECT_NE(both.status, 0);
  EXPECT_NE(both.output.find("--percentile excludes --timing-only"), std::string::npos) << both.output;
}

TEST_F(RunCli, TimingOnlyRunsRefuseToWriteOutputTensors) {
  const Outcome r = tpusim(run_args() + "--no-values --output y=" + path("y.npy") + " --out " + path("r.json"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("--no-values and --output cannot go together: a timing-only run computes no values"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(path("y.npy")));
  EXPECT_FALSE(fs::exists(path("r.json")));
}

TEST_F(RunCli, CheckReportsEachFailedExpectationWithItsLine) {
  write("c.s", ".config " + kSrc +
                   "/configs/tiny.yaml\n"
                   ".expect cycles 1 2\n"
                   ".expect counter matrix_unit.usefull_macs 3\n"
                   ".expect ub 0 1, 2\n"
                   "halt\n");
  const Outcome r = tpusim("check " + path("c.s"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find(path("c.s") + ":2: expected cycles in [1, 2], got"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find(":3: no counter 'matrix_unit.usefull_macs'; did you mean 'matrix_unit.useful_macs'?"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find(":4: expected ub[0] = 1, got 0"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("0 passed, 1 failed"), std::string::npos) << r.output;
}

TEST_F(RunCli, CheckPassesAndCountsFiles) {
  const Outcome r = tpusim("check --config " + kSrc + "/configs/tiny.yaml " + kSrc + "/workloads/asm/fc_layer.s");
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("1 passed, 0 failed"), std::string::npos) << r.output;
}

}  // namespace
