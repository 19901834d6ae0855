// What only the SQLite report store has: a file. A file that is not a
// database is refused and left alone, a missing directory is an error naming
// the path, and a file from a newer build is refused. The contract both
// stores keep is in report_store_test.cc.
#include "reporting/sqlite_report_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace tlsrelay {
namespace {

using ::testing::HasSubstr;

class SqliteReportStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("tlsrelay_sqlite_report_store_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "tls-reports.sqlite").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_;
  std::string path_;
};

// A short file too: SQLite alone would take it for an empty database and
// overwrite it, whatever file a wrong path named.
TEST_F(SqliteReportStoreTest, AFileThatIsNotADatabaseIsAnErrorNamingThePathAndIsLeftAlone) {
  for (const std::string& content : {std::string(8192, 'x'), std::string("x")}) {
    { std::ofstream(path_) << content; }
    auto store = openSqliteReportStore(path_);
    ASSERT_FALSE(store);
    EXPECT_THAT(store.error().message, HasSubstr(path_));
    EXPECT_THAT(store.error().message, HasSubstr("not a database"));
    std::ifstream in(path_);
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), content);
  }
}

TEST_F(SqliteReportStoreTest, AMissingDirectoryIsAnErrorNamingThePath) {
  std::string path = (dir_ / "missing" / "tls-reports.sqlite").string();
  auto store = openSqliteReportStore(path);
  ASSERT_FALSE(store);
  EXPECT_THAT(store.error().message, HasSubstr(path));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "missing"));
}

// A file from a newer build is refused, not misread: the schema version is the
// 4-byte big-endian user_version at offset 60 of the database header.
TEST_F(SqliteReportStoreTest, ANewerSchemaVersionIsRefused) {
  {
    auto store = openSqliteReportStore(path_);
    ASSERT_TRUE(store) << store.error().message;
  }
  {
    std::fstream f(path_, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(60);
    const char version[4] = {0, 0, 0, 99};
    f.write(version, 4);
  }
  auto store = openSqliteReportStore(path_);
  ASSERT_FALSE(store);
  EXPECT_THAT(store.error().message, HasSubstr("schema version 99"));
  EXPECT_THAT(store.error().message, HasSubstr(path_));
}

}  // namespace
}  // namespace tlsrelay
