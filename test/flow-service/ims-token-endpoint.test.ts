// imsTokenEndpoint: IMS_URL as people paste it (the base, or the token endpoint from Adobe's console) gives the
// client-credentials endpoint; another IMS endpoint is refused rather than called.
import t from 'tap'
import { imsTokenEndpoint } from '../../src/flow-service/ims-token-source.js'

void t.test('the base and the token endpoint give the same URL', async (t) => {
  for (const given of [
    'https://ims-na1.adobelogin.com',
    'https://ims-na1.adobelogin.com/',
    'https://ims-na1.adobelogin.com/ims/token/v3',
    'https://ims-na1.adobelogin.com/ims/token/v3/'
  ]) {
    t.equal(imsTokenEndpoint(given).href, 'https://ims-na1.adobelogin.com/ims/token/v3', given)
  }
})

void t.test('a gateway base path is kept', async (t) => {
  t.equal(imsTokenEndpoint('https://gw.example.com/adobe').href, 'https://gw.example.com/adobe/ims/token/v3')
  t.equal(
    imsTokenEndpoint('https://gw.example.com/adobe/ims/token/v3').href,
    'https://gw.example.com/adobe/ims/token/v3'
  )
})

void t.test('other IMS endpoints and queries are refused with the URL to use', async (t) => {
  t.throws(
    () => imsTokenEndpoint('https://ims-na1.adobelogin.com/ims/exchange/jwt'),
    /use|give the base URL.*https:\/\/ims-na1\.adobelogin\.com\/ims\/token\/v3/
  )
  t.throws(
    () => imsTokenEndpoint('https://ims-na1.adobelogin.com/ims/token/v2'),
    /not the client-credentials token endpoint/
  )
  t.throws(() => imsTokenEndpoint('https://ims-na1.adobelogin.com/ims/token/v3?client_id=x'), /no query/)
})
