// The baseline handler of //ops/bench:api_bench: the smallest response.
export default {
  async fetch() {
    return new Response('ok');
  },
};
