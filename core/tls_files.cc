#include "core/tls_files.h"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace tessera {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Bio = std::unique_ptr<BIO, BioFree>;

absl::Status Bad(absl::string_view setting, absl::string_view path, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("config: --", setting, ": ", path, ": ", why));
}

absl::StatusOr<std::unique_ptr<X509, X509Free>> FirstCertificate(absl::string_view setting,
                                                                 const std::string& path) {
  Bio bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) return Bad(setting, path, "cannot be read");
  std::unique_ptr<X509, X509Free> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) return Bad(setting, path, "holds no PEM certificate");
  return cert;
}

}  // namespace

absl::Status CheckTlsFiles(const std::string& cert_path, const std::string& key_path,
                           const std::string& ca_path) {
  auto cert = FirstCertificate("tls_cert", cert_path);
  if (!cert.ok()) return cert.status();
  Bio bio(BIO_new_file(key_path.c_str(), "r"));
  if (!bio) return Bad("tls_key", key_path, "cannot be read");
  std::unique_ptr<EVP_PKEY, PkeyFree> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) return Bad("tls_key", key_path, "holds no unencrypted PEM private key");
  if (X509_check_private_key(cert->get(), key.get()) != 1) {
    return Bad("tls_key", key_path, absl::StrCat("does not match the certificate in ", cert_path));
  }
  if (!ca_path.empty()) {
    auto ca = FirstCertificate("tls_client_ca", ca_path);
    if (!ca.ok()) return ca.status();
  }
  return absl::OkStatus();
}

}  // namespace tessera
