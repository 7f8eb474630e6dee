// TLS file checks: the server certificate chain, its private key and the client CA bundle are
// read by gRPC's file watcher, which only logs a bad file and then fails every handshake. These
// checks run first (at start-up, and by the watcher's caller) so a wrong path or a key that does
// not match its certificate is a clear error naming the setting.
#ifndef TESSERA_CORE_TLS_FILES_H_
#define TESSERA_CORE_TLS_FILES_H_

#include <string>

#include "absl/status/status.h"

namespace tessera {

// `cert_path` holds at least one PEM certificate, `key_path` a PEM private key matching the first
// one, and `ca_path` (when not empty) at least one PEM certificate. INVALID_ARGUMENT naming the
// setting (`tls_cert`, `tls_key`, `tls_client_ca`) otherwise.
absl::Status CheckTlsFiles(const std::string& cert_path, const std::string& key_path,
                           const std::string& ca_path);

}  // namespace tessera

#endif  // TESSERA_CORE_TLS_FILES_H_
