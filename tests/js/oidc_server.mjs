// An independent OAuth 2.0 / OpenID Connect server for browser and integration tests.
//
// oidc-provider is a certified implementation with real login and consent pages (devInteractions),
// PKCE and refresh tokens. Started by tests/helpers/oidc.py; test only, never a deployment.
//
// Environment:
//   PORT           port on 127.0.0.1 (default 9090)
//   REDIRECT_URI   comma-separated redirect URIs of the one client (must match exactly)
//   CLIENT_ID      default "portal"
//   CLIENT_SECRET  default "portal-secret" (keep it URL-safe)
//   TOKEN_AUTH     the client's token_endpoint_auth_method: client_secret_basic (default) or
//                  client_secret_post. oidc-provider 8 itself treats the two as interchangeable;
//                  with client_secret_post this server enforces it, as providers that check the
//                  registered method do: a token request with an Authorization header gets 401
//                  invalid_client.
//
// Behaviour worth knowing (docs/testing.md): the dev login page accepts any login and password;
// offline_access is dropped unless the authorization request has prompt=consent, and a refresh
// token is issued only when offline_access survives; the callback carries `iss` (RFC 9207).
import Provider from 'oidc-provider';

const PORT = Number(process.env.PORT || 9090);
const HOST = '127.0.0.1';
const TOKEN_AUTH = process.env.TOKEN_AUTH || 'client_secret_basic';

const provider = new Provider(`http://${HOST}:${PORT}`, {
  clients: [
    {
      client_id: process.env.CLIENT_ID || 'portal',
      client_secret: process.env.CLIENT_SECRET || 'portal-secret',
      redirect_uris: (process.env.REDIRECT_URI || '').split(',').filter(Boolean),
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      scope: 'openid offline_access profile email',
      token_endpoint_auth_method: TOKEN_AUTH,
    },
  ],
  // The client's scope list must only name scopes the server knows: profile and email come from
  // these claims (without them oidc-provider rejects every request with invalid_client_metadata).
  claims: { openid: ['sub'], profile: ['name'], email: ['email', 'email_verified'] },
  pkce: { methods: ['S256'], required: () => true },
  features: {
    devInteractions: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
  },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, name: id, email: `${id}@example.test`, email_verified: true };
      },
    };
  },
  cookies: { keys: ['test-only-cookie-key'] },
});

if (TOKEN_AUTH === 'client_secret_post') {
  provider.use(async (ctx, next) => {
    if (ctx.method === 'POST' && ctx.path === '/token' && ctx.get('authorization')) {
      ctx.status = 401;
      ctx.set('WWW-Authenticate', 'Basic realm="token"');
      ctx.body = {
        error: 'invalid_client',
        error_description: 'this client is registered for client_secret_post',
      };
      return;
    }
    await next();
  });
}

const server = provider.listen(PORT, HOST, () => {
  // tests/helpers/oidc.py waits for this exact line.
  console.log('ready');
});

function stop() {
  server.close(() => process.exit(0));
  // Keep-alive connections from a browser would hold close() open; don't wait for them.
  setTimeout(() => process.exit(0), 500).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
