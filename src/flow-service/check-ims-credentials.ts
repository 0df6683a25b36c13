// At boot, one token from IMS with the configured credentials: a wrong client id, secret, scope or IMS_URL then
// stops the boot naming the variable, instead of every create answering 503 later. IMS not answering is not fatal:
// the broker starts, and readiness reports Flow Service (with IMS) as down.
import type { Logger } from 'pino'
import { ConfigError } from '../errors/config-error.js'
import { FlowServiceError } from './flow-service-error.js'
import { ImsTokenSource, type ImsTokenSourceOptions } from './ims-token-source.js'

export type ImsCheckOutcome = 'ok' | 'unreachable'

/** Throws ConfigError when IMS refuses the credentials; resolves 'unreachable' when it could not be asked. */
export async function checkImsCredentials(
  options: ImsTokenSourceOptions,
  logger: Pick<Logger, 'info' | 'warn' | 'debug'>
): Promise<ImsCheckOutcome> {
  const tokens = new ImsTokenSource({ ...options, logger })
  try {
    await tokens.getToken()
    return 'ok'
  } catch (err) {
    if (err instanceof FlowServiceError && err.kind === 'auth') throw refusal(err)
    logger.warn(
      { ims: err instanceof FlowServiceError ? { kind: err.kind, status: err.status, code: err.code } : {} },
      'IMS did not answer at boot: starting anyway; /health/ready reports Flow Service until it does'
    )
    return 'unreachable'
  } finally {
    await tokens.close()
  }
}

/** The variable to fix, from what IMS said (its error and description never carry the secret). */
function refusal(err: FlowServiceError): ConfigError {
  const said = [`HTTP ${err.status ?? '?'}`, err.code, err.downstreamMessage]
    .filter((part) => part !== undefined)
    .join(': ')
  const description = (err.downstreamMessage ?? '').toLowerCase()
  if (err.code === 'invalid_client' || err.code === 'unauthorized_client') {
    const variable = description.includes('client_secret') ? 'IMS_CLIENT_SECRET' : 'IMS_CLIENT_ID'
    return new ConfigError(
      variable,
      `IMS refused the broker's credentials at boot (${said}): check IMS_CLIENT_ID and IMS_CLIENT_SECRET`
    )
  }
  if (err.code === 'invalid_scope')
    return new ConfigError(
      'IMS_SCOPES',
      `IMS refused the scopes at boot (${said}): use the scopes of the OAuth server-to-server credential`
    )
  if (err.status === 404 || err.status === 405)
    return new ConfigError(
      'IMS_URL',
      `the token request was refused (${said}): IMS_URL does not look like Adobe IMS (https://ims-na1.adobelogin.com)`
    )
  return new ConfigError(
    'IMS_CLIENT_ID',
    `IMS refused the token request at boot (${said}): check IMS_CLIENT_ID, IMS_CLIENT_SECRET and IMS_SCOPES`
  )
}
