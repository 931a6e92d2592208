// Natives behind URL and URLSearchParams (js/12_url.js): WHATWG URL parsing
// and setters by ada, the parser Node.js uses, through libnode.
#pragma once

#include <vector>

#include "worker/js/native.h"

namespace kiln::worker::api {

std::vector<js::NativeBinding> UrlNatives();

}  // namespace kiln::worker::api
