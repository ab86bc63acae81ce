// A real OpenID Connect provider (the certified `oidc-provider` package) for the OAuth2
// sign-in tests, on 127.0.0.1 only.
//
//   node tests/peers/oidc_provider.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI
//
// Prints `ready <issuer>` once listening. Its development sign-in page takes any login
// and password: the login becomes the account id, and the account's email is the login
// itself, verified unless the login starts with `unverified.`. An account whose login
// starts with `noemail.` has no email at all.
// Installed by tests/peers/install.sh beside this script, not in a node_modules above it.
const { default: Provider } = await import(
  new URL('../.cache/peers/node/node_modules/oidc-provider/lib/index.js', import.meta.url)
);

const [port, clientId, clientSecret, redirectUri] = process.argv.slice(2);
if (!port || !clientId || !clientSecret || !redirectUri) {
  console.error('usage: oidc_provider.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;

const configuration = {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    },
    // A second client, so a test can present an ID token made for someone else.
    {
      client_id: 'another-app',
      client_secret: 'another-secret',
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    },
  ],
  pkce: { required: () => true },
  claims: { openid: ['sub'], email: ['email', 'email_verified'] },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['tinybase-test-cookie-key'] },
  async findAccount(ctx, id) {
    return {
      accountId: id,
      async claims() {
        if (id.startsWith('noemail.')) {
          return { sub: id };
        }
        return { sub: id, email: id, email_verified: !id.startsWith('unverified.') };
      },
    };
  },
};

const provider = new Provider(issuer, configuration);
const server = provider.listen(Number(port), '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
