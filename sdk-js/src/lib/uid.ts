/**
 * A random 32-character hex id (128 bits), valid as a contract `$defs/id`.
 *
 * `crypto.getRandomValues` works in insecure contexts too (unlike `randomUUID`); the
 * `Math.random` fallback only serves environments without Web Crypto.
 */
export const uid = (): string => {
  const bytes = new Uint8Array(16);
  try {
    crypto.getRandomValues(bytes);
  } catch {
    for (let i = 0; i < 16; i++) bytes[i] = (Math.random() * 256) | 0;
  }
  let id = '';
  for (let i = 0; i < 16; i++) id += (bytes[i] + 256).toString(16).slice(1);
  return id;
};
