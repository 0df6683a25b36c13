// Removes secret values from text that came from elsewhere (downstream error messages) before we show or store it.

export function scrubSecrets (text: string, secrets: readonly string[]): string {
  let out = text
  // Longest first, so a secret that contains another is removed whole.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret.length >= 3) out = out.split(secret).join('[redacted]')
  }
  return out
}
