// Stands in for the npm package tr46 inside whatwg-url: UTS #46 ToASCII done
// by ICU (natives.domainToASCII in worker/api/natives.cc) with the options the
// URL Standard's domain-to-ASCII sets. Returns null on failure, as tr46 does.
module.exports = {
  toASCII(domain, options) {
    return natives.domainToASCII(
        domain, Boolean(options.checkHyphens), Boolean(options.useSTD3ASCIIRules),
        Boolean(options.verifyDNSLength));
  },
};
