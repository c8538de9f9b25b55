// SPDX-License-Identifier: MIT
// Tests for vfm/detail/format.hpp: the freestanding formatter. Expected texts
// follow the conventions of printf / {fmt} for the same placeholders.
#include <vfm/detail/format.hpp>

#include <cstdint>
#include <string>

#include "vfm_catch.hpp"

namespace {

namespace detail = vfm::detail;

/// A sink collecting into a std::string.
struct string_sink {
    std::string text;
    void put(char c) { text += c; }
};

template <class... Args>
std::string format(const char* text, const Args&... args) {
    string_sink sink;
    detail::format_to(sink, text, args...);
    return sink.text;
}

enum class colour : std::uint8_t { red = 1, blue = 12 };

/// Parses `text` (what follows a '{') and compares the spec and where parsing stopped.
constexpr bool spec_is(const char* text, bool hex, bool prefix, bool zero_pad, unsigned width, char next) {
    detail::format_spec spec;
    const char* rest = detail::parse_spec(text, spec);
    return spec.hex == hex && spec.prefix == prefix && spec.zero_pad == zero_pad && spec.width == width && *rest == next;
}

}  // namespace

TEST_CASE("format: plain text and escaped braces", "[detail][format]") {
    CHECK(format("") == "");
    CHECK(format("hello") == "hello");
    CHECK(format("{{}}") == "{}");
    CHECK(format("a {{ b }} c") == "a { b } c");
    CHECK(format("{{{}}}", 7) == "{7}");
}

TEST_CASE("format: decimal integers", "[detail][format]") {
    CHECK(format("{}", 0) == "0");
    CHECK(format("{}", 42) == "42");
    CHECK(format("{}", -42) == "-42");
    CHECK(format("{}", std::uint64_t{18446744073709551615u}) == "18446744073709551615");
    CHECK(format("{}", std::int64_t{-9223372036854775807 - 1}) == "-9223372036854775808");
    CHECK(format("{}", std::int64_t{9223372036854775807}) == "9223372036854775807");
    CHECK(format("{}", std::uint8_t{200}) == "200");
    CHECK(format("{}", std::int8_t{-128}) == "-128");
    CHECK(format("{}", std::uint16_t{65535}) == "65535");
    CHECK(format("hart {} of {}", 3u, 8u) == "hart 3 of 8");
}

TEST_CASE("format: hexadecimal", "[detail][format]") {
    CHECK(format("{:x}", 255) == "ff");
    CHECK(format("{:x}", 0) == "0");
    CHECK(format("{:#x}", 255) == "0xff");
    CHECK(format("{:#x}", 0) == "0x0");
    CHECK(format("{:x}", std::uint64_t{0xdead'beef'0000'0001}) == "deadbeef00000001");
    CHECK(format("{:016x}", 255) == "00000000000000ff");
    CHECK(format("{:#018x}", 255) == "0x00000000000000ff");
    CHECK(format("{:#018x}", std::uint64_t{0x8000'0000'0000'0000}) == "0x8000000000000000");
    CHECK(format("{:04x}", 0x12345) == "12345");  // wider than the width
    CHECK(format("pc {:#x} cause {}", std::uint64_t{0x8020'0000}, 2) == "pc 0x80200000 cause 2");
}

TEST_CASE("format: widths without zero padding, and signs", "[detail][format]") {
    CHECK(format("[{:5}]", 42) == "[   42]");
    CHECK(format("[{:5}]", -42) == "[  -42]");
    CHECK(format("[{:05}]", -42) == "[-0042]");
    CHECK(format("[{:05}]", 42) == "[00042]");
    CHECK(format("[{:#10x}]", 255) == "[      0xff]");
    CHECK(format("[{:#010x}]", 255) == "[0x000000ff]");
    CHECK(format("[{:2}]", -42) == "[-42]");
}

TEST_CASE("format: strings, characters, booleans, enums", "[detail][format]") {
    const char* text = "mstatus";
    char buffer[8] = "buf";
    CHECK(format("csr {}", text) == "csr mstatus");
    CHECK(format("[{}]", "literal") == "[literal]");
    CHECK(format("[{}]", buffer) == "[buf]");
    CHECK(format("[{}]", static_cast<const char*>(nullptr)) == "[(null)]");
    CHECK(format("{}{}", 'o', 'k') == "ok");
    CHECK(format("{} {}", true, false) == "true false");
    CHECK(format("{} {:#x}", colour::red, colour::blue) == "1 0xc");
}

TEST_CASE("format: placeholders and arguments that do not pair up", "[detail][format]") {
    // Extra arguments are ignored.
    CHECK(format("x", 1, 2) == "x");
    CHECK(format("{} and", 1, 2) == "1 and");
    // A placeholder without an argument ends the output there (pinned behaviour:
    // nothing is read past the arguments given).
    CHECK(format("{} {}", 1) == "1 ");
    CHECK(format("{}") == "");
}

TEST_CASE("format: parse_spec", "[detail][format]") {
    STATIC_REQUIRE(spec_is("}", false, false, false, 0, '\0'));
    STATIC_REQUIRE(spec_is(":x}rest", true, false, false, 0, 'r'));
    STATIC_REQUIRE(spec_is(":#x}", true, true, false, 0, '\0'));
    STATIC_REQUIRE(spec_is(":016x}", true, false, true, 16, '\0'));
    STATIC_REQUIRE(spec_is(":#018x} ", true, true, true, 18, ' '));
    CHECK(spec_is(":5}", false, false, false, 5, '\0'));
    CHECK(spec_is(":05}", false, false, true, 5, '\0'));
}

TEST_CASE("format: buffer_sink truncates and always terminates", "[detail][format]") {
    SECTION("fits") {
        char buffer[32];
        detail::buffer_sink sink(buffer, sizeof buffer);
        detail::format_to(sink, "hart {} pc {:#x}", 1, 0x8020'0000u);
        CHECK(std::string(sink.c_str()) == "hart 1 pc 0x80200000");
        CHECK(sink.size() == 20);
    }
    SECTION("truncated to capacity - 1") {
        char buffer[6];
        detail::buffer_sink sink(buffer, sizeof buffer);
        detail::format_to(sink, "{}", 1234567);
        CHECK(std::string(buffer) == "12345");
        CHECK(sink.size() == 5);
    }
    SECTION("empty output is an empty string") {
        char buffer[4] = {'x', 'x', 'x', 'x'};
        detail::buffer_sink sink(buffer, sizeof buffer);
        CHECK(std::string(buffer) == "");
        CHECK(sink.size() == 0);
    }
    SECTION("capacity 1 holds only the terminator") {
        char buffer[1] = {'x'};
        detail::buffer_sink sink(buffer, sizeof buffer);
        detail::format_to(sink, "abc");
        CHECK(buffer[0] == '\0');
        CHECK(sink.size() == 0);
    }
}
