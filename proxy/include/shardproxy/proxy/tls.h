// TLS for clients and the RSA key pair for caching_sha2_password full authentication.
// Place in the request flow: built once at start-up; sessions upgrade to TLS when a client sends
// an SSLRequest, and decrypt RSA-encrypted passwords with the same key.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <optional>
#include <string>

#include "shardproxy/common/errors.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace shardproxy::proxy {

class TlsMaterial {
 public:
  // certFile/keyFile: PEM files; both empty → a self-signed RSA-2048 certificate is generated.
  static Result<std::unique_ptr<TlsMaterial>> create(const std::string& certFile,
                                                     const std::string& keyFile);
  ~TlsMaterial();

  boost::asio::ssl::context& serverContext() { return server_; }
  boost::asio::ssl::context& clientContext() { return client_; }
  const std::string& publicKeyPem() const { return publicPem_; }
  // RSA-OAEP decryption of a caching_sha2 password; std::nullopt if it does not decrypt.
  std::optional<std::string> decrypt(const std::string& cipher) const;
  bool generated() const { return generated_; }

 private:
  TlsMaterial();
  boost::asio::ssl::context server_;
  boost::asio::ssl::context client_;
  EVP_PKEY* key_ = nullptr;
  std::string publicPem_;
  bool generated_ = false;
};

}  // namespace shardproxy::proxy
