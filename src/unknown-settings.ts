// Finds environment variables that look like the broker's settings but are not one (DATABSE_URL, BROKER_MODES,
// database_url): a typo there would otherwise be ignored without a word and leave the setting at its default.

export interface UnknownSetting {
  name: string
  /** The broker setting it most likely meant, when one is close enough to say. */
  suggestion?: string
}

/** Prefixes only the broker's own settings use: anything else under them is a mistake. */
const OWN_PREFIXES = ['BROKER_', 'IMS_', 'FLOW_SERVICE_', 'VAULT_']

/**
 * Variables the Vault CLI and agent read (they share the VAULT_ prefix and are often exported in an operator's
 * shell); the broker does not read them, but they are not typos of its settings either.
 */
const VAULT_CLI_VARIABLES = new Set([
  'VAULT_AGENT_ADDR',
  'VAULT_CACERT',
  'VAULT_CACERT_BYTES',
  'VAULT_CAPATH',
  'VAULT_CLIENT_CERT',
  'VAULT_CLIENT_KEY',
  'VAULT_CLIENT_TIMEOUT',
  'VAULT_CLUSTER_ADDR',
  'VAULT_DISABLE_REDIRECTS',
  'VAULT_FORMAT',
  'VAULT_HTTP_PROXY',
  'VAULT_PROXY_ADDR',
  'VAULT_LICENSE',
  'VAULT_LICENSE_PATH',
  'VAULT_LOG_FORMAT',
  'VAULT_LOG_LEVEL',
  'VAULT_MAX_RETRIES',
  'VAULT_MFA',
  'VAULT_RATE_LIMIT',
  'VAULT_REDIRECT_ADDR',
  'VAULT_SKIP_VERIFY',
  'VAULT_SRV_LOOKUP',
  'VAULT_TLS_SERVER_NAME',
  'VAULT_WRAP_TTL',
  'VAULT_CLI_NO_COLOR',
  'VAULT_API_ADDR',
  'VAULT_DEV_ROOT_TOKEN_ID',
  'VAULT_DEV_LISTEN_ADDRESS',
  'VAULT_UI',
  'VAULT_CONFIG_PATH',
  'VAULT_HEADERS',
  'VAULT_DISABLE_LOCAL_AUTH_MOUNT_ENTITIES'
])

/**
 * Kubernetes injects <SERVICE>_SERVICE_HOST, <SERVICE>_PORT=tcp://… and the like for every service in the
 * namespace: a service named "broker" or "vault" would otherwise make every pod refuse to boot.
 */
function isServiceLink(name: string, value: string): boolean {
  if (/_SERVICE_(HOST|PORT)(_[A-Z0-9_]+)?$/.test(name)) return true
  return (
    /_PORT(_\d+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)?$/.test(name) &&
    /^(tcp|udp|sctp):\/\/|^\d|^(tcp|udp|sctp)$/.test(value)
  )
}

/** Names in `source` (with a value) that are not in `known` but look like one of them. */
export function findUnknownSettings(
  source: Record<string, string | undefined>,
  known: readonly string[]
): UnknownSetting[] {
  const knownSet = new Set(known)
  const found: UnknownSetting[] = []
  for (const [name, value] of Object.entries(source)) {
    if (value === undefined || value === '' || knownSet.has(name)) continue
    const upper = name.toUpperCase()
    if (VAULT_CLI_VARIABLES.has(upper) || isServiceLink(upper, value)) continue
    const nearest = nearestName(upper, known)
    const ownPrefix = OWN_PREFIXES.some((prefix) => upper.startsWith(prefix))
    if (nearest !== undefined && looksLike(upper, nearest.name, nearest.distance))
      found.push({ name, suggestion: nearest.name })
    else if (ownPrefix)
      found.push({ name, ...(nearest !== undefined && nearest.distance <= 3 ? { suggestion: nearest.name } : {}) })
  }
  return found.sort((a, b) => a.name.localeCompare(b.name))
}

/** Close enough to be a slip of the keyboard, a case slip, or the name with its unit suffix left off. */
function looksLike(name: string, candidate: string, distance: number): boolean {
  if (distance <= (candidate.length <= 6 ? 1 : 2)) return true
  // POLL_STEADY_INTERVAL for POLL_STEADY_INTERVAL_MS; not DATABASE for DATABASE_URL (a name of its own elsewhere).
  return distance === 3 && candidate.startsWith(name)
}

function nearestName(name: string, known: readonly string[]): { name: string; distance: number } | undefined {
  // A name with its end left off (IMS_ORG, POLL_STEADY_INTERVAL) means that setting, even if another is closer.
  const truncated = known.find((candidate) => candidate.startsWith(name) && candidate.length - name.length <= 3)
  if (truncated !== undefined) return { name: truncated, distance: truncated.length - name.length }
  let best: { name: string; distance: number } | undefined
  for (const candidate of known) {
    const distance = editDistance(name, candidate)
    if (best === undefined || distance < best.distance) {
      best = { name: candidate, distance }
    }
  }
  return best
}

/** Levenshtein distance (insertions, deletions, substitutions), two rows at a time. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1)
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution))
    }
    previous = current
  }
  return previous[b.length] ?? 0
}
