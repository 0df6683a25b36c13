// Oracle Service Cloud (customer success, beta) source: connection spec ba5126ec-c9ac-11eb-b8bc-0242ac130003.
import type { ConnectionSpec } from '../types.js'

export const oracleServiceCloud: ConnectionSpec = {
  id: 'ba5126ec-c9ac-11eb-b8bc-0242ac130003',
  name: 'Oracle Service Cloud',
  versions: ['1.0'],
  aliases: [],
  beta: true,
  deprecated: 'Adobe announced the deprecation of the Oracle Service Cloud source.',
  authSpecs: [
    {
      name: 'Basic Authentication',
      description: 'Username and password of an Oracle Service Cloud account.',
      params: [
        {
          name: 'host',
          description: 'Host URL of the Oracle Service Cloud instance.',
          required: true,
          secret: false,
          format: 'text',
          example: 'acme.custhelp.com'
        },
        { name: 'username', description: 'Username of the account.', required: true, secret: false, format: 'text' },
        { name: 'password', description: 'Password of the account.', required: true, secret: true, format: 'text' }
      ]
    }
  ]
}
