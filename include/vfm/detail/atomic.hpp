// SPDX-License-Identifier: MIT
/// Atomic operations on plain objects shared between harts, from compiler
/// builtins (RVWMO: acquire/release map to the A extension's aq/rl bits).
#pragma once

#include <vfm/detail/types.hpp>

namespace vfm::detail {

template <class T>
[[nodiscard]] inline T atomic_load(const T* object) noexcept {
    return __atomic_load_n(object, __ATOMIC_ACQUIRE);
}
template <class T>
inline void atomic_store(T* object, T value) noexcept {
    __atomic_store_n(object, value, __ATOMIC_RELEASE);
}
template <class T>
inline T atomic_exchange(T* object, T value) noexcept {
    return __atomic_exchange_n(object, value, __ATOMIC_ACQ_REL);
}
template <class T>
inline T atomic_fetch_or(T* object, T value) noexcept {
    return __atomic_fetch_or(object, value, __ATOMIC_ACQ_REL);
}
template <class T>
inline bool atomic_compare_exchange(T* object, T& expected, T desired) noexcept {
    return __atomic_compare_exchange_n(object, &expected, desired, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}
inline void atomic_fence() noexcept { __atomic_thread_fence(__ATOMIC_SEQ_CST); }

/// A test-and-set spinlock; `lock()` spins until the lock is free.
class spinlock {
public:
    void lock() noexcept {
        while (__atomic_exchange_n(&m_locked, u32{1}, __ATOMIC_ACQUIRE) != 0) {
            while (__atomic_load_n(&m_locked, __ATOMIC_RELAXED) != 0) {}
        }
    }
    void unlock() noexcept { __atomic_store_n(&m_locked, u32{0}, __ATOMIC_RELEASE); }

private:
    u32 m_locked = 0;
};

/// Holds a spinlock for the lifetime of the guard.
class lock_guard {
public:
    explicit lock_guard(spinlock& lock) noexcept : m_lock(lock) { m_lock.lock(); }
    ~lock_guard() { m_lock.unlock(); }
    lock_guard(const lock_guard&) = delete;
    lock_guard& operator=(const lock_guard&) = delete;

private:
    spinlock& m_lock;
};

}  // namespace vfm::detail
