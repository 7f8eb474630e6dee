#include "core/signing_key.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/encoding.h"

namespace tessera {
namespace {

using MdCtx = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;
using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;
using Bn = std::unique_ptr<BIGNUM, decltype(&BN_free)>;
using EcSig = std::unique_ptr<ECDSA_SIG, decltype(&ECDSA_SIG_free)>;

constexpr int kEcCoordinate = 32;  // P-256

const unsigned char* U(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

std::string BioToString(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

bool KeyMatchesAlg(EVP_PKEY* pkey, SigningAlg alg) {
  switch (alg) {
    case SigningAlg::kES256: {
      if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC) return false;
      char group[64] = {0};
      size_t len = 0;
      if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                          &len)) {
        return false;
      }
      return absl::string_view(group, len) == "prime256v1" ||
             absl::string_view(group, len) == "P-256";
    }
    case SigningAlg::kRS256:
      return EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA && EVP_PKEY_get_bits(pkey) >= 2048;
    case SigningAlg::kEdDSA:
      return EVP_PKEY_get_base_id(pkey) == EVP_PKEY_ED25519;
  }
  return false;
}

std::string BnParam(EVP_PKEY* pkey, const char* name, int pad) {
  BIGNUM* raw = nullptr;
  if (!EVP_PKEY_get_bn_param(pkey, name, &raw)) return "";
  Bn bn(raw, BN_free);
  int len = pad > 0 ? pad : BN_num_bytes(bn.get());
  std::string out(static_cast<size_t>(len), '\0');
  BN_bn2binpad(bn.get(), reinterpret_cast<unsigned char*>(out.data()), len);
  return out;
}

// ECDSA signatures come out of OpenSSL as DER; JWS wants fixed-width r||s.
std::string DerToRaw(absl::string_view der) {
  const unsigned char* p = U(der);
  EcSig sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size())), ECDSA_SIG_free);
  if (!sig) return "";
  const BIGNUM *r = nullptr, *s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string out(2 * kEcCoordinate, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  if (BN_bn2binpad(r, o, kEcCoordinate) < 0 ||
      BN_bn2binpad(s, o + kEcCoordinate, kEcCoordinate) < 0)
    return "";
  return out;
}

std::string RawToDer(absl::string_view raw) {
  if (raw.size() != 2 * kEcCoordinate) return "";
  EcSig sig(ECDSA_SIG_new(), ECDSA_SIG_free);
  BIGNUM* r = BN_bin2bn(U(raw), kEcCoordinate, nullptr);
  BIGNUM* s = BN_bin2bn(U(raw) + kEcCoordinate, kEcCoordinate, nullptr);
  if (!sig || !r || !s || !ECDSA_SIG_set0(sig.get(), r, s)) {
    BN_free(r);
    BN_free(s);
    return "";
  }
  unsigned char* der = nullptr;
  int len = i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0) return "";
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

const EVP_MD* DigestFor(SigningAlg alg) {
  return alg == SigningAlg::kEdDSA ? nullptr : EVP_sha256();
}

}  // namespace

absl::StatusOr<SigningAlg> ParseSigningAlg(absl::string_view name) {
  if (name == "ES256") return SigningAlg::kES256;
  if (name == "RS256") return SigningAlg::kRS256;
  if (name == "EdDSA") return SigningAlg::kEdDSA;
  return absl::InvalidArgumentError(
      absl::StrCat("unsupported signing algorithm \"", name, "\" (want ES256, RS256 or EdDSA)"));
}

absl::string_view SigningAlgName(SigningAlg alg) {
  switch (alg) {
    case SigningAlg::kES256:
      return "ES256";
    case SigningAlg::kRS256:
      return "RS256";
    case SigningAlg::kEdDSA:
      return "EdDSA";
  }
  return "";
}

SigningKey::SigningKey(SigningAlg alg, std::string kid, EVP_PKEY* pkey, bool has_private)
    : alg_(alg), kid_(std::move(kid)), pkey_(pkey), has_private_(has_private) {}

SigningKey::~SigningKey() { EVP_PKEY_free(pkey_); }

absl::StatusOr<std::unique_ptr<SigningKey>> SigningKey::Generate(SigningAlg alg, std::string kid) {
  EVP_PKEY* pkey = nullptr;
  switch (alg) {
    case SigningAlg::kES256:
      pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
      break;
    case SigningAlg::kRS256:
      pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
      break;
    case SigningAlg::kEdDSA:
      pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
      break;
  }
  if (pkey == nullptr) return absl::InternalError("key generation failed");
  return std::unique_ptr<SigningKey>(new SigningKey(alg, std::move(kid), pkey, true));
}

absl::StatusOr<std::unique_ptr<SigningKey>> SigningKey::FromPrivatePem(SigningAlg alg,
                                                                       std::string kid,
                                                                       absl::string_view pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  EVP_PKEY* pkey = bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (pkey == nullptr) return absl::InvalidArgumentError("not a PEM private key");
  if (!KeyMatchesAlg(pkey, alg)) {
    EVP_PKEY_free(pkey);
    return absl::InvalidArgumentError(
        absl::StrCat("key type does not match ", SigningAlgName(alg)));
  }
  return std::unique_ptr<SigningKey>(new SigningKey(alg, std::move(kid), pkey, true));
}

absl::StatusOr<std::unique_ptr<SigningKey>> SigningKey::FromPublicPem(SigningAlg alg,
                                                                      std::string kid,
                                                                      absl::string_view pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  EVP_PKEY* pkey = bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (pkey == nullptr) return absl::InvalidArgumentError("not a PEM public key");
  if (!KeyMatchesAlg(pkey, alg)) {
    EVP_PKEY_free(pkey);
    return absl::InvalidArgumentError(
        absl::StrCat("key type does not match ", SigningAlgName(alg)));
  }
  return std::unique_ptr<SigningKey>(new SigningKey(alg, std::move(kid), pkey, false));
}

std::string SigningKey::PrivatePem() const {
  if (!has_private_) return "";
  Bio bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio || !PEM_write_bio_PrivateKey(bio.get(), pkey_, nullptr, nullptr, 0, nullptr, nullptr))
    return "";
  return BioToString(bio.get());
}

std::string SigningKey::PublicPem() const {
  Bio bio(BIO_new(BIO_s_mem()), BIO_free);
  if (!bio || !PEM_write_bio_PUBKEY(bio.get(), pkey_)) return "";
  return BioToString(bio.get());
}

PublicJwk SigningKey::Jwk() const {
  PublicJwk jwk;
  jwk.kid = kid_;
  jwk.alg = std::string(SigningAlgName(alg_));
  jwk.use = "sig";
  switch (alg_) {
    case SigningAlg::kES256:
      jwk.kty = "EC";
      jwk.crv = "P-256";
      jwk.x = Base64UrlEncode(BnParam(pkey_, OSSL_PKEY_PARAM_EC_PUB_X, kEcCoordinate));
      jwk.y = Base64UrlEncode(BnParam(pkey_, OSSL_PKEY_PARAM_EC_PUB_Y, kEcCoordinate));
      break;
    case SigningAlg::kRS256:
      jwk.kty = "RSA";
      jwk.n = Base64UrlEncode(BnParam(pkey_, OSSL_PKEY_PARAM_RSA_N, 0));
      jwk.e = Base64UrlEncode(BnParam(pkey_, OSSL_PKEY_PARAM_RSA_E, 0));
      break;
    case SigningAlg::kEdDSA: {
      jwk.kty = "OKP";
      jwk.crv = "Ed25519";
      unsigned char raw[32];
      size_t len = sizeof(raw);
      if (EVP_PKEY_get_raw_public_key(pkey_, raw, &len)) {
        jwk.x = Base64UrlEncode(absl::string_view(reinterpret_cast<char*>(raw), len));
      }
      break;
    }
  }
  return jwk;
}

absl::StatusOr<std::string> SigningKey::Sign(absl::string_view data) const {
  if (!has_private_) return absl::FailedPreconditionError("verify-only key cannot sign");
  MdCtx ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  size_t len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, DigestFor(alg_), nullptr, pkey_) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, U(data), data.size()) != 1) {
    return absl::InternalError("signature setup failed");
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, U(data),
                     data.size()) != 1) {
    return absl::InternalError("signing failed");
  }
  sig.resize(len);
  if (alg_ == SigningAlg::kES256) {
    sig = DerToRaw(sig);
    if (sig.empty()) return absl::InternalError("ECDSA signature conversion failed");
  }
  return sig;
}

bool SigningKey::Verify(absl::string_view data, absl::string_view signature) const {
  std::string der;
  if (alg_ == SigningAlg::kES256) {
    der = RawToDer(signature);
    if (der.empty()) return false;
    signature = der;
  }
  MdCtx ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  return ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, DigestFor(alg_), nullptr, pkey_) == 1 &&
         EVP_DigestVerify(ctx.get(), U(signature), signature.size(), U(data), data.size()) == 1;
}

}  // namespace tessera
