/**
 * Strip secrets from a URL before it leaves the browser.
 *
 * Query (and fragment) parameters whose name looks like a credential (token, key, secret,
 * password, auth, signature, session, code) get the value `[Filtered]`, and
 * `user:password@` credentials are removed. The fragment is kept because hash-routed apps
 * keep their route there (`#access_token=` from OAuth implicit flows is filtered like a
 * query parameter). The processor scrubs again; this keeps the secret from being sent at all.
 */
const SECRET_PARAM = /([?&#][^=&#]*(?:token|key|secret|passw|pwd|auth|sig|session|code)[^=&#]*=)[^&#]*/gi;

export const scrubUrl = (url: string): string =>
  String(url)
    .replace(/^([a-z][\w+.-]*:\/\/)[^/?#@]*@/i, '$1')
    .replace(SECRET_PARAM, '$1[Filtered]')
    .slice(0, 8192);
