/**
 * Strip secrets from a URL before it leaves the browser.
 *
 * Query (and fragment) parameters whose name looks like a credential (token, key, secret,
 * password, auth, signature, session, code) get the value `[Filtered]`, and
 * `user:password@` credentials are removed. The fragment is kept because hash-routed apps
 * keep their route there (`#access_token=` from OAuth implicit flows is filtered like a
 * query parameter). Done in the browser, so the secret is never sent at all.
 */
const SECRET_NAME = '([?&#][^=&#\\s]*(?:token|key|secret|passw|pwd|auth|sig|session|code)[^=&#\\s]*=)';
const SECRET_PARAM = RegExp(SECRET_NAME + '[^&#]*', 'gi');
// In a stack trace a URL ends at a space or the ")" around it, and its ":line:col" stays.
const SECRET_IN_TEXT = RegExp(SECRET_NAME + '[^&#\\s)]*?(?=(?::\\d+)*(?:[\\s)&#]|$))', 'gi');

export const scrubUrl = (url: string): string =>
  String(url)
    .replace(/^([a-z][\w+.-]*:\/\/)[^/?#@]*@/i, '$1')
    .replace(SECRET_PARAM, '$1[Filtered]')
    .slice(0, 8192);

/** The same filtering for the URLs inside a text, e.g. an error's stack (an inline handler's frame is the page's URL). */
export const scrubText = (text: string): string => text.replace(SECRET_IN_TEXT, '$1[Filtered]');
