// A deliberate data race, for ThreadSanitizer to report. The TSan run includes this program as
// a test that passes only when TSan's report of it appears (tests/CMakeLists.txt), so a run in
// which TSan sees nothing — not built in, or blinded by a suppression — fails instead of passing
// quietly. It runs under the same suppression file as the suite.
#include <cstdio>
#include <thread>

namespace {

// Plain memory written from two threads with nothing between them.
struct Unguarded {
  long count = 0;
};

void Bump(Unguarded* u) {
  for (int i = 0; i < 1000; ++i) u->count = u->count + 1;
}

}  // namespace

int main() {
  Unguarded shared;
  std::thread a(Bump, &shared);
  std::thread b(Bump, &shared);
  a.join();
  b.join();
  std::printf("canary finished (count %ld); a ThreadSanitizer report must precede this\n",
              shared.count);
  return 0;
}
