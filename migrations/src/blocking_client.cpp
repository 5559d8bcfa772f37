#include "shardproxy/migrations/blocking_client.h"

#include <mysql.h>

namespace shardproxy::migrations {

BlockingClient::BlockingClient() : mysql_(mysql_init(nullptr)) {}
BlockingClient::~BlockingClient() {
  mysql_close(mysql_);
}

Error BlockingClient::lastError(const std::string& context) const {
  return Error::fromServer(static_cast<std::uint16_t>(mysql_errno(mysql_)), mysql_sqlstate(mysql_),
                           context + ": " + mysql_error(mysql_));
}

Status BlockingClient::connect(const Endpoint& e) {
  unsigned int timeout = 5;
  mysql_optionsv(mysql_, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
  if (mysql_real_connect(mysql_, e.host.c_str(), e.user.c_str(), e.password.c_str(),
                         e.database.empty() ? nullptr : e.database.c_str(), e.port, nullptr,
                         0) == nullptr) {
    return lastError("connect " + e.host + ":" + std::to_string(e.port));
  }
  return {};
}

Status BlockingClient::execute(const std::string& sql) {
  if (mysql_real_query(mysql_, sql.data(), sql.size()) != 0) return lastError("query");
  if (MYSQL_RES* res = mysql_store_result(mysql_)) mysql_free_result(res);
  return {};
}

Result<std::optional<std::string>> BlockingClient::scalar(const std::string& sql) {
  if (mysql_real_query(mysql_, sql.data(), sql.size()) != 0) return lastError("query");
  MYSQL_RES* res = mysql_store_result(mysql_);
  if (res == nullptr) return std::optional<std::string>{};
  std::optional<std::string> out;
  if (MYSQL_ROW row = mysql_fetch_row(res); row != nullptr && row[0] != nullptr) {
    out = std::string(row[0], mysql_fetch_lengths(res)[0]);
  }
  mysql_free_result(res);
  return out;
}

}  // namespace shardproxy::migrations
