// Structured logging: one JSON object per line (on stderr, or the stream SetLogStream names).
// Callers pass only non-secret fields; there is deliberately no way to log a request or a
// credential wholesale.
#ifndef TESSERA_CORE_LOG_H_
#define TESSERA_CORE_LOG_H_

#include <cstdio>
#include <initializer_list>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"

namespace tessera {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

void SetLogLevel(LogLevel level);
// Where lines go: stderr by default; `tessera serve` logs to stdout, as containers expect. Each
// line is written and flushed whole, so concurrent lines never interleave.
void SetLogStream(std::FILE* stream);
bool ParseLogLevel(absl::string_view name, LogLevel* out);

// Whether a line at `level` would be written: lets hot paths skip building its fields.
bool LogEnabled(LogLevel level);

using LogField = std::pair<absl::string_view, std::string>;
void Log(LogLevel level, absl::string_view event, std::initializer_list<LogField> fields = {});

}  // namespace tessera

#endif  // TESSERA_CORE_LOG_H_
