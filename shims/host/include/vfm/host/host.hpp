// SPDX-License-Identifier: MIT
/// The host backend in one include: the simulated hart, its configuration,
/// PMP, memory and access log, and the simulated board (docs/host-backend.md).
#pragma once

#include <vfm/host/access_log.hpp>
#include <vfm/host/board.hpp>
#include <vfm/host/config.hpp>
#include <vfm/host/memory.hpp>
#include <vfm/host/pmp.hpp>
#include <vfm/host/simulated_hart.hpp>
