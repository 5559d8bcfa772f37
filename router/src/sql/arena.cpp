#include "shardproxy/router/sql/arena.h"

#include <algorithm>
#include <cstdint>

namespace shardproxy::router::sql {

ParseArena::ParseArena(std::size_t firstBlockBytes) {
  head_ = current_ = newBlock(firstBlockBytes);
  reserved_ = head_->size;
  ptr_ = head_->data();
  end_ = ptr_ + head_->size;
}

ParseArena::ParseArena(ParseArena&& other) noexcept
    : head_(other.head_),
      current_(other.current_),
      ptr_(other.ptr_),
      end_(other.end_),
      used_(other.used_),
      reserved_(other.reserved_) {
  other.head_ = other.current_ = nullptr;
  other.ptr_ = other.end_ = nullptr;
  other.used_ = other.reserved_ = 0;
}

ParseArena::~ParseArena() {
  for (Block* b = head_; b != nullptr;) {
    Block* next = b->next;
    ::operator delete(b);
    b = next;
  }
}

ParseArena::Block* ParseArena::newBlock(std::size_t size) {
  // Blocks come from operator new so that allocation counters (bench/parse_bench.cpp) see them.
  void* raw = ::operator new(sizeof(Block) + size);
  return new (raw) Block{nullptr, size};
}

void* ParseArena::allocateSlow(std::size_t bytes, std::size_t align) {
  if (head_ == nullptr) {  // moved from
    head_ = current_ = newBlock(std::max<std::size_t>(bytes + align, 16 * 1024));
    reserved_ = head_->size;
    ptr_ = head_->data();
    end_ = ptr_ + head_->size;
    return allocate(bytes, align);
  }
  // Move on to the next kept block if the request fits there; otherwise put a new block after the
  // current one, at least twice as large, so a big statement needs few blocks.
  for (;;) {
    Block* next = current_->next;
    if (next == nullptr || next->size < bytes + align) {
      Block* fresh = newBlock(std::max(bytes + align, current_->size * 2));
      fresh->next = next;
      current_->next = fresh;
      reserved_ += fresh->size;
      next = fresh;
    }
    current_ = next;
    ptr_ = current_->data();
    end_ = ptr_ + current_->size;
    auto p = reinterpret_cast<std::uintptr_t>(ptr_);
    std::uintptr_t aligned = (p + align - 1) & ~(std::uintptr_t{align} - 1);
    if (aligned + bytes <= reinterpret_cast<std::uintptr_t>(end_)) {
      ptr_ = reinterpret_cast<char*>(aligned + bytes);
      used_ += bytes;
      return reinterpret_cast<void*>(aligned);
    }
  }
}

void ParseArena::reset() {
  if (head_ == nullptr) return;
  if (reserved_ > kRetainBytes) {
    // Keep the first block only: one giant statement must not hold its memory forever.
    for (Block* b = head_->next; b != nullptr;) {
      Block* next = b->next;
      ::operator delete(b);
      b = next;
    }
    head_->next = nullptr;
    reserved_ = head_->size;
  }
  current_ = head_;
  ptr_ = head_->data();
  end_ = ptr_ + head_->size;
  used_ = 0;
}

}  // namespace shardproxy::router::sql
