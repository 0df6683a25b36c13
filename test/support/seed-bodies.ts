// The request bodies of Adobe's five tutorials (../shared/seeds), as users paste them: repaired JSON,
// and the three broken originals verbatim.

export const SEED_BODIES = {
  salesforceBasic: {
    name: 'Salesforce Connection',
    description: 'Connection for Salesforce account',
    auth: {
      specName: 'Basic Authentication',
      params: { username: '{USERNAME}', password: '{PASSWORD}', securityToken: '{SECURITY_TOKEN}' }
    },
    connectionSpec: { id: 'cfc0fee1-7dc0-40ef-b73e-d8b134c436f5', version: '1.0' }
  },
  salesforceBasicWithUrl: {
    name: 'ACME Salesforce account',
    description: 'Salesforce account using basic authentication',
    auth: {
      specName: 'Basic Authentication',
      params: {
        environmentUrl: 'https://acme-enterprise-3126.my.salesforce.com',
        username: 'acme-salesforce',
        password: 'xxxx',
        securityToken: 'xxxx'
      }
    },
    connectionSpec: { id: 'cfc0fee1-7dc0-40ef-b73e-d8b134c436f5', version: '1.0' }
  },
  salesforceOAuth: {
    name: 'ACME Salesforce account',
    description: 'Salesforce account using OAuth 2',
    auth: {
      specName: 'OAuth2 Client Credential',
      params: {
        environmentUrl: 'https://acme-enterprise-3126.my.salesforce.com',
        clientId: 'xxxx',
        clientSecret: 'xxxx',
        apiVersion: '60.0'
      }
    },
    connectionSpec: { id: 'cfc0fee1-7dc0-40ef-b73e-d8b134c436f5', version: '1.0' }
  },
  salesforceJwt: {
    name: 'ACME Salesforce account on AWS',
    description: 'ACME Salesforce account on AWS',
    auth: {
      specName: 'OAuth2 JWT Token Credential',
      params: {
        jwtToken: '{JWT_TOKEN}',
        clientId: 'xxxx',
        clientSecret: 'xxxx',
        instanceUrl: 'https://acme-enterprise-3126.my.salesforce.com'
      }
    },
    connectionSpec: { id: 'cfc0fee1-7dc0-40ef-b73e-d8b134c436f5', version: '1.0' }
  },
  serviceCloudBasic: {
    name: 'Base connection for salesforce service cloud',
    description: 'Base connection for salesforce service cloud',
    auth: {
      specName: 'Basic Authentication',
      params: { username: '{USERNAME}', password: '{PASSWORD}', securityToken: '{SECURITY_TOKEN}' }
    },
    connectionSpec: { id: 'b66ab34-8619-49cb-96d1-39b37ede86ea', version: '1.0' }
  },
  marketingCloud: {
    name: 'Salesforce Marketing Cloud base connection',
    description: 'Salesforce Marketing Cloud base connection',
    auth: {
      specName: 'Client-Id-Secret Based Authentication',
      params: {
        host: 'acme-ab12c3d4e5fg6hijk7lmnop8qrst',
        clientId: 'acme-salesforce-marketing-cloud',
        clientSecret: 'xxxx'
      }
    },
    connectionSpec: { id: 'ea1c2a08-b722-11eb-8529-0242ac130003', version: '1.0' }
  },
  oracleServiceCloud: {
    name: 'Base connection for Oracle Service Cloud',
    description: 'Base connection for Oracle Service Cloud',
    auth: {
      specName: 'Basic Authentication',
      params: { host: '{HOST}', username: '{USERNAME}', password: '{PASSWORD}' }
    },
    connectionSpec: { id: 'ba5126ec-c9ac-11eb-b8bc-0242ac130003', version: '1.0' }
  }
} as const

/** The seeds' bodies that are not valid JSON, exactly as printed. */
export const BROKEN_SEED_BODIES = {
  salesforceBasicMissingBrace: `{
      "name": "ACME Salesforce account",
      "description": "Salesforce account using basic authentication",
      "auth": {
          "specName": "Basic Authentication",
          "params":
            "environmentUrl": "https://acme-enterprise-3126.my.salesforce.com",
            "username": "acme-salesforce",
            "password": "xxxx",
            "securityToken": "xxxx"
        }
      },
      "connectionSpec": {
          "id": "cfc0fee1-7dc0-40ef-b73e-d8b134c436f5",
          "version": "1.0"
      }
  }`,
  marketingCloudMissingComma: `{
      "name": "Salesforce Marketing Cloud base connection",
      "description": "Salesforce Marketing Cloud base connection",
      "auth": {
          "specName": "Client-Id-Secret Based Authentication",
          "params": {
              "host": "acme-ab12c3d4e5fg6hijk7lmnop8qrst"
              "clientId": "acme-salesforce-marketing-cloud",
              "clientSecret": "xxxx"
          }
      },
      "connectionSpec": {
          "id": "ea1c2a08-b722-11eb-8529-0242ac130003",
          "version": "1.0"
      }
  }`,
  jwtUnterminatedString: `{
      "name": "ACME Salesforce account on AWS",
      "description": "ACME Salesforce account on AWS",
      "auth": {
          "specName": "OAuth2 JWT Token Credential",
          "params":
            "jwtToken": "{JWT_TOKEN},
            "clientId": "xxxx",
            "clientSecret": "xxxx",
            "instanceUrl": "https://acme-enterprise-3126.my.salesforce.com"
        }
      },
      "connectionSpec": {
          "id": "cfc0fee1-7dc0-40ef-b73e-d8b134c436f5",
          "version": "1.0"
      }
  }`
} as const
