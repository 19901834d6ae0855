// The MTA-STS policy cache: entries persist across instances (restarts),
// expiry is the caller's to judge, corrupt files are ignored, never fatal.
#include "relay/mta_sts/mta_sts_cache.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "relay/mta_sts/mta_sts_cli.h"

namespace tlsrelay {
namespace {

namespace fs = std::filesystem;

class StsCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("tlsrelay-sts-cache-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  static StsCacheEntry entry(const std::string& domain, const std::string& id, int64_t fetched,
                             uint32_t max_age = 86400) {
    std::string text =
        "version: STSv1\nmode: enforce\nmx: mx." + domain + "\nmax_age: " + std::to_string(max_age) + "\n";
    auto policy = parseStsPolicy(text);
    EXPECT_TRUE(policy.ok());
    StsCacheEntry e;
    e.domain = domain;
    e.id = id;
    e.fetched_at = fetched;
    e.expires_at = fetched + max_age;
    e.policy = *policy;
    return e;
  }

  void writeRaw(const std::string& name, const std::string& content) {
    fs::create_directories(dir_);
    std::ofstream(dir_ / name, std::ios::binary) << content;
  }

  fs::path dir_;
};

TEST_F(StsCacheTest, PersistsAcrossInstances) {
  const auto a = entry("a.example", "id1", 1000);
  const auto b = entry("b.example", "id2", 2000, 60);
  {
    StsCache cache(dir_.string());
    ASSERT_TRUE(cache.put(a).ok());
    ASSERT_TRUE(cache.put(b).ok());
  }
  StsCache reopened(dir_.string());  // as after a restart
  auto got = reopened.get("a.example");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, a);
  EXPECT_EQ(got->expires_at, 1000 + 86400);
  EXPECT_EQ(got->policy.mx, std::vector<std::string>{"mx.a.example"});
  auto all = reopened.list();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].domain, "a.example");
  EXPECT_EQ(all[1], b);
  EXPECT_FALSE(reopened.get("c.example").has_value());
  // No temporaries left behind by the atomic writes.
  for (const auto& f : fs::directory_iterator(dir_)) EXPECT_NE(f.path().filename().string()[0], '.');
}

TEST_F(StsCacheTest, PutReplaces) {
  StsCache cache(dir_.string());
  ASSERT_TRUE(cache.put(entry("a.example", "old", 1000)).ok());
  ASSERT_TRUE(cache.put(entry("a.example", "new", 5000)).ok());
  auto got = cache.get("a.example");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->id, "new");
  EXPECT_EQ(cache.list().size(), 1u);
}

TEST_F(StsCacheTest, ExpiryIsTheCallersJudgement) {
  StsCache cache(dir_.string());
  ASSERT_TRUE(cache.put(entry("a.example", "id", 1000, 100)).ok());
  auto got = cache.get("a.example");
  ASSERT_TRUE(got.has_value());  // returned even when expired
  EXPECT_FALSE(got->expired(1099));
  EXPECT_TRUE(got->expired(1100));
  EXPECT_TRUE(got->expired(5000));
}

TEST_F(StsCacheTest, CorruptFilesAreIgnored) {
  StsCache cache(dir_.string());
  ASSERT_TRUE(cache.put(entry("good.example", "id", 1000)).ok());
  writeRaw("garbage.example.json", "\x01\x02 not json {");
  writeRaw("truncated.example.json",
           serializeStsCacheEntry(entry("truncated.example", "id", 1)).substr(0, 40));
  writeRaw(
      "badpolicy.example.json",
      R"({"domain":"badpolicy.example","id":"x","fetched_at":1,"expires_at":2,"policy":"version: STSv9\n"})");
  writeRaw("mistyped.example.json",
           R"({"domain":"mistyped.example","id":1,"fetched_at":1,"expires_at":2,"policy":""})");
  // A file whose content names another domain must not answer for this one.
  writeRaw("other.example.json", serializeStsCacheEntry(entry("good.example", "id", 1000)));
  writeRaw("empty.example.json", "");
  writeRaw("README", "not ours");

  EXPECT_FALSE(cache.get("garbage.example").has_value());
  EXPECT_FALSE(cache.get("truncated.example").has_value());
  EXPECT_FALSE(cache.get("badpolicy.example").has_value());
  EXPECT_FALSE(cache.get("mistyped.example").has_value());
  EXPECT_FALSE(cache.get("other.example").has_value());
  EXPECT_FALSE(cache.get("empty.example").has_value());
  auto all = cache.list();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].domain, "good.example");
  // A put repairs a corrupt entry.
  ASSERT_TRUE(cache.put(entry("garbage.example", "fixed", 1)).ok());
  EXPECT_EQ(cache.get("garbage.example")->id, "fixed");
}

TEST_F(StsCacheTest, RemoveAndClear) {
  StsCache cache(dir_.string());
  ASSERT_TRUE(cache.put(entry("a.example", "1", 1)).ok());
  ASSERT_TRUE(cache.put(entry("b.example", "2", 1)).ok());
  writeRaw("README", "not ours");
  EXPECT_TRUE(cache.remove("a.example").ok());
  EXPECT_TRUE(cache.remove("a.example").ok());  // absent is fine
  EXPECT_FALSE(cache.get("a.example").has_value());
  EXPECT_TRUE(cache.get("b.example").has_value());
  EXPECT_TRUE(cache.clear().ok());
  EXPECT_TRUE(cache.list().empty());
  EXPECT_TRUE(fs::exists(dir_ / "README"));  // clear touches only cache files
}

TEST_F(StsCacheTest, MissingDirectoryIsEmptyAndCreatedOnPut) {
  StsCache cache((dir_ / "sub" / "mta-sts").string());
  EXPECT_TRUE(cache.list().empty());
  EXPECT_FALSE(cache.get("a.example").has_value());
  EXPECT_TRUE(cache.clear().ok());
  ASSERT_TRUE(cache.put(entry("a.example", "1", 1)).ok());
  EXPECT_TRUE(cache.get("a.example").has_value());
}

TEST_F(StsCacheTest, UnsafeDomainsNeverBecomePaths) {
  StsCache cache(dir_.string());
  auto e = entry("a.example", "1", 1);
  for (const char* bad : {"../evil", "a/b", "", ".", "..", "UPPER.example"}) {
    e.domain = bad;
    EXPECT_FALSE(cache.put(e).ok()) << bad;
    EXPECT_FALSE(cache.get(bad).has_value()) << bad;
  }
  EXPECT_FALSE(fs::exists(dir_.parent_path() / "evil.json"));
}

TEST_F(StsCacheTest, MemoryOnlyWhenNoDirectory) {
  StsCache cache("");
  ASSERT_TRUE(cache.put(entry("a.example", "1", 1)).ok());
  EXPECT_EQ(cache.get("a.example")->id, "1");
  EXPECT_EQ(cache.list().size(), 1u);
  EXPECT_TRUE(cache.remove("a.example").ok());
  EXPECT_TRUE(cache.list().empty());
}

TEST_F(StsCacheTest, CliDirectoryListAndClear) {
  // The cache lives in <spool>/mta-sts unless [mta_sts] cache_directory says otherwise.
  auto loaded = loadConfigString("[spool]\ndirectory = \"" + dir_.string() + "\"\n", "test.toml");
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  const MtaStsConfig config = loaded->mta_sts;
  EXPECT_EQ(config.cache_directory, dir_.string() + "/mta-sts");
  StsCache cache(config.cache_directory);
  ASSERT_TRUE(cache.put(entry("a.example", "id1", 1000)).ok());
  ASSERT_TRUE(cache.put(entry("b.example", "id2", 1000)).ok());

  ::testing::internal::CaptureStdout();
  EXPECT_EQ(runStsCacheList(config, /*json=*/true), 0);
  const std::string json = ::testing::internal::GetCapturedStdout();
  EXPECT_NE(json.find("\"domain\": \"a.example\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"mx.b.example\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"mode\": \"enforce\""), std::string::npos) << json;
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(runStsCacheList(config, /*json=*/false), 0);
  const std::string table = ::testing::internal::GetCapturedStdout();
  EXPECT_NE(table.find("a.example  id1  enforce  1970-01-02T00:16:40Z (expired)  mx.a.example"),
            std::string::npos)
      << table;

  ::testing::internal::CaptureStdout();
  EXPECT_EQ(runStsCacheClear(config, "A.Example."), 0);
  ::testing::internal::GetCapturedStdout();
  EXPECT_FALSE(cache.get("a.example").has_value());
  EXPECT_TRUE(cache.get("b.example").has_value());
  ::testing::internal::CaptureStdout();
  EXPECT_EQ(runStsCacheClear(config, ""), 0);
  ::testing::internal::GetCapturedStdout();
  EXPECT_TRUE(cache.list().empty());

  auto elsewhere = loadConfigString("[mta_sts]\ncache_directory = \"/elsewhere/sts\"\n", "test.toml");
  ASSERT_TRUE(elsewhere.ok());
  EXPECT_EQ(elsewhere->mta_sts.cache_directory, "/elsewhere/sts");
}

TEST(StsCacheFormat, RoundTrip) {
  auto policy = parseStsPolicy("version: STSv1\r\nmode: testing\r\nmx: *.x.example\r\nmax_age: 5\r\n");
  ASSERT_TRUE(policy.ok());
  StsCacheEntry e{"x.example", "abc", 10, 15, *policy};
  auto back = parseStsCacheEntry(serializeStsCacheEntry(e));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(*back, e);
}

}  // namespace
}  // namespace tlsrelay
