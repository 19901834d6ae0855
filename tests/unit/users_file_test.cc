// AUTH users file: add, verify, replace, bad files, permissions.
#include "relay/inbound/users_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace tlsrelay {
namespace {

using ::testing::HasSubstr;

class UsersFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("tlsrelay_users_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "users").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string contents() const {
    std::ifstream in(path_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(UsersFileTest, AddThenVerify) {
  ASSERT_TRUE(addUser(path_, "alice", "correct horse").ok());
  ASSERT_TRUE(addUser(path_, "bob@example.com", "battery staple").ok());
  auto users = UsersFile::load(path_);
  ASSERT_TRUE(users.ok()) << users.error().message;
  EXPECT_EQ(users->size(), 2u);
  EXPECT_TRUE(users->verify("alice", "correct horse"));
  EXPECT_TRUE(users->verify("bob@example.com", "battery staple"));
  EXPECT_FALSE(users->verify("alice", "correct horsE"));
  EXPECT_FALSE(users->verify("alice", "battery staple"));  // another user's password
  EXPECT_FALSE(users->verify("alice", ""));
  EXPECT_FALSE(users->verify("Alice", "correct horse"));  // names are case-sensitive
  EXPECT_FALSE(users->verify("mallory", "correct horse"));
  EXPECT_FALSE(users->verify("", ""));
}

TEST_F(UsersFileTest, FileHoldsSaltedYescryptHashesNotPasswords) {
  ASSERT_TRUE(addUser(path_, "alice", "samepass").ok());
  ASSERT_TRUE(addUser(path_, "bob", "samepass").ok());
  std::string text = contents();
  EXPECT_THAT(text, ::testing::Not(HasSubstr("samepass")));
  EXPECT_THAT(text, HasSubstr("alice:$y$"));
  EXPECT_THAT(text, HasSubstr("bob:$y$"));
  auto a = text.find("alice:"), b = text.find("bob:");
  std::string hash_a = text.substr(a + 6, text.find('\n', a) - a - 6);
  std::string hash_b = text.substr(b + 4, text.find('\n', b) - b - 4);
  EXPECT_NE(hash_a, hash_b);  // salted: same password, different hash
}

TEST_F(UsersFileTest, ModeIs0600) {
  ASSERT_TRUE(addUser(path_, "alice", "pw").ok());
  struct stat st {};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(UsersFileTest, ReplaceKeepsOthersAndComments) {
  {
    std::ofstream out(path_);
    out << "# AUTH users\n\n";
  }
  ASSERT_TRUE(addUser(path_, "alice", "old").ok());
  ASSERT_TRUE(addUser(path_, "bob", "bobpw").ok());
  ASSERT_TRUE(addUser(path_, "alice", "new").ok());
  std::string text = contents();
  EXPECT_THAT(text, HasSubstr("# AUTH users\n"));
  auto users = UsersFile::load(path_);
  ASSERT_TRUE(users.ok()) << users.error().message;
  EXPECT_EQ(users->size(), 2u);
  EXPECT_TRUE(users->verify("alice", "new"));
  EXPECT_FALSE(users->verify("alice", "old"));
  EXPECT_TRUE(users->verify("bob", "bobpw"));
  // No temporary files left behind.
  int entries = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(dir_)) ++entries;
  EXPECT_EQ(entries, 1);
}

TEST_F(UsersFileTest, RefusesBadNamesAndPasswords) {
  EXPECT_FALSE(addUser(path_, "", "pw").ok());
  EXPECT_FALSE(addUser(path_, "a:b", "pw").ok());
  EXPECT_FALSE(addUser(path_, "a b", "pw").ok());
  EXPECT_FALSE(addUser(path_, "a\nb", "pw").ok());
  EXPECT_FALSE(addUser(path_, std::string(256, 'a'), "pw").ok());
  EXPECT_FALSE(addUser(path_, "alice", "").ok());
  EXPECT_FALSE(addUser(path_, "alice", std::string("a\0b", 3)).ok());
  EXPECT_FALSE(std::filesystem::exists(path_));
}

TEST_F(UsersFileTest, MalformedFilesNameTheLineButNotTheSecret) {
  auto r = UsersFile::parse("# ok\nalice:$y$j9T$abc$def\nthis-line-has-no-colon-secret\n", "users");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.error().message, HasSubstr("users:3: expected user:hash"));
  EXPECT_THAT(r.error().message, ::testing::Not(HasSubstr("secret")));

  auto plain = UsersFile::parse("alice:plaintextpassword\n", "users");
  ASSERT_FALSE(plain.ok());
  EXPECT_THAT(plain.error().message, HasSubstr("users:1: user 'alice': not a crypt hash"));
  EXPECT_THAT(plain.error().message, ::testing::Not(HasSubstr("plaintextpassword")));

  auto dup = UsersFile::parse("a:$y$x$y$z\na:$y$x$y$z\n", "users");
  ASSERT_FALSE(dup.ok());
  EXPECT_THAT(dup.error().message, HasSubstr("users:2: user 'a' appears twice"));

  EXPECT_FALSE(UsersFile::parse("a b:$y$x$y$z\n", "users").ok());
  EXPECT_FALSE(UsersFile::load((dir_ / "missing").string()).ok());
}

TEST_F(UsersFileTest, AddRefusesToRewriteAFileItCannotParse) {
  {
    std::ofstream out(path_);
    out << "garbage line\n";
  }
  EXPECT_FALSE(addUser(path_, "alice", "pw").ok());
  EXPECT_EQ(contents(), "garbage line\n");
}

TEST_F(UsersFileTest, CrlfAndCommentsAreTolerated) {
  auto hash = hashPassword("pw");
  ASSERT_TRUE(hash.ok());
  auto users = UsersFile::parse("# users\r\n  # indented comment\r\nalice:" + *hash + "\r\n", "users");
  ASSERT_TRUE(users.ok()) << users.error().message;
  EXPECT_TRUE(users->hasUser("alice"));
  EXPECT_TRUE(users->verify("alice", "pw"));
}

TEST_F(UsersFileTest, CorruptHashNeverVerifies) {
  auto users = UsersFile::parse("alice:$y$notreally\n", "users");
  ASSERT_TRUE(users.ok());
  EXPECT_FALSE(users->verify("alice", "anything"));
  EXPECT_FALSE(users->verify("alice", ""));
}

// Unknown users cost a real hash too, so response time does not reveal which
// names exist. Loose bound: without the dummy hash an unknown user takes
// microseconds, a yescrypt verification takes milliseconds.
TEST_F(UsersFileTest, UnknownUserCostsAHash) {
  ASSERT_TRUE(addUser(path_, "alice", "pw").ok());
  auto users = UsersFile::load(path_);
  ASSERT_TRUE(users.ok());
  users->verify("nobody", "warm-up");  // the dummy hash is made on first use
  auto timeOf = [&](const char* user) {
    auto best = std::chrono::steady_clock::duration::max();
    for (int i = 0; i < 3; ++i) {
      auto start = std::chrono::steady_clock::now();
      EXPECT_FALSE(users->verify(user, "wrong"));
      best = std::min(best, std::chrono::steady_clock::now() - start);
    }
    return best;
  };
  auto known = timeOf("alice");
  auto unknown = timeOf("nobody");
  EXPECT_GT(unknown * 5, known);
}

TEST(HashPasswordTest, UsesYescryptWithFreshSalt) {
  auto a = hashPassword("pw");
  auto b = hashPassword("pw");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->rfind("$y$", 0), 0u);
  EXPECT_NE(*a, *b);
  EXPECT_FALSE(hashPassword("").ok());
}

}  // namespace
}  // namespace tlsrelay
