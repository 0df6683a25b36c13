// Salesforce (CRM) source: connection spec cfc0fee1-7dc0-40ef-b73e-d8b134c436f5.
import type { ConnectionSpec } from '../types.js'

export const salesforce: ConnectionSpec = {
  id: 'cfc0fee1-7dc0-40ef-b73e-d8b134c436f5',
  name: 'Salesforce',
  versions: ['1.0'],
  aliases: [],
  authSpecs: [
    {
      name: 'Basic Authentication',
      description: 'Username, password and security token of a Salesforce user.',
      deprecated:
        'Adobe announced the deprecation of basic authentication for Salesforce sources; prefer OAuth2 Client Credential.',
      params: [
        {
          name: 'environmentUrl',
          description: 'URL of the Salesforce instance.',
          required: false,
          secret: false,
          format: 'salesforce-url',
          example: 'https://acme-enterprise-3126.my.salesforce.com'
        },
        {
          name: 'username',
          description: 'Username of the Salesforce user account.',
          required: true,
          secret: false,
          format: 'text'
        },
        {
          name: 'password',
          description: 'Password of the Salesforce user account.',
          required: true,
          secret: true,
          format: 'text'
        },
        {
          name: 'securityToken',
          description: 'Security token of the Salesforce user account.',
          required: true,
          secret: true,
          format: 'text'
        },
        {
          name: 'apiVersion',
          description: 'REST API version, with a decimal (52.0). Latest when omitted.',
          required: false,
          secret: false,
          format: 'api-version',
          example: '60.0'
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
          description: 'REST API version, with a decimal (60.0). Mandatory for this auth spec.',
          required: true,
          secret: false,
          format: 'api-version',
          example: '60.0'
        },
        {
          name: 'includeDeletedObjects',
          description: 'Whether soft-deleted records are ingested.',
          required: false,
          secret: false,
          format: 'boolean'
        }
      ]
    },
    {
      name: 'OAuth2 JWT Token Credential',
      description: 'JWT bearer flow of a Salesforce connected app.',
      availability: 'Experience Platform on Amazon Web Services only.',
      params: [
        { name: 'jwtToken', description: 'The signed JWT.', required: true, secret: true, format: 'text' },
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
          name: 'instanceUrl',
          description: 'URL of the Salesforce instance.',
          required: true,
          secret: false,
          format: 'salesforce-url',
          example: 'https://acme-enterprise-3126.my.salesforce.com'
        }
      ]
    }
  ]
}
