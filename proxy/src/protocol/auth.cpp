#include "shardproxy/proxy/protocol/auth.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include <memory>

#include "shardproxy/proxy/protocol/constants.h"

namespace shardproxy::proxy::protocol {

std::string makeScramble() {
  std::string s(20, '\0');
  unsigned char raw[20];
  RAND_bytes(raw, sizeof raw);
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = static_cast<char>(raw[i] % 127 + 1);
    if (c == '$') c = '%';
    s[i] = c;
  }
  return s;
}

std::string sha1(std::string_view data) {
  std::string out(SHA_DIGEST_LENGTH, '\0');
  SHA1(reinterpret_cast<const unsigned char*>(data.data()), data.size(),
       reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

std::string sha256(std::string_view data) {
  std::string out(SHA256_DIGEST_LENGTH, '\0');
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(),
         reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

namespace {
std::string xorBytes(std::string a, std::string_view b) {
  for (std::size_t i = 0; i < a.size(); ++i)
    a[i] = static_cast<char>(a[i] ^ b[i % b.size()]);
  return a;
}
}  // namespace

std::string nativeScramble(std::string_view password, std::string_view nonce) {
  if (password.empty()) return {};
  std::string stage1 = sha1(password);
  std::string stage2 = sha1(stage1);
  std::string mix = sha1(std::string(nonce.substr(0, 20)) + stage2);
  return xorBytes(stage1, mix);
}

std::string nativeStoredHash(std::string_view password) {
  return sha1(sha1(password));
}

bool verifyNative(std::string_view response, std::string_view nonce, std::string_view storedHash) {
  if (storedHash.empty()) return response.empty();
  if (response.size() != 20) return false;
  // response XOR SHA1(nonce + stored) recovers SHA1(pw); its SHA1 must equal the stored hash.
  std::string mix = sha1(std::string(nonce.substr(0, 20)) + std::string(storedHash));
  std::string stage1 = xorBytes(std::string(response), mix);
  return secureEquals(sha1(stage1), storedHash);
}

std::string cachingSha2Scramble(std::string_view password, std::string_view nonce) {
  if (password.empty()) return {};
  std::string d1 = sha256(password);
  std::string d2 = sha256(d1);
  std::string d3 = sha256(d2 + std::string(nonce.substr(0, 20)));
  return xorBytes(d1, d3);
}

std::optional<std::string> cachingSha2RsaEncrypt(std::string_view publicKeyPem,
                                                 std::string_view password,
                                                 std::string_view nonce) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(publicKeyPem.data(), static_cast<int>(publicKeyPem.size())), BIO_free);
  if (!bio) return std::nullopt;
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
  if (!key) return std::nullopt;
  std::string plain(password);
  plain.push_back('\0');
  plain = xorBytes(plain, nonce.substr(0, 20));
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(
      EVP_PKEY_CTX_new(key.get(), nullptr), EVP_PKEY_CTX_free);
  if (!ctx || EVP_PKEY_encrypt_init(ctx.get()) <= 0 ||
      EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_OAEP_PADDING) <= 0) {
    return std::nullopt;
  }
  std::size_t outLen = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(plain.data());
  if (EVP_PKEY_encrypt(ctx.get(), nullptr, &outLen, in, plain.size()) <= 0) return std::nullopt;
  std::string out(outLen, '\0');
  if (EVP_PKEY_encrypt(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &outLen, in,
                       plain.size()) <= 0) {
    return std::nullopt;
  }
  out.resize(outLen);
  return out;
}

Credentials credentialsFromPassword(std::string_view password) {
  Credentials c;
  c.emptyPassword = password.empty();
  if (!password.empty()) {
    c.nativeStage1 = sha1(password);
    c.sha2Stage1 = sha256(password);
  }
  c.cleartext = std::string(password);
  return c;
}

std::optional<std::string> scrambleFor(std::string_view plugin, const Credentials& creds,
                                       std::string_view nonce) {
  if (creds.emptyPassword)
    return plugin == kClearPasswordPlugin ? std::string(1, '\0') : std::string();
  std::string n(nonce.substr(0, 20));
  if (plugin == kCachingSha2Plugin) {
    if (creds.sha2Stage1.empty()) return std::nullopt;
    return xorBytes(creds.sha2Stage1, sha256(sha256(creds.sha2Stage1) + n));
  }
  if (plugin == kClearPasswordPlugin) {
    if (!creds.cleartext) return std::nullopt;
    return *creds.cleartext + '\0';
  }
  if (creds.nativeStage1.empty()) return std::nullopt;
  return xorBytes(creds.nativeStage1, sha1(n + sha1(creds.nativeStage1)));
}

std::optional<std::string> verifyNativeStage1(std::string_view response, std::string_view nonce,
                                              std::string_view storedHash) {
  if (response.size() != 20 || storedHash.size() != 20) return std::nullopt;
  std::string stage1 = xorBytes(std::string(response),
                                sha1(std::string(nonce.substr(0, 20)) + std::string(storedHash)));
  if (!secureEquals(sha1(stage1), storedHash)) return std::nullopt;
  return stage1;
}

std::optional<std::string> verifyCachingSha2Stage1(std::string_view response,
                                                   std::string_view nonce,
                                                   std::string_view storedHash) {
  if (response.size() != 32 || storedHash.size() != 32) return std::nullopt;
  std::string stage1 = xorBytes(std::string(response),
                                sha256(std::string(storedHash) + std::string(nonce.substr(0, 20))));
  if (!secureEquals(sha256(stage1), storedHash)) return std::nullopt;
  return stage1;
}

bool secureEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace shardproxy::proxy::protocol
