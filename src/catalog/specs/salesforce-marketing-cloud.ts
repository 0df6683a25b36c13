// Salesforce Marketing Cloud (marketing automation) source: connection spec ea1c2a08-b722-11eb-8529-0242ac130003.
import type { ConnectionSpec } from '../types.js'

export const salesforceMarketingCloud: ConnectionSpec = {
  id: 'ea1c2a08-b722-11eb-8529-0242ac130003',
  name: 'Salesforce Marketing Cloud',
  versions: ['1.0'],
  aliases: [],
  deprecated: 'Adobe announced the deprecation of the Salesforce Marketing Cloud source.',
  authSpecs: [
    {
      name: 'Client-Id-Secret Based Authentication',
      description: 'Client id and secret of a Marketing Cloud installed package.',
      params: [
        {
          name: 'host',
          description: 'REST host of the tenant: {subdomain}.rest.marketingcloudapis.com.',
          required: true,
          secret: false,
          format: 'marketing-cloud-rest-host',
          example: 'acme-ab12c3d4e5fg6hijk7lmnop8qrst.rest.marketingcloudapis.com'
        },
        {
          name: 'clientId',
          description: 'Client id of the installed package.',
          required: true,
          secret: false,
          format: 'text'
        },
        {
          name: 'clientSecret',
          description: 'Client secret of the installed package.',
          required: true,
          secret: true,
          format: 'text'
        }
      ]
    },
    {
      name: 'OAuth2 Client Credential',
      description: 'Client credentials of a Marketing Cloud installed package.',
      availability: 'Experience Platform on Amazon Web Services only.',
      params: [
        {
          name: 'subdomain',
          description: 'Tenant subdomain, e.g. acme-ab12c3d4e5fg6hijk7lmnop8qrst.',
          required: true,
          secret: false,
          format: 'marketing-cloud-subdomain',
          example: 'acme-ab12c3d4e5fg6hijk7lmnop8qrst'
        },
        {
          name: 'clientId',
          description: 'Client id of the installed package.',
          required: true,
          secret: false,
          format: 'text'
        },
        {
          name: 'clientSecret',
          description: 'Client secret of the installed package.',
          required: true,
          secret: true,
          format: 'text'
        }
      ]
    }
  ]
}
