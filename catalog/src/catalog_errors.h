// The errors the catalog returns. ErrorCode::kCatalogInvariant, kCatalogNotFound, kCatalogExists
// and kCatalogIo are being added to the common registry (common/include/shardproxy/common/
// errors.h); until they are there, the `requires` fallbacks below pick kConfigInvalid (kInternal
// for I/O) so this module builds before and after. Once the codes exist, these helpers can name
// them directly and the fallbacks go.
#pragma once

#include <string>

#include "shardproxy/common/errors.h"

namespace shardproxy::catalog::detail {

template <typename E = ErrorCode>
constexpr E invariantCode() {
  if constexpr (requires { E::kCatalogInvariant; }) {
    return E::kCatalogInvariant;
  } else {
    return E::kConfigInvalid;
  }
}

template <typename E = ErrorCode>
constexpr E notFoundCode() {
  if constexpr (requires { E::kCatalogNotFound; }) {
    return E::kCatalogNotFound;
  } else {
    return E::kConfigInvalid;
  }
}

template <typename E = ErrorCode>
constexpr E existsCode() {
  if constexpr (requires { E::kCatalogExists; }) {
    return E::kCatalogExists;
  } else {
    return E::kConfigInvalid;
  }
}

template <typename E = ErrorCode>
constexpr E ioCode() {
  if constexpr (requires { E::kCatalogIo; }) {
    return E::kCatalogIo;
  } else {
    return E::kInternal;
  }
}

// A change would break a rule (overlap, second primary, bad name, ...).
inline Error invariantError(std::string message) {
  return Error::make(invariantCode(), std::move(message));
}
// The change names a keyspace, shard, backend, table rule or user that does not exist.
inline Error notFoundError(std::string message) {
  return Error::make(notFoundCode(), std::move(message));
}
// The change would create something that already exists.
inline Error existsError(std::string message) {
  return Error::make(existsCode(), std::move(message));
}
// SQLite could not read or write the file (I/O error, disk full, locked, not a database).
inline Error ioError(std::string message) {
  return Error::make(ioCode(), std::move(message));
}

}  // namespace shardproxy::catalog::detail
