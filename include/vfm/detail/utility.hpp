// SPDX-License-Identifier: MIT
/// The few type utilities the core needs, built from compiler builtins so that
/// no standard library header is required (see docs/architecture.md).
#pragma once

#include <vfm/detail/types.hpp>

namespace vfm::detail {

template <class T, class U>
inline constexpr bool is_same = __is_same(T, U);

template <class T, class U>
concept same_as = is_same<T, U> && is_same<U, T>;

template <class T>
struct remove_reference {
    using type = T;
};
template <class T>
struct remove_reference<T&> {
    using type = T;
};
template <class T>
struct remove_reference<T&&> {
    using type = T;
};
template <class T>
using remove_reference_t = typename remove_reference<T>::type;

template <class T>
[[nodiscard]] constexpr T&& forward(remove_reference_t<T>& value) noexcept {
    return static_cast<T&&>(value);
}

template <class T>
[[nodiscard]] constexpr remove_reference_t<T>&& move(T&& value) noexcept {
    return static_cast<remove_reference_t<T>&&>(value);
}

template <bool B, class T, class F>
struct conditional {
    using type = T;
};
template <class T, class F>
struct conditional<false, T, F> {
    using type = F;
};
template <bool B, class T, class F>
using conditional_t = typename conditional<B, T, F>::type;

template <class T>
[[nodiscard]] constexpr T min(T a, T b) noexcept {
    return b < a ? b : a;
}
template <class T>
[[nodiscard]] constexpr T max(T a, T b) noexcept {
    return a < b ? b : a;
}

/// True when the call happens during constant evaluation.
[[nodiscard]] constexpr bool is_constant_evaluated() noexcept { return __builtin_is_constant_evaluated(); }

}  // namespace vfm::detail
