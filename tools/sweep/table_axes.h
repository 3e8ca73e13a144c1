#pragma once

// Entries of a chip's energy or area table as sweep axes: "energy.table.<path>" sets the number at
// <path> (for example offchip_pj.dram_read_bit) in the table the configuration's energy.table
// names, "energy.area_table.<path>" in its area table. A point with such values runs on a copy of
// the table with them set, kept under the cache folder by the hash of its text (the same table is
// one file, whichever process writes it).

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tpu::sweep {

struct TableEntry {
  std::string table_key;  // "energy.table" or "energy.area_table"
  std::string path;       // within the table, dotted
};

// The table entry an axis names, if it names one.
std::optional<TableEntry> table_entry(const std::string& axis);

// Empty when `path` is a number in the table file; else why not, with the nearest entry.
std::string check_table_entry(const std::string& table_file, const std::string& path);

// A copy of `table_file` with the (path, value) entries set: its text and the file it is kept in
// (not yet written; write_table writes it).
struct TableCopy {
  std::string file, text;
};
TableCopy table_with(const std::string& table_file, const std::vector<std::pair<std::string, std::string>>& entries);
void write_table(const TableCopy& copy);

}  // namespace tpu::sweep
