// Salesforce Service Cloud (customer success) source: connection spec cb66ab34-8619-49cb-96d1-39b37ede86ea.
import type { ConnectionSpec } from '../types.js'

export const salesforceServiceCloud: ConnectionSpec = {
  id: 'cb66ab34-8619-49cb-96d1-39b37ede86ea',
  name: 'Salesforce Service Cloud',
  versions: ['1.0'],
  aliases: [
    {
      id: 'b66ab34-8619-49cb-96d1-39b37ede86ea',
      why: "Adobe's Service Cloud tutorial prints the id without its leading 'c' (7 hex digits in the first group)."
    }
  ],
  authSpecs: [
    {
      name: 'Basic Authentication',
      description: 'Username, password and security token of a Salesforce user.',
      deprecated:
        'Adobe announced the deprecation of basic authentication for Salesforce sources; prefer OAuth2 Client Credential.',
      params: [
        {
          name: 'environmentUrl',
          description: 'URL of the Salesforce instance (optional in the published schema).',
          required: false,
          secret: false,
          format: 'salesforce-url',
          example: 'https://acme-enterprise-3126.my.salesforce.com'
        },
        {
          name: 'username',
          description: 'Username of the Service Cloud user account.',
          required: true,
          secret: false,
          format: 'text'
        },
        {
          name: 'password',
          description: 'Password of the Service Cloud user account.',
          required: true,
          secret: true,
          format: 'text'
        },
        {
          name: 'securityToken',
          description: 'Security token of the Service Cloud user account.',
          required: true,
          secret: true,
          format: 'text'
        }
      ]
    },
    {
      name: 'OAuth2 Client Credential',
      description: 'Client id and secret of a Salesforce connected app.',
      params: [
        {
          name: 'environmentUrl',
          description: 'URL of the Salesforce instance.',
          required: true,
          secret: false,
          format: 'salesforce-url',
          example: 'https://acme-enterprise-3126.my.salesforce.com'
        },
        {
          name: 'clientId',
          description: 'Client id of the connected app.',
          required: true,
          secret: false,
          format: 'text'
        },
        {
          name: 'clientSecret',
          description: 'Client secret of the connected app.',
          required: true,
          secret: true,
          format: 'text'
        },
        {
          name: 'apiVersion',
          description: 'REST API version, with a decimal (60.0).',
          required: true,
          secret: false,
          format: 'api-version',
          example: '60.0'
        }
      ]
    }
  ]
}
