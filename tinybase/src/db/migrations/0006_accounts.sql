-- Accounts: verified emails, TOTP second factors, one-time tokens (mail links, MFA
-- sign-ins, OAuth2 hand-offs) and the sign-in identities linked to each user.
-- Existing users start unverified; admins can mark them verified.
ALTER TABLE users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0
    CHECK (email_verified IN (0, 1));
-- The base32 TOTP secret once confirmed; while set-up awaits its first code the secret
-- sits in totp_pending_secret. A code is good once: steps up to totp_last_step are spent.
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_pending_secret TEXT;
ALTER TABLE users ADD COLUMN totp_last_step INTEGER;
-- SHA-256 hashes (a JSON array) of the unused one-time recovery codes.
ALTER TABLE users ADD COLUMN totp_recovery_codes TEXT NOT NULL DEFAULT '[]'
    CHECK (json_valid(totp_recovery_codes));

-- Single-use tokens. As with bearer tokens only the SHA-256 is stored. A mail token of
-- one kind replaces the user's older one of that kind. `payload` holds what the kind
-- needs (the new email of an email change, the PKCE verifier of an OAuth2 sign-in, …).
CREATE TABLE one_time_tokens (
    token_hash  TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('verification', 'password_reset',
                    'email_change', 'mfa', 'oauth2_state', 'oauth2_exchange')),
    user_id     TEXT REFERENCES users (id) ON DELETE CASCADE,
    payload     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(payload)),
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
CREATE INDEX one_time_tokens_user_kind ON one_time_tokens (user_id, kind);
CREATE INDEX one_time_tokens_expires_at ON one_time_tokens (expires_at);

-- An account at an OAuth2 / OpenID Connect provider that signs in as a user.
CREATE TABLE oauth2_identities (
    provider    TEXT NOT NULL,
    subject     TEXT NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email       TEXT,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (provider, subject)
);
CREATE INDEX oauth2_identities_user_id ON oauth2_identities (user_id);
