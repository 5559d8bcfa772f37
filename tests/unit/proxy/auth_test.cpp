#include "shardproxy/proxy/protocol/auth.h"

#include <gtest/gtest.h>

namespace shardproxy::proxy::protocol {
namespace {

std::string hex(std::string_view s) {
  static const char* d = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(d[c >> 4]);
    out.push_back(d[c & 15]);
  }
  return out;
}

std::string nonce() {
  std::string n;
  for (int i = 1; i <= 20; ++i)
    n.push_back(static_cast<char>(i));
  return n;
}

TEST(NativePassword, StoredHashMatchesMySqlPasswordFunction) {
  // SELECT PASSWORD('password') = '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'
  EXPECT_EQ(hex(nativeStoredHash("password")), "2470c0c06dee42fd1618bb99005adca2ec9d1e19");
}

TEST(NativePassword, ScrambleMatchesKnownVector) {
  // Computed independently with Python's hashlib.
  EXPECT_EQ(hex(nativeScramble("secret", nonce())), "b32bb3a583e1340c0a1108d58b1be49781ad8c2f");
  EXPECT_EQ(nativeScramble("", nonce()), "");
}

TEST(NativePassword, VerifiesAgainstStoredHashOnly) {
  std::string stored = nativeStoredHash("secret");
  EXPECT_TRUE(verifyNative(nativeScramble("secret", nonce()), nonce(), stored));
  EXPECT_FALSE(verifyNative(nativeScramble("Secret", nonce()), nonce(), stored));
  EXPECT_FALSE(verifyNative("short", nonce(), stored));
}

TEST(CachingSha2Password, ScrambleMatchesKnownVector) {
  EXPECT_EQ(hex(cachingSha2Scramble("secret", nonce())),
            "746ebe205d56a0707acb3e796e834e0dd7b1d61743b26bd5202c7a623230c7c9");
  EXPECT_EQ(cachingSha2Scramble("", nonce()), "");
}

TEST(Scramble, IsTwentyPrintableBytesWithoutNulOrDollar) {
  for (int i = 0; i < 100; ++i) {
    std::string s = makeScramble();
    ASSERT_EQ(s.size(), 20u);
    for (char c : s) {
      EXPECT_NE(c, '\0');
      EXPECT_NE(c, '$');
      EXPECT_GT(static_cast<unsigned char>(c), 0);
      EXPECT_LT(static_cast<unsigned char>(c), 128);
    }
  }
}

TEST(SecureEquals, ComparesLengthAndBytes) {
  EXPECT_TRUE(secureEquals("abc", "abc"));
  EXPECT_FALSE(secureEquals("abc", "abd"));
  EXPECT_FALSE(secureEquals("abc", "abcd"));
}

}  // namespace
}  // namespace shardproxy::proxy::protocol
