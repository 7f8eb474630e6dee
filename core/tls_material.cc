#include "core/tls_material.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "absl/strings/str_cat.h"
#include "core/log.h"
#include "core/tls_files.h"

namespace tessera {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using Bio = std::unique_ptr<BIO, BioFree>;

std::string GeneralNameText(const GENERAL_NAME* name) {
  int type = 0;
  const ASN1_STRING* value = static_cast<const ASN1_STRING*>(GENERAL_NAME_get0_value(name, &type));
  if (value == nullptr) return "";
  if (type == GEN_DNS || type == GEN_URI) {
    return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(value)),
                       static_cast<size_t>(ASN1_STRING_length(value)));
  }
  if (type == GEN_IPADD) {
    const unsigned char* p = ASN1_STRING_get0_data(value);
    int n = ASN1_STRING_length(value);
    if (n == 4) return absl::StrCat(p[0], ".", p[1], ".", p[2], ".", p[3]);  // IPv6: not named
  }
  return "";
}

}  // namespace

// One consistent set of what the files held at one read.
struct TlsMaterial::Material {
  X509* leaf = nullptr;
  STACK_OF(X509) * chain = nullptr;  // the certificates after the leaf
  EVP_PKEY* key = nullptr;
  X509_STORE* client_ca = nullptr;
  ~Material() {
    X509_free(leaf);
    sk_X509_pop_free(chain, X509_free);
    EVP_PKEY_free(key);
    X509_STORE_free(client_ca);
  }
};

absl::StatusOr<std::unique_ptr<TlsMaterial>> TlsMaterial::Load(TlsFilePaths paths) {
  auto material = Read(paths);
  if (!material.ok()) return material.status();
  std::unique_ptr<TlsMaterial> tls(new TlsMaterial(std::move(paths)));
  MutexLock lock(&tls->mu_);
  tls->current_ = *std::move(material);
  tls->read_at_ = absl::Now();
  return tls;
}

TlsMaterial::~TlsMaterial() = default;

absl::StatusOr<std::shared_ptr<const TlsMaterial::Material>> TlsMaterial::Read(
    const TlsFilePaths& paths) {
  // The same checks as the gRPC port's, with the same messages naming the setting.
  if (auto s = CheckTlsFiles(paths.cert, paths.key, paths.client_ca); !s.ok()) return s;
  auto m = std::make_shared<Material>();
  Bio certs(BIO_new_file(paths.cert.c_str(), "r"));
  if (!certs) return absl::InvalidArgumentError("config: --tls_cert: cannot be read");
  m->leaf = PEM_read_bio_X509(certs.get(), nullptr, nullptr, nullptr);
  m->chain = sk_X509_new_null();
  while (X509* next = PEM_read_bio_X509(certs.get(), nullptr, nullptr, nullptr)) {
    sk_X509_push(m->chain, next);
  }
  ERR_clear_error();  // the end of the file reads as an error
  Bio key(BIO_new_file(paths.key.c_str(), "r"));
  if (key) m->key = PEM_read_bio_PrivateKey(key.get(), nullptr, nullptr, nullptr);
  if (m->leaf == nullptr || m->key == nullptr || X509_check_private_key(m->leaf, m->key) != 1) {
    return absl::InvalidArgumentError("config: --tls_cert/--tls_key: changed while being read");
  }
  if (!paths.client_ca.empty()) {
    m->client_ca = X509_STORE_new();
    if (X509_STORE_load_file(m->client_ca, paths.client_ca.c_str()) != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("config: --tls_client_ca: ", paths.client_ca, ": cannot be loaded"));
    }
  }
  return std::shared_ptr<const Material>(std::move(m));
}

std::shared_ptr<const TlsMaterial::Material> TlsMaterial::Current() {
  MutexLock lock(&mu_);
  absl::Time now = absl::Now();
  if (now - read_at_ >= paths_.reload) {
    read_at_ = now;  // at most one read per interval, whatever it finds
    auto fresh = Read(paths_);
    if (fresh.ok()) {
      current_ = *std::move(fresh);
    } else {
      Log(LogLevel::kWarning, "tls_reload_failed",
          {{"port", "oauth"}, {"error", std::string(fresh.status().message())}});
    }
  }
  return current_;
}

int TlsMaterial::OnCertificate(SSL* ssl, void* self) {
  std::shared_ptr<const Material> m = static_cast<TlsMaterial*>(self)->Current();
  if (SSL_use_cert_and_key(ssl, m->leaf, m->key, m->chain, /*override=*/1) != 1) return 0;
  // The client CA of this read verifies this handshake's client certificate.
  if (m->client_ca != nullptr && SSL_set1_verify_cert_store(ssl, m->client_ca) != 1) return 0;
  return 1;
}

bool TlsMaterial::Install(SSL_CTX& ctx) {
  if (SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION) != 1) return false;
  // Without a session ID context, a TLS 1.2 client resuming a session on a port that verifies
  // client certificates fails the handshake (OpenSSL's SESSION_ID_CONTEXT_UNINITIALIZED).
  static constexpr unsigned char kContext[] = "tessera-oauth";
  if (SSL_CTX_set_session_id_context(&ctx, kContext, sizeof kContext - 1) != 1) return false;
  SSL_CTX_set_cert_cb(&ctx, &TlsMaterial::OnCertificate, this);
  if (!paths_.client_ca.empty()) {
    SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  return true;
}

bool TlsMaterial::VerifiedClient(const SSL* ssl, std::string* identity) {
  if (ssl == nullptr) return false;
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return false;
  identity->clear();
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
    std::string text = GeneralNameText(sk_GENERAL_NAME_value(names, i));
    if (text.empty()) continue;
    if (!identity->empty()) identity->push_back(',');
    identity->append(text);
  }
  GENERAL_NAMES_free(names);
  if (identity->empty()) {
    char cn[256] = {0};
    if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn) > 0) {
      identity->assign(cn);
    }
  }
  return true;
}

}  // namespace tessera
