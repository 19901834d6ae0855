// Whole-file replacement for caches and the users file: the new content and
// mode land whatever the umask, an old file is replaced, and a failure leaves
// the old content and no temporary file behind, with an error naming the path.
#include "common/durable_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace tlsrelay {
namespace {

using ::testing::HasSubstr;

class DurableFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("tlsrelay_durable_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  static std::string contents(const std::string& p) {
    std::ifstream in(p);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(dir_)) names.push_back(e.path().filename());
    return names;
  }
  static mode_t modeOf(const std::string& p) {
    struct stat st {};
    EXPECT_EQ(::stat(p.c_str(), &st), 0);
    return st.st_mode & 07777;
  }

  std::filesystem::path dir_;
};

TEST_F(DurableFileTest, WritesTheContentWithOwnerOnlyModeWhateverTheUmask) {
  mode_t old = ::umask(0);
  Status s = replaceFileDurably(path("cache"), "policy\n");
  ::umask(old);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(contents(path("cache")), "policy\n");
  EXPECT_EQ(modeOf(path("cache")), 0600u);
}

TEST_F(DurableFileTest, ModeIsSetEvenWhenTheUmaskWouldNarrowIt) {
  mode_t old = ::umask(0077);
  Status s = replaceFileDurably(path("shared"), "x", 0644);
  ::umask(old);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(modeOf(path("shared")), 0644u);
}

TEST_F(DurableFileTest, ReplacesAnExistingFileAndLeavesNoTemporaryFile) {
  ASSERT_TRUE(replaceFileDurably(path("users"), std::string(10000, 'a')));
  ASSERT_TRUE(replaceFileDurably(path("users"), "short"));
  EXPECT_EQ(contents(path("users")), "short");
  EXPECT_EQ(entries(), std::vector<std::string>{"users"});
}

TEST_F(DurableFileTest, EmptyContentIsAnEmptyFile) {
  ASSERT_TRUE(replaceFileDurably(path("empty"), ""));
  EXPECT_TRUE(std::filesystem::exists(path("empty")));
  EXPECT_EQ(std::filesystem::file_size(path("empty")), 0u);
}

TEST_F(DurableFileTest, FailedRenameKeepsTheOldTargetAndRemovesTheTemporaryFile) {
  // A non-empty directory cannot be replaced by a file.
  std::filesystem::create_directories(path("target") + "/inside");
  Status s = replaceFileDurably(path("target"), "new");
  ASSERT_FALSE(s);
  EXPECT_THAT(s.error().message, HasSubstr("cannot rename onto " + path("target")));
  EXPECT_TRUE(std::filesystem::is_directory(path("target") + "/inside"));
  EXPECT_EQ(entries(), std::vector<std::string>{"target"});
}

TEST_F(DurableFileTest, MissingFolderIsAnErrorNamingIt) {
  Status s = replaceFileDurably(path("no/such/folder/file"), "x");
  ASSERT_FALSE(s);
  EXPECT_THAT(s.error().message, HasSubstr("cannot create " + path("no/such/folder")));
  EXPECT_THAT(s.error().message, HasSubstr("No such file"));
}

TEST_F(DurableFileTest, FilesThatBelongTogetherAreAllReplacedOrNoneWhenOneCannotBeWritten) {
  ASSERT_TRUE(replaceFilesDurably({{path("key"), "old key", 0600}, {path("cert"), "old cert", 0644}}));
  EXPECT_EQ(contents(path("key")), "old key");
  EXPECT_EQ(modeOf(path("cert")), 0644u);
  Status s = replaceFilesDurably({{path("key"), "new key", 0600}, {path("missing/cert"), "new cert", 0644}});
  ASSERT_FALSE(s);
  EXPECT_THAT(s.error().message, HasSubstr("cannot create " + path("missing")));
  EXPECT_EQ(contents(path("key")), "old key");  // not a new key beside the old certificate
  std::vector<std::string> left = entries();
  std::sort(left.begin(), left.end());
  EXPECT_EQ(left, (std::vector<std::string>{"cert", "key"}));  // no temporary file either
  ASSERT_TRUE(replaceFilesDurably({{path("key"), "new key", 0600}, {path("cert"), "new cert", 0644}}));
  EXPECT_EQ(contents(path("key")), "new key");
  EXPECT_EQ(contents(path("cert")), "new cert");
}

}  // namespace
}  // namespace tlsrelay
