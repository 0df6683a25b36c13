// A setting the broker cannot run with: names the variable. The process exits 78 (EX_CONFIG) on it.

export class ConfigError extends Error {
  override readonly name = 'ConfigError'
  constructor(
    readonly variable: string,
    message: string
  ) {
    super(`${variable}: ${message}`)
  }
}
