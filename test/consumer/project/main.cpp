// SPDX-License-Identifier: MIT
// Prints a few facts from vfm's spec tables; the consumer test checks them.
#include <vfm/riscv/csr.hpp>
#include <vfm/riscv/csr_fields.hpp>

#include <cstdio>

int main() {
    using vfm::riscv::csr;
    std::printf("vfm consumer: %s = 0x%03x, mstatus.MPP mask = 0x%llx\n", vfm::riscv::name(csr::mstatus),
                static_cast<unsigned>(csr::mstatus),
                static_cast<unsigned long long>(vfm::riscv::mstatus::mpp::mask));
    return 0;
}
