#include "services/key_manager.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "core/encoding.h"
#include "core/log.h"

namespace tessera {

KeyManager::KeyManager(const Clock& clock, const Aead& kek, SigningKeyStore& store, KeyRing& ring,
                       SigningAlg alg)
    : clock_(clock), kek_(kek), store_(store), ring_(ring), alg_(alg) {}

absl::StatusOr<SigningKeyRecord> KeyManager::NewRecord(absl::Time now, absl::Time activates_at) {
  std::string kid = RandomHex(8);
  auto key = SigningKey::Generate(alg_, kid);
  if (!key.ok()) return key.status();
  return SigningKeyRecord{.kid = kid,
                          .alg = std::string(SigningAlgName(alg_)),
                          .public_pem = (*key)->PublicPem(),
                          .private_key_sealed = kek_.Seal((*key)->PrivatePem(), kid),
                          .created_at = now,
                          .activates_at = activates_at,
                          .retired_at = std::nullopt,
                          .verify_until = std::nullopt};
}

absl::StatusOr<KeyManager::Rotated> KeyManager::Rotate(absl::Duration publish_delay,
                                                       absl::Duration verify_tail,
                                                       AuditActor actor) {
  absl::Time now = clock_.Now();
  auto rec = NewRecord(now, now + publish_delay);
  if (!rec.ok()) return rec.status();
  auto records = store_.Rotate(*rec, rec->activates_at + verify_tail, std::move(actor),
                               /*committed=*/nullptr);  // Load() below reloads the ring
  if (!records.ok()) return records.status();
  if (auto s = Load(*records); !s.ok()) return s;
  Log(LogLevel::kInfo, "signing_key_rotated",
      {{"kid", rec->kid}, {"activates_at", absl::FormatTime(rec->activates_at)}});
  return Rotated{.kid = rec->kid, .activates_at = rec->activates_at};
}

absl::Status KeyManager::EnsureAndLoad() {
  absl::Time now = clock_.Now();
  auto rec = NewRecord(now, now);
  if (!rec.ok()) return rec.status();
  AuditActor actor{.org_id = "",
                   .at = now,
                   .actor_id = "system",
                   .peer = "local",
                   .request_id = absl::StrCat("startup-", RandomHex(8))};
  auto records = store_.EnsureActiveKey(*rec, actor, /*committed=*/nullptr);
  if (!records.ok()) return records.status();
  return Load(*records);
}

absl::Status KeyManager::Reload() {
  auto records = store_.List();
  if (!records.ok()) return records.status();
  return Load(*records);
}

absl::Status KeyManager::Load(const std::vector<SigningKeyRecord>& records) {
  std::vector<KeyRingEntry> entries;
  for (const auto& r : records) {
    auto alg = ParseSigningAlg(r.alg);
    if (!alg.ok()) return alg.status();
    auto pem = kek_.Open(r.private_key_sealed, r.kid);
    if (!pem.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("signing key ", r.kid, ": ", pem.status().message(),
                       " (is TESSERA_KEY_ENCRYPTION_KEY the one this database was created with?)"));
    }
    auto key = SigningKey::FromPrivatePem(*alg, r.kid, *pem);
    if (!key.ok()) return key.status();
    entries.push_back(
        KeyRingEntry{.key = std::shared_ptr<const SigningKey>(std::move(*key)),
                     .activates_at = r.activates_at,
                     .retired_at = r.retired_at.value_or(absl::InfiniteFuture()),
                     .verify_until = r.verify_until.value_or(absl::InfiniteFuture())});
  }
  Log(LogLevel::kInfo, "signing_keys_loaded", {{"count", std::to_string(entries.size())}});
  ring_.Replace(std::move(entries));
  return absl::OkStatus();
}

std::vector<PublicJwk> KeyManager::Jwks() const {
  std::vector<PublicJwk> out;
  for (const auto& key : ring_.Published(clock_.Now())) out.push_back(key->Jwk());
  return out;
}

std::string KeyManager::JwksJson() const {
  nlohmann::json keys = nlohmann::json::array();
  for (const PublicJwk& k : Jwks()) {
    nlohmann::json j = {{"kid", k.kid}, {"kty", k.kty}, {"alg", k.alg}, {"use", k.use}};
    if (!k.crv.empty()) j["crv"] = k.crv;
    if (!k.x.empty()) j["x"] = k.x;
    if (!k.y.empty()) j["y"] = k.y;
    if (!k.n.empty()) j["n"] = k.n;
    if (!k.e.empty()) j["e"] = k.e;
    keys.push_back(std::move(j));
  }
  return nlohmann::json{{"keys", keys}}.dump();
}

}  // namespace tessera
