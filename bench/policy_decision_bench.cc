// Cost of the TLS policy engine per delivery attempt: decideTls() once, then
// classifyAttempt() at the three checkpoints a successful STARTTLS attempt
// passes (EHLO in clear, handshake, EHLO over TLS). Inputs are built once, as
// the relay has them in hand (DNS and MTA-STS answers come from caches).
//
//   build-bench/bench/policy_decision_bench [--benchmark_repetitions=5]
#include <benchmark/benchmark.h>

#include "policy/tls_policy.h"

namespace tlsrelay {
namespace {

enum class Scenario { Opportunistic, Dane, StsEnforce, RequireTls };

DecisionInput inputFor(Scenario s) {
  DecisionInput in;
  in.hop.domain = "example.com";
  in.hop.mx_host = "mx1.example.com";
  in.hop.ip = "192.0.2.1";
  static const DomainPolicy policy = builtinDefaultPolicy();
  in.policy_file = &policy;
  switch (s) {
    case Scenario::Opportunistic:
      break;
    case Scenario::Dane:
      in.hop.mx_security = in.hop.address_security = dns::Security::Secure;
      in.tlsa.status = TlsaStatus::Usable;
      in.tlsa.records = {{3, 1, 1, std::string(32, '\xab')}, {2, 0, 1, std::string(32, '\xcd')}};
      break;
    case Scenario::RequireTls:
      in.hop.mx_security = in.hop.address_security = dns::Security::Secure;
      in.message.requiretls = true;
      [[fallthrough]];  // the MX has an MTA-STS policy too, as large providers do
    case Scenario::StsEnforce: {
      StsPolicy p;
      p.mode = StsMode::Enforce;
      p.mx = {"mx1.example.com", "mx2.example.com", "*.backup.example.com"};
      p.max_age = 604800;
      p.text =
          "version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\nmx: mx2.example.com\r\n"
          "mx: *.backup.example.com\r\nmax_age: 604800\r\n";
      in.sts.status = StsStatus::Policy;
      in.sts.policy = std::move(p);
      break;
    }
  }
  return in;
}

void BM_TlsPolicyAttempt(benchmark::State& state) {
  const DecisionInput in = inputFor(static_cast<Scenario>(state.range(0)));
  AttemptObservation ehlo;
  ehlo.stage = AttemptObservation::Stage::Ehlo;
  ehlo.starttls_offered = true;
  AttemptObservation handshake = ehlo;
  handshake.stage = AttemptObservation::Stage::Handshake;
  handshake.certificate = CertificateCheck::Verified;
  AttemptObservation tls_ehlo = handshake;
  tls_ehlo.stage = AttemptObservation::Stage::TlsEhlo;
  tls_ehlo.requiretls_offered = true;
  for (auto _ : state) {
    TlsDecision d = decideTls(in);
    benchmark::DoNotOptimize(d);
    for (const auto* seen : {&ehlo, &handshake, &tls_ehlo}) {
      AttemptVerdict v = classifyAttempt(d, *seen);
      benchmark::DoNotOptimize(v);
    }
  }
}

void BM_TlsPolicyDecideOnly(benchmark::State& state) {
  const DecisionInput in = inputFor(static_cast<Scenario>(state.range(0)));
  for (auto _ : state) {
    TlsDecision d = decideTls(in);
    benchmark::DoNotOptimize(d);
  }
}

void scenarios(benchmark::internal::Benchmark* b) {
  b->ArgName("scenario");  // 0 opportunistic, 1 dane, 2 sts-enforce, 3 requiretls
  for (int s = 0; s <= 3; ++s) b->Arg(s);
}

BENCHMARK(BM_TlsPolicyAttempt)->Apply(scenarios);
BENCHMARK(BM_TlsPolicyDecideOnly)->Apply(scenarios);

}  // namespace
}  // namespace tlsrelay

BENCHMARK_MAIN();
