#include "bench/raw.h"

#include <argon2.h>
#include <sodium.h>

#include <algorithm>
#include <memory>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/encoding.h"
#include "core/jwt.h"
#include "storage/change_feed.h"

namespace tessera::bench {
namespace {

// A password of a typical length; what it is does not change Argon2's cost.
constexpr char kPassword[] = "correct horse battery staple";

bool HashOnce(Argon2Library library, const Argon2Params& params) {
  unsigned char salt[16];
  randombytes_buf(salt, sizeof salt);
  unsigned char out[32];
  if (library == Argon2Library::kLibsodium) {
    static_assert(crypto_pwhash_SALTBYTES == 16);
    return crypto_pwhash(out, sizeof out, kPassword, sizeof kPassword - 1, salt, params.iterations,
                         static_cast<size_t>(params.memory_kib) * 1024,
                         crypto_pwhash_ALG_ARGON2ID13) == 0;
  }
  return argon2id_hash_raw(params.iterations, params.memory_kib, /*parallelism=*/1, kPassword,
                           sizeof kPassword - 1, salt, sizeof salt, out, sizeof out) == ARGON2_OK;
}

class OneKey final : public VerificationKeySource {
 public:
  explicit OneKey(std::shared_ptr<const SigningKey> key) : key_(std::move(key)) {}
  std::shared_ptr<const SigningKey> FindVerificationKey(absl::string_view kid,
                                                        absl::Time) const override {
    return kid == key_->kid() ? key_ : nullptr;
  }

 private:
  std::shared_ptr<const SigningKey> key_;
};

}  // namespace

LoadResult RawArgon2idRate(Argon2Library library, const Argon2Params& params, int threads,
                           const LoadOptions& options) {
  return RunThreads(options, threads, [&](int) { return HashOnce(library, params); });
}

LoadResult RawRefreshTransactionRate(const std::string& database_url, const std::string& org_id,
                                     const std::string& account_id, int connections,
                                     const LoadOptions& options) {
  struct Chain {
    std::unique_ptr<pqxx::connection> conn;
    std::string digest;  // the chain's newest (unused) token
  };
  std::vector<Chain> chains(static_cast<size_t>(connections));
  for (Chain& c : chains) {
    c.conn = std::make_unique<pqxx::connection>(database_url);
    c.digest = RandomHex(32);
    pqxx::work tx(*c.conn);
    tx.exec_params(
        "INSERT INTO refresh_tokens (org_id, family_id, account_id, digest, scopes, audience,"
        " created_at, expires_at, family_expires_at)"
        " VALUES ($1, gen_random_uuid(), $2, $3, '{}', 'tessera', now(),"
        " now() + interval '1 day', now() + interval '1 day')",
        org_id, account_id, c.digest);
    tx.commit();
  }
  return RunThreads(options, connections, [&](int t) {
    Chain& c = chains[static_cast<size_t>(t)];
    try {
      pqxx::work tx(*c.conn);
      auto r = tx.exec_params(
          "SELECT t.org_id, t.id, t.family_id, t.account_id, array_to_string(t.scopes, ' '),"
          " t.audience, t.expires_at, t.family_expires_at, t.used_at, t.revoked_at IS NOT NULL,"
          " a.disabled, coalesce((SELECT string_agg(DISTINCT s, ' ') FROM account_roles ar"
          "   JOIN roles r ON r.org_id = ar.org_id AND r.id = ar.role_id, unnest(r.scopes) s"
          "   WHERE ar.org_id = a.org_id AND ar.account_id = a.id), '')"
          " FROM refresh_tokens t JOIN accounts a ON a.org_id = t.org_id AND a.id = t.account_id"
          " WHERE t.digest = $1 FOR UPDATE OF t",
          c.digest);
      if (r.empty()) return false;
      std::string parent = r[0][1].as<std::string>();
      std::string family = r[0][2].as<std::string>();
      std::string child_digest = RandomHex(32);
      auto child = tx.exec_params(
          "INSERT INTO refresh_tokens (org_id, family_id, parent_id, account_id, digest, scopes,"
          " audience, created_at, expires_at, family_expires_at)"
          " VALUES ($1, $2, $3, $4, $5, '{}', 'tessera', now(), now() + interval '1 day',"
          " now() + interval '1 day') RETURNING id",
          org_id, family, parent, account_id, child_digest);
      tx.exec_params("UPDATE refresh_tokens SET used_at = now() WHERE org_id = $1 AND id = $2",
                     org_id, parent);
      tx.exec_params(
          "INSERT INTO audit_events (org_id, occurred_at, actor_id, action, target_type,"
          " target_id, peer, request_id, details)"
          " VALUES ($1, now(), $2, 'token.refreshed', 'token_family', $3, 'ipv4:127.0.0.1:1',"
          " $4, '{}'::jsonb)",
          org_id, account_id, family, RandomHex(16));
      tx.commit();
      c.digest = std::move(child_digest);
      return !child.empty();
    } catch (const std::exception&) {
      return false;
    }
  });
}

LoadResult RawRevokeCommitRate(const std::string& database_url, const std::string& org_id,
                               const std::string& account_id, int connections,
                               const LoadOptions& options) {
  // tessera's own channel would reach the service's change feed, which would then hold every
  // raw jti; the queue and its commit-time lock are the same for any channel.
  constexpr char kRawChannel[] = "tessera_bench_raw";
  struct Conn {
    std::unique_ptr<pqxx::connection> conn;
    std::vector<std::string> jtis;  // inserted, to delete afterwards
  };
  std::vector<Conn> conns(static_cast<size_t>(connections));
  for (Conn& c : conns) c.conn = std::make_unique<pqxx::connection>(database_url);
  LoadResult result = RunThreads(options, connections, [&](int t) {
    Conn& c = conns[static_cast<size_t>(t)];
    try {
      absl::Time now = absl::Now();
      std::string jti = RandomHex(16);  // 32 hex digits, as tessera mints them
      pqxx::work tx(*c.conn);
      auto r = tx.exec_params(
          "INSERT INTO revoked_access_tokens (org_id, jti, expires_at, revoked_at)"
          " VALUES ($1, $2, now() + interval '15 minutes', now()) ON CONFLICT DO NOTHING",
          org_id, jti);
      if (r.affected_rows() != 1) return false;
      tx.exec_params("SELECT pg_notify($1, $2)", std::string(kRawChannel),
                     EncodeChange(Change{.kind = ChangeKind::kAccessToken,
                                         .org_id = org_id,
                                         .id = jti,
                                         .expires_at = now + absl::Minutes(15),
                                         .sent_at = now}));
      tx.exec_params(
          "INSERT INTO audit_events (org_id, occurred_at, actor_id, action, target_type,"
          " target_id, peer, request_id, details)"
          " VALUES ($1, now(), $2, 'token.revoked', 'access_token', $3, 'ipv4:127.0.0.1:1',"
          " $4, '{}'::jsonb)",
          org_id, account_id, jti, RandomHex(16));
      tx.commit();
      c.jtis.push_back(std::move(jti));
      return true;
    } catch (const std::exception&) {
      return false;
    }
  });
  for (Conn& c : conns) {
    try {
      for (size_t i = 0; i < c.jtis.size(); i += 5000) {
        std::string array = "{";
        for (size_t j = i; j < std::min(c.jtis.size(), i + 5000); ++j) {
          absl::StrAppend(&array, j > i ? "," : "", c.jtis[j]);
        }
        array += "}";
        pqxx::work tx(*c.conn);
        tx.exec_params(
            "DELETE FROM revoked_access_tokens WHERE org_id = $1 AND jti = ANY($2::text[])", org_id,
            array);
        tx.commit();
      }
    } catch (const std::exception&) {
      // Left behind, the rows only make a later snapshot load a little larger.
    }
  }
  return result;
}

std::vector<SignatureCost> MeasureSignatureCosts(absl::Duration per_algorithm) {
  std::vector<SignatureCost> out;
  for (SigningAlg alg : {SigningAlg::kES256, SigningAlg::kEdDSA, SigningAlg::kRS256}) {
    auto generated = SigningKey::Generate(alg, "bench-key");
    if (!generated.ok()) continue;
    std::shared_ptr<const SigningKey> key = *std::move(generated);
    OneKey keys(key);
    absl::Time now = absl::Now();
    AccessTokenClaims claims{.iss = "tessera",
                             .sub = "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f",
                             .aud = {"tessera"},
                             .exp = absl::ToUnixSeconds(now) + 900,
                             .iat = absl::ToUnixSeconds(now),
                             .nbf = absl::ToUnixSeconds(now),
                             .jti = RandomHex(16),
                             .client_id = "6f1c2d3e-4b5a-4c6d-8e7f-9a0b1c2d3e4f",
                             .scopes = {"read:things", "write:things"},
                             .org_id = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"};
    SignatureCost cost{.alg = alg};
    std::string token;
    int64_t n = 0;
    absl::Time start = absl::Now();
    for (; absl::Now() - start < per_algorithm; ++n) token = *EncodeAccessToken(claims, *key);
    cost.sign_us = absl::ToDoubleMicroseconds(absl::Now() - start) / static_cast<double>(n);
    cost.token_bytes = token.size();
    n = 0;
    bool verified = true;
    start = absl::Now();
    for (; verified && absl::Now() - start < per_algorithm; ++n) {
      verified = VerifyAccessToken(token, keys, now, VerifyOptions{.issuer = "tessera"}).ok();
    }
    cost.verify_us = verified
                         ? absl::ToDoubleMicroseconds(absl::Now() - start) / static_cast<double>(n)
                         : -1;  // the caller reports the failure
    out.push_back(cost);
  }
  return out;
}

}  // namespace tessera::bench
