// The shape of the connection-spec catalogue: sources and their auth specs, as data.
import { Type, type Static } from 'typebox'

export const ParamFormat = Type.Union(
  [
    Type.Literal('text'), // any non-empty string
    Type.Literal('salesforce-url'), // https://<domain>.my.salesforce.com (or another *.salesforce.com host)
    Type.Literal('https-url'), // any https URL
    Type.Literal('api-version'), // a decimal string such as 52.0
    Type.Literal('marketing-cloud-rest-host'), // <subdomain>.rest.marketingcloudapis.com
    Type.Literal('marketing-cloud-subdomain'), // <subdomain> alone, a single DNS label
    Type.Literal('hostname'), // a bare host name, no scheme
    Type.Literal('boolean')
  ],
  { description: 'How the value is checked (and, where safe, normalised).' }
)
export type ParamFormat = Static<typeof ParamFormat>

export const ParamSpec = Type.Object({
  name: Type.String(),
  description: Type.String(),
  required: Type.Boolean(),
  secret: Type.Boolean({ description: 'Kept in the secret store; shown only as a reference.' }),
  format: ParamFormat,
  example: Type.Optional(Type.String())
})
export type ParamSpec = Static<typeof ParamSpec>

export const AuthSpec = Type.Object({
  name: Type.String({ description: 'The `auth.specName` Flow Service expects.' }),
  description: Type.String(),
  params: Type.Array(ParamSpec),
  deprecated: Type.Optional(Type.String({ description: 'Why and since when this auth spec is deprecated.' })),
  availability: Type.Optional(Type.String({ description: 'e.g. "Experience Platform on AWS only".' }))
})
export type AuthSpec = Static<typeof AuthSpec>

export const ConnectionSpec = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  versions: Type.Array(Type.String(), { description: 'Accepted connectionSpec.version values.' }),
  authSpecs: Type.Array(AuthSpec),
  aliases: Type.Array(
    Type.Object({
      id: Type.String(),
      why: Type.String()
    }),
    { description: 'Mistyped ids (e.g. from the docs) accepted and corrected, with the reason.' }
  ),
  deprecated: Type.Optional(Type.String()),
  beta: Type.Optional(Type.Boolean())
})
export type ConnectionSpec = Static<typeof ConnectionSpec>
