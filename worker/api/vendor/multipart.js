// Lazy runtime module "multipart": multipart/form-data parsing for
// Request/Response formData(), from @remix-run/multipart-parser.
const multipart = require('@remix-run/multipart-parser');

module.exports = {
  parseMultipart: multipart.parseMultipart,
  getMultipartBoundary: multipart.getMultipartBoundary,
};
