// RFC 6901 JSON Pointers, the `path` of every error and notice about the request body.

/** `jsonPointer('auth', 'params', 'a/b')` → `/auth/params/a~1b`. */
export function jsonPointer(...segments: string[]): string {
  return segments.map((s) => '/' + s.replace(/~/g, '~0').replace(/\//g, '~1')).join('')
}
