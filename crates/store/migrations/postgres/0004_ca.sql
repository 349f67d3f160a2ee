-- Certificate authority: the CA's own certificates and encrypted signing key (one row, created
-- once: concurrent first starts race on the primary key and the loser reads the winner's),
-- the certificates it issued (serials for revocation and listings), and each application's
-- client-certificate registration (RFC 8705) and the DNS names its certificates may carry.

CREATE TABLE certificate_authority (
    id              TEXT   NOT NULL PRIMARY KEY CHECK (id = 'ca'),
    chain_pem       TEXT   NOT NULL,
    private_key_enc BYTEA  NOT NULL,
    created_at      BIGINT NOT NULL
);

CREATE TABLE issued_certificates (
    serial     TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    client_id  TEXT COLLATE "C" NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    spiffe_id  TEXT   NOT NULL,
    dns_names  TEXT   NOT NULL,
    not_before BIGINT NOT NULL,
    not_after  BIGINT NOT NULL,
    issued_at  BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX issued_certificates_client_id ON issued_certificates (client_id);
CREATE INDEX issued_certificates_revoked ON issued_certificates (not_after) WHERE revoked_at IS NOT NULL;

ALTER TABLE clients ADD COLUMN tls_auth TEXT NOT NULL DEFAULT '{}';
ALTER TABLE clients ADD COLUMN dns_names TEXT NOT NULL DEFAULT '[]';
