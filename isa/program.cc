#include "isa/program.h"

#include "isa/bytes.h"

#include <unistd.h>

#include <algorithm>
#include <zlib.h>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

namespace tpu::isa {

// ---------------------------------------------------------------- MemoryImage

void MemoryImage::write(uint64_t addr, const uint8_t* data, size_t size) {
  if (size == 0) return;
  // The common case, writing just past a segment's end and short of the next: append in place.
  auto next = segments_.upper_bound(addr);
  if (next != segments_.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second.size() == addr && (next == segments_.end() || next->first > addr + size)) {
      prev->second.insert(prev->second.end(), data, data + size);
      return;
    }
  }
  uint64_t start = addr;
  uint64_t end = addr + size;
  // Absorb every segment that overlaps or touches [start, end).
  std::vector<uint8_t> merged;
  auto it = segments_.upper_bound(start);
  if (it != segments_.begin()) {
    auto prev = std::prev(it);
    if (prev->first + prev->second.size() >= start) it = prev;
  }
  std::vector<std::pair<uint64_t, std::vector<uint8_t>>> absorbed;
  while (it != segments_.end() && it->first <= end) {
    absorbed.emplace_back(it->first, std::move(it->second));
    it = segments_.erase(it);
  }
  for (const auto& [a, bytes] : absorbed) {
    start = std::min(start, a);
    end = std::max<uint64_t>(end, a + bytes.size());
  }
  merged.assign(end - start, 0);
  for (const auto& [a, bytes] : absorbed) std::copy(bytes.begin(), bytes.end(), merged.begin() + (a - start));
  std::copy(data, data + size, merged.begin() + (addr - start));
  segments_.emplace(start, std::move(merged));
}

uint8_t MemoryImage::read(uint64_t addr) const {
  auto it = segments_.upper_bound(addr);
  if (it == segments_.begin()) return 0;
  --it;
  return addr - it->first < it->second.size() ? it->second[addr - it->first] : 0;
}

size_t MemoryImage::total_bytes() const {
  size_t n = 0;
  for (const auto& [a, bytes] : segments_) n += bytes.size();
  return n;
}

// ---------------------------------------------------------------- names

namespace {
constexpr std::string_view kDTypeNames[] = {"i8", "u8", "i16", "i32", "f32"};
constexpr size_t kDTypeBytes[] = {1, 1, 2, 4, 4};
constexpr std::string_view kSpaceNames[] = {"host", "ub", "dram"};
constexpr std::string_view kRoleNames[] = {"input", "output"};

template <class E, size_t N>
std::optional<E> parse_name(const std::string_view (&names)[N], std::string_view s) {
  for (size_t i = 0; i < N; ++i)
    if (names[i] == s) return static_cast<E>(i);
  return std::nullopt;
}
}  // namespace

std::string_view to_string(DType t) { return kDTypeNames[static_cast<size_t>(t)]; }
std::string_view to_string(Space s) { return kSpaceNames[static_cast<size_t>(s)]; }
std::string_view to_string(TensorRole r) { return kRoleNames[static_cast<size_t>(r)]; }
std::optional<DType> parse_dtype(std::string_view s) { return parse_name<DType>(kDTypeNames, s); }
std::optional<Space> parse_space(std::string_view s) { return parse_name<Space>(kSpaceNames, s); }
std::optional<TensorRole> parse_role(std::string_view s) { return parse_name<TensorRole>(kRoleNames, s); }
size_t dtype_bytes(DType t) { return kDTypeBytes[static_cast<size_t>(t)]; }
std::vector<std::string_view> dtype_names() { return {std::begin(kDTypeNames), std::end(kDTypeNames)}; }

int64_t TensorDesc::elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

bool operator==(const TensorDesc& a, const TensorDesc& b) {
  return a.name == b.name && a.role == b.role && a.dtype == b.dtype && a.shape == b.shape && a.space == b.space &&
         a.addr == b.addr && a.scale == b.scale && a.zero_point == b.zero_point;
}

bool operator==(const Program& a, const Program& b) {
  return a.text == b.text && a.dram == b.dram && a.host == b.host && a.tensors == b.tensors && a.metadata == b.metadata;
}

bool timing_only(const Program& program) {
  for (const auto& [key, value] : program.metadata)
    if (key == kTimingOnlyKey) return value == "yes";
  return false;
}

// ---------------------------------------------------------------- serialization

namespace {

enum class SectionKind : uint32_t { kText = 1, kDram = 2, kHost = 3, kTensors = 4, kMetadata = 5 };

std::string_view section_name(uint32_t kind) {
  switch (static_cast<SectionKind>(kind)) {
    case SectionKind::kText: return "text";
    case SectionKind::kDram: return "dram";
    case SectionKind::kHost: return "host";
    case SectionKind::kTensors: return "tensors";
    case SectionKind::kMetadata: return "metadata";
  }
  return "unknown";
}

void put_image(ByteWriter& w, const MemoryImage& image) {
  w.u64(image.segments().size());
  for (const auto& [addr, bytes] : image.segments()) {
    w.u64(addr);
    w.u64(bytes.size());
    w.bytes(bytes.data(), bytes.size());
    w.pad8();
  }
}

MemoryImage get_image(ByteReader& r) {
  MemoryImage image;
  const uint64_t count = r.u64("segment count");
  uint64_t next_free = 0;
  for (uint64_t i = 0; i < count; ++i) {
    const uint64_t addr = r.u64("segment address");
    const uint64_t len = r.u64("segment length");
    if (len == 0 || (i > 0 && addr <= next_free) || addr + len < addr)
      r.fail("segment " + std::to_string(i) + " is empty, out of order or overlapping");
    image.write(addr, r.bytes(len, "segment bytes"), len);
    next_free = addr + len;
    r.skip_pad8();
  }
  return image;
}

// CRC-32 (IEEE), zlib's: several times faster than a byte-wise table on the weight images.
uint32_t crc32(const uint8_t* p, size_t n) {
  uLong crc = ::crc32(0L, Z_NULL, 0);
  while (n > 0) {
    const uInt chunk = static_cast<uInt>(std::min<size_t>(n, 1u << 30));
    crc = ::crc32(crc, p, chunk);
    p += chunk;
    n -= chunk;
  }
  return static_cast<uint32_t>(crc);
}

}  // namespace

std::vector<uint8_t> serialize(const Program& program) {
  // Sections are written in place (lengths patched afterwards): the weight image is copied once.
  ByteWriter out;
  out.reserve(kProgramHeaderBytes + 64 * 6 + program.text.size() * kWordBytes + program.dram.total_bytes() +
              program.host.total_bytes() + 24 * (program.dram.segments().size() + program.host.segments().size()));
  out.bytes(reinterpret_cast<const uint8_t*>(kProgramMagic), sizeof kProgramMagic);
  out.u32(kProgramVersion);
  out.u32(5);  // sections
  const size_t payload_size_at = out.size();
  out.u64(0);
  out.u32(kWordBytes);
  out.u32(0);
  auto section = [&out](SectionKind kind, auto&& write) {
    out.u32(static_cast<uint32_t>(kind));
    out.u32(0);
    const size_t length_at = out.size();
    out.u64(0);
    write(out);
    out.patch_u64(length_at, out.size() - length_at - 8);
    out.pad8();
  };
  section(SectionKind::kText, [&](ByteWriter& w) {
    uint8_t word[kWordBytes];
    for (const Word& insn : program.text) {
      insn.to_bytes(word);
      w.bytes(word, kWordBytes);
    }
  });
  section(SectionKind::kDram, [&](ByteWriter& w) { put_image(w, program.dram); });
  section(SectionKind::kHost, [&](ByteWriter& w) { put_image(w, program.host); });
  section(SectionKind::kTensors, [&](ByteWriter& w) {
    w.u32(static_cast<uint32_t>(program.tensors.size()));
    for (const TensorDesc& t : program.tensors) {
      w.str(t.name);
      w.u8(static_cast<uint8_t>(t.role));
      w.u8(static_cast<uint8_t>(t.dtype));
      w.u8(static_cast<uint8_t>(t.space));
      w.u8(static_cast<uint8_t>(t.shape.size()));
      for (int64_t d : t.shape) w.u64(static_cast<uint64_t>(d));
      w.u64(t.addr);
      uint64_t scale_bits;
      std::memcpy(&scale_bits, &t.scale, 8);
      w.u64(scale_bits);
      w.u32(static_cast<uint32_t>(t.zero_point));
    }
  });
  section(SectionKind::kMetadata, [&](ByteWriter& w) {
    w.u32(static_cast<uint32_t>(program.metadata.size()));
    for (const auto& [k, v] : program.metadata) {
      w.str(k);
      w.str(v);
    }
  });
  out.patch_u64(payload_size_at, out.size() - kProgramHeaderBytes);
  out.u32(crc32(out.data().data(), out.data().size()));
  return std::move(out.data());
}

Program deserialize(const uint8_t* data, size_t size, const std::string& name) {
  auto fail = [&](const std::string& msg) -> ProgramError { return ProgramError(name + ": " + msg); };
  const size_t magic_seen = std::min(size, sizeof kProgramMagic);
  if (std::memcmp(data, kProgramMagic, magic_seen) != 0 || size == 0)
    throw fail("not a tpusim program (bad magic; expected a .tpb file written by `tpusim asm` or `tpusim compile`)");
  ByteReader header(data, std::min(size, kProgramHeaderBytes), name);
  header.bytes(sizeof kProgramMagic, "magic");
  const uint32_t version = header.u32("header version");
  if (version != kProgramVersion)
    throw fail("unsupported container version " + std::to_string(version) + " (this build reads version " +
               std::to_string(kProgramVersion) + "; rebuild the program with this tpusim)");
  const uint32_t section_count = header.u32("header section count");
  const uint64_t payload_bytes = header.u64("header payload size");
  const uint32_t word_bytes = header.u32("header word size");
  header.u32("header reserved word");
  if (word_bytes != kWordBytes)
    throw fail("instruction words are " + std::to_string(word_bytes) + " bytes; this ISA uses " +
               std::to_string(kWordBytes));
  const uint64_t expected = kProgramHeaderBytes + payload_bytes + 4;
  if (payload_bytes > size || size < expected)
    throw fail("truncated: the header promises " + std::to_string(expected) + " bytes but the file has " +
               std::to_string(size));
  if (size > expected) throw fail(std::to_string(size - expected) + " unexpected bytes after the end of the program");
  const size_t body = kProgramHeaderBytes + payload_bytes;
  uint32_t stored = 0;
  for (int i = 0; i < 4; ++i) stored |= uint32_t{data[body + i]} << (8 * i);
  const uint32_t computed = crc32(data, body);
  if (stored != computed) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "checksum mismatch (stored 0x%08x, computed 0x%08x): the file is corrupt", stored,
                  computed);
    throw fail(buf);
  }

  Program program;
  ByteReader payload(data + kProgramHeaderBytes, payload_bytes, name);
  bool seen[6] = {};
  for (uint32_t s = 0; s < section_count; ++s) {
    const uint32_t kind = payload.u32("section kind");
    payload.u32("section reserved word");
    const uint64_t length = payload.u64("section length");
    const uint8_t* body_ptr = payload.bytes(length, "section body");
    payload.skip_pad8();
    if (kind < 1 || kind > 5) throw fail("unknown section kind " + std::to_string(kind));
    if (seen[kind]) throw fail("section '" + std::string(section_name(kind)) + "' appears twice");
    seen[kind] = true;
    ByteReader r(body_ptr, length, name + ": section '" + std::string(section_name(kind)) + "'");
    switch (static_cast<SectionKind>(kind)) {
      case SectionKind::kText:
        if (length % kWordBytes) r.fail("length " + std::to_string(length) + " is not a whole number of words");
        for (uint64_t i = 0; i < length; i += kWordBytes)
          program.text.push_back(Word::from_bytes(r.bytes(kWordBytes, "word")));
        break;
      case SectionKind::kDram: program.dram = get_image(r); break;
      case SectionKind::kHost: program.host = get_image(r); break;
      case SectionKind::kTensors: {
        const uint32_t count = r.u32("tensor count");
        for (uint32_t i = 0; i < count; ++i) {
          TensorDesc t;
          t.name = r.str("tensor name");
          const uint8_t role = r.u8("tensor role"), dtype = r.u8("tensor dtype"), space = r.u8("tensor space");
          const uint8_t rank = r.u8("tensor rank");
          if (role > 1 || dtype > 4 || space > 2)
            r.fail("tensor '" + t.name + "' has an invalid role, dtype or memory space");
          t.role = static_cast<TensorRole>(role);
          t.dtype = static_cast<DType>(dtype);
          t.space = static_cast<Space>(space);
          for (uint8_t d = 0; d < rank; ++d) t.shape.push_back(static_cast<int64_t>(r.u64("tensor dimension")));
          t.addr = r.u64("tensor address");
          const uint64_t bits = r.u64("tensor scale");
          std::memcpy(&t.scale, &bits, 8);
          t.zero_point = static_cast<int32_t>(r.u32("tensor zero point"));
          program.tensors.push_back(std::move(t));
        }
        break;
      }
      case SectionKind::kMetadata: {
        const uint32_t count = r.u32("metadata count");
        for (uint32_t i = 0; i < count; ++i) {
          std::string k = r.str("metadata key");
          std::string v = r.str("metadata value");
          program.metadata.emplace_back(std::move(k), std::move(v));
        }
        break;
      }
    }
    if (!r.done()) r.fail(std::to_string(length - r.pos()) + " unexpected bytes at the end of the section");
  }
  if (!payload.done()) throw fail("unexpected bytes after the last section");
  return program;
}

namespace {
// The whole file in one read (the stream's size, then its bytes); false when it cannot be opened.
// A regular file in one read (its size, then its bytes); anything else (a pipe, /proc) streamed.
template <class Bytes>
bool read_whole(const std::string& path, Bytes* out) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return false;
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  if (std::filesystem::is_regular_file(path, ec)) {
    const auto size = std::filesystem::file_size(path, ec);
    if (!ec) {
      out->resize(static_cast<size_t>(size));
      f.read(reinterpret_cast<char*>(out->data()), static_cast<std::streamsize>(size));
      out->resize(static_cast<size_t>(f.gcount()));
      return true;
    }
  }
  out->assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  return true;
}

void write_atomically(const std::string& path, const char* bytes, size_t size) {
  // Unique across the hosts sharing a results folder (Slurm nodes), not only across processes.
  char host[256] = "host";
  gethostname(host, sizeof host - 1);
  const std::string tmp = path + ".tmp." + host + "." + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw ProgramError(path + ": cannot write (" + std::strerror(errno) + ")");
    f.write(bytes, static_cast<std::streamsize>(size));
    f.flush();
    if (!f) {
      std::remove(tmp.c_str());
      throw ProgramError(path + ": write failed (" + std::strerror(errno) + ")");
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    throw ProgramError(path + ": cannot write (" + std::strerror(err) + ")");
  }
}
}  // namespace

std::string read_file(const std::string& path) {
  std::string bytes;
  read_whole(path, &bytes);
  return bytes;
}

void write_file_atomically(const std::string& path, const std::string& bytes) {
  write_atomically(path, bytes.data(), bytes.size());
}

void save_program(const Program& program, const std::string& path) {
  const std::vector<uint8_t> bytes = serialize(program);
  write_atomically(path, reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

Program load_program(const std::string& path) {
  std::vector<uint8_t> bytes;
  if (!read_whole(path, &bytes)) throw ProgramError(path + ": cannot open (" + std::strerror(errno) + ")");
  return deserialize(bytes.data(), bytes.size(), path);
}

}  // namespace tpu::isa
