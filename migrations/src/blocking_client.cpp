#include "shardproxy/migrations/blocking_client.h"

#include <mysql.h>

namespace shardproxy::migrations {

BlockingClient::BlockingClient() : mysql_(mysql_init(nullptr)) {}
BlockingClient::~BlockingClient() {
  mysql_close(mysql_);
}

Error BlockingClient::lastError(std::string_view context) const {
  return Error::fromServer(
      static_cast<std::uint16_t>(mysql_errno(mysql_)), mysql_sqlstate(mysql_),
      endpoint_.label() + " " + std::string(context) + ": " + mysql_error(mysql_));
}

unsigned BlockingClient::lastErrno() const {
  return mysql_errno(mysql_);
}

Status BlockingClient::connect(const Endpoint& e, unsigned timeoutSeconds) {
  // A handle connects once: a reconnect (after an error) starts from a fresh one.
  mysql_close(mysql_);
  mysql_ = mysql_init(nullptr);
  connected_ = false;
  endpoint_ = e;
  mysql_optionsv(mysql_, MYSQL_OPT_CONNECT_TIMEOUT, &timeoutSeconds);
  mysql_optionsv(mysql_, MYSQL_OPT_READ_TIMEOUT, &timeoutSeconds);
  mysql_optionsv(mysql_, MYSQL_OPT_WRITE_TIMEOUT, &timeoutSeconds);
  mysql_optionsv(mysql_, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  if (mysql_real_connect(mysql_, e.host.c_str(), e.user.c_str(), e.password.c_str(),
                         e.database.empty() ? nullptr : e.database.c_str(), e.port, nullptr,
                         CLIENT_MULTI_STATEMENTS) == nullptr) {
    return lastError("connect");
  }
  connected_ = true;
  return {};
}

Status BlockingClient::execute(std::string_view sql) {
  if (mysql_real_query(mysql_, sql.data(), sql.size()) != 0) {
    connected_ = mysql_errno(mysql_) < 2000;  // client errors (2xxx): the connection is gone
    return lastError("query");
  }
  do {
    if (MYSQL_RES* res = mysql_store_result(mysql_)) mysql_free_result(res);
  } while (mysql_next_result(mysql_) == 0);
  if (mysql_errno(mysql_) != 0) return lastError("query");
  return {};
}

std::uint64_t BlockingClient::affectedRows() const {
  return mysql_affected_rows(mysql_);
}

Result<std::optional<std::string>> BlockingClient::scalar(std::string_view sql) {
  auto all = rows(sql);
  if (!all) return all.takeError();
  if (all->empty() || all->front().empty()) return std::optional<std::string>{};
  return all->front().front();
}

Result<std::vector<Row>> BlockingClient::rows(std::string_view sql) {
  if (mysql_real_query(mysql_, sql.data(), sql.size()) != 0) {
    connected_ = mysql_errno(mysql_) < 2000;
    return lastError("query");
  }
  MYSQL_RES* res = mysql_store_result(mysql_);
  std::vector<Row> out;
  if (res == nullptr) {
    if (mysql_errno(mysql_) != 0) return lastError("query");
    return out;
  }
  const unsigned n = mysql_num_fields(res);
  while (MYSQL_ROW row = mysql_fetch_row(res)) {
    unsigned long* len = mysql_fetch_lengths(res);
    Row r(n);
    for (unsigned i = 0; i < n; ++i)
      if (row[i] != nullptr) r[i] = std::string(row[i], len[i]);
    out.push_back(std::move(r));
  }
  mysql_free_result(res);
  return out;
}

Status BlockingClient::stream(
    std::string_view sql,
    const std::function<void(char** row, unsigned long* lengths, unsigned n)>& fn,
    std::vector<FieldInfo>* fields) {
  if (mysql_real_query(mysql_, sql.data(), sql.size()) != 0) {
    connected_ = mysql_errno(mysql_) < 2000;
    return lastError("query");
  }
  MYSQL_RES* res = mysql_use_result(mysql_);
  if (res == nullptr) {
    if (mysql_errno(mysql_) != 0) return lastError("query");
    return {};
  }
  const unsigned n = mysql_num_fields(res);
  if (fields != nullptr) {
    fields->clear();
    MYSQL_FIELD* f = mysql_fetch_fields(res);
    for (unsigned i = 0; i < n; ++i)
      fields->push_back(
          FieldInfo{f[i].name, static_cast<int>(f[i].type), f[i].charsetnr, f[i].flags});
  }
  while (MYSQL_ROW row = mysql_fetch_row(res))
    fn(row, mysql_fetch_lengths(res), n);
  const bool failed = mysql_errno(mysql_) != 0;
  mysql_free_result(res);
  if (failed) return lastError("reading rows");
  return {};
}

std::string quoteIdent(std::string_view name) {
  std::string out = "`";
  for (char c : name) {
    if (c == '`') out += '`';
    out += c;
  }
  out += '`';
  return out;
}

std::string hexLiteral(std::string_view bytes, std::string_view charset) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2 + 16);
  if (!charset.empty() && charset != "binary") {
    out += '_';
    out += charset;
    out += ' ';
  }
  out += "X'";
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  out += '\'';
  return out;
}

void appendQuoted(std::string& out, std::string_view bytes) {
  out += '\'';
  // Runs of ordinary bytes are appended at once: most values need no escape at all.
  std::size_t run = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const char* escape = nullptr;
    switch (bytes[i]) {
      case '\0':
        escape = "\\0";
        break;
      case '\n':
        escape = "\\n";
        break;
      case '\r':
        escape = "\\r";
        break;
      case '\\':
        escape = "\\\\";
        break;
      case '\'':
        escape = "\\'";
        break;
      case '\x1a':
        escape = "\\Z";
        break;
      default:
        continue;
    }
    out.append(bytes.data() + run, i - run);
    out += escape;
    run = i + 1;
  }
  out.append(bytes.data() + run, bytes.size() - run);
  out += '\'';
}

}  // namespace shardproxy::migrations
