// pino `redact` paths for every place a credentials body, a secret param or an auth header can reach a log line.
import type { ConnectionSpec } from './types.js'
import { catalog, secretParamNames } from './catalog.js'

/**
 * Where an `auth.params`-shaped object sits in what we log: the request, a use-case input, an error's context
 * (`err.request.body.auth.params`). pino wildcards match one level each, hence the `*.*` forms.
 */
const PARAMS_PARENTS = [
  'req.body.auth.params',
  'request.body.auth.params',
  'body.auth.params',
  'auth.params',
  'params',
  '*.auth.params',
  '*.*.auth.params',
  '*.*.*.auth.params',
  '*.params',
  '*.*.params'
]

const HEADER_PARENTS = ['req.headers', 'request.headers', 'headers', '*.headers', '*.*.headers']

/** Callers' keys and the broker's own Flow Service / IMS credentials. Node lower-cases incoming header names; outgoing ones may not be. */
const HEADERS = ['authorization', 'Authorization', 'x-api-key', 'X-Api-Key', 'cookie']

/** Values the broker handles whole: the split-off secrets and the IMS token exchange. */
const WHOLE = [
  'secretParams.*',
  '*.secretParams.*',
  'client_secret',
  '*.client_secret',
  'access_token',
  '*.access_token'
]

export function redactionPaths(specs: readonly ConnectionSpec[] = catalog): string[] {
  const paths: string[] = []
  for (const name of secretParamNames(specs)) {
    for (const parent of PARAMS_PARENTS) paths.push(parent + segment(name))
  }
  for (const parent of HEADER_PARENTS) {
    for (const header of HEADERS) paths.push(parent + segment(header))
  }
  paths.push(...WHOLE)
  return [...new Set(paths)]
}

/** `.name` when the name is an identifier, else `["x-api-key"]` (pino's bracket syntax). */
function segment(name: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? `.${name}` : `[${JSON.stringify(name)}]`
}
