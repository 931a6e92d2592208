// Names and messages for the invocation types.
#include "worker/js/types.h"

namespace kiln::worker {

const char* LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kLog: return "log";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "log";
}

const char* BreachMessage(Breach breach) {
  switch (breach) {
    case Breach::kNone: return "";
    case Breach::kCpu: return "cpu limit exceeded";
    case Breach::kWall: return "wall time limit exceeded";
    case Breach::kMemory: return "memory limit exceeded";
    case Breach::kResponseSize: return "response size limit exceeded";
    case Breach::kCancelled: return "cancelled: the client went away";
  }
  return "";
}

}  // namespace kiln::worker
