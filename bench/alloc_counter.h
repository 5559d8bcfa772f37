// Counts heap allocations in a benchmark program: include once (it replaces the global
// operator new/delete) and read allocationCount() around the measured loop.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace bench {
inline std::atomic<std::uint64_t> gAllocations{0};
inline std::uint64_t allocationCount() {
  return gAllocations.load(std::memory_order_relaxed);
}
}  // namespace bench

void* operator new(std::size_t n) {
  bench::gAllocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
