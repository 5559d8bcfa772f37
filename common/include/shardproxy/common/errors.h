// Errors as values, shared by every module (see docs/errors.md).
// Place in the request flow: any step that can fail returns Result<T>; the session turns an
// Error into a MySQL ERR packet with the errno and SQLSTATE registered here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace shardproxy {

// One registry of stable codes. The table in errors.cpp gives each its MySQL errno, SQLSTATE
// and a message template; `shardproxy --error-reference` prints it as docs/errors.md.
enum class ErrorCode : std::uint16_t {
  kInternal,
  kAccessDenied,
  kUnknownCommand,
  kMalformedPacket,
  kPacketsOutOfOrder,
  kPacketTooLarge,
  kHandshakeFailed,
  kBackendUnreachable,
  kBackendLost,
  kBackendLoginRefused,
  kBackendProtocol,
  kPoolExhausted,
  kUnknownStatement,
  kTooManyConnections,
  kShuttingDown,
  kNotSupportedYet,
  kConfigInvalid,
  kAuthPluginUnsupported,
  kSslRequired,
  kCatalogInvariant,
  kCatalogNotFound,
  kCatalogExists,
  kCatalogIo,
  kParseError,
  kNoRoute,
  kNoTableRule,
  kShardKeyRequired,
  kShardKeyChange,
  kCrossShardTransaction,
  kKeyspaceHeld,
  kMigration,
  kScatterWriteDenied,
  kPartialCommit,
  kTransactionRolledBack,
  kCount
};

struct ErrorInfo {
  ErrorCode code;
  std::string_view name;
  std::uint16_t mysqlErrno;
  std::string_view sqlState;
  std::string_view summary;
};

const ErrorInfo& errorInfo(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::uint16_t mysqlErrno = 1105;
  std::string sqlState = "HY000";
  std::string message;

  static Error make(ErrorCode code, std::string message);
  // An error the backend reported: relayed with its own errno/SQLSTATE.
  static Error fromServer(std::uint16_t mysqlErrno, std::string_view sqlState, std::string message);
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T& operator*() { return value(); }
  T* operator->() { return &value(); }
  const Error& error() const { return std::get<1>(v_); }
  Error takeError() { return std::move(std::get<1>(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : err_(std::move(error)), ok_(false) {}  // NOLINT
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return err_; }
  Error takeError() { return std::move(err_); }

 private:
  Error err_;
  bool ok_ = true;
};

using Status = Result<void>;

// Markdown table of every registered error, for docs/errors.md.
std::string errorReferenceMarkdown();

}  // namespace shardproxy
