// SPDX-License-Identifier: MIT
// fdt_reserve IN.dtb OUT.dtb NAME BASE SIZE: reserves [BASE, BASE + SIZE) with
// reserve_memory and add_memory_reservation and writes the edited blob, for
// dtc_roundtrip.py to decompile.
#include <vfm/fdt/editor.hpp>

#include <cstdio>
#include <cstdlib>
#include <vector>

int main(int argc, char** argv) {
    if (argc != 6) {
        std::fprintf(stderr, "usage: %s IN.dtb OUT.dtb NAME BASE SIZE\n", argv[0]);
        return 2;
    }
    std::vector<vfm::u8> buffer;
    if (FILE* in = std::fopen(argv[1], "rb")) {
        int c;
        while ((c = std::fgetc(in)) != EOF) buffer.push_back(static_cast<vfm::u8>(c));
        std::fclose(in);
    } else {
        std::perror(argv[1]);
        return 1;
    }
    const vfm::u64 base = std::strtoull(argv[4], nullptr, 0);
    const vfm::u64 size = std::strtoull(argv[5], nullptr, 0);

    buffer.resize(buffer.size() + 4096);
    vfm::fdt::editor e(buffer.data(), buffer.size());
    if (!e.ok()) {
        std::fprintf(stderr, "%s: %s\n", argv[1], vfm::fdt::to_string(e.status()));
        return 1;
    }
    const auto node = vfm::fdt::reserve_memory(e, argv[3], base, size);
    if (!node) {
        std::fprintf(stderr, "reserve_memory: %s\n", vfm::fdt::to_string(node.error()));
        return 1;
    }
    if (const vfm::fdt::error err = e.add_memory_reservation(base, size); err != vfm::fdt::error::none) {
        std::fprintf(stderr, "add_memory_reservation: %s\n", vfm::fdt::to_string(err));
        return 1;
    }
    FILE* out = std::fopen(argv[2], "wb");
    if (out == nullptr || std::fwrite(e.data(), 1, e.size(), out) != e.size() || std::fclose(out) != 0) {
        std::perror(argv[2]);
        return 1;
    }
    return 0;
}
