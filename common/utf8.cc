// IsUtf8: a byte-by-byte check of UTF-8 well-formedness (RFC 3629).
#include "common/utf8.h"

#include <cstddef>
#include <cstdint>

namespace kiln {

bool IsUtf8(absl::string_view bytes) {
  size_t i = 0;
  while (i < bytes.size()) {
    const unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t length;
    uint32_t min;
    uint32_t code;
    if ((c >> 5) == 0x6) {
      length = 2, min = 0x80, code = c & 0x1f;
    } else if ((c >> 4) == 0xe) {
      length = 3, min = 0x800, code = c & 0x0f;
    } else if ((c >> 3) == 0x1e) {
      length = 4, min = 0x10000, code = c & 0x07;
    } else {
      return false;
    }
    if (i + length > bytes.size()) return false;
    for (size_t k = 1; k < length; ++k) {
      const unsigned char next = static_cast<unsigned char>(bytes[i + k]);
      if ((next >> 6) != 0x2) return false;
      code = (code << 6) | (next & 0x3f);
    }
    if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return false;
    i += length;
  }
  return true;
}

}  // namespace kiln
