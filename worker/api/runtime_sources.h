// The runtime's JavaScript, generated into runtime_js.cc from js/ and vendor/
// by gen_runtime.sh.
#pragma once

#include <vector>

#include "worker/js/native.h"

namespace kiln::worker::api {

// The runtime script every function snapshot is built on.
extern const char kRuntimeJs[];
// Its lazily loaded modules ("streams", "encoding", "multipart", "subtle").
const std::vector<js::LazyModule>& LazyModules();

}  // namespace kiln::worker::api
