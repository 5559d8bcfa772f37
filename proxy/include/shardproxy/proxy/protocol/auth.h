// Authentication scrambles (MySQL protocol "Authentication Methods": Native Authentication,
// Caching_sha2_password information). Used by the session (verifying clients) and the backend
// client (logging in to servers). Pure functions over OpenSSL's SHA-1/SHA-256.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace shardproxy::proxy::protocol {

// 20 random bytes in 1..127 without '$' or NUL, like the server's own scramble.
std::string makeScramble();

std::string sha1(std::string_view data);
std::string sha256(std::string_view data);

// mysql_native_password: SHA1(pw) XOR SHA1(nonce + SHA1(SHA1(pw))). Empty password → empty.
std::string nativeScramble(std::string_view password, std::string_view nonce);
// The hash MySQL stores for the password, SHA1(SHA1(pw)) (20 raw bytes).
std::string nativeStoredHash(std::string_view password);
// Verifies a client's native response against a stored hash without knowing the password.
bool verifyNative(std::string_view response, std::string_view nonce, std::string_view storedHash);

// caching_sha2_password fast path: SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) + nonce).
std::string cachingSha2Scramble(std::string_view password, std::string_view nonce);

// caching_sha2_password full authentication without TLS: (password + NUL) XOR nonce,
// encrypted with the server's RSA public key (PEM) using OAEP padding.
std::optional<std::string> cachingSha2RsaEncrypt(std::string_view publicKeyPem,
                                                 std::string_view password, std::string_view nonce);

// What the proxy knows of a user's password: enough to log in to backends as that user without
// ever storing the password. stage1 values come from a client's scramble checked against the
// stored hashes (native: SHA1(pw); caching_sha2: SHA256(pw)) or from a cleartext password.
struct Credentials {
  std::string nativeStage1;              // SHA1(pw), 20 bytes
  std::string sha2Stage1;                // SHA256(pw), 32 bytes
  std::optional<std::string> cleartext;  // only after a full caching_sha2 auth, or from config
  bool emptyPassword = false;
};
Credentials credentialsFromPassword(std::string_view password);

// A login's auth response for `plugin` from what is known; std::nullopt when it is not enough
// (e.g. caching_sha2 needs SHA256(pw) but only SHA1(pw) is known).
std::optional<std::string> scrambleFor(std::string_view plugin, const Credentials& creds,
                                       std::string_view nonce);

// Checks a client's native response against the stored SHA1(SHA1(pw)); returns SHA1(pw).
std::optional<std::string> verifyNativeStage1(std::string_view response, std::string_view nonce,
                                              std::string_view storedHash);
// Checks a caching_sha2 fast-path response against the stored SHA256(SHA256(pw)); returns
// SHA256(pw).
std::optional<std::string> verifyCachingSha2Stage1(std::string_view response,
                                                   std::string_view nonce,
                                                   std::string_view storedHash);

// Constant-time comparison for secrets.
bool secureEquals(std::string_view a, std::string_view b);

}  // namespace shardproxy::proxy::protocol
