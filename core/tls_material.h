// TlsMaterial: the HTTPS port's certificate chain, key and client CA, read from the same files
// as the gRPC port's (--tls_cert, --tls_key, --tls_client_ca) and re-read as often
// (--tls_reload_interval), so a rotated Kubernetes secret is served on new connections without a
// restart, as gRPC's file watcher does on its port. Handed to cpp-httplib's SSLServer as its
// SSL_CTX set-up: each handshake takes the current material (OpenSSL's certificate callback);
// files that do not load (a rotation half written) keep the last good material and log why.
//
//   auto tls = TlsMaterial::Load({.cert = c, .key = k, .client_ca = ca, .reload = 10s});
//   httplib::SSLServer server([&](SSL_CTX& ctx) { return (*tls)->Install(ctx); });
#ifndef TESSERA_CORE_TLS_MATERIAL_H_
#define TESSERA_CORE_TLS_MATERIAL_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/sync.h"

// OpenSSL's SSL_CTX and SSL, which cpp-httplib's SSLServer hands over; OpenSSL itself stays in
// core/ (DESIGN.md §4).
struct ssl_ctx_st;
struct ssl_st;

namespace tessera {

struct TlsFilePaths {
  std::string cert;
  std::string key;
  std::string client_ca;  // empty: no client certificate is asked for
  absl::Duration reload = absl::Seconds(10);
};

class TlsMaterial {
 public:
  // INVALID_ARGUMENT naming the setting when the files do not load now.
  static absl::StatusOr<std::unique_ptr<TlsMaterial>> Load(TlsFilePaths paths);
  ~TlsMaterial();

  // Sets TLS 1.2 as the floor, the per-handshake certificate callback and, with a client CA,
  // requires a client certificate it verifies. Returns false if OpenSSL refused a setting.
  bool Install(ssl_ctx_st& ctx);

  // What TLS verified about the peer of `ssl`: whether a client certificate verified against the
  // client CA, and the identity it names (its DNS, URI and IP SANs, else its CN; comma separated).
  static bool VerifiedClient(const ssl_st* ssl, std::string* identity);

 private:
  struct Material;
  explicit TlsMaterial(TlsFilePaths paths) : paths_(std::move(paths)) {}
  static absl::StatusOr<std::shared_ptr<const Material>> Read(const TlsFilePaths& paths);
  static int OnCertificate(ssl_st* ssl, void* self);
  // The material for a handshake now, re-read first when the last read is `reload` old.
  std::shared_ptr<const Material> Current();

  const TlsFilePaths paths_;
  Mutex mu_;
  std::shared_ptr<const Material> current_ ABSL_GUARDED_BY(mu_);
  absl::Time read_at_ ABSL_GUARDED_BY(mu_);
};

}  // namespace tessera

#endif  // TESSERA_CORE_TLS_MATERIAL_H_
