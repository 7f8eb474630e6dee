// The schema migrations compiled into the binary (storage/migrations/NNNN_name.sql), in order.
#ifndef TESSERA_STORAGE_MIGRATIONS_H_
#define TESSERA_STORAGE_MIGRATIONS_H_

#include <string>
#include <vector>

namespace tessera {

struct Migration {
  int version;
  const char* name;
  const char* sql;
};

const std::vector<Migration>& Migrations();

}  // namespace tessera

#endif  // TESSERA_STORAGE_MIGRATIONS_H_
