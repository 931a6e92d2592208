// The C interface of ada 2.7 (https://github.com/ada-url/ada), the WHATWG URL
// parser Node.js uses. Debian's libnode108 (//third_party/v8) contains ada
// 2.7.8 and exports this interface, but libnode-dev ships no header for it, so
// the declarations Kiln calls are written out here from ada's documented C API.
// Strings are UTF-8; a returned ada_string points into the ada_url and lives
// as long as it does.
#pragma once

#include <stddef.h>
#include <stdint.h>

extern "C" {

typedef struct {
  const char* data;
  size_t length;
} ada_string;

typedef struct {
  const char* data;
  size_t length;
} ada_owned_string;

// Offsets into href (see ada's url_aggregator); 0xffffffff when absent.
typedef struct {
  uint32_t protocol_end;
  uint32_t username_end;
  uint32_t host_start;
  uint32_t host_end;
  uint32_t port;
  uint32_t pathname_start;
  uint32_t search_start;
  uint32_t hash_start;
} ada_url_components;

typedef void* ada_url;

ada_url ada_parse(const char* input, size_t length);
ada_url ada_parse_with_base(const char* input, size_t input_length, const char* base, size_t base_length);
bool ada_can_parse(const char* input, size_t length);
bool ada_can_parse_with_base(const char* input, size_t input_length, const char* base, size_t base_length);
void ada_free(ada_url result);
void ada_free_owned_string(ada_owned_string owned);
bool ada_is_valid(ada_url result);

ada_owned_string ada_get_origin(ada_url result);
ada_string ada_get_href(ada_url result);
const ada_url_components* ada_get_components(ada_url result);

bool ada_set_href(ada_url result, const char* input, size_t length);
bool ada_set_host(ada_url result, const char* input, size_t length);
bool ada_set_hostname(ada_url result, const char* input, size_t length);
bool ada_set_protocol(ada_url result, const char* input, size_t length);
bool ada_set_username(ada_url result, const char* input, size_t length);
bool ada_set_password(ada_url result, const char* input, size_t length);
bool ada_set_port(ada_url result, const char* input, size_t length);
bool ada_set_pathname(ada_url result, const char* input, size_t length);
void ada_set_search(ada_url result, const char* input, size_t length);
void ada_set_hash(ada_url result, const char* input, size_t length);

}  // extern "C"
