// Stands in for @exodus/bytes/encoding.js inside whatwg-url, which loads it only
// to register legacy multi-byte encodings for HTML form submission; the URL API
// always uses UTF-8.
