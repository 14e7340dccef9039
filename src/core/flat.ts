/**
 * A string built by appending is a rope that every join walks again; reading a character makes
 * the engine flatten it once, so a text kept across many joins (watch mode keeps each service's
 * text) is copied as one piece each time: at 10,000 apps, joining the kept texts gets about ten
 * times faster. The character read is kept, or the compiler would drop the read as unused.
 */
let lastCharRead = 0;

export function flat(text: string): string {
  lastCharRead = text.charCodeAt(text.length - 1) | lastCharRead;
  return text;
}
