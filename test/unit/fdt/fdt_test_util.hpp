// SPDX-License-Identifier: MIT
// Helpers for the vfm/fdt tests: loading the blobs dtc and QEMU built, and an
// independent little encoder for hand-made (often malformed) blobs.
#pragma once

#include <vfm/detail/types.hpp>
#include <vfm/fdt/format.hpp>

#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace vfm::fdt {
/// How Catch prints a region: [base, end). Here, in the header every test of
/// the executable includes first, so that every translation unit's printer of
/// a region is this one.
inline std::ostream& operator<<(std::ostream& s, const region& r) {
    const std::ios_base::fmtflags flags = s.flags();
    s << std::hex << "[0x" << r.base << ", 0x" << r.base + r.size << ")";
    s.flags(flags);
    return s;
}
}  // namespace vfm::fdt

namespace fdt_test {

using vfm::u32;
using vfm::u64;
using vfm::u8;

/// Reads `name` from the build directory of the tests (where meson put the blobs).
inline std::vector<u8> load(const std::string& name) {
    const std::string path = std::string(VFM_FDT_TEST_DIR) + "/" + name;
    std::vector<u8> data;
    if (FILE* f = std::fopen(path.c_str(), "rb")) {
        u8 buffer[4096];
        std::size_t n;
        while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) data.insert(data.end(), buffer, buffer + n);
        std::fclose(f);
    }
    return data;
}

inline u32 be32(const u8* p) { return (u32{p[0]} << 24) | (u32{p[1]} << 16) | (u32{p[2]} << 8) | u32{p[3]}; }
inline void put_be32(u8* p, u32 v) {
    p[0] = static_cast<u8>(v >> 24);
    p[1] = static_cast<u8>(v >> 16);
    p[2] = static_cast<u8>(v >> 8);
    p[3] = static_cast<u8>(v);
}

/// Header field at byte offset `field` (DT spec 5.2 order: magic, totalsize,
/// off_dt_struct, off_dt_strings, off_mem_rsvmap, version, last_comp_version,
/// boot_cpuid_phys, size_dt_strings, size_dt_struct).
inline u32 header(const std::vector<u8>& blob, u32 field) { return be32(blob.data() + field); }
inline void set_header(std::vector<u8>& blob, u32 field, u32 value) { put_be32(blob.data() + field, value); }

/// Builds a blob token by token, following DT spec chapter 5 directly; the
/// layout is header, reservations, structure, strings unless told otherwise.
class builder {
public:
    builder& begin(const std::string& name) {
        word(1);
        for (char c : name) m_struct.push_back(static_cast<u8>(c));
        m_struct.push_back(0);
        pad();
        return *this;
    }
    builder& end_node() { return word(2); }
    builder& nop() { return word(4); }
    builder& end() { return word(9); }
    builder& raw_token(u32 value) { return word(value); }
    builder& prop(const std::string& name, const std::vector<u8>& value) {
        word(3);
        word(static_cast<u32>(value.size()));
        word(string_offset(name));
        m_struct.insert(m_struct.end(), value.begin(), value.end());
        pad();
        return *this;
    }
    builder& prop_u32(const std::string& name, u32 value) {
        return prop(name, {static_cast<u8>(value >> 24), static_cast<u8>(value >> 16), static_cast<u8>(value >> 8),
                           static_cast<u8>(value)});
    }
    builder& prop_string(const std::string& name, const std::string& value) {
        std::vector<u8> bytes(value.begin(), value.end());
        bytes.push_back(0);
        return prop(name, bytes);
    }
    /// A property token with arbitrary len and nameoff and no value bytes.
    builder& raw_prop(u32 len, u32 nameoff) {
        word(3);
        word(len);
        return word(nameoff);
    }
    builder& raw_bytes(std::initializer_list<u8> bytes) {
        m_struct.insert(m_struct.end(), bytes.begin(), bytes.end());
        return *this;
    }
    builder& raw_strings(std::initializer_list<u8> bytes) {
        m_strings.insert(m_strings.end(), bytes.begin(), bytes.end());
        return *this;
    }
    builder& reserve(u64 base, u64 size) {
        m_reservations.emplace_back(base, size);
        return *this;
    }

    std::size_t struct_size() const { return m_struct.size(); }

    /// The blob; with `strings_first` the strings block comes before the structure block.
    std::vector<u8> build(bool strings_first = false) const {
        std::vector<u8> blob(40, 0);
        const u32 rsv = 40;
        for (const auto& [base, size] : m_reservations) append64(blob, base), append64(blob, size);
        append64(blob, 0);
        append64(blob, 0);
        u32 struct_off, strings_off;
        if (strings_first) {
            strings_off = static_cast<u32>(blob.size());
            blob.insert(blob.end(), m_strings.begin(), m_strings.end());
            while (blob.size() % 4 != 0) blob.push_back(0);
            struct_off = static_cast<u32>(blob.size());
            blob.insert(blob.end(), m_struct.begin(), m_struct.end());
        } else {
            struct_off = static_cast<u32>(blob.size());
            blob.insert(blob.end(), m_struct.begin(), m_struct.end());
            strings_off = static_cast<u32>(blob.size());
            blob.insert(blob.end(), m_strings.begin(), m_strings.end());
        }
        put_be32(&blob[0], 0xd00dfeed);
        put_be32(&blob[4], static_cast<u32>(blob.size()));
        put_be32(&blob[8], struct_off);
        put_be32(&blob[12], strings_off);
        put_be32(&blob[16], rsv);
        put_be32(&blob[20], 17);
        put_be32(&blob[24], 16);
        put_be32(&blob[28], 0);
        put_be32(&blob[32], static_cast<u32>(m_strings.size()));
        put_be32(&blob[36], static_cast<u32>(m_struct.size()));
        return blob;
    }

private:
    builder& word(u32 value) {
        const std::size_t at = m_struct.size();
        m_struct.resize(at + 4);
        put_be32(&m_struct[at], value);
        return *this;
    }
    void pad() {
        while (m_struct.size() % 4 != 0) m_struct.push_back(0);
    }
    u32 string_offset(const std::string& name) {
        const std::string all(m_strings.begin(), m_strings.end());
        for (std::size_t at = 0; at < m_strings.size(); at += std::string(all.c_str() + at).size() + 1) {
            if (std::string(all.c_str() + at) == name) return static_cast<u32>(at);
        }
        const u32 at = static_cast<u32>(m_strings.size());
        m_strings.insert(m_strings.end(), name.begin(), name.end());
        m_strings.push_back(0);
        return at;
    }
    static void append64(std::vector<u8>& blob, u64 value) {
        for (int shift = 56; shift >= 0; shift -= 8) blob.push_back(static_cast<u8>(value >> shift));
    }

    std::vector<u8> m_struct;
    std::vector<u8> m_strings;
    std::vector<std::pair<u64, u64>> m_reservations;
};

}  // namespace fdt_test
