// planMx: RFC 5321 §5.1 ordering and implicit MX, RFC 7505 null MX, and the
// DNS failure verdicts, as tables with a scripted random source.
#include "dnssec/mx_resolution.h"

#include <gtest/gtest.h>

#include <deque>
#include <set>
#include <string>
#include <vector>

namespace tlsrelay::dns {
namespace {

MxAnswer found(std::vector<MxRecord> records, Security security = Security::Secure) {
  MxAnswer a;
  a.outcome = Outcome::Found;
  a.security = security;
  a.records = std::move(records);
  a.ttl = 300;
  return a;
}

MxAnswer outcome(Outcome o, Security s = Security::Secure, std::string why = "") {
  MxAnswer a;
  a.outcome = o;
  a.security = s;
  a.why = std::move(why);
  return a;
}

// Returns the scripted values in order, then 0.
std::function<uint32_t()> scripted(std::deque<uint32_t> values) {
  return [values]() mutable {
    if (values.empty()) return 0u;
    uint32_t v = values.front();
    values.pop_front();
    return v;
  };
}

std::vector<std::string> hostsOf(const MxPlan& plan) {
  std::vector<std::string> out;
  for (const auto& h : plan.hosts) out.push_back(h.host);
  return out;
}

struct Case {
  const char* name;
  std::string domain;
  MxAnswer answer;
  std::deque<uint32_t> random;
  MxPlan::Kind kind;
  std::vector<std::string> hosts;
};

TEST(PlanMx, Table) {
  const std::vector<Case> cases = {
      {"single mx",
       "example.test",
       found({{10, "mx1.example.test"}}),
       {},
       MxPlan::Kind::Hosts,
       {"mx1.example.test"}},
      {"sorted by preference",
       "d.test",
       found({{30, "c.d.test"}, {10, "a.d.test"}, {20, "b.d.test"}}),
       {},
       MxPlan::Kind::Hosts,
       {"a.d.test", "b.d.test", "c.d.test"}},
      // Fisher-Yates over [a, b]: i=2, j = random % 2. 0 swaps a and b; 1 keeps them.
      {"equal preferences swapped",
       "d.test",
       found({{10, "a.d.test"}, {10, "b.d.test"}, {20, "c.d.test"}}),
       {0},
       MxPlan::Kind::Hosts,
       {"b.d.test", "a.d.test", "c.d.test"}},
      {"equal preferences kept",
       "d.test",
       found({{10, "a.d.test"}, {10, "b.d.test"}, {20, "c.d.test"}}),
       {1},
       MxPlan::Kind::Hosts,
       {"a.d.test", "b.d.test", "c.d.test"}},
      // Three equal: i=3 j=random%3=2 (keep c last), i=2 j=0 (swap a,b).
      {"three equal",
       "d.test",
       found({{5, "a.d.test"}, {5, "b.d.test"}, {5, "c.d.test"}}),
       {5, 4},
       MxPlan::Kind::Hosts,
       {"b.d.test", "a.d.test", "c.d.test"}},
      {"null mx", "nullmx.test", found({{0, ""}}), {}, MxPlan::Kind::NullMx, {}},
      {"two null records still null", "nullmx.test", found({{0, ""}, {0, ""}}), {}, MxPlan::Kind::NullMx, {}},
      {"null next to real host is ignored",
       "m.test",
       found({{0, ""}, {10, "mx.m.test"}}),
       {},
       MxPlan::Kind::Hosts,
       {"mx.m.test"}},
      {"implicit mx on nodata",
       "nomx.test",
       outcome(Outcome::NoData),
       {},
       MxPlan::Kind::Hosts,
       {"nomx.test"}},
      {"implicit mx normalizes the domain",
       "NoMX.Test.",
       outcome(Outcome::NoData),
       {},
       MxPlan::Kind::Hosts,
       {"nomx.test"}},
      {"nxdomain is no such domain",
       "nonexistent.test",
       outcome(Outcome::NxDomain),
       {},
       MxPlan::Kind::NoSuchDomain,
       {}},
      {"tempfail",
       "t.test",
       outcome(Outcome::TempFail, Security::Insecure, "SERVFAIL"),
       {},
       MxPlan::Kind::TempFail,
       {}},
      {"bogus found is never used",
       "bogus.test",
       found({{10, "mx.bogus.test"}}, Security::Bogus),
       {},
       MxPlan::Kind::Bogus,
       {}},
      {"bogus nodata is no implicit mx",
       "bogus.test",
       outcome(Outcome::NoData, Security::Bogus),
       {},
       MxPlan::Kind::Bogus,
       {}},
      {"bogus nxdomain is no bounce",
       "bogus.test",
       outcome(Outcome::NxDomain, Security::Bogus),
       {},
       MxPlan::Kind::Bogus,
       {}},
      {"duplicate host keeps best preference",
       "d.test",
       found({{20, "a.d.test"}, {10, "A.d.test."}}),
       {},
       MxPlan::Kind::Hosts,
       {"a.d.test"}},
      {"invalid host names dropped",
       "d.test",
       found({{10, "bad name"}, {20, "ok.d.test"}}),
       {},
       MxPlan::Kind::Hosts,
       {"ok.d.test"}},
      {"only invalid hosts is tempfail, not implicit mx",
       "d.test",
       found({{10, "bad name"}}),
       {},
       MxPlan::Kind::TempFail,
       {}},
      {"found but empty is tempfail", "d.test", found({}), {}, MxPlan::Kind::TempFail, {}},
      {"invalid domain", "a..b", found({{10, "mx.test"}}), {}, MxPlan::Kind::NoSuchDomain, {}},
  };
  for (const auto& c : cases) {
    MxPlan plan = planMx(c.domain, c.answer, scripted(c.random));
    EXPECT_EQ(plan.kind, c.kind) << c.name << ": " << toString(plan.kind) << " " << plan.why;
    EXPECT_EQ(hostsOf(plan), c.hosts) << c.name;
    if (plan.kind != MxPlan::Kind::Hosts) {
      EXPECT_FALSE(plan.why.empty()) << c.name;
    }
  }
}

TEST(PlanMx, SecurityAndPreferenceArePassedOn) {
  MxPlan secure = planMx("d.test", found({{10, "a.d.test"}, {20, "b.d.test"}}), scripted({}));
  ASSERT_EQ(secure.hosts.size(), 2u);
  EXPECT_EQ(secure.hosts[0].mx_security, Security::Secure);
  EXPECT_EQ(secure.hosts[0].preference, 10);
  EXPECT_EQ(secure.hosts[1].preference, 20);
  MxPlan implicit = planMx("d.test", outcome(Outcome::NoData, Security::Insecure), scripted({}));
  ASSERT_EQ(implicit.hosts.size(), 1u);
  EXPECT_EQ(implicit.hosts[0].preference, 0);
  EXPECT_EQ(implicit.hosts[0].mx_security, Security::Insecure);
}

TEST(PlanMx, TempFailKeepsTheReason) {
  MxPlan plan = planMx("t.test", outcome(Outcome::TempFail, Security::Insecure, "resolver answered SERVFAIL"),
                       scripted({}));
  EXPECT_EQ(plan.why, "resolver answered SERVFAIL");
}

TEST(PlanMx, ShuffleOnlyWithinEqualPreferences) {
  // Whatever the random source says, preference order holds.
  std::vector<MxRecord> records;
  for (int i = 0; i < 30; ++i)
    records.push_back({static_cast<uint16_t>(i % 3 * 10), "h" + std::to_string(i) + ".test"});
  uint32_t state = 12345;
  auto lcg = [&state] { return state = state * 1103515245u + 12345u; };
  for (int round = 0; round < 50; ++round) {
    MxPlan plan = planMx("d.test", found(records), lcg);
    ASSERT_EQ(plan.hosts.size(), 30u);
    for (size_t i = 1; i < plan.hosts.size(); ++i) {
      EXPECT_LE(plan.hosts[i - 1].preference, plan.hosts[i].preference);
    }
  }
}

TEST(PlanMx, ShuffleReachesEveryOrder) {
  std::set<std::vector<std::string>> orders;
  uint32_t state = 7;
  auto lcg = [&state] { return (state = state * 1103515245u + 12345u) >> 8; };
  for (int i = 0; i < 200; ++i) {
    orders.insert(hostsOf(planMx("d.test", found({{10, "a.test"}, {10, "b.test"}, {10, "c.test"}}), lcg)));
  }
  EXPECT_EQ(orders.size(), 6u);  // 3! permutations
}

TEST(PlanMx, KindNames) {
  EXPECT_STREQ(toString(MxPlan::Kind::NullMx), "null-mx");
  EXPECT_STREQ(toString(MxPlan::Kind::Bogus), "bogus");
}

}  // namespace
}  // namespace tlsrelay::dns
