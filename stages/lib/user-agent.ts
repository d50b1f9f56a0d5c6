/** Sent on every request, so the shared service can tell who is fetching and why. */
export const USER_AGENT = 'reingest/0.1 (reproducible training-data rebuilds; +https://github.com/reingest/reingest)';
