// A bump allocator for one statement's AST.
// Place in the request flow: the Parser owns one ParseArena and rewinds it before each statement,
// so once its blocks have grown to the size of the usual statements, parsing allocates nothing.
// Nodes put here must be trivially destructible: the arena never runs destructors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <span>
#include <string_view>
#include <type_traits>

namespace shardproxy::router::sql {

class ParseArena {
 public:
  explicit ParseArena(std::size_t firstBlockBytes = std::size_t{16} * 1024);
  ~ParseArena();
  ParseArena(const ParseArena&) = delete;
  ParseArena& operator=(const ParseArena&) = delete;
  // Moving takes the blocks; the moved-from arena allocates a new block when used again.
  ParseArena(ParseArena&& other) noexcept;
  ParseArena& operator=(ParseArena&& other) = delete;

  // Uninitialised memory; `align` must be a power of two no larger than alignof(max_align_t).
  void* allocate(std::size_t bytes, std::size_t align) {
    auto p = reinterpret_cast<std::uintptr_t>(ptr_);
    std::uintptr_t aligned = (p + align - 1) & ~(std::uintptr_t{align} - 1);
    if (aligned + bytes <= reinterpret_cast<std::uintptr_t>(end_)) {
      ptr_ = reinterpret_cast<char*>(aligned + bytes);
      used_ += bytes;
      return reinterpret_cast<void*>(aligned);
    }
    return allocateSlow(bytes, align);
  }

  template <typename T>
  T* make() {
    static_assert(std::is_trivially_destructible_v<T>, "the arena never runs destructors");
    return new (allocate(sizeof(T), alignof(T))) T();
  }

  template <typename T>
  std::span<T> copy(std::span<const T> from) {
    static_assert(std::is_trivially_copyable_v<T>);
    if (from.empty()) return {};
    auto* out = static_cast<T*>(allocate(sizeof(T) * from.size(), alignof(T)));
    std::memcpy(out, from.data(), sizeof(T) * from.size());
    return {out, from.size()};
  }

  char* allocateChars(std::size_t n) { return static_cast<char*>(allocate(n, 1)); }

  // Forgets every node; keeps the blocks (up to kRetainBytes of them) for the next statement.
  void reset();

  std::size_t bytesUsed() const { return used_; }
  std::size_t bytesReserved() const { return reserved_; }

  // A statement bigger than this (a huge multi-row INSERT) does not pin its memory after reset().
  static constexpr std::size_t kRetainBytes = std::size_t{1} << 20;

 private:
  struct Block {
    Block* next;
    std::size_t size;  // usable bytes after the header
    char* data() { return reinterpret_cast<char*>(this + 1); }
  };
  void* allocateSlow(std::size_t bytes, std::size_t align);
  static Block* newBlock(std::size_t size);

  Block* head_ = nullptr;
  Block* current_ = nullptr;
  char* ptr_ = nullptr;
  char* end_ = nullptr;
  std::size_t used_ = 0;
  std::size_t reserved_ = 0;
};

}  // namespace shardproxy::router::sql
