// Removes secret values from text that came from elsewhere (downstream error messages) before we show or store it.
// Kept for callers outside the Flow Service client; it finds the same echoes the client does (see redact-echoes.ts).
import { redactEchoes } from '../flow-service/redact-echoes.js'

export function scrubSecrets (text: string, secrets: readonly string[]): string {
  return redactEchoes(text, secrets)
}
