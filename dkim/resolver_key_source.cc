#include "dkim/resolver_key_source.h"

namespace tlsrelay::dkim {

KeySource::Lookup ResolverKeySource::lookup(const std::string& name) {
  dns::TxtAnswer answer = resolver_.lookupTxt(name);
  Lookup out;
  switch (answer.security) {
    case dns::Security::Secure:
      out.dnssec = KeyDnssec::Secure;
      break;
    case dns::Security::Insecure:
      out.dnssec = KeyDnssec::Insecure;
      break;
    case dns::Security::Bogus:
      out.dnssec = KeyDnssec::Bogus;
      out.status = Lookup::Status::TempFail;
      return out;
  }
  switch (answer.outcome) {
    case dns::Outcome::Found:
      out.status = Lookup::Status::Found;
      out.records = std::move(answer.records);
      break;
    case dns::Outcome::NoData:
    case dns::Outcome::NxDomain:
      out.status = Lookup::Status::NotFound;
      break;
    case dns::Outcome::TempFail:
      out.status = Lookup::Status::TempFail;
      break;
  }
  return out;
}

}  // namespace tlsrelay::dkim
