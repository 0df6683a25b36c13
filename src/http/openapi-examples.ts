// Examples of the OpenAPI document: one create request per auth spec of the catalogue, in the shape of Adobe's
// tutorials (fake values only: placeholders, never anything that looks like a real secret), and the answers a
// create can get. A test sends every request example to a running broker and checks every answer example against
// its response schema, so they cannot drift from what the API does.
const SALESFORCE = 'cfc0fee1-7dc0-40ef-b73e-d8b134c436f5'
const SERVICE_CLOUD = 'cb66ab34-8619-49cb-96d1-39b37ede86ea'
const MARKETING_CLOUD = 'ea1c2a08-b722-11eb-8529-0242ac130003'
const ORACLE_SERVICE_CLOUD = 'ba5126ec-c9ac-11eb-b8bc-0242ac130003'
const SALESFORCE_URL = 'https://acme-enterprise-3126.my.salesforce.com'

export interface Example {
  summary: string
  description?: string
  value: unknown
}

const create = (
  name: string,
  connectionSpecId: string,
  specName: string,
  params: Record<string, string | boolean>
) => ({
  name,
  description: name,
  auth: { specName, params },
  connectionSpec: { id: connectionSpecId, version: '1.0' }
})

/** One per auth spec of the catalogue (a test checks that none is missing), keyed by a stable name. */
export const CREATE_REQUEST_EXAMPLES: Record<string, Example> = {
  salesforceBasic: {
    summary: 'Salesforce, Basic Authentication',
    value: create('ACME Salesforce account', SALESFORCE, 'Basic Authentication', {
      environmentUrl: SALESFORCE_URL,
      username: 'acme-salesforce',
      password: '{PASSWORD}',
      securityToken: '{SECURITY_TOKEN}'
    })
  },
  salesforceOAuth2ClientCredential: {
    summary: 'Salesforce, OAuth2 Client Credential',
    value: create('ACME Salesforce account (OAuth 2)', SALESFORCE, 'OAuth2 Client Credential', {
      environmentUrl: SALESFORCE_URL,
      clientId: '{CLIENT_ID}',
      clientSecret: '{CLIENT_SECRET}',
      apiVersion: '60.0'
    })
  },
  salesforceOAuth2Jwt: {
    summary: 'Salesforce, OAuth2 JWT Token Credential (Experience Platform on AWS)',
    value: create('ACME Salesforce account on AWS', SALESFORCE, 'OAuth2 JWT Token Credential', {
      jwtToken: '{JWT_TOKEN}',
      clientId: '{CLIENT_ID}',
      clientSecret: '{CLIENT_SECRET}',
      instanceUrl: SALESFORCE_URL
    })
  },
  serviceCloudBasic: {
    summary: 'Salesforce Service Cloud, Basic Authentication (the tutorial body, mistyped id included)',
    description:
      "Adobe's tutorial prints the connection spec id without its leading 'c'; the broker corrects it and says so in `notices`.",
    value: create(
      'Base connection for salesforce service cloud',
      'b66ab34-8619-49cb-96d1-39b37ede86ea',
      'Basic Authentication',
      { username: '{USERNAME}', password: '{PASSWORD}', securityToken: '{SECURITY_TOKEN}' }
    )
  },
  serviceCloudOAuth2ClientCredential: {
    summary: 'Salesforce Service Cloud, OAuth2 Client Credential',
    value: create('ACME Service Cloud account', SERVICE_CLOUD, 'OAuth2 Client Credential', {
      environmentUrl: SALESFORCE_URL,
      clientId: '{CLIENT_ID}',
      clientSecret: '{CLIENT_SECRET}',
      apiVersion: '60.0'
    })
  },
  marketingCloudClientIdSecret: {
    summary: 'Salesforce Marketing Cloud, Client-Id-Secret Based Authentication',
    description:
      'host as the tutorial asks for it; a bare subdomain or the auth URL is corrected to this form (see `notices`).',
    value: create(
      'Salesforce Marketing Cloud base connection',
      MARKETING_CLOUD,
      'Client-Id-Secret Based Authentication',
      {
        host: 'acme-ab12c3d4e5fg6hijk7lmnop8qrst.rest.marketingcloudapis.com',
        clientId: 'acme-salesforce-marketing-cloud',
        clientSecret: '{CLIENT_SECRET}'
      }
    )
  },
  marketingCloudOAuth2ClientCredential: {
    summary: 'Salesforce Marketing Cloud, OAuth2 Client Credential (Experience Platform on AWS)',
    value: create('Salesforce Marketing Cloud on AWS', MARKETING_CLOUD, 'OAuth2 Client Credential', {
      subdomain: 'acme-ab12c3d4e5fg6hijk7lmnop8qrst',
      clientId: 'acme-salesforce-marketing-cloud',
      clientSecret: '{CLIENT_SECRET}'
    })
  },
  oracleServiceCloudBasic: {
    summary: 'Oracle Service Cloud, Basic Authentication',
    value: create('Base connection for Oracle Service Cloud', ORACLE_SERVICE_CLOUD, 'Basic Authentication', {
      host: 'acme.custhelp.com',
      username: '{USERNAME}',
      password: '{PASSWORD}'
    })
  }
}

const CONNECTION_ID = '01939a4e-7c1a-7d3e-9b2f-4a5c6d7e8f90'
const REQUEST_ID = '5f0c8a52-2d4e-4b8f-9a61-0c3d2e1f4a5b'
const problem = (code: string, title: string, status: number, detail: string, extra: object = {}) => ({
  type: `https://credential-broker.dev/problems/${code}`,
  title,
  status,
  detail,
  instance: REQUEST_ID,
  ...extra
})

/** Answers of createConnection, by status. */
export const CREATE_RESPONSE_EXAMPLES: Record<string, Record<string, Example>> = {
  '201': {
    created: {
      summary: 'Created from the Service Cloud tutorial body; its mistyped id corrected',
      value: {
        id: CONNECTION_ID,
        flowConnectionId: '4267c2ab-2104-474f-a7c2-ab2104d74f86',
        name: 'Base connection for salesforce service cloud',
        description: 'Base connection for salesforce service cloud',
        team: 'crm-ingest',
        sandboxName: 'prod',
        connectionSpec: { id: SERVICE_CLOUD, name: 'Salesforce Service Cloud', version: '1.0' },
        auth: {
          specName: 'Basic Authentication',
          params: {
            username: '{USERNAME}',
            password: `vault:secret/credential-broker/connections/${CONNECTION_ID}#password@v1`,
            securityToken: `vault:secret/credential-broker/connections/${CONNECTION_ID}#securityToken@v1`
          }
        },
        state: 'initializing',
        stateReason: null,
        etag: '"0200f1c5-0000-0200-0000-5e4352bf0000"',
        createdAt: '2026-01-15T09:30:00.000Z',
        updatedAt: '2026-01-15T09:30:01.000Z',
        notices: [
          {
            path: '/connectionSpec/id',
            message:
              "b66ab34-8619-49cb-96d1-39b37ede86ea was corrected to cb66ab34-8619-49cb-96d1-39b37ede86ea: Adobe's Service Cloud tutorial prints the id without its leading 'c'."
          }
        ]
      }
    }
  },
  '400': {
    invalidParams: {
      summary: 'Params that do not fit the auth spec',
      value: problem('invalid-params', 'The auth params are not valid', 400, 'auth.params: 2 fields are not valid.', {
        errors: [
          {
            path: '/auth/params/securityToken',
            message: 'is required by Basic Authentication of Salesforce: the security token of the Salesforce user.'
          },
          {
            path: '/auth/params/environmentUrl',
            message:
              'must be an https URL of a Salesforce instance, e.g. https://acme-enterprise-3126.my.salesforce.com'
          }
        ]
      })
    }
  },
  '409': {
    idempotencyKeyInUse: {
      summary: 'The same Idempotency-Key is still being processed',
      value: problem(
        'idempotency-key-in-use',
        'A request with this Idempotency-Key is still running',
        409,
        'A request with this Idempotency-Key is still running; retry after the seconds in Retry-After.'
      )
    }
  },
  '422': {
    downstreamRejected: {
      summary: 'Flow Service refused the connection',
      value: problem(
        'downstream-rejected',
        'Flow Service rejected the connection',
        422,
        'Flow Service rejected the connection (400 1415-400).',
        {
          connectionId: CONNECTION_ID,
          downstream: {
            status: 400,
            code: '1415-400',
            message: "Authentication spec 'Basic Authentication' not found for connection spec id " + MARKETING_CLOUD
          }
        }
      )
    }
  },
  '503': {
    downstreamUnavailable: {
      summary: 'Flow Service did not answer in time; the connection is settled later',
      value: problem(
        'downstream-unavailable',
        'Flow Service is unavailable',
        503,
        'Flow Service did not answer usably before the deadline; the connection stays pending and is completed or rolled back. Retry with the same Idempotency-Key to learn the outcome.',
        { connectionId: CONNECTION_ID }
      )
    }
  }
}

/** Where the examples go in the document: request bodies and answers, by operationId. */
export const OPERATION_EXAMPLES: Record<
  string,
  { request?: Record<string, Example>; responses?: Record<string, Record<string, Example>> }
> = {
  createConnection: { request: CREATE_REQUEST_EXAMPLES, responses: CREATE_RESPONSE_EXAMPLES }
}
