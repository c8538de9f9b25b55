// SPDX-License-Identifier: MIT
/// SHA-256 (FIPS 180-4), freestanding and constexpr, used by the monitor to
/// measure the OS image before it first runs.
///
/// Written for size rather than speed (the monitor image has a 32 KiB budget):
/// one compression loop of 64 rounds over a 16-word rolling message schedule,
/// no unrolling, no tables besides K and H(0). Everything is constexpr so a digest can
/// be checked with static_assert; nothing allocates.
///
/// Limits: the message length is kept in bytes in a u64, so messages must be
/// shorter than 2^61 bytes (FIPS 180-4 allows up to 2^64 - 1 bits).
#pragma once

#include <vfm/detail/types.hpp>

namespace vfm::detail {

/// Incremental SHA-256: `update()` any number of times with any sizes, then
/// `finish()` once. `finish()` leaves the object as `reset()` does, ready for
/// a new message.
class sha256 {
public:
    /// Bytes in a digest (FIPS 180-4 section 1, table 1: 256 bits).
    static constexpr usize digest_size = 32;
    /// Bytes in a message block (FIPS 180-4 section 1, table 1: 512 bits).
    static constexpr usize block_size = 64;

    /// Starts a message with the initial hash value H(0) (FIPS 180-4 section 5.3.3).
    constexpr sha256() noexcept { reset(); }

    /// Drops whatever was hashed so far and starts a new message.
    constexpr void reset() noexcept {
        for (unsigned i = 0; i != 8; ++i) m_state[i] = h0[i];
        m_length = 0;
    }

    /// Appends `size` bytes at `data` to the message (`data` may be null when
    /// `size` is 0). Full blocks are hashed straight from `data` when nothing
    /// is buffered; the rest goes through the 64-byte block buffer.
    constexpr void update(const u8* data, usize size) noexcept {
        usize used = static_cast<usize>(m_length % block_size);
        m_length += size;
        while (size != 0) {
            if (used == 0 && size >= block_size) {
                compress(data);
                data += block_size;
                size -= block_size;
                continue;
            }
            m_block[used++] = *data++;
            --size;
            if (used == block_size) {
                compress(m_block);
                used = 0;
            }
        }
    }

    /// Pads the message (FIPS 180-4 section 5.1.1: a 1 bit, zeros, then the
    /// 64-bit big-endian length in bits), hashes the last block(s) and writes
    /// H(N) as 32 big-endian bytes (section 6.2.2, step 4). Then starts over.
    constexpr void finish(u8 (&digest)[digest_size]) noexcept {
        const u64 bits = m_length * 8;
        usize used = static_cast<usize>(m_length % block_size);
        m_block[used++] = 0x80;
        if (used > block_size - 8) {
            while (used != block_size) m_block[used++] = 0;
            compress(m_block);
            used = 0;
        }
        while (used != block_size - 8) m_block[used++] = 0;
        for (unsigned i = 0; i != 8; ++i) m_block[used++] = static_cast<u8>(bits >> (56 - 8 * i));
        compress(m_block);
        for (unsigned i = 0; i != digest_size; ++i) digest[i] = static_cast<u8>(m_state[i / 4] >> (24 - 8 * (i % 4)));
        reset();
    }

private:
    /// The initial hash value H(0): the first 32 bits of the fractional parts
    /// of the square roots of the first 8 primes (FIPS 180-4 section 5.3.3).
    static constexpr u32 h0[8] = {
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    };

    /// The round constants K0..K63: the first 32 bits of the fractional parts
    /// of the cube roots of the first 64 primes (FIPS 180-4 section 4.2.2).
    static constexpr u32 k[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    };

    /// ROTR^n(x) for 0 < n < 32 (FIPS 180-4 section 3.2).
    [[nodiscard]] static constexpr u32 rotr(u32 x, unsigned n) noexcept { return (x >> n) | (x << (32 - n)); }

    /// Hashes one 64-byte block into H (FIPS 180-4 section 6.2.2, steps 1-4,
    /// functions from section 4.1.2). The schedule W is kept as a rolling
    /// window of 16 words: W[t] for t >= 16 overwrites W[t - 16], which is no
    /// longer needed.
    constexpr void compress(const u8* block) noexcept {
        u32 w[16] = {};
        for (unsigned t = 0; t != 16; ++t)
            w[t] = u32{block[4 * t]} << 24 | u32{block[4 * t + 1]} << 16 | u32{block[4 * t + 2]} << 8 |
                   u32{block[4 * t + 3]};
        u32 a = m_state[0], b = m_state[1], c = m_state[2], d = m_state[3];
        u32 e = m_state[4], f = m_state[5], g = m_state[6], h = m_state[7];
        for (unsigned t = 0; t != 64; ++t) {
            if (t >= 16) {
                // Step 1: W[t] = sigma1(W[t-2]) + W[t-7] + sigma0(W[t-15]) + W[t-16].
                const u32 w2 = w[(t - 2) % 16];
                const u32 w15 = w[(t - 15) % 16];
                const u32 sigma1 = rotr(w2, 17) ^ rotr(w2, 19) ^ (w2 >> 10);
                const u32 sigma0 = rotr(w15, 7) ^ rotr(w15, 18) ^ (w15 >> 3);
                w[t % 16] += sigma1 + w[(t - 7) % 16] + sigma0;
            }
            // Step 3: T1 = h + Sigma1(e) + Ch(e, f, g) + K[t] + W[t];
            //         T2 = Sigma0(a) + Maj(a, b, c).
            const u32 big_sigma1 = rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25);
            const u32 ch = (e & f) ^ (~e & g);
            const u32 t1 = h + big_sigma1 + ch + k[t] + w[t % 16];
            const u32 big_sigma0 = rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22);
            const u32 maj = (a & b) ^ (a & c) ^ (b & c);
            const u32 t2 = big_sigma0 + maj;
            h = g;
            g = f;
            f = e;
            e = d + t1;
            d = c;
            c = b;
            b = a;
            a = t1 + t2;
        }
        // Step 4: the intermediate hash value H(i).
        m_state[0] += a;
        m_state[1] += b;
        m_state[2] += c;
        m_state[3] += d;
        m_state[4] += e;
        m_state[5] += f;
        m_state[6] += g;
        m_state[7] += h;
    }

    /// The intermediate hash value H(i) (set to H(0) by reset()).
    u32 m_state[8] = {};
    /// The partial block not yet hashed: the first `m_length % 64` bytes are valid.
    u8 m_block[block_size] = {};
    /// Message bytes seen so far.
    u64 m_length = 0;
};

/// The SHA-256 digest of `size` bytes at `data` (`data` may be null when `size` is 0).
constexpr void sha256_digest(const u8* data, usize size, u8 (&digest)[sha256::digest_size]) noexcept {
    sha256 hash;
    hash.update(data, size);
    hash.finish(digest);
}

/// Writes `digest` as 64 lower-case hex digits and a terminating NUL, the
/// usual way of printing a digest (as `sha256sum` does).
constexpr void to_hex(const u8 (&digest)[sha256::digest_size], char (&out)[2 * sha256::digest_size + 1]) noexcept {
    constexpr char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i != sha256::digest_size; ++i) {
        out[2 * i] = digits[digest[i] >> 4];
        out[2 * i + 1] = digits[digest[i] & 0xf];
    }
    out[2 * sha256::digest_size] = '\0';
}

/// Parses a NUL-terminated string of exactly 64 hex digits (either case, no
/// prefix, no spaces) into `digest`. Returns false, leaving `digest`
/// untouched, for anything else (including a null `text`); reads no further
/// than the first character that is not a hex digit.
[[nodiscard]] constexpr bool from_hex(const char* text, u8 (&digest)[sha256::digest_size]) noexcept {
    if (text == nullptr) return false;
    u8 value[sha256::digest_size] = {};
    for (unsigned i = 0; i != 2 * sha256::digest_size; ++i) {
        const char c = text[i];
        unsigned nibble = 0;
        if (c >= '0' && c <= '9')
            nibble = static_cast<unsigned>(c - '0');
        else if (c >= 'a' && c <= 'f')
            nibble = static_cast<unsigned>(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            nibble = static_cast<unsigned>(c - 'A' + 10);
        else
            return false;
        value[i / 2] = static_cast<u8>(value[i / 2] << 4 | nibble);
    }
    if (text[2 * sha256::digest_size] != '\0') return false;
    for (unsigned i = 0; i != sha256::digest_size; ++i) digest[i] = value[i];
    return true;
}

}  // namespace vfm::detail
