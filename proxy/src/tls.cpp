#include "shardproxy/proxy/tls.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace shardproxy::proxy {

namespace ssl = boost::asio::ssl;

TlsMaterial::TlsMaterial() : server_(ssl::context::tls_server), client_(ssl::context::tls_client) {
  server_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  // Backends use self-signed certificates in most deployments (MySQL's auto_generate_certs).
  client_.set_verify_mode(ssl::verify_none);
}

TlsMaterial::~TlsMaterial() {
  EVP_PKEY_free(key_);
}

namespace {
Error tlsError(const std::string& what) {
  return Error::make(ErrorCode::kConfigInvalid, "TLS: " + what);
}
}  // namespace

Result<std::unique_ptr<TlsMaterial>> TlsMaterial::create(const std::string& certFile,
                                                         const std::string& keyFile) {
  std::unique_ptr<TlsMaterial> m(new TlsMaterial());
  SSL_CTX* ctx = m->server_.native_handle();
  if (!certFile.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, certFile.c_str()) != 1) {
      return tlsError("cannot load certificate '" + certFile + "'");
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, keyFile.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
      return tlsError("cannot load private key '" + keyFile + "' (or it does not match)");
    }
    m->key_ = SSL_CTX_get0_privatekey(ctx);
    if (m->key_ != nullptr) EVP_PKEY_up_ref(m->key_);
  } else {
    m->generated_ = true;
    m->key_ = EVP_RSA_gen(2048);
    if (m->key_ == nullptr) return tlsError("RSA key generation failed");
    X509* cert = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 10L * 365 * 24 * 3600);
    X509_set_pubkey(cert, m->key_);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("shardproxy_auto_generated"),
                               -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509_set_version(cert, 2);
    bool ok = X509_sign(cert, m->key_, EVP_sha256()) > 0 &&
              SSL_CTX_use_certificate(ctx, cert) == 1 && SSL_CTX_use_PrivateKey(ctx, m->key_) == 1;
    X509_free(cert);
    if (!ok) return tlsError("self-signed certificate generation failed");
  }
  if (m->key_ != nullptr && EVP_PKEY_base_id(m->key_) == EVP_PKEY_RSA) {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, m->key_);
    char* data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    m->publicPem_.assign(data, static_cast<std::size_t>(len));
    BIO_free(bio);
  }
  return m;
}

std::optional<std::string> TlsMaterial::decrypt(const std::string& cipher) const {
  if (key_ == nullptr) return std::nullopt;
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new(key_, nullptr);
  if (ctx == nullptr) return std::nullopt;
  std::optional<std::string> out;
  std::size_t len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(cipher.data());
  if (EVP_PKEY_decrypt_init(ctx) > 0 &&
      EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) > 0 &&
      EVP_PKEY_decrypt(ctx, nullptr, &len, in, cipher.size()) > 0) {
    std::string plain(len, '\0');
    if (EVP_PKEY_decrypt(ctx, reinterpret_cast<unsigned char*>(plain.data()), &len, in,
                         cipher.size()) > 0) {
      plain.resize(len);
      out = std::move(plain);
    }
  }
  EVP_PKEY_CTX_free(ctx);
  return out;
}

}  // namespace shardproxy::proxy
