/**
 * Removes credentials from text bound for a log line: the `user:password@` of URLs
 * (`redis://morsel:s3cret@host`, `rediss://:s3cret@host`) and the `password=` / `sentinel_password=`
 * entries of Feast's connection strings. Applied to every error the server logs, so a driver or a
 * future message that quotes a connection string cannot put its password in the log.
 */
export function redactCredentials(text: string): string {
  if (!text.includes('@') && !/passw/i.test(text)) return text
  return text
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi, '$1[redacted]@')
    .replace(/\b((?:sentinel_)?password\s*=\s*)[^,\s'"]*/gi, '$1[redacted]')
}
